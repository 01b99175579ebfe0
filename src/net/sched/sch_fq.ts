// Fair Queue packet scheduler with per-flow pacing (net/sched/sch_fq.c). Packets are sorted into
// flows — one per socket, or per 4-tuple hash for packets without a full socket — and flows are
// served round robin (new flows first) with a byte credit each (DRR), inside three priority
// bands served by weight. A packet leaves no earlier than its time_to_send: the departure time
// its sender stamped on it (skb->tstamp, TCP's EDT model), or now. Packets without a departure
// time are paced by the qdisc itself at min(sk_pacing_rate, maxrate). Flows whose next packet is
// not due wait in the `delayed` set, ordered by time, and the qdisc watchdog — a timer on the
// world clock — runs the device queue again when the first of them is due.
//
// Differences from Linux, none visible in timing: a flow's queue is one list sorted by
// time_to_send (Linux keeps a FIFO plus an rbtree for out-of-order packets, with the same
// dequeue order); flows are found in a Map keyed by socket (Linux: 1024 rbtrees); the hrtimer
// slack (timer_slack) is accepted but the virtual clock fires the watchdog on time.

import { NET_XMIT_DROP, NET_XMIT_SUCCESS, type NetDevice, type Qdisc } from '../core/netdevice.js';
import { kfree_skb, skb_orphan, type SkBuff } from '../core/skbuff.js';
import { qdisc_run } from '../core/dev.js';
import {
  Sock,
  SK_PACING_FQ,
  SK_PACING_UNLIMITED,
  TCP_CLOSE,
  TCP_LISTEN,
  TCP_TIME_WAIT,
} from '../core/sock.js';
import { Timer, NSEC_PER_SEC, NSEC_PER_USEC, NSEC_PER_MSEC } from '../../kernel/time.js';
import * as E from '../../uapi/errno.js';
import { QdiscStats, TC_PRIO_MAX, sch_default_prio2band } from './sch_generic.js';

/** FQ_BANDS: three priority bands, each with its own new/old flow lists. */
export const FQ_BANDS = 3;
/** FQ_MIN_WEIGHT: the smallest band weight accepted. */
export const FQ_MIN_WEIGHT = 16384;
/** FQ_GC_AGE: a flow idle this long may be freed (3 * HZ jiffies). */
const FQ_GC_AGE = 3 * NSEC_PER_SEC;
/** TCP_NEW_SYN_RECV: a request socket (include/net/tcp_states.h). */
const TCP_NEW_SYN_RECV = 12;
/** Sweep for idle flows once the table has grown by this factor since the last sweep. */
const FQ_GC_GROWTH = 2;

/** The settings of `tc qdisc … fq`, in kernel units (ns, bytes, bytes per second). */
export interface FqQopt {
  /** limit: packets in the whole qdisc, per band. */
  limit: number;
  /** flow_limit: packets per flow. */
  flow_limit: number;
  quantum: number;
  initial_quantum: number;
  /** maxrate: bytes per second, per flow; SK_PACING_UNLIMITED when unset. */
  maxrate: number;
  /** pacing / nopacing. */
  rate_enable: boolean;
  /** refill_delay: an idle flow gets a fresh quantum after this long (ns). */
  refill_delay: number;
  low_rate_threshold: number;
  orphan_mask: number;
  buckets_log: number;
  /** ce_threshold in ns: packets sent this late get CE. */
  ce_threshold: number;
  timer_slack: number;
  horizon: number;
  /** horizon_drop / horizon_cap. */
  horizon_drop: boolean;
  /** The band of each TC_PRIO_* value. */
  priomap: Uint8Array;
  /** Band weights in bytes. */
  weights: [number, number, number];
}

