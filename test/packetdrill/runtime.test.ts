import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from '../../src/tools/packetdrill/parser.js';
import { runScript } from '../../src/tools/packetdrill/runtime.js';

async function run(lines: string[]) {
  return runScript(parseScript(lines.join('\n') + '\n'), { file: 't.pkt' });
}

test('a UDP socket bound, an inbound datagram received with recvfrom', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 bind(3, ..., ...) = 0',
    '+0.1 < udp 5000 > 8080 (100)',
    '+0 recvfrom(3, ..., 1000, 0, ..., ...) = 100',
    '+0 recvfrom(3, ..., 1000, MSG_DONTWAIT, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)',
    '+0 close(3) = 0',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
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
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('a blocking recvfrom returns when the datagram comes in', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 bind(3, ..., ...) = 0',
    '+0 ...0.2 recvfrom(3, ..., 1000, 0, ..., ...) = 10',
    '+0.2 < udp 9 > 8080 (10)',
    '+0 close(3) = 0',
  ]);
  assert.deepEqual(r, { ok: true, errors: [] });
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
  assert.match(r.errors[0]!, /^t\.pkt:5: bad outbound packet: UDP payload length 20, expected 21/);
});

test('a packet late by more than the tolerance is a timing error', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 connect(3, ..., ...) = 0',
    '+0 sendto(3, ..., 20, 0, ..., ...) = 20',
    '+0.1 > udp (20)',
  ]);
  assert.equal(r.ok, false);
  assert.match(r.errors[0]!, /^t\.pkt:4: timing error/);
});

test('a syscall errno check', async () => {
  assert.deepEqual(await run(['0 close(9) = -1 EBADF (Bad file descriptor)']), { ok: true, errors: [] });
  const r = await run(['0 close(9) = -1 ENOENT (No such file or directory)']);
  assert.equal(r.ok, false);
  assert.match(r.errors[0]!, /^t\.pkt:1: close\(\) failed with errno EBADF; expected ENOENT/);
  const r2 = await run(['0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 4']);
  assert.match(r2.errors[0]!, /^t\.pkt:1: socket\(\) returned 3; expected 4/);
});

test('inbound datagram to a closed port: the host answers with ICMP port unreachable', async () => {
  const r = await run(['0 < udp 5000 > 9999 (10)', '+0 > icmp unreachable port_unreachable']);
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('an unexpected outbound packet is an error', async () => {
  const r = await run([
    '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
    '+0 connect(3, ..., ...) = 0',
    '+0 sendto(3, ..., 20, 0, ..., ...) = 20',
    '+0 close(3) = 0',
  ]);
  assert.equal(r.ok, false);
  assert.match(r.errors[0]!, /unexpected outbound packet/);
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
  assert.deepEqual(r, { ok: true, errors: [] });
});

test('TCP packet lines are reported as not supported, not a crash', async () => {
  const r = await run(['0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', '+0 < S 0:0(0) win 32792']);
  assert.equal(r.ok, false);
  assert.match(r.errors[0]!, /^t\.pkt:2: TCP not supported yet/);
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
  assert.match(r.errors[0]!, /^t\.pkt:3: timing error: expected system call to return at 0\.500000/);
});
