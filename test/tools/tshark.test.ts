import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World, AF_INET, SOCK_DGRAM } from '../../src/index.js';
import { veth_newlink } from '../../src/drivers/net/veth.js';
import { dev_open } from '../../src/net/core/dev.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { Timer } from '../../src/kernel/time.js';
import type { Capture } from '../../src/tools/capture.js';
import { ETH_P_IP } from '../../src/wire/ethernet.js';
import { ip_fast_csum } from '../../src/wire/checksum.js';
import { put16 } from '../../src/wire/bytes.js';
import { arpReply, arpRequest, icmpEcho, ip, sendFrame, sendIp, udpPacket } from './frames.js';
import { tsharkCheck, tsharkMissing, tsharkVerbose } from './tshark.js';

const skip = tsharkMissing() ?? false;
const tick = () => new Promise((r) => setImmediate(r));

async function settle(world: World): Promise<void> {
  for (let i = 0; i < 10000 && world.clock.pendingTimers() > 0; i++) await tick();
  await tick();
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-tshark-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const A = ip('10.0.0.1');
const B = ip('10.0.0.2');

/** Two hosts on a veth; every kind of frame we can build by hand, a millisecond apart. */
async function handmade(): Promise<{ cap: Capture; sent: number }> {
  const world = new World({ seed: 5 });
  const ha = world.addHost('a');
  const hb = world.addHost('b');
  const [a, b] = veth_newlink(ha.netns, 'eth0', hb.netns, 'eth0') as [NetDevice, NetDevice];
  dev_open(a);
  dev_open(b);
  const cap = world.capture();
  const jobs: (() => void)[] = [];
  jobs.push(() => arpRequest(a, A, B));
  jobs.push(() => arpReply(b, a, B, A));
  for (const size of [0, 1, 7, 8, 100, 512, 1000, 1471, 1472]) {
    jobs.push(() => sendIp(a, b, udpPacket(A, B, 33000 + size, 7777, payload(size), size)));
  }
  // A UDP checksum of zero means "not computed" (RFC 768): valid.
  jobs.push(() => {
    const p = udpPacket(A, B, 5000, 7777, payload(20), 99);
    put16(p, 26, 0);
    sendIp(a, b, p);
  });
  for (const size of [0, 56, 1472]) {
    jobs.push(() => sendIp(a, b, icmpEcho(A, B, 8, 0x1234, size, payload(size), 200 + size)));
    jobs.push(() => sendIp(b, a, icmpEcho(B, A, 0, 0x1234, size, payload(size), 300 + size)));
  }
  // IPv4 with an option (Router Alert, RFC 2113) in a 24-byte header.
  jobs.push(() => {
    const inner = udpPacket(A, B, 5001, 7777, payload(10), 400);
    const p = new Uint8Array(inner.length + 4);
    p.set(inner.subarray(0, 20), 0);
    p.set([0x94, 0x04, 0x00, 0x00], 20);
    p.set(inner.subarray(20), 24);
    p[0] = 0x46;
    put16(p, 2, p.length);
    put16(p, 10, 0);
    put16(p, 10, ip_fast_csum(p, 0, 6));
    sendIp(a, b, p);
  });
  jobs.forEach((job, i) => world.clock.mod_timer(new Timer(job), (i + 1) * 1_000_000 + 123));
  await settle(world);
  return { cap, sent: jobs.length };
}

function payload(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff);
}

