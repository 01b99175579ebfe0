// The differential conformance suite: every scenario runs live on this machine's Linux kernel
// (conformance/linux_runner.py) and on usernet (conformance/usernet_runner.ts); the results are
// compared field by field.
//
//   npm run conformance [-- --filter TEXT] [--json] [--verbose] [--dir DIR] [FILE.json|DIR ...]

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  compareScenario,
  loadScenarios,
  type Mismatch,
  type Scenario,
  type ScenarioResult,
} from './scenario.js';
import { runUsernet } from './usernet_runner.js';
import { runPacketdrill, formatPacketdrill } from './packetdrill.js';

export interface ConformanceOptions {
  /** Only scenarios whose name contains this text. */
  filter?: string;
  /** Scenario files or directories (default: conformance/scenarios). */
  paths?: string[];
  /** The repository root (default: found from this module's location). */
  root?: string;
  /** Python interpreter (default: python3). */
  python?: string;
  /** Run the Linux side in a fresh network namespace when possible (default: true). */
  unshare?: boolean;
}

export interface ScenarioReport {
  name: string;
  passed: boolean;
  mismatches: Mismatch[];
  linux?: ScenarioResult;
  usernet: ScenarioResult;
}

export interface ConformanceReport {
  passed: number;
  failed: number;
  /** The tunables read on the Linux side and applied to the usernet host. */
  sysctl: Record<string, number>;
  /** TCP tunables read as text on the Linux side; usernet gets those it has. */
  sysctlText: Record<string, string>;
  /** Tunables usernet refused. */
  sysctlErrors: string[];
  /** How the Linux side ran ("unshare -n python3 …" or "python3 …"). */
  linuxCommand: string;
  scenarios: ScenarioReport[];
}

/** The repository root: the nearest parent holding conformance/linux_runner.py. */
export function findRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'conformance', 'linux_runner.py')) && existsSync(join(dir, 'package.json')))
      return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (conformance/linux_runner.py)');
    dir = up;
  }
}

function canUnshare(): boolean {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  const r = spawnSync('unshare', ['-n', 'true'], { stdio: 'ignore' });
  return r.status === 0;
}

interface LinuxOutput {
  sysctl: Record<string, number>;
  sysctlText: Record<string, string>;
  results: Map<string, ScenarioResult>;
  command: string;
}

/** Run the scenario files on the real kernel. */
export async function runLinux(
  files: string[],
  opts: ConformanceOptions,
  root: string,
): Promise<LinuxOutput> {
  const python = opts.python ?? 'python3';
  const runner = join(root, 'conformance', 'linux_runner.py');
  const args = [runner, ...(opts.filter ? ['--filter', opts.filter] : []), ...files];
  const useUnshare = (opts.unshare ?? true) && canUnshare();
  const cmd = useUnshare ? 'unshare' : python;
  const argv = useUnshare ? ['-n', python, ...args] : args;
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((res, rej) => {
    child.on('error', rej);
    child.on('close', res);
  });
  if (code !== 0) throw new Error(`linux runner exited with ${code}: ${err.trim()}`);
  if (err.trim()) process.stderr.write(err);
  const lines = out.split('\n').filter((l) => l.trim());
  const head = JSON.parse(lines.shift() ?? '{}') as {
    sysctl?: Record<string, number>;
    sysctl_text?: Record<string, string>;
  };
  const results = new Map<string, ScenarioResult>();
  for (const l of lines) {
    const r = JSON.parse(l) as ScenarioResult;
    results.set(r.name, r);
  }
  return {
    sysctl: head.sysctl ?? {},
    sysctlText: head.sysctl_text ?? {},
    results,
    command: [cmd, ...argv.map((a) => (a.startsWith(root) ? a.slice(root.length + 1) : a))].join(' '),
  };
}

