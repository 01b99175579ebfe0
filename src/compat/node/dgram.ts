// A `node:dgram`-shaped module for one host: createSocket() and Socket, following Node 20's
// lib/dgram.js call for call (argument forms, bind and connect states, the send queue of a
// socket still binding, when events fire and which errors are thrown or emitted), over UDP
// handles (udp_handle.ts) that reach the host's kernel only through the task API.
//
// Differences from node:dgram, on purpose or not yet done:
// - 'udp6' throws ERR_SOCKET_BAD_TYPE with a message saying usernet has no IPv6 yet.
// - Names resolve without DNS: IPv4 literals, 'localhost', or the socket's `lookup` option;
//   any other name fails as getaddrinfo ENOTFOUND does.
// - `ref()` / `unref()` do nothing: the world's clock, not a libuv handle, keeps work alive.
// - Multicast membership goes to the kernel as IP_ADD_MEMBERSHIP; while usernet's IPv4 has no
//   multicast groups, addMembership/dropMembership throw ENOPROTOOPT.
// - Option setters on a closed socket throw ERR_SOCKET_DGRAM_NOT_RUNNING (Node hits a TypeError).
// - No cluster support, no `fd` bind option, no `signal` option, no sendto().

import { EventEmitter } from 'node:events';
import { isIP, isIPv4 } from 'node:net';
import type { Host } from '../../sim/host.js';
import { AF_INET } from '../../uapi/socket.js';
import type { SockaddrIn } from '../../uapi/in.js';
import { UdpLoop } from './udp_loop.js';
import { UdpHandle, UV_UDP_REUSEADDR, type AddressInfo, type RemoteInfo } from './udp_handle.js';
import {
  BUFFER_TYPES,
  alreadyBound,
  badBufferSize,
  badType,
  bufferSizeError,
  errnoException,
  exceptionWithHostPort,
  invalidArgType,
  isConnected,
  missingArgs,
  noIpv6,
  notConnected,
  notFound,
  notRunning,
  outOfBounds,
  validateFunction,
  validateNumber,
  validatePort,
  validateString,
  validateUint32,
} from './dgram_errors.js';

export type { AddressInfo, RemoteInfo } from './udp_handle.js';
export type { DgramError } from './dgram_errors.js';

export type LookupFunction = (
  hostname: string,
  family: number,
  callback: (err: Error | null, address: string, family: number) => void,
) => void;

export interface SocketOptions {
  type: 'udp4' | 'udp6';
  reuseAddr?: boolean;
  ipv6Only?: boolean;
  recvBufferSize?: number;
  sendBufferSize?: number;
  lookup?: LookupFunction;
}

export interface BindOptions {
  port?: number;
  address?: string;
  exclusive?: boolean;
}

type MessageListener = (msg: Buffer, rinfo: RemoteInfo) => void;
type SendCallback = (error: Error | null, bytes?: number) => void;
type Message = string | ArrayBufferView | readonly (string | ArrayBufferView)[];

const UNBOUND = 0;
const BINDING = 1;
const BOUND = 2;
const DISCONNECTED = 0;
const CONNECTING = 1;
const CONNECTED = 2;

/** dns.lookup for what usernet can resolve: IP literals (as given) and 'localhost'. */
function defaultLookup(
  hostname: string,
  _family: number,
  cb: (e: Error | null, a: string, f: number) => void,
): void {
  const fam = isIP(hostname);
  if (fam) return process.nextTick(cb, null, hostname, fam);
  if (hostname === 'localhost') return process.nextTick(cb, null, '127.0.0.1', 4);
  process.nextTick(cb, notFound(hostname), '', 0);
}

