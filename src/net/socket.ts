// The BSD socket layer (net/socket.c): struct socket, sockfs, the family table, sock_create,
// the socket file operations and the socket system calls. Every function returns a result or
// a negative errno and never blocks; see kernel/sched.ts for how sleeping calls are run.

import { File, type Inode, type FileOperations, type IoctlArg, type PollTable } from '../kernel/fs.js';
import { fput, get_file } from '../kernel/file_table.js';
import { WaitQueueHead } from '../kernel/wait.js';
import { IovIter } from '../kernel/uio.js';
import type { TaskStruct } from '../kernel/task.js';
import { type SocketAlloc, sock_alloc, sock_alloc_file } from './sockfs.js';
export { SOCK_INODE, SOCKET_I, sock_alloc, sock_alloc_file, sock_attach_fd, sockfs } from './sockfs.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Net } from './core/net_namespace.js';
import { sock_getsockopt, sock_setsockopt } from './core/sock_opt.js';
import * as E from '../uapi/errno.js';
import {
  AF_MAX,
  MSG_CMSG_CLOEXEC,
  MSG_DONTWAIT,
  MSG_MORE,
  SIZEOF_SOCKADDR_STORAGE,
  SOCK_CLOEXEC,
  SOCK_MAX,
  SOCK_NONBLOCK,
  SOCK_TYPE_MASK,
  SOL_SOCKET,
  SS_UNCONNECTED,
  SHUT_RD,
  SHUT_RDWR,
} from '../uapi/socket.js';
import { O_CLOEXEC, O_NONBLOCK } from '../uapi/fcntl.js';
import { CMSG_HDR_LEN, CMSG_ALIGN, CMSG_LEN } from '../uapi/cmsg.js';
import { MSG_CTRUNC } from '../uapi/socket.js';
import type { Sock } from './core/sock.js';

/** struct socket_wq. */
export class SocketWq {
  wait = new WaitQueueHead();
  fasync_list: unknown = null;
  flags = 0;
}

/** struct socket. */
export class Socket {
  state = SS_UNCONNECTED;
  type = 0;
  flags = 0;
  readonly wq = new SocketWq();
  file: File | null = null;
  sk: Sock | null = null;
  ops: ProtoOps | null = null;
  /** The socket_alloc this socket is part of (SOCK_INODE). */
  alloc: SocketAlloc | null = null;
}

/** struct msghdr (kernel side). Addresses and control data are raw bytes in Linux's layout. */
export class Msghdr {
  /** Send: the destination address bytes; receive: room for the source address. */
  msg_name: Uint8Array | null = null;
  msg_namelen = 0;
  msg_iter: IovIter;
  /** Send: the control buffer given; receive: the buffer to fill. */
  msg_control: Uint8Array | null = null;
  /** Send: its length; receive: the room, and after the call the bytes used. */
  msg_controllen = 0;
  msg_flags = 0;
  /** Receive: how many control bytes have been written. */
  msg_control_used = 0;
  constructor(iov: readonly Uint8Array[] | IovIter) {
    this.msg_iter = iov instanceof IovIter ? iov : new IovIter(iov);
  }
}

/** msg_data_left(). */
export function msg_data_left(msg: Msghdr): number {
  return msg.msg_iter.count;
}

/**
 * put_cmsg(): append a control message to a receive msghdr; on a short buffer write what fits
 * and set MSG_CTRUNC, as Linux does.
 */
export function put_cmsg(msg: Msghdr, level: number, type: number, data: Uint8Array): number {
  const buf = msg.msg_control;
  const room = msg.msg_controllen - msg.msg_control_used;
  if (!buf || room < CMSG_HDR_LEN) {
    msg.msg_flags |= MSG_CTRUNC;
    return 0;
  }
  let cmlen = CMSG_LEN(data.length);
  if (room < cmlen) {
    msg.msg_flags |= MSG_CTRUNC;
    cmlen = room;
  }
  const off = msg.msg_control_used;
  const dv = new DataView(buf.buffer, buf.byteOffset + off);
  dv.setBigUint64(0, BigInt(cmlen), true);
  dv.setInt32(8, level, true);
  dv.setInt32(12, type, true);
  buf.set(data.subarray(0, cmlen - CMSG_HDR_LEN), off + CMSG_HDR_LEN);
  msg.msg_control_used = Math.min(msg.msg_controllen, off + CMSG_ALIGN(cmlen));
  return 0;
}

