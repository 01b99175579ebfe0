// Runs conformance scenarios on usernet through the Task API, producing results in the same
// shape as conformance/linux_runner.py does for the real kernel.

import * as U from '../src/index.js';
import { ipv4_init, set_local_port_range, set_ping_group_range } from '../src/net/ipv4/ipv4_init.js';
import type { Host, Task, PollFd, RecvResult, SendMsg, Sockaddr } from '../src/index.js';
import {
  decodeBits,
  EPOLL_NAMES,
  escapeBytes,
  fmtData,
  fromHex,
  hex,
  IOCTL_OUT,
  makeData,
  MSG_NAMES,
  parseNumber,
  POLL_NAMES,
  ScenarioError,
  TCP_INFO_ROOM,
  tcpInfo,
  type AddrSpec,
  type CmsgSpec,
  type FdRef,
  type Scenario,
  type ScenarioResult,
  type Step,
  type StepResult,
  type Value,
} from './scenario.js';

const exported = U as unknown as Record<string, unknown>;

/** A constant the usernet package does not export: reported as the step's errno. */
class Unresolved extends Error {}

function constant(name: string): number {
  const v = exported[name];
  if (typeof v !== 'number') throw new Unresolved(name);
  return v;
}

function lookup(name: string): number | undefined {
  const v = exported[name];
  return typeof v === 'number' ? v : undefined;
}

/** A symbolic value: a number or "NAME|NAME|0x10". */
export function value(expr: Value): number {
  if (expr === undefined || expr === null) return 0;
  if (typeof expr === 'boolean') return expr ? 1 : 0;
  if (typeof expr === 'number') return expr;
  let total = 0;
  for (const part of expr.split('|')) {
    const n = parseNumber(part);
    total |= n !== undefined ? n : constant(part.trim());
  }
  return total;
}

const OPT_KIND: Record<string, string> = {
  SO_LINGER: 'linger',
  SO_RCVTIMEO: 'timeval',
  SO_SNDTIMEO: 'timeval',
  SO_RCVTIMEO_OLD: 'timeval',
  SO_SNDTIMEO_OLD: 'timeval',
  SO_PEERCRED: 'ucred',
  TCP_INFO: 'tcp_info',
  TCP_CONGESTION: 'string',
  TCP_ULP: 'string',
};

const utf8 = new TextEncoder();
const AUTOBIND = /^[0-9a-f]{5}$/;

export interface UsernetRunOptions {
  /** Tunables to write on every host before the scenario runs (as read from the real machine). */
  sysctl?: Record<string, number>;
  /**
   * Tunables as text (vectors, names), written with host.sysctl.writeText; a name the host does
   * not have is skipped, so they take effect as the subsystems that own them arrive.
   */
  sysctlText?: Record<string, string>;
  /** World seed. */
  seed?: number;
  /** Real-time limit of one step (a step that never completes is reported as HANG). */
  stepTimeoutMs?: number;
  /** Called for a sysctl the usernet host refused. */
  onSysctlError?: (name: string, value: number | string, err: unknown) => void;
}

/** The directory a scenario's $DIR stands for. */
const DIR = '/tmp/c';

/** Names of SOL_IP control messages in results. */
const SOL_IP_CMSG: Record<number, string> = {
  1: 'IP_TOS',
  2: 'IP_TTL',
  8: 'IP_PKTINFO',
  11: 'IP_RECVERR',
  20: 'IP_ORIGDSTADDR',
};

/** Names of SOL_TCP control messages in results. */
const SOL_TCP_CMSG: Record<number, string> = { 36: 'TCP_CM_INQ' };

/** Every number under a "port" key of a scenario: the ports it names itself. */
function knownPorts(node: unknown, out = new Set<number>()): Set<number> {
  if (Array.isArray(node)) for (const v of node) knownPorts(v, out);
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) {
      if (k === 'port' && typeof v === 'number') out.add(v);
      else knownPorts(v, out);
    }
  return out;
}

class Ctx {
  names = new Map<string, number>();
  paths = new Map<string, string>();
  autobind = new Map<string, string>();
  readonly base = 0;
  known = new Set<number>();
  eph = new Map<number, string>();
  host: Host | null = null;

  constructor(readonly task: Task) {}

