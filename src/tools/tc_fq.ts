// `tc qdisc … fq [options]`: the options of iproute2's q_fq.c, read into FqQopt units (bytes,
// bytes per second, ns), with tc's number syntax (get_rate, get_size, get_time).

import type { FqQopt } from '../net/sched/sch_fq.js';
import { SK_PACING_UNLIMITED } from '../net/core/sock.js';
import { RATE_UNITS, TIME_UNITS } from './tc_units.js';

/** get_rate(): bits per second unless a unit says otherwise; returns bytes per second. */
export function tc_get_rate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(text);
  if (!m) throw new Error(`bad rate "${text}"`);
  const unit = m[2]!.toLowerCase() || 'bit';
  const k = RATE_UNITS[unit];
  if (k === undefined) throw new Error(`bad rate unit "${text}"`);
  return Math.floor((Number(m[1]) * k) / 8);
}

/** get_size(): bytes, with b / k / kb / m / mb / g / gb (and kbit… in bits). */
export function tc_get_size(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(text);
  if (!m) throw new Error(`bad size "${text}"`);
  const mult: Record<string, number> = {
    '': 1,
    b: 1,
    k: 1024,
    kb: 1024,
    m: 1024 * 1024,
    mb: 1024 * 1024,
    g: 1024 * 1024 * 1024,
    gb: 1024 * 1024 * 1024,
    kbit: 1024 / 8,
    mbit: (1024 * 1024) / 8,
    gbit: (1024 * 1024 * 1024) / 8,
  };
  const k = mult[m[2]!.toLowerCase()];
  if (k === undefined) throw new Error(`bad size unit "${text}"`);
  return Math.floor(Number(m[1]) * k);
}

/** get_time(): microseconds unless a unit says otherwise; returns ns. */
export function tc_get_time(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(text);
  if (!m) throw new Error(`bad time "${text}"`);
  const unit = m[2]!.toLowerCase();
  // A bare number is in microseconds.
  const k = unit === '' ? 1e3 : TIME_UNITS[unit];
  if (k === undefined) throw new Error(`bad time unit "${text}"`);
  return Math.round(Number(m[1]) * k);
}

/** fq_parse_opt(): the words after `fq`. Unknown words are an error, as tc makes them. */
export function parseFqOptions(words: readonly string[]): Partial<FqQopt> {
  const o: Partial<FqQopt> = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const arg = (): string => {
      const v = words[++i];
      if (v === undefined) throw new Error(`fq: "${w}" needs a value`);
      return v;
    };
    const uint = (): number => {
      const v = arg();
      if (!/^(0x[0-9a-f]+|\d+)$/i.test(v)) throw new Error(`fq: illegal "${w}" ${v}`);
      return Number(v);
    };
    switch (w) {
      case 'limit':
        o.limit = uint();
        break;
      case 'flow_limit':
        o.flow_limit = uint();
        break;
      case 'buckets': {
        // q_fq.c sends ilog2 of the number of buckets.
        const n = uint();
        o.buckets_log = Math.floor(Math.log2(Math.max(n, 1)));
        break;
      }
      case 'maxrate':
        o.maxrate = tc_get_rate(arg());
        break;
      case 'low_rate_threshold':
        o.low_rate_threshold = tc_get_rate(arg());
        break;
      case 'quantum':
        o.quantum = tc_get_size(arg());
        break;
      case 'initial_quantum':
        o.initial_quantum = tc_get_size(arg());
        break;
      case 'orphan_mask':
        o.orphan_mask = uint();
        break;
      case 'refill_delay':
        o.refill_delay = tc_get_time(arg());
        break;
      case 'ce_threshold':
        o.ce_threshold = tc_get_time(arg());
        break;
      case 'timer_slack':
        o.timer_slack = tc_get_time(arg());
        break;
      case 'horizon':
        o.horizon = tc_get_time(arg());
        break;
      case 'horizon_drop':
        o.horizon_drop = true;
        break;
      case 'horizon_cap':
        o.horizon_drop = false;
        break;
      case 'pacing':
        o.rate_enable = true;
        break;
      case 'nopacing':
        o.rate_enable = false;
        break;
      case 'weights': {
        const ws = [uint(), uint(), uint()] as [number, number, number];
        o.weights = ws;
        break;
      }
      case 'priomap': {
        const bands = uint();
        if (bands !== 3) throw new Error('fq: priomap needs 3 bands');
        const map = new Uint8Array(16);
        for (let k = 0; k < 16; k++) map[k] = uint();
        o.priomap = map;
        break;
      }
      default:
        throw new Error(`fq: unknown parameter "${w}"`);
    }
  }
  if (o.maxrate === undefined) return o;
  // maxrate is a u32 for the kernel: ~0U means no limit.
  if (o.maxrate >= 0xffffffff) o.maxrate = SK_PACING_UNLIMITED;
  return o;
}
