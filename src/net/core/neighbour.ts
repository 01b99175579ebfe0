// Neighbours (net/core/neighbour.c): the link-layer address behind a next hop, with the
// Neighbour Unreachability Detection state machine of RFC 4861 §7.3 that Linux applies to ARP
// as well (NUD_INCOMPLETE → REACHABLE → STALE → DELAY → PROBE → FAILED), the per-entry
// resolution queue, the per-device parameters (struct neigh_parms) and garbage collection.
//
// Devices without ARP (loopback, IFF_NOARP) need no entry: neigh_xmit builds their header
// directly. The address family (ARP for IPv4, net/ipv4/arp.ts) owns a NeighTable per namespace
// and installs itself with neigh_set_arp_resolver().

import type { NetDevice } from './netdevice.js';
import type { Net } from './net_namespace.js';
import { kfree_skb, netdev_alloc_skb, skb_clone, SkBuffHead, type SkBuff } from './skbuff.js';
import { dev_queue_xmit } from './dev.js';
import { Timer, NSEC_PER_MSEC, NSEC_PER_SEC } from '../../kernel/time.js';
import { ETH_P_IP, IFF_LOOPBACK, IFF_NOARP } from '../../uapi/if.js';
import * as E from '../../uapi/errno.js';

// Neighbour states (include/uapi/linux/neighbour.h).
export const NUD_NONE = 0x00;
export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_DELAY = 0x08;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
/** States with a running timer (include/net/neighbour.h). */
export const NUD_IN_TIMER = NUD_INCOMPLETE | NUD_REACHABLE | NUD_DELAY | NUD_PROBE;
/** States whose link-layer address may be used. */
export const NUD_VALID = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;
/** States whose address is known good without confirmation. */
export const NUD_CONNECTED = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE;

// Entry flags (NTF_*).
export const NTF_USE = 0x01;
export const NTF_PROXY = 0x08;
export const NTF_ROUTER = 0x80;

// neigh_update() flags (NEIGH_UPDATE_F_*).
export const NEIGH_UPDATE_F_OVERRIDE = 0x00000001;
export const NEIGH_UPDATE_F_WEAK_OVERRIDE = 0x00000002;
export const NEIGH_UPDATE_F_OVERRIDE_ISROUTER = 0x00000004;
export const NEIGH_UPDATE_F_ISROUTER = 0x40000000;
export const NEIGH_UPDATE_F_ADMIN = 0x80000000;

/** The names `ip neigh` prints for each state (iproute2 nud_state_n2a). */
export function nud_state_name(state: number): string {
  switch (state) {
    case NUD_NONE:
      return 'NONE';
    case NUD_INCOMPLETE:
      return 'INCOMPLETE';
    case NUD_REACHABLE:
      return 'REACHABLE';
    case NUD_STALE:
      return 'STALE';
    case NUD_DELAY:
      return 'DELAY';
    case NUD_PROBE:
      return 'PROBE';
    case NUD_FAILED:
      return 'FAILED';
    case NUD_NOARP:
      return 'NOARP';
    case NUD_PERMANENT:
      return 'PERMANENT';
    default:
      return `0x${state.toString(16)}`;
  }
}

/** HZ/100 jiffies: the shortest timer interval neigh_timer_handler() allows. */
const NEIGH_MIN_INTERVAL = NSEC_PER_SEC / 100;

/** The per-device knobs (struct neigh_parms; the NEIGH_VAR_* values), times in ns. */
export interface NeighParmsValues {
  mcast_probes: number;
  ucast_probes: number;
  app_probes: number;
  mcast_reprobes: number;
  retrans_time: number;
  base_reachable_time: number;
  delay_probe_time: number;
  interval_probe_time_ms: number;
  gc_staletime: number;
  queue_len_bytes: number;
  proxy_qlen: number;
  anycast_delay: number;
  proxy_delay: number;
  locktime: number;
}

export type NeighVar = keyof NeighParmsValues;

/**
 * struct neigh_parms. A device's parms read the table default for every value not set on the
 * device itself (neigh_copy_dflt_parms / the data_state bitmap), so writing
 * net.ipv4.neigh.default.X changes every device that did not set X.
 */
export class NeighParms {
  /** Values set explicitly on this parms; the rest come from `dflt`. */
  private readonly own: Partial<NeighParmsValues> = {};
  /** reachable_time: base_reachable_time randomized to 0.5–1.5× (neigh_rand_reach_time). */
  reachable_time = 0;
  /** The net time (ns) at which reachable_time was last drawn. */
  reachable_drawn = -1;

