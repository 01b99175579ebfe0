// The TCP hash tables (net/ipv4/inet_hashtables.c, inet_connection_sock.c): the established
// hash (ehash: full socks, request socks in NEW_SYN_RECV and TIME_WAIT socks by 4-tuple), the
// listening hash (by port) and the bind buckets (bhash: who holds a local port, with the
// SO_REUSEADDR / SO_REUSEPORT conflict rules), and the choice of a port for bind(0) and for
// connect().
//
// Keys are numbers: the 4-tuple is mixed into a 32-bit hash with a per-namespace secret, and a
// bucket is scanned comparing the fields (INET_MATCH). No string is built per packet.

import type { Net } from '../core/net_namespace.js';
import { TCP_CLOSE, TCP_LISTEN, TCP_TIME_WAIT } from '../core/sock.js';
import { inet_get_local_port_range } from './ipv4_init.js';
import { InetTimewaitSock } from './inet_timewait_sock.js';
import { RequestSock, TcpSock } from './tcp_sock.js';
import { secure_ipv4_port_ephemeral } from '../core/secure_seq.js';

/** What the ehash holds. */
export type EhashEntry = TcpSock | RequestSock | InetTimewaitSock;

/** struct inet_bind_bucket: one local port and the socks holding it. */
export class InetBindBucket {
  /** 1: every owner set SO_REUSEADDR and none listens; 0: not; -1: made by connect(). */
  fastreuse = 0;
  fastreuseport = 0;
  owners: (TcpSock | InetTimewaitSock)[] = [];
  constructor(public port: number) {}
}

/** struct inet_hashinfo for one namespace. */
export class InetHashinfo {
  ehash = new Map<number, EhashEntry[]>();
  /** Listeners by port. */
  lhash = new Map<number, TcpSock[]>();
  bhash = new Map<number, InetBindBucket>();
  /** Every sock in the ehash, for /proc/net/tcp and ss (insertion order). */
  ehash_count = 0;
  secret: number;
  /** Socks in TIME_WAIT (tw_count of the death row). */
  tw_count = 0;
  /** table_perturb of __inet_hash_connect(), by slot (filled on first use). */
  table_perturb = new Map<number, number>();
  constructor(secret: number) {
    this.secret = secret;
  }
}

declare module '../core/net_namespace.js' {
  interface Net {
    /** tcp_hashinfo of the namespace. */
    tcp_hashinfo?: InetHashinfo;
  }
}

export function tcp_hashinfo(net: Net): InetHashinfo {
  return (net.tcp_hashinfo ??= new InetHashinfo(net.kernel.prandom.get_random_u32()));
}

/** inet_ehashfn(): a numeric hash of the 4-tuple (a jhash-style mix keyed per namespace). */
export function inet_ehashfn(
  secret: number,
  laddr: number,
  lport: number,
  faddr: number,
  fport: number,
): number {
  let a = (laddr ^ secret) >>> 0;
  let b = (faddr + 0x9e3779b9) >>> 0;
  let c = (((lport << 16) | fport) ^ (secret >>> 7)) >>> 0;
  a = Math.imul(a ^ (c >>> 13), 0x85ebca6b);
  b = Math.imul(b ^ (a >>> 16), 0xc2b2ae35);
  c = Math.imul(c ^ (b >>> 13), 0x27d4eb2f);
  return (a ^ b ^ c) >>> 0;
}

/** The 4-tuple of an ehash entry. */
function ent_laddr(e: EhashEntry): number {
  return e instanceof TcpSock ? e.inet_rcv_saddr : e instanceof RequestSock ? e.ir_loc_addr : e.tw_rcv_saddr;
}
function ent_lport(e: EhashEntry): number {
  return e instanceof TcpSock ? e.inet_num : e instanceof RequestSock ? e.ir_num : e.tw_num;
}
function ent_faddr(e: EhashEntry): number {
  return e instanceof TcpSock ? e.inet_daddr : e instanceof RequestSock ? e.ir_rmt_addr : e.tw_daddr;
}
function ent_fport(e: EhashEntry): number {
  return e instanceof TcpSock ? e.inet_dport : e instanceof RequestSock ? e.ir_rmt_port : e.tw_dport;
}

function ent_hash(h: InetHashinfo, e: EhashEntry): number {
  return inet_ehashfn(h.secret, ent_laddr(e), ent_lport(e), ent_faddr(e), ent_fport(e));
}