/** Run the suite: Linux first (for its tunables), then usernet, then compare. */
export async function runConformance(opts: ConformanceOptions = {}): Promise<ConformanceReport> {
  const root = opts.root ?? findRoot();
  const paths = opts.paths?.length ? opts.paths : [join(root, 'conformance', 'scenarios')];
  const { scenarios: all } = loadScenarios(paths);
  const names = new Set<string>();
  for (const s of all) {
    if (names.has(s.name)) throw new Error(`duplicate scenario name ${s.name}`);
    names.add(s.name);
  }
  const scenarios: Scenario[] = opts.filter ? all.filter((s) => s.name.includes(opts.filter!)) : all;
  const linux = await runLinux(paths, opts, root);
  const sysctlErrors: string[] = [];
  const usernet = await runUsernet(scenarios, {
    sysctl: linux.sysctl,
    sysctlText: linux.sysctlText,
    onSysctlError: (name, v, e) =>
      sysctlErrors.push(`${name}=${v}: ${e instanceof Error ? e.message : String(e)}`),
  });
  const reports: ScenarioReport[] = scenarios.map((s, i) => {
    const l = linux.results.get(s.name);
    const mismatches = compareScenario(s, l, usernet[i]);
    return { name: s.name, passed: mismatches.length === 0, mismatches, linux: l, usernet: usernet[i] };
  });
  const passed = reports.filter((r) => r.passed).length;
  return {
    passed,
    failed: reports.length - passed,
    sysctl: linux.sysctl,
    sysctlText: linux.sysctlText,
    sysctlErrors: [...new Set(sysctlErrors)],
    linuxCommand: linux.command,
    scenarios: reports,
  };
}

function show(v: unknown): string {
  return v === undefined ? 'undefined' : JSON.stringify(v);
}

/** The report as text: one line per mismatch, then "N passed, M failed". */
export function formatReport(r: ConformanceReport, verbose = false): string {
  const lines: string[] = [];
  lines.push(`linux: ${r.linuxCommand}`);
  lines.push(
    `sysctl: ${Object.entries(r.sysctl)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  for (const e of r.sysctlErrors) lines.push(`sysctl not applied to usernet: ${e}`);
  for (const s of r.scenarios) {
    if (verbose) lines.push(`${s.passed ? 'PASS' : 'FAIL'} ${s.name}`);
    for (const m of s.mismatches) {
      const where = m.step < 0 ? m.scenario : `${m.scenario} step ${m.step} (${m.call})`;
      lines.push(`MISMATCH ${where} ${m.field}: linux=${show(m.linux)} usernet=${show(m.usernet)}`);
    }
  }
  lines.push(`${r.passed} passed, ${r.failed} failed`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const opts: ConformanceOptions = { paths: [] };
  let json = false;
  let verbose = false;
  let pdRepo = process.env.PACKETDRILL_REPO ?? '';
  let pdSets = ['L', 'S'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--filter') opts.filter = argv[++i];
    else if (a.startsWith('--filter=')) opts.filter = a.slice('--filter='.length);
    else if (a === '--dir') {
      const d = argv[++i];
      if (d === undefined) {
        process.stderr.write('--dir needs a directory\n');
        return 2;
      }
      opts.paths!.push(resolve(d));
    } else if (a.startsWith('--dir=')) opts.paths!.push(resolve(a.slice('--dir='.length)));
    else if (a === '--json') json = true;
    else if (a === '--verbose' || a === '-v') verbose = true;
    else if (a === '--no-unshare') opts.unshare = false;
    else if (a === '--python') opts.python = argv[++i];
    else if (a === '--packetdrill') pdRepo = argv[++i] ?? '';
    else if (a === '--packetdrill-sets') pdSets = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a.startsWith('-')) {
      process.stderr.write(`unknown option ${a}\n`);
      return 2;
    } else opts.paths!.push(resolve(a));
  }
  const report = await runConformance(opts);
  // The upstream packetdrill sets, wherever a packetdrill repository is given.
  const pd = pdRepo ? await runPacketdrill(pdRepo, pdSets) : null;
  if (pdRepo && !pd) process.stderr.write(`${pdRepo}: not a packetdrill git repository\n`);
  if (json) process.stdout.write(JSON.stringify({ ...report, packetdrill: pd }, null, 2) + '\n');
  else {
    if (pd) process.stdout.write(formatPacketdrill(pd) + '\n');
    process.stdout.write(formatReport(report, verbose) + '\n');
  }
  const pdFailed = pd ? pd.filter((r) => !r.ok).length : 0;
  return report.failed > 0 || pdFailed > 0 || (pdRepo && !pd) ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
