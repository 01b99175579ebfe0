// Links between hosts: a veth pair whose ends live in two hosts, with a netem queue on each
// end's egress when the link is impaired (delay, jitter, loss, duplication, reordering,
// corruption, rate, queue limit, partitions), changeable while the world runs. And bridges:
// a learning switch on a host of its own that hosts are linked to.

import type { Host } from './host.js';
import type { NetDevice } from '../net/core/netdevice.js';
import { veth_newlink } from '../drivers/net/veth.js';
import { dev_open, dev_set_mtu, unregister_netdevice } from '../net/core/dev.js';
import { dev_graft_qdisc, type QdiscStats } from '../net/sched/sch_generic.js';
import {
  NETEM_PROB_MAX,
  NetemSchedData,
  netem_create,
  netem_default_qopt,
  type NetemDist,
  type NetemQopt,
  type NetemXstats,
} from '../net/sched/sch_netem.js';
import { br_add_bridge, br_add_if, br_fdb_dump, type BrFdbRow } from '../drivers/net/bridge.js';
import { format_mac } from '../net/ethernet/eth.js';
import { SyscallError } from './errors.js';
import { RATE_UNITS, TIME_UNITS } from '../tools/tc_units.js';

/** A time: a number of milliseconds, or a string with a unit: '20ms', '1.5s', '250us', '100ns'. */
export type Duration = number | string;
/** A probability: a fraction 0…1, or a percentage string '1%'. */
export type Probability = number | string;

/** Gilbert-Elliott loss, as tc's `loss gemodel p [r [1-h [1-k]]]`. */
export interface GeModel {
  /** Good → bad transition probability. */
  p: Probability;
  /** Bad → good transition probability (default 1 - p: Bernoulli loss with probability p). */
  r?: Probability;
  /** Loss probability in the bad state (tc's 1-h; default 1). */
  lossBad?: Probability;
  /** Loss probability in the good state (tc's 1-k; default 0). */
  lossGood?: Probability;
}

/** tc's 4-state model: `loss state p13 [p31 [p32 [p23 [p14]]]]`. */
export interface StateModel {
  p13: Probability;
  p31?: Probability;
  p32?: Probability;
  p23?: Probability;
  p14?: Probability;
}

export type Loss =
  | Probability
  | { random: Probability; correlation?: Probability }
  | { gemodel: GeModel }
  | { state: StateModel };

/** The impairments of one direction of a link (each key a `tc qdisc … netem` option). */
export interface Impairments {
  /** Fixed delay. */
  delay?: Duration;
  /** Delay varies by ± jitter (packets may then overtake each other, as with netem). */
  jitter?: Duration;
  /** Correlation of successive delays. */
  delayCorrelation?: Probability;
  /** How jitter is spread: 'uniform' (netem without a table, the default), 'normal', 'pareto'. */
  distribution?: NetemDist;
  loss?: Loss;
  duplicate?: Probability;
  duplicateCorrelation?: Probability;
  /** Send this fraction of packets at once, ahead of the delayed ones; `gap` N: only every Nth. */
  reorder?: Probability | { probability: Probability; gap?: number; correlation?: Probability };
  /** Flip one random bit in this fraction of frames. */
  corrupt?: Probability;
  corruptCorrelation?: Probability;
  /** Serialisation rate: bits/s as a number, or tc units: '100mbit', '1gbit', '64kbit', '1mbps' (bytes). null: unlimited. */
  rate?: number | string | null;
  /** Bytes added to each packet's size for the rate (may be negative). */
  packetOverhead?: number;
  cellSize?: number;
  cellOverhead?: number;
  /** Packets the link queue holds before tail drop (default 1000). */
  limit?: number;
  /** Drop everything, including what is in flight, until set back to false. */
  partition?: boolean;
  /** netem's `ecn`: a loss marks an ECN-capable (ECT) packet CE instead of dropping it. */
  ecn?: boolean;
  /** Seed of the link's random streams (default: drawn from the world's); b→a uses one derived from it. */
  seed?: number;
}

export interface LinkOptions extends Impairments {
  /** MTU of both ends (default 1500). */
  mtu?: number;
}

/** 'a->b' is what a sends (a's egress queue), 'b->a' what b sends. */
export type Direction = 'a->b' | 'b->a' | 'both';

