// The benchmark harness: each benchmark has a usernet side and a reference side, measured in the
// same process, alternating, for a number of rounds after warm-ups. It reports the median, min
// and max of each side and of the per-round ratio usernet/reference (oriented so that a ratio
// above 1 always means usernet did better).

import { performance } from 'node:perf_hooks';

/** How big a run is: the full suite or the short one CI runs to prove the suite works. */
export interface BenchConfig {
  quick: boolean;
  /** Connections for tcp-memory (`--connections N`); its own default when absent. */
  connections?: number;
}

/**
 * What a sample returns when it has more to say than its figure: work lost on the way
 * (datagrams), virtual time charged to it (TCP), or a remark for the reader (a reference that
 * could not be measured as asked, and why).
 */
export interface SampleResult {
  /** The figure, in the benchmark's unit. */
  value: number;
  /** Units of work lost on the way (datagrams sent and never received). */
  dropped?: number;
  /**
   * Milliseconds of the world's virtual clock that passed while the sample was timed (timers a
   * real clock would have waited for: retransmission timeouts, delayed ACKs); already included
   * in `value`.
   */
  waitedMs?: number;
  /** A remark printed under the table (the last one of each side is kept). */
  note?: string;
}

/**
 * One side of a benchmark. `sample` runs the workload once and returns the figure, in the
 * benchmark's unit (or the figure and what was dropped).
 */
export interface Side {
  name: string;
  /** `verify`: also check the bytes moved (the first warm-up does; timed rounds only count). */
  sample(verify: boolean): Promise<number | SampleResult>;
}

export interface Benchmark {
  name: string;
  unit: string;
  /** true: a bigger figure is better (throughput); false: smaller is better (latency). */
  higherIsBetter: boolean;
  /** The ratio usernet is expected to reach, or null where none is set. */
  target: number | null;
  /**
   * An absolute goal for usernet's median, in the benchmark's unit (e.g. at most 2048 bytes per
   * socket), shown beside the ratio target.
   */
  goal?: { max?: number; min?: number };
  /** Timed rounds and warm-ups for this benchmark when the command line does not say (slow ones). */
  rounds?: number;
  warmup?: number;
  /** Longest one sample may take, in ms, when longer than the suite's default. */
  timeoutMs?: number;
  /** What one sample does, for the printed table. */
  describe: string;
  usernet: Side;
  reference: Side;
}

export interface Stats {
  median: number;
  min: number;
  max: number;
}

export interface BenchResult {
  name: string;
  unit: string;
  usernet: Stats;
  reference: Stats & { name: string };
  ratio: Stats;
  target: number | null;
  goal?: { max?: number; min?: number };
  /** Benchmarks that can lose work: what each side lost over all its samples (warm-ups included). */
  dropped?: { usernet: number; reference: number };
  /** Virtual milliseconds charged to usernet's samples, summed over all of them (warm-ups included). */
  waitedMs?: number;
  /** Remarks of the samples (the last of each side). */
  notes?: string[];
}

export interface RunOptions {
  rounds: number;
  warmup: number;
  /** Longest one sample may take before the suite gives up, in ms. */
  sampleTimeoutMs: number;
  /** Progress lines (per round), or null for none. */
  progress: ((line: string) => void) | null;
  /** Run one side only (to profile it); the other side's figures and the ratio are NaN. */
  only: 'usernet' | 'reference' | null;
}

export function stats(xs: readonly number[]): Stats {
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN };
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1] };
}

/** Wall-clock milliseconds, for timing a sample. */
export function now(): number {
  return performance.now();
}

