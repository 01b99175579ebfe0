/**
 * The packetdrill interpreter: system calls, TCP / UDP / ICMP packet lines, backtick commands
 * and `%{ }%` code blocks, run against a usernet host in virtual time with packetdrill's
 * runtime rules (run.c, run_packet.c, run_system_call.c, code.c).
 *
 * The host under test has packetdrill's address plan: its eth0 holds the local address (a /16),
 * the remote address is reached through the gateway, and the gateway's neighbour entry is static
 * and points at the other end of a veth pair. That end belongs to a "wire" host with no address
 * of its own: the runtime taps the host's eth0 to see what it sends and injects what the script
 * sends in with dev_queue_xmit from the wire end.
 *
 * Times: an event's time is absolute, or relative to the moment the previous event finished
 * (to the previous event's script time between two inbound packets, so a burst keeps its
 * spacing). An event is on time when it is within max(tolerance_usecs, tolerance_percent of the
 * gap since the previous event's time) of its script time. Inbound packets, system calls,
 * commands and code wait for their time; an outbound line looks at what the host sent at once,
 * waiting up to two seconds past its time for a packet that has not come.
 *
 * Sockets: as packetdrill, one "socket under test" receives the packet lines: the last socket
 * created, or the child a listener makes for an inbound SYN, or a connecting socket once its SYN
 * is seen. Outbound segments of other connections are ignored; one of the socket under test that
 * the script does not expect fails the next outbound line (nothing checks what is left at the end).
 */

import type {
  Event,
  Expr,
  IcmpPacket,
  PacketSpec,
  Script,
  SyscallSpec,
  TcpPacket,
  UdpPacket,
} from './ast.js';
import { World } from '../../sim/world.js';
import type { Host } from '../../sim/host.js';
import type { Task, EpollEvent } from '../../sim/task.js';
import type { Link } from '../../sim/link.js';
import { SyscallError } from '../../sim/errors.js';
import { Timer, VirtualClock } from '../../kernel/time.js';
import { netif_rx } from '../../net/core/dev.js';
import { eth_type_trans } from '../../net/ethernet/eth.js';
import type { NetDevice } from '../../net/core/netdevice.js';
import { netdev_alloc_skb, type SkBuff } from '../../net/core/skbuff.js';
import { ETH_HLEN, ETH_P_IP } from '../../wire/ethernet.js';
import { csum_partial, csum_tcpudp_magic, ip_compute_csum, ip_fast_csum } from '../../wire/checksum.js';
import { get16, get32, put16, put32 } from '../../wire/bytes.js';
import { errnoByName, strerror } from '../../uapi/errno.js';
import * as uapiSocket from '../../uapi/socket.js';
import * as uapiIn from '../../uapi/in.js';
import * as uapiFcntl from '../../uapi/fcntl.js';
import * as uapiPoll from '../../uapi/poll.js';
import * as uapiTcp from '../../uapi/tcp.js';
import type { SockaddrIn } from '../../uapi/in.js';
import type { PollFd } from '../../kernel/select.js';
import {
  PacketError,
  PdSocket,
  aggregate,
  buildInbound,
  claimOutbound,
  describeTcp,
  payloadLen,
  segmentOf,
  toScriptSpace,
  verifyFragment,
  verifyOutbound,
  type Segment,
  type TcpConfig,
} from './tcp_packets.js';
import { CommandError, runCommand, type CommandLog, type NstatState } from './commands.js';
import { CODE_SYMBOLS, TCP_INFO_LEN, decodeTcpInfo, type TcpInfo } from './tcp_info.js';
import { CodeEnv, CodeError } from './code.js';

export interface RunOptions {
  /** Seed of the world (default 1). */
  seed?: number;
  /** Name used in error messages (default `script`). */
  file?: string;
  /** Overrides `--tolerance_usecs` (packetdrill's default is 4000). */
  toleranceUsecs?: number;
  /**
   * The address family the script runs in (`--ip_version`): `ipv4` (the default), `ipv6`, or
   * `ipv4-mapped-ipv6`. A script's own `--ip_version` option takes precedence.
   */
  mode?: IpVersion;
}

/** packetdrill's `--ip_version` values. */
export type IpVersion = 'ipv4' | 'ipv6' | 'ipv4-mapped-ipv6';

export const IP_VERSIONS: readonly IpVersion[] = ['ipv4', 'ipv6', 'ipv4-mapped-ipv6'];

export interface RunResult {
  ok: boolean;
  errors: string[];
  /**
   * sysctls the script's commands set that the host cannot take (`name=value (why)`); defaults.sh
   * goes on without them, so a script can pass or fail for that reason.
   */
  missingSysctls: string[];
  /** Commands accepted without an effect here, and why. */
  notes: string[];
  /** What the code blocks printed. */
  output: string[];
}

/** An error at one line of the script; the run stops there. `text` is the whole message. */
class ScriptError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const SYMBOLS = new Map<string, number>();
for (const mod of [uapiSocket, uapiIn, uapiFcntl, uapiPoll, uapiTcp])
  for (const [k, v] of Object.entries(mod))
    if (typeof v === 'number' && /^[A-Z][A-Za-z0-9_]*$/.test(k)) SYMBOLS.set(k, v);

const ICMP_TYPES: Record<string, number> = {
  echo_reply: 0,
  unreachable: 3,
  source_quench: 4,
  redirect: 5,
  echo_request: 8,
  time_exceeded: 11,
  parameter_problem: 12,
  timestamp_request: 13,
  timestamp_reply: 14,
};

const ICMP_CODES: Record<string, Record<string, number>> = {
  unreachable: {
    net_unreachable: 0,
    host_unreachable: 1,
    protocol_unreachable: 2,
    port_unreachable: 3,
    frag_needed: 4,
    source_route_failed: 5,
    net_unknown: 6,
    host_unknown: 7,
    source_host_isolated: 8,
    net_prohibited: 9,
    host_prohibited: 10,
    net_unreachable_for_tos: 11,
    host_unreachable_for_tos: 12,
    packet_filtered: 13,
    precedence_violation: 14,
    precedence_cutoff: 15,
  },
  time_exceeded: { ttl_exceeded: 0, fragment_reassembly_time_exceeded: 1 },
  redirect: { net: 0, host: 1, tos_net: 2, tos_host: 3 },
};

function ipToNum(a: string): number {
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((o) => !Number.isInteger(o) || o < 0 || o > 255))
    throw new Error(`bad IPv4 address ${a}`);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function numToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** What the host under test sent, as seen on its eth0. */
interface Sent {
  timeNs: number;
  /** The IPv4 packet (no Ethernet header). */
  ip: Uint8Array;
}

/** A system call still running (it blocked). */
interface Pending {
  line: number;
  spec: SyscallSpec;
  done: boolean;
  promise: Promise<void>;
}

/** A code block waiting for the end of the run, with the TCP_INFO of its event time. */
interface CodeSnapshot {
  line: number;
  code: string;
  info: Partial<TcpInfo>;
}

