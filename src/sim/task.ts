// The task API: a process's system calls with Linux's names, arguments and errno. Calls that may
// block return promises and sleep on the kernel's wait queues (O_NONBLOCK, MSG_DONTWAIT,
// SO_RCVTIMEO/SO_SNDTIMEO honoured); a failing call throws a SyscallError.

import type { TaskStruct } from '../kernel/task.js';
import type { Clock } from '../kernel/time.js';
import { MAX_SCHEDULE_TIMEOUT, NSEC_PER_MSEC } from '../kernel/time.js';
import { run_as, run_blocking, run_blocking_fast, run_blocking_first } from '../kernel/sched.js';
import { fput } from '../kernel/file_table.js';
import { IovIter, UIO_MAXIOV } from '../kernel/uio.js';
import { do_vfs_ioctl } from '../kernel/ioctl.js';
import { do_poll, do_select, type PollFd } from '../kernel/select.js';
import { do_epoll_create, do_epoll_ctl, do_epoll_wait } from '../kernel/eventpoll.js';
import * as net from '../net/socket.js';
import { Msghdr, type Socket } from '../net/socket.js';
import { check, SyscallError } from './errors.js';
import * as E from '../uapi/errno.js';
import * as S from '../uapi/socket.js';
import {
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  FD_CLOEXEC,
  O_CLOEXEC,
} from '../uapi/fcntl.js';
import { RLIMIT_NOFILE, SETFL_MASK } from '../uapi/fcntl.js';
import { decodeSockaddr, encodeSockaddr, type Sockaddr } from '../uapi/sockaddr.js';
import {
  cmsgs,
  decodeInts,
  decodeUcred,
  encodeCmsgs,
  encodeInts,
  encodeUcred,
  type Cmsg,
  type Ucred,
} from '../uapi/cmsg.js';

export interface Linger {
  l_onoff: number;
  l_linger: number;
}
export interface Timeval {
  tv_sec: number;
  tv_usec: number;
}
export interface Timespec {
  tv_sec: number;
  tv_nsec: number;
}
export type SockoptValue = number | Linger | Timeval | Uint8Array;

export interface SendMsg {
  name?: Sockaddr | Uint8Array;
  iov: Uint8Array[];
  control?: Cmsg[];
}
export interface RecvMsg {
  iov: Uint8Array[];
  /** Room for control messages in bytes (msg_controllen); 0 = none. */
  controllen?: number;
}
export interface RecvResult {
  n: number;
  flags: number;
  addr: Sockaddr | null;
  control: Cmsg[];
  /** The control bytes as the kernel wrote them. */
  controlBytes: Uint8Array;
}
export interface EpollEvent {
  events: number;
  data: number;
}

const INT_OPTS = new Set([S.SO_LINGER, S.SO_RCVTIMEO, S.SO_SNDTIMEO, S.SO_PEERCRED, S.SO_PEERNAME]);

function addrBytes(addr: Sockaddr | Uint8Array | null | undefined): Uint8Array | null {
  if (!addr) return null;
  return addr instanceof Uint8Array ? addr : encodeSockaddr(addr);
}

function msToNs(ms: number): number {
  return ms < 0 ? MAX_SCHEDULE_TIMEOUT : ms * NSEC_PER_MSEC;
}

// The arguments of the sendmsg/recvmsg being tried synchronously (Task.msgCall): set just before
// the first attempt and read by the attempt functions below, made once, so a call that does not
// sleep — the common case — makes no closure. The attempt runs synchronously, so one set serves
// every call; a call that must sleep captures them for its retries (the *_retry makers).
let call_sock: Socket | null = null;
let call_msg: Msghdr | null = null;
let call_flags = 0;

const send_attempt = (nb: boolean): number => net.do_sendmsg(call_sock!, call_msg!, call_flags, nb);
const send_retry = (): ((nb: boolean) => number) => {
  const sock = call_sock!;
  const msg = call_msg!;
  const flags = call_flags;
  return (nb) => net.do_sendmsg(sock, msg, flags, nb);
};
const recv_attempt = (nb: boolean): number => {
  call_msg!.msg_control_used = 0;
  return net.do_recvmsg(call_sock!, call_msg!, call_flags, nb);
};
const recv_retry = (): ((nb: boolean) => number) => {
  const sock = call_sock!;
  const msg = call_msg!;
  const flags = call_flags;
  return (nb) => {
    msg.msg_control_used = 0;
    return net.do_recvmsg(sock, msg, flags, nb);
  };
};