  constructor(
    readonly tbl: NeighTable,
    readonly dev: NetDevice | null,
    private readonly dflt: NeighParmsValues,
  ) {}

  /** NEIGH_VAR(). */
  get<K extends NeighVar>(k: K): number {
    const v = this.own[k];
    return v !== undefined ? v : this.dflt[k];
  }

  /** NEIGH_VAR_SET(). */
  set<K extends NeighVar>(k: K, v: number): void {
    if (this.dev) this.own[k] = v;
    else this.dflt[k] = v;
    if (k === 'base_reachable_time') this.reachable_drawn = -1;
  }
}

/** Linux's ARP defaults (arp_tbl.parms in net/ipv4/arp.c), times in ns. */
export function arp_default_parms(): NeighParmsValues {
  return {
    mcast_probes: 3,
    ucast_probes: 3,
    app_probes: 0,
    mcast_reprobes: 0,
    retrans_time: 1 * NSEC_PER_SEC,
    base_reachable_time: 30 * NSEC_PER_SEC,
    delay_probe_time: 5 * NSEC_PER_SEC,
    interval_probe_time_ms: 5 * NSEC_PER_SEC,
    gc_staletime: 60 * NSEC_PER_SEC,
    // SK_WMEM_MAX: 212992 bytes of packets waiting for resolution, per neighbour.
    queue_len_bytes: 212992,
    proxy_qlen: 64,
    anycast_delay: 1 * NSEC_PER_SEC,
    proxy_delay: (8 * NSEC_PER_SEC) / 10,
    locktime: 1 * NSEC_PER_SEC,
  };
}

/** What the family does for the table (struct neigh_ops and the table's constructor). */
export interface NeighFamilyOps {
  /** arp_constructor(): set type, parms, and NOARP state where no resolution is needed. */
  construct(n: Neighbour): number;
  /** arp_solicit(): send a probe; `skb` is a clone of the newest queued packet, or null. */
  solicit(n: Neighbour, skb: SkBuff | null): void;
  /** arp_error_report(): resolution failed for a queued packet; consumes it. */
  error_report(n: Neighbour, skb: SkBuff): void;
}

/** /proc/net/stat/arp_cache (struct neigh_statistics). */
export class NeighStatistics {
  allocs = 0;
  destroys = 0;
  hash_grows = 0;
  res_failed = 0;
  lookups = 0;
  hits = 0;
  rcv_probes_mcast = 0;
  rcv_probes_ucast = 0;
  periodic_gc_runs = 0;
  forced_gc_runs = 0;
  unres_discards = 0;
  table_fulls = 0;
}

/** struct neighbour. */
export class Neighbour {
  /** Hash chain. */
  next: Neighbour | null = null;
  /** gc_list, oldest first. */
  gc_prev: Neighbour | null = null;
  gc_next: Neighbour | null = null;
  nud_state = NUD_NONE;
  flags = 0;
  /** RTN_* of the address (arp_constructor), 0 until set. */
  type = 0;
  dead = false;
  probes = 0;
  /** Link-layer address. */
  readonly ha: Uint8Array;
  readonly arp_queue = new SkBuffHead();
  arp_queue_len_bytes = 0;
  /** Times on the net clock (ns): last confirmation, last state change, last use. */
  confirmed = 0;
  updated = 0;
  used = 0;
  readonly timer: Timer;
  /** Whether output may use `ha` without a check (neigh_connect / neigh_suspect). */
  connected = false;
  parms: NeighParms;

  constructor(
    readonly tbl: NeighTable,
    readonly dev: NetDevice,
    /** The IPv4 address (primary_key), host order. */
    public primary_key: number,
  ) {
    this.ha = new Uint8Array(dev.addr_len);
    this.parms = tbl.parms_of(dev);
    this.timer = new Timer(() => neigh_timer_handler(this));
  }
}

/** Bucket index: a multiplicative hash of address and device (arp_hashfn with hash_rnd). */
function neigh_hash(tbl: NeighTable, key: number, ifindex: number): number {
  return Math.imul((key ^ Math.imul(ifindex, 0x9e3779b1)) >>> 0, tbl.hash_rnd) >>> (32 - tbl.hash_shift);
}