/** struct proto_ops: the socket-level operations of a family/type. */
export interface ProtoOps {
  family: number;
  owner: string;
  release(sock: Socket): number;
  bind(sock: Socket, myaddr: Uint8Array, sockaddr_len: number): number;
  /** `flags` are the file flags (O_NONBLOCK decides whether the connect may sleep). */
  connect(sock: Socket, vaddr: Uint8Array, sockaddr_len: number, flags: number): number;
  socketpair(sock1: Socket, sock2: Socket): number;
  accept(sock: Socket, newsock: Socket, flags: number, kern: boolean): number;
  /**
   * Fills `addr`; returns the address length or a negative errno. `peer`: false for
   * getsockname, 1 (true) for getpeername, 2 from accept (the peer of a connection that may
   * have been reset meanwhile).
   */
  getname(sock: Socket, addr: Uint8Array, peer: boolean | number): number;
  poll(file: File, sock: Socket, wait: PollTable | null): number;
  ioctl(sock: Socket, cmd: number, arg: IoctlArg): number;
  compat_ioctl(sock: Socket, cmd: number, arg: IoctlArg): number;
  listen(sock: Socket, len: number): number;
  shutdown(sock: Socket, flags: number): number;
  setsockopt(sock: Socket, level: number, optname: number, optval: Uint8Array, optlen: number): number;
  /** `optlen.value` is the room in `optval` on entry, the length written on return. */
  getsockopt(sock: Socket, level: number, optname: number, optval: Uint8Array, optlen: IoctlArg): number;
  /** SO_PEEK_OFF support (absent: the family has no peek offset, EOPNOTSUPP). */
  set_peek_off?(sk: Sock, val: number): number;
  compat_setsockopt(sock: Socket, level: number, optname: number, optval: Uint8Array, optlen: number): number;
  compat_getsockopt(
    sock: Socket,
    level: number,
    optname: number,
    optval: Uint8Array,
    optlen: IoctlArg,
  ): number;
  sendmsg(sock: Socket, m: Msghdr, total_len: number): number;
  recvmsg(sock: Socket, m: Msghdr, total_len: number, flags: number): number;
  mmap(file: File, sock: Socket, vma: unknown): number;
  sendpage(sock: Socket, page: Uint8Array, offset: number, size: number, flags: number): number;
  splice_read(sock: Socket, ppos: number, pipe: unknown, len: number, flags: number): number;
}

// The sock_no_* fillers (net/core/sock.c) for operations a family does not support.
export function sock_no_bind(): number {
  return -E.EOPNOTSUPP;
}
export function sock_no_connect(): number {
  return -E.EOPNOTSUPP;
}
export function sock_no_socketpair(): number {
  return -E.EOPNOTSUPP;
}
export function sock_no_accept(): number {
  return -E.EOPNOTSUPP;
}
export function sock_no_getname(): number {
  return -E.EOPNOTSUPP;
}
export function sock_no_ioctl(): number {
  return -E.EOPNOTSUPP;
}
export function sock_no_listen(): number {
  return -E.EOPNOTSUPP;
}
export function sock_no_shutdown(): number {
  return -E.EOPNOTSUPP;
}
export function sock_no_sendmsg(): number {
  return -E.EOPNOTSUPP;
}
export function sock_no_recvmsg(): number {
  return -E.EOPNOTSUPP;
}
export function sock_no_mmap(): number {
  return -E.ENODEV;
}
export function sock_no_sendpage(): number {
  return -E.EOPNOTSUPP;
}
export function sock_no_splice_read(): number {
  return -E.EINVAL;
}
/** sock_common_setsockopt/getsockopt stand-ins for families with no options of their own. */
export function sock_no_setsockopt(): number {
  return -E.ENOPROTOOPT;
}
export function sock_no_getsockopt(): number {
  return -E.EOPNOTSUPP;
}

