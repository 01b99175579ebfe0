// node:net's Socket: a stream.Duplex over one non-blocking fd of the module's task.

import { Duplex } from 'node:stream';
import { codedError, invalidArgType, missingArgs, validatePort } from './node_errors.js';
import { isIP } from 'node:net';
import { errnoByName, EAFNOSUPPORT, EAGAIN, EINPROGRESS } from '../../uapi/errno.js';
import {
  AF_INET,
  AF_UNIX,
  SOCK_STREAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  SOL_TCP,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SHUT_WR,
} from '../../uapi/socket.js';
import { TCP_KEEPIDLE, TCP_NODELAY } from '../../uapi/tcp.js';
import { POLLERR, POLLHUP, POLLIN, POLLOUT } from '../../uapi/poll.js';
import { netError, errnoOf } from './uv_errors.js';
import { Core, type Watched } from './net_core.js';
import {
  resolveHost,
  toSockaddr,
  normalizeConnectArgs,
  kAccepted,
  type Target,
  type SocketConstructorOpts,
  type TcpConnectOpts,
  type ConnectOpts,
  type AddressInfo,
  type AcceptedOpts,
  type ConnectArgs,
} from './net_args.js';
import { Server } from './net_server.js';

interface PendingWrite {
  /** The chunks of one _write or _writev, written with one writev(2) as libuv does. */
  data: Uint8Array[];
  len: number;
  off: number;
  cb: (err?: Error | null) => void;
}

/** The part of a pending write the kernel has not taken yet. */
function remaining(p: PendingWrite): Uint8Array[] {
  let skip = p.off;
  let i = 0;
  while (skip >= p.data[i]!.length) skip -= p.data[i++]!.length;
  return [p.data[i]!.subarray(skip), ...p.data.slice(i + 1)];
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
  /** What the fd has (as Node's kSetNoDelay / kSetKeepAlive*): options are set only when they change. */
  private fdNoDelay = false;
  private fdKeepAlive: [boolean, number] = [false, 0];

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
      // As Node's pauseOnCreate: a paused socket reads nothing until resumed, so its data stays
      // in the kernel's receive queue; otherwise start the flow into the stream's buffer.
      if (acc.paused) (this as { readableFlowing: boolean | null }).readableFlowing = false;
      else this.read(0);
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
    if (revents & (POLLIN | POLLHUP | POLLERR) && this.wantRead && !this.reading) this.doRead();
    if (revents & (POLLOUT | POLLHUP | POLLERR) && this.pendingWrite && !this.writing) this.doWrite();
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
    this.connectTarget = { addr, port, local: { address: o.localAddress, port: o.localPort } };
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

  private connectTarget: {
    addr: string;
    port: number | undefined;
    /** localAddress and localPort as given to connect() (Node's req.localAddress/localPort). */
    local: { address?: string; port?: number };
  } = { addr: '', port: undefined, local: {} };

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
    const l = this.connectTarget.local;
    this.destroy(
      netError(
        errno,
        'connect',
        addr,
        port,
        false,
        l.address && l.port ? (l as { address: string; port: number }) : undefined,
      ),
    );
  }

  private connected(): void {
    if (!this.connecting || this.destroyed) return;
    this.connecting = false;
    this.touch();
    this.core.update(this);
    this.emit('connect');
    this.emit('ready');
    if (this.pendingWrite) this.doWrite();
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
      if (this.noDelay !== undefined && this.noDelay !== this.fdNoDelay) {
        t.setsockopt(this.fd, SOL_TCP, TCP_NODELAY, this.noDelay ? 1 : 0);
        this.fdNoDelay = this.noDelay;
      }
      if (this.keepAlive) {
        const [on, delay] = this.keepAlive;
        const secs = Math.floor(delay / 1000);
        const [wasOn, wasSecs] = this.fdKeepAlive;
        if (on !== wasOn || (on && secs !== wasSecs)) {
          t.setsockopt(this.fd, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0);
          if (on && secs >= 1) t.setsockopt(this.fd, SOL_TCP, TCP_KEEPIDLE, secs);
          this.fdKeepAlive = [on, secs];
        }
      }
    } catch {
      // As libuv: option failures on a live socket are not reported.
    }
  }

  // — reading —

  override _read(): void {
    this.wantRead = true;
    if (this.fd >= 0 && !this.connecting && !this.reading) this.doRead();
  }

  /**
   * Read while the stream wants data and the kernel has some: non-blocking read(2)s into the
   * module's scratch buffer, each chunk copied out at its size (libuv reads into a 64 KiB slab
   * the same way). -EAGAIN ends the round without an exception; poll() brings the next.
   */
  private doRead(): void {
    if (this.reading) return;
    this.reading = true;
    // A promise job later, as when each read was awaited: events keep Node's order with
    // respect to process.nextTick work (libuv's reads never complete inside the caller).
    queueMicrotask(this.readNow);
  }

  private readonly readNow = (): void => {
    try {
      const scratch = this.core.scratch;
      while (this.wantRead && this.fd >= 0 && !this.destroyed) {
        const n = this.core.task.readNonblock(this.fd, scratch);
        if (n === -EAGAIN) break;
        if (n < 0) {
          this.destroy(netError(-n, 'read'));
          return;
        }
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
        const chunk = Buffer.allocUnsafe(n);
        scratch.copy(chunk, 0, 0, n);
        if (this.push(chunk)) this.wantRead = true;
      }
    } finally {
      this.reading = false;
      this.core.update(this);
    }
  };

  // — writing —

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.queueWrite([chunk], chunk.length, cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    const data = chunks.map((c) => c.chunk);
    this.queueWrite(
      data,
      data.reduce((n, b) => n + b.length, 0),
      cb,
    );
  }

  private queueWrite(data: Uint8Array[], len: number, cb: (err?: Error | null) => void): void {
    this.pendingWrite = { data, len, off: 0, cb };
    // A running doWrite() (this write was started from its callback) picks it up.
    if (this.fd >= 0 && !this.connecting && !this.writing) this.doWrite();
  }

  private doWrite(): void {
    if (this.writing) return; // the running one picks up what is pending
    this.writing = true;
    queueMicrotask(this.writeNow);
  }

  private readonly writeNow = (): void => {
    try {
      while (this.pendingWrite && this.fd >= 0) {
        const p = this.pendingWrite;
        const n = this.core.task.writevNonblock(this.fd, p.off ? remaining(p) : p.data);
        if (n === -EAGAIN) return; // send buffer full: wait for POLLOUT
        if (n < 0) {
          this.pendingWrite = null;
          p.cb(netError(-n, 'write'));
          return;
        }
        this.written += n;
        this.touch();
        p.off += n;
        if (p.off >= p.len) {
          this.pendingWrite = null;
          p.cb();
        }
      }
    } finally {
      this.writing = false;
      this.core.update(this);
    }
  };

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
        this.core.task.setsockopt(this.fd, SOL_SOCKET, SO_LINGER, { l_onoff: 1, l_linger: 0 });
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
    this.core.update(this);
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
    if (this.pendingWrite) n += this.pendingWrite.len - this.pendingWrite.off;
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
