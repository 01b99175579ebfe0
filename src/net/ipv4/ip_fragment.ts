// IPv4 fragmentation and reassembly (net/ipv4/ip_output.c ip_do_fragment, net/ipv4/ip_fragment.c,
// net/ipv4/inet_fragment.c).
//
// Reassembly queues are keyed by (saddr, daddr, id, protocol, user) through a numeric hash. As
// modern Linux does (RFC 5722 applied to IPv4), a fragment overlapping another kills the whole
// queue (ReasmOverlaps), while an exact or contained duplicate is dropped alone. A queue lives
// net.ipv4.ipfrag_time seconds; when it expires with its first fragment in hand the sender gets
// ICMP time exceeded (fragment reassembly). Memory above ipfrag_high_thresh refuses fragments.

import type { Net } from '../core/net_namespace.js';
import type { Sock } from '../core/sock.js';
import { CHECKSUM_NONE, CHECKSUM_UNNECESSARY, SkBuff, kfree_skb, netdev_alloc_skb } from '../core/skbuff.js';
import { dev_get_by_index } from '../core/dev.js';
import { Timer } from '../../kernel/time.js';
import * as E from '../../uapi/errno.js';
import { ICMP_EXC_FRAGTIME, ICMP_TIME_EXCEEDED } from '../../wire/icmp.js';
import { icmp_send } from './icmp.js';
import {
  IPSTATS_MIB_FRAGCREATES,
  IPSTATS_MIB_FRAGFAILS,
  IPSTATS_MIB_FRAGOKS,
  IPSTATS_MIB_REASMFAILS,
  IPSTATS_MIB_REASMOKS,
  IPSTATS_MIB_REASMREQDS,
  IPSTATS_MIB_REASMTIMEOUT,
  IPSTATS_MIB_REASM_OVERLAPS,
  IP_INC_STATS,
} from './snmp.js';
import { type Rtable, ip_route_input } from './route.js';
import { RTN_LOCAL } from './fib.js';

const IP_MF = 0x2000;
const IP_OFFSET = 0x1fff;
const IPOPT_END = 0;
const IPOPT_NOOP = 1;

/** enum ip_defrag_users (the ones we have). */
export const IP_DEFRAG_LOCAL_DELIVER = 0;
export const IP_DEFRAG_CALL_RA_CHAIN = 1;

/** INET_FRAG_* queue flags. */
const INET_FRAG_FIRST_IN = 1;
const INET_FRAG_LAST_IN = 2;
const INET_FRAG_COMPLETE = 4;

/** sizeof(struct ipq), charged to the namespace's fragment memory with each queue. */
const IPQ_SIZE = 192;