/** struct net_proto_family. */
export interface NetProtoFamily {
  family: number;
  create(net: Net, sock: Socket, protocol: number, kern: boolean): number;
  owner: string;
}

/** sock_register(): install a family's create function; -EEXIST if taken. */
export function sock_register(net: Net, ops: NetProtoFamily): number {
  if (ops.family < 0 || ops.family >= AF_MAX) return -E.ENOBUFS;
  if (net.net_families[ops.family]) return -E.EEXIST;
  net.net_families[ops.family] = ops;
  return 0;
}

/** sock_unregister(). */
export function sock_unregister(net: Net, family: number): void {
  if (family >= 0 && family < AF_MAX) net.net_families[family] = null;
}

/** sock_release(): tear down a socket that has no file, or whose file is closing. */
export function sock_release(sock: Socket): void {
  if (sock.ops) {
    sock.ops.release(sock);
    sock.sk = null;
    sock.ops = null;
  }
  sock.file = null;
}

/** __sock_create(). */
export function __sock_create(
  net: Net,
  family: number,
  type: number,
  protocol: number,
  res: { sock: Socket | null },
  kern: boolean,
): number {
  if (family < 0 || family >= AF_MAX) return -E.EAFNOSUPPORT;
  if (type < 0 || type >= SOCK_MAX) return -E.EINVAL;
  const sock = sock_alloc(net.kernel);
  sock.type = type;
  const pf = net.net_families[family];
  if (!pf) {
    sock_release(sock);
    return -E.EAFNOSUPPORT;
  }
  const err = pf.create(net, sock, protocol, kern);
  if (err < 0) {
    sock.ops = null;
    sock_release(sock);
    return err;
  }
  res.sock = sock;
  return 0;
}

/** sock_create(): a user socket in the caller's namespace. */
export function sock_create(
  net: Net,
  family: number,
  type: number,
  protocol: number,
  res: { sock: Socket | null },
) {
  return __sock_create(net, family, type, protocol, res, false);
}

/** sock_create_kern(): a kernel-internal socket. */
export function sock_create_kern(
  net: Net,
  family: number,
  type: number,
  protocol: number,
  res: { sock: Socket | null },
) {
  return __sock_create(net, family, type, protocol, res, true);
}

/** sock_create_lite(): a bare socket for accept() to fill. */
export function sock_create_lite(kernel: Kernel, type: number, ops: ProtoOps): Socket {
  const sock = sock_alloc(kernel);
  sock.type = type;
  sock.ops = ops;
  return sock;
}

/** sock_map_fd(): a file and an fd for a new socket. */
export function sock_map_fd(task: TaskStruct, sock: Socket, flags: number): number {
  const fd = task.files.get_unused_fd_flags(flags);
  if (fd < 0) {
    sock_release(sock);
    return fd;
  }
  task.files.fd_install(fd, sock_alloc_file(sock, flags));
  return fd;
}

/** sock_from_file(). */
export function sock_from_file(file: File): Socket | null {
  return file.f_op === socket_file_ops ? (file.private_data as Socket) : null;
}

/** sockfd_lookup(): the socket behind `fd` with a file reference taken, or -EBADF/-ENOTSOCK. */
export function sockfd_lookup(task: TaskStruct, fd: number): Socket | number {
  const file = task.files.fget(fd);
  if (!file) return -E.EBADF;
  const sock = sock_from_file(file);
  if (!sock) {
    fput(file);
    return -E.ENOTSOCK;
  }
  return sock;
}

/** sockfd_put(). */
export function sockfd_put(sock: Socket): void {
  if (sock.file) fput(sock.file);
}

/** sock_sendmsg(). */
export function sock_sendmsg(sock: Socket, msg: Msghdr): number {
  return sock.ops!.sendmsg(sock, msg, msg_data_left(msg));
}

/** sock_recvmsg(). */
export function sock_recvmsg(sock: Socket, msg: Msghdr, flags: number): number {
  return sock.ops!.recvmsg(sock, msg, msg_data_left(msg), flags);
}