/** fq_init(): Linux's defaults for a device of `mtu` (psched_mtu adds the link header). */
export function fq_default_qopt(dev: NetDevice): FqQopt {
  const psched_mtu = dev.mtu + dev.hard_header_len;
  return {
    limit: 10000,
    flow_limit: 100,
    quantum: 2 * psched_mtu,
    initial_quantum: 10 * psched_mtu,
    maxrate: SK_PACING_UNLIMITED,
    rate_enable: true,
    refill_delay: 40 * NSEC_PER_MSEC,
    low_rate_threshold: 550000 / 8,
    orphan_mask: 1024 - 1,
    buckets_log: 10,
    ce_threshold: NSEC_PER_USEC * 0xffffffff,
    timer_slack: 10 * NSEC_PER_USEC,
    horizon: 10 * NSEC_PER_SEC,
    horizon_drop: true,
    priomap: Uint8Array.from(sch_default_prio2band),
    weights: [9 << 16, 3 << 16, 1 << 16],
  };
}

/** struct fq_flow. */
class FqFlow {
  /** Packets, sorted by time_to_send (arrival order among equals). */
  head: SkBuff | null = null;
  tail: SkBuff | null = null;
  qlen = 0;
  credit = 0;
  band = 0;
  /** Next in the new/old list of its band. */
  next: FqFlow | null = null;
  /** Not on any list (fq_flow_set_detached); `age` is when that happened. */
  detached = true;
  age = 0;
  throttled = false;
  time_next_packet = 0;
  constructor(readonly key: Sock | number) {}
}

/** struct fq_flow_head. */
class FqFlowHead {
  first: FqFlow | null = null;
  last: FqFlow | null = null;
}

/** struct fq_perband_flows. */
class FqPerbandFlows {
  readonly new_flows = new FqFlowHead();
  readonly old_flows = new FqFlowHead();
  credit = 0;
  constructor(public quantum: number) {}
}

/** struct tc_fq_qd_stats: what `tc -s qdisc show` prints for fq. */
export class FqXstats {
  gc_flows = 0;
  /** highprio_packets: the fast path queue (q->internal). */
  highprio_packets = 0;
  throttled = 0;
  flows_plimit = 0;
  pkts_too_long = 0;
  allocation_errors = 0;
  ce_mark = 0;
  horizon_drops = 0;
  horizon_caps = 0;
  band_drops = [0, 0, 0];
  unthrottle_latency_ns = 0;
}

/** skb_get_hash(): the hash of an IPv4/IPv6 packet's addresses and ports (skb_get_hash). */
function skb_get_hash(skb: SkBuff): number {
  const h = skb.head;
  const o = skb.network_header;
  if (o < 0) return 0;
  let x = 0x9e3779b9;
  const mix = (v: number): void => {
    x = Math.imul(x ^ v, 0x85ebca6b) >>> 0;
    x = (x ^ (x >>> 13)) >>> 0;
  };
  const version = h[o]! >> 4;
  let proto = 0;
  let l4 = -1;
  if (version === 4) {
    proto = h[o + 9]!;
    for (let i = 12; i < 20; i += 4)
      mix((h[o + i]! << 24) | (h[o + i + 1]! << 16) | (h[o + i + 2]! << 8) | h[o + i + 3]!);
    l4 = o + (h[o]! & 0xf) * 4;
  } else if (version === 6) {
    proto = h[o + 6]!;
    for (let i = 8; i < 40; i += 4)
      mix((h[o + i]! << 24) | (h[o + i + 1]! << 16) | (h[o + i + 2]! << 8) | h[o + i + 3]!);
    l4 = o + 40;
  }
  mix(proto);
  if ((proto === 6 || proto === 17) && l4 >= 0 && l4 + 4 <= skb.tail)
    mix((h[l4]! << 24) | (h[l4 + 1]! << 16) | (h[l4 + 2]! << 8) | h[l4 + 3]!);
  return x;
}