/** inet_ehash_insert(): add to the established hash. */
export function inet_ehash_insert(net: Net, e: EhashEntry): void {
  const h = tcp_hashinfo(net);
  const key = ent_hash(h, e);
  let b = h.ehash.get(key);
  if (!b) h.ehash.set(key, (b = []));
  b.push(e);
  h.ehash_count++;
  if (e instanceof TcpSock) e.ehashed = true;
  else e.hashed = true;
}

/** Remove from the established hash (sk_nulls_del_node_init_rcu). */
export function inet_ehash_remove(net: Net, e: EhashEntry): boolean {
  const h = tcp_hashinfo(net);
  const key = ent_hash(h, e);
  const b = h.ehash.get(key);
  if (!b) return false;
  const i = b.indexOf(e);
  if (i < 0) return false;
  b.splice(i, 1);
  if (!b.length) h.ehash.delete(key);
  h.ehash_count--;
  if (e instanceof TcpSock) e.ehashed = false;
  else e.hashed = false;
  return true;
}

/**
 * __inet_lookup_established(): the entry for a packet from (saddr, sport) to (daddr, dport).
 * Entries are keyed by their local side, so the packet's destination is the local address.
 */
export function __inet_lookup_established(
  net: Net,
  saddr: number,
  sport: number,
  daddr: number,
  dport: number,
): EhashEntry | null {
  const h = net.tcp_hashinfo;
  if (!h) return null;
  const b = h.ehash.get(inet_ehashfn(h.secret, daddr, dport, saddr, sport));
  if (!b) return null;
  for (let i = 0; i < b.length; i++) {
    const e = b[i];
    if (ent_lport(e) === dport && ent_fport(e) === sport && ent_faddr(e) === saddr && ent_laddr(e) === daddr)
      return e;
  }
  return null;
}

/** compute_score() of a listener for a packet to daddr (inet_hashtables.c). */
function compute_score(sk: TcpSock, daddr: number, dif: number): number {
  let score = 1;
  if (sk.inet_rcv_saddr) {
    if (sk.inet_rcv_saddr !== daddr) return -1;
    score++;
  }
  if (sk.sk_bound_dev_if) {
    if (sk.sk_bound_dev_if !== dif) return -1;
    score++;
  }
  return score;
}

/**
 * __inet_lookup_listener(): the best listener for the destination; among SO_REUSEPORT peers of
 * the same score, one chosen by the flow's hash (reuseport_select_sock).
 */
export function __inet_lookup_listener(
  net: Net,
  saddr: number,
  sport: number,
  daddr: number,
  dport: number,
  dif: number,
): TcpSock | null {
  const h = net.tcp_hashinfo;
  if (!h) return null;
  const list = h.lhash.get(dport);
  if (!list) return null;
  let best: TcpSock | null = null;
  let hiscore = 0;
  let group: TcpSock[] | null = null;
  for (let i = 0; i < list.length; i++) {
    const sk = list[i];
    const score = compute_score(sk, daddr, dif);
    if (score > hiscore) {
      best = sk;
      hiscore = score;
      group = null;
    } else if (score === hiscore && best && sk.sk_reuseport && best.sk_reuseport) {
      (group ??= [best]).push(sk);
    }
  }
  if (group) {
    const hash = inet_ehashfn(h.secret, daddr, dport, saddr, sport);
    best = group[hash % group.length];
  }
  return best;
}

/** inet_hash(): a listener joins the listening hash. */
export function inet_hash(sk: TcpSock): void {
  const h = tcp_hashinfo(sk.sk_net);
  let l = h.lhash.get(sk.inet_num);
  if (!l) h.lhash.set(sk.inet_num, (l = []));
  // SO_REUSEPORT listeners go to the tail so that the group keeps its order; others too.
  l.push(sk);
  sk.lhashed = true;
}

/** inet_unhash(): leave the listening or established hash. */
export function inet_unhash(sk: TcpSock): void {
  const h = sk.sk_net.tcp_hashinfo;
  if (!h) return;
  if (sk.lhashed) {
    const l = h.lhash.get(sk.inet_num);
    if (l) {
      const i = l.indexOf(sk);
      if (i >= 0) l.splice(i, 1);
      if (!l.length) h.lhash.delete(sk.inet_num);
    }
    sk.lhashed = false;
  }
  if (sk.ehashed) inet_ehash_remove(sk.sk_net, sk);
}