function sock_read_iter(file: File, to: IovIter, nowait: boolean): number {
  const sock = file.private_data as Socket;
  if (to.count === 0) return 0;
  const msg = new Msghdr(to);
  const flags = file.f_flags & O_NONBLOCK || nowait ? MSG_DONTWAIT : 0;
  return sock_recvmsg(sock, msg, flags);
}

function sock_write_iter(file: File, from: IovIter, nowait: boolean): number {
  const sock = file.private_data as Socket;
  const msg = new Msghdr(from);
  msg.msg_flags = file.f_flags & O_NONBLOCK || nowait ? MSG_DONTWAIT : 0;
  return sock_sendmsg(sock, msg);
}

/** sock_poll(). */
function sock_poll(file: File, wait: PollTable | null): number {
  const sock = file.private_data as Socket;
  if (!sock.ops) return 0;
  return sock.ops.poll(file, sock, wait);
}

/** sock_ioctl(): what the VFS does not answer (do_vfs_ioctl) goes to the family. */
function sock_ioctl(file: File, cmd: number, arg: IoctlArg): number {
  const sock = file.private_data as Socket;
  return sock.ops ? sock.ops.ioctl(sock, cmd, arg) : -E.ENOTTY;
}

/** compat_sock_ioctl(): one ABI here, so the same as sock_ioctl. */
const compat_sock_ioctl = sock_ioctl;

/** sock_close(): the last reference to the file is gone. */
function sock_close(_inode: Inode, file: File): void {
  sock_release(file.private_data as Socket);
}

/** sock_sendpage(): kernel_sendpage() on the socket; MSG_MORE when more pages follow. */
function sock_sendpage(file: File, page: Uint8Array, offset: number, size: number, more: boolean): number {
  const sock = file.private_data as Socket;
  let flags = file.f_flags & O_NONBLOCK ? MSG_DONTWAIT : 0;
  if (more) flags |= MSG_MORE;
  return sock.ops ? sock.ops.sendpage(sock, page, offset, size, flags) : -E.ENOTSOCK;
}

/** sock_mmap(): the family decides (every family here answers ENODEV). */
function sock_mmap(file: File, vma: unknown): number {
  const sock = file.private_data as Socket;
  return sock.ops ? sock.ops.mmap(file, sock, vma) : -E.ENODEV;
}

/** sock_no_open(): a socket cannot be opened through a path (/proc/<pid>/fd/N). */
function sock_no_open(): number {
  return -E.ENXIO;
}

/** no_llseek(). */
function no_llseek(): number {
  return -E.ESPIPE;
}

/** sock_fasync(): O_ASYNC bookkeeping; no SIGIO is sent (usernet has no signals). */
function sock_fasync(_fd: number, file: File, on: boolean): number {
  const sock = file.private_data as Socket;
  sock.wq.fasync_list = on ? file : null;
  return 0;
}

/**
 * socket_file_ops. sock_read_iter/sock_write_iter are what sock_aio_read/sock_aio_write,
 * sock_readv/sock_writev became; sendpage went the way of splice in newer kernels.
 */
export const socket_file_ops: FileOperations = {
  name: 'socket_file_ops',
  llseek: no_llseek,
  read_iter: sock_read_iter,
  write_iter: sock_write_iter,
  poll: sock_poll,
  unlocked_ioctl: sock_ioctl,
  compat_ioctl: compat_sock_ioctl,
  mmap: sock_mmap,
  sendpage: sock_sendpage,
  open: sock_no_open,
  release: sock_close,
  fasync: sock_fasync,
};

// ——— the socket system calls ———————————————————————————————————————————————

/** move_addr_to_kernel(): validate a user address length. */
export function move_addr_to_kernel(addr: Uint8Array | null, addrlen: number): number {
  if (addrlen < 0 || addrlen > SIZEOF_SOCKADDR_STORAGE) return -E.EINVAL;
  if (addrlen > 0 && (!addr || addr.length < addrlen)) return -E.EFAULT;
  return 0;
}

function with_sock<T extends number>(task: TaskStruct, fd: number, fn: (sock: Socket) => T): number {
  const sock = sockfd_lookup(task, fd);
  if (typeof sock === 'number') return sock;
  try {
    return fn(sock);
  } finally {
    sockfd_put(sock);
  }
}

