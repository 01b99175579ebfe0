// net/core/secure_seq.c: the keyed hashes that make initial sequence numbers, timestamp offsets
// and ephemeral port offsets unguessable from outside (RFC 6528 for ISNs, RFC 7323 §7.1 for
// per-connection timestamp offsets, RFC 6056 algorithm 3 for ports).
//
// Linux keeps net_secret and ts_secret as globals filled by net_get_random_once(); here each
// namespace (one per host) has its own, drawn from the kernel's seeded PRNG on first use, so a
// world's seed fixes every ISN.
//
// Addresses and ports are host-order numbers in usernet, where Linux passes __be32/__be16 and
// hashes their bits as the CPU loads them: (__force u32)saddr on a little-endian machine is the
// byte-swapped host-order value. We swap the same way (be32_bits / be16_bits), so with the same key
// the hashes equal those of a little-endian Linux machine.

import type { Net } from './net_namespace.js';
import { siphash_2u32_u32, siphash_3u32_u32, type SiphashKey } from '../../kernel/siphash.js';

declare module './net_namespace.js' {
  interface Net {
    /** net_secret: keys secure_tcp_seq() and secure_ipv4_port_ephemeral(); filled on first use. */
    net_secret?: SiphashKey;
    /** ts_secret: keys secure_tcp_ts_off(); filled on first use. */
    ts_secret?: SiphashKey;
  }
}

/** net_get_random_once() for a siphash_key_t: 16 bytes from the kernel's PRNG. */
export function siphash_key_random(net: Net): SiphashKey {
  const key = new Uint32Array(4);
  const r = net.kernel.prandom;
  for (let i = 0; i < 4; i++) key[i] = r.get_random_u32();
  return key;
}

/** net_secret_init(): the namespace's net_secret, drawn on first use. */
export function net_secret_init(net: Net): SiphashKey {
  return (net.net_secret ??= siphash_key_random(net));
}

/** ts_secret_init(): the namespace's ts_secret, drawn on first use. */
export function ts_secret_init(net: Net): SiphashKey {
  return (net.ts_secret ??= siphash_key_random(net));
}

/** (__force u32) of the __be32 holding host-order `addr`, as a little-endian CPU reads it. */
export function be32_bits(addr: number): number {
  return ((addr >>> 24) | ((addr >>> 8) & 0xff00) | ((addr & 0xff00) << 8) | (addr << 24)) >>> 0;
}

/** (__force u16) of the __be16 holding host-order `port`, as a little-endian CPU reads it. */
export function be16_bits(port: number): number {
  return ((port >>> 8) & 0xff) | ((port & 0xff) << 8);
}

/**
 * seq_scale(): add the clock in 64 ns units (a 274 s wrap, longer than the MSL, and fast enough
 * for 10 Gb/s), as close as Linux gets to RFC 793's 4 µs ISN clock. Linux reads
 * ktime_get_real_ns(); usernet reads the world's clock.
 */
export function seq_scale(net: Net, seq: number): number {
  return (seq + Math.floor(net.kernel.clock.now() / 64)) >>> 0;
}

/**
 * secure_tcp_ts_off(): the per-(saddr, daddr) offset added to tcp_time_stamp in the TSval, so
 * the timestamp clock leaks neither uptime nor a shared counter. Zero unless
 * net.ipv4.tcp_timestamps is 1 (2 means timestamps without offsets). The caller passes the
 * sysctl's value. saddr is the local address (tcp_v4_connect: inet_saddr, inet_daddr;
 * tcp_v4_init_ts_off: the SYN's daddr, saddr).
 */
export function secure_tcp_ts_off(
  net: Net,
  saddr: number,
  daddr: number,
  sysctl_tcp_timestamps: number,
): number {
  if (sysctl_tcp_timestamps !== 1) return 0;
  return siphash_2u32_u32(be32_bits(saddr), be32_bits(daddr), ts_secret_init(net));
}

/**
 * secure_tcp_seq(): the ISN of a connection, siphash_3u32(saddr, daddr, sport << 16 | dport)
 * under net_secret, plus seq_scale(). saddr/sport are always the local end: tcp_v4_connect()
 * passes inet_saddr, inet_daddr, inet_sport, the peer's port; tcp_v4_init_seq() passes the
 * SYN's daddr, saddr, dest, source.
 */
export function secure_tcp_seq(net: Net, saddr: number, daddr: number, sport: number, dport: number): number {
  const hash = siphash_3u32_u32(
    be32_bits(saddr),
    be32_bits(daddr),
    ((be16_bits(sport) << 16) | be16_bits(dport)) >>> 0,
    net_secret_init(net),
  );
  return seq_scale(net, hash);
}

/**
 * secure_ipv4_port_ephemeral(): the per-destination offset __inet_hash_connect() starts its
 * ephemeral port search from (RFC 6056 §3.3.3). siphash_3u32(saddr, daddr, dport) under the same
 * net_secret; sport is never 0 in secure_tcp_seq, so the two never coincide.
 */
export function secure_ipv4_port_ephemeral(net: Net, saddr: number, daddr: number, dport: number): number {
  return siphash_3u32_u32(be32_bits(saddr), be32_bits(daddr), be16_bits(dport), net_secret_init(net));
}
