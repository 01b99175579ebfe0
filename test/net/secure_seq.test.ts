import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../../src/kernel/kernel.js';
import { Prandom } from '../../src/kernel/random.js';
import { VirtualClock } from '../../src/kernel/time.js';
import { siphash_2u32_u32, siphash_3u32_u32 } from '../../src/kernel/siphash.js';
import { Net } from '../../src/net/core/net_namespace.js';
import {
  be16_bits,
  be32_bits,
  secure_ipv4_port_ephemeral,
  secure_tcp_seq,
  secure_tcp_ts_off,
  seq_scale,
} from '../../src/net/core/secure_seq.js';

function mknet(seed = 1): { net: Net; clock: VirtualClock } {
  const clock = new VirtualClock();
  return { net: new Net(new Kernel('h', clock, new Prandom(seed))), clock };
}

const A = 0x0a000001; // 10.0.0.1
const B = 0x0a000002; // 10.0.0.2

test('__be32/__be16 bits are the byte-swapped host-order values (a little-endian load)', () => {
  assert.equal(be32_bits(0x0a000001), 0x0100000a);
  assert.equal(be32_bits(0xc0a80102), 0x0201a8c0);
  assert.equal(be32_bits(0xffffff00), 0x00ffffff);
  assert.equal(be16_bits(80), 0x5000);
  assert.equal(be16_bits(0xabcd), 0xcdab);
});

test('secrets are drawn from the kernel PRNG on first use, once', () => {
  const { net } = mknet(7);
  assert.equal(net.net_secret, undefined);
  assert.equal(net.ts_secret, undefined);
  const isn = secure_tcp_seq(net, A, B, 40000, 80);
  const key = net.net_secret!;
  assert.equal(key.length, 4);
  // The key is the PRNG's next four words.
  const r = new Prandom(7);
  assert.deepEqual(Array.from(key), [
    r.get_random_u32(),
    r.get_random_u32(),
    r.get_random_u32(),
    r.get_random_u32(),
  ]);
  assert.equal(net.ts_secret, undefined);
  assert.equal(secure_tcp_seq(net, A, B, 40000, 80), isn);
  assert.equal(net.net_secret, key);
});

test('secure_tcp_seq is siphash_3u32(saddr, daddr, sport << 16 | dport) + clock ns >> 6', () => {
  const { net, clock } = mknet();
  const isn0 = secure_tcp_seq(net, A, B, 40000, 80);
  const hash = siphash_3u32_u32(
    0x0100000a,
    0x0200000a,
    ((be16_bits(40000) << 16) | 0x5000) >>> 0,
    net.net_secret!,
  );
  assert.equal(isn0, hash);
  clock.advance(64 * 1000);
  assert.equal(secure_tcp_seq(net, A, B, 40000, 80), (hash + 1000) >>> 0);
  // The clock part wraps every 2^32 * 64 ns (274.9 s).
  clock.advance(64 * 2 ** 32 - 64 * 1000);
  assert.equal(secure_tcp_seq(net, A, B, 40000, 80), hash);
  clock.advance(1);
  assert.equal(seq_scale(net, 0xffffffff), 0xffffffff);
  clock.advance(63);
  assert.equal(seq_scale(net, 0xffffffff), 0);
});

test('secure_tcp_seq differs per 4-tuple, per namespace secret, and repeats per seed', () => {
  const { net } = mknet(1);
  const base = secure_tcp_seq(net, A, B, 40000, 80);
  const others = [
    secure_tcp_seq(net, B, A, 40000, 80),
    secure_tcp_seq(net, A, B, 80, 40000),
    secure_tcp_seq(net, A, B, 40001, 80),
    secure_tcp_seq(net, A, B, 40000, 81),
    secure_tcp_seq(net, A, 0x0a000003, 40000, 80),
  ];
  for (const o of others) assert.notEqual(o, base);
  assert.equal(secure_tcp_seq(mknet(1).net, A, B, 40000, 80), base);
  assert.notEqual(secure_tcp_seq(mknet(2).net, A, B, 40000, 80), base);
  for (const v of [base, ...others]) assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
});

test('secure_tcp_ts_off is siphash_2u32 under ts_secret, zero unless tcp_timestamps is 1', () => {
  const { net, clock } = mknet();
  assert.equal(secure_tcp_ts_off(net, A, B, 0), 0);
  assert.equal(secure_tcp_ts_off(net, A, B, 2), 0);
  assert.equal(net.ts_secret, undefined, 'no secret drawn while offsets are off');
  const off = secure_tcp_ts_off(net, A, B, 1);
  assert.equal(off, siphash_2u32_u32(0x0100000a, 0x0200000a, net.ts_secret!));
  assert.notDeepEqual(Array.from(net.ts_secret!), Array.from(net.net_secret ?? []));
  clock.advance(1e9);
  assert.equal(secure_tcp_ts_off(net, A, B, 1), off, 'independent of time');
  assert.notEqual(secure_tcp_ts_off(net, B, A, 1), off);
});

test('secure_ipv4_port_ephemeral is siphash_3u32(saddr, daddr, dport) under net_secret', () => {
  const { net, clock } = mknet();
  const p = secure_ipv4_port_ephemeral(net, A, B, 443);
  assert.equal(p, siphash_3u32_u32(0x0100000a, 0x0200000a, be16_bits(443), net.net_secret!));
  clock.advance(5e9);
  assert.equal(secure_ipv4_port_ephemeral(net, A, B, 443), p, 'independent of time');
  assert.notEqual(secure_ipv4_port_ephemeral(net, A, B, 444), p);
  // The same net_secret keys secure_tcp_seq; with sport 0 the two would coincide (secure_seq.c).
  assert.equal(secure_tcp_seq(net, A, B, 0, 443), (p + Math.floor(clock.now() / 64)) >>> 0);
});