function task_net(task: TaskStruct): Net {
  return task.net_ns as Net;
}

/** __sys_socket(). */
export function __sys_socket(task: TaskStruct, family: number, type: number, protocol: number): number {
  const flags = type & ~SOCK_TYPE_MASK;
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -E.EINVAL;
  type &= SOCK_TYPE_MASK;
  const res = { sock: null as Socket | null };
  const err = sock_create(task_net(task), family, type, protocol, res);
  if (err < 0) return err;
  return sock_map_fd(task, res.sock!, flags & (O_CLOEXEC | O_NONBLOCK));
}

/** __sys_socketpair(): returns [fd1, fd2] or a negative errno. */
export function __sys_socketpair(
  task: TaskStruct,
  family: number,
  type: number,
  protocol: number,
): number | [number, number] {
  const flags = type & ~SOCK_TYPE_MASK;
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -E.EINVAL;
  type &= SOCK_TYPE_MASK;
  const fflags = flags & (O_CLOEXEC | O_NONBLOCK);
  const fd1 = task.files.get_unused_fd_flags(fflags);
  if (fd1 < 0) return fd1;
  const fd2 = task.files.get_unused_fd_flags(fflags);
  if (fd2 < 0) {
    task.files.put_unused_fd(fd1);
    return fd2;
  }
  const net = task_net(task);
  const r1 = { sock: null as Socket | null };
  const r2 = { sock: null as Socket | null };
  let err = sock_create(net, family, type, protocol, r1);
  if (err >= 0) {
    err = sock_create(net, family, type, protocol, r2);
    if (err < 0) sock_release(r1.sock!);
  }
  if (err >= 0) {
    err = r1.sock!.ops!.socketpair(r1.sock!, r2.sock!);
    if (err < 0) {
      sock_release(r1.sock!);
      sock_release(r2.sock!);
    }
  }
  if (err < 0) {
    task.files.put_unused_fd(fd1);
    task.files.put_unused_fd(fd2);
    return err;
  }
  task.files.fd_install(fd1, sock_alloc_file(r1.sock!, fflags));
  task.files.fd_install(fd2, sock_alloc_file(r2.sock!, fflags));
  return [fd1, fd2];
}

/** __sys_bind(). */
export function __sys_bind(
  task: TaskStruct,
  fd: number,
  umyaddr: Uint8Array | null,
  addrlen: number,
): number {
  return with_sock(task, fd, (sock) => {
    const err = move_addr_to_kernel(umyaddr, addrlen);
    if (err < 0) return err;
    return sock.ops!.bind(sock, umyaddr ?? new Uint8Array(0), addrlen);
  });
}

/** __sys_listen(): the backlog is capped by net.core.somaxconn. */
export function __sys_listen(task: TaskStruct, fd: number, backlog: number): number {
  return with_sock(task, fd, (sock) => {
    const somaxconn = task_net(task).core.sysctl_somaxconn;
    if (backlog >>> 0 > somaxconn) backlog = somaxconn;
    return sock.ops!.listen(sock, backlog);
  });
}

/**
 * do_accept() on a held socket, into `newfd` (reserved by the caller with get_unused_fd_flags
 * before it may sleep, as Linux reserves it): installs the new socket and fills `peer`
 * (address bytes and length), or returns a negative errno. May sleep unless `noblock`.
 */
export function do_accept(
  task: TaskStruct,
  sock: Socket,
  newfd: number,
  flags: number,
  noblock: boolean,
  peer: { addr: Uint8Array; len: number } | null,
): number {
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -E.EINVAL;
  const newsock = sock_create_lite(task.kernel, sock.type, sock.ops!);
  const fflags = (sock.file!.f_flags & O_NONBLOCK) | (noblock ? O_NONBLOCK : 0);
  const err = sock.ops!.accept(sock, newsock, fflags, false);
  if (err < 0) {
    newsock.ops = null;
    sock_release(newsock);
    return err;
  }
  if (peer) {
    // Asked with 2: a connection reset while it waited in the accept queue still names its peer.
    const len = newsock.ops!.getname(newsock, peer.addr, 2);
    if (len < 0) {
      sock_release(newsock);
      return -E.ECONNABORTED;
    }
    peer.len = len;
  }
  task.files.fd_install(newfd, sock_alloc_file(newsock, flags & (O_NONBLOCK | O_CLOEXEC)));
  return newfd;
}

