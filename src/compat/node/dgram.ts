// node:dgram for one host: the module Node programs import, built on the task API. Each module
// is one process on its host (a task named "node"); each dgram.Socket is one UDP socket in it.
//
// Behaviour follows Node 20's lib/dgram.js over libuv, checked against real node:dgram on Linux:
// - the file descriptor is made at bind time, as libuv makes it, so setBroadcast(), setTTL(),
//   address() and the buffer-size calls on a socket that was never bound fail with EBADF;
// - bind(), connect() and unconnected send() resolve their address first, asynchronously, so
//   'listening', 'connect' and the send callback come after the call returns; a send() or
//   connect() on an unbound socket binds it to port 0 and waits for 'listening';
// - errors carry Node's shape: `code`, a negative `errno` (libuv's), `syscall`, and for bind,
//   connect and send the `address` and `port`; a failed send without a callback is silent (Node
//   keeps that for compatibility), a receive error ('recvmsg', e.g. ECONNREFUSED after an ICMP
//   port unreachable on a connected socket) is an 'error' event;
// - receiving is a loop of blocking recvmsg() calls, one 'message' per datagram; close() shuts
//   the socket down, which wakes that call, then closes the descriptor.
// ref() and unref() do nothing: a socket holds nothing that keeps Node's event loop alive (only
// the world's clock does, until world.stop()). Multicast membership is passed to the kernel,
// which answers as it does (this stack has no IGMP yet).

import { EventEmitter } from 'node:events';
import { Buffer } from 'node:buffer';
import type { Host } from '../../sim/host.js';
import type { Task } from '../../sim/task.js';
import { SyscallError } from '../../sim/errors.js';
import { errnoCode, strerror, EBADF, EINVAL } from '../../uapi/errno.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  SHUT_RDWR,
  SOCK_DGRAM,
  SOL_IP,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
} from '../../uapi/socket.js';
import {
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TTL,
} from '../../uapi/in.js';
import type { Sockaddr, SockaddrIn } from '../../uapi/sockaddr.js';

export type SocketType = 'udp4' | 'udp6';

/** dns.lookup's shape, as the `lookup` option of createSocket takes it. */
export type LookupFunction = (
  hostname: string,
  family: number,
  callback: (err: Error | null, address: string, family: number) => void,
) => void;

export interface SocketOptions {
  type: SocketType;
  reuseAddr?: boolean;
  /** SO_REUSEPORT (Node 22's option). */
  reusePort?: boolean;
  ipv6Only?: boolean;
  recvBufferSize?: number;
  sendBufferSize?: number;
  lookup?: LookupFunction;
  signal?: AbortSignal;
}

export interface BindOptions {
  port?: number;
  address?: string;
  exclusive?: boolean;
}

export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

export interface RemoteInfo extends AddressInfo {
  size: number;
}

export type MessageListener = (msg: Buffer, rinfo: RemoteInfo) => void;
export type SendCallback = (error: Error | null, bytes?: number) => void;
type Message = string | ArrayBufferView | readonly (string | ArrayBufferView)[];

/** The node:dgram module of one host. */
export interface NodeDgram {
  createSocket(type: SocketType | SocketOptions, listener?: MessageListener): DgramSocket;
  /** The class of the sockets createSocket() makes (for instanceof). */
  Socket: typeof DgramSocket;
}

// ——— Node's errors ——————————————————————————————————————————————————————————————

/** An errno error as Node's ErrnoException / ExceptionWithHostPort make it (errno negative). */
export interface DgramErrnoException extends Error {
  errno: number;
  code: string;
  syscall: string;
  address?: string;
  port?: number;
  hostname?: string;
}

type ErrorClass = ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor;

function nodeError(Base: ErrorClass, code: string, message: string): Error & { code: string } {
  const e = new Base(message) as Error & { code: string };
  e.code = code;
  return e;
}

