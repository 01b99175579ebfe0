// Network emulator (net/sched/sch_netem.c): a queue discipline that delays, drops, duplicates,
// reorders, corrupts and rate-limits what a device sends. It keeps Linux's model: every packet
// gets a time_to_send when it is enqueued (latency ± jitter from a distribution table, plus its
// serialisation time at `rate` behind the packets already queued), waits in a time-ordered
// queue (tfifo) and is released by a watchdog timer on the world clock. Probabilities are u32
// fractions of 2^32 - 1, as tc passes them, compared against a correlated random stream
// (get_crandom). The random stream is the qdisc's own, forked from the host's (Linux seeds
// q->prng from get_random_u64(), or from TCA_NETEM_PRNG_SEED), so the fate of a link's packets
// depends only on the seed and the packets it carries.
//
// usernet adds one switch Linux does not have: `partition` drops everything while on, including
// what is already in flight on the link (a cut cable), and can be switched off again.

import { NET_XMIT_DROP, NET_XMIT_SUCCESS, type NetDevice, type Qdisc } from '../core/netdevice.js';
import { CHECKSUM_NONE, SkBuffHead, kfree_skb, skb_clone, skb_unshare, type SkBuff } from '../core/skbuff.js';
import { qdisc_run } from '../core/dev.js';
import { Timer } from '../../kernel/time.js';
import { Prandom } from '../../kernel/random.js';
import * as E from '../../uapi/errno.js';
import { QdiscStats } from './sch_generic.js';
import { INET_ECN_set_ce } from '../ipv4/inet_ecn.js';

/** NETEM_DIST_SCALE: distribution table entries are in units of sigma / 8192. */
export const NETEM_DIST_SCALE = 8192;
/** A probability of 1 (tc's max_percent_value). */
export const NETEM_PROB_MAX = 0xffffffff;

/** Gilbert-Elliott with tc's `loss gemodel p [r [1-h [1-k]]]`, as the kernel holds it. */
export interface NetemGeModel {
  kind: 'gemodel';
  /** Good → bad transition probability. */
  p: number;
  /** Bad → good transition probability. */
  r: number;
  /** Probability a packet gets through in the bad state (tc's 1-h, turned around). */
  h: number;
  /** Loss probability in the good state (tc's 1-k). */
  k1: number;
}

/** The 4-state Markov model of tc's `loss state p13 [p31 [p32 [p23 [p14]]]]`. */
export interface NetemStateModel {
  kind: 'state';
  p13: number;
  p31: number;
  p32: number;
  p23: number;
  p14: number;
}

export type NetemDist = 'uniform' | 'normal' | 'pareto';

/**
 * struct tc_netem_qopt with the TCA_NETEM_* attributes, in kernel units: times in ns,
 * probabilities and correlations in u32 (NETEM_PROB_MAX = 1), rate in bytes per second.
 */
export interface NetemQopt {
  latency: number;
  jitter: number;
  /** Packets the qdisc holds before it tail-drops (tc default 1000). */
  limit: number;
  loss: number;
  /** Reorder: every packet after `gap - 1` in-order ones may go out at once. */
  gap: number;
  duplicate: number;
  reorder: number;
  corrupt: number;
  delay_corr: number;
  loss_corr: number;
  dup_corr: number;
  reorder_corr: number;
  corrupt_corr: number;
  /** Bytes per second; 0 = unlimited. */
  rate: number;
  packet_overhead: number;
  cell_size: number;
  cell_overhead: number;
  /** null: random loss with `loss` / `loss_corr`. */
  loss_model: NetemGeModel | NetemStateModel | null;
  delay_dist: NetemDist;
  /** TCA_NETEM_PRNG_SEED; absent: forked from the host's generator. */
  seed?: number;
  /** usernet: drop everything, in flight too, until switched off. */
  partition: boolean;
  /** TCA_NETEM_ECN: a loss event marks an ECN-capable packet CE instead of dropping it. */
  ecn: boolean;
}

