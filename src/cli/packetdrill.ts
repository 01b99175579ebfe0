// `usernet packetdrill`: run packetdrill scripts against a usernet host in virtual time, one
// line per script, then a total. A directory stands for every *.pkt file under it.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { definesFromArgs, parseScript } from '../tools/packetdrill/parser.js';
import { runScript, type IpVersion } from '../tools/packetdrill/runtime.js';
import { upstreamDefines } from '../tools/packetdrill/defines.js';

export const PACKETDRILL_USAGE = `usage: usernet packetdrill [--mode ipv4|ipv6|mapped] [-D NAME=VALUE]... FILE_OR_DIR...

Runs packetdrill scripts against a fresh usernet host each, in virtual time, with packetdrill's
address plan (local 192.168.0.1, remote 192.0.2.1) and run_all.py's definitions for the mode
(TFO_COOKIE, CMSG_LEVEL_IP, ...). A directory means every *.pkt file under it, in sorted order.

Prints PASS or FAIL per script (a failure with packetdrill's message: the script line, what was
expected and what happened, and when), then "N passed, M failed".

options:
  --mode MODE         ipv4 (default), ipv6 or mapped (IPv4-mapped IPv6); only ipv4 runs today
  -D, --define N=V    define a symbol for the scripts, as packetdrill's -D
  -h, --help          show this text

exit status: 0 when every script passes, 1 when one fails, 2 on a usage error`;

const MODES: Record<string, IpVersion> = {
  ipv4: 'ipv4',
  ipv6: 'ipv6',
  mapped: 'ipv4-mapped-ipv6',
  'ipv4-mapped-ipv6': 'ipv4-mapped-ipv6',
};

export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Every *.pkt file under `dir`, sorted by path. */
function scriptsUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.pkt')) found.push(p);
    }
  };
  walk(dir);
  return found.sort();
}

/** The command; resolves to its exit status. */
export async function packetdrillCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const usage = (msg: string): number => {
    io.err(`usernet packetdrill: ${msg}`);
    io.err(`try 'usernet packetdrill --help'`);
    return 2;
  };
  let mode: IpVersion = 'ipv4';
  const paths: string[] = [];
  const defineArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      io.out(PACKETDRILL_USAGE);
      return 0;
    }
    if (a === '--mode' || a.startsWith('--mode=')) {
      const v = a === '--mode' ? argv[++i] : a.slice('--mode='.length);
      const m = v === undefined ? undefined : MODES[v];
      if (!m) return usage(`bad --mode ${v ?? '(missing)'}: expected ipv4, ipv6 or mapped`);
      mode = m;
    } else if (a === '-D' || a === '--define') {
      defineArgs.push(a, argv[++i] ?? '');
    } else if (a.startsWith('-D') || a.startsWith('--define=')) {
      defineArgs.push(a);
    } else if (a.startsWith('-') && a !== '-') {
      return usage(`unknown option ${a}`);
    } else paths.push(a);
  }
  if (mode !== 'ipv4') {
    io.err(
      `usernet packetdrill: --mode ${mode === 'ipv6' ? 'ipv6' : 'mapped'}: usernet has no IPv6 yet; only --mode ipv4 runs`,
    );
    return 2;
  }
  let defines: Map<string, string>;
  try {
    defines = upstreamDefines(mode, definesFromArgs(defineArgs));
  } catch (e) {
    return usage((e as Error).message);
  }
  if (!paths.length) return usage('no script given');
  const files: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      return usage(`${p}: No such file or directory`);
    }
    if (!isDir) files.push(p);
    else {
      const under = scriptsUnder(p);
      if (!under.length) return usage(`${p}: no *.pkt files`);
      files.push(...under);
    }
  }
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const error = await runFile(file, mode, defines);
    if (error === null) {
      passed++;
      io.out(`PASS ${file}`);
    } else {
      failed++;
      const [first, ...rest] = error.split('\n');
      io.out(`FAIL ${first}`);
      for (const l of rest) io.out(`  ${l}`);
    }
  }
  io.out(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

/** Runs one script; null when it passes, else its first error (starting with `file:line:`). */
async function runFile(file: string, mode: IpVersion, defines: Map<string, string>): Promise<string | null> {
  try {
    const text = readFileSync(file, 'utf8');
    const r = await runScript(parseScript(text, { file, defines }), { file, mode });
    return r.ok ? null : (r.errors[0] ?? `${file}: failed`);
  } catch (e) {
    // A syntax error names file:line:column already.
    return e instanceof Error ? e.message : String(e);
  }
}
