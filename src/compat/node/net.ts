// A `node:net`-shaped module for one host: Server and Socket (a real stream.Duplex) over the
// host's TCP (and AF_UNIX stream) sockets, reached only through the task API.
//
// How it runs. Each module (one per host: host.nodeNet, made by createNet) owns one task, `node`, and every
// socket it opens is an O_NONBLOCK fd of that task — as libuv has one process and one event loop.
// One loop per module waits in poll(2) on the fds that want something (POLLIN while a reader
// wants data or a listener accepts, POLLOUT while a connect is in progress or a write is stuck
// on EAGAIN) plus one end of an AF_UNIX socketpair: the loop's wake-up pipe, written to when the
// set of interests changes while poll sleeps (libuv's async handle). Reads, writes, accepts and
// connects are non-blocking calls made from the stream callbacks; a call that returns EAGAIN
// registers interest and the loop retries it when poll reports the fd ready. Socket timeouts
// (setTimeout) are poll's timeout, on the world clock, so they run in virtual time. The loop
// stops when the module has no open socket, so nothing keeps the process alive.
//
// Names resolve through the host's dns.lookup (the world's hosts table) unless connect() is given
// a `lookup`. What differs from node:net (IPv4 and AF_UNIX only, ref/unref, listen without a
// host) is listed in docs/node-compat.md.

import { Duplex } from 'node:stream';
import { uvErrorMessage } from './uv_errors.js';
import { codedError, invalidArgType, invalidArgValue, missingArgs, validatePort } from './node_errors.js';
import { EventEmitter } from 'node:events';
import { BlockList, SocketAddress, isIP, isIPv4, isIPv6 } from 'node:net';
import type { Host } from '../../sim/host.js';
import type { Task } from '../../sim/task.js';
import type { PollFd } from '../../kernel/select.js';
import { SyscallError } from '../../sim/errors.js';
import {
  errnoByName,
  errnoCode,
  strerror,
  EAFNOSUPPORT,
  EAGAIN,
  EINPROGRESS,
  EINVAL,
} from '../../uapi/errno.js';
import {
  AF_INET,
  AF_UNIX,
  SOCK_STREAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  SOL_TCP,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_REUSEADDR,
  SHUT_WR,
} from '../../uapi/socket.js';
import { TCP_KEEPIDLE, TCP_NODELAY } from '../../uapi/tcp.js';
import { POLLERR, POLLHUP, POLLIN, POLLOUT } from '../../uapi/poll.js';
import type { Sockaddr } from '../../uapi/sockaddr.js';

export { isIP, isIPv4, isIPv6 };

/** The error objects node:net produces: code, errno (negative, as libuv's), syscall, address, port. */
export interface NetError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
  hostname?: string;
}

function uvMessage(errno: number): string {
  return uvErrorMessage(errno, strerror(errno));
}

/**
 * Node's exceptionWithHostPort (connect: "connect ECONNREFUSED 10.0.0.2:80") and
 * uvExceptionWithHostPort (listen: "listen EADDRINUSE: address already in use 0.0.0.0:80").
 */
function netError(
  errno: number,
  syscall: string,
  address?: string,
  port?: number,
  withText = false,
): NetError {
  const code = errnoCode(errno);
  let details = '';
  if (port && port > 0) details = ` ${address}:${port}`;
  else if (address) details = ` ${address}`;
  const text = withText ? `: ${uvMessage(errno)}` : '';
  const err = new Error(`${syscall} ${code}${text}${details}`) as NetError;
  err.errno = -errno;
  err.code = code;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port) err.port = port;
  return err;
}

function errnoOf(err: unknown): number {
  if (err instanceof SyscallError) return err.errno;
  const e = err as { errno?: unknown; code?: unknown };
  if (typeof e?.errno === 'number') return Math.abs(e.errno);
  if (typeof e?.code === 'string') return errnoByName(e.code) ?? EINVAL;
  return EINVAL;
}

/** A `lookup` function with dns.lookup's signature (the `lookup` option of connect). */
export type LookupFn = (
  hostname: string,
  options: { family?: number; hints?: number; all?: false },
  cb: (err: Error | null, address: string, family: number) => void,
) => void;

/** Where a socket connects or listens: an IPv4 address and port, or an AF_UNIX path. */
type Target = { kind: 'inet'; addr: string; port: number } | { kind: 'unix'; path: string };

function toSockaddr(t: Target): Sockaddr {
  return t.kind === 'inet'
    ? { family: AF_INET, addr: t.addr, port: t.port }
    : { family: AF_UNIX, path: t.path };
}