/** What recvmsg() returns: the count, flags, source address and control messages of `msg`. */
function recvResult(msg: Msghdr, n: number): RecvResult {
  const controlBytes = msg.msg_control ? msg.msg_control.slice(0, msg.msg_control_used) : new Uint8Array(0);
  const control: Cmsg[] = [];
  if (controlBytes.length) {
    for (const c of cmsgs(controlBytes, controlBytes.length)) {
      const out: Cmsg = { level: c.level, type: c.type, data: c.data.slice() };
      if (c.level === S.SOL_SOCKET && c.type === S.SCM_RIGHTS) out.fds = decodeInts(c.data);
      if (c.level === S.SOL_SOCKET && c.type === S.SCM_CREDENTIALS && c.data.length >= 12)
        out.cred = decodeUcred(c.data);
      control.push(out);
    }
  }
  return {
    n,
    flags: msg.msg_flags,
    addr: msg.msg_name && msg.msg_namelen ? decodeSockaddr(msg.msg_name, msg.msg_namelen) : null,
    control,
    controlBytes,
  };
}

export class Task {
  constructor(
    readonly kernelTask: TaskStruct,
    private readonly clock: Clock,
  ) {}

  get pid(): number {
    return this.kernelTask.pid;
  }
  get uid(): number {
    return this.kernelTask.cred.euid;
  }

  private sys(name: string, fn: () => number): number {
    return check(run_as(this.kernelTask, fn), name);
  }

  private async blocking(name: string, fn: (noblock: boolean) => number): Promise<number> {
    return check(await run_blocking(this.kernelTask, this.clock, fn), name);
  }

  /** Hold the socket behind `fd` for the length of a call that may sleep. */
  private async withSock(name: string, fd: number, fn: (sock: Socket) => Promise<number>): Promise<number> {
    const sock = run_as(this.kernelTask, () => net.sockfd_lookup(this.kernelTask, fd));
    if (typeof sock === 'number') throw new SyscallError(-sock, name);
    try {
      return await fn(sock);
    } finally {
      net.sockfd_put(sock);
    }
  }

  // ——— sockets ———————————————————————————————————————————————————————————

  socket(domain: number, type: number, protocol = 0): number {
    return this.sys('socket', () => net.__sys_socket(this.kernelTask, domain, type, protocol));
  }

  socketpair(domain: number, type: number, protocol = 0): [number, number] {
    const r = run_as(this.kernelTask, () => net.__sys_socketpair(this.kernelTask, domain, type, protocol));
    if (typeof r === 'number') throw new SyscallError(-r, 'socketpair');
    return r;
  }

  bind(fd: number, addr: Sockaddr | Uint8Array, addrlen?: number): void {
    const b = addrBytes(addr);
    this.sys('bind', () => net.__sys_bind(this.kernelTask, fd, b, addrlen ?? b?.length ?? 0));
  }

  listen(fd: number, backlog: number): void {
    this.sys('listen', () => net.__sys_listen(this.kernelTask, fd, backlog));
  }

  async accept(fd: number, flags = 0): Promise<{ fd: number; addr: Sockaddr }> {
    const peer = { addr: new Uint8Array(S.SIZEOF_SOCKADDR_STORAGE), len: 0 };
    const name = flags ? 'accept4' : 'accept';
    const files = this.kernelTask.files;
    const nfd = await this.withSock(name, fd, async (sock) => {
      if (flags & ~(S.SOCK_CLOEXEC | S.SOCK_NONBLOCK)) throw new SyscallError(E.EINVAL, name);
      // The new fd is reserved before the call may sleep, as Linux's do_accept() does.
      const newfd = files.get_unused_fd_flags(flags & O_CLOEXEC);
      if (newfd < 0) throw new SyscallError(-newfd, name);
      try {
        return await this.blocking(name, (nb) =>
          net.do_accept(this.kernelTask, sock, newfd, flags, nb, peer),
        );
      } catch (err) {
        files.put_unused_fd(newfd);
        throw err;
      }
    });
    return { fd: nfd, addr: decodeSockaddr(peer.addr, peer.len) };
  }

