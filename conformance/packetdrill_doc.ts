// `npm run conformance:packetdrill -- DIR`: runs the upstream packetdrill sets
// (conformance/packetdrill-sets.md) from a google/packetdrill checkout or bare git copy at DIR,
// counts how many upstream scripts the parser reads, prints both, and rewrites the packetdrill
// section of docs/conformance.md (everything before "## Differential suite"), keeping the rest.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import {
  PACKETDRILL_SETS,
  formatPacketdrill,
  parseUpstream,
  runPacketdrill,
  type ParseCount,
  type PacketdrillResult,
} from './packetdrill.js';

const DOC = fileURLToPath(new URL('../../docs/conformance.md', import.meta.url));
const SECTION_START = '## packetdrill';
const SECTION_END = '## Differential suite';

const SET_TITLES: Record<string, string> = {
  L: 'Set L (connection lifecycle and the socket API)',
  R: 'Set R (loss recovery and congestion control)',
  S: "Set S (the interpreter's own tests)",
};

/** A markdown table with columns padded as prettier pads them. */
function table(head: string[], rows: string[][]): string[] {
  const w = head.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`, ...rows.map(line)];
}

/** The first error's first line, without the file name, short enough for a table cell. */
function firstError(r: PacketdrillResult): string {
  const first = (r.error.split('\n')[0] ?? '').replace(/^[^:\s]+\.pkt:(\d+:)?\s*/, (_m, l?: string) =>
    l ? `line ${l} ` : '',
  );
  return first.replace(/\|/g, '\\|').slice(0, 110);
}

export function packetdrillSection(results: PacketdrillResult[], parse: ParseCount, sets: string[]): string {
  const out: string[] = [
    '## packetdrill',
    '',
    'The upstream scripts of google/packetdrill (`gtests/net/`) run by our own interpreter',
    '(`src/tools/packetdrill/`) against one host in virtual time, set by set as',
    '`conformance/packetdrill-sets.md` lists them. This section is written by',
    '`npm run conformance:packetdrill -- DIR` (DIR: a clone or a bare git copy of the repository).',
    '',
    "The runner applies each script's own configuration (`defaults.sh`, `sysctl`,",
    '`set_sysctls.py`, `ip route`, `ethtool`, `tc` lines) to the host, the definitions',
    "packetdrill's `run_all.py` passes in ipv4 mode (`TFO_COOKIE`, `CMSG_LEVEL_IP`, …), and one",
    'setting of its own: `net.ipv4.tcp_syn_linear_timeouts=0`. The upstream scripts predate that',
    'sysctl (Linux 6.15+; 4 on the reference kernel, which then sends its first SYN',
    'retransmissions 1 s apart); usernet implements both behaviours.',
    '',
    `**Parsing:** parsed ${parse.parsed}/${parse.total} upstream scripts (every \`.pkt\` under`,
    "`gtests/net/`, with `run_all.py`'s definitions and, for `psp/`, the `-D MSS=1440` of the commit",
    'that added them).',
  ];
  if (parse.failures.length) out.push('', ...parse.failures.map((f) => `- ${f}`));
  for (const set of sets) {
    const rs = results.filter((r) => r.set === set);
    if (!rs.length) continue;
    const passed = rs.filter((r) => r.ok).length;
    const def = PACKETDRILL_SETS[set]!;
    out.push('', `### ${SET_TITLES[set] ?? `Set ${set}`}`, '');
    out.push(`Folders: ${def.dirs.map((d) => `\`${d.replace(/^gtests\/net\//, '')}\``).join(', ')}.`);
    out.push('', `Result: **${passed} of ${rs.length}** as expected.`, '');
    const rows = rs.map((r) => [
      `\`${r.script}\``,
      r.linuxDiffers ? (r.ok ? 'xfail' : 'xpass') : r.ok ? 'pass' : 'fail',
      r.linuxDiffers ? `as on Linux: ${r.linuxDiffers.slice(0, 80)}…` : r.ok ? '' : firstError(r),
    ]);
    out.push(...table(['script', 'result', 'first failing line'], rows));
  }
  return out.join('\n') + '\n';
}

/** Replaces the packetdrill section of `doc`, keeping what is before and after it. */
export function replaceSection(doc: string, section: string): string {
  const start = doc.indexOf(SECTION_START);
  const end = doc.indexOf(SECTION_END);
  if (start < 0 || end < 0 || end < start)
    throw new Error(`docs/conformance.md: no "${SECTION_START}" section before "${SECTION_END}"`);
  return doc.slice(0, start) + section + '\n' + doc.slice(end);
}

async function main(argv: string[]): Promise<number> {
  let dir = '';
  let sets = ['L', 'R', 'S'];
  let write = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--sets') sets = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--no-write') write = false;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(
        'usage: npm run conformance:packetdrill -- [--sets L,R,S] [--no-write] DIR\n' +
          'DIR: a google/packetdrill clone or bare git copy\n',
      );
      return 0;
    } else if (a.startsWith('-')) {
      process.stderr.write(`unknown option ${a}\n`);
      return 2;
    } else dir = a;
  }
  dir ||= process.env.PACKETDRILL_REPO ?? '';
  if (!dir) {
    process.stderr.write('usage: npm run conformance:packetdrill -- DIR\n');
    return 2;
  }
  const parse = parseUpstream(dir);
  const results = parse ? await runPacketdrill(dir, sets) : null;
  if (!parse || !results) {
    process.stderr.write(`${dir}: not a packetdrill git repository\n`);
    return 2;
  }
  process.stdout.write(formatPacketdrill(results) + '\n');
  for (const f of parse.failures) process.stdout.write(`packetdrill parse error: ${f}\n`);
  process.stdout.write(`parsed ${parse.parsed}/${parse.total}\n`);
  if (write) {
    const doc = readFileSync(DOC, 'utf8');
    writeFileSync(DOC, replaceSection(doc, packetdrillSection(results, parse, sets)));
    process.stdout.write(`wrote ${DOC}\n`);
  }
  return 0;
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