/**
 * Resolve `host` as Node's lookupAndConnect does: an address literal stands for itself (and no
 * 'lookup' event follows), a name goes through `lookup`. `looked` tells the caller whether a
 * lookup ran, so it emits 'lookup' when Node would.
 */
function resolveHost(
  host: string,
  family: number,
  lookup: LookupFn,
  cb: (err: Error | null, addr: string | undefined, fam: number | undefined, looked: boolean) => void,
): void {
  const literal = isIP(host);
  if (literal) return process.nextTick(cb, null, host, literal, false);
  lookup(host, { family, hints: 0 }, (err, address, fam) => cb(err, address, fam, true));
}

/** Something the poll loop watches: a socket or a listener. */
interface Watched {
  readonly fd: number;
  /** The poll events wanted now (0: none, the fd is left out of this round). */
  interest(): number;
  /** When the next timeout falls due (world clock, ns), or Infinity. */
  deadline(): number;
  ready(revents: number): void;
  timedOut(now: number): void;
}

/** The shared machinery of one module: its task, its poll loop and wake-up pipe. */
class Core {
  readonly task: Task;
  private readonly watched = new Map<number, Watched>();
  private running = false;
  private polling = false;
  private woken = false;
  private wakeR = -1;
  private wakeW = -1;
  private readonly one = new Uint8Array(1);
  private readonly sink = new Uint8Array(64);

  /** dns.lookup of the host: how names given to connect() and listen() resolve. */
  readonly lookup: LookupFn;

  constructor(readonly host: Host) {
    this.task = host.spawn({ comm: 'node' });
    this.lookup = host.dns.lookup as LookupFn;
  }

  now(): number {
    return this.host.clock.now();
  }

  watch(w: Watched): void {
    this.watched.set(w.fd, w);
    this.kick();
  }

  unwatch(w: Watched): void {
    if (this.watched.get(w.fd) === w) this.watched.delete(w.fd);
    this.kick();
  }

  /** The interests changed: start the loop, or interrupt the poll it sleeps in. */
  kick(): void {
    if (!this.running) {
      if (this.watched.size === 0) return;
      this.running = true;
      void this.loop();
      return;
    }
    if (this.polling && !this.woken) {
      this.woken = true;
      this.task.write(this.wakeW, this.one).catch(() => {});
    }
  }

  private async loop(): Promise<void> {
    if (this.wakeR < 0) {
      [this.wakeR, this.wakeW] = this.task.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    }
    try {
      while (this.watched.size > 0) {
        const fds: PollFd[] = [{ fd: this.wakeR, events: POLLIN, revents: 0 }];
        const who: Watched[] = [];
        let deadline = Number.POSITIVE_INFINITY;
        for (const w of this.watched.values()) {
          const ev = w.interest();
          if (ev) {
            fds.push({ fd: w.fd, events: ev, revents: 0 });
            who.push(w);
          }
          deadline = Math.min(deadline, w.deadline());
        }
        const timeout =
          deadline === Number.POSITIVE_INFINITY ? -1 : Math.max(0, Math.ceil((deadline - this.now()) / 1e6));
        this.polling = true;
        try {
          await this.task.poll(fds, timeout);
        } finally {
          this.polling = false;
        }
        if (fds[0].revents) {
          this.woken = false;
          await this.task.read(this.wakeR, this.sink).catch(() => 0);
        }
        for (let i = 0; i < who.length; i++) {
          const w = who[i];
          const r = fds[i + 1].revents;
          if (r && this.watched.get(w.fd) === w) w.ready(r);
        }
        const now = this.now();
        for (const w of [...this.watched.values()]) if (w.deadline() <= now) w.timedOut(now);
      }
    } finally {
      this.running = false;
    }
  }
}

// ——— Socket ——————————————————————————————————————————————————————————————————

export interface SocketConstructorOpts {
  allowHalfOpen?: boolean;
  highWaterMark?: number;
}

export interface TcpConnectOpts {
  port: number | string;
  host?: string;
  localAddress?: string;
  localPort?: number;
  family?: number;
  lookup?: LookupFn;
  timeout?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  allowHalfOpen?: boolean;
}

export interface IpcConnectOpts {
  path: string;
  timeout?: number;
  allowHalfOpen?: boolean;
}

export type ConnectOpts = TcpConnectOpts | IpcConnectOpts;

export interface AddressInfo {
  address: string;
  family: string;
  port: number;
}

const kAccepted = Symbol('accepted');

interface AcceptedOpts {
  [kAccepted]: { fd: number; server: Server; unix: boolean };
}