  /** A port in a result: named ones stay numbers, ephemeral ones are compared by identity. */
  port(p: number): number | string {
    if (p === 0 || this.known.has(p)) return p;
    if (!this.eph.has(p)) this.eph.set(p, `<eph${this.eph.size + 1}>`);
    return this.eph.get(p)!;
  }

  /** {"inet": "a.b.c.d", "port": n | "port_of": fd, "len"?, "family"?} as bytes. */
  inetSockaddr(spec: AddrSpec): Uint8Array {
    const family = value(spec.family ?? 'AF_INET');
    let port = spec.port !== undefined ? value(spec.port) : 0;
    if (spec.port_of !== undefined) {
      const a = this.task.getsockname(this.fd(spec.port_of));
      port = 'port' in a ? a.port : 0;
    }
    const b = new Uint8Array(128);
    b[0] = family & 0xff;
    b[1] = (family >> 8) & 0xff;
    b[2] = port >> 8;
    b[3] = port & 0xff;
    const parts = (spec.inet ?? '0.0.0.0').split('.').map(Number);
    for (let i = 0; i < 4; i++) b[4 + i] = parts[i] ?? 0;
    return resize(b, spec.len ?? 16);
  }

  ipCmsg(type: number, data: Uint8Array): Record<string, unknown> {
    const dv = new DataView(data.buffer, data.byteOffset, data.length);
    const ip = (o: number) => `${data[o]}.${data[o + 1]}.${data[o + 2]}.${data[o + 3]}`;
    if (type === 2 && data.length >= 4) return { value: dv.getInt32(0, true) };
    if (type === 1 && data.length >= 1) return { value: data[0] };
    if (type === 8 && data.length >= 12)
      return { ifindex: dv.getInt32(0, true), spec_dst: ip(4), addr: ip(8) };
    if (type === 11 && data.length >= 16) {
      const out: Record<string, unknown> = {
        ee_errno: errnoName(dv.getUint32(0, true)),
        origin: data[4],
        ee_type: data[5],
        ee_code: data[6],
        info: dv.getUint32(8, true),
        ee_data: dv.getUint32(12, true),
      };
      if (data.length >= 32)
        out.offender = (data[16] | (data[17] << 8)) === constant('AF_INET') ? ip(20) : null;
      return out;
    }
    if (type === 20 && data.length >= 8) return { addr: ip(4), port: this.port((data[2] << 8) | data[3]) };
    return { data: 'hex:' + hex(data) };
  }

  fd(ref: unknown): number {
    if (typeof ref === 'number') return ref;
    if (typeof ref === 'string') {
      const fd = this.names.get(ref);
      if (fd === undefined) throw new ScenarioError(`unknown fd name ${ref}`);
      return fd;
    }
    if (ref && typeof ref === 'object' && typeof (ref as { rel?: unknown }).rel === 'number')
      return this.base + (ref as { rel: number }).rel;
    throw new ScenarioError(`bad fd ${JSON.stringify(ref)}`);
  }

  gotFd(fd: number, name?: unknown): number {
    if (typeof name === 'string') this.names.set(name, fd);
    return fd - this.base;
  }

  path(spec: unknown): string {
    if (spec && typeof spec === 'object') {
      const o = spec as { path: string; pad_to?: number };
      let p = o.path.replace('$DIR', DIR);
      if (o.pad_to !== undefined) {
        if (p.length > o.pad_to) throw new ScenarioError('path longer than pad_to');
        const sym = `${o.path}<pad:${o.pad_to}>`;
        p = p + 'x'.repeat(o.pad_to - p.length);
        this.paths.set(p, sym);
      }
      return p;
    }
    if (typeof spec !== 'string') throw new ScenarioError(`bad path ${JSON.stringify(spec)}`);
    return spec.replace('$DIR', DIR);
  }