/** struct neigh_table: one family's neighbours in one namespace. */
export class NeighTable {
  /** neigh_hash_table: buckets of singly linked chains. */
  buckets: (Neighbour | null)[];
  hash_shift = 3;
  hash_rnd: number;
  entries = 0;
  /** gc_list: entries subject to forced GC, in the order they were made. */
  gc_first: Neighbour | null = null;
  gc_last: Neighbour | null = null;
  gc_entries = 0;
  gc_thresh1 = 128;
  gc_thresh2 = 512;
  gc_thresh3 = 1024;
  /** gc_interval (ns): how often the periodic GC would run (reported; see neigh_periodic_work). */
  gc_interval = 30 * NSEC_PER_SEC;
  last_flush = 0;
  readonly stats = new NeighStatistics();
  /** tbl->parms: the defaults (net.ipv4.neigh.default.*). */
  readonly default_values: NeighParmsValues;
  readonly parms: NeighParms;
  readonly dev_parms = new Map<NetDevice, NeighParms>();
  readonly gc_timer: Timer;

  constructor(
    readonly net: Net,
    readonly id: string,
    readonly ops: NeighFamilyOps,
  ) {
    this.buckets = new Array<Neighbour | null>(1 << this.hash_shift).fill(null);
    this.hash_rnd = net.kernel.prandom.get_random_u32() | 1;
    this.default_values = arp_default_parms();
    this.parms = new NeighParms(this, null, this.default_values);
    this.gc_timer = new Timer(() => neigh_periodic_work(this));
  }

  /** The parms of a device (neigh_parms_alloc at inetdev_init), made on first use. */
  parms_of(dev: NetDevice): NeighParms {
    let p = this.dev_parms.get(dev);
    if (!p) {
      p = new NeighParms(this, dev, this.default_values);
      this.dev_parms.set(dev, p);
    }
    return p;
  }

  now(): number {
    return this.net.kernel.clock.now();
  }

  /** Every entry, bucket by bucket (neigh_seq iteration order). */
  *[Symbol.iterator](): Generator<Neighbour> {
    for (const head of this.buckets) for (let n = head; n; n = n.next) yield n;
  }
}

/** neigh_rand_reach_time(): a random time in [base/2, 3·base/2). */
function neigh_rand_reach_time(tbl: NeighTable, base: number): number {
  if (!base) return 0;
  const ms = Math.floor(base / NSEC_PER_MSEC);
  return (tbl.net.kernel.prandom.get_random_u32_below(ms) + (ms >> 1)) * NSEC_PER_MSEC;
}

/**
 * parms->reachable_time, redrawn when base_reachable_time changes and every 300 s
 * (neigh_periodic_work does that on a timer; drawing lazily gives the same spread without a
 * timer that would keep virtual time running forever).
 */
export function neigh_reachable_time(p: NeighParms): number {
  const now = p.tbl.now();
  if (p.reachable_drawn < 0 || now - p.reachable_drawn > 300 * NSEC_PER_SEC) {
    p.reachable_time = neigh_rand_reach_time(p.tbl, p.get('base_reachable_time'));
    p.reachable_drawn = now;
  }
  return p.reachable_time;
}

/** __neigh_lookup_noref(). */
export function neigh_lookup(tbl: NeighTable, key: number, dev: NetDevice): Neighbour | null {
  key >>>= 0;
  tbl.stats.lookups++;
  for (let n = tbl.buckets[neigh_hash(tbl, key, dev.ifindex)]; n; n = n.next) {
    if (n.primary_key === key && n.dev === dev) {
      tbl.stats.hits++;
      return n;
    }
  }
  return null;
}

/** neigh_hash_grow(): double the buckets and rehash. */
function neigh_hash_grow(tbl: NeighTable): void {
  tbl.stats.hash_grows++;
  const old = tbl.buckets;
  tbl.hash_shift++;
  tbl.buckets = new Array<Neighbour | null>(1 << tbl.hash_shift).fill(null);
  for (let head of old) {
    while (head) {
      const n: Neighbour = head;
      head = n.next;
      const b = neigh_hash(tbl, n.primary_key, n.dev.ifindex);
      n.next = tbl.buckets[b];
      tbl.buckets[b] = n;
    }
  }
}

function gc_list_add(tbl: NeighTable, n: Neighbour): void {
  n.gc_prev = tbl.gc_last;
  n.gc_next = null;
  if (tbl.gc_last) tbl.gc_last.gc_next = n;
  else tbl.gc_first = n;
  tbl.gc_last = n;
  tbl.gc_entries++;
}

