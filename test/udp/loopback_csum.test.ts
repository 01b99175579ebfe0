import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { World, AF_INET, SOCK_DGRAM, SOCK_RAW, IPPROTO_UDP } from '../../src/index.js';
import { snmp_get } from '../../src/net/ipv4/snmp.js';

const linux = JSON.parse(
  readFileSync(new URL('../../../test/wire/fixtures/linux.json', import.meta.url), 'utf8'),
) as Record<string, string>;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('UDP through lo carries only the pseudo-header sum, byte for byte as Linux sends it', async () => {
  const world = new World({ seed: 1 });
  const h = world.addHost('h');
  // What lo carries, seen by a raw device tap (a capture would show the finished checksum).
  const seen: Uint8Array[] = [];
  h.lo.taps.push((skb, _dev, out) => {
    if (out) seen.push(skb.head.slice(skb.data, skb.tail));
  });
  const cap = h.capture('lo');
  const t = h.spawn();
  const fd = t.socket(AF_INET, SOCK_DGRAM, 0);
  t.bind(fd, { family: AF_INET, port: 40000, addr: '127.0.0.1' });
  await t.sendto(fd, new TextEncoder().encode('hello, usernet'), 0, {
    family: AF_INET,
    port: 9,
    addr: '127.0.0.1',
  });
  await new Promise((r) => setImmediate(r));
  const frame = seen[0];
  // Ethernet (14) + IPv4 (20): the UDP header is the next 8 bytes; Linux's frame from the same call.
  const want = linux.lo_udp_partial.slice((14 + 20) * 2, (14 + 20 + 8) * 2);
  assert.equal(want, '9c4000090016fe29');
  assert.equal(hex(frame.subarray(34, 42)), want);
  // The capture finishes it, as a NIC would on the wire: the checksum adds up over the pseudo-header.
  const c = cap.frames.find((f) => f.data[23] === 17)!.data;
  assert.equal(hex(c.subarray(34, 40)), '9c4000090016');
  let sum = 0x7f00 + 0x0001 + 0x7f00 + 0x0001 + 17 + 22;
  for (let i = 34; i < 34 + 22; i += 2) sum += (c[i] << 8) | (c[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  assert.equal(sum, 0xffff, 'a complete checksum');
});

test('on lo a UDP socket datagram is trusted, a raw hand-made one with a bad checksum is dropped', async () => {
  const world = new World({ seed: 1 });
  const h = world.addHost('h');
  const t = h.spawn();
  const rx = t.socket(AF_INET, SOCK_DGRAM, 0);
  t.bind(rx, { family: AF_INET, port: 5000, addr: '127.0.0.1' });
  const tx = t.socket(AF_INET, SOCK_DGRAM, 0);
  await t.sendto(tx, new Uint8Array([1, 2, 3]), 0, { family: AF_INET, port: 5000, addr: '127.0.0.1' });
  assert.equal(await t.recv(rx, new Uint8Array(8)), 3);
  // A raw socket builds the UDP header itself: a wrong checksum is caught even on loopback.
  const raw = t.socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
  const udp = new Uint8Array([0x13, 0x88, 0x13, 0x88, 0, 11, 0xde, 0xad, 7, 7, 7]);
  await t.sendto(raw, udp, 0, { family: AF_INET, port: 0, addr: '127.0.0.1' });
  await new Promise((r) => setImmediate(r));
  assert.equal(snmp_get(h.netns, 'Udp', 'InCsumErrors'), 1);
  await assert.rejects(t.recv(rx, new Uint8Array(8), 0x40 /* MSG_DONTWAIT */), { code: 'EAGAIN' });
});
