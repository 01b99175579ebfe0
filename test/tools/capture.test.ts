import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../../src/index.js';
import { veth_newlink } from '../../src/drivers/net/veth.js';
import { dev_open } from '../../src/net/core/dev.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { PACKET_BROADCAST, PACKET_HOST } from '../../src/net/core/skbuff.js';
import { Timer } from '../../src/kernel/time.js';
import { Capture } from '../../src/tools/capture.js';
import { readPcap } from '../../src/tools/pcap.js';
import {
  readPcapng,
  EPB_DIR_INBOUND,
  EPB_DIR_OUTBOUND,
  EPB_RECEPTION_BROADCAST,
  EPB_RECEPTION_UNICAST,
} from '../../src/tools/pcapng.js';
import { ETH_P_IP } from '../../src/wire/ethernet.js';
import { arpReply, arpRequest, icmpEcho, ip, sendFrame, sendIp, udpPacket } from './frames.js';

const tick = () => new Promise((r) => setImmediate(r));

/** Let the world run until no timer is left. */
async function settle(world: World): Promise<void> {
  for (let i = 0; i < 10000 && world.clock.pendingTimers() > 0; i++) await tick();
  await tick();
}

function link(world: World): { a: NetDevice; b: NetDevice } {
  const ha = world.hosts.get('a') ?? world.addHost('a');
  const hb = world.hosts.get('b') ?? world.addHost('b');
  const [a, b] = veth_newlink(ha.netns, 'eth0', hb.netns, 'eth0') as [NetDevice, NetDevice];
  dev_open(a);
  dev_open(b);
  return { a, b };
}

/** Run `fn` at virtual time `ms`. */
function at(world: World, ms: number, fn: () => void): void {
  world.clock.mod_timer(new Timer(fn), ms * 1e6);
}

test('capture on a veth: both directions, world-clock timestamps, frames from the MAC header', async () => {
  const world = new World({ seed: 7 });
  const { a, b } = link(world);
  const cap = world.hosts.get('a')!.capture('eth0');
  at(world, 1, () => arpRequest(a, ip('10.0.0.1'), ip('10.0.0.2')));
  at(world, 2.5, () => arpReply(b, a, ip('10.0.0.2'), ip('10.0.0.1')));
  await settle(world);
  assert.equal(cap.frames.length, 2);
  const [req, rep] = cap.frames;
  assert.equal(req.outgoing, true);
  assert.equal(req.tsNs, 1_000_000);
  assert.equal(req.origLen, 42);
  assert.deepEqual(Array.from(req.data.subarray(0, 6)), [255, 255, 255, 255, 255, 255]);
  assert.deepEqual(req.data.subarray(6, 12), a.dev_addr);
  assert.equal((req.data[12] << 8) | req.data[13], 0x0806);
  assert.equal(rep.outgoing, false);
  assert.equal(rep.tsNs, 2_500_000);
  assert.equal(rep.pktType, PACKET_HOST);
  assert.deepEqual(rep.data.subarray(0, 6), a.dev_addr, 'the received frame starts at its MAC header');
  assert.deepEqual(rep.data.subarray(6, 12), b.dev_addr);

  const ng = readPcapng(cap.toPcapng());
  assert.deepEqual(
    ng.interfaces.map((i) => [i.name, i.linktype, i.tsresol]),
    [['eth0', 1, 9]],
  );
  assert.deepEqual(
    ng.packets.map((p) => [p.tsNs, p.flags]),
    [
      [1_000_000, EPB_DIR_OUTBOUND],
      [2_500_000, EPB_DIR_INBOUND | EPB_RECEPTION_UNICAST],
    ],
  );
  const pc = readPcap(cap.toPcap());
  assert.equal(pc.linktype, 1);
  assert.deepEqual(
    pc.packets.map((p) => [p.tsNs, p.origLen]),
    [
      [1_000_000, 42],
      [2_500_000, 42],
    ],
  );
  assert.deepEqual(pc.packets[1].data, rep.data);
});

test('capture on the receiving end sees a broadcast as inbound broadcast', async () => {
  const world = new World({ seed: 1 });
  const { a, b } = link(world);
  const cap = new Capture().attach(b);
  arpRequest(a, ip('10.0.0.1'), ip('10.0.0.2'));
  await settle(world);
  assert.equal(cap.frames.length, 1);
  assert.equal(cap.frames[0].pktType, PACKET_BROADCAST);
  assert.equal(readPcapng(cap.toPcapng()).packets[0].flags, EPB_DIR_INBOUND | EPB_RECEPTION_BROADCAST);
});

test('captured bytes are copies: later changes to the buffer do not show', async () => {
  const world = new World({ seed: 1 });
  const { a, b } = link(world);
  const cap = new Capture({ direction: 'out' }).attach(a);
  const seen: Uint8Array[] = [];
  b.taps.push((skb) => seen.push(skb.head));
  sendIp(a, b, udpPacket(ip('10.0.0.1'), ip('10.0.0.2'), 1000, 2000, new Uint8Array(8).fill(0x41)));
  await settle(world);
  const before = Buffer.from(cap.frames[0].data);
  seen[0].fill(0);
  assert.deepEqual(Buffer.from(cap.frames[0].data), before);
});

test('loopback: each frame is captured once, as it comes back in, with all-zero MACs (as libpcap on lo)', async () => {
  const world = new World({ seed: 1 });
  const h = world.addHost('h');
  const cap = h.capture('lo');
  sendFrame(h.lo, ETH_P_IP, icmpEcho(ip('127.0.0.1'), ip('127.0.0.1'), 8, 1, 1, new Uint8Array(56)), null);
  await settle(world);
  assert.equal(cap.frames.length, 1);
  assert.equal(cap.frames[0].outgoing, false);
  assert.deepEqual(Array.from(cap.frames[0].data.subarray(0, 12)), new Array(12).fill(0));
  assert.equal(cap.frames[0].origLen, 14 + 84);
  assert.equal(readPcapng(cap.toPcapng()).interfaces[0].name, 'lo');
});

