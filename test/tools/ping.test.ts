import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World, AF_INET, SOCK_RAW, SyscallError, type Host, type Task } from '../../src/index.js';
import { set_ping_group_range } from '../../src/net/ipv4/ipv4_init.js';
import { formatTime, icmpErrorText, ping } from '../../src/tools/ping.js';
import { readPcapng } from '../../src/tools/pcapng.js';
import { tsharkCheck, tsharkMissing } from './tshark.js';

const IPPROTO_ICMP = 1;

function checksum(m: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < m.length; i += 2) s += (m[i] << 8) | (m[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * An echo responder in user space on `host`: a raw ICMP socket that answers each request after
 * `delayMs(seq)` (null: drop it). It stands in for the kernel's echo reply in these tool tests.
 */
function responder(host: Host, delayMs: (seq: number) => number | null): Task {
  // The kernel's own echo replies would answer too (and show as DUP!): switch them off.
  host.sysctl.write('net.ipv4.icmp_echo_ignore_all', 1);
  const t = host.spawn({ comm: 'responder' });
  const fd = t.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  void (async () => {
    const buf = new Uint8Array(70000);
    for (;;) {
      const r = await t.recvfrom(fd, buf);
      const ihl = (buf[0] & 15) * 4;
      if (buf[ihl] !== 8) continue;
      const m = buf.slice(ihl, r.n);
      const d = delayMs((m[6] << 8) | m[7]);
      if (d === null) continue;
      if (d > 0) await t.poll([], d);
      m[0] = 0;
      m[2] = m[3] = 0;
      const c = checksum(m);
      m[2] = c >> 8;
      m[3] = c & 0xff;
      await t.sendto(fd, m, 0, r.addr!);
    }
  })();
  return t;
}

test('ping prints iputils lines and statistics; rtt min/avg/max/mdev computed as iputils does', async () => {
  const world = new World({ seed: 1 });
  const h = world.addHost('h');
  responder(h, (seq) => seq); // 1 ms, 2 ms, 3 ms
  const r = await ping(h.spawn({ comm: 'ping' }), '127.0.0.1', { count: 3 });
  assert.equal(r.socket, 'raw', 'ping_group_range "1 0" admits nobody: iputils falls back to a raw socket');
  assert.equal(
    r.output,
    [
      'PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.',
      '64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=1.00 ms',
      '64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time=2.00 ms',
      '64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 time=3.00 ms',
      '',
      '--- 127.0.0.1 ping statistics ---',
      '3 packets transmitted, 3 received, 0% packet loss, time 2000ms',
      'rtt min/avg/max/mdev = 1.000/2.000/3.000/0.816 ms',
      '',
    ].join('\n'),
  );
  assert.deepEqual(r.rtt, { min: 1, avg: 2, max: 3, mdev: 0.816 });
  assert.equal(r.status, 0);
  assert.equal(world.now(), 2003, 'ping ends when the last reply is in');
});

test('ping: lost replies, the loss percentage as %g, and the wait after the last request', async () => {
  const world = new World({ seed: 1 });
  const h = world.addHost('h');
  responder(h, (seq) => (seq === 3 ? null : 0.25));
  const r = await ping(h.spawn(), '127.0.0.1', { count: 3, size: 100 });
  assert.match(r.output, /^PING 127\.0\.0\.1 \(127\.0\.0\.1\) 100\(128\) bytes of data\.\n/);
  assert.match(r.output, /\n108 bytes from 127\.0\.0\.1: icmp_seq=2 ttl=64 time=0\.250 ms\n\n/);
  assert.match(r.output, /\n3 packets transmitted, 2 received, 33\.3333% packet loss, time 2000ms\n/);
  assert.match(r.output, /rtt min\/avg\/max\/mdev = 0\.250\/0\.250\/0\.250\/0\.000 ms\n$/);
  // Replies came back: it waits 2 × the longest round trip (at least 1 ms) for the last one.
  assert.equal(world.now(), 2001);
});

test('ping: no reply at all waits -W seconds and ends with an empty rtt line; status 1', async () => {
  const world = new World({ seed: 1 });
  const h = world.addHost('h');
  responder(h, () => null);
  const r = await ping(h.spawn(), '127.0.0.1', { count: 2, timeout: 3 });
  assert.equal(r.received, 0);
  assert.equal(r.status, 1);
  assert.equal(r.rtt, null);
  assert.match(r.output, /\n2 packets transmitted, 0 received, 100% packet loss, time 1000ms\n\n$/);
  assert.equal(world.now(), 4000);
});

test('ping uses a ping socket when net.ipv4.ping_group_range admits the caller', async () => {
  const world = new World({ seed: 1 });
  const h = world.addHost('h');
  set_ping_group_range(h.netns, 0, 0);
  const cap = h.capture('lo');
  const r = await ping(h.spawn(), '127.0.0.1', { count: 1, timeout: 1 });
  assert.equal(r.socket, 'dgram');
  assert.equal(r.transmitted, 1);
  const f = readPcapng(cap.toPcapng());
  const echo = f.packets.find((p) => p.data[14 + 20] === 8);
  assert.ok(echo, 'the request went out');
});

test('ping without CAP_NET_RAW and outside ping_group_range fails as socket(2) does', async () => {
  const world = new World({ seed: 1 });
  const h = world.addHost('h');
  await assert.rejects(
    ping(h.spawn({ uid: 1000 }), '127.0.0.1', { count: 1 }),
    (e: unknown) => e instanceof SyscallError && e.code === 'EPERM',
  );
  await assert.rejects(ping(h.spawn(), 'nowhere', { count: 1 }), /Name or service not known/);
});

test('ping time field: iputils rounding at each magnitude', () => {
  assert.equal(formatTime(45), '0.045');
  assert.equal(formatTime(999), '0.999');
  assert.equal(formatTime(1000), '1.00');
  assert.equal(formatTime(1234), '1.23');
  assert.equal(formatTime(9994), '9.99');
  assert.equal(formatTime(9995), '10.0');
  assert.equal(formatTime(12345), '12.3');
  assert.equal(formatTime(99949), '99.9');
  assert.equal(formatTime(99950), '100');
  assert.equal(formatTime(123456), '123');
  assert.equal(icmpErrorText(3, 1, 0), 'Destination Host Unreachable');
  assert.equal(icmpErrorText(3, 4, 1400), 'Frag needed and DF set (mtu = 1400)');
  assert.equal(icmpErrorText(11, 0, 0), 'Time to live exceeded');
});

/** A seeded ping scenario captured on lo. */
async function pingScenario(seed: number): Promise<Buffer> {
  const world = new World({ seed });
  const h = world.addHost('h');
  const rnd = world.random.fork();
  const delays = Array.from({ length: 6 }, () => rnd.get_random_u32_below(5000) / 1000);
  responder(h, (seq) => delays[seq - 1]);
  const cap = h.capture('lo');
  await ping(h.spawn(), '127.0.0.1', { count: 5, interval: 0.2 });
  cap.stop();
  return cap.toPcap();
}

test('determinism: the same seeded ping scenario gives byte-identical captures', async () => {
  const a = await pingScenario(9);
  const b = await pingScenario(9);
  assert.ok(a.equals(b));
  assert.ok(!a.equals(await pingScenario(10)));
});

test(
  'tshark reads the ping capture: no malformed packets, no checksum errors',
  { skip: tsharkMissing() ?? false },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'usernet-ping-'));
    try {
      const file = join(dir, 'ping.pcap');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, await pingScenario(9));
      const r = tsharkCheck(file);
      assert.equal(r.frames.length, 10);
      assert.deepEqual(r.problems, []);
      assert.ok(r.frames.every((f) => f.protocols === 'eth:ethertype:ip:icmp:data'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('host.ping(): a ping task on the host', async () => {
  const world = new World({ seed: 1 });
  const h = world.addHost('h');
  responder(h, () => 0.5);
  const r = await h.ping('127.0.0.1', { count: 2, interval: 0.5 });
  assert.equal(r.received, 2);
  assert.match(r.output, /2 packets transmitted, 2 received, 0% packet loss, time 500ms/);
  assert.ok(h.tasks.some((t) => t.comm === 'ping'));
});

test('ping across a delayed link: the kernel answers, ARP resolves first, rtt is twice the delay', async () => {
  const world = new World({ seed: 4 });
  const a = world.addHost('a');
  const b = world.addHost('b');
  world.link(a, b, { delay: '10ms' });
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  const r = await a.ping('10.0.0.2', { count: 3 });
  const lines = r.output.split('\n');
  assert.equal(lines[0], 'PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.');
  // The first request waits for ARP (one more round trip); the others take exactly 2 x 10 ms.
  assert.equal(lines[1], '64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=40.0 ms');
  assert.equal(lines[2], '64 bytes from 10.0.0.2: icmp_seq=2 ttl=64 time=20.0 ms');
  assert.equal(lines[3], '64 bytes from 10.0.0.2: icmp_seq=3 ttl=64 time=20.0 ms');
  assert.match(r.output, /3 packets transmitted, 3 received, 0% packet loss/);
});
