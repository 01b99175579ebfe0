import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLines as run } from './inline.js';

/** The outcome without the run's notes. */
const outcome = (r: { ok: boolean; errors: string[] }) => ({ ok: r.ok, errors: r.errors });

test('a UDP socket bound, an inbound datagram received with recvfrom', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 bind(3, ..., ...) = 0',
    '+0.1 < udp 5000 > 8080 (100)',
    '+0 recvfrom(3, ..., 1000, 0, ..., ...) = 100',
    '+0 recvfrom(3, ..., 1000, MSG_DONTWAIT, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)',
    '+0 close(3) = 0',
  ]);
  assert.deepEqual(outcome(r), { ok: true, errors: [] });
});

test('an outbound datagram expected after sendto', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 bind(3, ..., ...) = 0',
    '+0 connect(3, ..., ...) = 0',
    '+0.5 sendto(3, ..., 20, 0, ..., ...) = 20',
    '+0 > udp (20)',
    '+0 write(3, ..., 7) = 7',
    '+0 > udp 8080 > 8080 (7)',
    '+1 close(3) = 0',
  ]);
  assert.deepEqual(outcome(r), { ok: true, errors: [] });
});

test('a blocking recvfrom returns when the datagram comes in', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 bind(3, ..., ...) = 0',
    '+0 ...0.2 recvfrom(3, ..., 1000, 0, ..., ...) = 10',
    '+0.2 < udp 9 > 8080 (10)',
    '+0 close(3) = 0',
  ]);
  assert.deepEqual(outcome(r), { ok: true, errors: [] });
});

test('a wrong expectation is reported with its line number', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 bind(3, ..., ...) = 0',
    '+0 connect(3, ..., ...) = 0',
    '+0 sendto(3, ..., 20, 0, ..., ...) = 20',
    '+0 > udp (21)',
  ]);
  assert.equal(r.ok, false);
  assert.equal(r.errors.length, 1);
  assert.match(
    r.errors[0]!,
    /^t\.pkt:5: error handling packet: bad outbound packet: UDP payload length 20, expected 21/,
  );
});

test('a packet late by more than the tolerance is a timing error', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 connect(3, ..., ...) = 0',
    '+0 sendto(3, ..., 20, 0, ..., ...) = 20',
    '+0.1 > udp (20)',
  ]);
  assert.equal(r.ok, false);
  assert.match(
    r.errors[0]!,
    /^t\.pkt:4: error handling packet: timing error: expected outbound packet at 0\.100000 sec but happened at 0\.000000 sec/,
  );
});

test('a syscall errno check', async () => {
  assert.deepEqual(outcome(await run(['0 close(9) = -1 EBADF (Bad file descriptor)'])), {
    ok: true,
    errors: [],
  });
  const r = await run(['0 close(9) = -1 ENOENT (No such file or directory)']);
  assert.equal(r.ok, false);
  assert.equal(
    r.errors[0],
    't.pkt:1: runtime error in close call: Expected errno 2 (No such file or directory) but got 9 (Bad file descriptor)',
  );
  const r2 = await run(['0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = -99']);
  assert.equal(r2.errors[0], 't.pkt:1: runtime error in socket call: Expected result -99 but got 3');
  // A new fd is checked only for being one; the script's number stands for the live one.
  const r3 = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 7',
    '+0 bind(7, ..., ...) = 0',
    '+0 close(7) = 0',
  ]);
  assert.deepEqual(outcome(r3), { ok: true, errors: [] });
});

test('inbound datagram to a closed port: the host answers with ICMP port unreachable', async () => {
  const r = await run(['0 < udp 5000 > 9999 (10)', '+0 > icmp unreachable port_unreachable']);
  assert.deepEqual(outcome(r), { ok: true, errors: [] });
});

test('an unexpected outbound packet fails the next outbound line, as in packetdrill', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 connect(3, ..., ...) = 0',
    '+0 sendto(3, ..., 20, 0, ..., ...) = 20',
    '+0.1 sendto(3, ..., 30, 0, ..., ...) = 30',
    '+0 > udp (30)',
  ]);
  assert.equal(r.ok, false);
  assert.match(
    r.errors[0]!,
    /^t\.pkt:5: error handling packet: bad outbound packet: UDP payload length 20, expected 30/,
  );
  // Nothing checks what is left over at the end.
  const r2 = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 connect(3, ..., ...) = 0',
    '+0 sendto(3, ..., 20, 0, ..., ...) = 20',
    '+0 close(3) = 0',
  ]);
  assert.deepEqual(outcome(r2), { ok: true, errors: [] });
});

test('socket options, fcntl and poll', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0',
    '+0 getsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], [4]) = 0',
    '+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0',
    '+0 bind(3, ..., ...) = 0',
    '+0 poll([{fd=3, events=POLLIN, revents=0}], 1, 0) = 0',
    '+0 < udp 1 > 8080 (5)',
    '+0 poll([{fd=3, events=POLLIN, revents=POLLIN}], 1, 0) = 1',
  ]);
  assert.deepEqual(outcome(r), { ok: true, errors: [] });
});

test('a blocking call that returns at the wrong time is a timing error', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 bind(3, ..., ...) = 0',
    '+0 ...0.5 recvfrom(3, ..., 1000, 0, ..., ...) = 10',
    '+0.2 < udp 9 > 8080 (10)',
    '+1 close(3) = 0',
  ]);
  assert.equal(r.ok, false);
  assert.match(
    r.errors[0]!,
    /^t\.pkt:3: timing error: expected system call return at 0\.500000 sec but happened at 0\.200000/,
  );
});

test('relative times count from when the previous event finished; a blocking end time too', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '0.5 bind(3, ..., ...) = 0',
    // Starts at 0.6 and returns at 0.5 + 0.3: the end is relative to the same point as the start.
    '+0.1...0.3 recvfrom(3, ..., 1000, 0, ..., ...) = 10',
    '+0.2 < udp 9 > 8080 (10)',
    '+0 close(3) = 0',
  ]);
  assert.deepEqual(outcome(r), { ok: true, errors: [] });
  // Two inbound packets in a row keep the script's spacing between them.
  const r2 = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 bind(3, ..., ...) = 0',
    '+0.1 < udp 9 > 8080 (10)',
    '+0.1 < udp 9 > 8080 (20)',
    '0.2 recvfrom(3, ..., 1000, 0, ..., ...) = 10',
    '+0 recvfrom(3, ..., 1000, 0, ..., ...) = 20',
  ]);
  assert.deepEqual(outcome(r2), { ok: true, errors: [] });
});

test('an outbound line that sees nothing times out two seconds past its time', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 bind(3, ..., ...) = 0',
    '+1 > udp (10)',
  ]);
  assert.deepEqual(r.errors, ['t.pkt:3: error handling packet: Timed out waiting for packet']);
});

test("inbound packets arrive as from packetdrill's tun device: larger than the MTU, whole", async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 bind(3, ..., ...) = 0',
    '+0 < udp 9 > 8080 (3000)',
    '+0 recvfrom(3, ..., 5000, 0, ..., ...) = 3000',
  ]);
  assert.deepEqual(outcome(r), { ok: true, errors: [] });
});