test(
  'tshark reads our pcap (µs and ns) and pcapng files: no malformed packets, no checksum errors',
  { skip },
  async () => {
    const { cap, sent } = await handmade();
    assert.equal(cap.frames.length, 2 * sent, 'each frame seen leaving a and arriving at b');
    withDir((dir) => {
      for (const [name, opts] of [
        ['us.pcap', { resolution: 'us' }],
        ['ns.pcap', { resolution: 'ns' }],
        ['x.pcapng', {}],
      ] as const) {
        const file = join(dir, name);
        cap.write(file, opts);
        const r = tsharkCheck(file);
        assert.equal(r.stderr, '', name);
        assert.equal(r.frames.length, cap.frames.length, name);
        assert.deepEqual(r.problems, [], name);
        const protos = new Set(r.frames.map((f) => f.protocols));
        assert.ok(protos.has('eth:ethertype:arp'), `${name}: ${[...protos]}`);
        assert.ok(protos.has('eth:ethertype:ip:udp:data'), `${name}: ${[...protos]}`);
        assert.ok(protos.has('eth:ethertype:ip:icmp:data'), `${name}: ${[...protos]}`);
        // Virtual time: the first frame left at 1 ms + 123 ns.
        assert.equal(r.frames[0].timeEpoch, name.startsWith('us') ? '0.001000000' : '0.001000123', name);
        assert.doesNotMatch(tsharkVerbose(file), /Malformed|Bad checksum|\[Checksum Status: Bad\]/, name);
      }
      const ng = tsharkCheck(join(dir, 'x.pcapng'));
      assert.deepEqual(
        ng.frames.slice(0, 4).map((f) => [f.interfaceName, f.direction]),
        [
          ['a:eth0', 2],
          ['b:eth0', 1],
          ['b:eth0', 2],
          ['a:eth0', 1],
        ],
      );
    });
  },
);

test(
  'tshark validation catches bad frames: checksums of IPv4, UDP and ICMP, and a short packet',
  { skip },
  async () => {
    const world = new World({ seed: 5 });
    const h = world.addHost('h');
    const cap = h.capture('lo');
    const good = udpPacket(A, B, 1, 7777, payload(30));
    const badUdp = good.slice();
    badUdp[40] ^= 1;
    const badIp = good.slice();
    badIp[8] = 63; // TTL changed, header checksum not updated
    const badIcmp = icmpEcho(A, B, 8, 1, 1, payload(56));
    badIcmp[30] ^= 0xff;
    const short = icmpEcho(A, B, 8, 1, 1, payload(56)).subarray(0, 30);
    for (const p of [good, badUdp, badIp, badIcmp, short]) sendFrame(h.lo, ETH_P_IP, p, null);
    await settle(world);
    withDir((dir) => {
      const file = join(dir, 'bad.pcapng');
      cap.write(file);
      const r = tsharkCheck(file);
      assert.equal(r.frames.length, 5);
      assert.deepEqual(
        r.frames.map((f) => f.problems.length > 0),
        [false, true, true, true, true],
        r.problems.join('\n'),
      );
    });
  },
);

test('tshark reads a loopback capture as Ethernet with zero MACs, one copy per frame', { skip }, async () => {
  const world = new World({ seed: 5 });
  const h = world.addHost('h');
  const cap = h.capture('lo');
  const LO = ip('127.0.0.1');
  sendFrame(h.lo, ETH_P_IP, icmpEcho(LO, LO, 8, 9, 1, payload(56)), null);
  sendFrame(h.lo, ETH_P_IP, icmpEcho(LO, LO, 0, 9, 1, payload(56)), null);
  await settle(world);
  withDir((dir) => {
    const file = join(dir, 'lo.pcap');
    cap.write(file);
    const r = tsharkCheck(file);
    assert.deepEqual(r.problems, []);
    assert.equal(r.frames.length, 2);
    assert.match(tsharkVerbose(file), /Ethernet II, Src: 00:00:00:00:00:00, Dst: 00:00:00:00:00:00/);
  });
});

test('tshark finds no checksum error in UDP socket traffic captured on lo', { skip }, async () => {
  const world = new World({ seed: 6 });
  const h = world.addHost('h');
  const cap = h.capture('lo');
  const t = h.spawn();
  const rx = t.socket(AF_INET, SOCK_DGRAM, 0);
  t.bind(rx, { family: AF_INET, port: 7000, addr: '127.0.0.1' });
  const tx = t.socket(AF_INET, SOCK_DGRAM, 0);
  for (const n of [0, 1, 100, 1472, 9000])
    await t.sendto(tx, payload(n), 0, { family: AF_INET, port: 7000, addr: '127.0.0.1' });
  await settle(world);
  withDir((dir) => {
    const file = join(dir, 'lo-udp.pcapng');
    cap.write(file);
    const r = tsharkCheck(file);
    assert.deepEqual(r.problems, []);
    assert.equal(r.frames.length, 5);
  });
});