/** Reject if `p` has not settled within `ms` (the timer does not keep the process alive). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Run one benchmark: warm-ups (the first verifying), then `rounds` alternating pairs of samples. */
export async function runBenchmark(b: Benchmark, opts: RunOptions): Promise<BenchResult> {
  const skip = opts.only === 'usernet' ? b.reference : opts.only === 'reference' ? b.usernet : null;
  let dropped: { usernet: number; reference: number } | undefined;
  let waitedMs: number | undefined;
  const notes = new Map<Side, string>();
  const sample = async (side: Side, verify: boolean): Promise<number> => {
    if (side === skip) return NaN;
    const ms = Math.max(opts.sampleTimeoutMs, b.timeoutMs ?? 0);
    const r = await withTimeout(side.sample(verify), ms, `${b.name} (${side.name})`);
    if (typeof r === 'number') return r;
    if (r.dropped !== undefined) {
      dropped ??= { usernet: 0, reference: 0 };
      dropped[side === b.usernet ? 'usernet' : 'reference'] += r.dropped;
    }
    if (r.waitedMs !== undefined) waitedMs = (waitedMs ?? 0) + r.waitedMs;
    if (r.note !== undefined) notes.set(side, `${side.name}: ${r.note}`);
    return r.value;
  };
  const { warmup, rounds } = opts;
  for (let i = 0; i < warmup; i++) {
    await sample(b.usernet, i === 0);
    await sample(b.reference, i === 0);
  }
  const u: number[] = [];
  const r: number[] = [];
  const ratio: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which side goes first, so neither always inherits the other's garbage.
    let uv: number;
    let rv: number;
    if (i % 2 === 0) {
      uv = await sample(b.usernet, false);
      rv = await sample(b.reference, false);
    } else {
      rv = await sample(b.reference, false);
      uv = await sample(b.usernet, false);
    }
    u.push(uv);
    r.push(rv);
    ratio.push(b.higherIsBetter ? uv / rv : rv / uv);
    opts.progress?.(
      `  ${b.name} round ${i + 1}/${rounds}: usernet ${fmt(uv)} ${b.unit}, ${b.reference.name} ${fmt(rv)} ${b.unit}, ratio ${fmtRatio(ratio[i])}`,
    );
  }
  return {
    name: b.name,
    unit: b.unit,
    usernet: stats(u),
    reference: { name: b.reference.name, ...stats(r) },
    ratio: stats(ratio),
    target: b.target,
    ...(b.goal ? { goal: b.goal } : {}),
    ...(dropped ? { dropped } : {}),
    ...(waitedMs !== undefined ? { waitedMs } : {}),
    ...(notes.size ? { notes: [...notes.values()] } : {}),
  };
}

/** The target column: the ratio target and/or the absolute goal, and whether it was met. */
function targetCell(r: BenchResult): string {
  const parts: string[] = [];
  if (r.target !== null)
    parts.push(
      Number.isNaN(r.ratio.median)
        ? `${r.target}`
        : `${r.target}${r.ratio.median >= r.target ? ' (met)' : ' (not met)'}`,
    );
  if (r.goal) {
    const { max, min } = r.goal;
    const m = r.usernet.median;
    const met = !Number.isNaN(m) && (max === undefined || m <= max) && (min === undefined || m >= min);
    const text = max !== undefined ? `usernet <= ${max}` : `usernet >= ${min ?? ''}`;
    parts.push(Number.isNaN(m) ? text : `${text}${met ? ' (met)' : ' (not met)'}`);
  }
  return parts.length ? parts.join(', ') : '-';
}

/** A figure with about four significant digits. */
export function fmt(x: number): string {
  if (Number.isNaN(x)) return '-';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toString();
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(2);
  return x.toFixed(3);
}

function fmtRatio(x: number): string {
  return Number.isNaN(x) ? '-' : x.toFixed(2);
}

/** The results as an aligned text table. */
export function table(results: readonly BenchResult[]): string {
  const head = [
    'benchmark',
    'unit',
    'usernet median [min, max]',
    'reference',
    'reference median [min, max]',
    'ratio median [min, max]',
    'target',
  ];
  const rows = results.map((r) => [
    r.name,
    r.unit,
    `${fmt(r.usernet.median)} [${fmt(r.usernet.min)}, ${fmt(r.usernet.max)}]`,
    r.reference.name,
    `${fmt(r.reference.median)} [${fmt(r.reference.min)}, ${fmt(r.reference.max)}]`,
    `${fmtRatio(r.ratio.median)} [${fmtRatio(r.ratio.min)}, ${fmtRatio(r.ratio.max)}]`,
    targetCell(r),
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  const lines = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  // Work lost on the way is never hidden in a figure: say so under the table.
  for (const r of results) {
    if (r.dropped && (r.dropped.usernet || r.dropped.reference))
      lines.push(
        `${r.name}: dropped ${r.dropped.usernet} (usernet), ${r.dropped.reference} (${r.reference.name}), warm-ups included`,
      );
    // Virtual time is charged, never hidden: a stall a real clock would have waited through.
    if (r.waitedMs)
      lines.push(
        `${r.name}: usernet's virtual clock advanced ${fmt(r.waitedMs)} ms in its timed samples (timers: retransmission, delayed ACK…), warm-ups included; charged to its figures`,
      );
    for (const n of r.notes ?? []) lines.push(`${r.name}: ${n}`);
  }
  return lines.join('\n');
}
