// net/ipv4/syncookies.c, the arithmetic: a listener whose SYN queue overflowed answers with a
// SYN-ACK whose ISN encodes the connection (D. J. Bernstein's SYN cookies) and forgets the SYN; a
// returning ACK whose ack-1 decodes is rebuilt into a connection (cookie_v4_check()).
//
// Linux's syncookie_secret[2] is global; here it belongs to the namespace (one per host), drawn
// from the kernel's seeded PRNG on first use. Addresses and ports are host-order numbers, hashed
// as a little-endian Linux hashes the __be32/__be16 (see secure_seq.ts).

import type { Net } from '../core/net_namespace.js';
import { siphash_4u32_u32, type SiphashKey } from '../../kernel/siphash.js';
import { HZ, NSEC_PER_JIFFY } from '../../kernel/time.js';
import { be16_bits, be32_bits, siphash_key_random } from '../core/secure_seq.js';

declare module '../core/net_namespace.js' {
  interface Net {
    /** syncookie_secret[2]: keys cookie_hash(); filled on first use. */
    syncookie_secret?: [SiphashKey, SiphashKey];
  }
}

/** Upper bits of the cookie's second part store the count. */
export const COOKIEBITS = 24;
export const COOKIEMASK = ((1 << COOKIEBITS) - 1) >>> 0;

/**
 * include/net/tcp.h: the cookie counter advances every TCP_SYNCOOKIE_PERIOD jiffies (60 s); a
 * cookie is accepted while the counter has moved less than MAX_SYNCOOKIE_AGE since it was made,
 * so for at most 2 minutes.
 */
export const MAX_SYNCOOKIE_AGE = 2;
export const TCP_SYNCOOKIE_PERIOD = 60 * HZ;
export const TCP_SYNCOOKIE_VALID = MAX_SYNCOOKIE_AGE * TCP_SYNCOOKIE_PERIOD;

/*
 * TCP Timestamp: the 6 lowest bits of the TSval sent in a cookie SYN-ACK store the options the
 * SYN carried, since the SYN itself is forgotten:
 *
 *   | 31 ... 6  |  5  |  4   | 3 2 1 0 |
 *   | Timestamp | ECN | SACK | WScale  |
 *
 * A WScale of 0xf (no valid shift is that large) means the SYN had no window scale option.
 * There is no timestamp bit: an ACK echoing a TSecr proves timestamps were negotiated.
 */
export const TS_OPT_WSCALE_MASK = 0xf;
export const TS_OPT_SACK = 1 << 4;
export const TS_OPT_ECN = 1 << 5;
export const TSBITS = 6;
export const TSMASK = (1 << TSBITS) - 1;

/**
 * MSS values chosen from 'An Analysis of TCP Maximum Segment Sizes' (Alcock and Nelson, 2011):
 * below 536 and between 537 and 1299 are rare, 1300-1349 is 15-20% of the traffic, 1460 the most
 * common value, and above 1460 very rare. Sorted; the cookie stores the index.
 */
export const msstab: readonly number[] = [536, 1300, 1440 /* 1440, 1452: PPPoE */, 1460];

/** The namespace's syncookie_secret[2], drawn on first use (net_get_random_once). */
function syncookie_secret(net: Net): [SiphashKey, SiphashKey] {
  return (net.syncookie_secret ??= [siphash_key_random(net), siphash_key_random(net)]);
}

/**
 * tcp_cookie_time(): get_jiffies_64() / TCP_SYNCOOKIE_PERIOD, as a u32. Jiffies here are the
 * world clock in 1/HZ s from 0 (no INITIAL_JIFFIES offset), as elsewhere in usernet.
 */
export function tcp_cookie_time(now_ns: number): number {
  const jiffies = Math.floor(now_ns / NSEC_PER_JIFFY);
  return Math.floor(jiffies / TCP_SYNCOOKIE_PERIOD) >>> 0;
}

/** cookie_hash(): (u32)siphash_4u32(saddr, daddr, sport << 16 | dport, count) under secret c. */
function cookie_hash(
  net: Net,
  saddr: number,
  daddr: number,
  sport: number,
  dport: number,
  count: number,
  c: 0 | 1,
): number {
  return siphash_4u32_u32(
    be32_bits(saddr),
    be32_bits(daddr),
    ((be16_bits(sport) << 16) | be16_bits(dport)) >>> 0,
    count >>> 0,
    syncookie_secret(net)[c],
  );
}

/**
 * secure_tcp_syn_cookie(): the cookie ISN,
 *   HASH(sec1, saddr, sport, daddr, dport) + sseq + (count << 24)
 *     + ((HASH(sec2, saddr, sport, daddr, dport, count) + data) % 2^24)
 * where sseq is the peer's ISN, count the tcp_cookie_time() and data the small value (the MSS
 * index) hidden in the second hash. saddr/sport are the SYN's source (the peer).
 */
export function secure_tcp_syn_cookie(
  net: Net,
  saddr: number,
  daddr: number,
  sport: number,
  dport: number,
  sseq: number,
  count: number,
  data: number,
): number {
  const h1 = (cookie_hash(net, saddr, daddr, sport, dport, count, 1) + data) & COOKIEMASK;
  return (
    (cookie_hash(net, saddr, daddr, sport, dport, 0, 0) + (sseq >>> 0) + (count << COOKIEBITS) + h1) >>> 0
  );
}

/**
 * check_tcp_syn_cookie(): peel the layers off `cookie` and return the data it carries, or -1 when
 * its count is MAX_SYNCOOKIE_AGE or more periods old (or from the future). A forged cookie still
 * yields some 24-bit value; the caller range-checks it, as Linux's does. `count` is the current
 * tcp_cookie_time(), read from the namespace's clock when omitted.
 */