  /** The address as the Task API takes it: a Sockaddr, or raw bytes when the spec fixes the length. */
  sockaddr(spec: AddrSpec | undefined): Sockaddr | Uint8Array | undefined {
    if (!spec) return undefined;
    if (spec.inet !== undefined || spec.port_of !== undefined) return this.inetSockaddr(spec);
    if (spec.raw !== undefined) {
      const b = fromHex(spec.raw);
      return spec.len === undefined ? b : resize(b, spec.len);
    }
    let name: Uint8Array;
    if (spec.abstract !== undefined) name = utf8.encode('\0' + spec.abstract);
    else if (spec.path !== undefined) name = utf8.encode(this.path(spec));
    else name = new Uint8Array(0);
    const family = value(spec.family ?? 'AF_UNIX');
    const raw = spec.len !== undefined || spec.family !== undefined || spec.nul === false;
    if (!raw) return { family, path: new TextDecoder().decode(name) };
    let n: number;
    if (spec.len !== undefined) n = spec.len;
    else if (name.length === 0) n = 2;
    else if (name[0] === 0 || spec.nul === false) n = 2 + name.length;
    else n = 2 + name.length + 1;
    const b = new Uint8Array(Math.max(n, 2 + name.length));
    b[0] = family & 0xff;
    b[1] = (family >> 8) & 0xff;
    b.set(name, 2);
    return resize(b, n);
  }

  addr(a: Sockaddr | null | undefined): unknown {
    if (!a) return null;
    const addrlen = a.addrlen ?? 0;
    if (addrlen === 0) return null;
    if (addrlen < 2) return { family: null, path: '', lenx: addrlen - 2 };
    if ('port' in a) return { family: 'AF_INET', addr: a.addr, port: this.port(a.port), len: addrlen };
    const fam = a.family === constant('AF_UNIX') ? 'AF_UNIX' : a.family;
    let raw: Uint8Array;
    if ('path' in a) raw = utf8.encode(a.path);
    else {
      raw = a.bytes;
      if (raw.length && raw[0] !== 0) {
        const z = raw.indexOf(0);
        if (z >= 0) raw = raw.subarray(0, z);
      }
    }
    if (raw.length === 0) return { family: fam, path: '', lenx: addrlen - 2 };
    if (raw[0] === 0) {
      const name = raw.subarray(1);
      const text = escapeBytes(name);
      if (AUTOBIND.test(text)) {
        if (!this.autobind.has(text)) this.autobind.set(text, `@<auto${this.autobind.size + 1}>`);
        return { family: fam, path: this.autobind.get(text), lenx: addrlen - 2 - raw.length };
      }
      return { family: fam, path: '@' + text, lenx: addrlen - 2 - raw.length };
    }
    const p = new TextDecoder().decode(raw);
    let sp: string;
    if (this.paths.has(p)) sp = this.paths.get(p)!;
    else if (p === DIR || p.startsWith(DIR + '/')) sp = '$DIR' + p.slice(DIR.length);
    else sp = escapeBytes(raw);
    return { family: fam, path: sp, lenx: addrlen - 2 - raw.length };
  }

  cmsgsOut(specs: CmsgSpec[] | undefined): U.Cmsg[] | undefined {
    if (!specs) return undefined;
    return specs.map((c) => {
      const level = value(c.level ?? 'SOL_SOCKET');
      const type = value(c.type);
      if (c.fds !== undefined) {
        const refs: FdRef[] = Array.isArray(c.fds) ? c.fds : new Array<FdRef>(c.fds.count).fill(c.fds.repeat);
        return { level, type, fds: refs.map((r) => this.fd(r)) };
      }
      if (c.cred !== undefined) {
        const pid = c.cred.pid === undefined || c.cred.pid === 'self' ? this.task.pid : c.cred.pid;
        return { level, type, cred: { pid, uid: value(c.cred.uid ?? 0), gid: value(c.cred.gid ?? 0) } };
      }
      return { level, type, data: makeData(c.data) };
    });
  }