  async accept4(fd: number, flags: number): Promise<{ fd: number; addr: Sockaddr }> {
    return this.accept(fd, flags);
  }

  async connect(fd: number, addr: Sockaddr | Uint8Array, addrlen?: number): Promise<void> {
    const b = addrBytes(addr);
    await this.withSock('connect', fd, (sock) =>
      this.blocking('connect', (nb) => net.do_connect(sock, b, addrlen ?? b?.length ?? 0, nb)),
    );
  }

  getsockname(fd: number): Sockaddr {
    return this.getname('getsockname', fd, false);
  }

  getpeername(fd: number): Sockaddr {
    return this.getname('getpeername', fd, true);
  }

  private getname(name: string, fd: number, peer: boolean): Sockaddr {
    const buf = new Uint8Array(S.SIZEOF_SOCKADDR_STORAGE);
    const len = this.sys(name, () => net.__sys_getname(this.kernelTask, fd, buf, peer));
    return decodeSockaddr(buf, len);
  }

  send(fd: number, buf: Uint8Array, flags = 0): Promise<number> {
    return this.sendmsgNamed('send', fd, { iov: [buf] }, flags);
  }

  sendto(fd: number, buf: Uint8Array, flags = 0, addr?: Sockaddr | Uint8Array): Promise<number> {
    return this.sendmsgNamed('sendto', fd, { iov: [buf], name: addr }, flags);
  }

  sendmsg(fd: number, m: SendMsg, flags = 0): Promise<number> {
    return this.sendmsgNamed('sendmsg', fd, m, flags);
  }

  private buildSendMsg(m: SendMsg): Msghdr {
    const msg = new Msghdr(m.iov);
    const name = addrBytes(m.name);
    if (name) {
      msg.msg_name = name;
      msg.msg_namelen = name.length;
    }
    if (m.control && m.control.length) {
      const ctl = encodeCmsgs(
        m.control.map((c) => ({
          level: c.level,
          type: c.type,
          data: c.data ?? (c.fds ? encodeInts(c.fds) : c.cred ? encodeUcred(c.cred) : new Uint8Array(0)),
        })),
      );
      msg.msg_control = ctl;
      msg.msg_controllen = ctl.length;
    }
    return msg;
  }

  /**
   * sendmsg or recvmsg on the socket behind `fd` (held for the length of the call): one
   * synchronous attempt, and a promise that sleeps and retries only when the call must wait. A
   * call that completes at once costs no closure and no promise beyond the one returned.
   */
  private msgCall(
    name: string,
    fd: number,
    msg: Msghdr,
    iovlen: number,
    flags: number,
    send: boolean,
  ): Promise<number> {
    const sock = net.sockfd_lookup(this.kernelTask, fd);
    if (typeof sock === 'number') return Promise.reject(new SyscallError(-sock, name));
    // The fd is looked up before the msghdr is copied in (___sys_sendmsg).
    if (iovlen > UIO_MAXIOV) {
      net.sockfd_put(sock);
      return Promise.reject(new SyscallError(E.EMSGSIZE, name));
    }
    let r: number | Promise<number>;
    // Saved and put back, not cleared: should kernel code ever make a call of its own while this
    // one runs, this one's retry maker still finds its arguments.
    const prevSock = call_sock;
    const prevMsg = call_msg;
    const prevFlags = call_flags;
    call_sock = sock;
    call_msg = msg;
    call_flags = flags;
    try {
      r = send
        ? run_blocking_first(this.kernelTask, this.clock, send_attempt, send_retry)
        : run_blocking_first(this.kernelTask, this.clock, recv_attempt, recv_retry);
    } catch (err) {
      net.sockfd_put(sock);
      return Promise.reject(err);
    } finally {
      call_sock = prevSock;
      call_msg = prevMsg;
      call_flags = prevFlags;
    }
    if (typeof r === 'number') {
      net.sockfd_put(sock);
      return r < 0 ? Promise.reject(new SyscallError(-r, name)) : Promise.resolve(r);
    }
    return r.then(
      (v) => {
        net.sockfd_put(sock);
        return check(v, name);
      },
      (err: unknown) => {
        net.sockfd_put(sock);
        throw err;
      },
    );
  }