/** A link between two hosts: a veth pair, eth0, eth1… on each side. */
export class Link {
  private readonly conf: [Impairments, Impairments] = [{}, {}];

  constructor(
    readonly hostA: Host,
    readonly hostB: Host,
    /** The device on hostA's side. */
    readonly a: NetDevice,
    /** The device on hostB's side. */
    readonly b: NetDevice,
  ) {}

  /**
   * Change impairments, merged into what is set; `undefined` keys are left alone. Takes effect
   * for packets sent from now on (a partition also drops what is in flight).
   */
  set(imp: Impairments, dir: Direction = 'both'): this {
    // Validate both directions first, so a bad option changes nothing.
    const next = this.conf.map((c) => ({ ...c })) as [Impairments, Impairments];
    const qopts: (NetemQopt | null)[] = [null, null];
    for (const i of dir_indices(dir)) {
      for (const [k, v] of Object.entries(imp))
        if (v !== undefined) (next[i] as Record<string, unknown>)[k] = v;
      const q = to_qopt(next[i]);
      // One seed for a link: b→a draws from a stream derived from it, so the two directions
      // do not mirror each other's fate.
      if (i === 1 && q.seed !== undefined) q.seed = (q.seed ^ 0x9e3779b9) >>> 0;
      qopts[i] = q;
    }
    for (const i of dir_indices(dir)) {
      this.conf[i] = next[i];
      const dev = i === 0 ? this.a : this.b;
      let q = dev.qdisc;
      if (!(q instanceof NetemSchedData)) {
        const made = netem_create(dev, qopts[i]!);
        if (typeof made === 'number') throw new SyscallError(-made, 'netem');
        dev_graft_qdisc(dev, made);
        q = made;
      } else {
        const err = q.change(qopts[i]!);
        if (err) throw new SyscallError(-err, 'netem');
      }
    }
    return this;
  }

  /** Remove every impairment (both directions): the ends go back to no queue at all. */
  clear(): this {
    this.conf[0] = {};
    this.conf[1] = {};
    dev_graft_qdisc(this.a, null);
    dev_graft_qdisc(this.b, null);
    return this;
  }

  /** Cut the link (both directions) until heal(). */
  partition(): this {
    return this.set({ partition: true });
  }

  heal(): this {
    return this.set({ partition: false });
  }

  /** The impairments set on one direction. */
  impairments(dir: 'a->b' | 'b->a'): Impairments {
    return { ...this.conf[dir === 'a->b' ? 0 : 1] };
  }

  /** `tc -s qdisc` figures of one direction, or null when it has no netem queue. */
  stats(dir: 'a->b' | 'b->a'): (QdiscStats & { qlen: number; netem: NetemXstats }) | null {
    const q = (dir === 'a->b' ? this.a : this.b).qdisc;
    if (!(q instanceof NetemSchedData)) return null;
    return { ...q.stats, qlen: q.qlen, netem: { ...q.xstats } };
  }
}

function dir_indices(dir: Direction): number[] {
  if (dir === 'a->b') return [0];
  if (dir === 'b->a') return [1];
  if (dir === 'both') return [0, 1];
  throw new Error(`link: direction must be 'a->b', 'b->a' or 'both', not ${String(dir)}`);
}

/** Whether any impairment key is given. */
function impaired(o: LinkOptions): boolean {
  for (const [k, v] of Object.entries(o)) if (k !== 'mtu' && v !== undefined) return true;
  return false;
}

/** world.link(a, b, opts): a veth pair, named by each host's first free eth%d, brought up. */
export function createLink(a: Host, b: Host, opts: LinkOptions = {}): Link {
  const { mtu, ...imp } = opts;
  // Check the impairments before anything is made: a bad option leaves no half-made link.
  if (impaired(opts)) to_qopt(imp);
  const made = veth_newlink(a.netns, 'eth%d', b.netns, 'eth%d');
  if (typeof made === 'number') throw new SyscallError(-made, 'veth_newlink');
  const [da, db] = made;
  const link = new Link(a, b, da, db);
  if (mtu !== undefined) {
    for (const d of made) {
      const err = dev_set_mtu(d, mtu);
      if (err) {
        unregister_netdevice(da);
        unregister_netdevice(db);
        throw new SyscallError(-err, 'dev_set_mtu');
      }
    }
  }
  if (impaired(opts)) link.set(imp);
  dev_open(da);
  dev_open(db);
  return link;
}