  cmsgsIn(control: U.Cmsg[], names: unknown): unknown[] {
    const list = Array.isArray(names) ? (names as string[]) : [];
    let ni = 0;
    return control.map((c) => {
      const out: Record<string, unknown> = {
        level: c.level === constant('SOL_SOCKET') ? 'SOL_SOCKET' : c.level,
      };
      const data = c.data ?? new Uint8Array(0);
      if (c.level === constant('SOL_SOCKET') && c.type === constant('SCM_RIGHTS')) {
        out.type = 'SCM_RIGHTS';
        const fds = c.fds ?? [];
        out.fds = fds.map((fd) => this.gotFd(fd, list[ni++]));
      } else if (
        c.level === constant('SOL_SOCKET') &&
        c.type === constant('SCM_CREDENTIALS') &&
        data.length >= 12
      ) {
        out.type = 'SCM_CREDENTIALS';
        const cr = c.cred ?? decodeCred(data);
        out.cred = { pid: cr.pid === this.task.pid ? 'self' : cr.pid, uid: cr.uid >>> 0, gid: cr.gid >>> 0 };
      } else if (c.level === constant('SOL_SOCKET') && c.type === constant('SCM_CREDENTIALS')) {
        // Cut short by MSG_CTRUNC: only the length (the bytes start with the pid).
        out.type = 'SCM_CREDENTIALS';
        out.data = `len:${data.length}`;
      } else if (c.level === constant('SOL_TCP') && SOL_TCP_CMSG[c.type] && data.length >= 4) {
        const v = new DataView(data.buffer, data.byteOffset, 4).getInt32(0, true);
        return { level: 'SOL_TCP', type: SOL_TCP_CMSG[c.type], value: v };
      } else if (c.level === constant('SOL_IP') && SOL_IP_CMSG[c.type]) {
        return { level: 'SOL_IP', type: SOL_IP_CMSG[c.type], ...this.ipCmsg(c.type, data) };
      } else {
        out.type = c.type;
        out.data = 'hex:' + hex(data);
      }
      return out;
    });
  }

  recvResult(r: RecvResult, bufs: Uint8Array[], names: unknown): StepResult {
    return {
      ret: r.n,
      data: fmtData(gather(bufs, r.n)),
      flags: decodeBits(r.flags, MSG_NAMES, lookup),
      addr: this.addr(r.addr),
      control: this.cmsgsIn(r.control, names),
    };
  }
}

function decodeCred(b: Uint8Array): { pid: number; uid: number; gid: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  return { pid: dv.getInt32(0, true), uid: dv.getUint32(4, true), gid: dv.getUint32(8, true) };
}

function resize(b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, n));
  out.set(b.subarray(0, out.length));
  return out;
}

function gather(bufs: Uint8Array[], n: number): Uint8Array {
  const out: number[] = [];
  for (const b of bufs) {
    const take = Math.min(b.length, n - out.length);
    if (take > 0) out.push(...b.subarray(0, take));
  }
  return Uint8Array.from(out);
}

/** An iovec list: a list, or {"repeat": element, "count": n}. */
function iovList(spec: unknown): unknown[] {
  if (spec === undefined || spec === null) return [];
  if (Array.isArray(spec)) return spec;
  const o = spec as { repeat: unknown; count: number };
  return new Array<unknown>(o.count).fill(o.repeat);
}

function recvBufs(m: Record<string, unknown>): Uint8Array[] {
  const sizes =
    m.iov !== undefined ? (iovList(m.iov) as number[]) : [typeof m.size === 'number' ? m.size : 0];
  return sizes.map((s) => new Uint8Array(s));
}

function num(v: unknown, dflt = 0): number {
  return v === undefined ? dflt : value(v as Value);
}

function sendMsg(ctx: Ctx, m: Record<string, unknown>): SendMsg {
  const iov = iovList(m.iov).map((d) => makeData(d));
  const out: SendMsg = { iov };
  const name = ctx.sockaddr(m.name as AddrSpec | undefined);
  if (name) out.name = name;
  const control = ctx.cmsgsOut(m.control as CmsgSpec[] | undefined);
  if (control) out.control = control;
  return out;
}

function sockoptValue(v: unknown): U.SockoptValue {
  if (v && typeof v === 'object') {
    const o = v as Record<string, Value>;
    if (typeof o.hex === 'string') return fromHex(o.hex);
    if (typeof o.text === 'string') return utf8.encode(o.text);
    if ('l_onoff' in o) return { l_onoff: value(o.l_onoff), l_linger: value(o.l_linger ?? 0) };
    if ('tv_sec' in o) return { tv_sec: value(o.tv_sec), tv_usec: value(o.tv_usec ?? 0) };
  }
  return value(v as Value);
}