/** The options of a fresh `tc qdisc add … netem` (everything off, limit 1000). */
export function netem_default_qopt(): NetemQopt {
  return {
    latency: 0,
    jitter: 0,
    limit: 1000,
    loss: 0,
    gap: 0,
    duplicate: 0,
    reorder: 0,
    corrupt: 0,
    delay_corr: 0,
    loss_corr: 0,
    dup_corr: 0,
    reorder_corr: 0,
    corrupt_corr: 0,
    rate: 0,
    packet_overhead: 0,
    cell_size: 0,
    cell_overhead: 0,
    loss_model: null,
    delay_dist: 'uniform',
    partition: false,
    ecn: false,
  };
}

/** struct crndstate: correlated random numbers. */
class CrndState {
  last = 0;
  rho = 0;
}

/** Loss generator states (enum GOOD_STATE… / TX_IN_GAP_PERIOD…). */
const TX_IN_GAP_PERIOD = 1;
const TX_IN_BURST_PERIOD = 2;
const LOST_IN_GAP_PERIOD = 3;
const LOST_IN_BURST_PERIOD = 4;
const GOOD_STATE = 1;
const BAD_STATE = 2;

const CLG_RANDOM = 0;
const CLG_4_STATES = 1;
const CLG_GILB_ELL = 2;

/** Why packets were dropped or altered: usernet's breakdown of the qdisc's `drops`. */
export class NetemXstats {
  loss = 0;
  /** Loss events that marked CE instead (netem counts them in `drops` too). */
  ecn_marked = 0;
  limit = 0;
  partition = 0;
  duplicated = 0;
  corrupted = 0;
  reordered = 0;
}

/** struct netem_sched_data. */
export class NetemSchedData implements Qdisc {
  readonly id = 'netem';
  readonly stats = new QdiscStats();
  readonly xstats = new NetemXstats();
  /** sch->q: packets sent at once by reordering, ahead of the tfifo. */
  private readonly q = new SkBuffHead();
  /** The time-ordered queue (t_root + t_head/t_tail); skb->tstamp holds time_to_send. */
  private readonly tfifo = new SkBuffHead();
  private readonly watchdog: Timer;
  private prng: Prandom;
  private prng_seed: number | undefined;

  latency = 0;
  jitter = 0;
  limit = 1000;
  loss = 0;
  gap = 0;
  counter = 0;
  duplicate = 0;
  reorder = 0;
  corrupt = 0;
  rate = 0;
  packet_overhead = 0;
  cell_size = 0;
  cell_overhead = 0;
  partition = false;
  ecn = false;
  loss_model = CLG_RANDOM;
  delay_dist: Int16Array | null = null;
  private readonly delay_cor = new CrndState();
  private readonly loss_cor = new CrndState();
  private readonly dup_cor = new CrndState();
  private readonly reorder_cor = new CrndState();
  private readonly corrupt_cor = new CrndState();
  /** struct clgstate: the loss model's state and its transition probabilities a1…a5. */
  private readonly clg = { state: 0, a1: 0, a2: 0, a3: 0, a4: 0, a5: 0 };
  private clg_key = '';

  constructor(readonly dev: NetDevice) {
    this.prng = dev.nd_net.kernel.prandom.fork();
    this.watchdog = new Timer(() => qdisc_run(this.dev));
  }

  get qlen(): number {
    return this.q.qlen + this.tfifo.qlen;
  }

