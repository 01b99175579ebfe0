/**
 * Backtick commands of packetdrill scripts, read as configuration of the host under test. The
 * corpus uses a handful of shell forms — sysctl, the set_sysctls.py helper, defaults.sh, iproute2,
 * ethtool, tc, nstat, echo into /sys/module parameters — and those are interpreted here against the host's own tables; any other
 * command fails the script with a message naming it, rather than being skipped.
 *
 * Scripts address packetdrill's tun device as tun0; here that is the host's eth0.
 */

import type { Host } from '../../sim/host.js';
import { dev_get_by_name } from '../../net/core/dev.js';
import type { NetDevice, Qdisc } from '../../net/core/netdevice.js';
import { FifoQdisc, dev_graft_qdisc } from '../../net/sched/sch_generic.js';
import { module_param_path } from '../../kernel/module_param.js';
import { EACCES, ENOENT, strerror } from '../../uapi/errno.js';
import { FqSchedData } from '../../net/sched/sch_fq.js';
import { parseFqOptions } from '../tc_fq.js';

/**
 * The values gtests/net/common/defaults.sh sets, in its order. The file also flushes the TCP
 * metrics cache and gives tun0 a pfifo qdisc, which need nothing here.
 */
export const DEFAULTS_SH: readonly (readonly [string, string])[] = [
  ['net.ipv4.tcp_rmem', '4096 540000 15728640'],
  ['net.ipv4.tcp_wmem', '4096 262144 4194304'],
  ['net.ipv4.tcp_timestamps', '1'],
  ['net.ipv4.tcp_syn_retries', '5'],
  ['net.ipv4.tcp_synack_retries', '5'],
  ['net.ipv4.tcp_frto', '2'],
  ['net.ipv4.tcp_sack', '1'],
  ['net.ipv4.tcp_dsack', '1'],
  ['net.ipv4.tcp_fack', '0'],
  ['net.ipv4.tcp_reordering', '3'],
  ['net.ipv4.tcp_congestion_control', 'cubic'],
  ['net.ipv4.tcp_slow_start_after_idle', '0'],
  ['net.ipv4.tcp_early_retrans', '4'],
  ['net.ipv4.tcp_recovery', '1'],
  ['net.ipv4.tcp_tso_win_divisor', '3'],
  ['net.ipv4.tcp_ecn', '0'],
  ['net.ipv4.tcp_ecn_option', '2'],
  ['net.ipv4.tcp_pacing_ss_ratio', '200'],
  ['net.ipv4.tcp_pacing_ca_ratio', '120'],
  ['net.ipv4.tcp_notsent_lowat', '4294967295'],
  ['net.ipv4.tcp_fastopen', '0x70403'],
  ['net.ipv4.tcp_fastopen_key', 'a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4'],
  ['net.ipv4.tcp_syncookies', '1'],
];

/** defaults.sh runs `sysctl -q … > /dev/null 2>&1` for these: a missing one is not an error. */
const DEFAULTS_QUIET = new Set(['net.ipv4.tcp_notsent_lowat']);

/** A command the runtime cannot carry out; the script fails with this message. */
export class CommandError extends Error {
  /** The exit status a shell would see (127: no such command). */
  constructor(
    message: string,
    readonly status = 127,
  ) {
    super(message);
  }
}

/** What running commands found out, kept for the run's result. */
export interface CommandLog {
  /**
   * sysctls the scripts set that the host cannot take: `name=value (why)`. defaults.sh carries
   * on past them (as `sysctl -q` does past an unknown key); any other command fails.
   */
  missingSysctls: string[];
  /** Commands accepted without an effect on the simulation, and why. */
  notes: string[];
}

/** nstat's memory of the counters it last showed (its history file). */
export interface NstatState {
  last: Map<string, number> | null;
}

export interface CommandContext {
  host: Host;
  log: CommandLog;
  nstat: NstatState;
}

/**
 * Run one backtick command (possibly several lines, `;`, `&&`, `||`, `\` continuations and
 * comments). Returns the shell exit status of the last pipeline; throws CommandError for
 * commands that cannot be interpreted.
 */