function sockoptResult(ctx: Ctx, v: unknown): unknown {
  if (typeof v === 'number') return v;
  if (v instanceof Uint8Array) return 'hex:' + hex(v);
  if (v && typeof v === 'object') {
    const o = v as Record<string, number>;
    if ('l_onoff' in o) return { l_onoff: o.l_onoff, l_linger: o.l_linger };
    if ('tv_sec' in o) return { tv_sec: o.tv_sec, tv_usec: o.tv_usec };
    if ('pid' in o)
      return { pid: o.pid === ctx.task.pid ? 'self' : o.pid, uid: o.uid >>> 0, gid: o.gid >>> 0 };
  }
  return v;
}

function errnoName(n: number): string {
  for (const [k, v] of Object.entries(exported))
    if (v === n && /^E[A-Z0-9]+$/.test(k) && k !== 'EWOULDBLOCK' && k !== 'EDEADLOCK' && k !== 'ENOTSUP')
      return k;
  return String(n);
}

function errnoOf(e: unknown): string {
  if (e instanceof U.SyscallError) return e.code;
  if (e instanceof Unresolved) return `UNRESOLVED:${e.message}`;
  if (e instanceof ScenarioError) throw e;
  return `EXCEPTION:${e instanceof Error ? e.message : String(e)}`;
}

