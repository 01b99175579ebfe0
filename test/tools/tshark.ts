// Reading our captures back with Wireshark's tshark: every frame must dissect with no malformed
// packet, no error-level expert note and no checksum complaint, with IPv4/UDP/TCP checksum
// validation switched on (ICMP's is always checked). CI installs tshark (.ci/run); elsewhere the
// tests that need it skip and say why.

import { spawnSync } from 'node:child_process';

let found: boolean | undefined;

/** Why tshark tests cannot run here, or null when they can. */
export function tsharkMissing(): string | null {
  if (found === undefined) {
    const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
    found = r.status === 0;
  }
  return found ? null : 'tshark is not installed (CI installs it: apt-get install tshark)';
}

const CHECKSUMS = [
  '-o',
  'ip.check_checksum:TRUE',
  '-o',
  'udp.check_checksum:TRUE',
  '-o',
  'tcp.check_checksum:TRUE',
];

/** expert severities (epan/proto.h PI_*): ERROR = 0x00800000; the checksum group = 0x01000000. */
const PI_ERROR = 0x00800000;
const PI_CHECKSUM = 0x01000000;
/** Joins several values of one field (expert messages may hold commas). */
const SEP = '\x1f';

export interface TsharkFrame {
  number: number;
  protocols: string;
  interfaceName: string;
  /** epb_flags direction as tshark reads it: 1 inbound, 2 outbound, 0 unknown or absent. */
  direction: number;
  timeEpoch: string;
  /** Expert notes and malformed markers worth failing for. */
  problems: string[];
}

export interface TsharkReport {
  frames: TsharkFrame[];
  /** Every problem, as "frame N: message". */
  problems: string[];
  /** stderr minus tshark's note about running as root. */
  stderr: string;
}

function run(args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const stderr = r.stderr
    .split('\n')
    .filter((l) => l && !/Running as user "root"/.test(l))
    .join('\n');
  return { stdout: r.stdout, stderr, status: r.status };
}

/** Dissect `file` with checksum validation and collect what tshark complains about. */
export function tsharkCheck(file: string): TsharkReport {
  const fields = [
    'frame.number',
    'frame.protocols',
    'frame.interface_name',
    'frame.packet_flags_direction',
    'frame.time_epoch',
    '_ws.malformed',
    '_ws.expert.severity',
    '_ws.expert.group',
    '_ws.expert.message',
  ];
  const args = [
    '-r',
    file,
    '-n',
    ...CHECKSUMS,
    '-T',
    'fields',
    '-E',
    'separator=/t',
    '-E',
    'occurrence=a',
    '-E',
    `aggregator=${SEP}`,
  ];
  for (const f of fields) args.push('-e', f);
  const r = run(args);
  if (r.status !== 0) throw new Error(`tshark -r ${file} failed (${r.status}): ${r.stderr}`);
  const frames: TsharkFrame[] = [];
  const problems: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const [num, protos, ifname, dir, time, malformed, sev, group, msg] = line.split('\t');
    const f: TsharkFrame = {
      number: Number(num),
      protocols: protos,
      interfaceName: ifname,
      direction: dir ? Number(dir) : 0,
      timeEpoch: time,
      problems: [],
    };
    if (malformed) f.problems.push(`malformed: ${malformed}`);
    const sevs = sev ? sev.split(SEP).map(Number) : [];
    const groups = group ? group.split(SEP).map(Number) : [];
    const msgs = msg ? msg.split(SEP) : [];
    sevs.forEach((s, i) => {
      if (s >= PI_ERROR || groups[i] === PI_CHECKSUM) f.problems.push(msgs[i] ?? `expert severity ${s}`);
    });
    for (const p of f.problems) problems.push(`frame ${f.number} (${f.protocols}): ${p}`);
    frames.push(f);
  }
  return { frames, problems, stderr: r.stderr };
}

/** `tshark -r file -V`: the full dissection; throws when tshark fails to read the file. */
export function tsharkVerbose(file: string): string {
  const r = run(['-r', file, '-n', '-V', ...CHECKSUMS]);
  if (r.status !== 0 || r.stderr) throw new Error(`tshark -V ${file}: status ${r.status} ${r.stderr}`);
  return r.stdout;
}