/** __sys_connect() on a held socket. May sleep unless `noblock`. */
export function do_connect(sock: Socket, addr: Uint8Array | null, addrlen: number, noblock: boolean): number {
  const err = move_addr_to_kernel(addr, addrlen);
  if (err < 0) return err;
  const fflags = sock.file!.f_flags | (noblock ? O_NONBLOCK : 0);
  return sock.ops!.connect(sock, addr ?? new Uint8Array(0), addrlen, fflags);
}

/** __sys_getsockname() / __sys_getpeername(): fills `addr`, returns its full length. */
export function __sys_getname(task: TaskStruct, fd: number, addr: Uint8Array, peer: boolean): number {
  return with_sock(task, fd, (sock) => sock.ops!.getname(sock, addr, peer));
}

/** ____sys_sendmsg()'s on-stack control buffer: sizeof(struct cmsghdr) + 20. */
const CTL_ONSTACK = 36;

/** ___sys_sendmsg() on a held socket: sendmsg(2), sendto(2), send(2). May sleep. */
export function do_sendmsg(sock: Socket, msg: Msghdr, flags: number, noblock: boolean): number {
  if (msg.msg_namelen) {
    const err = move_addr_to_kernel(msg.msg_name, msg.msg_namelen);
    if (err < 0) return err;
  }
  // The control buffer is copied into kernel memory charged to the socket (sock_kmalloc):
  // beyond the on-stack buffer it may not exceed net.core.optmem_max.
  if (msg.msg_controllen > CTL_ONSTACK && msg.msg_controllen > sock.sk!.sk_net.core.sysctl_optmem_max)
    return -E.ENOBUFS;
  msg.msg_flags = flags & ~MSG_CMSG_CLOEXEC;
  if (sock.file!.f_flags & O_NONBLOCK || noblock) msg.msg_flags |= MSG_DONTWAIT;
  return sock_sendmsg(sock, msg);
}

/** ___sys_recvmsg() on a held socket: recvmsg(2), recvfrom(2), recv(2). May sleep. */
export function do_recvmsg(sock: Socket, msg: Msghdr, flags: number, noblock: boolean): number {
  if (sock.file!.f_flags & O_NONBLOCK || noblock) flags |= MSG_DONTWAIT;
  msg.msg_flags = flags & MSG_CMSG_CLOEXEC;
  msg.msg_namelen = 0;
  return sock_recvmsg(sock, msg, flags);
}

/** __sys_shutdown(). */
export function __sys_shutdown(task: TaskStruct, fd: number, how: number): number {
  return with_sock(task, fd, (sock) => {
    if (how < SHUT_RD || how > SHUT_RDWR) return -E.EINVAL;
    return sock.ops!.shutdown(sock, how);
  });
}

/** __sys_setsockopt(). */
export function __sys_setsockopt(
  task: TaskStruct,
  fd: number,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: number,
): number {
  return with_sock(task, fd, (sock) => {
    if (optlen < 0) return -E.EINVAL;
    if (optlen > optval.length) return -E.EFAULT;
    if (level === SOL_SOCKET) return sock_setsockopt(sock, level, optname, optval, optlen);
    return sock.ops!.setsockopt(sock, level, optname, optval, optlen);
  });
}

/** __sys_getsockopt(): `optlen.value` is the room on entry, the length on return. */
export function __sys_getsockopt(
  task: TaskStruct,
  fd: number,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: IoctlArg,
): number {
  return with_sock(task, fd, (sock) => {
    if (optlen.value < 0) return -E.EINVAL;
    if (level === SOL_SOCKET) return sock_getsockopt(sock, level, optname, optval, optlen);
    return sock.ops!.getsockopt(sock, level, optname, optval, optlen);
  });
}

/** Hold a file reference for a call that may sleep: the file outlives a concurrent close(). */
export function sock_hold_file(sock: Socket): void {
  if (sock.file) get_file(sock.file);
}