interface PendingWrite {
  data: Uint8Array;
  off: number;
  cb: (err?: Error | null) => void;
}

type ConnectArgs = [ConnectOpts | number | string, ...unknown[]];

/** Node's toNumber in net.js: a number >= 0, or false. */
function toNumber(x: unknown): number | false {
  const n = Number(x);
  return n >= 0 ? n : false;
}

/** Node's normalizeArgs: (options | port[, host] | path)[, callback] → [options, callback]. */
function normalizeConnectArgs(args: unknown[]): [ConnectOpts, (() => void) | undefined] {
  if (args.length === 0) return [{} as ConnectOpts, undefined];
  const last = args[args.length - 1];
  const cb = typeof last === 'function' ? (last as () => void) : undefined;
  const a0 = args[0];
  if (a0 !== null && typeof a0 === 'object') return [a0 as ConnectOpts, cb];
  // A string that is not a number >= 0 names a pipe (isPipeName).
  if (typeof a0 === 'string' && toNumber(a0) === false) return [{ path: a0 }, cb];
  const opts: TcpConnectOpts = { port: a0 as number | string };
  if (args.length > 1 && typeof args[1] === 'string') opts.host = args[1];
  return [opts, cb];
}

/** A stream socket: node:net's Socket, a Duplex over one non-blocking fd of the module's task. */
export class Socket extends Duplex implements Watched {
  fd = -1;
  connecting = false;
  bytesRead = 0;
  /** The Server that accepted this socket, if any. */
  server: Server | null = null;
  private peerName: AddressInfo | undefined;
  private sockName: AddressInfo | undefined;
  private unix = false;
  private written = 0;
  private wantRead = false;
  private reading = false;
  private writing = false;
  private pendingWrite: PendingWrite | null = null;
  private finalCb: ((err?: Error | null) => void) | null = null;
  private timeoutMs = 0;
  private timeoutSet: number | undefined;
  private due = Number.POSITIVE_INFINITY;
  private noDelay: boolean | undefined;
  private keepAlive: [boolean, number] | undefined;

  constructor(
    private readonly core: Core,
    opts: SocketConstructorOpts & Partial<AcceptedOpts> = {},
  ) {
    super({
      allowHalfOpen: opts.allowHalfOpen ?? false,
      highWaterMark: opts.highWaterMark,
      emitClose: false,
      autoDestroy: true,
      decodeStrings: true,
    });
    const acc = opts[kAccepted];
    if (acc) {
      this.fd = acc.fd;
      this.server = acc.server;
      this.unix = acc.unix;
      core.watch(this);
      this.read(0);
    }
  }

  // — the poll loop's side —

  interest(): number {
    if (this.fd < 0) return 0;
    if (this.connecting) return POLLOUT;
    let ev = 0;
    if (this.wantRead && !this.reading) ev |= POLLIN;
    if (this.pendingWrite && !this.writing) ev |= POLLOUT;
    return ev;
  }

  deadline(): number {
    return this.due;
  }

  ready(revents: number): void {
    if (this.connecting) {
      this.finishConnect();
      return;
    }
    if (revents & (POLLIN | POLLHUP | POLLERR) && this.wantRead && !this.reading) void this.doRead();
    if (revents & (POLLOUT | POLLHUP | POLLERR) && this.pendingWrite && !this.writing) void this.doWrite();
  }

  timedOut(): void {
    this.due = Number.POSITIVE_INFINITY;
    this.emit('timeout');
  }

  /** Traffic moved: push the idle timeout back (Node's _unrefTimer). */
  private touch(): void {
    this.due = this.timeoutMs > 0 ? this.core.now() + this.timeoutMs * 1e6 : Number.POSITIVE_INFINITY;
  }

  // — connecting —

