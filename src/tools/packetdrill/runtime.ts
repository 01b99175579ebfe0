/**
 * The packetdrill interpreter, first slice: system calls and UDP / ICMP packet lines, run against
 * a usernet host in virtual time.
 *
 * The host under test has packetdrill's address plan: its eth0 holds the local address (a /16),
 * the remote address is reached through the gateway, and the gateway's neighbour entry is static
 * and points at the other end of a veth pair. That end belongs to a "wire" host with no address
 * of its own: the runtime taps the host's eth0 to see what it sends and injects what the script
 * sends in with dev_queue_xmit from the wire end.
 *
 * Times: an event's time is absolute, or relative to the previous event's script time (to the
 * actual time after a `*` or ranged outbound packet). An event is on time when it is within
 * max(tolerance_usecs, 12.5% of the gap since the previous event) of its script time.
 */

import type { Event, Expr, IcmpPacket, PacketSpec, Script, SyscallSpec, UdpPacket } from './ast.js';
import { World } from '../../sim/world.js';
import type { Host } from '../../sim/host.js';
import type { Task } from '../../sim/task.js';
import type { Link } from '../../sim/link.js';
import { SyscallError } from '../../sim/errors.js';
import { Timer } from '../../kernel/time.js';
import { dev_queue_xmit } from '../../net/core/dev.js';
import type { NetDevice } from '../../net/core/netdevice.js';
import { netdev_alloc_skb, type SkBuff } from '../../net/core/skbuff.js';
import { ETH_HLEN, ETH_P_IP } from '../../wire/ethernet.js';
import { csum_partial, csum_tcpudp_magic, ip_compute_csum, ip_fast_csum } from '../../wire/checksum.js';
import { get16, get32, put16, put32 } from '../../wire/bytes.js';
import { errnoByName } from '../../uapi/errno.js';
import * as uapiSocket from '../../uapi/socket.js';
import * as uapiIn from '../../uapi/in.js';
import * as uapiFcntl from '../../uapi/fcntl.js';
import * as uapiPoll from '../../uapi/poll.js';
import type { SockaddrIn } from '../../uapi/in.js';
import type { PollFd } from '../../kernel/select.js';

export interface RunOptions {
  /** Seed of the world (default 1). */
  seed?: number;
  /** Name used in error messages (default `script`). */
  file?: string;
  /** Overrides `--tolerance_usecs` (packetdrill's default is 4000). */
  toleranceUsecs?: number;
}

export interface RunResult {
  ok: boolean;
  errors: string[];
}