function toBuffer(b: string | ArrayBufferView): Buffer {
  return typeof b === 'string' ? Buffer.from(b) : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** sliceBuffer(): the offset/length form of send(). */
function sliceBuffer(buffer: unknown, offset: number, length: number): Buffer {
  if (typeof buffer === 'string') buffer = Buffer.from(buffer);
  else if (!ArrayBuffer.isView(buffer)) throw invalidArgType('buffer', BUFFER_TYPES, buffer);
  const b = buffer as ArrayBufferView;
  const off = offset >>> 0;
  const len = length >>> 0;
  if (off > b.byteLength) throw outOfBounds('offset');
  if (off + len > b.byteLength) throw outOfBounds('length');
  return Buffer.from(b.buffer, b.byteOffset + off, len);
}

/** The state behind one Socket (lib/dgram.js keeps it under kStateSymbol). */
interface State {
  handle: UdpHandle | null;
  receiving: boolean;
  bindState: number;
  connectState: number;
  /** Work waiting for the bind in progress (sends, a connect, a close). */
  queue: (() => void)[] | undefined;
  reuseAddr: boolean;
  recvBufferSize: number | undefined;
  sendBufferSize: number | undefined;
  lookup: LookupFunction;
}

/** The module's shared machinery: its task and event loop. */
class Core {
  private loopInstance: UdpLoop | null = null;
  constructor(readonly host: Host) {}
  get loop(): UdpLoop {
    return (this.loopInstance ??= new UdpLoop(this.host));
  }
}

/** The base of every module's Socket class; `core` ties it to one host. */
export class DgramSocket extends EventEmitter {
  readonly type: 'udp4';
  #state: State;

  constructor(core: Core, type: 'udp4' | 'udp6' | SocketOptions, listener?: MessageListener) {
    super();
    let options: SocketOptions | undefined;
    let t: unknown = type;
    let lookup: LookupFunction = defaultLookup;
    if (type !== null && typeof type === 'object') {
      options = type;
      t = options.type;
      if (options.lookup !== undefined) {
        validateFunction(options.lookup, 'lookup');
        lookup = options.lookup;
      }
      if (options.recvBufferSize) validateUint32(options.recvBufferSize, 'options.recvBufferSize');
      if (options.sendBufferSize) validateUint32(options.sendBufferSize, 'options.sendBufferSize');
    }
    if (t === 'udp6') throw noIpv6();
    if (t !== 'udp4') throw badType();
    this.type = 'udp4';
    if (typeof listener === 'function') this.on('message', listener);
    this.#state = {
      handle: new UdpHandle(core.loop),
      receiving: false,
      bindState: UNBOUND,
      connectState: DISCONNECTED,
      queue: undefined,
      reuseAddr: !!options?.reuseAddr,
      recvBufferSize: options?.recvBufferSize,
      sendBufferSize: options?.sendBufferSize,
      lookup,
    };
  }

  #healthCheck(): UdpHandle {
    const h = this.#state.handle;
    if (!h) throw notRunning();
    return h;
  }

  /** lookup4(): an empty address means 127.0.0.1. */
  #lookup(address: string | undefined, cb: (err: Error | null, ip: string) => void): void {
    this.#state.lookup(address || '127.0.0.1', 4, (err, ip) => cb(err, ip));
  }

  #startListening(): void {
    const state = this.#state;
    const handle = state.handle!;
    handle.onmessage = (msg, rinfo) => this.emit('message', msg, rinfo);
    handle.onerror = (err) => this.emit('error', errnoException(err, 'recvmsg'));
    handle.recvStart();
    state.receiving = true;
    state.bindState = BOUND;
    if (state.recvBufferSize) this.#bufferSize(state.recvBufferSize, true);
    if (state.sendBufferSize) this.#bufferSize(state.sendBufferSize, false);
    this.emit('listening');
  }

  #bufferSize(size: number, recv: boolean): number {
    if (size >>> 0 !== size) throw badBufferSize();
    const h = this.#state.handle;
    if (!h) throw notRunning();
    const r = h.bufferSize(size, recv);
    if ('err' in r) throw bufferSizeError(r.err, recv);
    return r.value;
  }

  bind(port?: number | BindOptions | null, address?: string | (() => void), callback?: () => void): this;
  bind(...args: unknown[]): this {
    let port = args[0] as unknown;
    const address_ = args[1];
    this.#healthCheck();
    const state = this.#state;
    if (state.bindState !== UNBOUND) throw alreadyBound();
    state.bindState = BINDING;
    const cb = args.length ? args[args.length - 1] : undefined;
    if (typeof cb === 'function') {
      const removeListeners = (): void => {
        this.removeListener('error', removeListeners);
        this.removeListener('listening', onListening);
      };
      const onListening = (): void => {
        removeListeners();
        (cb as () => void).call(this);
      };
      this.on('error', removeListeners);
      this.on('listening', onListening);
    }
    let address: string;
    if (port !== null && typeof port === 'object') {
      const o = port as BindOptions;
      address = o.address || '';
      port = o.port;
    } else {
      address = typeof address_ === 'function' ? '' : ((address_ as string) ?? '');
    }
    if (!address) address = '0.0.0.0';
    const p = port as number | undefined;
    this.#state.lookup(address, 4, (err, ip) => {
      if (!state.handle) return;
      if (err) {
        state.bindState = UNBOUND;
        this.emit('error', err);
        return;
      }
      const flags = state.reuseAddr ? UV_UDP_REUSEADDR : 0;
      const r = state.handle.bind(ip, p || 0, flags);
      if (r) {
        const ex = exceptionWithHostPort(r, 'bind', ip, p);
        state.bindState = UNBOUND;
        this.emit('error', ex);
        return;
      }
      this.#startListening();
    });
    return this;
  }

  connect(port: number, address?: string | (() => void), callback?: (err?: Error) => void): void {
    const p = validatePort(port, 'Port', false);
    if (typeof address === 'function') {
      callback = address;
      address = '';
    } else if (address === undefined) {
      address = '';
    }
    validateString(address, 'address');
    const state = this.#state;
    if (state.connectState !== DISCONNECTED) throw isConnected();
    state.connectState = CONNECTING;
    if (state.bindState === UNBOUND) this.bind({ port: 0, exclusive: true }, null as unknown as string);
    const addr = address;
    if (state.bindState !== BOUND) {
      this.#enqueue(() => this.#connect(p, addr, callback));
      return;
    }
    this.#connect(p, addr, callback);
  }

  #connect(port: number, address: string, callback?: (err?: Error) => void): void {
    const state = this.#state;
    if (callback) this.once('connect', callback);
    this.#lookup(address, (ex, ip) => {
      const handle = state.handle;
      if (!handle) return;
      const fail = (err: Error): void => {
        state.connectState = DISCONNECTED;
        process.nextTick(() => {
          if (callback) {
            this.removeListener('connect', callback);
            callback(err);
          } else {
            this.emit('error', err);
          }
        });
      };
      if (ex) return fail(ex);
      void handle.connect(ip, port).then((r) => {
        if (!state.handle) return;
        if (r) return fail(exceptionWithHostPort(r, 'connect', address, port));
        state.connectState = CONNECTED;
        process.nextTick(() => this.emit('connect'));
      });
    });
  }

  disconnect(): void {
    const state = this.#state;
    if (state.connectState !== CONNECTED) throw notConnected();
    const r = state.handle!.disconnect();
    if (r) throw errnoException(r, 'connect');
    state.connectState = DISCONNECTED;
  }

  #enqueue(fn: () => void): void {
    const state = this.#state;
    if (state.queue === undefined) {
      state.queue = [];
      const onListenError = (): void => {
        this.removeListener('listening', onListenSuccess);
        state.queue = undefined;
      };
      const onListenSuccess = (): void => {
        this.removeListener(EventEmitter.errorMonitor, onListenError);
        const queue = state.queue ?? [];
        state.queue = undefined;
        for (const f of queue) f();
      };
      this.once(EventEmitter.errorMonitor, onListenError);
      this.once('listening', onListenSuccess);
    }
    state.queue.push(fn);
  }

  send(msg: Message, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: Message, port?: number, callback?: SendCallback): void;
  send(msg: Message, callback?: SendCallback): void;
  send(
    msg: Message,
    offset: number,
    length: number,
    port?: number,
    address?: string,
    callback?: SendCallback,
  ): void;
  send(msg: Message, offset: number, length: number, port?: number, callback?: SendCallback): void;
  send(msg: Message, offset: number, length: number, callback?: SendCallback): void;
  send(...args: unknown[]): void {
    const [, offset, length] = args;
    let [buffer, , , port, address, callback] = args;
    const state = this.#state;
    const connected = state.connectState === CONNECTED;
    if (!connected) {
      if (address || (port && typeof port !== 'function')) {
        buffer = sliceBuffer(buffer, offset as number, length as number);
      } else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        buffer = sliceBuffer(buffer, offset as number, length);
        if (typeof port === 'function') {
          callback = port;
          port = null;
        }
      } else {
        callback = offset;
      }
      if (port || address) throw isConnected();
    }
    let list: Buffer[];
    if (!Array.isArray(buffer)) {
      if (typeof buffer === 'string') list = [Buffer.from(buffer)];
      else if (!ArrayBuffer.isView(buffer)) throw invalidArgType('buffer', BUFFER_TYPES, buffer);
      else list = [toBuffer(buffer)];
    } else {
      if (!buffer.every((b) => typeof b === 'string' || ArrayBuffer.isView(b)))
        throw invalidArgType('buffer list arguments', BUFFER_TYPES, buffer);
      list = buffer.map((b: string | ArrayBufferView) => toBuffer(b));
    }
    if (!connected) port = validatePort(port, 'Port', false);
    if (typeof callback !== 'function') callback = undefined;
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    } else if (address != null) {
      validateString(address, 'address');
    }
    this.#healthCheck();
    if (state.bindState === UNBOUND) this.bind({ port: 0, exclusive: true }, null as unknown as string);
    if (list.length === 0) list.push(Buffer.alloc(0));
    const cb = callback as SendCallback | undefined;
    const addr = address as string | undefined;
    const p = port as number | undefined;
    if (state.bindState !== BOUND) {
      this.#enqueue(() => this.send(list, p as number, addr as string, cb));
      return;
    }
    if (!connected) this.#lookup(addr, (ex, ip) => this.#doSend(ex, ip, list, addr, p, cb));
    else this.#doSend(null, null, list, addr, p, cb);
  }

  #doSend(
    ex: Error | null,
    ip: string | null,
    list: Buffer[],
    address: string | undefined,
    port: number | undefined,
    callback: SendCallback | undefined,
  ): void {
    const state = this.#state;
    if (ex) {
      if (callback) process.nextTick(callback, ex);
      else process.nextTick(() => this.emit('error', ex));
      return;
    }
    const handle = state.handle;
    if (!handle) return;
    const to: SockaddrIn | undefined = port && ip !== null ? { family: AF_INET, addr: ip, port } : undefined;
    if (to && !isIPv4(to.addr)) {
      // libuv cannot make a sockaddr_in of it (an IPv6 literal on a udp4 socket).
      if (callback) process.nextTick(callback, exceptionWithHostPort(-22, 'send', address, port));
      return;
    }
    handle.send(list, to, (err, sent) => {
      if (!callback) return;
      if (err) callback(exceptionWithHostPort(err, 'send', address, port));
      else callback(null, sent);
    });
  }

  close(callback?: () => void): this {
    const state = this.#state;
    if (typeof callback === 'function') this.on('close', callback);
    if (state.queue !== undefined) {
      state.queue.push(() => this.close());
      return this;
    }
    const handle = this.#healthCheck();
    if (state.receiving) {
      handle.recvStop();
      state.receiving = false;
    }
    handle.close();
    state.handle = null;
    process.nextTick(() => this.emit('close'));
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#state.handle) return;
    await new Promise<void>((resolve) => this.close(resolve));
  }

  address(): AddressInfo {
    const h = this.#healthCheck();
    const out: Partial<AddressInfo> = {};
    const r = h.getsockname(out);
    if (r) throw errnoException(r, 'getsockname');
    return out as AddressInfo;
  }

  remoteAddress(): AddressInfo {
    const h = this.#healthCheck();
    if (this.#state.connectState !== CONNECTED) throw notConnected();
    const out: Partial<AddressInfo> = {};
    const r = h.getpeername(out);
    if (r) throw errnoException(r, 'getpeername');
    return out as AddressInfo;
  }

  setBroadcast(flag: boolean): void {
    const r = this.#healthCheck().setBroadcast(!!flag);
    if (r) throw errnoException(r, 'setBroadcast');
  }

  setTTL(ttl: number): number {
    validateNumber(ttl, 'ttl');
    const r = this.#healthCheck().setTTL(ttl);
    if (r) throw errnoException(r, 'setTTL');
    return ttl;
  }

  setMulticastTTL(ttl: number): number {
    validateNumber(ttl, 'ttl');
    const r = this.#healthCheck().setMulticastTTL(ttl);
    if (r) throw errnoException(r, 'setMulticastTTL');
    return ttl;
  }

  setMulticastLoopback(flag: boolean): boolean {
    const r = this.#healthCheck().setMulticastLoopback(!!flag);
    if (r) throw errnoException(r, 'setMulticastLoopback');
    return flag;
  }

  setMulticastInterface(interfaceAddress: string): void {
    const h = this.#healthCheck();
    validateString(interfaceAddress, 'interfaceAddress');
    const r = h.setMulticastInterface(interfaceAddress);
    if (r) throw errnoException(r, 'setMulticastInterface');
  }

  addMembership(multicastAddress: string, interfaceAddress?: string): void {
    this.#membership(multicastAddress, interfaceAddress, true);
  }

  dropMembership(multicastAddress: string, interfaceAddress?: string): void {
    this.#membership(multicastAddress, interfaceAddress, false);
  }

  #membership(group: string, iface: string | undefined, add: boolean): void {
    const h = this.#healthCheck();
    if (!group) throw missingArgs('multicastAddress');
    const r = h.setMembership(String(group), iface === undefined ? undefined : String(iface), add);
    if (r) throw errnoException(r, add ? 'addMembership' : 'dropMembership');
  }

  setRecvBufferSize(size: number): void {
    this.#bufferSize(size, true);
  }

  setSendBufferSize(size: number): void {
    this.#bufferSize(size, false);
  }

  getRecvBufferSize(): number {
    return this.#bufferSize(0, true);
  }

  getSendBufferSize(): number {
    return this.#bufferSize(0, false);
  }

  getSendQueueSize(): number {
    return this.#healthCheck().sendQueueSize();
  }

  getSendQueueCount(): number {
    return this.#healthCheck().sendQueueCount();
  }

  /** Does nothing: see the note at the top of this file. */
  ref(): this {
    return this;
  }

  /** Does nothing, as ref(). */
  unref(): this {
    return this;
  }
}

export interface DgramModule {
  createSocket(type: 'udp4' | 'udp6' | SocketOptions, listener?: MessageListener): DgramSocket;
  Socket: new (type: 'udp4' | 'udp6' | SocketOptions, listener?: MessageListener) => DgramSocket;
}

/** A node:dgram module whose sockets live on `host`. */
export function createDgram(host: Host): DgramModule {
  const core = new Core(host);
  class Socket extends DgramSocket {
    constructor(type: 'udp4' | 'udp6' | SocketOptions, listener?: MessageListener) {
      super(core, type, listener);
    }
  }
  return {
    createSocket: (type, listener) => new Socket(type, listener),
    Socket,
  };
}