async function runStep(ctx: Ctx, st: Step): Promise<StepResult> {
  const t = ctx.task;
  const fd = (): number => ctx.fd(st.fd);
  switch (st.call) {
    case 'socket':
      return { ret: ctx.gotFd(t.socket(num(st.domain), num(st.type), num(st.protocol)), st.as) };
    case 'socketpair': {
      const [a, b] = t.socketpair(num(st.domain), num(st.type), num(st.protocol));
      const names = Array.isArray(st.as) ? st.as : [];
      return { ret: 0, fds: [ctx.gotFd(a, names[0]), ctx.gotFd(b, names[1])] };
    }
    case 'bind':
    case 'connect': {
      const a = ctx.sockaddr(st.addr as AddrSpec) ?? new Uint8Array(0);
      if (st.call === 'bind') t.bind(fd(), a);
      else await t.connect(fd(), a);
      return { ret: 0 };
    }
    case 'sysctl': {
      const host = ctx.host!;
      const name = String(st.name);
      const parts = String(st.value).trim().split(/\s+/).map(Number);
      let r = 0;
      if (name === 'net.ipv4.ping_group_range') r = set_ping_group_range(host.netns, parts[0], parts[1]);
      else if (name === 'net.ipv4.ip_local_port_range')
        r = set_local_port_range(host.netns, parts[0], parts[1]);
      else host.sysctl.write(name, parts[0]);
      if (r < 0) throw new U.SyscallError(-r, 'sysctl');
      return { ret: 0 };
    }
    case 'listen':
      t.listen(fd(), num(st.backlog));
      return { ret: 0 };
    case 'accept': {
      const r = await t.accept(fd(), num(st.flags));
      return { ret: ctx.gotFd(r.fd, st.as), addr: ctx.addr(r.addr) };
    }
    case 'getsockname':
      return { ret: 0, addr: ctx.addr(t.getsockname(fd())) };
    case 'getpeername':
      return { ret: 0, addr: ctx.addr(t.getpeername(fd())) };
    case 'send':
      return { ret: await t.send(fd(), makeData(st.data), num(st.flags)) };
    case 'write':
      return { ret: await t.write(fd(), makeData(st.data)) };
    case 'sendto':
      return {
        ret: await t.sendto(fd(), makeData(st.data), num(st.flags), ctx.sockaddr(st.addr as AddrSpec)),
      };
    case 'writev':
      return {
        ret: await t.writev(
          fd(),
          iovList(st.iov).map((d) => makeData(d)),
        ),
      };
    case 'sendmsg':
      return { ret: await t.sendmsg(fd(), sendMsg(ctx, st), num(st.flags)) };
    case 'sendmmsg': {
      const msgs = ((st.msgs as Record<string, unknown>[]) ?? []).map((m) => sendMsg(ctx, m));
      return { ret: await t.sendmmsg(fd(), msgs, num(st.flags)) };
    }
    case 'recv':
    case 'read': {
      const buf = new Uint8Array(num(st.size));
      const n = st.call === 'recv' ? await t.recv(fd(), buf, num(st.flags)) : await t.read(fd(), buf);
      return { ret: n, data: fmtData(buf.subarray(0, Math.min(n, buf.length))) };
    }
    case 'recvfrom': {
      const buf = new Uint8Array(num(st.size));
      const r = await t.recvfrom(fd(), buf, num(st.flags));
      return { ret: r.n, data: fmtData(buf.subarray(0, Math.min(r.n, buf.length))), addr: ctx.addr(r.addr) };
    }
    case 'readv': {
      const bufs = (iovList(st.iov) as number[]).map((s) => new Uint8Array(s));
      const n = await t.readv(fd(), bufs);
      return { ret: n, data: fmtData(gather(bufs, n)) };
    }
    case 'recvmsg': {
      const bufs = recvBufs(st);
      const r = await t.recvmsg(fd(), { iov: bufs, controllen: num(st.controllen) }, num(st.flags));
      return ctx.recvResult(r, bufs, st.fds_as);
    }
    case 'recvmmsg': {
      const specs = (st.msgs as Record<string, unknown>[]) ?? [];
      const bufs = specs.map((m) => recvBufs(m));
      const rs = await t.recvmmsg(
        fd(),
        specs.map((m, i) => ({ iov: bufs[i], controllen: num(m.controllen) })),
        num(st.flags),
      );
      return { ret: rs.length, msgs: rs.map((r, i) => ctx.recvResult(r, bufs[i], specs[i].fds_as)) };
    }
    case 'shutdown':
      t.shutdown(fd(), num(st.how));
      return { ret: 0 };
    case 'setsockopt':
      t.setsockopt(fd(), num(st.level), num(st.name), sockoptValue(st.value));
      return { ret: 0 };
    case 'getsockopt': {
      const kind = typeof st.name === 'string' ? OPT_KIND[st.name] : undefined;
      if (kind === 'tcp_info') {
        const b = t.getsockoptRaw(fd(), num(st.level), num(st.name), num(st.optlen, TCP_INFO_ROOM));
        return { ret: 0, value: tcpInfo(b, st.fields) };
      }
      if (kind === 'string') {
        const b = t.getsockoptRaw(fd(), num(st.level), num(st.name), 16);
        const z = b.indexOf(0);
        return { ret: 0, value: new TextDecoder().decode(z < 0 ? b : b.subarray(0, z)) };
      }
      const v = t.getsockopt(fd(), num(st.level), num(st.name));
      if (kind === undefined && v instanceof Uint8Array && v.length >= 4)
        return { ret: 0, value: new DataView(v.buffer, v.byteOffset, 4).getInt32(0, true) };
      return { ret: 0, value: sockoptResult(ctx, v) };
    }
    case 'getsockoptRaw': {
      const b = t.getsockoptRaw(fd(), num(st.level), num(st.name), num(st.optlen));
      return { ret: b.length, value: 'hex:' + hex(b) };
    }
    case 'close':
      t.close(fd());
      return { ret: 0 };
    case 'dup':
      return { ret: ctx.gotFd(t.dup(fd()), st.as) };
    case 'dup2':
      return { ret: ctx.gotFd(t.dup2(fd(), ctx.fd(st.newfd)), st.as) };
    case 'dup3':
      return { ret: ctx.gotFd(t.dup3(fd(), ctx.fd(st.newfd), num(st.flags)), st.as) };
    case 'fcntl': {
      const cmd = num(st.cmd);
      const arg = st.arg && typeof st.arg === 'object' ? ctx.fd(st.arg) : num(st.arg);
      const r = t.fcntl(fd(), cmd, arg);
      if (cmd === constant('F_DUPFD') || cmd === constant('F_DUPFD_CLOEXEC'))
        return { ret: ctx.gotFd(r, st.as) };
      return { ret: r };
    }
    case 'ioctl': {
      const r = t.ioctl(fd(), num(st.cmd), num(st.arg));
      return { ret: typeof st.cmd === 'string' && IOCTL_OUT.has(st.cmd) ? r : 0 };
    }
    case 'poll': {
      const specs = (st.fds as { fd: FdRef; events?: Value }[]) ?? [];
      const pfds: PollFd[] = specs.map((p) => ({
        fd: ctx.fd(p.fd),
        events: value(p.events) & 0xffff,
        revents: 0,
      }));
      const n = await t.poll(pfds, num(st.timeout));
      return { ret: n, revents: pfds.map((p) => decodeBits(p.revents & 0xffff, POLL_NAMES, lookup)) };
    }
    case 'select': {
      const kinds = ['read', 'write', 'except'] as const;
      const refs = Object.fromEntries(kinds.map((k) => [k, (st[k] as FdRef[] | undefined) ?? []])) as Record<
        (typeof kinds)[number],
        FdRef[]
      >;
      const fds = Object.fromEntries(kinds.map((k) => [k, refs[k].map((r) => ctx.fd(r))])) as Record<
        (typeof kinds)[number],
        number[]
      >;
      const all = [...fds.read, ...fds.write, ...fds.except];
      const nfds =
        st.nfds && typeof st.nfds === 'object'
          ? ctx.fd(st.nfds)
          : st.nfds !== undefined
            ? num(st.nfds)
            : all.length
              ? Math.max(...all) + 1
              : 0;
      const sets = Object.fromEntries(kinds.map((k) => [k, new Set(fds[k])])) as Record<
        (typeof kinds)[number],
        Set<number>
      >;
      const n = await t.select(nfds, sets.read, sets.write, sets.except, num(st.timeout));
      const res: StepResult = { ret: n };
      for (const k of kinds) res[k] = refs[k].filter((_r, i) => sets[k].has(fds[k][i]));
      return res;
    }
    case 'epoll_create1':
      return { ret: ctx.gotFd(t.epoll_create1(num(st.flags)), st.as) };
    case 'epoll_ctl': {
      const ev = 'events' in st || 'data' in st ? { events: num(st.events) | 0, data: num(st.data) } : null;
      t.epoll_ctl(ctx.fd(st.epfd), num(st.op), fd(), ev);
      return { ret: 0 };
    }
    case 'epoll_wait': {
      const evs = await t.epoll_wait(ctx.fd(st.epfd), num(st.maxevents, 16), num(st.timeout));
      return {
        ret: evs.length,
        events: evs.map((e) => ({ events: decodeBits(e.events >>> 0, EPOLL_NAMES, lookup), data: e.data })),
      };
    }
    case 'mkdir':
      t.mkdir(ctx.path(st.path), num(st.mode ?? '0755'));
      return { ret: 0 };
    case 'chmod':
      t.chmod(ctx.path(st.path), num(st.mode ?? '0755'));
      return { ret: 0 };
    case 'unlink':
      t.unlink(ctx.path(st.path));
      return { ret: 0 };
    case 'rmdir':
      t.rmdir(ctx.path(st.path));
      return { ret: 0 };
    case 'chown':
      t.chown(ctx.path(st.path), num(st.uid, -1), num(st.gid, -1));
      return { ret: 0 };
    case 'getrlimit': {
      const res = num(st.resource);
      const l = t.getrlimit(res);
      return { ret: 0, soft: res === constant('RLIMIT_NOFILE') ? l.cur - ctx.base : l.cur };
    }
    case 'setrlimit': {
      const res = num(st.resource);
      const cur = t.getrlimit(res);
      const s = st.soft;
      const soft = s && typeof s === 'object' ? ctx.fd(s) : num(s);
      t.setrlimit(res, { cur: soft, max: cur.max });
      return { ret: 0 };
    }
    case 'fill': {
      const d = st.data !== undefined ? makeData(st.data) : makeData({ fill: num(st.chunk, 1024) });
      const flags = st.flags !== undefined ? num(st.flags) : constant('MSG_DONTWAIT');
      const limit = num(st.max, 100000);
      let total = 0;
      let count = 0;
      let stop: string | null = null;
      while (count < limit) {
        try {
          total += await t.send(fd(), d, flags);
          count++;
        } catch (e) {
          stop = errnoOf(e);
          break;
        }
      }
      return { ret: total, count, stop };
    }
    case 'drain': {
      const buf = new Uint8Array(num(st.size, 65536));
      const flags = st.flags !== undefined ? num(st.flags) : constant('MSG_DONTWAIT');
      let total = 0;
      let count = 0;
      let stop: string | null = null;
      while (count < 100000) {
        let n: number;
        try {
          n = await t.recv(fd(), buf, flags);
        } catch (e) {
          stop = errnoOf(e);
          break;
        }
        if (n === 0) {
          stop = 'EOF';
          break;
        }
        total += n;
        count++;
      }
      return { ret: total, count, stop };
    }
    default:
      throw new ScenarioError(`unknown call ${st.call}`);
  }
}