// ——— bind buckets ———————————————————————————————————————————————————————————————

function owner_state(o: TcpSock | InetTimewaitSock): number {
  return o instanceof TcpSock ? o.sk_state : TCP_TIME_WAIT;
}
function owner_reuse(o: TcpSock | InetTimewaitSock): number {
  return o instanceof TcpSock ? o.sk_reuse : o.tw_reuse;
}
function owner_reuseport(o: TcpSock | InetTimewaitSock): number {
  return o instanceof TcpSock ? o.sk_reuseport : o.tw_reuseport;
}
function owner_uid(o: TcpSock | InetTimewaitSock): number {
  return o instanceof TcpSock ? o.sk_uid : o.tw_uid;
}
function owner_rcv_saddr(o: TcpSock | InetTimewaitSock): number {
  return o instanceof TcpSock ? o.inet_rcv_saddr : o.tw_rcv_saddr;
}
function owner_dev(o: TcpSock | InetTimewaitSock): number {
  return o instanceof TcpSock ? o.sk_bound_dev_if : o.tw_bound_dev_if;
}

/** inet_bind_conflict(): whether `sk2` keeps `sk` off the port, by the reuse rules alone. */
function inet_bind_conflict(
  sk: TcpSock,
  sk2: TcpSock | InetTimewaitSock,
  relax: boolean,
  reuseport_ok: boolean,
): boolean {
  if (sk === sk2) return false;
  const dev2 = owner_dev(sk2);
  if (sk.sk_bound_dev_if && dev2 && sk.sk_bound_dev_if !== dev2) return false;
  const state2 = owner_state(sk2);
  if (sk.sk_reuse && owner_reuse(sk2) && state2 !== TCP_LISTEN) {
    if (
      !relax ||
      (!reuseport_ok &&
        sk.sk_reuseport &&
        owner_reuseport(sk2) &&
        (state2 === TCP_TIME_WAIT || sk.sk_uid === owner_uid(sk2)))
    )
      return true;
    return false;
  }
  return (
    !reuseport_ok ||
    !sk.sk_reuseport ||
    !owner_reuseport(sk2) ||
    (state2 !== TCP_TIME_WAIT && sk.sk_uid !== owner_uid(sk2))
  );
}

/** inet_rcv_saddr_equal() with a wildcard matching everything. */
function saddr_overlap(a: number, b: number): boolean {
  return !a || !b || a === b;
}

/** inet_csk_bind_conflict(): any owner on an overlapping address in conflict. */
function inet_csk_bind_conflict(
  sk: TcpSock,
  tb: InetBindBucket,
  relax: boolean,
  reuseport_ok: boolean,
): boolean {
  for (const sk2 of tb.owners) {
    if (!saddr_overlap(sk.inet_rcv_saddr, owner_rcv_saddr(sk2))) continue;
    if (inet_bind_conflict(sk, sk2, relax, reuseport_ok)) return true;
  }
  return false;
}

/** inet_bind_bucket_create(). */
function inet_bind_bucket_create(h: InetHashinfo, port: number): InetBindBucket {
  const tb = new InetBindBucket(port);
  h.bhash.set(port, tb);
  return tb;
}

/** inet_csk_update_fastreuse(). */
function inet_csk_update_fastreuse(tb: InetBindBucket, sk: TcpSock): void {
  const reuse = sk.sk_reuse && sk.sk_state !== TCP_LISTEN;
  if (!tb.owners.length) {
    tb.fastreuse = reuse ? 1 : 0;
    tb.fastreuseport = sk.sk_reuseport ? 1 : 0;
  } else {
    if (!reuse) tb.fastreuse = 0;
    if (!sk.sk_reuseport) tb.fastreuseport = 0;
  }
}

/** inet_bind_hash(): `sk` now holds the port of `tb`. */
export function inet_bind_hash(sk: TcpSock, tb: InetBindBucket, port: number): void {
  sk.inet_num = port;
  sk.icsk_bind_hash = tb;
  tb.owners.push(sk);
}

/** inet_put_port(): give the port back (the bucket goes with its last owner). */
export function inet_put_port(sk: TcpSock | InetTimewaitSock): void {
  const tb = (sk instanceof TcpSock ? sk.icsk_bind_hash : sk.tw_tb) as InetBindBucket | null;
  if (!tb) return;
  const i = tb.owners.indexOf(sk);
  if (i >= 0) tb.owners.splice(i, 1);
  if (sk instanceof TcpSock) {
    sk.icsk_bind_hash = null;
    sk.inet_num = 0;
  } else sk.tw_tb = null;
  if (!tb.owners.length) {
    const h = (sk instanceof TcpSock ? sk.sk_net : sk.tw_net).tcp_hashinfo!;
    if (h.bhash.get(tb.port) === tb) h.bhash.delete(tb.port);
  }
}