  connect(options: ConnectOpts, connectListener?: () => void): this;
  connect(port: number, host?: string, connectListener?: () => void): this;
  connect(port: number, connectListener?: () => void): this;
  connect(path: string, connectListener?: () => void): this;
  connect(...args: ConnectArgs): this {
    const [opts, cb] = normalizeConnectArgs(args);
    const anyOpts = opts as { port?: unknown; path?: unknown };
    if (anyOpts.port === undefined && (anyOpts.path === undefined || anyOpts.path === null)) {
      throw missingArgs('options', 'port', 'path');
    }
    if (this.connecting || this.fd >= 0)
      throw codedError(Error, 'ERR_SOCKET_CONNECTING', 'Socket is already connecting');
    if (this.destroyed) throw codedError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed');
    if ('path' in opts && opts.path) {
      if (typeof opts.path !== 'string') throw invalidArgType('options.path', ['string'], opts.path);
      if (cb) this.once('connect', cb);
      this.connecting = true;
      if (opts.timeout) this.setTimeout(opts.timeout);
      this.unix = true;
      process.nextTick(() => this.startConnect({ kind: 'unix', path: opts.path }, opts));
      return this;
    }
    // lookupAndConnect's checks, in its order.
    const o = opts as TcpConnectOpts;
    if (o.localAddress && !isIP(o.localAddress)) {
      throw codedError(TypeError, 'ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${String(o.localAddress)}`);
    }
    if (o.localPort && typeof o.localPort !== 'number')
      throw invalidArgType('options.localPort', ['number'], o.localPort);
    let port = 0;
    if (o.port !== undefined) {
      if (typeof o.port !== 'number' && typeof o.port !== 'string') {
        throw invalidArgType('options.port', ['number', 'string'], o.port);
      }
      port = validatePort(o.port);
    }
    if (cb) this.once('connect', cb);
    this.connecting = true;
    if (opts.timeout) this.setTimeout(opts.timeout);
    if (o.noDelay !== undefined) this.noDelay = o.noDelay;
    if (o.keepAlive) this.keepAlive = [true, o.keepAliveInitialDelay ?? 0];
    const host = o.host || 'localhost';
    const family = o.family === 4 || o.family === 6 ? o.family : 0;
    resolveHost(host, family, o.lookup ?? this.core.lookup, (err, addr, fam, looked) => {
      if (looked) this.emit('lookup', err, addr, fam, host);
      if (!this.connecting || this.destroyed) return;
      if (err) return this.connectError(err);
      if (fam !== 4) return this.connectError(netError(EAFNOSUPPORT, 'connect', addr, port));
      this.startConnect({ kind: 'inet', addr: addr as string, port }, o);
    });
    return this;
  }

  /** A connect that failed before it reached the kernel: 'error' one tick later, as Node. */
  private connectError(err: Error): void {
    process.nextTick(() => {
      if (!this.connecting) return;
      this.connecting = false;
      this.destroy(err);
    });
  }

  private startConnect(target: Target, opts: ConnectOpts): void {
    if (this.destroyed) return;
    const t = this.core.task;
    const addr = target.kind === 'inet' ? target.addr : target.path;
    const port = target.kind === 'inet' ? target.port : undefined;
    try {
      this.fd = t.socket(target.kind === 'inet' ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    } catch (e) {
      this.connecting = false;
      this.destroy(netError(errnoOf(e), 'connect', addr, port));
      return;
    }
    const o = opts as TcpConnectOpts;
    if (target.kind === 'inet' && (o.localAddress !== undefined || o.localPort !== undefined)) {
      try {
        t.bind(this.fd, { family: AF_INET, addr: o.localAddress ?? '0.0.0.0', port: o.localPort ?? 0 });
      } catch (e) {
        this.connecting = false;
        this.destroy(netError(errnoOf(e), 'bind', o.localAddress ?? '0.0.0.0', o.localPort));
        return;
      }
    }
    this.applyOptions();
    this.connectTarget = { addr, port };
    // Watched only once the connect is under way: a fresh TCP socket polls as POLLHUP.
    t.connect(this.fd, toSockaddr(target)).then(
      () => {
        if (this.fd < 0) return;
        this.core.watch(this);
        this.connected();
      },
      (e: unknown) => {
        const errno = errnoOf(e);
        if ((errno === EINPROGRESS || errno === EAGAIN) && this.fd >= 0) this.core.watch(this);
        else this.connectFailed(errno, addr, port);
      },
    );
  }

  private connectTarget: { addr: string; port: number | undefined } = { addr: '', port: undefined };

  private finishConnect(): void {
    let err = 0;
    try {
      err = this.core.task.getsockopt(this.fd, SOL_SOCKET, SO_ERROR) as number;
    } catch (e) {
      err = errnoOf(e);
    }
    if (err) this.connectFailed(err, this.connectTarget.addr, this.connectTarget.port);
    else this.connected();
  }

  private connectFailed(errno: number, addr: string, port: number | undefined): void {
    if (!this.connecting) return;
    this.connecting = false;
    this.destroy(netError(errno, 'connect', addr, port));
  }

  private connected(): void {
    if (!this.connecting || this.destroyed) return;
    this.connecting = false;
    this.touch();
    this.core.kick();
    this.emit('connect');
    this.emit('ready');
    if (this.pendingWrite) void this.doWrite();
    if (this.finalCb && !this.pendingWrite) this.doFinal();
    this.read(0);
  }

  /**
   * Node's _getpeername: asked of the kernel on first use and kept, so it outlives the fd only
   * if it was read while the socket was open. AF_UNIX sockets (libuv's pipes) have none.
   */
  private peer(): Partial<AddressInfo> {
    if (this.fd < 0 || this.unix || this.connecting) return this.peerName ?? {};
    if (!this.peerName) {
      try {
        const p = this.core.task.getpeername(this.fd);
        if ('addr' in p) this.peerName = { address: p.addr, family: 'IPv4', port: p.port };
      } catch {
        return {};
      }
    }
    return this.peerName ?? {};
  }

  /** Node's _getsockname: nothing once the fd is closed, nothing for AF_UNIX. */
  private sockname(): Partial<AddressInfo> {
    if (this.fd < 0 || this.unix) return {};
    if (!this.sockName) {
      try {
        const a = this.core.task.getsockname(this.fd);
        if ('addr' in a) this.sockName = { address: a.addr, family: 'IPv4', port: a.port };
      } catch {
        return {};
      }
    }
    return this.sockName ?? {};
  }

  private applyOptions(): void {
    if (this.fd < 0 || this.unix) return;
    const t = this.core.task;
    try {
      if (this.noDelay !== undefined) t.setsockopt(this.fd, SOL_TCP, TCP_NODELAY, this.noDelay ? 1 : 0);
      if (this.keepAlive) {
        const [on, delay] = this.keepAlive;
        t.setsockopt(this.fd, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0);
        if (on && delay >= 1000) t.setsockopt(this.fd, SOL_TCP, TCP_KEEPIDLE, Math.floor(delay / 1000));
      }
    } catch {
      // As libuv: option failures on a live socket are not reported.
    }
  }

  // — reading —

  override _read(): void {
    this.wantRead = true;
    if (this.fd >= 0 && !this.connecting && !this.reading) void this.doRead();
  }

  private async doRead(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      while (this.wantRead && this.fd >= 0 && !this.destroyed) {
        const buf = Buffer.allocUnsafe(65536);
        let n: number;
        try {
          n = await this.core.task.read(this.fd, buf);
        } catch (e) {
          if (this.destroyed) return;
          const errno = errnoOf(e);
          if (errno === EAGAIN) break;
          this.destroy(netError(errno, 'read'));
          return;
        }
        if (this.destroyed) return;
        this.touch();
        this.wantRead = false;
        if (n === 0) {
          // As Node's onStreamRead: push EOF, then read(0) so 'end' comes even when nobody
          // consumes the stream (the buffer is empty).
          this.push(null);
          this.read(0);
          return;
        }
        this.bytesRead += n;
        const chunk = n < 16384 ? Buffer.from(buf.subarray(0, n)) : buf.subarray(0, n);
        if (this.push(chunk)) this.wantRead = true;
      }
    } finally {
      this.reading = false;
      this.core.kick();
    }
  }

  // — writing —

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pendingWrite = { data: chunk, off: 0, cb };
    // A running doWrite() (this write was started from its callback) picks it up.
    if (this.fd >= 0 && !this.connecting && !this.writing) void this.doWrite();
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), 'buffer' as BufferEncoding, cb);
  }

  private async doWrite(): Promise<void> {
    if (this.writing) return; // the running one picks up what is pending
    this.writing = true;
    try {
      while (this.pendingWrite && this.fd >= 0) {
        const p = this.pendingWrite;
        let n: number;
        try {
          n = await this.core.task.write(this.fd, p.off ? p.data.subarray(p.off) : p.data);
        } catch (e) {
          // Destroyed meanwhile: _destroy has answered this write already.
          if (this.pendingWrite !== p) return;
          const errno = errnoOf(e);
          if (errno === EAGAIN) return; // send buffer full: wait for POLLOUT
          this.pendingWrite = null;
          p.cb(netError(errno, 'write'));
          return;
        }
        if (this.pendingWrite !== p) return;
        this.written += n;
        this.touch();
        p.off += n;
        if (p.off >= p.data.length) {
          this.pendingWrite = null;
          p.cb();
        }
      }
    } finally {
      this.writing = false;
      this.core.kick();
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.finalCb = cb;
    if (this.fd >= 0 && !this.connecting) this.doFinal();
  }

  private doFinal(): void {
    const cb = this.finalCb;
    if (!cb) return;
    this.finalCb = null;
    try {
      this.core.task.shutdown(this.fd, SHUT_WR);
    } catch (e) {
      const errno = errnoOf(e);
      // A peer that already reset the connection: the shutdown has nothing left to do.
      if (errno !== errnoByName('ENOTCONN')) return cb(netError(errno, 'shutdown'));
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.connecting = false;
    this.due = Number.POSITIVE_INFINITY;
    const fd = this.fd;
    if (fd >= 0) {
      this.core.unwatch(this);
      this.fd = -1;
      try {
        this.core.task.close(fd);
      } catch {
        // closed already
      }
    }
    // A write the kernel had not taken yet is dropped; as Node's onWriteComplete on a destroyed
    // stream, its callback gets no error.
    const p = this.pendingWrite;
    this.pendingWrite = null;
    if (p) p.cb(null);
    cb(err);
    setImmediate(() => this.emit('close', err !== null));
  }

  /** End the writable side, then destroy once everything is written (used by node:http). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  resetAndDestroy(): this {
    if (this.fd >= 0 && !this.unix) {
      try {
        this.core.task.setsockopt(this.fd, SOL_SOCKET, 13 /* SO_LINGER */, { l_onoff: 1, l_linger: 0 });
      } catch {
        // not connected: a plain close
      }
    }
    return this.destroy();
  }

  // — options and views —

  setTimeout(ms: number, cb?: () => void): this {
    this.timeoutSet = ms;
    this.timeoutMs = ms > 0 ? ms : 0;
    if (cb) {
      if (ms === 0) this.removeListener('timeout', cb);
      else this.once('timeout', cb);
    }
    this.touch();
    this.core.kick();
    return this;
  }

  /** The last idle timeout given to setTimeout(), in milliseconds (undefined before any). */
  get timeout(): number | undefined {
    return this.timeoutSet;
  }

  setNoDelay(noDelay = true): this {
    this.noDelay = noDelay;
    if (!this.connecting) this.applyOptions();
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.keepAlive = [enable, initialDelay];
    if (!this.connecting) this.applyOptions();
    return this;
  }

  address(): Partial<AddressInfo> {
    return this.sockname();
  }

  get localAddress(): string | undefined {
    return this.sockname().address;
  }

  get localPort(): number | undefined {
    return this.sockname().port;
  }

  get localFamily(): string | undefined {
    return this.sockname().family;
  }

  get remoteAddress(): string | undefined {
    return this.peer().address;
  }

  get remotePort(): number | undefined {
    return this.peer().port;
  }

  get remoteFamily(): string | undefined {
    return this.peer().family;
  }

  /** As Node counts it: bytes handed to the kernel plus those still waiting to be. */
  get bytesWritten(): number {
    let n = this.written;
    if (this.pendingWrite) n += this.pendingWrite.data.length - this.pendingWrite.off;
    for (const b of (this as unknown as { writableBuffer: unknown }).writableBuffer as {
      chunk: Uint8Array | string;
    }[])
      n += b.chunk.length;
    return n;
  }

  get pending(): boolean {
    return this.fd < 0 || this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** No-op: the world's clock, not an event-loop handle, decides what keeps running. */
  ref(): this {
    return this;
  }

  /** No-op, see ref(). */
  unref(): this {
    return this;
  }
}