/** INET_ECN_set_ce() for IPv4 (with the header checksum fixed up) and IPv6, when ECN-capable. */
function INET_ECN_set_ce(skb: SkBuff): boolean {
  const h = skb.head;
  const o = skb.network_header;
  if (o < 0) return false;
  const version = h[o]! >> 4;
  if (version === 4) {
    const ecn = h[o + 1]! & 3;
    if (ecn === 0 || ecn === 3) return ecn === 3;
    // IP_ECN_set_ce(): ECT(0) or ECT(1) becomes CE; the checksum is adjusted incrementally.
    const old = (h[o]! << 8) | h[o + 1]!;
    h[o + 1] = h[o + 1]! | 3;
    const nw = (h[o]! << 8) | h[o + 1]!;
    let sum = (~((h[o + 10]! << 8) | h[o + 11]!) & 0xffff) + (~old & 0xffff) + nw;
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    const c = ~sum & 0xffff;
    h[o + 10] = c >>> 8;
    h[o + 11] = c & 0xff;
    return true;
  }
  if (version === 6) {
    const ecn = (h[o + 1]! >> 4) & 3;
    if (ecn === 0 || ecn === 3) return ecn === 3;
    h[o + 1] = h[o + 1]! | 0x30;
    return true;
  }
  return false;
}

/** sk_listener_or_tw() and request sockets: not a flow of their own. */
function fq_orphan_sk(sk: Sock): boolean {
  const s = sk.sk_state;
  return s === TCP_LISTEN || s === TCP_TIME_WAIT || s === TCP_NEW_SYN_RECV;
}

/** struct fq_sched_data, with fq_enqueue / fq_dequeue / fq_reset / fq_change. */
export class FqSchedData implements Qdisc {
  readonly id = 'fq';
  readonly stats = new QdiscStats();
  readonly xstats = new FqXstats();
  /** sch->limit. */
  limit: number;
  flow_plimit: number;
  quantum: number;
  initial_quantum: number;
  flow_refill_delay: number;
  flow_max_rate: number;
  ce_threshold: number;
  horizon: number;
  horizon_drop: boolean;
  orphan_mask: number;
  low_rate_threshold: number;
  rate_enable: boolean;
  fq_trees_log: number;
  timer_slack: number;
  readonly prio2band: Uint8Array;

  private band_nr = 0;
  private readonly band_flows: FqPerbandFlows[];
  /** The fast path queue (q->internal): packets due now while no flow is eligible. */
  private readonly internal = new FqFlow(0);
  /** Throttled flows, by time_next_packet (q->delayed). */
  private readonly delayed: FqFlow[] = [];
  private time_next_delayed_flow = Infinity;
  private readonly band_pkt_count = [0, 0, 0];
  private readonly flow_table = new Map<Sock | number, FqFlow>();
  flows = 0;
  inactive_flows = 0;
  private gc_watermark = 64;
  private n = 0;
  private readonly watchdog: Timer;

  constructor(
    readonly dev: NetDevice,
    opt: FqQopt = fq_default_qopt(dev),
  ) {
    this.limit = opt.limit;
    this.flow_plimit = opt.flow_limit;
    this.quantum = opt.quantum;
    this.initial_quantum = opt.initial_quantum;
    this.flow_refill_delay = opt.refill_delay;
    this.flow_max_rate = opt.maxrate;
    this.ce_threshold = opt.ce_threshold;
    this.horizon = opt.horizon;
    this.horizon_drop = opt.horizon_drop;
    this.orphan_mask = opt.orphan_mask;
    this.low_rate_threshold = opt.low_rate_threshold;
    this.rate_enable = opt.rate_enable;
    this.fq_trees_log = opt.buckets_log;
    this.timer_slack = opt.timer_slack;
    this.prio2band = Uint8Array.from(opt.priomap);
    this.band_flows = opt.weights.map((w) => new FqPerbandFlows(w));
    // qdisc_watchdog: run the device's queue when the first throttled flow is due.
    this.watchdog = new Timer(() => qdisc_run(this.dev));
  }

  get qlen(): number {
    return this.n;
  }

  get throttled_flows(): number {
    return this.delayed.length;
  }

  private now(): number {
    return this.dev.nd_net.kernel.clock.now();
  }