  private sendmsgNamed(name: string, fd: number, m: SendMsg, flags: number): Promise<number> {
    let msg: Msghdr;
    try {
      msg = this.buildSendMsg(m);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.msgCall(name, fd, msg, m.iov.length, flags, true);
  }

  /** sendmmsg(): returns how many messages were sent; an error on the first one throws. */
  async sendmmsg(fd: number, msgs: SendMsg[], flags = 0): Promise<number> {
    let sent = 0;
    for (const m of msgs) {
      try {
        await this.sendmsgNamed('sendmmsg', fd, m, flags);
      } catch (err) {
        if (sent) return sent;
        throw err;
      }
      sent++;
    }
    return sent;
  }

  recv(fd: number, buf: Uint8Array, flags = 0): Promise<number> {
    // No address and no control messages asked for: the count is the whole answer.
    let msg: Msghdr;
    try {
      msg = new Msghdr([buf]);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.msgCall('recv', fd, msg, 1, flags, false);
  }

  recvfrom(fd: number, buf: Uint8Array, flags = 0): Promise<{ n: number; addr: Sockaddr | null }> {
    return this.recvmsgNamed('recvfrom', fd, { iov: [buf] }, flags).then((r) => ({ n: r.n, addr: r.addr }));
  }

  recvmsg(fd: number, m: RecvMsg, flags = 0): Promise<RecvResult> {
    return this.recvmsgNamed('recvmsg', fd, m, flags);
  }

  private recvmsgNamed(name: string, fd: number, m: RecvMsg, flags: number): Promise<RecvResult> {
    let msg: Msghdr;
    try {
      msg = new Msghdr(m.iov);
      msg.msg_name = new Uint8Array(S.SIZEOF_SOCKADDR_STORAGE);
      if (m.controllen) {
        msg.msg_control = new Uint8Array(m.controllen);
        msg.msg_controllen = m.controllen;
      }
    } catch (err) {
      // A bad argument rejects, as it did when these were async functions.
      return Promise.reject(err);
    }
    return this.msgCall(name, fd, msg, m.iov.length, flags, false).then((n) => recvResult(msg, n));
  }

  /**
   * recvmmsg(): receive up to `msgs.length` messages. MSG_WAITFORONE makes every message after
   * the first non-blocking; an error after at least one message ends the batch. `timeout`, as in
   * Linux, is only looked at after each message: the batch ends once it has passed.
   */
  async recvmmsg(fd: number, msgs: RecvMsg[], flags = 0, timeout?: Timespec): Promise<RecvResult[]> {
    const out: RecvResult[] = [];
    let end = Number.POSITIVE_INFINITY;
    if (timeout) {
      if (timeout.tv_sec < 0 || timeout.tv_nsec < 0 || timeout.tv_nsec >= 1e9)
        throw new SyscallError(E.EINVAL, 'recvmmsg');
      end = this.clock.now() + timeout.tv_sec * 1e9 + timeout.tv_nsec;
    }
    for (const m of msgs) {
      if (out.length && this.clock.now() >= end) break;
      let f = flags & ~S.MSG_WAITFORONE;
      if (flags & S.MSG_WAITFORONE && out.length) f |= S.MSG_DONTWAIT;
      try {
        out.push(await this.recvmsgNamed('recvmmsg', fd, m, f));
      } catch (err) {
        if (out.length) return out;
        throw err;
      }
    }
    return out;
  }

  shutdown(fd: number, how: number): void {
    this.sys('shutdown', () => net.__sys_shutdown(this.kernelTask, fd, how));
  }

  setsockopt(fd: number, level: number, optname: number, value: SockoptValue): void {
    let b: Uint8Array;
    if (value instanceof Uint8Array) b = value;
    else if (typeof value === 'number') b = encodeInts([value]);
    else if ('l_onoff' in value) b = encodeInts([value.l_onoff, value.l_linger]);
    else {
      b = new Uint8Array(16);
      const dv = new DataView(b.buffer);
      dv.setBigInt64(0, BigInt(value.tv_sec), true);
      dv.setBigInt64(8, BigInt(value.tv_usec), true);
    }
    this.sys('setsockopt', () => net.__sys_setsockopt(this.kernelTask, fd, level, optname, b, b.length));
  }

  /** getsockopt() with Linux's buffer semantics: `optlen` bytes of room; returns what was written. */
  getsockoptRaw(fd: number, level: number, optname: number, optlen: number): Uint8Array {
    const buf = new Uint8Array(Math.max(0, optlen));
    const len = { value: optlen };
    this.sys('getsockopt', () => net.__sys_getsockopt(this.kernelTask, fd, level, optname, buf, len));
    return buf.slice(0, len.value);
  }

  /** getsockopt() decoded by option: ints as numbers, SO_LINGER, SO_*TIMEO and SO_PEERCRED as objects. */
  getsockopt(fd: number, level: number, optname: number): number | Linger | Timeval | Ucred | Uint8Array {
    if (level === S.SOL_SOCKET && INT_OPTS.has(optname)) {
      const raw = this.getsockoptRaw(fd, level, optname, optname === S.SO_PEERNAME ? 128 : 16);
      const dv = new DataView(raw.buffer);
      switch (optname) {
        case S.SO_LINGER:
          return { l_onoff: dv.getInt32(0, true), l_linger: dv.getInt32(4, true) };
        case S.SO_RCVTIMEO:
        case S.SO_SNDTIMEO:
          return { tv_sec: Number(dv.getBigInt64(0, true)), tv_usec: Number(dv.getBigInt64(8, true)) };
        case S.SO_PEERCRED:
          return decodeUcred(raw);
        default:
          return raw;
      }
    }
    const raw = this.getsockoptRaw(fd, level, optname, 4);
    return raw.length === 4 ? new DataView(raw.buffer).getInt32(0, true) : raw;
  }

  // ——— files ———————————————————————————————————————————————————————————————

  private rw(name: string, fd: number, iov: Uint8Array[], write: boolean): Promise<number> {
    const file = this.kernelTask.files.fget(fd);
    if (!file) return Promise.reject(new SyscallError(E.EBADF, name));
    if (iov.length > UIO_MAXIOV) {
      fput(file);
      return Promise.reject(new SyscallError(E.EINVAL, name));
    }
    const op = write ? file.f_op.write_iter : file.f_op.read_iter;
    if (!op) {
      fput(file);
      return Promise.reject(new SyscallError(E.EINVAL, name));
    }
    const iter = new IovIter(iov);
    let r: number | Promise<number>;
    try {
      r = run_blocking_fast(this.kernelTask, this.clock, (nb) => op(file, iter, nb));
    } catch (err) {
      fput(file);
      return Promise.reject(err);
    }
    if (typeof r === 'number') {
      fput(file);
      return r < 0 ? Promise.reject(new SyscallError(-r, name)) : Promise.resolve(r);
    }
    return r.then(
      (v) => {
        fput(file);
        return check(v, name);
      },
      (err: unknown) => {
        fput(file);
        throw err;
      },
    );
  }

  read(fd: number, buf: Uint8Array): Promise<number> {
    return this.rw('read', fd, [buf], false);
  }

  /**
   * read(2) that never sleeps and never throws, for event loops that poll (as libuv reads a
   * ready fd): bytes read, 0 at end of file, or a negative errno (-EAGAIN: nothing to read yet).
   * No promise and no error object, so a loop that finds nothing costs nothing.
   */
  readNonblock(fd: number, buf: Uint8Array): number {
    return this.rwNonblock(fd, [buf], false);
  }

  /** write(2) that never sleeps and never throws: bytes written, or a negative errno (-EAGAIN: no room). */
  writeNonblock(fd: number, buf: Uint8Array): number {
    return this.rwNonblock(fd, [buf], true);
  }

  /** writev(2) that never sleeps and never throws, as writeNonblock. */
  writevNonblock(fd: number, iov: Uint8Array[]): number {
    if (iov.length > UIO_MAXIOV) return -E.EINVAL;
    return this.rwNonblock(fd, iov, true);
  }

  private rwNonblock(fd: number, iov: Uint8Array[], write: boolean): number {
    const file = this.kernelTask.files.fget(fd);
    if (!file) return -E.EBADF;
    try {
      const op = write ? file.f_op.write_iter : file.f_op.read_iter;
      if (!op) return -E.EINVAL;
      const iter = new IovIter(iov);
      const r = run_blocking_fast(this.kernelTask, this.clock, () => op(file, iter, true));
      // A call made with noblock never sleeps; were one to, its answer is "try again".
      return typeof r === 'number' ? r : -E.EAGAIN;
    } finally {
      fput(file);
    }
  }
  write(fd: number, buf: Uint8Array): Promise<number> {
    return this.rw('write', fd, [buf], true);
  }
  readv(fd: number, iov: Uint8Array[]): Promise<number> {
    return this.rw('readv', fd, iov, false);
  }
  writev(fd: number, iov: Uint8Array[]): Promise<number> {
    return this.rw('writev', fd, iov, true);
  }

  /** lseek(): sockets cannot seek (ESPIPE). */
  lseek(fd: number, offset: number, whence: number): number {
    return this.sys('lseek', () => {
      const f = this.kernelTask.files.fcheck(fd);
      if (!f) return -E.EBADF;
      return f.f_op.llseek ? f.f_op.llseek(f, offset, whence) : -E.ESPIPE;
    });
  }

  /** The name /proc/<pid>/fd/<fd> links to ("socket:[ino]", "anon_inode:[eventpoll]"). */
  fdName(fd: number): string {
    const f = this.kernelTask.files.fcheck(fd);
    if (!f) throw new SyscallError(E.EBADF, 'readlink');
    return f.f_path_name;
  }

  close(fd: number): void {
    this.sys('close', () => this.kernelTask.files.close_fd(fd));
  }

  dup(fd: number): number {
    return this.sys('dup', () => {
      const f = this.kernelTask.files.fcheck(fd);
      return f ? this.kernelTask.files.f_dupfd(0, f, 0) : -E.EBADF;
    });
  }

  dup2(oldfd: number, newfd: number): number {
    return this.sys('dup2', () => this.kernelTask.files.dup2(oldfd, newfd));
  }

  dup3(oldfd: number, newfd: number, flags: number): number {
    return this.sys('dup3', () => this.kernelTask.files.dup3(oldfd, newfd, flags));
  }

  /** fcntl(): F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL. */
  fcntl(fd: number, cmd: number, arg = 0): number {
    return this.sys('fcntl', () => {
      const files = this.kernelTask.files;
      const f = files.fcheck(fd);
      if (!f) return -E.EBADF;
      switch (cmd) {
        case F_DUPFD:
          return files.f_dupfd(arg, f, 0);
        case F_DUPFD_CLOEXEC:
          return files.f_dupfd(arg, f, O_CLOEXEC);
        case F_GETFD:
          return files.close_on_exec.has(fd) ? FD_CLOEXEC : 0;
        case F_SETFD:
          if (arg & FD_CLOEXEC) files.close_on_exec.add(fd);
          else files.close_on_exec.delete(fd);
          return 0;
        case F_GETFL:
          return f.f_flags;
        case F_SETFL:
          f.f_flags = (arg & SETFL_MASK) | (f.f_flags & ~SETFL_MASK);
          return 0;
        default:
          return -E.EINVAL;
      }
    });
  }

  /** ioctl() with an int argument; returns the int the call writes back (or 0). */
  ioctl(fd: number, cmd: number, arg = 0): number {
    const box = { value: arg };
    this.sys('ioctl', () => {
      const f = this.kernelTask.files.fcheck(fd);
      if (!f) return -E.EBADF;
      return do_vfs_ioctl(this.kernelTask.files, fd, f, cmd, box);
    });
    return box.value;
  }

  // ——— waiting on many fds ————————————————————————————————————————————————

  /** ppoll(): poll with a timespec timeout (null waits forever). */
  ppoll(fds: PollFd[], timeout: Timespec | null): Promise<number> {
    if (timeout && (timeout.tv_sec < 0 || timeout.tv_nsec < 0 || timeout.tv_nsec >= 1e9))
      return Promise.reject(new SyscallError(E.EINVAL, 'ppoll'));
    const t = timeout ? timeout.tv_sec * 1e9 + timeout.tv_nsec : MAX_SCHEDULE_TIMEOUT;
    return this.blocking('ppoll', (nb) => do_poll(this.kernelTask, fds, t, nb));
  }

  /** poll(): fills each `revents`; `timeoutMs` < 0 waits forever. */
  poll(fds: PollFd[], timeoutMs: number): Promise<number> {
    const t = msToNs(timeoutMs);
    return this.blocking('poll', (nb) => do_poll(this.kernelTask, fds, t, nb));
  }

  /** select(): the sets are narrowed in place to the ready fds. */
  select(
    nfds: number,
    readfds: Set<number> | null,
    writefds: Set<number> | null,
    exceptfds: Set<number> | null,
    timeoutMs: number,
  ): Promise<number> {
    const t = msToNs(timeoutMs);
    return this.blocking('select', (nb) =>
      do_select(this.kernelTask, nfds, readfds, writefds, exceptfds, t, nb),
    );
  }

  epoll_create1(flags = 0): number {
    return this.sys('epoll_create1', () => do_epoll_create(this.kernelTask, flags));
  }

  epoll_ctl(epfd: number, op: number, fd: number, event: EpollEvent | null = null): void {
    this.sys('epoll_ctl', () => do_epoll_ctl(this.kernelTask, epfd, op, fd, event));
  }

  async epoll_wait(epfd: number, maxevents: number, timeoutMs: number): Promise<EpollEvent[]> {
    const out: EpollEvent[] = [];
    const t = msToNs(timeoutMs);
    await this.blocking('epoll_wait', (nb) => {
      out.length = 0;
      return do_epoll_wait(this.kernelTask, epfd, out, maxevents, t, nb);
    });
    return out;
  }

  // ——— filesystem and limits ——————————————————————————————————————————————

  mkdir(path: string, mode = 0o777): void {
    const t = this.kernelTask;
    this.sys('mkdir', () => t.kernel.vfs.mkdir(t.cred, t.fs.pwd, path, mode, t.fs.umask));
  }
  unlink(path: string): void {
    const t = this.kernelTask;
    this.sys('unlink', () => t.kernel.vfs.unlink(t.cred, t.fs.pwd, path));
  }
  rmdir(path: string): void {
    const t = this.kernelTask;
    this.sys('rmdir', () => t.kernel.vfs.unlink(t.cred, t.fs.pwd, path, true));
  }
  chmod(path: string, mode: number): void {
    const t = this.kernelTask;
    this.sys('chmod', () => t.kernel.vfs.chmod(t.cred, t.fs.pwd, path, mode));
  }
  chown(path: string, uid: number, gid: number): void {
    const t = this.kernelTask;
    this.sys('chown', () => t.kernel.vfs.chown(t.cred, t.fs.pwd, path, uid, gid));
  }
  umask(mask: number): number {
    const old = this.kernelTask.fs.umask;
    this.kernelTask.fs.umask = mask & 0o777;
    return old;
  }

  getrlimit(resource: number): { cur: number; max: number } {
    if (resource !== RLIMIT_NOFILE) throw new SyscallError(E.EINVAL, 'getrlimit');
    const f = this.kernelTask.files;
    return { cur: f.rlimit_nofile, max: f.rlimit_nofile_max };
  }

  setrlimit(resource: number, lim: { cur: number; max: number }): void {
    const t = this.kernelTask;
    this.sys('setrlimit', () => {
      if (resource !== RLIMIT_NOFILE) return -E.EINVAL;
      if (lim.cur > lim.max) return -E.EINVAL;
      if (lim.max > t.kernel.sysctl_nr_open) return -E.EPERM;
      if (lim.max > t.files.rlimit_nofile_max && !t.cred.has_cap(24 /* CAP_SYS_RESOURCE */)) return -E.EPERM;
      t.files.rlimit_nofile = lim.cur;
      t.files.rlimit_nofile_max = lim.max;
      return 0;
    });
  }

  /** The fds open in this task. */
  fds(): number[] {
    return this.kernelTask.files.openFds();
  }

  /** Process exit: every fd is closed. */
  exit(): void {
    run_as(this.kernelTask, () => this.kernelTask.files.close_all());
    this.kernelTask.exited = true;
  }
}