export function check_tcp_syn_cookie(
  net: Net,
  cookie: number,
  saddr: number,
  daddr: number,
  sport: number,
  dport: number,
  sseq: number,
  count: number = tcp_cookie_time(net.kernel.clock.now()),
): number {
  // Strip away the layers from the cookie.
  cookie = (cookie - cookie_hash(net, saddr, daddr, sport, dport, 0, 0) - sseq) >>> 0;
  // Now (count << 24) + (hash + data) % 2^24; the top 8 bits tell the cookie's count.
  const diff = (count - (cookie >>> COOKIEBITS)) & (0xffffffff >>> COOKIEBITS);
  if (diff >= MAX_SYNCOOKIE_AGE) return -1;
  return (cookie - cookie_hash(net, saddr, daddr, sport, dport, (count - diff) >>> 0, 1)) & COOKIEMASK;
}

/** What __cookie_v4_init_sequence() returns: the cookie ISN and the MSS it encodes (*mssp). */
export interface CookieInit {
  isn: number;
  mss: number;
}

/**
 * __cookie_v4_init_sequence(): the cookie for a SYN from saddr:sport to daddr:dport with ISN
 * `seq`, encoding the largest msstab entry not above the SYN's `mss` (the smallest entry when
 * even that is larger); that entry is what the connection will use.
 */
export function __cookie_v4_init_sequence(
  net: Net,
  saddr: number,
  daddr: number,
  sport: number,
  dport: number,
  seq: number,
  mss: number,
  now_ns: number,
): CookieInit {
  let mssind: number;
  for (mssind = msstab.length - 1; mssind; mssind--) if (mss >= msstab[mssind]) break;
  return {
    isn: secure_tcp_syn_cookie(net, saddr, daddr, sport, dport, seq, tcp_cookie_time(now_ns), mssind),
    mss: msstab[mssind],
  };
}

/**
 * __cookie_v4_check(): the MSS encoded in a returning ACK's cookie, or 0 when it does not
 * decode. `seq` is the ACK's seq - 1 (the SYN's ISN) and `cookie` its ack_seq - 1; the addresses
 * and ports are the ACK's, the same direction as the SYN's.
 */
export function __cookie_v4_check(
  net: Net,
  saddr: number,
  daddr: number,
  sport: number,
  dport: number,
  seq: number,
  cookie: number,
  now_ns: number,
): number {
  const mssind = check_tcp_syn_cookie(net, cookie, saddr, daddr, sport, dport, seq, tcp_cookie_time(now_ns));
  return mssind >= 0 && mssind < msstab.length ? msstab[mssind] : 0;
}

/**
 * cookie_init_timestamp(): the TSval of a cookie SYN-ACK (before ts_off is added), carrying the
 * SYN's options in its low TSBITS. `snd_wscale` is the shift the peer announced in its SYN
 * (ireq->snd_wscale), used only when `wscale_ok`. `ts_now` is the TCP timestamp clock in ms
 * (tcp_ns_to_ts()); the result is a u32 never ahead of it, so later TSvals do not go backwards:
 * when putting the options in the low bits would overshoot ts_now, the previous 64 ms slot is used.
 */
export function cookie_init_timestamp(
  wscale_ok: boolean,
  snd_wscale: number,
  sack_ok: boolean,
  ecn_ok: boolean,
  ts_now: number,
): number {
  let options = wscale_ok ? snd_wscale & TS_OPT_WSCALE_MASK : TS_OPT_WSCALE_MASK;
  if (sack_ok) options |= TS_OPT_SACK;
  if (ecn_ok) options |= TS_OPT_ECN;
  ts_now = ts_now >>> 0;
  let ts = ((ts_now & ~TSMASK) | options) >>> 0;
  if (ts > ts_now) ts = (ts - (1 << TSBITS)) >>> 0;
  return ts;
}

/** The options a cookie ACK's echoed timestamp carries (struct tcp_options_received's fields). */
export interface CookieTimestampOptions {
  wscale_ok: boolean;
  snd_wscale: number;
  sack_ok: boolean;
  /** TS_OPT_ECN; cookie_ecn_ok() further requires net.ipv4.tcp_ecn or the route's ECN feature. */
  ecn_ok: boolean;
}

/**
 * cookie_timestamp_decode(): the SYN's options from the ACK's TSecr (minus ts_off), or null
 * where Linux returns false: timestamps, SACK or window scaling are disabled on this host yet the
 * cookie says they were used. An ACK without a timestamp option is the caller's case
 * (tcp_clear_options(): no options at all). The sysctls default to Linux's defaults.
 */
export function cookie_timestamp_decode(
  tsecr: number,
  sysctl_tcp_timestamps = 1,
  sysctl_tcp_sack = 1,
  sysctl_tcp_window_scaling = 1,
): CookieTimestampOptions | null {
  const options = tsecr >>> 0;
  if (!sysctl_tcp_timestamps) return null;
  const sack_ok = (options & TS_OPT_SACK) !== 0;
  if (sack_ok && !sysctl_tcp_sack) return null;
  const ecn_ok = (options & TS_OPT_ECN) !== 0;
  if ((options & TS_OPT_WSCALE_MASK) === TS_OPT_WSCALE_MASK)
    return { wscale_ok: false, snd_wscale: 0, sack_ok, ecn_ok }; // no window scaling
  if (!sysctl_tcp_window_scaling) return null;
  return { wscale_ok: true, snd_wscale: options & TS_OPT_WSCALE_MASK, sack_ok, ecn_ok };
}