  /** fq_change(): validate everything first, so a bad setting changes nothing (-EINVAL). */
  change(opt: Partial<FqQopt>): number {
    if (opt.buckets_log !== undefined && !(opt.buckets_log >= 1 && opt.buckets_log <= 18)) return -E.EINVAL;
    if (opt.quantum !== undefined && !(opt.quantum > 0 && opt.quantum <= 1 << 20)) return -E.EINVAL;
    if (opt.initial_quantum !== undefined && !(opt.initial_quantum >= 0 && opt.initial_quantum <= 0x7fffffff))
      return -E.EINVAL;
    if (
      opt.priomap !== undefined &&
      (opt.priomap.length !== TC_PRIO_MAX + 1 || opt.priomap.some((b) => b >= FQ_BANDS))
    )
      return -E.EINVAL;
    if (opt.weights !== undefined && opt.weights.some((w) => w < FQ_MIN_WEIGHT)) return -E.EINVAL;
    if (opt.limit !== undefined) this.limit = opt.limit;
    if (opt.flow_limit !== undefined) this.flow_plimit = opt.flow_limit;
    if (opt.quantum !== undefined) this.quantum = opt.quantum;
    if (opt.initial_quantum !== undefined) this.initial_quantum = opt.initial_quantum;
    if (opt.maxrate !== undefined) this.flow_max_rate = opt.maxrate;
    if (opt.low_rate_threshold !== undefined) this.low_rate_threshold = opt.low_rate_threshold;
    if (opt.rate_enable !== undefined) this.rate_enable = opt.rate_enable;
    if (opt.refill_delay !== undefined) this.flow_refill_delay = opt.refill_delay;
    if (opt.priomap !== undefined) this.prio2band.set(opt.priomap);
    if (opt.weights !== undefined) opt.weights.forEach((w, i) => (this.band_flows[i]!.quantum = w));
    if (opt.orphan_mask !== undefined) this.orphan_mask = opt.orphan_mask;
    if (opt.ce_threshold !== undefined) this.ce_threshold = opt.ce_threshold;
    if (opt.timer_slack !== undefined) this.timer_slack = opt.timer_slack;
    if (opt.horizon !== undefined) this.horizon = opt.horizon;
    if (opt.horizon_drop !== undefined) this.horizon_drop = opt.horizon_drop;
    if (opt.buckets_log !== undefined) this.fq_trees_log = opt.buckets_log;
    // A lower limit drops what no longer fits (qdisc_dequeue_internal + rtnl_kfree_skbs).
    while (this.n > this.limit) {
      const skb = this.dequeue_any();
      if (!skb) break;
      this.stats.drops++;
      kfree_skb(skb);
    }
    return 0;
  }

  /** The settings as `tc qdisc show` reads them back (fq_dump). */
  qopt(): FqQopt {
    return {
      limit: this.limit,
      flow_limit: this.flow_plimit,
      quantum: this.quantum,
      initial_quantum: this.initial_quantum,
      maxrate: this.flow_max_rate,
      rate_enable: this.rate_enable,
      refill_delay: this.flow_refill_delay,
      low_rate_threshold: this.low_rate_threshold,
      orphan_mask: this.orphan_mask,
      buckets_log: this.fq_trees_log,
      ce_threshold: this.ce_threshold,
      timer_slack: this.timer_slack,
      horizon: this.horizon,
      horizon_drop: this.horizon_drop,
      priomap: Uint8Array.from(this.prio2band),
      weights: [this.band_flows[0]!.quantum, this.band_flows[1]!.quantum, this.band_flows[2]!.quantum],
    };
  }

  // ——— flows ———————————————————————————————————————————————————————————————————————

  private fq_flow_add_tail(f: FqFlow, new_flow: boolean): void {
    const pband = this.band_flows[f.band]!;
    const head = new_flow ? pband.new_flows : pband.old_flows;
    if (head.first) head.last!.next = f;
    else head.first = f;
    head.last = f;
    f.next = null;
    f.detached = false;
  }

  private fq_flow_set_detached(f: FqFlow): void {
    f.detached = true;
    f.age = this.now();
  }

