// The benchmark harness: each benchmark has a usernet side and a reference side, measured in the
// same process, alternating, for a number of rounds after warm-ups. It reports the median, min
// and max of each side and of the per-round ratio usernet/reference (oriented so that a ratio
// above 1 always means usernet did better).

import { performance } from 'node:perf_hooks';

/** How big a run is: the full suite or the short one CI runs to prove the suite works. */
export interface BenchConfig {
  quick: boolean;
}

/** What a sample returns when it can also lose part of its workload (datagrams). */
export interface SampleResult {
  /** The figure, in the benchmark's unit. */
  value: number;
  /** Units of work lost on the way (datagrams sent and never received). */
  dropped: number;
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
  /** The ratio usernet is expected to reach. */
  target: number;
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
  target: number;
  /** Benchmarks that can lose work: what each side lost over all its samples (warm-ups included). */
  dropped?: { usernet: number; reference: number };
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
  const sample = async (side: Side, verify: boolean): Promise<number> => {
    if (side === skip) return NaN;
    const r = await withTimeout(side.sample(verify), opts.sampleTimeoutMs, `${b.name} (${side.name})`);
    if (typeof r === 'number') return r;
    dropped ??= { usernet: 0, reference: 0 };
    dropped[side === b.usernet ? 'usernet' : 'reference'] += r.dropped;
    return r.value;
  };
  for (let i = 0; i < opts.warmup; i++) {
    await sample(b.usernet, i === 0);
    await sample(b.reference, i === 0);
  }
  const u: number[] = [];
  const r: number[] = [];
  const ratio: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
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
      `  ${b.name} round ${i + 1}/${opts.rounds}: usernet ${fmt(uv)} ${b.unit}, ${b.reference.name} ${fmt(rv)} ${b.unit}, ratio ${fmtRatio(ratio[i])}`,
    );
  }
  return {
    name: b.name,
    unit: b.unit,
    usernet: stats(u),
    reference: { name: b.reference.name, ...stats(r) },
    ratio: stats(ratio),
    target: b.target,
    ...(dropped ? { dropped } : {}),
  };
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
    Number.isNaN(r.ratio.median)
      ? `${r.target}`
      : `${r.target}${r.ratio.median >= r.target ? ' (met)' : ' (not met)'}`,
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
  }
  return lines.join('\n');
}