function get16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
function get32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
function ip_send_check(buf: Uint8Array, off: number): void {
  const ihl = (buf[off] & 0x0f) * 4;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  let s = 0;
  for (let i = 0; i < ihl; i += 2) s += (buf[off + i] << 8) | buf[off + i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  buf[off + 10] = c >>> 8;
  buf[off + 11] = c & 0xff;
}

/**
 * ip_options_fragment(): after the first fragment, options without the copy flag are replaced by
 * No-Operations (RFC 791: only options with the copy bit go into every fragment), keeping the
 * header length.
 */
export function ip_options_fragment(buf: Uint8Array, off: number): void {
  let p = off + 20;
  let l = (buf[off] & 0x0f) * 4 - 20;
  while (l > 0) {
    const t = buf[p];
    if (t === IPOPT_END) return;
    if (t === IPOPT_NOOP) {
      l--;
      p++;
      continue;
    }
    const optlen = buf[p + 1];
    if (optlen < 2 || optlen > l) return;
    if (!(t & 0x80)) buf.fill(IPOPT_NOOP, p, p + optlen);
    l -= optlen;
    p += optlen;
  }
}

/**
 * ip_do_fragment() (the slow path; we keep no frag lists): cut the datagram at skb.network_header
 * into pieces of at most `mtu` bytes with 8-byte-aligned payloads, each with a copy of the header
 * (options filtered after the first), and pass each to `output`. FragCreates per piece, FragOKs
 * once; FragFails if it cannot be done.
 */
export function ip_do_fragment(
  net: Net,
  sk: Sock | null,
  skb: SkBuff,
  mtu: number,
  output: (net: Net, sk: Sock | null, skb: SkBuff) => number,
): number {
  const h = skb.head;
  const nh = skb.network_header;
  const hlen = (h[nh] & 0x0f) * 4;
  const total = skb.tail - nh;
  const room = (mtu - hlen) & ~7;
  if (room < 8) {
    IP_INC_STATS(net, IPSTATS_MIB_FRAGFAILS);
    kfree_skb(skb);
    return -E.EMSGSIZE;
  }
  const rt = skb.dst as Rtable | null;
  const dev = rt ? rt.dev : skb.dev;
  const ll_rs = dev ? ((dev.hard_header_len + dev.needed_headroom) & ~15) + 16 : 32;
  const frag_off = get16(h, nh + 6);
  let offset = (frag_off & IP_OFFSET) << 3;
  const not_last_frag = frag_off & IP_MF;
  const df_bits = frag_off & 0x4000;
  let left = total - hlen;
  let ptr = nh + hlen;
  let first = true;
  while (left > 0) {
    let len = left;
    if (len > room) len = room;
    const n = netdev_alloc_skb(ll_rs, hlen + len);
    const o = n.data;
    n.head.set(h.subarray(nh, nh + hlen), o);
    n.head.set(h.subarray(ptr, ptr + len), o + hlen);
    n.put(hlen + len);
    n.network_header = o;
    n.transport_header = o + hlen;
    n.dst = skb.dst;
    n.dev = skb.dev;
    n.protocol = skb.protocol;
    n.priority = skb.priority;
    n.mark = skb.mark;
    n.tstamp = skb.tstamp;
    // Copy the flags, offset and total length of this piece.
    const fo = df_bits | (offset >>> 3) | (left - len > 0 || not_last_frag ? IP_MF : 0);
    n.head[o + 6] = fo >>> 8;
    n.head[o + 7] = fo & 0xff;
    n.head[o + 2] = (hlen + len) >>> 8;
    n.head[o + 3] = (hlen + len) & 0xff;
    ip_send_check(n.head, o);
    if (first) {
      // Later fragments carry only the options marked "copied".
      ip_options_fragment(h, nh);
      first = false;
    }
    left -= len;
    ptr += len;
    offset += len;
    IP_INC_STATS(net, IPSTATS_MIB_FRAGCREATES);
    const err = output(net, sk, n);
    if (err) {
      IP_INC_STATS(net, IPSTATS_MIB_FRAGFAILS);
      kfree_skb(skb);
      return err;
    }
  }
  IP_INC_STATS(net, IPSTATS_MIB_FRAGOKS);
  kfree_skb(skb);
  return 0;
}

/** One fragment in a queue: its payload [offset, end) and where that payload starts in the skb. */
interface IpFrag {
  offset: number;
  end: number;
  skb: SkBuff;
  /** Offset in skb.head of the payload (the fragment's own header length may differ). */
  data: number;
}

/** struct ipq (with its struct inet_frag_queue). */
export class Ipq {
  /** Chain in the hash bucket. */
  next: Ipq | null = null;
  /** Fragments by offset, never overlapping. */
  readonly frags: IpFrag[] = [];
  flags = 0;
  /** q.len: the datagram's payload length, as far as known. */
  len = 0;
  /** q.meat: payload bytes received. */
  meat = 0;
  /** Memory charged (truesize of the fragments + the queue). */
  mem = IPQ_SIZE;
  iif = 0;
  readonly timer: Timer;
  constructor(
    readonly hash: number,
    readonly saddr: number,
    readonly daddr: number,
    readonly id: number,
    readonly protocol: number,
    readonly user: number,
    expire: (q: Ipq) => void,
  ) {
    this.timer = new Timer(() => expire(this));
  }
}

/** struct fqdir for IPv4: the queues of one namespace and their memory. */
export class Ipv4Frags {
  readonly table = new Map<number, Ipq>();
  /** Bytes charged to fragment queues (frag_mem_limit). */
  mem = 0;
  nqueues = 0;
  constructor(readonly net: Net) {}
}

declare module '../core/net_namespace.js' {
  interface Net {
    ipv4_frags?: Ipv4Frags;
  }
}

/** ipfrag_init() for a namespace. */
export function ipfrag_init(net: Net): Ipv4Frags {
  return (net.ipv4_frags ??= new Ipv4Frags(net));
}

/** The fragment queues (for tests and /proc/net/sockstat's FRAG line). */
export function ip_frags(net: Net): Ipv4Frags {
  return net.ipv4_frags ?? ipfrag_init(net);
}

function ipqhashfn(saddr: number, daddr: number, id: number, protocol: number, user: number): number {
  let h = Math.imul(saddr ^ 0x5bd1e995, 0x9e3779b1);
  h ^= Math.imul(daddr + 0x7f4a7c15, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= (id << 16) | (protocol << 8) | user;
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}

/** inet_frag_kill(): unhash the queue, stop its timer, release its memory and fragments. */
function ipq_kill(f: Ipv4Frags, q: Ipq): void {
  if (q.flags & INET_FRAG_COMPLETE) return;
  q.flags |= INET_FRAG_COMPLETE;
  f.net.kernel.clock.del_timer(q.timer);
  let b = f.table.get(q.hash) ?? null;
  if (b === q) {
    if (q.next) f.table.set(q.hash, q.next);
    else f.table.delete(q.hash);
  } else {
    while (b && b.next !== q) b = b.next;
    if (b) b.next = q.next;
  }
  q.next = null;
  f.nqueues--;
  f.mem -= q.mem;
}

function ipq_free_frags(q: Ipq): void {
  for (const fr of q.frags) kfree_skb(fr.skb);
  q.frags.length = 0;
}

// Each queue knows its table (and so its namespace) for the expiry handler.
const queue_owner = new WeakMap<Ipq, Ipv4Frags>();

/**
 * ip_expire(): the queue's time is up. Count ReasmFails and ReasmTimeout, and if the first
 * fragment came, tell the sender (ICMP time exceeded, code 1) — only when we are its
 * destination (RFC 792: an end host's message).
 */
function ip_expire(q: Ipq): void {
  const f = queue_owner.get(q);
  if (!f || q.flags & INET_FRAG_COMPLETE) return;
  const net = f.net;
  ipq_kill(f, q);
  IP_INC_STATS(net, IPSTATS_MIB_REASMFAILS);
  IP_INC_STATS(net, IPSTATS_MIB_REASMTIMEOUT);
  const first = q.frags.length && q.frags[0].offset === 0 ? q.frags[0] : null;
  if (q.flags & INET_FRAG_FIRST_IN && first) {
    const head = first.skb;
    q.frags.shift();
    const dev = dev_get_by_index(net, q.iif);
    if (dev) {
      head.dev = dev;
      head.dst = null;
      const h = head.head;
      const nh = head.network_header;
      const err = ip_route_input(head, get32(h, nh + 16), get32(h, nh + 12), h[nh + 1], dev);
      if (!err && (head.dst as Rtable).rt_type === RTN_LOCAL) {
        head.data = nh;
        icmp_send(head, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0);
      }
    }
    kfree_skb(head);
  }
  ipq_free_frags(q);
}

/** ip_find() / inet_frag_find(): the queue of this datagram, made if new; null above the memory limit. */
function ip_find(
  f: Ipv4Frags,
  saddr: number,
  daddr: number,
  id: number,
  protocol: number,
  user: number,
): Ipq | null {
  const ipv4 = f.net.ipv4;
  const high = ipv4?.ipfrag_high_thresh ?? 4 * 1024 * 1024;
  if (!high || f.mem > high) return null;
  const hash = ipqhashfn(saddr, daddr, id, protocol, user);
  const head = f.table.get(hash) ?? null;
  for (let q = head; q; q = q.next)
    if (q.saddr === saddr && q.daddr === daddr && q.id === id && q.protocol === protocol && q.user === user)
      return q;
  const q = new Ipq(hash, saddr, daddr, id, protocol, user, ip_expire);
  queue_owner.set(q, f);
  q.next = head;
  f.table.set(hash, q);
  f.nqueues++;
  f.mem += q.mem;
  const clock = f.net.kernel.clock;
  clock.mod_timer(q.timer, clock.now() + (ipv4?.ipfrag_time ?? 30) * 1e9);
  return q;
}

const IPFRAG_OK = 0;
const IPFRAG_DUP = 1;
const IPFRAG_OVERLAP = 2;

/**
 * inet_frag_queue_insert(): place [offset, end). A fragment inside what contiguous fragments
 * already cover is a duplicate; one that overlaps anything otherwise is an overlap.
 */
function frag_insert(q: Ipq, fr: IpFrag): number {
  const list = q.frags;
  // Find the first fragment ending after our start.
  let i = list.length;
  while (i > 0 && list[i - 1].end > fr.offset) i--;
  if (i === list.length || list[i].offset >= fr.end) {
    list.splice(i, 0, fr);
    return IPFRAG_OK;
  }
  // Overlaps list[i..]: a duplicate if a gap-free run from list[i] covers it all.
  if (list[i].offset <= fr.offset) {
    let covered = list[i].end;
    let j = i + 1;
    while (covered < fr.end && j < list.length && list[j].offset === covered) covered = list[j++].end;
    if (covered >= fr.end) return IPFRAG_DUP;
  }
  return IPFRAG_OVERLAP;
}

/**
 * ip_frag_reasm(): glue the complete datagram together: the first fragment's header, every
 * payload in order. Over 65535 bytes (the ping of death) fails.
 */
function ip_frag_reasm(f: Ipv4Frags, q: Ipq, last: SkBuff): SkBuff | null {
  const net = f.net;
  ipq_kill(f, q);
  const first = q.frags[0];
  const fh = first.skb.head;
  const fnh = first.skb.network_header;
  const ihl = (fh[fnh] & 0x0f) * 4;
  const len = ihl + q.len;
  if (len > 65535) {
    IP_INC_STATS(net, IPSTATS_MIB_REASMFAILS);
    ipq_free_frags(q);
    return null;
  }
  const n = netdev_alloc_skb(64, len);
  const o = n.data;
  n.head.set(fh.subarray(fnh, fnh + ihl), o);
  let truesize = 0;
  let all_unnecessary = true;
  for (const fr of q.frags) {
    n.head.set(fr.skb.head.subarray(fr.data, fr.data + (fr.end - fr.offset)), o + ihl + fr.offset);
    truesize += fr.skb.truesize;
    if (fr.skb.ip_summed !== CHECKSUM_UNNECESSARY) all_unnecessary = false;
  }
  n.put(len);
  n.network_header = o;
  n.mac_header = o;
  n.transport_header = o + ihl;
  n.head[o + 2] = len >>> 8;
  n.head[o + 3] = len & 0xff;
  n.head[o + 6] = 0;
  n.head[o + 7] = 0;
  ip_send_check(n.head, o);
  n.truesize = truesize;
  n.dev = last.dev;
  n.dst = last.dst;
  n.skb_iif = last.skb_iif;
  n.protocol = last.protocol;
  n.pkt_type = last.pkt_type;
  n.tstamp = last.tstamp;
  n.mark = last.mark;
  n.ip_summed = all_unnecessary ? CHECKSUM_UNNECESSARY : CHECKSUM_NONE;
  ipq_free_frags(q);
  IP_INC_STATS(net, IPSTATS_MIB_REASMOKS);
  return n;
}

/**
 * ip_frag_queue(): add one fragment (skb.data at its IP header, trimmed to its total length).
 * Returns the reassembled datagram when this fragment completes it, else null (the fragment is
 * kept or dropped, and counted as Linux counts it).
 */
function ip_frag_queue(f: Ipv4Frags, q: Ipq, skb: SkBuff): SkBuff | null {
  const net = f.net;
  if (q.flags & INET_FRAG_COMPLETE) {
    kfree_skb(skb);
    return null;
  }
  const h = skb.head;
  const nh = skb.network_header;
  const ihl = (h[nh] & 0x0f) * 4;
  const fo = get16(h, nh + 6);
  const flags = fo & ~IP_OFFSET;
  const offset = (fo & IP_OFFSET) << 3;
  let end = offset + (skb.tail - nh) - ihl;
  let discard = false;
  if (!(flags & IP_MF)) {
    // The final fragment: nothing may lie beyond it, and the end may not change.
    if (end < q.len || (q.flags & INET_FRAG_LAST_IN && end !== q.len)) discard = true;
    else {
      q.flags |= INET_FRAG_LAST_IN;
      q.len = end;
    }
  } else {
    if (end & 7) {
      end &= ~7;
      if (skb.ip_summed !== CHECKSUM_UNNECESSARY) skb.ip_summed = CHECKSUM_NONE;
    }
    if (end > q.len) {
      if (q.flags & INET_FRAG_LAST_IN) discard = true;
      else q.len = end;
    }
  }
  if (!discard && end === offset) discard = true;
  if (!discard) {
    const fr: IpFrag = { offset, end, skb, data: nh + ihl };
    const r = frag_insert(q, fr);
    if (r === IPFRAG_DUP) {
      kfree_skb(skb);
      return null;
    }
    if (r === IPFRAG_OVERLAP) {
      IP_INC_STATS(net, IPSTATS_MIB_REASM_OVERLAPS);
      discard = true;
    } else {
      skb.dst = null;
      q.iif = skb.dev ? skb.dev.ifindex : 0;
      q.meat += end - offset;
      q.mem += skb.truesize;
      f.mem += skb.truesize;
      if (offset === 0) q.flags |= INET_FRAG_FIRST_IN;
      if (q.flags & INET_FRAG_FIRST_IN && q.flags & INET_FRAG_LAST_IN && q.meat === q.len) {
        return ip_frag_reasm(f, q, skb);
      }
      return null;
    }
  }
  // discard_qp: the whole queue goes.
  ipq_kill(f, q);
  ipq_free_frags(q);
  IP_INC_STATS(net, IPSTATS_MIB_REASMFAILS);
  kfree_skb(skb);
  return null;
}

/**
 * ip_defrag(): take a fragment (data at its IP header); return the whole datagram once the last
 * missing piece is in, else null (the fragment is queued or dropped).
 */
export function ip_defrag(net: Net, skb: SkBuff, user: number): SkBuff | null {
  IP_INC_STATS(net, IPSTATS_MIB_REASMREQDS);
  const f = ip_frags(net);
  const h = skb.head;
  const nh = skb.network_header;
  const q = ip_find(f, get32(h, nh + 12), get32(h, nh + 16), get16(h, nh + 4), h[nh + 9], user);
  if (!q) {
    IP_INC_STATS(net, IPSTATS_MIB_REASMFAILS);
    kfree_skb(skb);
    return null;
  }
  // The route of the completing fragment travels with the datagram.
  const dst = skb.dst;
  const out = ip_frag_queue(f, q, skb);
  if (out) out.dst = dst;
  return out;
}
