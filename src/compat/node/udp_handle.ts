// A UDP handle as node:dgram sees one (Node's UDPWrap over libuv's uv_udp_t), made of task API
// calls on one O_NONBLOCK fd of the module's task. Like libuv, the socket is created on the
// first bind (or on a call libuv binds for, such as addMembership), so an option set before it
// fails with EBADF; results are libuv's: 0 or a negative errno.

import { isIPv4 } from 'node:net';
import { SyscallError } from '../../sim/errors.js';
import { EAGAIN, EBADF, ECANCELED, EINVAL } from '../../uapi/errno.js';
import {
  AF_INET,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_IP,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_SNDBUF,
} from '../../uapi/socket.js';
import {
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TTL,
  inet_aton,
  type SockaddrIn,
} from '../../uapi/in.js';
import { EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT } from '../../uapi/poll.js';
import type { LoopWatcher, UdpLoop } from './udp_loop.js';

/** libuv's UV_UDP_REUSEADDR bind flag. */
export const UV_UDP_REUSEADDR = 4;

export interface AddressInfo {
  address: string;
  family: 'IPv4';
  port: number;
}

export interface RemoteInfo extends AddressInfo {
  size: number;
}

/** A send waiting in the handle's queue; `done` gets 0-or-negative errno and the bytes sent. */
interface SendReq {
  iov: Uint8Array[];
  to: SockaddrIn | undefined;
  bytes: number;
  done: (err: number, sent: number) => void;
}

/** Datagrams read per readiness report before going back to the loop (libuv reads 32). */
const RECV_BATCH = 32;
/** The receive buffer Node hands libuv (64 KiB: every IPv4 datagram fits). */
const RECV_BUFFER = 64 * 1024;

/** The negative errno of a failed task call. */
function errOf(err: unknown): number {
  if (err instanceof SyscallError) return -err.errno;
  throw err;
}

export class UdpHandle implements LoopWatcher {
  fd = -1;
  /** recvStart() was called and recvStop() not since. */
  private receiving = false;
  /** Sends waiting for room in the send buffer (EPOLLOUT), oldest first. */
  private readonly queue: SendReq[] = [];
  private wantWrite = false;
  private closed = false;
  private buf: Uint8Array | null = null;

  /** A datagram arrived. */
  onmessage: (msg: Buffer, rinfo: RemoteInfo) => void = () => {};
  /** A receive failed (an ICMP error on a connected socket): libuv's recv_cb with nread < 0. */
  onerror: (err: number) => void = () => {};

  constructor(private readonly loop: UdpLoop) {}

  private get task() {
    return this.loop.task;
  }

  /** The socket, created on first need as libuv's uv__udp_bind / maybe_deferred_bind do. */
  private open(): number {
    if (this.fd >= 0) return 0;
    if (this.closed) return -EBADF;
    try {
      this.fd = this.task.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      return 0;
    } catch (err) {
      return errOf(err);
    }
  }

  private call(fn: () => void): number {
    if (this.fd < 0) return -EBADF;
    try {
      fn();
      return 0;
    } catch (err) {
      return errOf(err);
    }
  }

  bind(ip: string, port: number, flags: number): number {
    if (!isIPv4(ip)) return -EINVAL;
    const r = this.open();
    if (r) return r;
    return this.call(() => {
      if (flags & UV_UDP_REUSEADDR) this.task.setsockopt(this.fd, SOL_SOCKET, SO_REUSEADDR, 1);
      this.task.bind(this.fd, { family: AF_INET, addr: ip, port: port & 0xffff });
    });
  }

  /** uv__udp_maybe_deferred_bind(): an unbound handle is bound to 0.0.0.0:0 first. */
  private deferredBind(): number {
    if (this.fd >= 0) return 0;
    return this.bind('0.0.0.0', 0, UV_UDP_REUSEADDR);
  }

  /** connect(2); UDP answers at once, the promise only carries the result. */
  connect(ip: string, port: number): Promise<number> {
    if (!isIPv4(ip)) return Promise.resolve(-EINVAL);
    const r = this.deferredBind();
    if (r) return Promise.resolve(r);
    return this.task.connect(this.fd, { family: AF_INET, addr: ip, port }).then(() => 0, errOf);
  }

  /** connect(AF_UNSPEC): the kernel forgets the peer at once; EAFNOSUPPORT is ignored, as libuv does. */
  disconnect(): number {
    if (this.fd < 0) return -EBADF;
    this.task.connect(this.fd, new Uint8Array(16)).catch(() => {});
    return 0;
  }

  getsockname(out: Partial<AddressInfo>): number {
    return this.name(out, false);
  }

  getpeername(out: Partial<AddressInfo>): number {
    return this.name(out, true);
  }

  private name(out: Partial<AddressInfo>, peer: boolean): number {
    return this.call(() => {
      const a = (peer ? this.task.getpeername(this.fd) : this.task.getsockname(this.fd)) as SockaddrIn;
      out.address = a.addr;
      out.family = 'IPv4';
      out.port = a.port;
    });
  }

  setBroadcast(on: boolean): number {
    return this.call(() => this.task.setsockopt(this.fd, SOL_SOCKET, SO_BROADCAST, on ? 1 : 0));
  }

  /** uv_udp_set_ttl(): 1…255, checked before the socket is looked at. */
  setTTL(ttl: number): number {
    const v = ttl | 0;
    if (v < 1 || v > 255) return -EINVAL;
    return this.call(() => this.task.setsockopt(this.fd, SOL_IP, IP_TTL, v));
  }

  setMulticastTTL(ttl: number): number {
    const v = ttl | 0;
    if (v < 0 || v > 255) return -EINVAL;
    return this.call(() => this.task.setsockopt(this.fd, SOL_IP, IP_MULTICAST_TTL, v));
  }