const notRunning = (): Error => nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
const notConnected = (): Error => nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
const isConnected = (): Error => nodeError(Error, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
const alreadyBound = (): Error => nodeError(Error, 'ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');

function describe(v: unknown): string {
  if (v === null || v === undefined) return `Received ${String(v)}`;
  if (typeof v === 'function') return `Received function ${v.name || '<anonymous>'}`;
  if (typeof v === 'object') return `Received an instance of ${v.constructor?.name ?? 'Object'}`;
  return `Received type ${typeof v} (${typeof v === 'string' ? `'${v}'` : String(v)})`;
}

function invalidArgType(name: string, expected: string, v: unknown): Error {
  return nodeError(
    TypeError,
    'ERR_INVALID_ARG_TYPE',
    `The "${name}" argument must be ${expected}. ${describe(v)}`,
  );
}

/** Node's validatePort(): an integer-like number or string in 0…65535 (1… when zero is not allowed). */
function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  const ok =
    (typeof port === 'number' || typeof port === 'string') &&
    (typeof port !== 'string' || port.trim().length !== 0) &&
    +port === +port >>> 0 &&
    +port <= 0xffff &&
    (allowZero || +port !== 0);
  if (!ok)
    throw nodeError(
      RangeError,
      'ERR_SOCKET_BAD_PORT',
      `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. ${describe(port)}.`,
    );
  return +port | 0;
}

/** Node's ErrnoException from a positive Linux errno. */
function errnoException(errno: number, syscall: string): DgramErrnoException {
  return hostPortException(errno, syscall, undefined, undefined, false);
}

/** Node's ExceptionWithHostPort: `address` is always set (even when undefined), `port` when given. */
function hostPortException(
  errno: number,
  syscall: string,
  address: string | undefined,
  port: number | undefined,
  withHost = true,
): DgramErrnoException {
  const code = errnoCode(errno);
  let details = '';
  if (port && port > 0) details = ` ${address}:${port}`;
  else if (address) details = ` ${address}`;
  const e = new Error(`${syscall} ${code}${details}`) as DgramErrnoException;
  e.errno = -errno;
  e.code = code;
  e.syscall = syscall;
  if (withHost) e.address = address;
  if (port) e.port = port;
  return e;
}

function fromSyscall(err: unknown, syscall: string): Error {
  if (err instanceof SyscallError) return errnoException(err.errno, syscall);
  return err instanceof Error ? err : new Error(String(err));
}

function fromSyscallHostPort(
  err: unknown,
  syscall: string,
  address: string | undefined,
  port?: number,
): Error {
  if (err instanceof SyscallError) return hostPortException(err.errno, syscall, address, port);
  return err instanceof Error ? err : new Error(String(err));
}

/** getaddrinfo's failure for a name the default lookup cannot resolve (UV_EAI_NONAME). */
function notFound(hostname: string): DgramErrnoException {
  const e = new Error(`getaddrinfo ENOTFOUND ${hostname}`) as DgramErrnoException;
  e.errno = -3008;
  e.code = 'ENOTFOUND';
  e.syscall = 'getaddrinfo';
  e.hostname = hostname;
  return e;
}

