// Summarise a V8 CPU profile (the .cpuprofile files `node --cpu-prof` writes): the functions with
// the most self time, and the most inclusive ("total") time, with their source locations.
//
//   node dist/bench/profile_top.js [--top N] [--filter TEXT] FILE.cpuprofile
//
// --filter keeps only functions whose URL contains TEXT (e.g. --filter /src/ for usernet's own code).

import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

interface Row {
  key: string;
  self: number;
  total: number;
}

function frameKey(f: CallFrame): string {
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  const url = f.url.replace(/^file:\/\//, '').replace(/^.*\/dist\//, 'dist/');
  return `${name}  ${url}:${f.lineNumber + 1}`;
}

function summarise(p: Profile): { rows: Row[]; totalUs: number } {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // Self time per node: each sample's delta goes to the node it landed in.
  const selfUs = new Map<number, number>();
  let totalUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = Math.max(0, p.timeDeltas[i] ?? 0);
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + dt);
    totalUs += dt;
  }
  const rows = new Map<string, Row>();
  const row = (key: string): Row => {
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { key, self: 0, total: 0 }));
    return r;
  };
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    row(frameKey(n.callFrame)).self += us;
    // Inclusive time: once per distinct function on the stack (recursion counted once).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = frameKey(byId.get(cur)!.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      row(k).total += us;
    }
  }
  return { rows: [...rows.values()], totalUs };
}

function main(): void {
  // `| head` closes the pipe early: stop quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const args = process.argv.slice(2);
  let top = 25;
  let filter = '';
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else if (args[i] === '--filter') filter = args[++i] ?? '';
    else files.push(args[i]);
  }
  if (files.length !== 1 || !Number.isInteger(top) || top < 1) {
    process.stderr.write('usage: node dist/bench/profile_top.js [--top N] [--filter TEXT] FILE.cpuprofile\n');
    process.exit(2);
  }
  const { rows, totalUs } = summarise(JSON.parse(readFileSync(files[0], 'utf8')) as Profile);
  const keep = rows.filter((r) => !filter || r.key.includes(filter));
  const pct = (us: number): string => ((100 * us) / totalUs).toFixed(1).padStart(5) + '%';
  const ms = (us: number): string => (us / 1000).toFixed(0).padStart(7) + ' ms';
  const print = (title: string, sorted: Row[], pick: (r: Row) => number): void => {
    process.stdout.write(`\n${title}\n`);
    for (const r of sorted.slice(0, top)) process.stdout.write(`${ms(pick(r))} ${pct(pick(r))}  ${r.key}\n`);
  };
  process.stdout.write(`${files[0]}: ${(totalUs / 1000).toFixed(0)} ms sampled\n`);
  print(
    'self time (where the CPU was)',
    [...keep].sort((a, b) => b.self - a.self),
    (r) => r.self,
  );
  print(
    'total time (self + callees)',
    [...keep].sort((a, b) => b.total - a.total),
    (r) => r.total,
  );
}

main();