  setMulticastLoopback(on: boolean): number {
    return this.call(() => this.task.setsockopt(this.fd, SOL_IP, IP_MULTICAST_LOOP, on ? 1 : 0));
  }

  setMulticastInterface(iface: string): number {
    if (!isIPv4(iface)) return -EINVAL;
    return this.call(() => this.task.setsockopt(this.fd, SOL_IP, IP_MULTICAST_IF, inAddr(iface)));
  }

  /** uv_udp_set_membership(): struct ip_mreq { group, interface }, after a deferred bind. */
  setMembership(group: string, iface: string | undefined, add: boolean): number {
    if (!isIPv4(group)) return -EINVAL;
    const r = this.deferredBind();
    if (r) return r;
    if (iface !== undefined && !isIPv4(iface)) return -EINVAL;
    const mreq = new Uint8Array(8);
    mreq.set(inAddr(group), 0);
    mreq.set(inAddr(iface ?? '0.0.0.0'), 4);
    const opt = add ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP;
    return this.call(() => this.task.setsockopt(this.fd, SOL_IP, opt, mreq));
  }

  /** uv_recv_buffer_size / uv_send_buffer_size: 0 reads (getsockopt), anything else sets. */
  bufferSize(size: number, recv: boolean): { value: number } | { err: number } {
    const opt = recv ? SO_RCVBUF : SO_SNDBUF;
    let value = size;
    const err = this.call(() => {
      if (size === 0) value = this.task.getsockopt(this.fd, SOL_SOCKET, opt) as number;
      else this.task.setsockopt(this.fd, SOL_SOCKET, opt, size);
    });
    return err ? { err } : { value };
  }

  recvStart(): void {
    this.receiving = true;
    this.loop.update(this);
  }

  recvStop(): void {
    this.receiving = false;
    if (this.fd >= 0) this.loop.update(this);
  }

  /**
   * Send a datagram at once (libuv's uv_udp_try_send) unless earlier ones wait for room; the
   * kernel call runs now, its result reaches `done` a microtask later.
   */
  send(iov: Uint8Array[], to: SockaddrIn | undefined, done: SendReq['done']): void {
    let bytes = 0;
    for (const b of iov) bytes += b.length;
    const req = { iov, to, bytes, done };
    if (this.wantWrite || this.queue.length) this.queue.push(req);
    else this.attempt(req);
  }

  /** Sends waiting for room in the send buffer. */
  sendQueueCount(): number {
    return this.queue.length;
  }

  sendQueueSize(): number {
    let n = 0;
    for (const r of this.queue) n += r.bytes;
    return n;
  }

  private attempt(req: SendReq): void {
    if (this.fd < 0) {
      queueMicrotask(() => req.done(-EBADF, 0));
      return;
    }
    this.task.sendmsg(this.fd, { iov: req.iov, name: req.to }).then(
      (sent) => req.done(0, sent),
      (e: unknown) => {
        const err = errOf(e);
        if (err === -EAGAIN && this.fd >= 0) {
          // The send buffer is full: wait for the kernel to report room (EPOLLOUT). Results
          // arrive in the order the calls were made, so the queue keeps the sending order.
          this.queue.push(req);
          if (!this.wantWrite) {
            this.wantWrite = true;
            this.loop.update(this);
          }
          return;
        }
        req.done(err, 0);
      },
    );
  }

  /** Room in the send buffer: try the waiting sends again, oldest first. */
  private flush(): void {
    this.wantWrite = false;
    this.loop.update(this);
    for (const req of this.queue.splice(0)) this.attempt(req);
  }

  events(): number {
    return (this.receiving ? EPOLLIN : 0) | (this.wantWrite ? EPOLLOUT : 0);
  }

  async ready(revents: number): Promise<void> {
    if (revents & (EPOLLIN | EPOLLERR | EPOLLHUP) && this.receiving) await this.drain();
    if (revents & (EPOLLOUT | EPOLLERR) && this.wantWrite && this.fd >= 0) this.flush();
  }

  /** uv__udp_recvmsg(): read what is queued, up to a batch; an error other than EAGAIN is reported. */
  private async drain(): Promise<void> {
    this.buf ??= new Uint8Array(RECV_BUFFER);
    for (let i = 0; i < RECV_BATCH && this.receiving && this.fd >= 0; i++) {
      let r;
      try {
        r = await this.task.recvmsg(this.fd, { iov: [this.buf] });
      } catch (e) {
        const err = errOf(e);
        if (err !== -EAGAIN && this.receiving) this.onerror(err);
        return;
      }
      if (!this.receiving) return;
      const from = r.addr as SockaddrIn;
      const msg = Buffer.from(this.buf.subarray(0, r.n));
      this.onmessage(msg, { address: from.addr, family: 'IPv4', port: from.port, size: r.n });
    }
  }

  /** uv_close(): the fd goes at once; queued sends are cancelled (their callbacks get ECANCELED). */
  close(): void {
    this.closed = true;
    this.receiving = false;
    if (this.fd >= 0) {
      this.loop.remove(this);
      try {
        this.task.close(this.fd);
      } catch {
        // Nothing to undo.
      }
      this.fd = -1;
    }
    const cancelled = this.queue.splice(0);
    this.wantWrite = false;
    if (cancelled.length) setImmediate(() => cancelled.forEach((r) => r.done(-ECANCELED, 0)));
  }
}

/** An IPv4 address as struct in_addr bytes (network order). */
function inAddr(s: string): Uint8Array {
  const a = inet_aton(s) >>> 0;
  return new Uint8Array([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]);
}