// ——— Server ——————————————————————————————————————————————————————————————————

export interface ServerOpts {
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

export interface ListenOptions {
  port?: number | string;
  host?: string;
  backlog?: number;
  path?: string;
  exclusive?: boolean;
}

/** node:net's Server: one listening fd of the module's task, accepted by the poll loop. */
export class Server extends EventEmitter implements Watched {
  fd = -1;
  listening = false;
  maxConnections: number | undefined;
  private connections = new Set<Socket>();
  private unix = false;
  private accepting = false;
  private closing = false;
  private readonly opts: ServerOpts;

  constructor(
    private readonly core: Core,
    private readonly makeSocket: (o: SocketConstructorOpts & AcceptedOpts) => Socket,
    opts?: ServerOpts | ((socket: Socket) => void),
    connectionListener?: (socket: Socket) => void,
  ) {
    super();
    if (typeof opts === 'function') {
      connectionListener = opts;
      opts = {};
    }
    this.opts = opts ?? {};
    if (connectionListener) this.on('connection', connectionListener);
  }

  interest(): number {
    return this.listening && !this.accepting ? POLLIN : 0;
  }

  deadline(): number {
    return Number.POSITIVE_INFINITY;
  }

  timedOut(): void {}

  ready(): void {
    if (this.listening && !this.accepting) void this.acceptAll();
  }