/** A TIME_WAIT sock takes over the sock's place in its bind bucket (inet_twsk_bind_unhash). */
export function inet_twsk_bind_hash(tw: InetTimewaitSock, sk: TcpSock): void {
  const tb = sk.icsk_bind_hash as InetBindBucket | null;
  if (!tb) return;
  tw.tw_tb = tb;
  tb.owners.push(tw);
}

/**
 * inet_csk_get_port(): take `snum` (0: choose one). Returns 0, or 1 when the port is taken
 * (the caller answers EADDRINUSE).
 */
export function inet_csk_get_port(sk: TcpSock, snum: number): number {
  const net = sk.sk_net;
  const h = tcp_hashinfo(net);
  const reuse = sk.sk_reuse && sk.sk_state !== TCP_LISTEN;
  let tb: InetBindBucket | undefined;
  if (!snum) {
    const found = inet_csk_find_open_port(sk, h);
    if (!found) return 1;
    tb = found;
    snum = tb.port;
  } else {
    tb = h.bhash.get(snum);
    if (tb && tb.owners.length) {
      // A second get_port by the same sock (listen after bind) only re-checks the rules.
      const ok =
        (tb.fastreuse > 0 && reuse) ||
        (tb.fastreuseport > 0 && sk.sk_reuseport && tb.owners.every((o) => owner_uid(o) === sk.sk_uid));
      if (!ok && inet_csk_bind_conflict(sk, tb, true, true)) return 1;
    }
    if (!tb) tb = inet_bind_bucket_create(h, snum);
  }
  inet_csk_update_fastreuse(tb, sk);
  if (sk.icsk_bind_hash !== tb) inet_bind_hash(sk, tb, snum);
  return 0;
}

/**
 * inet_csk_find_open_port(): bind(port 0). Starts at a random odd offset (connect() favours
 * ports of the range's low parity; bind() takes the other half first), two passes.
 */
function inet_csk_find_open_port(sk: TcpSock, h: InetHashinfo): InetBindBucket | null {
  const net = sk.sk_net;
  const [low, high] = inet_get_local_port_range(net);
  const remaining = high - low + 1;
  let offset = net.kernel.prandom.get_random_u32() % remaining;
  offset |= 1;
  for (let pass = 0; pass < 2; pass++) {
    let port = low + offset;
    for (let i = 0; i < remaining; i += 2, port += 2) {
      if (port > high) port -= remaining;
      const tb = h.bhash.get(port);
      if (!tb) return inet_bind_bucket_create(h, port);
      if (!inet_csk_bind_conflict(sk, tb, false, false)) return tb;
    }
    offset--;
  }
  return null;
}

/** INET_TABLE_PERTURB_SIZE: slots of table_perturb (1 << INET_TABLE_PERTURB_SHIFT). */
const INET_TABLE_PERTURB_SIZE = 1 << 16;

/**
 * table_perturb[index]: Linux fills the table with random bytes once (get_random_sleepable_once);
 * here each slot gets its random start when first used, from the kernel's seeded PRNG.
 */
function table_perturb_get(h: InetHashinfo, net: Net, index: number): number {
  let v = h.table_perturb.get(index);
  if (v === undefined) h.table_perturb.set(index, (v = net.kernel.prandom.get_random_u32()));
  return v;
}

/** What __inet_check_established decides for a candidate 4-tuple. */
export type TwUniqueFn = (sk: TcpSock, tw: InetTimewaitSock) => boolean;

/**
 * __inet_check_established(): is the 4-tuple (sk's addresses, lport) free? A TIME_WAIT sock on
 * it may be recycled when `twsk_unique` allows; it is returned for the caller to kill.
 */
function check_established(
  sk: TcpSock,
  lport: number,
  twsk_unique: TwUniqueFn,
): { ok: boolean; tw: InetTimewaitSock | null } {
  const e = __inet_lookup_established(sk.sk_net, sk.inet_daddr, sk.inet_dport, sk.inet_rcv_saddr, lport);
  if (!e) return { ok: true, tw: null };
  if (e instanceof InetTimewaitSock && twsk_unique(sk, e)) return { ok: true, tw: e };
  return { ok: false, tw: null };
}