/** A learning switch: a bridge device on a host of its own, and the links of the hosts on it. */
export class Bridge {
  readonly links: Link[] = [];
  constructor(
    /** The host the bridge lives on (not one of world.hosts). */
    readonly host: Host,
    /** The bridge device. */
    readonly dev: NetDevice,
  ) {}

  /** Link a host to the switch (a new eth%d on the host, a new port on the bridge). */
  connect(host: Host, opts: LinkOptions = {}): Link {
    const link = createLink(host, this.host, opts);
    const err = br_add_if(this.dev, link.b);
    if (err) throw new SyscallError(-err, 'br_add_if');
    this.links.push(link);
    return link;
  }

  /** The link of `host` (its first one, if linked more than once), or undefined. */
  linkOf(host: Host): Link | undefined {
    return this.links.find((l) => l.hostA === host);
  }

  /** `bridge fdb show`: learned and local addresses, the port (switch-side device) and age. */
  fdb(): { mac: string; port: string | null; local: boolean; static: boolean; ageing: number }[] {
    return br_fdb_dump(this.dev).map((r: BrFdbRow) => ({ ...r, mac: format_mac(r.mac) }));
  }
}

/** world.bridge(name, hosts): a switch host `name` with bridge br0, each host linked to it. */
export function createBridge(switchHost: Host, hosts: Host[], opts: LinkOptions = {}): Bridge {
  const dev = br_add_bridge(switchHost.netns, 'br0');
  if (typeof dev === 'number') throw new SyscallError(-dev, 'br_add_bridge');
  dev_open(dev);
  const br = new Bridge(switchHost, dev);
  for (const h of hosts) br.connect(h, opts);
  return br;
}

// ---- option parsing (tc's units) ----

/** A Duration in nanoseconds. */
export function parseDuration(d: Duration, what = 'time'): number {
  if (typeof d === 'number') {
    if (!(d >= 0) || !Number.isFinite(d)) throw new Error(`link: bad ${what} ${d}`);
    return Math.round(d * 1e6);
  }
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(d);
  const unit = m ? (m[2] || 'ms').toLowerCase() : '';
  if (!m || !(unit in TIME_UNITS)) throw new Error(`link: bad ${what} ${JSON.stringify(d)}`);
  return Math.round(parseFloat(m[1]) * TIME_UNITS[unit]);
}

/** A probability as netem's u32 (tc's get_percent: rint(p × UINT32_MAX)). */
export function parseProbability(p: Probability, what = 'probability'): number {
  let f: number;
  if (typeof p === 'number') f = p;
  else {
    const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*%\s*$/.exec(p);
    if (!m) throw new Error(`link: bad ${what} ${JSON.stringify(p)}`);
    f = parseFloat(m[1]) / 100;
  }
  if (!(f >= 0 && f <= 1)) throw new Error(`link: ${what} must be within 0…1 (or 0%…100%), not ${String(p)}`);
  return Math.round(f * NETEM_PROB_MAX);
}

/** A rate in bytes per second (netem's unit); numbers are bits per second. */
export function parseRate(r: number | string): number {
  let bits: number;
  if (typeof r === 'number') bits = r;
  else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(r);
    const unit = m ? (m[2] || 'bit').toLowerCase() : '';
    if (!m || !(unit in RATE_UNITS)) throw new Error(`link: bad rate ${JSON.stringify(r)}`);
    bits = parseFloat(m[1]) * RATE_UNITS[unit];
  }
  if (!(bits >= 0) || !Number.isFinite(bits)) throw new Error(`link: bad rate ${String(r)}`);
  return bits / 8;
}