function gc_list_del(tbl: NeighTable, n: Neighbour): void {
  if (n.gc_prev) n.gc_prev.gc_next = n.gc_next;
  else if (tbl.gc_first === n) tbl.gc_first = n.gc_next;
  else return;
  if (n.gc_next) n.gc_next.gc_prev = n.gc_prev;
  else tbl.gc_last = n.gc_prev;
  n.gc_prev = n.gc_next = null;
  tbl.gc_entries--;
}

/**
 * neigh_forced_gc(): the table is over gc_thresh2 (and was not flushed in 5 s) or at gc_thresh3:
 * drop FAILED and NOARP entries and those not updated in the last 5 s, oldest first, until the
 * table is back to gc_thresh2. Returns how many went.
 */
function neigh_forced_gc(tbl: NeighTable): number {
  const max_clean = tbl.gc_entries - tbl.gc_thresh2;
  const now = tbl.now();
  const tref = now - 5 * NSEC_PER_SEC;
  let shrunk = 0;
  tbl.stats.forced_gc_runs++;
  for (let n = tbl.gc_first; n && shrunk < max_clean;) {
    const next: Neighbour | null = n.gc_next;
    if (n.nud_state === NUD_FAILED || n.nud_state === NUD_NOARP || n.updated < tref || n.updated > now) {
      neigh_remove_one(n);
      shrunk++;
    }
    n = next;
  }
  tbl.last_flush = now;
  return shrunk;
}

/**
 * neigh_alloc(): a new entry unless the table is full. Permanent entries are exempt from GC
 * (and from the thresholds).
 */
function neigh_alloc(
  tbl: NeighTable,
  dev: NetDevice,
  key: number,
  exempt_from_gc: boolean,
): Neighbour | null {
  if (!exempt_from_gc) {
    const entries = tbl.gc_entries;
    const now = tbl.now();
    if (entries >= tbl.gc_thresh3 || (entries >= tbl.gc_thresh2 && now > tbl.last_flush + 5 * NSEC_PER_SEC)) {
      if (!neigh_forced_gc(tbl) && entries >= tbl.gc_thresh3) {
        tbl.stats.table_fulls++;
        return null;
      }
    }
  }
  const n = new Neighbour(tbl, dev, key);
  const now = tbl.now();
  n.updated = n.used = now;
  // neigh_alloc(): a new entry counts as long unconfirmed.
  n.confirmed = now - 2 * n.parms.get('base_reachable_time');
  tbl.stats.allocs++;
  return n;
}

/**
 * __neigh_create(): make (or find, if it exists) the entry for `key` on `dev`. Null when the
 * table is full or the family refuses it (no IPv4 on the device).
 */
export function neigh_create(
  tbl: NeighTable,
  key: number,
  dev: NetDevice,
  exempt_from_gc = false,
): Neighbour | null {
  key >>>= 0;
  const found = neigh_lookup(tbl, key, dev);
  if (found) return found;
  const n = neigh_alloc(tbl, dev, key, exempt_from_gc);
  if (!n) return null;
  if (tbl.ops.construct(n) < 0) return null;
  // The constructor may change the key (point-to-point and loopback devices use 0.0.0.0):
  // an entry with the final key wins.
  if (n.primary_key !== key) {
    const n1 = neigh_lookup(tbl, n.primary_key, dev);
    if (n1) return n1;
  }
  if (tbl.entries + 1 > 1 << tbl.hash_shift) neigh_hash_grow(tbl);
  const b = neigh_hash(tbl, n.primary_key, dev.ifindex);
  n.next = tbl.buckets[b];
  tbl.buckets[b] = n;
  tbl.entries++;
  if (!exempt_from_gc && !(n.nud_state & NUD_PERMANENT)) gc_list_add(tbl, n);
  if (n.nud_state & NUD_CONNECTED) n.connected = true;
  if (tbl.entries >= tbl.gc_thresh1) neigh_gc_arm(tbl);
  return n;
}

/** __neigh_lookup(): find, or create when `creat`. */
export function __neigh_lookup(
  tbl: NeighTable,
  key: number,
  dev: NetDevice,
  creat: boolean,
): Neighbour | null {
  const n = neigh_lookup(tbl, key, dev);
  if (n || !creat) return n;
  return neigh_create(tbl, key, dev);
}