/** The first port packetdrill's ephemeral_port() would give the remote end of a passive test. */
const FIRST_REMOTE_PORT = 48879;

const SYN_LINEAR_TIMEOUTS = 'net.ipv4.tcp_syn_linear_timeouts';

/** How long the host under test has been up when the script starts (virtual time). */
const HOST_UPTIME_NS = 100e9;

/** How long a `*` outbound line waits for its packet, in virtual time. */
const ANY_TIME_WAIT_USECS = 3600e6;

function isInbound(e: Event): boolean {
  return e.kind === 'packet' && e.packet.direction === 'inbound';
}

class Runner {
  readonly world: World;
  readonly host: Host;
  readonly wire: Host;
  readonly link: Link;
  readonly task: Task;
  readonly localIp: string;
  readonly remoteIp: string;
  readonly gatewayIp: string;
  readonly tolUsecs: number;
  readonly tolPercent: number;
  readonly bindPort: number;
  readonly connectPort: number;
  readonly tcpCfg: TcpConfig;
  readonly file: string;
  /** Ports of the UDP socket under test, as far as the script has shown them. */
  localPort = 0;
  remotePort: number;
  private readonly sent: Sent[] = [];
  private notify: (() => void) | null = null;
  private readonly startNs: number;
  private pending: Pending | null = null;
  private ipId = 1;
  /** Script fd → live fd, where they differ. */
  private readonly fdMap = new Map<number, number>();
  /** Sockets by script fd, and the one the packet lines talk to. */
  private readonly sockets = new Map<number, PdSocket>();
  private readonly allSockets: PdSocket[] = [];
  private sut: PdSocket | null = null;
  private nextRemotePort = FIRST_REMOTE_PORT;
  private readonly codes: CodeSnapshot[] = [];
  readonly log: CommandLog = { missingSysctls: [], notes: [] };
  private readonly nstat: NstatState = { last: null };
  readonly output: string[] = [];