  /** netem_enqueue(). */
  enqueue(skb: SkBuff): number {
    if (this.partition) {
      this.xstats.partition++;
      this.stats.drops++;
      kfree_skb(skb);
      return NET_XMIT_SUCCESS;
    }
    let count = 1;
    // Random duplication.
    if (this.duplicate && this.duplicate >= this.get_crandom(this.dup_cor)) ++count;
    // Drop packet? (loss_event) With `ecn`, an ECN-capable packet is marked CE instead; Linux
    // counts the mark as a drop in the qdisc's statistics all the same.
    if (this.loss_event()) {
      if (this.ecn && INET_ECN_set_ce(skb)) {
        this.xstats.ecn_marked++;
        this.stats.drops++;
      } else --count;
    }
    if (count === 0) {
      this.xstats.loss++;
      this.stats.drops++;
      kfree_skb(skb);
      // NET_XMIT_SUCCESS | __NET_XMIT_BYPASS: the sender is not told about emulated loss.
      return NET_XMIT_SUCCESS;
    }
    // A delayed packet no longer holds its sender's buffer (skb_orphan_partial): the link,
    // not the socket, is where it waits.
    if (this.latency || this.jitter || this.rate) skb_orphan(skb);
    // Clone the duplicate before the original may be corrupted.
    let skb2: SkBuff | null = count > 1 ? skb_clone(skb) : null;
    if (this.corrupt && this.corrupt >= this.get_crandom(this.corrupt_cor)) {
      skb = skb_unshare(skb);
      const len = skb.len;
      if (len > 0) {
        skb.head[skb.data + this.prng.get_random_u32_below(len)] ^= 1 << this.prng.get_random_u32_below(8);
        this.xstats.corrupted++;
      }
      // skb_checksum_help() runs before the damage in Linux, so whatever the sender planned
      // for the checksum, the receiver must now verify it.
      skb.ip_summed = CHECKSUM_NONE;
    }
    if (this.qlen >= this.limit) {
      this.xstats.limit++;
      this.stats.drops++;
      kfree_skb(skb);
      if (skb2) kfree_skb(skb2);
      return NET_XMIT_DROP;
    }
    // The duplicate goes in at the root, through the whole qdisc again, but is not duplicated
    // again itself.
    if (skb2) {
      const rootq = this.dev.qdisc ?? this;
      const dupsave = this.duplicate;
      this.duplicate = 0;
      this.xstats.duplicated++;
      rootq.enqueue(skb2, this.dev);
      this.duplicate = dupsave;
      skb2 = null;
    }
    this.stats.backlog += skb.len;
    const clock = this.dev.nd_net.kernel.clock;
    if (
      this.gap === 0 || // not doing reordering
      this.counter < this.gap - 1 || // inside last reordering gap
      this.reorder < this.get_crandom(this.reorder_cor)
    ) {
      let now = clock.now();
      let delay = this.tabledist(this.latency, this.jitter, this.delay_cor);
      if (this.rate) {
        // The last packet queued is the reference point: this one is serialised after it.
        let last = -Infinity;
        if (this.q.last) last = this.q.last.tstamp;
        if (this.tfifo.last && this.tfifo.last.tstamp > last) last = this.tfifo.last.tstamp;
        if (last !== -Infinity) {
          delay -= last - now;
          delay = Math.max(0, delay);
          now = last;
        }
        delay += this.packet_time_ns(skb.len);
      }
      skb.tstamp = now + delay;
      ++this.counter;
      this.tfifo_enqueue(skb);
    } else {
      // Reordering: put this one at the front, to leave now.
      skb.tstamp = clock.now();
      this.counter = 0;
      this.q.head(skb);
      this.stats.requeues++;
      this.xstats.reordered++;
    }
    return NET_XMIT_SUCCESS;
  }

  /** netem_dequeue(): what is due now; otherwise arm the watchdog for the next deadline. */
  dequeue(): SkBuff | null {
    let skb = this.q.dequeue();
    if (skb) return this.deliver(skb);
    skb = this.tfifo.first;
    if (!skb) return null;
    const clock = this.dev.nd_net.kernel.clock;
    const now = clock.now();
    if (skb.tstamp <= now) {
      this.tfifo.unlink(skb);
      return this.deliver(skb);
    }
    // qdisc_watchdog_schedule_ns()
    if (!clock.timer_pending(this.watchdog) || this.watchdog.expires !== skb.tstamp)
      clock.mod_timer(this.watchdog, skb.tstamp);
    return null;
  }

  /** netem_reset(). */
  reset(): void {
    this.q.purge();
    this.tfifo.purge();
    this.stats.backlog = 0;
    this.dev.nd_net.kernel.clock.del_timer(this.watchdog);
  }