/** Unlink an entry from its bucket and the gc list; stop its timer and free its queue. */
function neigh_remove_one(n: Neighbour): void {
  const tbl = n.tbl;
  const b = neigh_hash(tbl, n.primary_key, n.dev.ifindex);
  let prev: Neighbour | null = null;
  for (let p = tbl.buckets[b]; p; prev = p, p = p.next) {
    if (p !== n) continue;
    if (prev) prev.next = n.next;
    else tbl.buckets[b] = n.next;
    tbl.entries--;
    break;
  }
  n.next = null;
  gc_list_del(tbl, n);
  n.dead = true;
  neigh_del_timer(n);
  n.arp_queue.purge();
  n.arp_queue_len_bytes = 0;
  tbl.stats.destroys++;
}

/** neigh_del_timer(). */
function neigh_del_timer(n: Neighbour): void {
  n.tbl.net.kernel.clock.del_timer(n.timer);
}

/** neigh_add_timer(). */
function neigh_add_timer(n: Neighbour, when: number): void {
  n.tbl.net.kernel.clock.mod_timer(n.timer, when);
}

/** neigh_connect(): output may use the address without checking the state. */
function neigh_connect(n: Neighbour): void {
  n.connected = true;
}

/** neigh_suspect(): output goes through neigh_event_send, which restarts resolution as needed. */
function neigh_suspect(n: Neighbour): void {
  n.connected = false;
}

/** neigh_max_probes(). */
function neigh_max_probes(n: Neighbour): number {
  const p = n.parms;
  return (
    p.get('ucast_probes') +
    p.get('app_probes') +
    (n.nud_state & NUD_PROBE ? p.get('mcast_reprobes') : p.get('mcast_probes'))
  );
}

/** neigh_probe(): solicit with a clone of the newest queued packet (its source picks ours). */
function neigh_probe(n: Neighbour): void {
  const last = n.arp_queue.peek_tail();
  const skb = last ? skb_clone(last) : null;
  n.tbl.ops.solicit(n, skb);
  n.probes++;
  if (skb) kfree_skb(skb);
}

/**
 * neigh_invalidate(): resolution failed. Every queued packet is reported to its sender
 * (arp_error_report → ICMP host unreachable), then the queue is emptied.
 */
function neigh_invalidate(n: Neighbour): void {
  n.tbl.stats.res_failed++;
  n.updated = n.tbl.now();
  let skb: SkBuff | null;
  // The report may come back to this very entry (the error goes out through the stack):
  // only report while the entry is still FAILED.
  while (n.nud_state === NUD_FAILED && (skb = n.arp_queue.dequeue())) {
    n.arp_queue_len_bytes -= skb.truesize;
    n.tbl.ops.error_report(n, skb);
  }
  n.arp_queue.purge();
  n.arp_queue_len_bytes = 0;
}

/** neigh_timer_handler(): the NUD state machine's clock. */
function neigh_timer_handler(n: Neighbour): void {
  const state = n.nud_state;
  const now = n.tbl.now();
  const p = n.parms;
  let next = now + NSEC_PER_SEC;
  if (!(state & NUD_IN_TIMER) || n.dead) return;
  if (state & NUD_REACHABLE) {
    if (now <= n.confirmed + neigh_reachable_time(p)) {
      next = n.confirmed + neigh_reachable_time(p);
    } else if (now <= n.used + p.get('delay_probe_time')) {
      n.nud_state = NUD_DELAY;
      n.updated = now;
      neigh_suspect(n);
      next = now + p.get('delay_probe_time');
    } else {
      n.nud_state = NUD_STALE;
      n.updated = now;
      neigh_suspect(n);
    }
  } else if (state & NUD_DELAY) {
    if (now <= n.confirmed + p.get('delay_probe_time')) {
      n.nud_state = NUD_REACHABLE;
      n.updated = now;
      neigh_connect(n);
      next = n.confirmed + neigh_reachable_time(p);
    } else {
      n.nud_state = NUD_PROBE;
      n.updated = now;
      n.probes = 0;
      next = now + Math.max(p.get('retrans_time'), NEIGH_MIN_INTERVAL);
    }
  } else {
    // NUD_PROBE | NUD_INCOMPLETE
    next = now + Math.max(p.get('retrans_time'), NEIGH_MIN_INTERVAL);
  }
  if (n.nud_state & (NUD_INCOMPLETE | NUD_PROBE) && n.probes >= neigh_max_probes(n)) {
    n.nud_state = NUD_FAILED;
    neigh_invalidate(n);
    return;
  }
  if (n.nud_state & NUD_IN_TIMER) {
    if (next < now + NEIGH_MIN_INTERVAL) next = now + NEIGH_MIN_INTERVAL;
    neigh_add_timer(n, next);
  }
  if (n.nud_state & (NUD_INCOMPLETE | NUD_PROBE)) neigh_probe(n);
}