/** The impairments of one direction as netem options, checked as tc checks them. */
export function to_qopt(imp: Impairments): NetemQopt {
  const o = netem_default_qopt();
  if (imp.delay !== undefined) o.latency = parseDuration(imp.delay, 'delay');
  if (imp.jitter !== undefined) o.jitter = parseDuration(imp.jitter, 'jitter');
  if (imp.delayCorrelation !== undefined)
    o.delay_corr = parseProbability(imp.delayCorrelation, 'delayCorrelation');
  if (imp.distribution !== undefined) {
    if (!['uniform', 'normal', 'pareto'].includes(imp.distribution))
      throw new Error(`link: unknown distribution ${String(imp.distribution)}`);
    o.delay_dist = imp.distribution;
  }
  const loss = imp.loss;
  if (loss !== undefined) {
    if (typeof loss === 'number' || typeof loss === 'string') o.loss = parseProbability(loss, 'loss');
    else if ('random' in loss) {
      o.loss = parseProbability(loss.random, 'loss');
      if (loss.correlation !== undefined)
        o.loss_corr = parseProbability(loss.correlation, 'loss correlation');
    } else if ('gemodel' in loss) {
      const g = loss.gemodel;
      // tc's defaults (iproute2 ≥ 5.x, tc-netem(8)): r = 1 - p (Bernoulli), 1-h = 100%, 1-k = 0%.
      const p = parseProbability(g.p, 'gemodel p');
      o.loss_model = {
        kind: 'gemodel',
        p,
        r: g.r === undefined ? NETEM_PROB_MAX - p : parseProbability(g.r, 'gemodel r'),
        h:
          NETEM_PROB_MAX -
          (g.lossBad === undefined ? NETEM_PROB_MAX : parseProbability(g.lossBad, 'gemodel 1-h')),
        k1: g.lossGood === undefined ? 0 : parseProbability(g.lossGood, 'gemodel 1-k'),
      };
    } else if ('state' in loss) {
      const s = loss.state;
      const p13 = parseProbability(s.p13, 'p13');
      // tc's defaults: p31 = 1 - p13, p32 = 0, p23 = 1, p14 = 0.
      o.loss_model = {
        kind: 'state',
        p13,
        p31: s.p31 === undefined ? NETEM_PROB_MAX - p13 : parseProbability(s.p31, 'p31'),
        p32: s.p32 === undefined ? 0 : parseProbability(s.p32, 'p32'),
        p23: s.p23 === undefined ? NETEM_PROB_MAX : parseProbability(s.p23, 'p23'),
        p14: s.p14 === undefined ? 0 : parseProbability(s.p14, 'p14'),
      };
    } else throw new Error('link: loss must be a probability, {random}, {gemodel} or {state}');
  }
  if (imp.duplicate !== undefined) o.duplicate = parseProbability(imp.duplicate, 'duplicate');
  if (imp.duplicateCorrelation !== undefined)
    o.dup_corr = parseProbability(imp.duplicateCorrelation, 'duplicateCorrelation');
  const ro = imp.reorder;
  if (ro !== undefined) {
    const r = typeof ro === 'object' ? ro : { probability: ro };
    o.reorder = parseProbability(r.probability, 'reorder');
    if (r.correlation !== undefined) o.reorder_corr = parseProbability(r.correlation, 'reorder correlation');
    if (r.gap !== undefined) {
      if (!Number.isInteger(r.gap) || r.gap < 0) throw new Error(`link: bad reorder gap ${r.gap}`);
      o.gap = r.gap;
    }
    if (o.reorder) {
      // tc: "reordering not possible without specifying some delay"; gap defaults to 1.
      if (o.latency === 0) throw new Error('link: reordering is not possible without some delay');
      if (o.gap === 0) o.gap = 1;
    }
  }
  if (imp.corrupt !== undefined) o.corrupt = parseProbability(imp.corrupt, 'corrupt');
  if (imp.corruptCorrelation !== undefined)
    o.corrupt_corr = parseProbability(imp.corruptCorrelation, 'corruptCorrelation');
  if (imp.rate !== undefined && imp.rate !== null) o.rate = parseRate(imp.rate);
  if (imp.packetOverhead !== undefined) o.packet_overhead = int(imp.packetOverhead, 'packetOverhead');
  if (imp.cellSize !== undefined) o.cell_size = int(imp.cellSize, 'cellSize');
  if (imp.cellOverhead !== undefined) o.cell_overhead = int(imp.cellOverhead, 'cellOverhead');
  if (imp.limit !== undefined) {
    if (!Number.isInteger(imp.limit) || imp.limit < 0) throw new Error(`link: bad limit ${imp.limit}`);
    o.limit = imp.limit;
  }
  if (imp.partition !== undefined) o.partition = !!imp.partition;
  if (imp.ecn !== undefined) o.ecn = !!imp.ecn;
  if (imp.seed !== undefined) o.seed = imp.seed >>> 0;
  return o;
}

function int(v: number, what: string): number {
  if (!Number.isInteger(v)) throw new Error(`link: ${what} must be an integer`);
  return v;
}