/**
 * __inet_hash_connect(): pick the local port of an outgoing connection and hash it. A bound
 * socket keeps its port (the 4-tuple must still be unique). Returns 0, -EADDRNOTAVAIL, and
 * hands back a TIME_WAIT sock that was recycled (`kill_tw`) for the caller to finish.
 */
export function inet_hash_connect(
  sk: TcpSock,
  twsk_unique: TwUniqueFn,
  kill_tw: (tw: InetTimewaitSock) => void,
): number {
  const net = sk.sk_net;
  const h = tcp_hashinfo(net);
  if (sk.inet_num) {
    const tb = sk.icsk_bind_hash as InetBindBucket | null;
    const only = tb && tb.owners.length === 1 && tb.owners[0] === sk;
    const r = check_established(sk, sk.inet_num, twsk_unique);
    if (!r.ok) return only ? -99 /* EADDRNOTAVAIL */ : -99;
    if (r.tw) kill_tw(r.tw);
    inet_ehash_insert(net, sk);
    return 0;
  }
  const [low, high] = inet_get_local_port_range(net);
  let remaining = high + 1 - low;
  if (remaining > 1) remaining &= ~1;
  const port_offset = secure_ipv4_port_ephemeral(net, sk.inet_rcv_saddr, sk.inet_daddr, sk.inet_dport);
  // RFC 6056 algorithm 4 ("double-hash"): the search starts at the destination's hash plus a
  // perturbation that moves on after every connection, so a reconnect to the same peer gets
  // another port.
  const index = port_offset & (INET_TABLE_PERTURB_SIZE - 1);
  let offset = ((table_perturb_get(h, net, index) + port_offset) >>> 0) % remaining;
  // In the first pass we try ports of `low`'s parity; inet_csk_get_port() does the opposite.
  offset &= ~1;
  for (let pass = 0; pass < 2; pass++) {
    let port = low + offset;
    for (let i = 0; i < remaining; i += 2, port += 2) {
      if (port > high) port -= remaining;
      let recycled: InetTimewaitSock | null = null;
      let tb = h.bhash.get(port);
      if (tb) {
        // A port bound with bind() is never shared with connect().
        if (tb.fastreuse >= 0 || tb.fastreuseport >= 0) continue;
        const r = check_established(sk, port, twsk_unique);
        if (!r.ok) continue;
        recycled = r.tw;
      } else {
        tb = inet_bind_bucket_create(h, port);
        tb.fastreuse = -1;
        tb.fastreuseport = -1;
      }
      // A little randomness for the next port to this destination: on low contention the
      // step is random, on high contention it is the distance just searched.
      const step = Math.max(i, net.kernel.prandom.get_random_u32_below(8) * 2);
      h.table_perturb.set(index, (table_perturb_get(h, net, index) + step + 2) >>> 0);
      // The new socket takes the port before a recycled TIME_WAIT sock lets go of it, so that
      // the bucket stays in the bind hash (inet_bind_hash, then inet_twsk_bind_unhash).
      inet_bind_hash(sk, tb, port);
      sk.inet_sport = port;
      if (recycled) kill_tw(recycled);
      inet_ehash_insert(net, sk);
      return 0;
    }
    offset++;
  }
  return -99; // EADDRNOTAVAIL
}

/** Every entry of the ehash (for /proc/net/tcp and ss), and the listeners. */
export function inet_ehash_all(net: Net): EhashEntry[] {
  const h = net.tcp_hashinfo;
  if (!h) return [];
  const out: EhashEntry[] = [];
  for (const b of h.ehash.values()) for (const e of b) out.push(e);
  return out;
}
export function inet_listeners(net: Net): TcpSock[] {
  const h = net.tcp_hashinfo;
  if (!h) return [];
  const out: TcpSock[] = [];
  for (const l of h.lhash.values()) out.push(...l);
  return out;
}
/** Bound but neither listening nor hashed (bind() only): for ss -a. */
export function inet_bound_only(net: Net): TcpSock[] {
  const h = net.tcp_hashinfo;
  if (!h) return [];
  const out: TcpSock[] = [];
  for (const tb of h.bhash.values())
    for (const o of tb.owners) if (o instanceof TcpSock && o.sk_state === TCP_CLOSE) out.push(o);
  return out;
}