/**
 * __neigh_event_send(): a packet wants to use the entry. Returns 0 when it may go now (the
 * address is usable), 1 when it was queued for resolution or dropped. Starts resolution from
 * NONE/FAILED (INCOMPLETE, first probe at once), and from STALE arms DELAY.
 */
export function neigh_event_send(n: Neighbour, skb: SkBuff | null): number {
  const now = n.tbl.now();
  const p = n.parms;
  n.used = now;
  if (n.nud_state & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE)) return 0;
  if (n.dead) {
    if (n.nud_state & NUD_STALE) return 0;
    if (skb) kfree_skb(skb);
    return 1;
  }
  let immediate_probe = false;
  let rc = 0;
  if (!(n.nud_state & (NUD_STALE | NUD_INCOMPLETE))) {
    if (p.get('mcast_probes') + p.get('app_probes')) {
      n.probes = p.get('ucast_probes');
      neigh_del_timer(n);
      n.nud_state = NUD_INCOMPLETE;
      n.updated = now;
      immediate_probe = true;
      neigh_add_timer(n, now + Math.max(p.get('retrans_time'), NEIGH_MIN_INTERVAL));
    } else {
      n.nud_state = NUD_FAILED;
      n.updated = now;
      if (skb) kfree_skb(skb);
      return 1;
    }
  } else if (n.nud_state & NUD_STALE) {
    neigh_del_timer(n);
    n.nud_state = NUD_DELAY;
    n.updated = now;
    neigh_add_timer(n, now + p.get('delay_probe_time'));
  }
  if (n.nud_state === NUD_INCOMPLETE) {
    if (skb) {
      // The queue holds at most unres_qlen_bytes of packets: the oldest make room.
      const limit = p.get('queue_len_bytes');
      while (n.arp_queue_len_bytes + skb.truesize > limit) {
        const buff = n.arp_queue.dequeue();
        if (!buff) break;
        n.arp_queue_len_bytes -= buff.truesize;
        kfree_skb(buff);
        n.tbl.stats.unres_discards++;
      }
      n.arp_queue.tail(skb);
      n.arp_queue_len_bytes += skb.truesize;
    }
    rc = 1;
  }
  if (immediate_probe) neigh_probe(n);
  return rc;
}

/**
 * __neigh_update(): new information about an entry — an address (or null to keep the known
 * one) and a state. Returns 0 or a negative errno (-EPERM for NOARP/PERMANENT entries without
 * NEIGH_UPDATE_F_ADMIN, -EINVAL when no address is known).
 */