  /** fq_flow_set_throttled(): into the delayed set, ordered by time_next_packet (ties: arrival). */
  private fq_flow_set_throttled(f: FqFlow): void {
    const d = this.delayed;
    let lo = 0;
    let hi = d.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (f.time_next_packet >= d[mid]!.time_next_packet) lo = mid + 1;
      else hi = mid;
    }
    d.splice(lo, 0, f);
    f.throttled = true;
    f.detached = false;
    this.xstats.throttled++;
    if (this.time_next_delayed_flow > f.time_next_packet) this.time_next_delayed_flow = f.time_next_packet;
  }

  /** fq_check_throttled(): flows whose time has come go back to the old flows list. */
  private fq_check_throttled(now: number): void {
    if (this.time_next_delayed_flow > now) return;
    const sample = now - this.time_next_delayed_flow;
    if (sample > 0) {
      const x = this.xstats;
      x.unthrottle_latency_ns -= Math.floor(x.unthrottle_latency_ns / 8);
      x.unthrottle_latency_ns += Math.floor(sample / 8);
    }
    this.time_next_delayed_flow = Infinity;
    const d = this.delayed;
    let i = 0;
    for (; i < d.length; i++) {
      const f = d[i]!;
      if (f.time_next_packet > now) {
        this.time_next_delayed_flow = f.time_next_packet;
        break;
      }
      f.throttled = false;
      this.fq_flow_add_tail(f, false);
    }
    if (i) d.splice(0, i);
  }

  /** fq_fastpath_check(): a packet due now may skip the flow machinery when nothing else is eligible. */
  private fq_fastpath_check(skb: SkBuff, now: number): boolean {
    if (skb.tc_time_to_send > now) return false;
    if (this.n !== 0) {
      if (this.flows !== this.inactive_flows + this.delayed.length) return false;
      if (this.internal.qlen >= 8) return false;
      if (this.time_next_delayed_flow <= now) return false;
    }
    const sk = skb.sk;
    if (sk && sk.sk_protocol !== 6 && sk.sk_max_pacing_rate !== SK_PACING_UNLIMITED) return false;
    if (this.flow_max_rate !== SK_PACING_UNLIMITED) return false;
    return true;
  }

  /** fq_classify(): the flow of the packet's socket, or of its 4-tuple hash. */
  private fq_classify(skb: SkBuff, now: number): FqFlow {
    let sk = skb.sk;
    let key: Sock | number;
    if (!sk || !(sk instanceof Sock) || fq_orphan_sk(sk)) {
      // Request sockets, listeners (SYN-ACKs, syncookies) and TIME_WAIT: not a flow, not paced.
      key = ((skb_get_hash(skb) & this.orphan_mask) << 1) | 1;
      skb_orphan(skb);
      sk = null;
    } else if (sk.sk_state === TCP_CLOSE) {
      // Unconnected sockets (UDP sendto to many peers): one flow per destination.
      key = ((skb_get_hash(skb) & this.orphan_mask) << 1) | 1;
    } else key = sk;

    if (this.fq_fastpath_check(skb, now)) {
      this.xstats.highprio_packets++;
      if (skb.sk === key && this.rate_enable && sk!.sk_pacing_status !== SK_PACING_FQ)
        sk!.sk_pacing_status = SK_PACING_FQ;
      return this.internal;
    }
    const f = this.flow_table.get(key);
    if (f) return f;
    if (this.flows >= this.gc_watermark) this.fq_gc(now);
    const nf = new FqFlow(key);
    this.fq_flow_set_detached(nf);
    if (skb.sk === key && this.rate_enable) sk!.sk_pacing_status = SK_PACING_FQ;
    nf.credit = this.initial_quantum;
    this.flow_table.set(key, nf);
    this.flows++;
    this.inactive_flows++;
    return nf;
  }

  /** fq_gc(): free flows that have been idle (detached) for FQ_GC_AGE. */
  private fq_gc(now: number): void {
    let freed = 0;
    for (const [k, f] of this.flow_table) {
      if (f.detached && f.qlen === 0 && now - f.age > FQ_GC_AGE) {
        this.flow_table.delete(k);
        freed++;
      }
    }
    this.flows -= freed;
    this.inactive_flows -= freed;
    this.xstats.gc_flows += freed;
    this.gc_watermark = Math.max(64, this.flows * FQ_GC_GROWTH);
  }

  /** flow_queue_add(): keep the flow sorted by time_to_send, arrival order among equals. */
  private flow_queue_add(f: FqFlow, skb: SkBuff): void {
    const t = skb.tc_time_to_send;
    // The last packet due no later than this one (usually the tail: TCP's times only grow).
    let q = f.tail;
    while (q && q.tc_time_to_send > t) q = q.prev;
    skb.prev = q;
    skb.next = q ? q.next : f.head;
    if (skb.next) skb.next.prev = skb;
    else f.tail = skb;
    if (q) q.next = skb;
    else f.head = skb;
  }

  private flow_queue_take(f: FqFlow): SkBuff {
    const skb = f.head!;
    f.head = skb.next;
    if (f.head) f.head.prev = null;
    else f.tail = null;
    skb.next = skb.prev = null;
    return skb;
  }

  // ——— enqueue / dequeue ———————————————————————————————————————————————————————————

  /** fq_enqueue(). */
  enqueue(skb: SkBuff): number {
    const band = this.prio2band[skb.priority & TC_PRIO_MAX]!;
    if (this.band_pkt_count[band]! >= this.limit) {
      this.xstats.band_drops[band]!++;
      return this.drop(skb);
    }
    const now = this.now();
    if (!skb.tstamp) skb.tc_time_to_send = now;
    else {
      // A departure time too far in the future is dropped (or capped).
      if (skb.tstamp > now + this.horizon) {
        if (this.horizon_drop) {
          this.xstats.horizon_drops++;
          return this.drop(skb);
        }
        this.xstats.horizon_caps++;
        skb.tstamp = now + this.horizon;
      }
      skb.tc_time_to_send = skb.tstamp;
    }
    const f = this.fq_classify(skb, now);
    if (f !== this.internal) {
      if (f.qlen >= this.flow_plimit) {
        this.xstats.flows_plimit++;
        return this.drop(skb);
      }
      if (f.detached) {
        this.fq_flow_add_tail(f, true);
        if (now > f.age + this.flow_refill_delay) f.credit = Math.max(f.credit, this.quantum);
      }
      f.band = band;
      this.band_pkt_count[band]!++;
      skb.tc_band = band;
      if (f.qlen === 0) this.inactive_flows--;
    }
    f.qlen++;
    this.flow_queue_add(f, skb);
    this.stats.backlog += skb.len;
    this.n++;
    return NET_XMIT_SUCCESS;
  }

  private drop(skb: SkBuff): number {
    this.stats.drops++;
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }

  private dequeued(f: FqFlow): SkBuff {
    const skb = this.flow_queue_take(f);
    this.stats.backlog -= skb.len;
    this.stats.packets++;
    this.stats.bytes += skb.len;
    this.n--;
    return skb;
  }

  /** fq_pband_head_select(). */
  private static head_select(pband: FqPerbandFlows): FqFlowHead | null {
    if (pband.credit <= 0) return null;
    if (pband.new_flows.first) return pband.new_flows;
    return pband.old_flows.first ? pband.old_flows : null;
  }

  /** fq_dequeue(): the next packet that may leave now, or null with the watchdog armed. */
  dequeue(): SkBuff | null {
    if (!this.n) return null;
    if (this.internal.head) {
      this.internal.qlen--;
      return this.dequeued(this.internal);
    }
    const now = this.now();
    this.fq_check_throttled(now);
    let retry = 0;
    let pband = this.band_flows[this.band_nr]!;
    for (;;) {
      const head = FqSchedData.head_select(pband);
      if (!head) {
        let found = false;
        while (++retry <= FQ_BANDS) {
          if (++this.band_nr === FQ_BANDS) this.band_nr = 0;
          pband = this.band_flows[this.band_nr]!;
          pband.credit = Math.min(pband.credit + pband.quantum, pband.quantum);
          if (pband.credit > 0) {
            found = true;
            break;
          }
          retry = 0;
        }
        if (found) continue;
        if (this.time_next_delayed_flow !== Infinity) {
          // qdisc_watchdog_schedule_range_ns(); the virtual clock needs no slack.
          const clock = this.dev.nd_net.kernel.clock;
          if (!clock.timer_pending(this.watchdog) || this.watchdog.expires !== this.time_next_delayed_flow)
            clock.mod_timer(this.watchdog, this.time_next_delayed_flow);
        }
        return null;
      }
      const f = head.first!;
      retry = 0;
      if (f.credit <= 0) {
        f.credit += this.quantum;
        head.first = f.next;
        this.fq_flow_add_tail(f, false);
        continue;
      }
      const skb = f.head;
      if (!skb) {
        head.first = f.next;
        // A pass through old_flows first, so new flows cannot starve old ones.
        if (head === pband.new_flows) this.fq_flow_add_tail(f, false);
        else this.fq_flow_set_detached(f);
        continue;
      }
      const time_next_packet = Math.max(skb.tc_time_to_send, f.time_next_packet);
      if (now < time_next_packet) {
        head.first = f.next;
        f.time_next_packet = time_next_packet;
        this.fq_flow_set_throttled(f);
        continue;
      }
      this.dequeued(f);
      if (now - time_next_packet - this.ce_threshold > 0) {
        if (INET_ECN_set_ce(skb)) this.xstats.ce_mark++;
      }
      if (--f.qlen === 0) this.inactive_flows++;
      this.band_pkt_count[skb.tc_band]!--;
      const plen0 = skb.len;
      f.credit -= plen0;
      pband.credit -= plen0;
      if (!this.rate_enable) return skb;
      let rate = this.flow_max_rate;
      let plen = plen0;
      // A packet with a departure time moves time_next_packet only under a maxrate.
      if (!skb.tstamp) {
        if (skb.sk) rate = Math.min(skb.sk.sk_pacing_rate, rate);
        if (rate <= this.low_rate_threshold) f.credit = 0;
        else {
          plen = Math.max(plen, this.quantum);
          if (f.credit > 0) return skb;
        }
      }
      if (rate !== SK_PACING_UNLIMITED) {
        let len = rate ? Math.floor((plen * NSEC_PER_SEC) / rate) : plen * NSEC_PER_SEC;
        // The socket's rate may change: never hold a flow more than a second.
        if (len > NSEC_PER_SEC) {
          len = NSEC_PER_SEC;
          this.xstats.pkts_too_long++;
        }
        // Account for schedule/timer drift: a flow that missed its time gets at most half a
        // packet's worth of it back.
        if (f.time_next_packet) len -= Math.min(Math.floor(len / 2), now - f.time_next_packet);
        f.time_next_packet = now + len;
      }
      return skb;
    }
  }

  /** Any queued packet, ignoring time (qdisc_dequeue_internal for fq_change's trimming). */
  private dequeue_any(): SkBuff | null {
    if (this.internal.head) {
      this.internal.qlen--;
      return this.dequeued(this.internal);
    }
    for (const f of this.flow_table.values()) {
      if (!f.head) continue;
      const skb = this.dequeued(f);
      if (--f.qlen === 0) this.inactive_flows++;
      this.band_pkt_count[skb.tc_band]!--;
      return skb;
    }
    return null;
  }

  /** fq_reset(): drop every packet and forget every flow. */
  reset(): void {
    const free = (f: FqFlow): void => {
      while (f.head) kfree_skb(this.flow_queue_take(f));
      f.qlen = 0;
    };
    free(this.internal);
    for (const f of this.flow_table.values()) free(f);
    this.flow_table.clear();
    for (const b of this.band_flows) {
      b.new_flows.first = b.new_flows.last = null;
      b.old_flows.first = b.old_flows.last = null;
    }
    this.delayed.length = 0;
    this.time_next_delayed_flow = Infinity;
    this.band_pkt_count.fill(0);
    this.flows = 0;
    this.inactive_flows = 0;
    this.n = 0;
    this.stats.backlog = 0;
    this.dev.nd_net.kernel.clock.del_timer(this.watchdog);
  }
}
