// The benchmark suite: `node dist/bench/run.js [--quick] [--json] [--rounds N] [--side S] [name…]`.
//
//   --quick     few rounds and small sizes: proves the suite runs (CI), says nothing about speed
//   --json      one JSON array on stdout, one object per benchmark, nothing else on stdout
//   --rounds N  timed rounds per benchmark (default 9, quick 3)
//   --side S    run only one side, usernet or reference (for profiling; no ratio)
//   --connections N  connections held open by tcp-memory (default 100000, quick 2000)
//   name…       run only the benchmarks whose name contains one of these words
//   --filter W  the same as naming W

import { availableParallelism, cpus } from 'node:os';
import { runBenchmark, table, type BenchResult, type Benchmark } from './harness.js';
import { unixStreamBenchmarks } from './unix_stream.js';
import { udpBenchmarks } from './udp.js';
import { tcpBenchmarks } from './tcp.js';
import { httpBenchmarks } from './http.js';
import { simBenchmarks } from './sim.js';

interface Args {
  quick: boolean;
  json: boolean;
  rounds: number | null;
  only: 'usernet' | 'reference' | null;
  filters: string[];
  connections: number | null;
}

function usage(msg: string): never {
  process.stderr.write(
    `${msg}\nusage: node dist/bench/run.js [--quick] [--json] [--rounds N] [--side usernet|reference] [--connections N] [--filter W] [name…]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { quick: false, json: false, rounds: null, only: null, filters: [], connections: null };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s === '--quick') a.quick = true;
    else if (s === '--json') a.json = true;
    else if (s === '--rounds' || s.startsWith('--rounds=')) {
      const v = s === '--rounds' ? argv[++i] : s.slice('--rounds='.length);
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1000)
        usage(`--rounds wants a whole number from 1 to 1000, not ${v}`);
      a.rounds = n;
    } else if (s === '--side' || s.startsWith('--side=')) {
      const v = s === '--side' ? argv[++i] : s.slice('--side='.length);
      if (v !== 'usernet' && v !== 'reference') usage(`--side wants usernet or reference, not ${v}`);
      a.only = v;
    } else if (s === '--connections' || s.startsWith('--connections=')) {
      const v = s === '--connections' ? argv[++i] : s.slice('--connections='.length);
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 10_000_000)
        usage(`--connections wants a whole number from 1 to 10000000, not ${v}`);
      a.connections = n;
    } else if (s === '--filter' || s.startsWith('--filter=')) {
      const v = s === '--filter' ? argv[++i] : s.slice('--filter='.length);
      if (!v) usage('--filter wants a word of a benchmark name');
      a.filters.push(v);
    } else if (s === '--help' || s === '-h') usage('');
    else if (s.startsWith('-')) usage(`unknown option ${s}`);
    else a.filters.push(s);
  }
  return a;
}

async function main(): Promise<void> {
  // `| head` closes the pipe early: stop quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const args = parseArgs(process.argv.slice(2));
  const cfg = { quick: args.quick, ...(args.connections !== null ? { connections: args.connections } : {}) };
  let benches = [
    ...unixStreamBenchmarks(cfg),
    ...udpBenchmarks(cfg),
    ...tcpBenchmarks(cfg),
    ...httpBenchmarks(cfg),
    ...simBenchmarks(cfg),
  ];
  if (args.filters.length) benches = benches.filter((b) => args.filters.some((f) => b.name.includes(f)));
  if (benches.length === 0) usage(`no benchmark matches ${args.filters.join(' ')}`);
  const rounds = args.rounds ?? (args.quick ? 3 : 9);
  const warmup = args.quick ? 1 : 2;
  const roundsOf = (b: Benchmark): number => args.rounds ?? b.rounds ?? rounds;
  const warmupOf = (b: Benchmark): number => b.warmup ?? warmup;
  const log = (line: string): void => {
    if (!args.json) process.stdout.write(line + '\n');
  };
  log(
    `usernet benchmarks${args.quick ? ' (quick: sizes too small to mean anything)' : ''}: ` +
      `node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown CPU'}), ` +
      `${rounds} rounds after ${warmup} warm-up${warmup > 1 ? 's' : ''} (unless a benchmark says otherwise)`,
  );
  const results: BenchResult[] = [];
  for (const b of benches) {
    log(`${b.name}: ${b.describe}`);
    results.push(
      await runBenchmark(b, {
        rounds: roundsOf(b),
        warmup: warmupOf(b),
        sampleTimeoutMs: args.quick ? 30_000 : 120_000,
        progress: args.json ? null : log,
        only: args.only,
      }),
    );
  }
  if (args.json) {
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  } else {
    log('');
    log(table(results));
    log('ratio = usernet / reference, per round (above 1: usernet is faster)');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