  private async acceptAll(): Promise<void> {
    this.accepting = true;
    try {
      while (this.listening) {
        let fd: number;
        try {
          ({ fd } = await this.core.task.accept(this.fd, SOCK_NONBLOCK));
        } catch (e) {
          const errno = errnoOf(e);
          if (errno !== EAGAIN && this.listening) this.emit('error', netError(errno, 'accept'));
          return;
        }
        if (!this.listening) {
          this.core.task.close(fd);
          return;
        }
        if (this.maxConnections !== undefined && this.connections.size >= this.maxConnections) {
          this.emit('drop', this.dropInfo(fd));
          this.core.task.close(fd);
          continue;
        }
        const s = this.makeSocket({
          allowHalfOpen: this.opts.allowHalfOpen,
          [kAccepted]: { fd, server: this, unix: this.unix },
        });
        if (this.opts.noDelay) s.setNoDelay(true);
        if (this.opts.keepAlive) s.setKeepAlive(true, this.opts.keepAliveInitialDelay);
        if (this.opts.pauseOnConnect) s.pause();
        this.connections.add(s);
        s.once('close', () => {
          this.connections.delete(s);
          this.maybeClosed();
        });
        this.emit('connection', s);
      }
    } finally {
      this.accepting = false;
      this.core.kick();
    }
  }