  /**
   * netem_change(): new parameters, for packets enqueued from now on (those queued keep their
   * time_to_send). Returns 0 or -EINVAL.
   */
  change(opt: NetemQopt): number {
    const bad =
      !(opt.limit >= 0) ||
      !(opt.latency >= 0) ||
      !(opt.jitter >= 0) ||
      !(opt.rate >= 0) ||
      !(opt.gap >= 0) ||
      !(opt.cell_size >= 0) ||
      !Number.isFinite(opt.latency) ||
      !Number.isFinite(opt.jitter);
    if (bad) return -E.EINVAL;
    const m = opt.loss_model;
    this.latency = Math.round(opt.latency);
    // Capped to the range tabledist() takes (an s32 of ns), as netem_change does.
    this.jitter = Math.min(Math.round(opt.jitter), 0x7fffffff);
    this.limit = Math.floor(opt.limit);
    this.gap = Math.floor(opt.gap);
    this.counter = 0;
    this.loss = u32(opt.loss);
    this.duplicate = u32(opt.duplicate);
    this.corrupt = u32(opt.corrupt);
    // For compatibility with earlier versions: a gap alone means reorder 100%.
    this.reorder = this.gap && !opt.reorder ? NETEM_PROB_MAX : u32(opt.reorder);
    this.delay_cor.rho = u32(opt.delay_corr);
    this.loss_cor.rho = u32(opt.loss_corr);
    this.dup_cor.rho = u32(opt.dup_corr);
    this.reorder_cor.rho = u32(opt.reorder_corr);
    this.corrupt_cor.rho = u32(opt.corrupt_corr);
    this.rate = opt.rate;
    this.packet_overhead = Math.trunc(opt.packet_overhead);
    this.cell_size = Math.floor(opt.cell_size);
    this.cell_overhead = Math.trunc(opt.cell_overhead);
    this.ecn = !!opt.ecn;
    this.delay_dist = opt.delay_dist === 'uniform' ? null : dist_table(opt.delay_dist);
    // A new seed restarts the stream; the same seed given again (a change of other options)
    // leaves it running.
    if (opt.seed !== undefined && opt.seed !== this.prng_seed) {
      this.prng = new Prandom(opt.seed);
      this.prng_seed = opt.seed;
    }
    // get_loss_clg() restarts the model's state whenever tc passes a model; a link's set() passes
    // its whole configuration each time, so here it restarts only when the model changes.
    const key = m ? JSON.stringify(m) : '';
    if (!m) this.loss_model = CLG_RANDOM;
    else if (m.kind === 'gemodel') {
      this.loss_model = CLG_GILB_ELL;
      this.clg.a1 = u32(m.p);
      this.clg.a2 = u32(m.r);
      this.clg.a3 = u32(m.h);
      this.clg.a4 = u32(m.k1);
      if (key !== this.clg_key) this.clg.state = GOOD_STATE;
    } else {
      this.loss_model = CLG_4_STATES;
      this.clg.a1 = u32(m.p13);
      this.clg.a2 = u32(m.p31);
      this.clg.a3 = u32(m.p32);
      this.clg.a4 = u32(m.p14);
      this.clg.a5 = u32(m.p23);
      if (key !== this.clg_key) this.clg.state = TX_IN_GAP_PERIOD;
    }
    this.clg_key = key;
    if (opt.partition && !this.partition) {
      // The cable is cut: what is on it is lost.
      const n = this.qlen;
      this.reset();
      this.xstats.partition += n;
      this.stats.drops += n;
    }
    this.partition = opt.partition;
    return 0;
  }

  private deliver(skb: SkBuff): SkBuff {
    skb.tstamp = this.dev.nd_net.kernel.clock.now();
    skb.dev = this.dev;
    this.stats.backlog -= skb.len;
    this.stats.packets++;
    this.stats.bytes += skb.len;
    return skb;
  }