const HANG = Symbol('hang');

/** Let every timer due at the current instant fire (a few event-loop turns at most). */
async function settle(host: Host): Promise<void> {
  const clock = host.clock;
  for (let i = 0; i < 64 && clock.nextExpiry() <= clock.now(); i++) await new Promise((r) => setImmediate(r));
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof HANG> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<typeof HANG>((resolve) => {
    timer = setTimeout(() => resolve(HANG), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

function setupHost(opts: UsernetRunOptions): Host {
  const world = new U.World({ seed: opts.seed ?? 1 });
  const host = world.addHost('conformance');
  ipv4_init(host.netns);
  for (const [name, v] of Object.entries(opts.sysctl ?? {})) {
    try {
      host.sysctl.write(name, v);
    } catch (err) {
      opts.onSysctlError?.(name, v, err);
    }
  }
  // Vectors need writeText; a host without it still takes the single numbers.
  const sysctl = host.sysctl as typeof host.sysctl & { writeText?: (name: string, value: string) => void };
  const known = new Set(sysctl.names());
  for (const [name, v] of Object.entries(opts.sysctlText ?? {})) {
    if (!known.has(name)) continue;
    try {
      if (sysctl.writeText) sysctl.writeText(name, v);
      else if (/^-?\d+$/.test(v)) sysctl.write(name, Number(v));
    } catch (err) {
      opts.onSysctlError?.(name, v, err);
    }
  }
  return host;
}

/** Run one scenario on a fresh world. */
export async function runScenarioUsernet(s: Scenario, opts: UsernetRunOptions = {}): Promise<ScenarioResult> {
  const stepTimeout = opts.stepTimeoutMs ?? 3000;
  try {
    const host = setupHost(opts);
    const root = host.spawn({ uid: 0, gid: 0 });
    root.mkdir(DIR, 0o700);
    let task = root;
    if (s.uid !== undefined) {
      const gid = s.gid ?? s.uid;
      root.chown(DIR, s.uid, gid);
      task = host.spawn({ uid: s.uid, gid });
    }
    const ctx = new Ctx(task);
    ctx.host = host;
    ctx.known = knownPorts(s);
    const results: StepResult[] = [];
    const bg = new Map<string, Promise<StepResult>>();
    const runOne = (st: Step): Promise<StepResult> =>
      runStep(ctx, st).then(
        (r) => r,
        (e: unknown) => ({ ret: -1, errno: errnoOf(e) }),
      );
    for (const st of s.steps) {
      if (typeof st.bg === 'string') {
        // Started now, sleeping on usernet's wait queues; its result is the matching join's.
        const p = runOne(st);
        p.catch(() => undefined);
        bg.set(st.bg, p);
        results.push({ bg: 'started', errno: null });
        continue;
      }
      let r: StepResult | typeof HANG;
      if (st.call === 'join') {
        const p = bg.get(String(st.id));
        if (!p) throw new ScenarioError(`unknown background step ${String(st.id)}`);
        bg.delete(String(st.id));
        r = await withTimeout(p, stepTimeout);
      } else r = await withTimeout(runOne(st), stepTimeout);
      // What the step set in motion at this instant (the receive softirq after a loopback send,
      // an ICMP error in reply) runs before the next step, as it does before Linux's syscall returns.
      await settle(host);
      if (r === HANG) {
        results.push({ ret: -1, errno: 'HANG' });
        break;
      }
      if (!('errno' in r)) r.errno = null;
      results.push(r);
    }
    try {
      task.exit();
      if (task !== root) root.exit();
    } catch {
      // A failure to tear down is not a result.
    }
    return { name: s.name, results };
  } catch (e) {
    return { name: s.name, error: e instanceof Error ? e.message : String(e) };
  }
}

/** Run scenarios one after the other. */
export async function runUsernet(
  scenarios: Scenario[],
  opts: UsernetRunOptions = {},
): Promise<ScenarioResult[]> {
  const out: ScenarioResult[] = [];
  for (const s of scenarios) out.push(await runScenarioUsernet(s, opts));
  return out;
}