export function neigh_update(n: Neighbour, lladdr: Uint8Array | null, state: number, flags: number): number {
  const dev = n.dev;
  const old = n.nud_state;
  const now = n.tbl.now();
  if (n.dead) return -E.ENOENT;
  if (!(flags & NEIGH_UPDATE_F_ADMIN) && old & (NUD_NOARP | NUD_PERMANENT)) return -E.EPERM;
  // Keep the entry on or off the gc list as a permanent entry is exempt (neigh_update_gc_list).
  if (flags & NEIGH_UPDATE_F_ADMIN) {
    const perm = (state & NUD_PERMANENT) !== 0;
    const on = n.gc_prev !== null || n.tbl.gc_first === n;
    if (perm && on) gc_list_del(n.tbl, n);
    else if (!perm && !on) gc_list_add(n.tbl, n);
  }
  if (!(state & NUD_VALID)) {
    neigh_del_timer(n);
    if (old & NUD_CONNECTED) neigh_suspect(n);
    n.nud_state = state;
    if (old & (NUD_INCOMPLETE | NUD_PROBE) && state & NUD_FAILED) neigh_invalidate(n);
    return 0;
  }
  // Compare the new address with the cached one.
  let use_new: Uint8Array;
  let changed: boolean;
  if (!dev.addr_len) {
    use_new = n.ha;
    changed = false;
  } else if (lladdr) {
    changed = !(old & NUD_VALID) || !bytes_equal(lladdr, n.ha);
    use_new = changed ? lladdr : n.ha;
  } else {
    if (!(old & NUD_VALID)) return -E.EINVAL;
    use_new = n.ha;
    changed = false;
  }
  if (state & NUD_CONNECTED) n.confirmed = now;
  // A valid entry keeps its address unless told to override; STALE for the same address
  // does not demote it.
  if (old & NUD_VALID) {
    if (changed && !(flags & NEIGH_UPDATE_F_OVERRIDE)) {
      if (flags & NEIGH_UPDATE_F_WEAK_OVERRIDE && old & NUD_CONNECTED) {
        use_new = n.ha;
        changed = false;
        state = NUD_STALE;
      } else return 0;
    } else if (!changed && state === NUD_STALE && !(flags & NEIGH_UPDATE_F_ADMIN)) {
      state = old;
    }
  }
  if (state !== old || changed) n.updated = now;
  if (state !== old) {
    neigh_del_timer(n);
    if (state & NUD_PROBE) n.probes = 0;
    if (state & NUD_IN_TIMER)
      neigh_add_timer(n, now + (state & NUD_REACHABLE ? neigh_reachable_time(n.parms) : 0));
    n.nud_state = state;
  }
  if (changed) {
    n.ha.set(use_new.subarray(0, n.ha.length));
    if (!(state & NUD_CONNECTED)) n.confirmed = now - 2 * n.parms.get('base_reachable_time');
  }
  if (state === old) return 0;
  if (state & NUD_CONNECTED) neigh_connect(n);
  else neigh_suspect(n);
  if (!(old & NUD_VALID)) {
    // Resolved: send what waited, oldest first.
    let skb: SkBuff | null;
    while (n.nud_state & NUD_VALID && (skb = n.arp_queue.dequeue())) {
      n.arp_queue_len_bytes -= skb.truesize;
      neigh_output(n, skb);
    }
    n.arp_queue.purge();
    n.arp_queue_len_bytes = 0;
  }
  return 0;
}

function bytes_equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length < b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * neigh_event_ns(): a solicitation from `key` with address `lladdr` reached us; remember the
 * sender as STALE (it is probably about to talk to us).
 */
export function neigh_event_ns(
  tbl: NeighTable,
  lladdr: Uint8Array,
  key: number,
  dev: NetDevice,
): Neighbour | null {
  const n = __neigh_lookup(tbl, key, dev, true);
  if (n) neigh_update(n, lladdr, NUD_STALE, NEIGH_UPDATE_F_OVERRIDE);
  return n;
}

/** neigh_confirm(): an upper layer saw forward progress (TCP ACKs, MSG_CONFIRM). */
export function neigh_confirm(n: Neighbour): void {
  const now = n.tbl.now();
  if (n.confirmed !== now) n.confirmed = now;
}

/** Put the link-layer header in front of the network header; copies when headroom is short. */
function neigh_hard_header(n: Neighbour, skb: SkBuff): SkBuff | null {
  const dev = n.dev;
  skb.data = skb.network_header >= 0 ? skb.network_header : skb.data;
  if (skb.headroom() < dev.hard_header_len) {
    const len = skb.len;
    const c = netdev_alloc_skb(dev.hard_header_len + 16, len);
    c.head.set(skb.head.subarray(skb.data, skb.tail), c.data);
    c.put(len);
    c.network_header = c.data;
    if (skb.transport_header >= 0) c.transport_header = c.data + (skb.transport_header - skb.data);
    c.dst = skb.dst;
    c.dev = skb.dev;
    c.protocol = skb.protocol;
    c.priority = skb.priority;
    c.mark = skb.mark;
    c.ip_summed = skb.ip_summed;
    c.sk = skb.sk;
    c.destructor = skb.destructor;
    c.truesize = skb.truesize;
    skb.destructor = null;
    kfree_skb(skb);
    skb = c;
  }
  skb.dev = dev;
  if (dev.header_ops && dev.header_ops.create(skb, dev, skb.protocol, n.ha, null) < 0) {
    kfree_skb(skb);
    return null;
  }
  return skb;
}

/** neigh_connected_output(): the address is good; build the header and send. */
function neigh_connected_output(n: Neighbour, skb: SkBuff): number {
  const s = neigh_hard_header(n, skb);
  if (!s) return -E.EINVAL;
  return dev_queue_xmit(s);
}