  /** tfifo_enqueue(): keep the queue ordered by time_to_send; equal times keep arrival order. */
  private tfifo_enqueue(skb: SkBuff): void {
    const list = this.tfifo;
    const t = skb.tstamp;
    let p = list.last;
    if (!p || t >= p.tstamp) {
      list.tail(skb);
      return;
    }
    while (p && p.tstamp > t) p = p.prev;
    if (!p) {
      list.head(skb);
      return;
    }
    const n = p.next!;
    skb.list = list;
    skb.prev = p;
    skb.next = n;
    n.prev = skb;
    p.next = skb;
    list.qlen++;
  }

  /** get_crandom(): the next random u32, correlated with the last one by rho. */
  private get_crandom(state: CrndState): number {
    const value = this.prng.get_random_u32();
    if (state.rho === 0) return value;
    const rho = state.rho + 1;
    const answer = Math.floor((value * (0x1_0000_0000 - rho) + state.last * rho) / 0x1_0000_0000);
    state.last = answer;
    return answer;
  }

  /** loss_event(). */
  private loss_event(): boolean {
    switch (this.loss_model) {
      case CLG_RANDOM:
        // Random packet drop: 0 => none, ~0 => all.
        return this.loss !== 0 && this.loss >= this.get_crandom(this.loss_cor);
      case CLG_4_STATES:
        return this.loss_4state();
      default:
        return this.loss_gilb_ell();
    }
  }

  /**
   * loss_4state(): the next state from one random number against the transition probabilities
   * leaving the current one; the state reached says whether this packet is lost.
   */
  private loss_4state(): boolean {
    const clg = this.clg;
    const rnd = this.prng.get_random_u32();
    switch (clg.state) {
      case TX_IN_GAP_PERIOD:
        if (rnd < clg.a4) {
          clg.state = LOST_IN_GAP_PERIOD;
          return true;
        } else if (rnd < clg.a1 + clg.a4) {
          clg.state = LOST_IN_BURST_PERIOD;
          return true;
        } else {
          clg.state = TX_IN_GAP_PERIOD;
        }
        break;
      case TX_IN_BURST_PERIOD:
        if (rnd < clg.a5) {
          clg.state = LOST_IN_BURST_PERIOD;
          return true;
        }
        clg.state = TX_IN_BURST_PERIOD;
        break;
      case LOST_IN_BURST_PERIOD:
        if (rnd < clg.a3) clg.state = TX_IN_BURST_PERIOD;
        else if (rnd < clg.a2 + clg.a3) clg.state = TX_IN_GAP_PERIOD;
        else {
          clg.state = LOST_IN_BURST_PERIOD;
          return true;
        }
        break;
      case LOST_IN_GAP_PERIOD:
        clg.state = TX_IN_GAP_PERIOD;
        break;
    }
    return false;
  }

  /**
   * loss_gilb_ell(): one random number decides the transition out of the current state, a
   * second whether this packet is lost in the state reached.
   */
  private loss_gilb_ell(): boolean {
    const clg = this.clg;
    switch (clg.state) {
      case GOOD_STATE:
        if (this.prng.get_random_u32() < clg.a1) clg.state = BAD_STATE;
        if (this.prng.get_random_u32() < clg.a4) return true;
        break;
      case BAD_STATE:
        if (this.prng.get_random_u32() < clg.a2) clg.state = GOOD_STATE;
        if (this.prng.get_random_u32() > clg.a3) return true;
        break;
    }
    return false;
  }

  /**
   * tabledist(): mu ± sigma. Without a table the spread is uniform over [mu - sigma, mu + sigma);
   * with one, an entry scaled by sigma / NETEM_DIST_SCALE.
   */
  private tabledist(mu: number, sigma: number, state: CrndState): number {
    if (sigma === 0) return mu;
    const rnd = this.get_crandom(state);
    const dist = this.delay_dist;
    if (!dist) return (rnd % (2 * sigma)) + mu - sigma;
    const t = dist[rnd % dist.length];
    let x = (sigma % NETEM_DIST_SCALE) * t;
    if (x >= 0) x += NETEM_DIST_SCALE / 2;
    else x -= NETEM_DIST_SCALE / 2;
    return Math.trunc(x / NETEM_DIST_SCALE) + Math.trunc(sigma / NETEM_DIST_SCALE) * t + mu;
  }