/** An error at one line of the script; the run stops there. */
class ScriptError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const SYMBOLS = new Map<string, number>();
for (const mod of [uapiSocket, uapiIn, uapiFcntl, uapiPoll])
  for (const [k, v] of Object.entries(mod))
    if (typeof v === 'number' && /^[A-Z][A-Z0-9_]*$/.test(k)) SYMBOLS.set(k, v);

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
  startNs: number;
  done: boolean;
  promise: Promise<void>;
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
  readonly bindPort: number;
  readonly connectPort: number;
  /** Ports of the socket under test, as far as the script has shown them. */
  localPort = 0;
  remotePort: number;
  private readonly sent: Sent[] = [];
  private notify: (() => void) | null = null;
  private readonly startNs: number;
  private pending: Pending | null = null;
  private ipId = 1;

  constructor(
    readonly script: Script,
    opts: RunOptions,
  ) {
    const opt = new Map(script.options.map((o) => [o.name, o.value]));
    this.localIp = opt.get('local_ip') ?? '192.168.0.1';
    this.remoteIp = opt.get('remote_ip') ?? '192.0.2.1';
    this.gatewayIp = opt.get('gateway_ip') ?? '192.168.0.2';
    this.tolUsecs = opts.toleranceUsecs ?? Number(opt.get('tolerance_usecs') ?? 4000);
    this.bindPort = Number(opt.get('bind_port') ?? 8080);
    this.connectPort = Number(opt.get('connect_port') ?? 8080);
    this.remotePort = this.connectPort;
    const ipVersion = opt.get('ip_version');
    if (ipVersion !== undefined && ipVersion !== 'ipv4')
      throw new ScriptError(0, `--ip_version=${ipVersion} is not supported yet (ipv4 only)`);
    const mtu = Number(opt.get('mtu') ?? 1500);

    this.world = new World({ seed: opts.seed ?? 1 });
    this.host = this.world.addHost('sut');
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

  /** Wait until the script time `usecs` (virtual time jumps there when nothing else runs). */
  private sleepUntil(usecs: number): Promise<void> {
    const at = this.startNs + Math.round(usecs * 1000);
    if (this.world.clock.now() >= at) return this.settle();
    return new Promise<void>((resolve) => {
      const t = new Timer(() => resolve());
      this.world.clock.mod_timer(t, at);
    }).then(() => this.settle());
  }

  /** Let what is due at this instant run. */
  private async settle(): Promise<void> {
    const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
    for (let i = 0; i < 20 && this.world.clock.nextExpiry() <= this.world.clock.now(); i++) await tick();
    await tick();
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
    return this.sent.shift() ?? null;
  }

  async run(): Promise<void> {
    for (const e of this.script.events) if (e.kind === 'packet') this.checkSupported(e.pos.line, e.packet);
    let prevScript = 0;
    let base = 0;
    for (const ev of this.script.events) {
      const line = ev.pos.line;
      let at: number;
      let end: number | null = null;
      switch (ev.time.kind) {
        case 'absolute':
          at = ev.time.usecs;
          break;
        case 'relative':
          at = base + ev.time.usecs;
          break;
        case 'absolute-range':
          at = ev.time.usecs;
          end = ev.time.endUsecs;
          break;
        case 'relative-range':
          at = base + ev.time.usecs;
          end = base + ev.time.endUsecs;
          break;
        case 'any':
          at = base;
          end = Number.POSITIVE_INFINITY;
          break;
      }
      const tol = Math.max(this.tolUsecs, 0.125 * Math.max(0, at - prevScript));
      if (ev.kind === 'packet' && ev.packet.direction === 'outbound') {
        const lo = ev.time.kind === 'any' ? 0 : at - tol;
        const hi = end === null ? at + tol : end === Number.POSITIVE_INFINITY ? end : end + tol;
        const got = await this.nextSent(Math.min(hi, Number.MAX_SAFE_INTEGER / 2000));
        if (!got)
          throw new ScriptError(
            line,
            `timing error: expected outbound packet at ${fmt(at)} sec but none was sent`,
          );
        const t = (got.timeNs - this.startNs) / 1000;
        if (t < lo || t > hi)
          throw new ScriptError(
            line,
            `timing error: expected outbound packet at ${fmt(at)} sec but happened at ${fmt(t)} sec; tolerance ${fmt(tol)} sec`,
          );
        this.checkOutbound(line, ev.packet, got.ip);
        if (end !== null) at = t;
      } else {
        await this.sleepUntil(at);
        this.checkNoUnexpected(line);
        await this.runEvent(ev, at, tol);
      }
      prevScript = at;
      base = at;
    }
    if (this.pending) {
      await this.pending.promise;
    }
    await this.settle();
    this.checkNoUnexpected(this.script.events.at(-1)?.pos.line ?? 0);
  }

  private checkNoUnexpected(line: number): void {
    const s = this.sent.shift();
    if (s)
      throw new ScriptError(
        line,
        `unexpected outbound packet at ${fmt((s.timeNs - this.startNs) / 1000)} sec: ${describe(s.ip)}`,
      );
  }

  private checkSupported(line: number, p: PacketSpec): void {
    if (p.protocol === 'tcp') throw new ScriptError(line, 'TCP not supported yet');
    if (p.outer.length) throw new ScriptError(line, 'encapsulation (outer headers) not supported yet');
  }

  private async runEvent(ev: Event, at: number, tol: number): Promise<void> {
    const line = ev.pos.line;
    switch (ev.kind) {
      case 'packet':
        this.inject(line, ev.packet);
        await this.settle();
        return;
      case 'command':
        throw new ScriptError(line, `shell commands are not supported: \`${ev.command}\``);
      case 'code':
        throw new ScriptError(line, 'code blocks (%{ }%) are not supported');
      case 'syscall':
        await this.syscall(line, ev.syscall, at, tol);
        return;
    }
  }

  // ---- system calls ----

  private async syscall(line: number, spec: SyscallSpec, at: number, tol: number): Promise<void> {
    if (this.pending) {
      // packetdrill has one thread for blocking calls: wait for the one before.
      await this.pending.promise;
      this.pending = null;
    }
    const startNs = this.world.clock.now();
    const p: Pending = { line, spec, startNs, done: false, promise: Promise.resolve() };
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
      if (spec.endUsecs !== null) {
        const t = this.nowUsecs();
        const etol = Math.max(this.tolUsecs, 0.125 * Math.max(0, spec.endUsecs - at));
        if (Math.abs(t - spec.endUsecs) > etol)
          throw new ScriptError(
            line,
            `timing error: expected system call to return at ${fmt(spec.endUsecs)} sec but happened at ${fmt(t)} sec`,
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
    if (spec.endUsecs === null) {
      // A call expected to return at once that blocks: give it the tolerance, as packetdrill.
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

  private checkResult(line: number, spec: SyscallSpec, r: number | null, err: SyscallError | null): void {
    const want = spec.result;
    if (err) {
      if (want.kind === 'ellipsis') return;
      const expected = this.int(line, want);
      if (expected !== -1)
        throw new ScriptError(line, `${spec.name}() returned -1 (${err.code}); expected ${expected}`);
      if (spec.errno && spec.errno.name !== err.code) {
        const wantNo = errnoByName(spec.errno.name);
        if (wantNo !== err.errno)
          throw new ScriptError(
            line,
            `${spec.name}() failed with errno ${err.code}; expected ${spec.errno.name}`,
          );
      }
      return;
    }
    if (want.kind === 'ellipsis') return;
    const expected = this.int(line, want);
    if (r !== expected) throw new ScriptError(line, `${spec.name}() returned ${r}; expected ${expected}`);
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

  /** Learn the local port of the socket under test once it has one. */
  private track(fd: number): void {
    try {
      const a = this.task.getsockname(fd) as SockaddrIn;
      if (a.family === uapiSocket.AF_INET && a.port) this.localPort = a.port;
    } catch {
      // not a socket of ours: nothing to learn
    }
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
        return t.socket(domain, n(1), n(2));
      }
      case 'bind': {
        const fd = n(0);
        t.bind(fd, this.sockaddr(line, a[1], true));
        this.track(fd);
        return 0;
      }
      case 'connect': {
        const fd = n(0);
        const addr = this.sockaddr(line, a[1], false);
        await t.connect(fd, addr);
        this.remotePort = addr.port;
        this.track(fd);
        return 0;
      }
      case 'listen':
        t.listen(n(0), n(1));
        return 0;
      case 'close':
        t.close(n(0));
        return 0;
      case 'shutdown':
        t.shutdown(n(0), n(1));
        return 0;
      case 'fcntl':
        return t.fcntl(n(0), n(1), a.length > 2 ? n(2) : 0);
      case 'write':
      case 'send':
      case 'sendto': {
        const fd = n(0);
        const len = n(2);
        const buf = this.buffer(line, a[1], len);
        let r: number;
        if (spec.name === 'write') r = await t.write(fd, buf);
        else if (spec.name === 'send') r = await t.send(fd, buf, n(3));
        else {
          const to = a[4] === undefined ? undefined : this.sockaddr(line, a[4], false);
          r = await t.sendto(fd, buf, n(3), to);
          if (to) this.remotePort = to.port;
        }
        this.track(fd);
        return r;
      }
      case 'read':
      case 'recv':
      case 'recvfrom': {
        const fd = n(0);
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
                `recvfrom(): source ${got.addr}:${got.port}; expected ${want.address}:${want.port}`,
              );
          }
        }
        const want = a[1];
        if (want?.kind === 'string') {
          const got = new TextDecoder().decode(buf.slice(0, r));
          if (want.ellipsis ? !got.startsWith(want.value) : got !== want.value)
            throw new ScriptError(
              line,
              `${spec.name}(): read ${JSON.stringify(got)}; expected ${JSON.stringify(want.value)}`,
            );
        }
        return r;
      }
      case 'setsockopt': {
        const v = a[3];
        let value: number | { l_onoff: number; l_linger: number };
        if (v?.kind === 'linger') value = { l_onoff: Number(v.onoff), l_linger: Number(v.linger) };
        else value = n(3);
        t.setsockopt(n(0), n(1), n(2), value);
        return 0;
      }
      case 'getsockopt': {
        const got = t.getsockopt(n(0), n(1), n(2));
        const want = a[3];
        if (want && want.kind !== 'ellipsis') {
          if (want.kind === 'linger' && typeof got === 'object' && 'l_onoff' in got) {
            if (got.l_onoff !== Number(want.onoff) || got.l_linger !== Number(want.linger))
              throw new ScriptError(
                line,
                `getsockopt(): {onoff=${got.l_onoff}, linger=${got.l_linger}}; expected {onoff=${want.onoff}, linger=${want.linger}}`,
              );
          } else if (typeof got === 'number') {
            const exp = this.int(line, want);
            if (got !== exp) throw new ScriptError(line, `getsockopt(): value ${got}; expected ${exp}`);
          } else throw new ScriptError(line, 'getsockopt(): cannot compare this option value yet');
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
          fds.push({ fd: this.int(line, it.fd), events: this.int(line, it.events), revents: 0 });
          want.push(this.int(line, it.revents));
        }
        const r = await t.poll(fds, n(2));
        fds.forEach((f, i) => {
          if (f.revents !== want[i])
            throw new ScriptError(
              line,
              `poll(): fd ${f.fd} revents 0x${f.revents.toString(16)}; expected 0x${want[i]!.toString(16)}`,
            );
        });
        return r;
      }
      case 'ioctl': {
        const r = t.ioctl(n(0), n(1));
        const want = a[2];
        if (want && want.kind !== 'ellipsis' && r !== this.int(line, want))
          throw new ScriptError(line, `ioctl(): value ${r}; expected ${this.int(line, want)}`);
        return 0;
      }
      default:
        throw new ScriptError(line, `system call ${spec.name}() is not supported yet`);
    }
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

  private inject(line: number, p: PacketSpec): void {
    const remote = ipToNum(this.remoteIp);
    const local = ipToNum(this.localIp);
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
    } else if (p.protocol === 'icmp') {
      pkt = this.ipv4(remote, local, 1, this.icmpBody(line, p, local, remote), p);
    } else throw new ScriptError(line, 'TCP not supported yet');
    const dev: NetDevice = this.link.b;
    const skb = netdev_alloc_skb(ETH_HLEN, pkt.length);
    skb.head.set(pkt, skb.put(pkt.length));
    skb.dev = dev;
    dev.header_ops!.create(skb, dev, ETH_P_IP, this.link.a.dev_addr, null);
    dev_queue_xmit(skb);
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
    if (type === 0 || type === 8) {
      rest = new Uint8Array(0);
    } else {
      const echoed = p.echoed ?? { protocol: 'tcp' as const, seq: { start: 0, end: 0, length: 0 } };
      const { src, dst } = this.ports(p, false);
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
      if (echoed.protocol === 'tcp') put32(q, 24, echoed.seq.start >>> 0);
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

  private checkOutbound(line: number, p: PacketSpec, ip: Uint8Array): void {
    const bad = (what: string): never => {
      throw new ScriptError(line, `bad outbound packet: ${what} (got ${describe(ip)})`);
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
    } else if (p.protocol === 'icmp') {
      if (proto !== 1) bad('expected ICMP');
      const [type, code] = this.icmpType(line, p);
      const m = ip.subarray(ihl);
      if (m[0] !== type) bad(`ICMP type ${m[0]}, expected ${type} (${p.type})`);
      if (p.code !== null && m[1] !== code) bad(`ICMP code ${m[1]}, expected ${code} (${p.code})`);
      if (type === 3 && code === 4 && p.mtu !== null && get16(m, 6) !== p.mtu)
        bad(`MTU ${get16(m, 6)}, expected ${p.mtu}`);
      if ((type === 0 || type === 8) && p.echoId !== null && get16(m, 4) !== p.echoId)
        bad(`echo id ${get16(m, 4)}, expected ${p.echoId}`);
    } else throw new ScriptError(line, 'TCP not supported yet');
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

function fmt(usecs: number): string {
  return (usecs / 1e6).toFixed(6);
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
      return `${s} tcp ${get16(l4, 0)} > ${get16(l4, 2)}`;
    default:
      return `${s} protocol ${ip[9]}`;
  }
}

/** Run a parsed script against a fresh usernet host; errors carry `file:line:`. */
export async function runScript(script: Script, opts: RunOptions = {}): Promise<RunResult> {
  const file = opts.file ?? 'script';
  // Init and cleanup commands run shell commands on the host (sysctls, tc…): not run yet, so a
  // script that has them is refused rather than run without them.
  if (script.initCommand !== null || script.cleanupCommand !== null)
    return { ok: false, errors: [`${file}: init and cleanup commands are not supported yet`] };
  try {
    const r = new Runner(script, opts);
    await r.run();
    return { ok: true, errors: [] };
  } catch (e) {
    if (e instanceof ScriptError) return { ok: false, errors: [`${file}:${e.line}: ${e.message}`] };
    if (e instanceof SyscallError) return { ok: false, errors: [`${file}: unexpected ${e.message}`] };
    return { ok: false, errors: [`${file}: ${e instanceof Error ? e.message : String(e)}`] };
  }
}