/**
 * neigh_resolve_output(): check the entry first (neigh_event_send may queue the packet for
 * resolution, which is success to the sender), then send.
 */
function neigh_resolve_output(n: Neighbour, skb: SkBuff): number {
  if (neigh_event_send(n, skb)) return 0;
  return neigh_connected_output(n, skb);
}

/** neigh_output(): n->output. */
export function neigh_output(n: Neighbour, skb: SkBuff): number {
  if (n.connected) return neigh_connected_output(n, skb);
  return neigh_resolve_output(n, skb);
}

/**
 * neigh_flush_dev() (neigh_ifdown / neigh_changeaddr / neigh_carrier_down): forget the entries
 * of `dev` (all devices when null). Permanent entries stay when skip_perm.
 */
export function neigh_flush_dev(tbl: NeighTable, dev: NetDevice | null, skip_perm: boolean): void {
  for (let b = 0; b < tbl.buckets.length; b++) {
    let n = tbl.buckets[b];
    while (n) {
      const next: Neighbour | null = n.next;
      if ((!dev || n.dev === dev) && !(skip_perm && n.nud_state & NUD_PERMANENT)) neigh_remove_one(n);
      n = next;
    }
  }
  if (tbl.entries < tbl.gc_thresh1) tbl.net.kernel.clock.del_timer(tbl.gc_timer);
}

/** neigh_remove(): delete one entry (`ip neigh del`). */
export function neigh_remove(n: Neighbour): void {
  neigh_remove_one(n);
}

/** Arm the periodic GC while the table is big enough for it to matter (gc_thresh1). */
function neigh_gc_arm(tbl: NeighTable): void {
  const clock = tbl.net.kernel.clock;
  if (!clock.timer_pending(tbl.gc_timer))
    clock.mod_timer(tbl.gc_timer, tbl.now() + tbl.parms.get('base_reachable_time') / 2);
}

/**
 * neigh_periodic_work(): every base_reachable_time/2, drop entries FAILED or unused for
 * gc_stale_time. Linux does nothing while the table holds fewer than gc_thresh1 entries, so
 * the timer is only armed at that size (and virtual time is not kept running by an idle table).
 */
function neigh_periodic_work(tbl: NeighTable): void {
  tbl.stats.periodic_gc_runs++;
  if (tbl.entries < tbl.gc_thresh1) return;
  const now = tbl.now();
  for (let b = 0; b < tbl.buckets.length; b++) {
    let n = tbl.buckets[b];
    while (n) {
      const next: Neighbour | null = n.next;
      const state = n.nud_state;
      if (!(state & (NUD_PERMANENT | NUD_IN_TIMER))) {
        if (n.used < n.confirmed && n.confirmed <= now) n.used = n.confirmed;
        if (state === NUD_FAILED || !(now >= n.used && now < n.used + n.parms.get('gc_staletime')))
          neigh_remove_one(n);
      }
      n = next;
    }
  }
  if (tbl.entries >= tbl.gc_thresh1) neigh_gc_arm(tbl);
}

/** How a family resolves next hops on devices that need it (ARP for IPv4). */
export interface NeighResolver {
  /** Send `skb` (network header built) to `nexthop` on `dev`, resolving it first if needed. */
  output(dev: NetDevice, nexthop: number, skb: SkBuff): number;
}

let arp_resolver: NeighResolver | null = null;

/** Installed by the ARP module at load. */
export function neigh_set_arp_resolver(r: NeighResolver): void {
  arp_resolver = r;
}

/**
 * neigh_xmit(): send an IPv4 packet to `nexthop` on `dev`. Loopback and NOARP devices build the
 * header directly (neigh_direct_output); others go through ARP.
 */
export function neigh_xmit(dev: NetDevice, nexthop: number, skb: SkBuff): number {
  skb.dev = dev;
  skb.protocol = ETH_P_IP;
  if (dev.flags & (IFF_LOOPBACK | IFF_NOARP) || !dev.header_ops) {
    if (dev.header_ops) dev.header_ops.create(skb, dev, ETH_P_IP, null, null);
    return dev_queue_xmit(skb);
  }
  if (!arp_resolver) {
    kfree_skb(skb);
    return -E.EHOSTUNREACH;
  }
  return arp_resolver.output(dev, nexthop, skb);
}