function bufferSizeError(errno: number, syscall: string): Error {
  const code = errnoCode(errno);
  const msg = strerror(errno).toLowerCase();
  const e = nodeError(
    Error,
    'ERR_SOCKET_BUFFER_SIZE',
    `Could not get or set buffer size: ${syscall} returned ${code} (${msg})`,
  ) as unknown as Error & { info: object; errno: number; syscall: string };
  e.info = { errno: -errno, code, message: msg, syscall };
  e.errno = -errno;
  e.syscall = syscall;
  return e;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The default lookup: IPv4 literals and "localhost", answered asynchronously as dns.lookup does. */
const defaultLookup: LookupFunction = (hostname, family, callback) => {
  const addr = hostname === 'localhost' ? '127.0.0.1' : hostname;
  queueMicrotask(() => {
    if (IPV4.test(addr)) callback(null, addr, 4);
    else callback(notFound(hostname), '', family);
  });
};

function ipv4Bytes(addr: string): Uint8Array | null {
  if (!IPV4.test(addr)) return null;
  return Uint8Array.from(addr.split('.').map(Number));
}

function toBuffer(v: string | ArrayBufferView): Buffer {
  if (typeof v === 'string') return Buffer.from(v);
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function isView(v: unknown): v is ArrayBufferView {
  return ArrayBuffer.isView(v);
}

/** sliceBuffer(): `send(msg, offset, length, …)` with one buffer or string. */
function sliceBuffer(buffer: unknown, offset: unknown, length: unknown): Buffer {
  if (typeof buffer === 'string') buffer = Buffer.from(buffer);
  else if (!isView(buffer))
    throw invalidArgType(
      'buffer',
      'of type string or an instance of Buffer, TypedArray, or DataView',
      buffer,
    );
  const b = buffer as ArrayBufferView;
  const off = Number(offset) >>> 0;
  const len = Number(length) >>> 0;
  if (off > b.byteLength)
    throw nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', '"offset" is outside of buffer bounds');
  if (off + len > b.byteLength)
    throw nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', '"length" is outside of buffer bounds');
  return Buffer.from(b.buffer, b.byteOffset + off, len);
}

// ——— the socket ————————————————————————————————————————————————————————————————

const BIND_UNBOUND = 0;
const BIND_BINDING = 1;
const BIND_BOUND = 2;
const CONNECT_DISCONNECTED = 0;
const CONNECT_CONNECTING = 1;
const CONNECT_CONNECTED = 2;

/** What a module's sockets share: the host and the process they live in. */
interface DgramContext {
  host: Host;
  task(): Task;
}

/** A UDP socket with node:dgram's interface. */
export class DgramSocket extends EventEmitter {
  readonly type: SocketType;
  private readonly ctx: DgramContext;
  private readonly lookupFn: LookupFunction;
  private readonly opts: SocketOptions;
  /** The descriptor, made at bind time (libuv's lazy socket); null before and after. */
  private fd: number | null = null;
  private closed = false;
  private bindState = BIND_UNBOUND;
  private connectState = CONNECT_DISCONNECTED;
  /** Calls waiting for 'listening' (Node's state.queue). */
  private queue: (() => void)[] | undefined;
  /** Sends handed to the kernel and not yet finished, and the last of them (to keep order). */
  private sendsPending = 0;
  private sendBytesPending = 0;
  private sendTail: Promise<unknown> = Promise.resolve();

  constructor(ctx: DgramContext, type: SocketType | SocketOptions, listener?: MessageListener) {
    super();
    const opts: SocketOptions = typeof type === 'string' ? { type } : { ...type };
    if (opts.type !== 'udp4' && opts.type !== 'udp6')
      throw nodeError(
        TypeError,
        'ERR_SOCKET_BAD_TYPE',
        'Bad socket type specified. Valid types are: udp4, udp6',
      );
    if (opts.lookup !== undefined && typeof opts.lookup !== 'function')
      throw invalidArgType('options.lookup', 'of type function', opts.lookup);
    this.ctx = ctx;
    this.type = opts.type;
    this.opts = opts;
    this.lookupFn = opts.lookup ?? defaultLookup;
    if (typeof listener === 'function') this.on('message', listener);
    const signal = opts.signal;
    if (signal) {
      const onAborted = (): void => {
        if (!this.closed) this.close();
      };
      if (signal.aborted) queueMicrotask(onAborted);
      else {
        signal.addEventListener('abort', onAborted, { once: true });
        this.once('close', () => signal.removeEventListener('abort', onAborted));
      }
    }
  }

  private get task(): Task {
    return this.ctx.task();
  }

  private healthCheck(): void {
    if (this.closed) throw notRunning();
  }

  /** The fd, or EBADF (as libuv answers for a socket it has not made yet). */
  private needFd(syscall: string): number {
    if (this.fd === null) throw errnoException(EBADF, syscall);
    return this.fd;
  }

  private lookup(address: string, cb: (err: Error | null, ip: string) => void): void {
    const family = this.type === 'udp4' ? 4 : 6;
    const fallback = this.type === 'udp4' ? '127.0.0.1' : '::1';
    this.lookupFn(address || fallback, family, (err, ip) => cb(err, ip));
  }

  private sockaddr(ip: string, port: number): Sockaddr {
    return { family: this.type === 'udp4' ? AF_INET : AF_INET6, addr: ip, port };
  }

  /** Node's enqueue(): run `fn` once the socket is listening; a bind error drops the queue. */
  private enqueue(fn: () => void): void {
    if (this.queue === undefined) {
      this.queue = [];
      const onError = (): void => {
        this.removeListener('listening', onListening);
        this.queue = undefined;
      };
      const onListening = (): void => {
        this.removeListener(EventEmitter.errorMonitor, onError);
        const q = this.queue ?? [];
        this.queue = undefined;
        for (const f of q) f();
      };
      this.once(EventEmitter.errorMonitor, onError);
      this.once('listening', onListening);
    }
    this.queue.push(fn);
  }

  // ——— bind ——————————————————————————————————————————————————————————————————

  bind(
    port?: number | BindOptions | (() => void) | null,
    address?: string | (() => void),
    cb?: () => void,
  ): this;
  bind(...args: unknown[]): this {
    this.healthCheck();
    if (this.bindState !== BIND_UNBOUND) throw alreadyBound();
    const last = args.length ? args[args.length - 1] : undefined;
    let port: unknown = args[0];
    let address: unknown;
    if (port !== null && typeof port === 'object') {
      const o = port as BindOptions;
      address = o.address || '';
      port = o.port;
    } else address = typeof args[1] === 'function' ? '' : args[1];
    if (typeof port === 'function' || port === null || port === undefined) port = 0;
    const p = validatePort(port);
    if (address !== undefined && address !== null && typeof address !== 'string')
      throw invalidArgType('address', 'of type string', address);
    this.bindState = BIND_BINDING;
    if (typeof last === 'function') {
      const done = last as () => void;
      const removeListeners = (): void => {
        this.removeListener('error', removeListeners);
        this.removeListener('listening', onListening);
      };
      const onListening = (): void => {
        removeListeners();
        done.call(this);
      };
      this.on('error', removeListeners);
      this.on('listening', onListening);
    }
    const addr = (address as string | undefined) || (this.type === 'udp4' ? '0.0.0.0' : '::');
    this.lookup(addr, (err, ip) => {
      if (this.closed) return;
      if (err) {
        this.bindState = BIND_UNBOUND;
        this.emit('error', err);
        return;
      }
      try {
        this.fd ??= this.makeFd();
        this.task.bind(this.fd, this.sockaddr(ip, p));
      } catch (e) {
        this.bindState = BIND_UNBOUND;
        this.emit('error', fromSyscallHostPort(e, 'bind', ip, p));
        return;
      }
      this.startListening();
    });
    return this;
  }

  /** uv_udp_bind's socket(): the options that must precede bind(). */
  private makeFd(): number {
    const t = this.task;
    const fd = t.socket(this.type === 'udp4' ? AF_INET : AF_INET6, SOCK_DGRAM, 0);
    try {
      if (this.opts.reuseAddr) t.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
      if (this.opts.reusePort) t.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    } catch (e) {
      t.close(fd);
      throw e;
    }
    return fd;
  }

  private startListening(): void {
    this.bindState = BIND_BOUND;
    if (this.opts.recvBufferSize) this.bufferSize(this.opts.recvBufferSize, true);
    if (this.opts.sendBufferSize) this.bufferSize(this.opts.sendBufferSize, false);
    void this.receive(this.fd!);
    this.emit('listening');
  }

  /** One blocking recvmsg after another; each datagram is a 'message'. Ends when the socket closes. */
  private async receive(fd: number): Promise<void> {
    const t = this.task;
    const buf = new Uint8Array(65536);
    while (this.fd === fd) {
      let r;
      try {
        r = await t.recvmsg(fd, { iov: [buf] });
      } catch (e) {
        if (this.fd !== fd) return;
        if (e instanceof SyscallError && e.errno !== EBADF) {
          this.emit('error', errnoException(e.errno, 'recvmsg'));
          continue;
        }
        this.emit('error', fromSyscall(e, 'recvmsg'));
        return;
      }
      if (this.fd !== fd) return;
      const from = r.addr as SockaddrIn | null;
      if (!from) return; // receive side shut down
      const msg = Buffer.from(buf.subarray(0, r.n));
      this.emit('message', msg, {
        address: from.addr,
        family: this.type === 'udp4' ? 'IPv4' : 'IPv6',
        port: from.port,
        size: r.n,
      } satisfies RemoteInfo);
    }
  }

  // ——— connect ———————————————————————————————————————————————————————————————

  connect(port: number, address?: string | (() => void), callback?: () => void): void {
    const p = validatePort(port, 'Port', false);
    if (typeof address === 'function') {
      callback = address;
      address = '';
    } else if (address === undefined) address = '';
    if (typeof address !== 'string') throw invalidArgType('address', 'of type string', address);
    this.healthCheck();
    if (this.connectState !== CONNECT_DISCONNECTED) throw isConnected();
    this.connectState = CONNECT_CONNECTING;
    if (this.bindState === BIND_UNBOUND) this.bind({ port: 0, exclusive: true });
    const addr = address;
    const go = (): void => this.doConnect(p, addr, callback);
    if (this.bindState !== BIND_BOUND) this.enqueue(go);
    else go();
  }

  private doConnect(port: number, address: string, callback?: () => void): void {
    if (callback) this.once('connect', callback);
    this.lookup(address, (err, ip) => {
      if (this.fd === null) return;
      const fail = (e: Error): void => {
        this.connectState = CONNECT_DISCONNECTED;
        if (callback) {
          this.removeListener('connect', callback);
          (callback as (err: Error) => void)(e);
        } else this.emit('error', e);
      };
      if (err) {
        queueMicrotask(() => fail(err));
        return;
      }
      const fd = this.fd;
      // A UDP connect never sleeps; its answer comes back within the same turn.
      this.task.connect(fd, this.sockaddr(ip, port)).then(
        () => {
          if (this.fd !== fd) return;
          this.connectState = CONNECT_CONNECTED;
          this.emit('connect');
        },
        (e: unknown) => {
          if (this.fd === fd) fail(fromSyscallHostPort(e, 'connect', address, port));
        },
      );
    });
  }

  disconnect(): void {
    this.healthCheck();
    if (this.connectState !== CONNECT_CONNECTED) throw notConnected();
    // connect() with AF_UNSPEC dissolves the association (udp_disconnect).
    const unspec = new Uint8Array(16);
    unspec[0] = AF_UNSPEC;
    this.task.connect(this.fd!, unspec).catch(() => undefined);
    this.connectState = CONNECT_DISCONNECTED;
  }

  remoteAddress(): AddressInfo {
    this.healthCheck();
    if (this.connectState !== CONNECT_CONNECTED) throw notConnected();
    return this.info(this.task.getpeername(this.needFd('getpeername')) as SockaddrIn);
  }

  address(): AddressInfo {
    this.healthCheck();
    const fd = this.needFd('getsockname');
    try {
      return this.info(this.task.getsockname(fd) as SockaddrIn);
    } catch (e) {
      throw fromSyscall(e, 'getsockname');
    }
  }

  private info(a: SockaddrIn): AddressInfo {
    return { address: a.addr, family: this.type === 'udp4' ? 'IPv4' : 'IPv6', port: a.port };
  }

  // ——— send ——————————————————————————————————————————————————————————————————

  send(msg: Message, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: Message, port?: number, callback?: SendCallback): void;
  send(msg: Message, callback?: SendCallback): void;
  send(
    msg: string | ArrayBufferView,
    offset: number,
    length: number,
    port?: number,
    address?: string,
    callback?: SendCallback,
  ): void;
  send(
    msg: string | ArrayBufferView,
    offset: number,
    length: number,
    port?: number,
    callback?: SendCallback,
  ): void;
  send(msg: string | ArrayBufferView, offset: number, length: number, callback?: SendCallback): void;
  send(
    buffer: unknown,
    offset?: unknown,
    length?: unknown,
    port?: unknown,
    address?: unknown,
    callback?: unknown,
  ): void {
    const connected = this.connectState === CONNECT_CONNECTED;
    // Node's argument shuffle, kept as it is (lib/dgram.js Socket.prototype.send).
    if (!connected) {
      if (address || (port && typeof port !== 'function')) buffer = sliceBuffer(buffer, offset, length);
      else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        buffer = sliceBuffer(buffer, offset, length);
        if (typeof port === 'function') {
          callback = port;
          port = null;
        }
      } else callback = offset;
      if (port || address) throw isConnected();
    }
    let list: Buffer[];
    if (!Array.isArray(buffer)) {
      if (typeof buffer === 'string' || isView(buffer)) list = [toBuffer(buffer)];
      else
        throw invalidArgType(
          'buffer',
          'of type string or an instance of Buffer, TypedArray, or DataView',
          buffer,
        );
    } else {
      list = [];
      for (const b of buffer as unknown[]) {
        if (typeof b !== 'string' && !isView(b))
          throw invalidArgType(
            'buffer list arguments',
            'of type string or an instance of Buffer, TypedArray, or DataView',
            buffer,
          );
        list.push(toBuffer(b));
      }
    }
    let p = 0;
    if (!connected) p = validatePort(port, 'Port', false);
    if (typeof callback !== 'function') callback = undefined;
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    } else if (address !== undefined && address !== null && typeof address !== 'string')
      throw invalidArgType('address', 'of type string', address);
    this.healthCheck();
    if (this.bindState === BIND_UNBOUND) this.bind({ port: 0, exclusive: true });
    if (list.length === 0) list.push(Buffer.alloc(0));
    const cb = callback as SendCallback | undefined;
    const addr = (address ?? undefined) as string | undefined;
    if (this.bindState !== BIND_BOUND) {
      const l = list;
      this.enqueue(() => this.send(l, connected ? undefined : p, addr, cb));
      return;
    }
    if (!connected) this.lookup(addr ?? '', (err, ip) => this.doSend(err, ip, list, addr, p, cb));
    else this.doSend(null, null, list, addr, p, cb);
  }

  private doSend(
    err: Error | null,
    ip: string | null,
    list: Buffer[],
    address: string | undefined,
    port: number,
    callback: SendCallback | undefined,
  ): void {
    if (err) {
      if (callback) queueMicrotask(() => callback(err));
      else queueMicrotask(() => this.emit('error', err));
      return;
    }
    const fd = this.fd;
    if (fd === null || this.closed) return;
    const t = this.task;
    const name = ip === null ? undefined : this.sockaddr(ip, port);
    let bytes = 0;
    for (const b of list) bytes += b.length;
    // Datagrams leave in the order they were sent: a send waits for the one before it only when
    // that one is still in the kernel (a full send buffer); otherwise it goes at once.
    const start = (): Promise<number> =>
      this.fd === fd
        ? t.sendmsg(fd, { iov: list, name })
        : Promise.reject(new SyscallError(EBADF, 'sendmsg'));
    const run = this.sendsPending === 0 ? start() : this.sendTail.then(start, start);
    this.sendsPending++;
    this.sendBytesPending += bytes;
    const done = run.then(
      (n) => {
        this.sendsPending--;
        this.sendBytesPending -= bytes;
        callback?.(null, n);
      },
      (e: unknown) => {
        this.sendsPending--;
        this.sendBytesPending -= bytes;
        // Without a callback a failed send is silent, as in Node.
        callback?.(fromSyscallHostPort(e, 'send', address, port || undefined));
      },
    );
    this.sendTail = done;
  }

  /** Bytes handed to send() and not yet out of the kernel's hands. */
  getSendQueueSize(): number {
    return this.sendBytesPending;
  }

  /** Sends handed to send() and not yet out of the kernel's hands. */
  getSendQueueCount(): number {
    return this.sendsPending;
  }

  // ——— close —————————————————————————————————————————————————————————————————

  close(callback?: () => void): this {
    if (typeof callback === 'function') this.on('close', callback);
    if (this.queue !== undefined) {
      this.queue.push(() => this.close());
      return this;
    }
    this.healthCheck();
    this.closed = true;
    const fd = this.fd;
    this.fd = null;
    this.connectState = CONNECT_DISCONNECTED;
    if (fd !== null) {
      const t = this.task;
      // Wake the receive loop's recvmsg (an unconnected socket answers ENOTCONN but is shut).
      try {
        t.shutdown(fd, SHUT_RDWR);
      } catch {
        // ENOTCONN: expected for an unconnected socket.
      }
      t.close(fd);
    }
    queueMicrotask(() => this.emit('close'));
    return this;
  }

  // ——— options ———————————————————————————————————————————————————————————————

  private setInt(level: number, name: number, value: number, syscall: string): void {
    this.healthCheck();
    const fd = this.needFd(syscall);
    try {
      this.task.setsockopt(fd, level, name, value);
    } catch (e) {
      throw fromSyscall(e, syscall);
    }
  }

  setBroadcast(flag: boolean): void {
    this.setInt(SOL_SOCKET, SO_BROADCAST, flag ? 1 : 0, 'setBroadcast');
  }

  setTTL(ttl: number): number {
    if (typeof ttl !== 'number') throw invalidArgType('ttl', 'of type number', ttl);
    // uv_udp_set_ttl checks the range itself.
    if (ttl < 1 || ttl > 255) {
      this.healthCheck();
      this.needFd('setTTL');
      throw errnoException(EINVAL, 'setTTL');
    }
    this.setInt(SOL_IP, IP_TTL, ttl, 'setTTL');
    return ttl;
  }

  setMulticastTTL(ttl: number): number {
    if (typeof ttl !== 'number') throw invalidArgType('ttl', 'of type number', ttl);
    if (ttl < 0 || ttl > 255) {
      this.healthCheck();
      this.needFd('setMulticastTTL');
      throw errnoException(EINVAL, 'setMulticastTTL');
    }
    this.setInt(SOL_IP, IP_MULTICAST_TTL, ttl, 'setMulticastTTL');
    return ttl;
  }

  setMulticastLoopback(flag: boolean): boolean {
    this.setInt(SOL_IP, IP_MULTICAST_LOOP, flag ? 1 : 0, 'setMulticastLoopback');
    return flag;
  }

  setMulticastInterface(interfaceAddress: string): void {
    if (typeof interfaceAddress !== 'string')
      throw invalidArgType('interfaceAddress', 'of type string', interfaceAddress);
    this.healthCheck();
    const fd = this.needFd('setMulticastInterface');
    const b = ipv4Bytes(interfaceAddress);
    if (!b) throw errnoException(EINVAL, 'setMulticastInterface');
    try {
      this.task.setsockopt(fd, SOL_IP, IP_MULTICAST_IF, b);
    } catch (e) {
      throw fromSyscall(e, 'setMulticastInterface');
    }
  }

  addMembership(multicastAddress: string, interfaceAddress?: string): void {
    this.membership(multicastAddress, interfaceAddress, IP_ADD_MEMBERSHIP, 'addMembership');
  }

  dropMembership(multicastAddress: string, interfaceAddress?: string): void {
    this.membership(multicastAddress, interfaceAddress, IP_DROP_MEMBERSHIP, 'dropMembership');
  }

  private membership(group: string, iface: string | undefined, opt: number, syscall: string): void {
    this.healthCheck();
    if (!group)
      throw nodeError(TypeError, 'ERR_MISSING_ARGS', 'The "multicastAddress" argument must be specified');
    // libuv binds an unbound socket first; here the socket must already be bound.
    const fd = this.needFd(syscall);
    const g = ipv4Bytes(group);
    const i = iface ? ipv4Bytes(iface) : new Uint8Array(4);
    if (!g || !i) throw errnoException(EINVAL, syscall);
    const mreq = new Uint8Array(8);
    mreq.set(g, 0);
    mreq.set(i, 4);
    try {
      this.task.setsockopt(fd, SOL_IP, opt, mreq);
    } catch (e) {
      throw fromSyscall(e, syscall);
    }
  }

  /** SO_RCVBUF / SO_SNDBUF: size 0 reads; Linux reports twice what was set. */
  private bufferSize(size: number, recv: boolean): number {
    if (size >>> 0 !== size)
      throw nodeError(TypeError, 'ERR_SOCKET_BAD_BUFFER_SIZE', 'Buffer size must be a positive integer');
    const syscall = recv ? 'uv_recv_buffer_size' : 'uv_send_buffer_size';
    if (this.fd === null) throw bufferSizeError(EBADF, syscall);
    const opt = recv ? SO_RCVBUF : SO_SNDBUF;
    try {
      if (size) {
        this.task.setsockopt(this.fd, SOL_SOCKET, opt, size);
        return size;
      }
      return this.task.getsockopt(this.fd, SOL_SOCKET, opt) as number;
    } catch (e) {
      throw bufferSizeError(e instanceof SyscallError ? e.errno : EINVAL, syscall);
    }
  }

  setRecvBufferSize(size: number): void {
    this.bufferSize(size, true);
  }

  setSendBufferSize(size: number): void {
    this.bufferSize(size, false);
  }

  getRecvBufferSize(): number {
    return this.bufferSize(0, true);
  }

  getSendBufferSize(): number {
    return this.bufferSize(0, false);
  }

  /** Nothing to do: a simulated socket never holds Node's event loop open. */
  ref(): this {
    return this;
  }

  /** Nothing to do: a simulated socket never holds Node's event loop open. */
  unref(): this {
    return this;
  }

  /** The descriptor in the host's "node" process (for ss -p and the task API), or null. */
  get fileDescriptor(): number | null {
    return this.fd;
  }
}

/** node:dgram for `host`: its sockets live in one process ("node") on that host. */
export function createDgram(host: Host): NodeDgram {
  let task: Task | null = null;
  const ctx: DgramContext = {
    host,
    task: () => (task ??= host.spawn({ comm: 'node' })),
  };
  return {
    createSocket: (type, listener) => new DgramSocket(ctx, type, listener),
    Socket: DgramSocket,
  };
}