export function runCommand(text: string, ctx: CommandContext): number {
  const joined = text.replace(/\\\r?\n/g, ' ');
  let status = 0;
  // Why the last failing command failed: reported if the whole command ends up failing.
  let why: string | null = null;
  const pipelineStatus = (words: string[]): number => {
    try {
      why = null;
      return pipeline(words, ctx);
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      why = e.message;
      return e.status;
    }
  };
  for (const rawLine of joined.split(/\r?\n/)) {
    const words = shellWords(rawLine);
    if (!words.length) continue;
    // Lists: a ; b, a && b, a || b.
    let skip = false;
    let cur: string[] = [];
    const flush = (): void => {
      if (cur.length && !skip) status = pipelineStatus(cur);
      cur = [];
    };
    for (const w of words) {
      if (w === ';') {
        flush();
        skip = false;
      } else if (w === '&&' || w === '||') {
        flush();
        skip = w === '&&' ? status !== 0 : status === 0;
      } else cur.push(w);
    }
    flush();
  }
  if (status !== 0 && why !== null) throw new CommandError(why, status);
  return status;
}

/**
 * Split a line into words: quotes group (and are removed), `#` at a word start ends the line,
 * `;`, `&&`, `||` and `|` are words of their own, and redirections are dropped (output of
 * the commands here is discarded anyway).
 */
export function shellWords(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  let cur: string | null = null;
  const end = (): void => {
    if (cur !== null) out.push(cur);
    cur = null;
  };

  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      end();
      i++;
    } else if (c === '#' && cur === null) break;
    else if (c === '"' || c === "'") {
      const j = line.indexOf(c, i + 1);
      if (j < 0) throw new CommandError(`unterminated quote in \`${line.trim()}\``);
      cur = (cur ?? '') + line.slice(i + 1, j);
      i = j + 1;
    } else if (line.startsWith('&&', i) || line.startsWith('||', i)) {
      end();
      out.push(line.slice(i, i + 2));
      i += 2;
    } else if (c === ';' || c === '|') {
      end();
      out.push(c);
      i++;
    } else {
      const redir = /^(?:\d?>>?|&>|\d?<)\s*(&\d|[^\s;|&]+)?/.exec(line.slice(i));
      if (cur === null && redir) {
        i += redir[0].length;
        // Standard output sent to a file stays, as the words `>`/`>>` and the file (echo
        // writes to /sys and /proc/sys through it); other redirections are dropped.
        const to = /^1?(>>?)\s*([^&\s;|][^\s;|&]*)$/.exec(redir[0]);
        if (to) out.push(to[1]!, to[2]!);
        continue;
      }
      const m = /^(\d)?>&\d/.exec(line.slice(i));
      if (m) {
        end();
        i += m[0].length;
        continue;
      }
      cur = (cur ?? '') + c;
      i++;
    }
  }
  end();
  return out;
}

function pipeline(words: string[], ctx: CommandContext): number {
  const stages: string[][] = [[]];
  // Where the last stage's standard output goes (null: the discarded output of the script).
  let stdout: string | null = null;
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    if (w === '|') stages.push([]);
    else if ((w === '>' || w === '>>') && k + 1 < words.length) stdout = words[++k]!;
    else stages.at(-1)!.push(w);
  }
  if (stages.length === 1) return simple(stages[0]!, ctx, stdout);
  // nstat [options] [NAME…] | grep [-q] PATTERN: whether a line nstat prints matches (lines
  // as nstat prints them: the name, then the value).
  const [first, ...rest] = stages;
  const grep = rest[0];
  if (first![0] === 'nstat' && rest.length === 1 && grep![0] === 'grep') {
    const args = grep!.slice(1).filter((a) => a !== '-q');
    if (args.length !== 1) throw new CommandError(`unsupported command: \`${words.join(' ')}\``);
    const shown = nstat(first!.slice(1), ctx);
    const re = new RegExp(args[0]!);
    for (const [name, value] of shown)
      if (re.test(`${name.padEnd(32)}${String(value).padEnd(19)}0.0`)) return 0;
    return 1;
  }
  throw new CommandError(`unsupported command: \`${words.join(' ')}\``);
}