  constructor(
    readonly script: Script,
    opts: RunOptions,
  ) {
    this.file = opts.file ?? 'script';
    const opt = new Map(script.options.map((o) => [o.name, o.value]));
    this.localIp = opt.get('local_ip') ?? '192.168.0.1';
    this.remoteIp = opt.get('remote_ip') ?? '192.0.2.1';
    this.gatewayIp = opt.get('gateway_ip') ?? '192.168.0.2';
    this.tolUsecs = opts.toleranceUsecs ?? Number(opt.get('tolerance_usecs') ?? 4000);
    this.tolPercent = Number(opt.get('tolerance_percent') ?? 12.5);
    this.bindPort = Number(opt.get('bind_port') ?? 8080);
    this.connectPort = Number(opt.get('connect_port') ?? 8080);
    this.remotePort = this.connectPort;
    const ipVersion = opt.get('ip_version') ?? opts.mode ?? 'ipv4';
    if (ipVersion !== 'ipv4')
      throw new ScriptError(0, `--ip_version=${ipVersion} is not supported yet (ipv4 only)`);
    const mtu = Number(opt.get('mtu') ?? 1500);
    this.tcpCfg = {
      localIp: ipToNum(this.localIp),
      remoteIp: ipToNum(this.remoteIp),
      mss: Number(opt.get('mss') ?? 0),
      tsEcrScaled: opt.has('tcp_ts_ecr_scaled'),
      tsTickUsecs: Number(opt.get('tcp_ts_tick_usecs') ?? 0),
      strictSegments: opt.has('strict_segments'),
    };

    this.world = new World({ seed: opts.seed ?? 1 });
    // A real host has been up a while when packetdrill starts: clocks that read 0 at the
    // script's start would be taken for "never" by the kernel (a send time of 0 gives no RTT
    // sample, a zero stamp means unset).
    if (this.world.clock instanceof VirtualClock) this.world.clock.advance(HOST_UPTIME_NS);
    this.host = this.world.addHost('sut');
    // The kernels packetdrill's scripts were written against back SYNs off exponentially from
    // the first retransmission; Linux 6.18 defaults to 4 linear ones first
    // (net.ipv4.tcp_syn_linear_timeouts=4), which tests/packet-timeout.pkt and every SYN timing
    // line would see. The scripts that want linear timeouts set the sysctl themselves.
    const sysctl = this.host.sysctl as { writeText?: (name: string, value: string) => void };
    if (this.host.sysctl.names().includes(SYN_LINEAR_TIMEOUTS)) sysctl.writeText?.(SYN_LINEAR_TIMEOUTS, '0');
    this.wire = this.world.addHost('wire');
    this.link = this.world.link(this.host, this.wire, { mtu });
    this.host.ip(`ip addr add ${this.localIp}/16 dev eth0`);
    const mac = [...this.link.b.dev_addr.slice(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
    this.host.ip(`ip neigh add ${this.gatewayIp} lladdr ${mac} dev eth0 nud permanent`);
    this.host.ip(`ip route add default via ${this.gatewayIp}`);
    this.link.a.taps.push((skb, _dev, outgoing) => {
      if (!outgoing) return;
      this.record(skb);
    });
    this.task = this.host.spawn({ comm: 'packetdrill' });
    // Stand-ins for stdin, stdout and stderr, so the script's first socket is fd 3 as on Linux.
    for (let i = 0; i < 3; i++) this.task.socket(uapiSocket.AF_UNIX, uapiSocket.SOCK_DGRAM, 0);
    this.startNs = this.world.clock.now();
  }

  private record(skb: SkBuff): void {
    const frame = skb.head.slice(skb.data, skb.tail);
    if (frame.length < ETH_HLEN + 20 || get16(frame, 12) !== ETH_P_IP) return;
    this.sent.push({ timeNs: this.world.clock.now(), ip: frame.slice(ETH_HLEN) });
    const n = this.notify;
    this.notify = null;
    n?.();
  }

  private nowUsecs(): number {
    return (this.world.clock.now() - this.startNs) / 1000;
  }

  private fmt(usecs: number): string {
    return (usecs / 1e6).toFixed(6);
  }

  /** Wait until the script time `usecs` (virtual time jumps there when nothing else runs). */
  private sleepUntil(usecs: number): Promise<void> {
    const at = this.startNs + Math.round(usecs * 1000);
    if (this.world.clock.now() >= at) return this.settle();
    return new Promise<void>((resolve) => {
      const t = new Timer(() => resolve());
      this.world.clock.mod_timer(t, at);
    }).then(() => this.settle());
  }

  /**
   * Let what is due at this instant run, without letting time move: a guard timer at the
   * current instant keeps the virtual clock from jumping to the next deadline while the
   * kernel's work of this instant (timers due now and the promise jobs they resolve) finishes.
   */
  private async settle(): Promise<void> {
    const clock = this.world.clock;
    for (let i = 0; i < 50; i++) {
      await new Promise<void>((resolve) => clock.mod_timer(new Timer(() => resolve()), clock.now()));
      if (clock.nextExpiry() > clock.now()) return;
    }
  }

  /** Wait for an outbound packet until script time `usecs`; null when none came. */
  private async nextSent(deadlineUsecs: number): Promise<Sent | null> {
    if (this.sent.length) return this.sent.shift()!;
    const at = this.startNs + Math.round(deadlineUsecs * 1000);
    const t = new Timer(() => {
      const n = this.notify;
      this.notify = null;
      n?.();
    });
    await new Promise<void>((resolve) => {
      this.notify = resolve;
      this.world.clock.mod_timer(t, Math.max(at, this.world.clock.now()));
    });
    this.world.clock.del_timer(t);
    if (!this.sent.length) return null;
    // Let the rest of this instant happen: segments sent together are all in hand.
    return this.sent.shift()!;
  }

  /** wait_for_event() + check_event_time(): wait for `at`, then fail if already late. */
  private async waitFor(line: number, what: string, at: number, tol: number): Promise<void> {
    await this.sleepUntil(at);
    const t = this.nowUsecs();
    if (t > at + tol)
      throw new ScriptError(
        line,
        `timing error: expected ${what} at ${this.fmt(at)} sec but happened at ${this.fmt(t)} sec; tolerance ${this.fmt(tol)} sec`,
      );
  }

  async run(): Promise<void> {
    for (const e of this.script.events) if (e.kind === 'packet') this.checkSupported(e.pos.line, e.packet);
    if (this.script.initCommand !== null) this.command(0, this.script.initCommand, 'init');
    let prev: { ev: Event; at: number } | null = null;
    for (const ev of this.script.events) {
      const line = ev.pos.line;
      // adjust_relative_event_times().
      const offset = prev && isInbound(prev.ev) && isInbound(ev) ? prev.at : this.nowUsecs();
      let at: number;
      let end: number | null = null;
      switch (ev.time.kind) {
        case 'absolute':
          at = ev.time.usecs;
          break;
        case 'relative':
          at = offset + ev.time.usecs;
          break;
        case 'absolute-range':
          at = ev.time.usecs;
          end = ev.time.endUsecs;
          break;
        case 'relative-range':
          at = offset + ev.time.usecs;
          end = offset + ev.time.endUsecs;
          break;
        case 'any':
          at = offset;
          end = Number.POSITIVE_INFINITY;
          break;
      }
      if (
        prev &&
        ev.time.kind.startsWith('absolute') &&
        prev.ev.time.kind.startsWith('absolute') &&
        at < prev.at
      )
        throw new ScriptError(line, `time goes backward in script from ${prev.at} usec to ${at} usec`);
      // verify_time(): the dynamic tolerance from the previous event's time.
      const tol = Math.max(this.tolUsecs, prev ? (this.tolPercent / 100) * (at - prev.at) : 0);
      const lastAt = prev ? prev.at : 0;
      switch (ev.kind) {
        case 'packet':
          if (ev.packet.direction === 'outbound') await this.outbound(line, ev, at, end, lastAt, tol);
          else {
            await this.waitFor(line, 'inbound packet', at, tol);
            this.inject(line, ev.packet);
            await this.settle();
          }
          break;
        case 'syscall': {
          const endAt =
            ev.syscall.endUsecs === null
              ? null
              : ev.time.kind === 'relative'
                ? offset + ev.syscall.endUsecs
                : ev.syscall.endUsecs;
          await this.syscall(line, ev.syscall, at, endAt, tol);
          break;
        }
        case 'command':
          await this.waitFor(line, 'command', at, tol);
          this.command(line, ev.command, 'event');
          await this.settle();
          break;
        case 'code':
          await this.waitFor(line, 'data collection for code', at, tol);
          this.snapshot(line, ev.code);
          break;
      }
      prev = { ev, at };
    }
    if (this.pending) {
      // syscalls_free(): a blocking call gets one more second to return, then the run fails.
      if (!this.pending.done)
        await Promise.race([
          this.pending.promise.catch(() => undefined),
          this.sleepUntil(this.nowUsecs() + 1e6),
        ]);
      if (!this.pending.done)
        throw new ScriptError(
          this.pending.line,
          'runtime error: exiting while a blocking system call is in progress',
        );
      await this.pending.promise;
    }
    await this.settle();
    if (this.script.cleanupCommand !== null) this.command(0, this.script.cleanupCommand, 'cleanup');
    this.runCode();
  }

  private checkSupported(line: number, p: PacketSpec): void {
    if (p.outer.length) throw new ScriptError(line, 'encapsulation (outer headers) not supported yet');
    if (p.protocol === 'tcp' && p.psp) throw new ScriptError(line, 'PSP encapsulation not supported yet');
  }

  // ---- commands and code ----

  private command(line: number, text: string, kind: 'init' | 'event' | 'cleanup'): void {
    let status: number;
    try {
      status = runCommand(text, { host: this.host, log: this.log, nstat: this.nstat });
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      const what =
        kind === 'event' ? `error executing \`${text.trim()}\` command` : `error executing ${kind} command`;
      throw new ScriptError(line, `${what}: ${e.message}`);
    }
    if (status !== 0) {
      const what =
        kind === 'event' ? `error executing \`${text.trim()}\` command` : `error executing ${kind} command`;
      throw new ScriptError(line, `${what}: non-zero status ${status}`);
    }
  }

  /** run_code_event(): TCP_INFO of the socket under test now; the code runs at the end. */
  private snapshot(line: number, code: string): void {
    const s = this.sut;
    if (!s) throw new ScriptError(line, 'runtime error in code: no socket to use for code');
    let raw: Uint8Array;
    try {
      raw = this.task.getsockoptRaw(s.fd, uapiSocket.SOL_TCP, uapiTcp.TCP_INFO, TCP_INFO_LEN);
    } catch (e) {
      const why = e instanceof SyscallError ? ` (${e.code})` : '';
      throw new ScriptError(line, `runtime error in code: can't find getsockopt to get TCP info${why}`);
    }
    this.codes.push({ line, code, info: decodeTcpInfo(raw) });
  }

  /** code_execute(): the blocks in order, each with its snapshot bound, sharing variables. */
  private runCode(): void {
    if (!this.codes.length) return;
    const env = new CodeEnv(CODE_SYMBOLS);
    try {
      for (const c of this.codes) {
        env.bind(c.info as Record<string, number | undefined>);
        try {
          env.run(c.code);
        } catch (e) {
          if (e instanceof CodeError)
            throw new ScriptError(
              c.line,
              `error in Python code: ${e.kind}${e.message ? `: ${e.message}` : ''}`,
            );
          throw e;
        }
      }
    } finally {
      this.output.push(...env.output);
    }
  }

  // ---- system calls ----

  private async syscall(
    line: number,
    spec: SyscallSpec,
    at: number,
    endAt: number | null,
    tol: number,
  ): Promise<void> {
    if (this.pending) {
      // packetdrill has one thread for blocking calls: wait for the one before.
      await this.pending.promise;
      this.pending = null;
    }
    await this.waitFor(line, 'system call start', at, tol);
    const p: Pending = { line, spec, done: false, promise: Promise.resolve() };
    let failure: unknown = null;
    p.promise = (async () => {
      let r: number | null = null;
      let err: SyscallError | null = null;
      try {
        r = await this.call(line, spec);
      } catch (e) {
        if (e instanceof SyscallError) err = e;
        else throw e;
      }
      p.done = true;
      this.checkResult(line, spec, r, err);
      if (endAt !== null) {
        const t = this.nowUsecs();
        const etol = Math.max(this.tolUsecs, (this.tolPercent / 100) * (endAt - at));
        if (Math.abs(t - endAt) > etol)
          throw new ScriptError(
            line,
            `timing error: expected system call return at ${this.fmt(endAt)} sec but happened at ${this.fmt(t)} sec; tolerance ${this.fmt(etol)} sec`,
          );
      }
    })().catch((e: unknown) => {
      failure = e;
    });
    await this.settle();
    if (p.done || failure) {
      await p.promise;
      if (failure) throw failure;
      return;
    }
    if (endAt === null) {
      // A call expected to return at once that blocks: give it the tolerance.
      await this.sleepUntil(at + tol);
      if (!p.done) throw new ScriptError(line, `${spec.name}() blocked (expected to return at once)`);
      await p.promise;
      if (failure) throw failure;
      return;
    }
    p.promise = p.promise.then(() => {
      if (failure) throw failure;
    });
    // Keep a rejection from going unhandled before someone awaits it.
    p.promise.catch(() => undefined);
    this.pending = p;
  }

  /** What end_syscall() checks; messages as packetdrill's "runtime error in X call". */
  private checkResult(line: number, spec: SyscallSpec, r: number | null, err: SyscallError | null): void {
    const fail = (msg: string): never => {
      throw new ScriptError(line, `runtime error in ${spec.name} call: ${msg}`);
    };
    const want = spec.result;
    if (want.kind === 'ellipsis') return;
    const expected = this.int(line, want);
    const actual = err ? -1 : r!;
    const errText = err ? ` with errno ${err.errno} (${strerror(err.errno)})` : '';
    const fdCall = ['socket', 'accept', 'accept4', 'epoll_create', 'epoll_create1', 'dup'].includes(
      spec.name,
    );
    if (fdCall && expected >= 0) {
      if (actual < 0) fail(`Expected non-negative result but got ${actual}${errText}`);
    } else if (actual !== expected) fail(`Expected result ${expected} but got ${actual}${errText}`);
    if (spec.errno) {
      const wantNo = errnoByName(spec.errno.name);
      if (wantNo === undefined) fail(`unknown errno ${spec.errno.name}`);
      const got = err ? err.errno : 0;
      if (got !== wantNo)
        fail(`Expected errno ${wantNo} (${strerror(wantNo!)}) but got ${got} (${strerror(got)})`);
    }
  }

  private int(line: number, e: Expr): number {
    switch (e.kind) {
      case 'int':
        return Number(e.value);
      case 'word': {
        const v = SYMBOLS.get(e.name) ?? errnoByName(e.name);
        if (v === undefined) throw new ScriptError(line, `unknown symbol ${e.name}`);
        return v;
      }
      case 'binary':
        if (e.op === '|') return this.int(line, e.lhs) | this.int(line, e.rhs);
        if (e.op === '=') return this.int(line, e.rhs);
        break;
      case 'array':
        if (e.items.length === 1) return this.int(line, e.items[0]!);
        break;
      default:
        break;
    }
    throw new ScriptError(line, `expected an integer, got ${e.kind}`);
  }

  /** A script fd as the live one. */
  private fd(line: number, e: Expr | undefined): number {
    if (!e) throw new ScriptError(line, 'missing fd argument');
    const s = this.int(line, e);
    return this.fdMap.get(s) ?? s;
  }

  private sockaddr(line: number, e: Expr | undefined, local: boolean): SockaddrIn {
    if (!e || e.kind === 'ellipsis')
      return local
        ? { family: uapiSocket.AF_INET, addr: this.localIp, port: this.bindPort }
        : { family: uapiSocket.AF_INET, addr: this.remoteIp, port: this.connectPort };
    if (e.kind === 'sockaddr' && e.family === 'AF_INET')
      return { family: uapiSocket.AF_INET, addr: e.address, port: e.port };
    throw new ScriptError(line, `unsupported address argument (${e.kind})`);
  }

  private buffer(line: number, e: Expr | undefined, len: number): Uint8Array {
    const b = new Uint8Array(len);
    if (e?.kind === 'string') b.set(new TextEncoder().encode(e.value).slice(0, len));
    else if (e && e.kind !== 'ellipsis')
      throw new ScriptError(line, `unsupported buffer argument (${e.kind})`);
    return b;
  }

  /** Learn the local port of the UDP socket under test once it has one. */
  private track(fd: number): void {
    try {
      const a = this.task.getsockname(fd) as SockaddrIn;
      if (a.family === uapiSocket.AF_INET && a.port) this.localPort = a.port;
    } catch {
      // not a socket of ours: nothing to learn
    }
  }

  /** The socket behind a script fd, if the script made one there. */
  private socketOf(line: number, e: Expr | undefined): PdSocket | null {
    if (!e) return null;
    return this.sockets.get(this.int(line, e)) ?? null;
  }

  /** run_syscall_connect(): a connect (or sendto with an address) starts an active open. */
  private connecting(s: PdSocket | null, family: number, mustBeNew: boolean): void {
    if (!s) return;
    if (family === uapiSocket.AF_UNSPEC) {
      s.state = 'new';
      return;
    }
    if (s.state !== 'new') {
      if (mustBeNew) throw new PacketError('socket is not new');
      return;
    }
    s.state = 'connecting';
    s.remote.ip = ipToNum(this.remoteIp);
    s.remote.port = this.connectPort;
  }

  private async call(line: number, spec: SyscallSpec): Promise<number> {
    const a = spec.args;
    const n = (i: number): number => {
      const e = a[i];
      if (!e) throw new ScriptError(line, `${spec.name}(): missing argument ${i + 1}`);
      return this.int(line, e);
    };
    const t = this.task;
    switch (spec.name) {
      case 'socket': {
        const domain = a[0]?.kind === 'ellipsis' ? uapiSocket.AF_INET : n(0);
        const type = n(1);
        const protocol = n(2);
        const fd = t.socket(domain, type, protocol);
        const want = spec.result.kind === 'int' ? Number(spec.result.value) : fd;
        if (want >= 0 && want !== fd) this.fdMap.set(want, fd);
        const base = type & 0xf;
        const proto =
          protocol ||
          (base === uapiSocket.SOCK_STREAM
            ? uapiIn.IPPROTO_TCP
            : base === uapiSocket.SOCK_DGRAM
              ? uapiIn.IPPROTO_UDP
              : 0);
        const s = new PdSocket(proto);
        s.fd = fd;
        this.sockets.set(want, s);
        this.allSockets.push(s);
        this.sut = s;
        return fd;
      }
      case 'bind': {
        const fd = this.fd(line, a[0]);
        t.bind(fd, this.sockaddr(line, a[1], true));
        this.track(fd);
        return 0;
      }
      case 'connect': {
        const fd = this.fd(line, a[0]);
        const addr = this.sockaddr(line, a[1], false);
        this.connecting(this.socketOf(line, a[0]), addr.family, true);
        await t.connect(fd, addr);
        this.remotePort = addr.port;
        this.track(fd);
        return 0;
      }
      case 'listen': {
        t.listen(this.fd(line, a[0]), n(1));
        const s = this.socketOf(line, a[0]);
        if (s) s.state = 'listening';
        return 0;
      }
      case 'accept':
      case 'accept4': {
        const r = await t.accept(this.fd(line, a[0]), spec.name === 'accept4' ? n(3) : 0);
        // run_syscall_accept(): the child the handshake made gets this fd.
        const handshook = (s: PdSocket): boolean => s.state === 'synack-sent' || s.state === 'synack-acked';
        const child =
          this.allSockets.find((s) => handshook(s) && s.fd < 0) ?? this.allSockets.find(handshook);
        if (!child)
          throw new ScriptError(
            line,
            `runtime error in ${spec.name} call: unable to find socket matching accept() call`,
          );
        child.fd = r.fd;
        const want = spec.result.kind === 'int' ? Number(spec.result.value) : r.fd;
        if (want >= 0 && want !== r.fd) this.fdMap.set(want, r.fd);
        this.sockets.set(want, child);
        return r.fd;
      }
      case 'close': {
        const script = n(0);
        t.close(this.fd(line, a[0]));
        this.sockets.delete(script);
        this.fdMap.delete(script);
        return 0;
      }
      case 'shutdown':
        t.shutdown(this.fd(line, a[0]), n(1));
        return 0;
      case 'fcntl':
        return t.fcntl(this.fd(line, a[0]), n(1), a.length > 2 ? n(2) : 0);
      case 'write':
      case 'send':
      case 'sendto': {
        const fd = this.fd(line, a[0]);
        const len = n(2);
        const buf = this.buffer(line, a[1], len);
        let r: number;
        if (spec.name === 'write') r = await t.write(fd, buf);
        else if (spec.name === 'send') r = await t.send(fd, buf, n(3));
        else {
          const to = a[4] === undefined ? undefined : this.sockaddr(line, a[4], false);
          if (to) this.connecting(this.socketOf(line, a[0]), to.family, false);
          r = await t.sendto(fd, buf, n(3), to);
          if (to) this.remotePort = to.port;
        }
        this.track(fd);
        return r;
      }
      case 'sendmsg': {
        const fd = this.fd(line, a[0]);
        const m = a[1];
        if (m?.kind !== 'msghdr') throw new ScriptError(line, 'sendmsg(): expected a msghdr');
        const iov = this.iovecs(line, m.iov);
        return t.sendmsg(fd, { iov }, n(2));
      }
      case 'recvmsg':
        return this.recvmsg(line, spec);
      case 'read':
      case 'recv':
      case 'recvfrom': {
        const fd = this.fd(line, a[0]);
        const buf = new Uint8Array(n(2));
        let r: number;
        if (spec.name === 'read') r = await t.read(fd, buf);
        else if (spec.name === 'recv') r = await t.recv(fd, buf, n(3));
        else {
          const res = await t.recvfrom(fd, buf, n(3));
          r = res.n;
          const want = a[4];
          if (want?.kind === 'sockaddr' && res.addr) {
            const got = res.addr as SockaddrIn;
            if (got.addr !== want.address || got.port !== want.port)
              throw new ScriptError(
                line,
                `runtime error in recvfrom call: source ${got.addr}:${got.port}; expected ${want.address}:${want.port}`,
              );
          }
        }
        const want = a[1];
        if (want?.kind === 'string') {
          const got = new TextDecoder().decode(buf.slice(0, r));
          if (want.ellipsis ? !got.startsWith(want.value) : got !== want.value)
            throw new ScriptError(
              line,
              `runtime error in ${spec.name} call: read ${JSON.stringify(got)}; expected ${JSON.stringify(want.value)}`,
            );
        }
        return r;
      }
      case 'setsockopt': {
        const v = a[3];
        let value: number | { l_onoff: number; l_linger: number };
        if (v?.kind === 'linger') value = { l_onoff: Number(v.onoff), l_linger: Number(v.linger) };
        else value = n(3);
        t.setsockopt(this.fd(line, a[0]), n(1), n(2), value);
        return 0;
      }
      case 'getsockopt': {
        const got = t.getsockopt(this.fd(line, a[0]), n(1), n(2));
        const want = a[3];
        if (want && want.kind !== 'ellipsis') {
          const bad = (msg: string): never => {
            throw new ScriptError(line, `runtime error in getsockopt call: ${msg}`);
          };
          if (want.kind === 'linger' && typeof got === 'object' && 'l_onoff' in got) {
            if (got.l_onoff !== Number(want.onoff) || got.l_linger !== Number(want.linger))
              bad(
                `Bad getsockopt linger: expected: {onoff=${want.onoff}, linger=${want.linger}} actual: {onoff=${got.l_onoff}, linger=${got.l_linger}}`,
              );
          } else if (typeof got === 'number') {
            const exp = this.int(line, want);
            if (got >>> 0 !== exp >>> 0) bad(`Bad getsockopt optval: expected: ${exp} actual: ${got}`);
          } else bad('cannot compare this option value yet');
        }
        return 0;
      }
      case 'poll': {
        const list = a[0];
        if (list?.kind !== 'array') throw new ScriptError(line, 'poll(): expected an array of pollfd');
        const fds: PollFd[] = [];
        const want: number[] = [];
        for (const it of list.items) {
          if (it.kind !== 'pollfd') throw new ScriptError(line, 'poll(): expected {fd=…, events=…}');
          fds.push({ fd: this.fd(line, it.fd), events: this.int(line, it.events), revents: 0 });
          want.push(this.int(line, it.revents));
        }
        const r = await t.poll(fds, n(2));
        fds.forEach((f, i) => {
          if (f.revents !== want[i])
            throw new ScriptError(
              line,
              `runtime error in poll call: fd ${f.fd} revents 0x${f.revents.toString(16)}; expected 0x${want[i]!.toString(16)}`,
            );
        });
        return r;
      }
      case 'epoll_create':
      case 'epoll_create1': {
        const fd = t.epoll_create1(spec.name === 'epoll_create1' ? n(0) : 0);
        const want = spec.result.kind === 'int' ? Number(spec.result.value) : fd;
        if (want >= 0 && want !== fd) this.fdMap.set(want, fd);
        return fd;
      }
      case 'epoll_ctl': {
        const ev = a[3];
        let event: EpollEvent | null = null;
        if (ev?.kind === 'epoll_event')
          event = { events: this.int(line, ev.events) >>> 0, data: this.epollData(line, ev.field, ev.value) };
        t.epoll_ctl(this.fd(line, a[0]), n(1), this.fd(line, a[2]), event);
        return 0;
      }
      case 'epoll_wait': {
        const got = await t.epoll_wait(this.fd(line, a[0]), n(2), n(3));
        const ev = a[1];
        const want: { events: number; data: number }[] = [];
        const items = ev?.kind === 'array' ? ev.items : ev ? [ev] : [];
        for (const it of items)
          if (it.kind === 'epoll_event')
            want.push({
              events: this.int(line, it.events) >>> 0,
              data: this.epollData(line, it.field, it.value),
            });
        got.forEach((g, i) => {
          const w = want[i];
          if (!w) return;
          if (g.events >>> 0 !== w.events)
            throw new ScriptError(
              line,
              `runtime error in epoll_wait call: epoll_event->events does not match script: expected: 0x${w.events.toString(16)} actual: 0x${(g.events >>> 0).toString(16)}`,
            );
          if (g.data !== w.data)
            throw new ScriptError(
              line,
              `runtime error in epoll_wait call: epoll_event->data does not match script: expected: ${w.data} actual: ${g.data}`,
            );
        });
        return got.length;
      }
      case 'ioctl': {
        const r = t.ioctl(this.fd(line, a[0]), n(1));
        const want = a[2];
        if (want && want.kind !== 'ellipsis' && r !== this.int(line, want))
          throw new ScriptError(
            line,
            `runtime error in ioctl call: Bad ioctl value: expected: ${this.int(line, want)} actual: ${r}`,
          );
        return 0;
      }
      default:
        throw new ScriptError(line, `system call ${spec.name}() is not supported yet`);
    }
  }

  private epollData(line: number, field: string, value: Expr): number {
    // {…, fd=N}: the script fd, which the host sees as the live one.
    if (field === 'fd') return this.fd(line, value);
    return this.int(line, value);
  }

  private iovecs(line: number, e: Expr): Uint8Array[] {
    const items = e.kind === 'array' ? e.items : [e];
    return items.map((it) => {
      if (it.kind === 'iovec') return new Uint8Array(Number(it.len));
      throw new ScriptError(line, `unsupported iovec (${it.kind})`);
    });
  }

  private async recvmsg(line: number, spec: SyscallSpec): Promise<number> {
    const a = spec.args;
    const m = a[1];
    if (m?.kind !== 'msghdr') throw new ScriptError(line, 'recvmsg(): expected a msghdr');
    const iov = this.iovecs(line, m.iov);
    const control = m.control.kind === 'array' ? m.control.items : [];
    const r = await this.task.recvmsg(
      this.fd(line, a[0]),
      { iov, controllen: control.length ? 256 : 0 },
      this.int(line, a[2]!),
    );
    const bad = (msg: string): never => {
      throw new ScriptError(line, `runtime error in recvmsg call: ${msg}`);
    };
    const wantFlags = this.int(line, m.flags);
    if (r.flags !== wantFlags)
      bad(`Expected msg_flags 0x${wantFlags.toString(16)} but got 0x${r.flags.toString(16)}`);
    control.forEach((c, i) => {
      if (c.kind !== 'cmsg') return;
      const got = r.control[i];
      const level = this.int(line, c.level);
      const type = this.int(line, c.type);
      if (!got) bad(`missing cmsg ${i}`);
      if (got!.level !== level || got!.type !== type)
        bad(`Bad cmsg: expected level ${level} type ${type}, got level ${got!.level} type ${got!.type}`);
      const data = got!.data ?? new Uint8Array(0);
      if (c.data.kind !== 'ellipsis') {
        const exp = this.int(line, c.data);
        const v = data.length >= 4 ? new DataView(data.buffer, data.byteOffset, 4).getInt32(0, true) : -1;
        if (v !== exp) bad(`Bad cmsg data: expected ${exp} actual ${v}`);
      }
    });
    return r.n;
  }

  // ---- packets ----

  private ports(p: PacketSpec, inbound: boolean): { src: number; dst: number } {
    if (p.ports) return p.ports;
    return inbound
      ? { src: this.remotePort, dst: this.localPort }
      : { src: this.localPort, dst: this.remotePort };
  }

  private ipv4(src: number, dst: number, proto: number, l4: Uint8Array, p: PacketSpec): Uint8Array {
    const b = new Uint8Array(20 + l4.length);
    b[0] = 0x45;
    const tos = p.ip?.tos;
    b[1] =
      tos?.kind === 'tos'
        ? tos.value
        : tos?.kind === 'ecn'
          ? { noecn: 0, ect1: 1, ect0: 2, ce: 3 }[tos.ecn]
          : 0;
    put16(b, 2, b.length);
    put16(b, 4, this.ipId++ & 0xffff);
    b[8] = p.ip?.ttl ?? 64;
    b[9] = proto;
    put32(b, 12, src);
    put32(b, 16, dst);
    put16(b, 10, ip_fast_csum(b, 0, 5));
    b.set(l4, 20);
    return b;
  }

  /**
   * Hand a packet to the host as packetdrill's tun device does (tun_get_user() → netif_rx()):
   * received on eth0 from the gateway's address, without the MTU check a frame crossing the
   * veth would get, so segments larger than the MTU arrive whole as from a GRO/GSO device.
   */
  private transmit(pkt: Uint8Array): void {
    const dev: NetDevice = this.link.a;
    const skb = netdev_alloc_skb(ETH_HLEN, pkt.length);
    skb.head.set(pkt, skb.put(pkt.length));
    skb.dev = dev;
    dev.header_ops!.create(skb, dev, ETH_P_IP, dev.dev_addr, this.link.b.dev_addr);
    const proto = eth_type_trans(skb, dev);
    if (proto < 0) throw new Error('cannot frame an inbound packet');
    skb.protocol = proto;
    netif_rx(skb);
  }

  /** find_or_create_socket_for_script_packet() for a TCP line. */
  private tcpSocket(line: number, p: TcpPacket): PdSocket {
    const s = this.sut;
    const bad = (msg: string): never => {
      throw new ScriptError(line, `error handling packet: ${msg}`);
    };
    if (p.direction === 'inbound' && (!s || s.state === 'listening')) {
      // handle_listen_for_script_packet(): a child for this connection.
      const child = new PdSocket(uapiIn.IPPROTO_TCP);
      child.state = 'packet-received';
      child.remote.ip = ipToNum(this.remoteIp);
      child.remote.port = this.nextRemotePort++;
      child.local.ip = ipToNum(this.localIp);
      child.local.port = this.bindPort;
      child.remoteIsn = p.seq.start >>> 0;
      this.allSockets.push(child);
      this.sut = child;
      return child;
    }
    const flags = p.flags;
    if (
      p.direction === 'outbound' &&
      flags.includes('S') &&
      !flags.includes('.') &&
      s?.state === 'connecting'
    ) {
      // handle_connect_for_script_packet().
      s.state = 'syn-sent';
      s.scriptLocalIsn = p.seq.start >>> 0;
      return s;
    }
    if (s && s.protocol === uapiIn.IPPROTO_TCP) return s;
    if (s && p.ports) return s;
    return bad('no matching socket for script packet');
  }

  private inject(line: number, p: PacketSpec): void {
    const remote = ipToNum(this.remoteIp);
    const local = ipToNum(this.localIp);
    if (p.protocol === 'tcp') {
      const s = this.tcpSocket(line, p);
      let pkts: Uint8Array[];
      try {
        pkts = buildInbound(p, s, this.tcpCfg);
      } catch (e) {
        if (e instanceof PacketError) throw new ScriptError(line, `error handling packet: ${e.message}`);
        throw e;
      }
      for (const pkt of pkts) this.transmit(pkt);
      return;
    }
    let pkt: Uint8Array;
    if (p.protocol === 'udp') {
      const { src, dst } = this.ports(p, true);
      const u = new Uint8Array(8 + p.length);
      put16(u, 0, src);
      put16(u, 2, dst);
      put16(u, 4, u.length);
      const c = csum_tcpudp_magic(remote, local, u.length, 17, csum_partial(u, 0, u.length, 0));
      put16(u, 6, c === 0 ? 0xffff : c);
      pkt = this.ipv4(remote, local, 17, u, p);
    } else {
      pkt = this.ipv4(remote, local, 1, this.icmpBody(line, p, local, remote), p);
    }
    this.transmit(pkt);
  }

  private icmpType(line: number, p: IcmpPacket): [number, number] {
    const type = ICMP_TYPES[p.type] ?? (/^\d+$/.test(p.type) ? Number(p.type) : undefined);
    if (type === undefined) throw new ScriptError(line, `unknown ICMP type ${p.type}`);
    let code = 0;
    if (p.code !== null) {
      const c = ICMP_CODES[p.type]?.[p.code] ?? (/^\d+$/.test(p.code) ? Number(p.code) : undefined);
      if (c === undefined) throw new ScriptError(line, `unknown ICMP code ${p.code} for ${p.type}`);
      code = c;
    }
    return [type, code];
  }

  /** An inbound ICMP message; errors quote a packet the host under test would have sent. */
  private icmpBody(line: number, p: IcmpPacket, local: number, remote: number): Uint8Array {
    const [type, code] = this.icmpType(line, p);
    let rest = new Uint8Array(0);
    if (type !== 0 && type !== 8) {
      const echoed = p.echoed ?? { protocol: 'tcp' as const, seq: { start: 0, end: 0, length: 0 } };
      const tcpSock = this.sut?.protocol === uapiIn.IPPROTO_TCP ? this.sut : null;
      const { src, dst } =
        echoed.protocol === 'tcp' && tcpSock && !p.ports
          ? { src: tcpSock.local.port, dst: tcpSock.remote.port }
          : this.ports(p, false);
      const q = new Uint8Array(28);
      q[0] = 0x45;
      const plen =
        echoed.protocol === 'tcp'
          ? 20 + echoed.seq.length
          : echoed.protocol === 'udp'
            ? 8 + echoed.length
            : echoed.length;
      put16(q, 2, 20 + plen);
      q[8] = 64;
      q[9] = echoed.protocol === 'tcp' ? 6 : echoed.protocol === 'udp' ? 17 : 255;
      put32(q, 12, local);
      put32(q, 16, remote);
      put16(q, 10, ip_fast_csum(q, 0, 5));
      put16(q, 20, src);
      put16(q, 22, dst);
      // map_inbound_icmp_tcp_packet(): the quoted seq is in the local sequence space.
      if (echoed.protocol === 'tcp')
        put32(q, 24, (echoed.seq.start + (tcpSock ? tcpSock.localOffset(false) : 0)) >>> 0);
      else if (echoed.protocol === 'udp') put16(q, 24, 8 + echoed.length);
      rest = echoed.protocol === 'raw' ? q.slice(0, 20) : q;
    }
    const m = new Uint8Array(8 + rest.length);
    m[0] = type;
    m[1] = code;
    if (type === 3 && code === 4 && p.mtu !== null) put16(m, 6, p.mtu);
    if ((type === 0 || type === 8) && p.echoId !== null) put16(m, 4, p.echoId);
    m.set(rest, 8);
    put16(m, 2, ip_compute_csum(m, 0, m.length));
    return m;
  }

  /**
   * An outbound line: sniff (sniff_outbound_live_packet()), aggregate unless --strict_segments,
   * verify the packet, then its time.
   */
  private async outbound(
    line: number,
    ev: Event & { kind: 'packet' },
    at: number,
    end: number | null,
    lastAt: number,
    tol: number,
  ): Promise<void> {
    const p = ev.packet;
    const fail = (msg: string): never => {
      throw new ScriptError(line, `error handling packet: ${msg}`);
    };
    // The sniff timeout: two seconds past the line's offset from the previous event, whole
    // seconds as packetdrill computes it, counted from each wait's start.
    const waitUsecs = (): number =>
      ev.time.kind === 'any'
        ? ANY_TIME_WAIT_USECS
        : (Math.trunc(Math.max(at - lastAt, (end ?? at) - lastAt) / 1e6) + 2) * 1e6;
    const sniff = async (accept: (s: Sent) => boolean): Promise<Sent> => {
      const deadline = this.nowUsecs() + waitUsecs();
      for (;;) {
        const s = await this.nextSent(deadline);
        if (!s) return fail('Timed out waiting for packet');
        if (accept(s)) return s;
      }
    };
    const checkTime = (tNs: number): void => {
      if (ev.time.kind === 'any') return;
      const t = (tNs - this.startNs) / 1000;
      if (end !== null) {
        if (t < at - tol || t > end + tol)
          fail(
            `timing error: expected outbound packet in time range ${this.fmt(at)}~${this.fmt(end)} sec but happened at ${this.fmt(t)} sec`,
          );
      } else if (t < at - tol || t > at + tol)
        fail(
          `timing error: expected outbound packet at ${this.fmt(at)} sec but happened at ${this.fmt(t)} sec; tolerance ${this.fmt(tol)} sec`,
        );
    };
    if (p.protocol !== 'tcp') {
      const got = await sniff(() => true);
      this.checkOutbound(line, p, got.ip);
      checkTime(got.timeNs);
      return;
    }
    const sock = this.tcpSocket(line, p);
    if (sock.state === 'packet-received' && p.flags.includes('S') && p.flags.includes('.'))
      sock.scriptLocalIsn = p.seq.start >>> 0;
    const expected = p.seq.length;
    const parts: Segment[] = [];
    let sniffed = 0;
    let lastNs = 0;
    try {
      do {
        const got = await sniff((s) => claimOutbound(sock, segmentOf(s.ip)));
        const s = toScriptSpace(p, sock, segmentOf(got.ip));
        if (parts.length) {
          const e = verifyFragment(s, parts.at(-1)!, sniffed, expected);
          if (e) {
            const dump = [...parts, s].map((x, i) => `\n   actual #${i}: ${describeTcp(x)}`).join('');
            fail(`${e}${dump}`);
          }
        }
        parts.push(s);
        sniffed += payloadLen(s);
        lastNs = got.timeNs;
      } while (sniffed < expected && !this.tcpCfg.strictSegments);
      if (sniffed !== expected)
        fail(`live packet payload: expected ${expected} bytes vs actual ${sniffed} bytes`);
      const actual = parts.length === 1 ? parts[0]! : aggregate(parts);
      const e = verifyOutbound(
        p,
        sock,
        actual,
        { ...this.tcpCfg, toleranceUsecs: this.tolUsecs, tolerancePercent: this.tolPercent },
        at,
      );
      if (e)
        fail(
          `${e}\nscript packet: ${this.fmt(at)} ${scriptLine(p)}\nactual packet: ${this.fmt((lastNs - this.startNs) / 1000)} ${describeTcp(actual, false)}`,
        );
      checkTime(lastNs);
    } catch (e) {
      if (e instanceof PacketError) fail(e.message);
      throw e;
    }
  }

  private checkOutbound(line: number, p: UdpPacket | IcmpPacket, ip: Uint8Array): void {
    const bad = (what: string): never => {
      throw new ScriptError(
        line,
        `error handling packet: bad outbound packet: ${what} (got ${describe(ip)})`,
      );
    };
    const ihl = (ip[0]! & 15) * 4;
    const src = numToIp(get32(ip, 12));
    const dst = numToIp(get32(ip, 16));
    if (src !== this.localIp) bad(`source address ${src}, expected ${this.localIp}`);
    if (dst !== this.remoteIp) bad(`destination address ${dst}, expected ${this.remoteIp}`);
    if (p.ip?.ttl != null && ip[8] !== p.ip.ttl) bad(`TTL ${ip[8]}, expected ${p.ip.ttl}`);
    const tos = p.ip?.tos;
    if (tos?.kind === 'tos' && ip[1] !== tos.value)
      bad(`TOS 0x${ip[1]!.toString(16)}, expected 0x${tos.value.toString(16)}`);
    const proto = ip[9]!;
    if (p.protocol === 'udp') {
      if (proto !== 17) bad('expected UDP');
      this.checkUdp(p, ip.subarray(ihl), bad);
    } else {
      if (proto !== 1) bad('expected ICMP');
      const [type, code] = this.icmpType(line, p);
      const m = ip.subarray(ihl);
      if (m[0] !== type) bad(`ICMP type ${m[0]}, expected ${type} (${p.type})`);
      if (p.code !== null && m[1] !== code) bad(`ICMP code ${m[1]}, expected ${code} (${p.code})`);
      if (type === 3 && code === 4 && p.mtu !== null && get16(m, 6) !== p.mtu)
        bad(`MTU ${get16(m, 6)}, expected ${p.mtu}`);
      if ((type === 0 || type === 8) && p.echoId !== null && get16(m, 4) !== p.echoId)
        bad(`echo id ${get16(m, 4)}, expected ${p.echoId}`);
    }
  }

  private checkUdp(p: UdpPacket, u: Uint8Array, bad: (what: string) => never): void {
    const sport = get16(u, 0);
    const dport = get16(u, 2);
    const len = get16(u, 4) - 8;
    const want = this.ports(p, false);
    if (!p.ports && !this.localPort) {
      // The socket picked its port when it first sent: learn it here.
      this.localPort = sport;
      want.src = sport;
    }
    if (sport !== want.src) bad(`source port ${sport}, expected ${want.src}`);
    if (dport !== want.dst) bad(`destination port ${dport}, expected ${want.dst}`);
    if (len !== p.length) bad(`UDP payload length ${len}, expected ${p.length}`);
    if (u.length - 8 !== len) bad(`UDP length field ${len + 8} but ${u.length} bytes on the wire`);
  }
}

/** A TCP line as packetdrill prints a script packet. */
function scriptLine(p: TcpPacket): string {
  const end = (p.seq.start + p.seq.length) >>> 0;
  let s = `${p.flags || '-'} ${p.seq.start >>> 0}:${end}(${p.seq.length})`;
  if (p.flags.includes('.')) s += ` ack ${p.ack ?? 0}`;
  if (p.window !== null) s += ` win ${p.window}`;
  if (p.urg !== null) s += ` urg ${p.urg}`;
  if (p.options === null) s += ' <...>';
  else if (p.options.length)
    s += ` <${p.options
      .map((o) => {
        switch (o.kind) {
          case 'mss':
            return `mss ${o.value}`;
          case 'wscale':
            return `wscale ${o.shift}`;
          case 'timestamp':
            return `TS val ${o.val} ecr ${o.ecr}`;
          case 'sack':
            return `sack ${o.blocks.map((b) => `${b.left}:${b.right}`).join(' ')}`;
          default:
            return o.kind;
        }
      })
      .join(',')}>`;
  return s;
}

/** A one-line summary of an IPv4 packet, for error messages. */
function describe(ip: Uint8Array): string {
  const ihl = (ip[0]! & 15) * 4;
  const s = `${numToIp(get32(ip, 12))} > ${numToIp(get32(ip, 16))}`;
  const l4 = ip.subarray(ihl);
  switch (ip[9]) {
    case 17:
      return `${s} udp ${get16(l4, 0)} > ${get16(l4, 2)} (${get16(l4, 4) - 8})`;
    case 1:
      return `${s} icmp type ${l4[0]} code ${l4[1]}`;
    case 6:
      return `${s} tcp ${describeTcp(segmentOf(ip))}`;
    default:
      return `${s} protocol ${ip[9]}`;
  }
}

/** Run a parsed script against a fresh usernet host; errors carry `file:line:`. */
export async function runScript(script: Script, opts: RunOptions = {}): Promise<RunResult> {
  const file = opts.file ?? 'script';
  let r: Runner | null = null;
  const result = (ok: boolean, errors: string[]): RunResult => ({
    ok,
    errors,
    missingSysctls: r ? [...r.log.missingSysctls] : [],
    notes: r ? [...r.log.notes] : [],
    output: r ? [...r.output] : [],
  });
  try {
    r = new Runner(script, opts);
    await r.run();
    return result(true, []);
  } catch (e) {
    if (e instanceof ScriptError)
      return result(false, [e.line ? `${file}:${e.line}: ${e.message}` : `${file}: ${e.message}`]);
    if (e instanceof SyscallError) return result(false, [`${file}: unexpected ${e.message}`]);
    return result(false, [`${file}: ${e instanceof Error ? e.message : String(e)}`]);
  }
}