  /** packet_time_ns(): how long `len` bytes (plus overhead, in cells if set) take at `rate`. */
  private packet_time_ns(len: number): number {
    len += this.packet_overhead;
    if (this.cell_size) {
      let cells = Math.floor(len / this.cell_size);
      if (len > cells * this.cell_size) cells++; // an extra cell for the remainder
      len = cells * (this.cell_size + this.cell_overhead);
    }
    return Math.floor((len * 1e9) / this.rate);
  }
}

/** skb_orphan(): release the packet from its socket's accounting now. */
function skb_orphan(skb: SkBuff): void {
  if (skb.destructor) {
    const d = skb.destructor;
    skb.destructor = null;
    d(skb);
  }
  skb.sk = null;
}

function u32(p: number): number {
  if (!(p > 0)) return 0;
  return p >= NETEM_PROB_MAX ? NETEM_PROB_MAX : Math.floor(p);
}

/**
 * netem_init() + netem_change(): a netem qdisc on `dev` with `opt`. Attach it with
 * dev_graft_qdisc(). Returns the qdisc or -EINVAL.
 */
export function netem_create(dev: NetDevice, opt: NetemQopt = netem_default_qopt()): NetemSchedData | number {
  const q = new NetemSchedData(dev);
  const err = q.change(opt);
  return err < 0 ? err : q;
}

// The distribution tables iproute2 ships (/usr/lib/tc/*.dist), computed as its generators
// (normal.c, pareto.c) compute them — entry for entry the same as the shipped files: 4096
// deviations in units of sigma / NETEM_DIST_SCALE, clamped to s16.
const dist_cache = new Map<NetemDist, Int16Array>();
const TABLESIZE = 16384;

function dist_table(name: NetemDist): Int16Array {
  let t = dist_cache.get(name);
  if (t) return t;
  t = new Int16Array(4096);
  if (name === 'normal') {
    // normal.c: for x over [-10, 10.05) by .00005, table[rint(TABLESIZE Φ(x))] = x; keep every
    // 4th entry.
    const table = new Float64Array(TABLESIZE + 1);
    for (let x = -10.0; x < 10.05; x += 0.00005)
      table[rint(TABLESIZE * (0.5 + 0.5 * erf(x / Math.sqrt(2.0))))] = x;
    for (let i = 0, n = 0; i < TABLESIZE; i += 4, n++) t[n] = clamp_s16(rint(table[i] * NETEM_DIST_SCALE));
  } else {
    // pareto.c: a = 3; for i = 65536 down by 16: (1 / (i/65536)^(1/a) - 1.5) · 4/3 · scale.
    for (let i = 65536, n = 0; i > 0; i -= 16, n++) {
      const d = 1.0 / Math.pow(i / 65536, 1.0 / 3.0);
      t[n] = clamp_s16(rint((d - 1.5) * (4.0 / 3.0) * NETEM_DIST_SCALE));
    }
  }
  dist_cache.set(name, t);
  return t;
}

function clamp_s16(v: number): number {
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

/** C's rint(): to nearest, ties to even. */
function rint(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** erf(): its Taylor series near 0, 1 - erfc from the continued fraction further out. */
function erf(z: number): number {
  const a = Math.abs(z);
  let r: number;
  if (a < 2.5) {
    const z2 = a * a;
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n++) {
      term *= -z2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    r = (sum * 2) / Math.sqrt(Math.PI);
  } else {
    // Lentz's method for erfc(a) = exp(-a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + …)))).
    let f = a;
    let C = a;
    let D = 0;
    for (let n = 1; n < 500; n++) {
      const an = n / 2;
      D = a + an * D;
      C = a + an / C;
      D = 1 / D;
      const delta = C * D;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  }
  return z < 0 ? -r : r;
}