function simple(argv: string[], ctx: CommandContext, stdout: string | null): number {
  const cmd = argv[0]!;
  const base = cmd.split('/').at(-1)!;
  if (base === 'echo') return echoCommand(argv, ctx, stdout);
  if (base === 'defaults.sh') {
    for (const [name, value] of DEFAULTS_SH)
      setSysctl(ctx, name, value, 'defaults.sh', true, DEFAULTS_QUIET.has(name));
    ctx.log.notes.push('defaults.sh: ip tcp_metrics flush and the pfifo qdisc on tun0 need nothing here');
    return 0;
  }
  if (base === 'sysctl') return sysctlCommand(argv, ctx);
  if (base === 'set_sysctls.py') {
    for (const a of argv.slice(1)) {
      const m = /^\/proc\/sys\/(.+?)=(.*)$/.exec(a);
      if (!m) throw new CommandError(`set_sysctls.py: cannot read argument ${a}`);
      setSysctl(ctx, m[1]!.replace(/\//g, '.'), m[2]!, 'set_sysctls.py', false, false);
    }
    return 0;
  }
  if (/^\/tmp\/sysctl_restore_.*\.sh$/.test(cmd)) {
    // set_sysctls.py's undo script: the host lives only for this run.
    return 0;
  }
  if (base === 'ip') return ipCommand(argv, ctx);
  if (base === 'ethtool') return ethtoolCommand(argv, ctx);
  if (base === 'tc') return tcCommand(argv, ctx);
  if (base === 'nstat') {
    nstat(argv.slice(1), ctx);
    return 0;
  }
  if (base === 'true' || base === ':') return 0;
  throw new CommandError(`unsupported command: \`${argv.join(' ')}\``);
}

/**
 * echo, with its output written to a file the host has: a module parameter
 * (/sys/module/<module>/parameters/<name>) or a sysctl (/proc/sys/...). A write the kernel refuses
 * fails the command (bash: `echo: write error: Invalid argument`), with status 1.
 */
function echoCommand(argv: string[], ctx: CommandContext, stdout: string | null): number {
  let args = argv.slice(1);
  const newline = args[0] !== '-n';
  if (!newline) args = args.slice(1);
  const text = args.join(' ') + (newline ? '\n' : '');
  if (stdout === null || stdout === '/dev/null') return 0;
  const param = module_param_path(stdout);
  if (param) {
    const r = ctx.host.kernel.module_params.write(param.module, param.name, text);
    if (r === -ENOENT || r === -EACCES)
      throw new CommandError(`${stdout}: ${strerror(-r)} (\`${argv.join(' ')} > ${stdout}\`)`, 1);
    if (r < 0)
      throw new CommandError(`echo: write error: ${strerror(-r)} (\`${argv.join(' ')} > ${stdout}\`)`, 1);
    return 0;
  }
  const sysctl = /^\/proc\/sys\/(.+)$/.exec(stdout);
  if (sysctl) {
    setSysctl(ctx, sysctl[1]!.replace(/\//g, '.'), text, 'echo', false, false);
    return 0;
  }
  throw new CommandError(`unsupported command: \`${argv.join(' ')} > ${stdout}\``);
}

function sysctlCommand(argv: string[], ctx: CommandContext): number {
  let ignoreUnknown = false;
  const assigns: string[] = [];
  for (const a of argv.slice(1)) {
    if (/^-[a-zA-Z]+$/.test(a)) {
      if (a.includes('e')) ignoreUnknown = true;
      if (!/^-[qwe]+$/.test(a)) throw new CommandError(`sysctl: unsupported option ${a}`);
    } else assigns.push(a);
  }
  for (const a of assigns) {
    const eq = a.indexOf('=');
    if (eq < 0) throw new CommandError(`sysctl: reading values (\`sysctl ${a}\`) is not supported`);
    const name = a.slice(0, eq).replace(/\//g, '.');
    setSysctl(ctx, name, a.slice(eq + 1), 'sysctl', ignoreUnknown, ignoreUnknown);
  }
  return 0;
}

/**
 * Write one sysctl. The host's table takes integers; a value it cannot hold (a vector such as
 * tcp_rmem, a word such as the congestion control name) or a name it does not have is recorded
 * in missingSysctls, and is an error unless `lenient`.
 */
function setSysctl(
  ctx: CommandContext,
  name: string,
  value: string,
  via: string,
  lenient: boolean,
  quiet: boolean,
): void {
  const names = ctx.host.sysctl.names();
  let why: string | null = null;
  const text = value.trim();
  // proc_dointvec() reads numbers with base 0: hex is accepted.
  const plain = /^0x[0-9a-fA-F]+$/.test(text) ? String(Number(text)) : text;
  // A host whose table takes text values (vectors, names) gets them as written.
  const sysctl = ctx.host.sysctl as { writeText?: (name: string, value: string) => void };
  if (!names.includes(name)) why = 'not a sysctl of this host';
  else if (sysctl.writeText) {
    try {
      sysctl.writeText(name, plain);
      return;
    } catch (e) {
      why = `rejected: ${e instanceof Error ? e.message : String(e)}`;
    }
  } else if (!/^-?\d+$/.test(plain)) why = 'the host takes integer values only';
  else {
    try {
      ctx.host.sysctl.write(name, Number(plain));
      return;
    } catch (e) {
      why = `rejected: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  const entry = `${name}=${text} (${why})`;
  if (!ctx.log.missingSysctls.includes(entry)) ctx.log.missingSysctls.push(entry);
  if (lenient || quiet) return;
  throw new CommandError(`${via}: cannot set ${entry}`, 255);
}

function ipCommand(argv: string[], ctx: CommandContext): number {
  const args = argv.slice(1).map((a) => (a === 'tun0' ? 'eth0' : a));
  if (args[0] === 'tcp_metrics' || args[0] === 'tcpmetrics') {
    if (args[1] === 'flush') {
      // No route metrics are cached between connections of a run yet, so nothing to drop.
      ctx.log.notes.push('ip tcp_metrics flush: nothing cached');
      return 0;
    }
    throw new CommandError(`unsupported command: \`${argv.join(' ')}\``);
  }
  if (args[0] === '-6') throw new CommandError(`unsupported command (no IPv6 yet): \`${argv.join(' ')}\``);
  if (args[0] === 'route' && (args[1] === 'change' || args[1] === 'replace')) {
    // packetdrill's test network has a route to the remote address to change; here the remote
    // is reached by the default route, so `change` becomes `replace`, which creates it.
    const rest = args.slice(2);
    const unsupported = rest.filter((w) => w === 'advmss' || w === 'initcwnd' || w === 'initrwnd');
    if (unsupported.length)
      throw new CommandError(
        `ip route: the host's routes have no ${unsupported.join('/')} metric yet: \`${argv.join(' ')}\``,
      );
    try {
      ctx.host.ip(['route', 'replace', ...rest].join(' '));
    } catch (e) {
      throw new CommandError(`\`${argv.join(' ')}\`: ${e instanceof Error ? e.message : String(e)}`);
    }
    return 0;
  }
  try {
    ctx.host.ip(args.join(' '));
  } catch (e) {
    throw new CommandError(`\`${argv.join(' ')}\`: ${e instanceof Error ? e.message : String(e)}`);
  }
  return 0;
}

function ethtoolCommand(argv: string[], ctx: CommandContext): number {
  if (argv[1] !== '-K' || argv.length < 5 || (argv.length - 3) % 2 !== 0)
    throw new CommandError(`unsupported command: \`${argv.join(' ')}\``);
  for (let i = 3; i < argv.length; i += 2) {
    const feature = argv[i]!;
    const v = argv[i + 1];
    if (!['tso', 'gso', 'gro', 'lro', 'sg', 'tx', 'rx'].includes(feature) || (v !== 'on' && v !== 'off'))
      throw new CommandError(`ethtool: unsupported setting ${feature} ${v ?? ''}`);
  }
  // The simulated devices hand every segment over as the stack built it (no offloads to turn
  // off), which is what the scripts ask for when they turn tso/gso off.
  ctx.log.notes.push(`${argv.join(' ')}: the simulated device has no segmentation offloads`);
  return 0;
}

function tcCommand(argv: string[], ctx: CommandContext): number {
  const a = argv.slice(1);
  const i = a.indexOf('root');
  const kind = i >= 0 ? a[i + 1] : undefined;
  const verb = a[1];
  const devName = a[2] === 'dev' ? a[3] : undefined;
  const dev = devName ? dev_get_by_name(ctx.host.netns, devName === 'tun0' ? 'eth0' : devName) : null;
  if (a[0] === 'qdisc' && (verb === 'delete' || verb === 'del')) {
    // Back to the device's own queue.
    if (dev && ORIGINAL_QDISC.has(dev)) {
      dev_graft_qdisc(dev, ORIGINAL_QDISC.get(dev)!);
      ORIGINAL_QDISC.delete(dev);
    }
    return 0;
  }
  if (a[0] === 'qdisc' && (verb === 'add' || verb === 'replace') && kind === 'pfifo' && a.length === i + 2) {
    // An unlimited pfifo in front of a device that never holds packets back: no effect.
    ctx.log.notes.push(`${argv.join(' ')}: the device queue already behaves as pfifo`);
    return 0;
  }
  const limit = a[i + 2] === 'limit' && a.length === i + 4 ? Number(a[i + 3]) : NaN;
  if (
    a[0] === 'qdisc' &&
    (verb === 'add' || verb === 'replace') &&
    kind === 'pfifo' &&
    dev &&
    Number.isInteger(limit)
  ) {
    // A bounded FIFO (`limit 0` drops everything: the sender sees local congestion).
    if (!ORIGINAL_QDISC.has(dev)) ORIGINAL_QDISC.set(dev, dev.qdisc);
    dev_graft_qdisc(dev, new FifoQdisc(dev, 'pfifo', limit));
    return 0;
  }
  if (
    a[0] === 'qdisc' &&
    (verb === 'add' || verb === 'replace' || verb === 'change') &&
    kind === 'fq' &&
    dev
  ) {
    // sch_fq, with its options: the host paces and schedules what eth0 sends.
    let opts;
    try {
      opts = parseFqOptions(a.slice(i + 2));
    } catch (e) {
      throw new CommandError(`\`${argv.join(' ')}\`: ${e instanceof Error ? e.message : String(e)}`, 1);
    }
    const cur = dev.qdisc;
    if (cur instanceof FqSchedData && verb !== 'add') {
      if (cur.change(opts)) throw new CommandError(`\`${argv.join(' ')}\`: Invalid argument`, 2);
      return 0;
    }
    if (verb === 'change') throw new CommandError(`\`${argv.join(' ')}\`: no fq qdisc to change`, 2);
    const q = new FqSchedData(dev);
    if (q.change(opts)) throw new CommandError(`\`${argv.join(' ')}\`: Invalid argument`, 2);
    if (!ORIGINAL_QDISC.has(dev)) ORIGINAL_QDISC.set(dev, dev.qdisc);
    dev_graft_qdisc(dev, q);
    return 0;
  }
  throw new CommandError(`unsupported qdisc setup: \`${argv.join(' ')}\``);
}

/** The root qdisc a device had before a script's `tc qdisc add` replaced it. */
const ORIGINAL_QDISC = new WeakMap<NetDevice, Qdisc | null>();

/**
 * nstat: the counters of /proc/net/snmp and /proc/net/netstat, named as nstat names them
 * (TcpExtListenDrops, TcpActiveOpens…); without -a it shows what changed since it last ran
 * and is not zero. Returns the names it would print.
 */
function nstat(args: string[], ctx: CommandContext): Map<string, number> {
  const now = new Map<string, number>();
  const read = (text: string): void => {
    const lines = text.split('\n').filter((l) => l.trim());
    for (let k = 0; k + 1 < lines.length; k += 2) {
      const head = lines[k]!.split(/\s+/);
      const vals = lines[k + 1]!.split(/\s+/);
      const prefix = head[0]!.replace(/:$/, '');
      for (let j = 1; j < head.length; j++) now.set(prefix + head[j], Number(vals[j]));
    }
  };
  read(ctx.host.procNetSnmp());
  read(ctx.host.procNetNetstat());
  // Options may be grouped (-az); -a: absolute values, -z: zeros too; other words name counters.
  const short = args
    .filter((a) => /^-[^-]/.test(a))
    .join('')
    .replace(/-/g, '');
  const names = args.filter((a) => !a.startsWith('-'));
  const all = short.includes('a') || args.includes('--ignore');
  const zeros = short.includes('z') || args.includes('--zeros');
  const shown = new Map<string, number>();
  for (const [k, v] of now) {
    const d = all || !ctx.nstat.last ? v : v - (ctx.nstat.last.get(k) ?? 0);
    if ((d !== 0 || zeros) && (!names.length || names.includes(k))) shown.set(k, d);
  }
  if (!short.includes('s') && !args.includes('--no-update')) ctx.nstat.last = now;
  return shown;
}
