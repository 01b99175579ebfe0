// Three hosts through a router: forwarding only with net.ipv4.ip_forward=1, TTL handling with
// an incremental checksum (RFC 1624), fragmentation on a smaller next link, DF refusal, and the
// counters a router keeps.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { newWorld, link, listen, addr, flush, mib, pattern, sendProto } from './helpers.js';
import { ip_decrease_ttl } from '../../src/net/ipv4/ip_forward.js';
import { csum_fold, csum_partial } from '../../src/wire/checksum.js';
import { ipv4OptRecordRoute } from '../../src/wire/ipv4.js';
import * as E from '../../src/uapi/errno.js';

function topo(seed = 11) {
  const w = newWorld(seed);
  const a = w.addHost('a');
  const r = w.addHost('r');
  const c = w.addHost('c');
  link(a, 'eth0', r, 'eth0');
  const [, rEth1] = link(r, 'eth1', c, 'eth0');
  a.ip('ip addr add 10.0.1.2/24 dev eth0');
  a.ip('ip route add default via 10.0.1.1');
  r.ip('ip addr add 10.0.1.1/24 dev eth0');
  r.ip('ip addr add 10.0.2.1/24 dev eth1');
  c.ip('ip addr add 10.0.2.2/24 dev eth0');
  c.ip('ip route add default via 10.0.2.1');
  return { w, a, r, c, rEth1, got: listen(c), gotA: listen(a) };
}

const C = addr('10.0.2.2');

test('a host without ip_forward drops what is not for it (InAddrErrors)', async () => {
  const { a, r, got } = topo();
  assert.equal(r.sysctl.read('net.ipv4.ip_forward'), 0);
  assert.match(r.procNetSnmp(), /\nIp: 2 64 /);
  assert.equal(sendProto(a, C, pattern(100)), 0);
  await flush();
  assert.equal(got.length, 0);
  assert.equal(mib(r, 'Ip', 'InAddrErrors'), 1);
  assert.equal(mib(r, 'Ip', 'ForwDatagrams'), 0);
});

test('a router forwards with TTL - 1 and counts ForwDatagrams', async () => {
  const { a, r, c, got, gotA } = topo();
  r.sysctl.write('net.ipv4.ip_forward', 1);
  assert.equal(r.sysctl.read('net.ipv4.conf.all.forwarding'), 1);
  assert.match(r.procNetSnmp(), /\nIp: 1 64 /);
  assert.equal(sendProto(a, C, pattern(100), { ttl: 64 }), 0);
  await flush();
  assert.equal(got.length, 1);
  assert.equal(got[0].ttl, 63);
  assert.equal(got[0].saddr, addr('10.0.1.2'));
  assert.deepEqual(got[0].payload, pattern(100));
  assert.equal(mib(r, 'Ip', 'ForwDatagrams'), 1);
  assert.equal(mib(r, 'Ip', 'OutTransmits'), 1);
  assert.equal(mib(r, 'Ip', 'OutRequests'), 0);
  assert.equal(mib(r, 'Ip', 'InDelivers'), 0);
  // And back.
  assert.equal(sendProto(c, addr('10.0.1.2'), pattern(5)), 0);
  await flush();
  assert.equal(gotA.length, 1);
  assert.equal(gotA[0].ttl, 63);
  // The router still answers for its own addresses on either side.
  const gotR = [] as number[];
  void gotR;
  assert.equal(mib(c, 'Ip', 'InDelivers'), 1);
});

test('TTL expiry at the router: TTL 1 is not forwarded (InHdrErrors), TTL 2 arrives with 1', async () => {
  const { a, r, got } = topo();
  r.sysctl.write('net.ipv4.ip_forward', 1);
  sendProto(a, C, pattern(10), { ttl: 1 });
  await flush();
  assert.equal(got.length, 0);
  assert.equal(mib(r, 'Ip', 'InHdrErrors'), 1);
  assert.equal(mib(r, 'Ip', 'ForwDatagrams'), 0);
  sendProto(a, C, pattern(10), { ttl: 2 });
  await flush();
  assert.equal(got.length, 1);
  assert.equal(got[0].ttl, 1);
});

test('a smaller next link: fragmented by the router without DF, refused with DF', async () => {
  const { a, r, c, got } = topo();
  r.sysctl.write('net.ipv4.ip_forward', 1);
  r.ip('ip link set eth1 mtu 1000');
  c.ip('ip link set eth0 mtu 1000');
  assert.equal(sendProto(a, C, pattern(1400, 3)), 0);
  await flush();
  assert.equal(got.length, 1);
  assert.deepEqual(got[0].payload, pattern(1400, 3));
  assert.equal(mib(r, 'Ip', 'FragOKs'), 1);
  assert.equal(mib(r, 'Ip', 'FragCreates'), 2);
  assert.equal(mib(c, 'Ip', 'ReasmOKs'), 1);
  assert.equal(mib(c, 'Ip', 'ReasmReqds'), 2);
  assert.equal(sendProto(a, C, pattern(1400, 4), { df: true }), 0);
  await flush();
  assert.equal(got.length, 1);
  assert.equal(mib(r, 'Ip', 'FragFails'), 1);
  // Exactly the next link's MTU passes with DF.
  assert.equal(sendProto(a, C, pattern(980, 5), { df: true }), 0);
  await flush();
  assert.equal(got.length, 2);
});

test('a router with no route: InNoRoutes; a host sending with no route: ENETUNREACH', async () => {
  const { a, r, c } = topo();
  r.sysctl.write('net.ipv4.ip_forward', 1);
  assert.equal(sendProto(a, addr('192.0.2.1'), pattern(10)), 0);
  await flush();
  assert.equal(mib(r, 'IpExt', 'InNoRoutes'), 1);
  c.ip('ip route del default');
  assert.equal(sendProto(c, addr('192.0.2.1'), pattern(10)), -E.ENETUNREACH);
});

test('ip_decrease_ttl keeps the header checksum right (RFC 1624 incremental update)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 20, maxLength: 20 }),
      fc.integer({ min: 2, max: 255 }),
      (h, ttl) => {
        h[0] = 0x45;
        h[8] = ttl;
        h[10] = h[11] = 0;
        const c = csum_fold(csum_partial(h, 0, 20, 0));
        h[10] = c >> 8;
        h[11] = c & 0xff;
        ip_decrease_ttl(h, 0);
        assert.equal(h[8], ttl - 1);
        assert.equal(csum_fold(csum_partial(h, 0, 20, 0)), 0);
      },
    ),
    { numRuns: 5000, seed: 7 },
  );
});

test('record route: the router writes its outgoing address, the receiver its own', async () => {
  const { a, r, got } = topo();
  r.sysctl.write('net.ipv4.ip_forward', 1);
  const rr = ipv4OptRecordRoute(4);
  const opt = new Uint8Array(20);
  opt.set(rr);
  assert.equal(sendProto(a, C, pattern(50), { opt }), 0);
  await flush();
  assert.equal(got.length, 1);
  const h = got[0].hdr;
  assert.equal(h[20], 7);
  assert.equal(h[22], 12, 'pointer advanced over two slots');
  const slot = (i: number): number =>
    ((h[23 + 4 * i] << 24) | (h[24 + 4 * i] << 16) | (h[25 + 4 * i] << 8) | h[26 + 4 * i]) >>> 0;
  assert.equal(slot(0), addr('10.0.2.1'));
  assert.equal(slot(1), C);
  assert.equal(slot(2), 0);
  assert.equal(mib(r, 'Ip', 'ForwDatagrams'), 1);
});