  /** What 'drop' tells of a connection refused for maxConnections (Node's fields). */
  private dropInfo(fd: number): Record<string, unknown> {
    if (this.unix) return {};
    try {
      const me = this.core.task.getsockname(fd);
      const peer = this.core.task.getpeername(fd);
      if (!('addr' in me) || !('addr' in peer)) return {};
      return {
        localAddress: me.addr,
        localPort: me.port,
        localFamily: 'IPv4',
        remoteAddress: peer.addr,
        remotePort: peer.port,
        remoteFamily: 'IPv4',
      };
    } catch {
      return {};
    }
  }

  listen(port?: number | string, hostname?: string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number | string, hostname?: string, listeningListener?: () => void): this;
  listen(port?: number | string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number | string, listeningListener?: () => void): this;
  listen(path: string, listeningListener?: () => void): this;
  listen(options: ListenOptions, listeningListener?: () => void): this;
  listen(listeningListener?: () => void): this;
  listen(...args: unknown[]): this {
    const [norm, cb] = normalizeConnectArgs(args);
    const o = { ...(norm as ListenOptions) };
    // Node's backlogFromArgs: listen(port, backlog) or listen(port, host, backlog).
    const backlogFromArgs =
      toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]) || undefined;
    if (args.length === 0 || typeof args[0] === 'function') o.port = 0;
    if (this.listening)
      throw codedError(
        Error,
        'ERR_SERVER_ALREADY_LISTEN',
        'Listen method has been called more than once without closing.',
      );
    const backlog = o.backlog || backlogFromArgs;
    if (typeof o.port === 'number' || typeof o.port === 'string' || (o.port === undefined && 'port' in o)) {
      const port = validatePort(o.port, 'options.port');
      if (cb) this.once('listening', cb);
      const host = o.host || '0.0.0.0';
      resolveHost(host, 4, this.core.lookup, (err, addr, fam) => {
        // As Node's lookupAndListen: a failed lookup is the server's 'error', as dns gave it.
        if (err) this.emit('error', err);
        else if (fam !== 4) this.emit('error', netError(EAFNOSUPPORT, 'listen', addr, port, true));
        else this.startListen({ kind: 'inet', addr: addr as string, port }, backlog);
      });
      return this;
    }
    if (typeof o.path === 'string' && o.path && toNumber(o.path) === false) {
      if (cb) this.once('listening', cb);
      this.unix = true;
      this.startListen({ kind: 'unix', path: o.path }, backlog);
      return this;
    }
    if (!('port' in o || 'path' in o))
      throw invalidArgValue('options', norm, 'must have the property "port" or "path"');
    throw invalidArgValue('options', norm);
  }

  private startListen(target: Target, backlog = 511): void {
    const t = this.core.task;
    const inet = target.kind === 'inet';
    const address = inet ? target.addr : target.path;
    // Node lists a pipe with port -1, and its errors carry that.
    const port = inet ? target.port : -1;
    let fd = -1;
    try {
      fd = t.socket(inet ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
      // libuv sets SO_REUSEADDR on every TCP listener, so a port in TIME_WAIT can be reused.
      if (inet) t.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
      t.bind(fd, toSockaddr(target));
      t.listen(fd, backlog);
    } catch (e) {
      if (fd >= 0) t.close(fd);
      // libuv defers a bind error to listen(), so Node reports both as syscall 'listen'.
      process.nextTick(() => this.emit('error', netError(errnoOf(e), 'listen', address, port, true)));
      return;
    }
    this.fd = fd;
    this.listening = true;
    this.closing = false;
    this.core.watch(this);
    process.nextTick(() => this.emit('listening'));
  }

  address(): AddressInfo | string | null {
    if (!this.listening) return null;
    const a = this.core.task.getsockname(this.fd);
    if ('addr' in a) return { address: a.addr, family: 'IPv4', port: a.port };
    if ('path' in a) return a.path;
    return null;
  }

  close(cb?: (err?: Error) => void): this {
    if (cb) {
      if (!this.listening) {
        this.once('close', () => cb(codedError(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
      } else this.once('close', () => cb());
    }
    if (this.listening) {
      this.listening = false;
      this.core.unwatch(this);
      const name = this.unix ? this.core.task.getsockname(this.fd) : null;
      this.core.task.close(this.fd);
      this.fd = -1;
      // libuv removes a pipe server's socket file when it closes (uv__pipe_close).
      if (name && 'path' in name && name.path && !name.path.startsWith('\0')) {
        try {
          this.core.task.unlink(name.path);
        } catch {
          // removed by someone else already
        }
      }
    }
    this.closing = true;
    this.maybeClosed();
    return this;
  }

  private maybeClosed(): void {
    if (!this.closing || this.listening || this.connections.size > 0) return;
    this.closing = false;
    process.nextTick(() => this.emit('close'));
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.connections.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  /** No-op, as Socket.ref(). */
  ref(): this {
    return this;
  }

  /** No-op, as Socket.ref(). */
  unref(): this {
    return this;
  }
}

// ——— the module ——————————————————————————————————————————————————————————————

/** node:net for one host. */
export interface NodeNet {
  Socket: new (opts?: SocketConstructorOpts) => Socket;
  Server: new (
    opts?: ServerOpts | ((socket: Socket) => void),
    connectionListener?: (socket: Socket) => void,
  ) => Server;
  createServer(
    opts?: ServerOpts | ((socket: Socket) => void),
    connectionListener?: (socket: Socket) => void,
  ): Server;
  connect(options: ConnectOpts, connectListener?: () => void): Socket;
  connect(port: number, host?: string, connectListener?: () => void): Socket;
  connect(path: string, connectListener?: () => void): Socket;
  createConnection(options: ConnectOpts, connectListener?: () => void): Socket;
  createConnection(port: number, host?: string, connectListener?: () => void): Socket;
  createConnection(path: string, connectListener?: () => void): Socket;
  isIP(input: string): number;
  isIPv4(input: string): boolean;
  isIPv6(input: string): boolean;
  /** Node's own: they do no I/O, so they work unchanged. */
  BlockList: typeof BlockList;
  SocketAddress: typeof SocketAddress;
  /** The old name of Socket. */
  Stream: new (opts?: SocketConstructorOpts) => Socket;
  /** The task that owns every fd of this module. */
  readonly task: Task;
}

/**
 * Make the node:net module of `host`. Every socket and server it makes is an fd of one task
 * (`comm` 'node') on that host, driven by one poll loop; see the top of this file.
 */
export function createNet(host: Host): NodeNet {
  const core = new Core(host);
  class HostSocket extends Socket {
    constructor(opts?: SocketConstructorOpts) {
      super(core, opts);
    }
  }
  const makeSocket = (o: SocketConstructorOpts & AcceptedOpts): Socket => new HostSocket(o);
  class HostServer extends Server {
    constructor(
      opts?: ServerOpts | ((socket: Socket) => void),
      connectionListener?: (socket: Socket) => void,
    ) {
      super(core, makeSocket, opts, connectionListener);
    }
  }
  const connect = (...args: ConnectArgs): Socket => {
    const [opts] = normalizeConnectArgs(args);
    const s = new HostSocket({ allowHalfOpen: opts?.allowHalfOpen });
    return (s.connect as (...a: ConnectArgs) => Socket)(...args);
  };
  return {
    Socket: HostSocket,
    Server: HostServer,
    createServer: (opts, listener) => new HostServer(opts, listener),
    connect: connect as NodeNet['connect'],
    createConnection: connect as NodeNet['createConnection'],
    isIP,
    isIPv4,
    isIPv6,
    BlockList,
    SocketAddress,
    Stream: HostSocket,
    task: core.task,
  };
}