test('direction, snap length and limit options', async () => {
  const world = new World({ seed: 1 });
  const { a, b } = link(world);
  const inOnly = new Capture({ direction: 'in' }).attach(a);
  const small = new Capture({ snaplen: 20, limit: 1 }).attach(a);
  arpRequest(a, ip('10.0.0.1'), ip('10.0.0.2'));
  arpReply(b, a, ip('10.0.0.2'), ip('10.0.0.1'));
  await settle(world);
  assert.deepEqual(
    inOnly.frames.map((f) => f.outgoing),
    [false],
  );
  assert.equal(small.frames.length, 1);
  assert.equal(small.dropped, 1);
  assert.equal(small.frames[0].data.length, 20);
  assert.equal(small.frames[0].origLen, 42);
  const f = readPcap(small.toPcap());
  assert.equal(f.snaplen, 20);
  assert.equal(f.packets[0].origLen, 42);
});

test('stop() removes the taps; frames after it are not recorded', async () => {
  const world = new World({ seed: 1 });
  const { a, b } = link(world);
  const before = a.taps.length;
  const cap = new Capture().attach(a).attach(b);
  assert.equal(a.taps.length, before + 1);
  arpRequest(a, ip('10.0.0.1'), ip('10.0.0.2'));
  await settle(world);
  cap.stop();
  assert.equal(a.taps.length, before);
  assert.equal(b.taps.length, 0);
  assert.equal(cap.running, false);
  arpRequest(a, ip('10.0.0.1'), ip('10.0.0.2'));
  await settle(world);
  assert.equal(cap.frames.length, 2, 'out on a, in on b — and nothing after stop');
  assert.throws(() => cap.attach(a), /stopped/);
});

test('world.capture names interfaces host:dev; without targets it takes every non-loopback device', async () => {
  const world = new World({ seed: 1 });
  const { a } = link(world);
  const cap = world.capture(['a:eth0', 'b:eth0']);
  const all = world.capture();
  assert.throws(() => world.capture(['a:nope']), /no device a:nope/);
  assert.throws(() => world.hosts.get('a')!.capture('nope'), /no device nope/);
  arpRequest(a, ip('10.0.0.1'), ip('10.0.0.2'));
  await settle(world);
  const ng = readPcapng(cap.toPcapng());
  assert.deepEqual(
    ng.interfaces.map((i) => i.name),
    ['a:eth0', 'b:eth0'],
  );
  assert.deepEqual(
    ng.packets.map((p) => [p.ifIndex, p.flags & 3]),
    [
      [0, EPB_DIR_OUTBOUND],
      [1, EPB_DIR_INBOUND],
    ],
  );
  assert.deepEqual(
    all.interfaces.map((i) => i.name),
    ['a:eth0', 'b:eth0'],
  );
  assert.equal(all.frames.length, 2);
});

test('write(path) writes pcap or pcapng by extension', async () => {
  const world = new World({ seed: 1 });
  const { a } = link(world);
  const cap = world.capture(['a:eth0']);
  arpRequest(a, ip('10.0.0.1'), ip('10.0.0.2'));
  await settle(world);
  const dir = mkdtempSync(join(tmpdir(), 'usernet-cap-'));
  try {
    cap.write(join(dir, 'x.pcap'));
    cap.write(join(dir, 'x.pcapng'));
    assert.deepEqual(readFileSync(join(dir, 'x.pcap')), cap.toPcap());
    assert.deepEqual(readFileSync(join(dir, 'x.pcapng')), cap.toPcapng());
    assert.equal(readFileSync(join(dir, 'x.pcapng')).readUInt32LE(0), 0x0a0d0d0a);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A seeded scenario: random MACs, traffic at random instants, both hosts captured. */
async function scenario(seed: number): Promise<{ pcap: Buffer; pcapng: Buffer }> {
  const world = new World({ seed });
  const { a, b } = link(world);
  const cap = world.capture();
  const rnd = world.random.fork();
  let t = 0;
  for (let i = 0; i < 50; i++) {
    t += rnd.get_random_u32_below(5000) / 1000;
    const n = i;
    const size = rnd.get_random_u32_below(1400);
    at(world, t, () => {
      if (n % 10 === 0) arpRequest(a, ip('10.0.0.1'), ip('10.0.0.2'));
      else if (n % 2)
        sendIp(a, b, udpPacket(ip('10.0.0.1'), ip('10.0.0.2'), 40000 + n, 53, new Uint8Array(size), n));
      else sendIp(b, a, icmpEcho(ip('10.0.0.2'), ip('10.0.0.1'), 0, 7, n, new Uint8Array(size), n));
    });
  }
  await settle(world);
  return { pcap: cap.toPcap({ resolution: 'ns' }), pcapng: cap.toPcapng() };
}

test('determinism: the same seeded scenario twice gives byte-identical pcap and pcapng files', async () => {
  const r1 = await scenario(42);
  const r2 = await scenario(42);
  assert.ok(r1.pcap.length > 24 + 100 * 16);
  assert.equal(readPcap(r1.pcap).packets.length, 100);
  assert.ok(r1.pcap.equals(r2.pcap));
  assert.ok(r1.pcapng.equals(r2.pcapng));
  const r3 = await scenario(43);
  assert.ok(!r1.pcap.equals(r3.pcap), 'another seed, other MACs and instants');
});
