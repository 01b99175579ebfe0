// The PF_INET socket operations shared by the datagram transports (net/ipv4/af_inet.c,
// net/ipv4/datagram.c, net/core/datagram.c): struct inet_sock, inet_bind, inet_getname,
// inet_dgram_connect, inet_release, inet_shutdown, inet_ioctl, datagram_poll, the receive-queue
// helpers (__skb_try_recv_datagram, __sock_queue_rcv_skb), building the IPv4 header of a locally
// generated datagram and routing it. UDP, raw and ping sockets build on these.

import type { Net } from '../core/net_namespace.js';
import {
  Sock,
  TCP_CLOSE,
  TCP_ESTABLISHED,
  TCP_SYN_SENT,
  SOCK_BINDADDR_LOCK,
  SOCK_BINDPORT_LOCK,
  SOCK_BROADCAST,
  SOCK_DEAD,
  sock_flag,
  sock_error,
  sock_rcvtimeo,
  sock_alloc_send_check,
  skb_set_owner_w,
  sock_writeable,
  sk_wq,
  sk_free,
  sock_orphan,
  type Proto,
} from '../core/sock.js';
import { SkBuff, SkBuffHead, alloc_skb_with_frags } from '../core/skbuff.js';
import {
  sock_no_accept,
  sock_no_listen,
  sock_no_mmap,
  sock_no_sendpage,
  sock_no_socketpair,
  sock_no_splice_read,
  type Msghdr,
  type ProtoOps,
  type Socket,
} from '../socket.js';
import { SOCK_INODE } from '../sockfs.js';
import type { File, IoctlArg, PollTable } from '../../kernel/fs.js';
import { poll_wait } from '../../kernel/fs.js';
import { current, in_task, prepare_to_wait } from '../../kernel/sched.js';
import * as E from '../../uapi/errno.js';
import * as S from '../../uapi/socket.js';
import * as P from '../../uapi/poll.js';
import { CAP_NET_BIND_SERVICE } from '../../uapi/capability.js';
import { IFF_LOOPBACK } from '../../uapi/if.js';
import {
  INADDR_ANY,
  INADDR_LOOPBACK,
  IP_PMTUDISC_DO,
  IP_PMTUDISC_PROBE,
  IP_PMTUDISC_WANT,
  IP_PMTUDISC_OMIT,
  SIZEOF_SOCKADDR_IN,
  put_sockaddr_in,
  sockaddr_in_addr,
  sockaddr_in_port,
} from '../../uapi/in.js';
import { ip_route_output, dst_mtu as rt_dst_mtu, type Rtable } from './route.js';
import { inet_addr_type } from './devinet.js';
import { RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST } from './fib.js';
import { ip_build_header, ip_local_out } from './ip_output.js';
import { NetnsIpv4 } from './ipv4_init.js';
import { IP_INC_STATS, IPSTATS_MIB_OUTNOROUTES, IPSTATS_MIB_OUTDISCARDS } from './snmp.js';

import { RTCF_BROADCAST, RTCF_MULTICAST } from './route.js';
export { RTCF_BROADCAST, RTCF_MULTICAST };

const dflt_ipv4 = new NetnsIpv4();
/** net->ipv4 (the defaults before IPv4 has booted in the namespace). */
export function ipv4_sysctl(net: Net): NetnsIpv4 {
  return net.ipv4 ?? dflt_ipv4;
}

/** inet->cmsg_flags bits (include/net/inet_sock.h). */
export const IP_CMSG_PKTINFO = 1 << 0;
export const IP_CMSG_TTL = 1 << 1;
export const IP_CMSG_TOS = 1 << 2;
export const IP_CMSG_RECVOPTS = 1 << 3;
export const IP_CMSG_RETOPTS = 1 << 4;
export const IP_CMSG_PASSSEC = 1 << 5;
export const IP_CMSG_ORIGDSTADDR = 1 << 6;
export const IP_CMSG_CHECKSUM = 1 << 7;
export const IP_CMSG_RECVFRAGSIZE = 1 << 8;

/** ENOIOCTLCMD: a kernel-internal "no such ioctl here", never seen by user space. */
export const ENOIOCTLCMD = 515;

/** IPv4 header length without options, and the largest datagram. */
export const IPV4_HLEN = 20;
export const IP_MAX_MTU = 0xffff;
/** The DF and MF bits of frag_off. */
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
/** The SO_DONTROUTE sock flag (SOCK_LOCALROUTE in enum sock_flags). */
export const SOCK_LOCALROUTE = 21;
/** RT_SCOPE_LINK for flowi4_scope (SO_DONTROUTE / MSG_DONTROUTE). */
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;

/** struct inet_sock: the IPv4 part of a socket. Addresses are host-order numbers, ports too. */
export class InetSock extends Sock {
  inet_saddr = 0;
  inet_rcv_saddr = 0;
  inet_daddr = 0;
  /** The local port (inet_num); inet_sport is the same in host order once bound. */
  inet_num = 0;
  inet_sport = 0;
  inet_dport = 0;
  /** IP_TTL: -1 = the net.ipv4.ip_default_ttl sysctl. */
  uc_ttl = -1;
  tos = 0;
  cmsg_flags = 0;
  recverr = false;
  recverr_rfc4884 = false;
  hdrincl = false;
  nodefrag = false;
  freebind = false;
  transparent = false;
  bind_address_no_port = false;
  pmtudisc = IP_PMTUDISC_WANT;
  minttl = 0;
  mc_ttl = 1;
  mc_loop = true;
  mc_all = true;
  mc_index = 0;
  mc_addr = 0;
  uc_index = 0;
  /** SO_BINDTODEVICE (the socket layer does not support it yet: stays 0). */
  sk_bound_dev_if = 0;
  /** sk->sk_uid: the owner for SO_REUSEPORT groups and /proc/net/udp. */
  sk_uid = 0;
  /** The cached route of a connected socket (sk_dst_cache). */
  sk_dst_cache: Rtable | null = null;
  inet_id = 0;
  /** sk->sk_drops. */
  sk_drops = 0;
  /** The sockfs inode number, kept after the socket file is gone. */
  ino = 0;
}

export function inet_sk(sk: Sock): InetSock {
  return sk as InetSock;
}

/** The transport's operations as af_inet.c calls them (the datagram part of struct proto). */
export interface InetProto extends Proto {
  /** proto->bind, for transports that replace inet_bind's port logic (raw, ping). */
  bind?(sk: InetSock, addr: Uint8Array, addr_len: number): number;
  /** proto->get_port: 0, or non-zero when the port is taken. */
  get_port?(sk: InetSock, snum: number): number;
  unhash?(sk: InetSock): void;
  rehash?(sk: InetSock): void;
  connect(sk: InetSock, addr: Uint8Array, addr_len: number): number;
  disconnect(sk: InetSock, flags: number): number;
  sendmsg(sk: InetSock, msg: Msghdr, len: number): number;
  recvmsg(sk: InetSock, msg: Msghdr, len: number, flags: number): number;
  ioctl(sk: InetSock, cmd: number, arg: IoctlArg): number;
  setsockopt(sk: InetSock, level: number, optname: number, optval: Uint8Array, optlen: number): number;
  getsockopt(sk: InetSock, level: number, optname: number, optval: Uint8Array, optlen: IoctlArg): number;
  /** proto->no_autobind: raw sockets never take a port. */
  no_autobind?: boolean;
  /** Extra poll bits (udp_poll on top of datagram_poll). */
  poll?(file: File, sock: Socket, wait: PollTable | null): number;
}

function iprot(sk: Sock): InetProto {
  return sk.sk_prot as InetProto;
}

/** Whether the caller holds `cap` (kernel-internal sockets and softirq paths do). */
export function capable(cap: number): boolean {
  return in_task() ? current().cred.has_cap(cap) : true;
}

/** sock_init_data() extras of inet_create for our datagram socks: owner, inode. */
export function inet_sk_init(sk: InetSock): void {
  sk.sk_uid = in_task() ? current().cred.euid : 0;
  const sock = sk.sk_socket;
  if (sock && sock.alloc) sk.ino = SOCK_INODE(sock).i_ino;
}

// ——— addresses ————————————————————————————————————————————————————————————————

export function ipv4_is_multicast(a: number): boolean {
  return (a & 0xf0000000) >>> 0 === 0xe0000000;
}
export function ipv4_is_lbcast(a: number): boolean {
  return a >>> 0 === 0xffffffff;
}
export function ipv4_is_loopback(a: number): boolean {
  return a >>> 24 === 127;
}

/** inet_addr_valid_or_nonlocal(): may a socket bind to `addr`? */
function inet_addr_valid_or_nonlocal(net: Net, inet: InetSock, addr: number, addr_type: number): boolean {
  return (
    ipv4_sysctl(net).sysctl_ip_nonlocal_bind !== 0 ||
    inet.freebind ||
    inet.transparent ||
    addr === INADDR_ANY ||
    addr_type === RTN_LOCAL ||
    addr_type === RTN_MULTICAST ||
    addr_type === RTN_BROADCAST
  );
}

/** inet_port_requires_bind_service(). */
function inet_port_requires_bind_service(net: Net, port: number): boolean {
  return port < ipv4_sysctl(net).sysctl_ip_prot_sock;
}

/** The family of a user sockaddr (sa_family, little-endian u16). */
export function sa_family(addr: Uint8Array): number {
  return addr[0] | (addr[1] << 8);
}

/**
 * Validate an address given to bind on a transport with ports (inet_bind's checks before the
 * port): returns the address type or a negative errno.
 */
export function inet_bind_check(sk: InetSock, addr: Uint8Array, addr_len: number): number {
  if (addr_len < SIZEOF_SOCKADDR_IN) return -E.EINVAL;
  const a = sockaddr_in_addr(addr);
  if (sa_family(addr) !== S.AF_INET) {
    // AF_UNSPEC with INADDR_ANY is accepted, for compatibility with old programs.
    if (sa_family(addr) !== S.AF_UNSPEC || a !== INADDR_ANY) return -E.EAFNOSUPPORT;
  }
  const chk = inet_addr_type(sk.sk_net, a);
  if (!inet_addr_valid_or_nonlocal(sk.sk_net, sk, a, chk)) return -E.EADDRNOTAVAIL;
  return chk;
}

/** inet_bind() → __inet_bind(). */
export function inet_bind(sock: Socket, uaddr: Uint8Array, addr_len: number): number {
  const sk = inet_sk(sock.sk!);
  const prot = iprot(sk);
  // Raw and ping sockets bind with their own rules.
  if (prot.bind) return prot.bind(sk, uaddr, addr_len);
  const chk = inet_bind_check(sk, uaddr, addr_len);
  if (chk < 0) return chk;
  const a = sockaddr_in_addr(uaddr);
  const snum = sockaddr_in_port(uaddr);
  if (snum && inet_port_requires_bind_service(sk.sk_net, snum) && !capable(CAP_NET_BIND_SERVICE))
    return -E.EACCES;
  if (sk.sk_state !== TCP_CLOSE || sk.inet_num) return -E.EINVAL;
  sk.inet_rcv_saddr = sk.inet_saddr = a;
  // A broadcast or multicast bind receives for that address but sends from the device's own.
  if (chk === RTN_MULTICAST || chk === RTN_BROADCAST) sk.inet_saddr = 0;
  if (snum || !sk.bind_address_no_port) {
    if (prot.get_port && prot.get_port(sk, snum)) {
      sk.inet_saddr = sk.inet_rcv_saddr = 0;
      return -E.EADDRINUSE;
    }
  }
  if (sk.inet_rcv_saddr) sk.sk_userlocks |= SOCK_BINDADDR_LOCK;
  if (snum) sk.sk_userlocks |= SOCK_BINDPORT_LOCK;
  sk.inet_sport = sk.inet_num;
  sk.inet_daddr = 0;
  sk.inet_dport = 0;
  sk.sk_dst_cache = null;
  return 0;
}

/** inet_autobind(): take an ephemeral port before the first send or connect. */
export function inet_autobind(sk: InetSock): number {
  if (!sk.inet_num) {
    const prot = iprot(sk);
    if (!prot.get_port || prot.get_port(sk, 0)) return -E.EAGAIN;
    sk.inet_sport = sk.inet_num;
  }
  return 0;
}

/**
 * inet_getname(). `peer` is 1 (or true) for getpeername(2), which a socket not connected yet
 * (SYN_SENT) or no longer (CLOSE) answers with ENOTCONN; do_accept() asks with 2, so that a
 * connection reset while it waited in the accept queue still names its peer.
 */
export function inet_getname(sock: Socket, uaddr: Uint8Array, peer: boolean | number): number {
  const sk = inet_sk(sock.sk!);
  if (peer) {
    if (
      !sk.inet_dport ||
      ((sk.sk_state === TCP_CLOSE || sk.sk_state === TCP_SYN_SENT) && (peer === true || peer === 1))
    )
      return -E.ENOTCONN;
    put_sockaddr_in(uaddr, 0, S.AF_INET, sk.inet_daddr, sk.inet_dport);
  } else {
    const addr = sk.inet_rcv_saddr || sk.inet_saddr;
    put_sockaddr_in(uaddr, 0, S.AF_INET, addr, sk.inet_sport);
  }
  return SIZEOF_SOCKADDR_IN;
}

/** inet_dgram_connect(). */
export function inet_dgram_connect(
  sock: Socket,
  uaddr: Uint8Array,
  addr_len: number,
  _flags: number,
): number {
  const sk = inet_sk(sock.sk!);
  const prot = iprot(sk);
  if (addr_len < S.SIZEOF_SA_FAMILY) return -E.EINVAL;
  if (sa_family(uaddr) === S.AF_UNSPEC) return prot.disconnect(sk, 0);
  if (!sk.inet_num && !prot.no_autobind && inet_autobind(sk)) return -E.EAGAIN;
  return prot.connect(sk, uaddr, addr_len);
}

/** The flow a route lookup is for (struct flowi4), filled with the answer's addresses. */
export class Flowi4 {
  daddr = 0;
  saddr = 0;
  tos = 0;
  oif = 0;
  scope = RT_SCOPE_UNIVERSE;
  proto = 0;
  sport = 0;
  dport = 0;
  /** FLOWI_FLAG_ANYSRC: the source need not be local (IP_TRANSPARENT, IP_FREEBIND). */
  anysrc = false;

  /** flowi4_init_output(): every field, so one flow object serves call after call. */
  init(daddr: number, saddr: number, tos: number, oif: number, scope: number, proto: number): this {
    this.daddr = daddr;
    this.saddr = saddr;
    this.tos = tos;
    this.oif = oif;
    this.scope = scope;
    this.proto = proto;
    this.sport = 0;
    this.dport = 0;
    this.anysrc = false;
    return this;
  }
}

/**
 * ip_route_output_flow() for a socket: the unspecified destination means this host (as
 * ip_route_output_key_hash_rcu), then the FIB. Returns the route or a negative errno, and fills
 * fl4.saddr with the chosen source.
 */
export function inet_route_output(net: Net, fl4: Flowi4): Rtable | number {
  if (!fl4.daddr) {
    fl4.daddr = fl4.saddr || INADDR_LOOPBACK;
    if (!fl4.saddr) fl4.saddr = INADDR_LOOPBACK;
  }
  const rt = ip_route_output(net, fl4);
  if (typeof rt === 'number') return rt;
  if (!fl4.saddr) fl4.saddr = rt.rt_src;
  return rt;
}

/** rt_flags of a route as the datagram paths test them. */
export function rt_is_broadcast(rt: Rtable): boolean {
  return rt.rt_type === RTN_BROADCAST || (rt.rt_flags & RTCF_BROADCAST) !== 0;
}
export function rt_is_multicast(rt: Rtable): boolean {
  return rt.rt_type === RTN_MULTICAST || (rt.rt_flags & RTCF_MULTICAST) !== 0;
}

/** dst_mtu() of a route, now. */
export function dst_mtu(rt: Rtable): number {
  return rt_dst_mtu(rt, rt.dev.nd_net.kernel.clock.now());
}

/** __ip4_datagram_connect(). */
export function ip4_datagram_connect(sk: InetSock, uaddr: Uint8Array, addr_len: number): number {
  if (addr_len < SIZEOF_SOCKADDR_IN) return -E.EINVAL;
  if (sa_family(uaddr) !== S.AF_INET) return -E.EAFNOSUPPORT;
  sk.sk_dst_cache = null;
  const fl4 = new Flowi4();
  fl4.daddr = sockaddr_in_addr(uaddr);
  fl4.saddr = sk.inet_saddr;
  fl4.oif = sk.sk_bound_dev_if;
  fl4.tos = sk.tos;
  fl4.proto = sk.sk_protocol;
  const rt = inet_route_output(sk.sk_net, fl4);
  if (typeof rt === 'number') {
    if (rt === -E.ENETUNREACH) IP_INC_STATS(sk.sk_net, IPSTATS_MIB_OUTNOROUTES);
    return rt;
  }
  if (rt_is_broadcast(rt) && !sock_flag(sk, SOCK_BROADCAST)) return -E.EACCES;
  if (!sk.inet_saddr) sk.inet_saddr = fl4.saddr;
  if (!sk.inet_rcv_saddr) {
    sk.inet_rcv_saddr = fl4.saddr;
    iprot(sk).rehash?.(sk);
  }
  sk.inet_daddr = fl4.daddr;
  sk.inet_dport = sockaddr_in_port(uaddr);
  sk.sk_state = TCP_ESTABLISHED;
  sk.inet_id = sk.sk_net.kernel.prandom.get_random_u32() & 0xffff;
  sk.sk_dst_cache = rt;
  return 0;
}

/** inet_release(): the protocol closes the sock, then it leaves the socket. */
export function inet_release(sock: Socket): number {
  const sk = sock.sk;
  if (!sk) return 0;
  sk.sk_prot.close?.(sk, 0);
  sock_orphan(sk);
  sk_free(sk);
  sock.sk = null;
  return 0;
}

/** inet_shutdown(). */
export function inet_shutdown(sock: Socket, how: number): number {
  const sk = sock.sk!;
  how++;
  if (how & ~S.SHUTDOWN_MASK || !how) return -E.EINVAL;
  let err = 0;
  if (sock.state === S.SS_CONNECTING)
    sock.state = sk.sk_state === TCP_ESTABLISHED ? S.SS_CONNECTED : S.SS_DISCONNECTING;
  // An unconnected datagram socket answers ENOTCONN but still records the shutdown, so that
  // pollers see it (the "hack to wake up other listeners" of inet_shutdown).
  if (sk.sk_state === TCP_CLOSE) err = -E.ENOTCONN;
  sk.sk_shutdown |= how;
  sk.sk_state_change(sk);
  return err;
}

/** inet_ioctl(): the transport's SIOCINQ/SIOCOUTQ; everything else is not for sockets here. */
export function inet_ioctl(sock: Socket, cmd: number, arg: IoctlArg): number {
  const sk = inet_sk(sock.sk!);
  const r = iprot(sk).ioctl(sk, cmd, arg);
  // sock_do_ioctl(): what the transport does not know goes to dev_ioctl (socket-range commands,
  // none of which is a device command here) or is not a socket ioctl at all: ENOTTY either way.
  return r === -ENOIOCTLCMD ? -E.ENOTTY : r;
}

/** datagram_poll(). */
export function datagram_poll(file: File, sock: Socket, wait: PollTable | null): number {
  const sk = sock.sk!;
  poll_wait(file, sock.wq.wait, wait);
  let mask = 0;
  if (sk.sk_err || !sk.sk_error_queue.empty()) mask |= P.POLLERR;
  const shutdown = sk.sk_shutdown;
  if (shutdown & S.RCV_SHUTDOWN) mask |= P.POLLRDHUP | P.POLLIN | P.POLLRDNORM;
  if (shutdown === S.SHUTDOWN_MASK) mask |= P.POLLHUP;
  if (!sk.sk_receive_queue.empty()) mask |= P.POLLIN | P.POLLRDNORM;
  if (sock_writeable(sk)) mask |= P.POLLOUT | P.POLLWRNORM | P.POLLWRBAND;
  else sock.flags |= 1 << S.SOCK_NOSPACE;
  return mask;
}

function inet_poll(file: File, sock: Socket, wait: PollTable | null): number {
  const prot = iprot(sock.sk!);
  return prot.poll ? prot.poll(file, sock, wait) : datagram_poll(file, sock, wait);
}

/** inet_sendmsg(): take a port first (inet_send_prepare), then the transport. */
export function inet_sendmsg(sock: Socket, msg: Msghdr, size: number): number {
  const sk = inet_sk(sock.sk!);
  const prot = iprot(sk);
  if (!sk.inet_num && !prot.no_autobind && inet_autobind(sk)) return -E.EAGAIN;
  return prot.sendmsg(sk, msg, size);
}

/** inet_recvmsg(). */
export function inet_recvmsg(sock: Socket, msg: Msghdr, size: number, flags: number): number {
  const sk = inet_sk(sock.sk!);
  return iprot(sk).recvmsg(sk, msg, size, flags);
}

function inet_setsockopt(
  sock: Socket,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: number,
): number {
  const sk = inet_sk(sock.sk!);
  return iprot(sk).setsockopt(sk, level, optname, optval, optlen);
}

function inet_getsockopt(
  sock: Socket,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: IoctlArg,
): number {
  const sk = inet_sk(sock.sk!);
  return iprot(sk).getsockopt(sk, level, optname, optval, optlen);
}

/** sk_set_peek_off(). */
function inet_set_peek_off(sk: Sock, val: number): number {
  sk.sk_peek_off = val;
  return 0;
}

/** inet_dgram_ops: UDP and ping sockets. */
export const inet_dgram_ops: ProtoOps = {
  family: S.PF_INET,
  owner: 'inet',
  release: inet_release,
  bind: inet_bind,
  connect: inet_dgram_connect,
  socketpair: sock_no_socketpair,
  accept: sock_no_accept,
  getname: inet_getname,
  poll: inet_poll,
  ioctl: inet_ioctl,
  compat_ioctl: inet_ioctl,
  listen: sock_no_listen,
  shutdown: inet_shutdown,
  setsockopt: inet_setsockopt,
  getsockopt: inet_getsockopt,
  compat_setsockopt: inet_setsockopt,
  compat_getsockopt: inet_getsockopt,
  sendmsg: inet_sendmsg,
  recvmsg: inet_recvmsg,
  mmap: sock_no_mmap,
  sendpage: sock_no_sendpage,
  splice_read: sock_no_splice_read,
  set_peek_off: inet_set_peek_off,
};

/** inet_sockraw_ops: raw sockets (no peek offset, plain datagram_poll). */
export const inet_sockraw_ops: ProtoOps = {
  ...inet_dgram_ops,
  poll: datagram_poll,
  set_peek_off: undefined,
};

// ——— the receive side ——————————————————————————————————————————————————————————

/** skb_orphan(): the sender's charge ends when the packet reaches its receiver. */
export function skb_orphan(skb: SkBuff): void {
  if (skb.destructor) {
    const d = skb.destructor;
    skb.destructor = null;
    d(skb);
  }
  skb.sk = null;
}

function dgram_rfree(skb: SkBuff): void {
  skb.sk!.sk_rmem_alloc -= skb.truesize;
}

/**
 * __udp_enqueue_schedule_skb(): charge `skb` to the receive buffer, queue it and wake readers.
 * Returns 0 or -ENOMEM (the caller counts the drop).
 */
export function sock_queue_rcv_skb(sk: InetSock, skb: SkBuff): number {
  const rcvbuf = sk.sk_rcvbuf;
  const size = skb.truesize;
  const rmem = sk.sk_rmem_alloc;
  // Over the limit only into an empty queue: one datagram always fits, however small the buffer.
  if (rmem + size > rcvbuf && (rcvbuf > 0x7fffffff >> 1 || rmem)) {
    sk.sk_drops++;
    return -E.ENOMEM;
  }
  if (sock_flag(sk, SOCK_DEAD)) {
    sk.sk_drops++;
    return -E.ENOMEM;
  }
  skb_orphan(skb);
  skb.sk = sk;
  skb.destructor = dgram_rfree;
  sk.sk_rmem_alloc = rmem + size;
  sk.sk_receive_queue.tail(skb);
  sk.sk_data_ready(sk);
  return 0;
}

/**
 * __skb_recv_datagram() without the sleep: a pending error first, then the first skb at or past
 * the peek offset `off.v` (which is turned into the offset within it). Sleeps (via
 * prepare_to_wait + -EAGAIN) when blocking and nothing is queued; 0 at receive shutdown.
 */
export function skb_recv_datagram(
  sk: Sock,
  queue: SkBuffHead,
  flags: number,
  off: { v: number },
  err: { v: number },
): SkBuff | null {
  const e = sock_error(sk);
  if (e) {
    err.v = e;
    return null;
  }
  let skb = queue.peek();
  if (flags & S.MSG_PEEK) {
    while (skb && off.v >= skb.len && (skb.len || off.v)) {
      off.v -= skb.len;
      skb = skb.next;
    }
  } else off.v = 0;
  if (skb) {
    if (!(flags & S.MSG_PEEK)) queue.unlink(skb);
    return skb;
  }
  const timeo = sock_rcvtimeo(sk, (flags & S.MSG_DONTWAIT) !== 0);
  if (!timeo) {
    err.v = -E.EAGAIN;
    return null;
  }
  if (sk.sk_shutdown & S.RCV_SHUTDOWN) {
    err.v = 0;
    return null;
  }
  prepare_to_wait(sk_wq(sk)!, timeo, true);
  err.v = -E.EAGAIN;
  return null;
}

/** The peek offset a read starts from (sk_peek_offset). */
export function sk_peek_offset(sk: Sock, flags: number): number {
  return flags & S.MSG_PEEK && sk.sk_peek_off >= 0 ? sk.sk_peek_off : 0;
}

/** sk_peek_offset_fwd / sk_peek_offset_bwd after a read. */
export function sk_peek_offset_update(sk: Sock, flags: number, n: number): void {
  if (sk.sk_peek_off < 0) return;
  if (flags & S.MSG_PEEK) sk.sk_peek_off += n;
  else sk.sk_peek_off = Math.max(0, sk.sk_peek_off - n);
}

/**
 * sock_alloc_send_skb(): a pending error, a shut-down sender and a full send buffer come first;
 * then the skb `alloc` makes is charged to the sender (sock_wfree uncharges it).
 */
export function sock_alloc_send_skb(
  sk: Sock,
  alloc: () => SkBuff,
  noblock: boolean,
  err: { v: number },
): SkBuff | null {
  const e = sock_alloc_send_check(sk, noblock);
  if (e) {
    err.v = e;
    return null;
  }
  const skb = alloc();
  skb_set_owner_w(skb, sk);
  return skb;
}

/**
 * sock_alloc_send_skb() for a datagram of `tlen` transport bytes on route `rt` (the common case,
 * without the allocation callback): an skb charged to the sender, or null with `err.v` set.
 */
export function sock_alloc_send_dgram(
  sk: Sock,
  rt: Rtable,
  tlen: number,
  noblock: boolean,
  err: { v: number },
): SkBuff | null {
  const e = sock_alloc_send_check(sk, noblock);
  if (e) {
    err.v = e;
    return null;
  }
  const skb = ip_alloc_dgram_skb(rt, tlen);
  skb_set_owner_w(skb, sk);
  return skb;
}

/** Copy the source of a datagram to msg_name (struct sockaddr_in). */
export function put_msg_name_in(msg: Msghdr, addr: number, port: number): void {
  if (!msg.msg_name) return;
  const tmp = msg.msg_name.length >= SIZEOF_SOCKADDR_IN ? msg.msg_name : new Uint8Array(SIZEOF_SOCKADDR_IN);
  put_sockaddr_in(tmp, 0, S.AF_INET, addr, port);
  if (tmp !== msg.msg_name) msg.msg_name.set(tmp.subarray(0, msg.msg_name.length));
  msg.msg_namelen = SIZEOF_SOCKADDR_IN;
}

// ——— the IPv4 header of a locally generated datagram —————————————————————————

/** The IPv4 header fields of a received skb, read from its network header. */
export function ip_hdr_saddr(skb: SkBuff): number {
  const h = skb.head;
  const o = skb.network_header;
  return ((h[o + 12] << 24) | (h[o + 13] << 16) | (h[o + 14] << 8) | h[o + 15]) >>> 0;
}
export function ip_hdr_daddr(skb: SkBuff): number {
  const h = skb.head;
  const o = skb.network_header;
  return ((h[o + 16] << 24) | (h[o + 17] << 16) | (h[o + 18] << 8) | h[o + 19]) >>> 0;
}
export function ip_hdr_ttl(skb: SkBuff): number {
  return skb.head[skb.network_header + 8];
}
export function ip_hdr_tos(skb: SkBuff): number {
  return skb.head[skb.network_header + 1];
}
export function ip_hdr_ihl(skb: SkBuff): number {
  return (skb.head[skb.network_header] & 0x0f) * 4;
}
export function ip_hdr_protocol(skb: SkBuff): number {
  return skb.head[skb.network_header + 9];
}

/** The TTL a socket sends with (ip_select_ttl). */
export function ip_select_ttl(sk: InetSock, rt: Rtable | null, daddr: number): number {
  if (ipv4_is_multicast(daddr)) return sk.mc_ttl;
  if (sk.uc_ttl >= 0) return sk.uc_ttl;
  void rt;
  return ipv4_sysctl(sk.sk_net).sysctl_ip_default_ttl;
}

/** ip_sk_ignore_df(): may the datagram exceed the path MTU (and be fragmented locally)? */
export function ip_sk_ignore_df(sk: InetSock): boolean {
  return sk.pmtudisc < IP_PMTUDISC_DO || sk.pmtudisc === IP_PMTUDISC_OMIT;
}

/** LL_RESERVED_SPACE(dev) + 15: the headroom ip_append_data leaves for the link layer. */
export function ll_headroom(rt: Rtable): number {
  const d = rt.dev;
  return ((d.hard_header_len + d.needed_headroom) & ~15) + 16 + 15;
}

/**
 * An skb for a datagram of `tlen` transport bytes (header + payload) with room for the link and
 * IPv4 headers in front, charged as ip_append_data charges it: a linear head below
 * SKB_MAX_ALLOC, the payload in page fragments beyond.
 */
export function ip_alloc_dgram_skb(rt: Rtable, tlen: number): SkBuff {
  const hr = ll_headroom(rt);
  const fraglen = tlen + IPV4_HLEN;
  const skb = alloc_skb_with_frags(hr + fraglen, 0);
  // Linear below SKB_MAX_ALLOC; beyond, a head for the headers and page fragments charged byte
  // for byte (sk_page_frag), as __ip_append_data does on a scatter-gather device.
  if (fraglen + hr < SKB_MAX_ALLOC) skb.truesize = skb_head_truesize(fraglen + hr);
  else skb.truesize = skb_head_truesize(hr + IPV4_HLEN + 8) + (tlen - 8);
  skb.reserve(hr + IPV4_HLEN);
  return skb;
}

/** SKB_MAX_ALLOC: the largest linear head ip_append_data allocates (4 pages minus shinfo). */
const SKB_MAX_ALLOC = (4096 << 2) - 320;
/** SKB_SMALL_HEAD_CACHE_SIZE: small heads come from their own cache, not kmalloc-512/1024. */
const SKB_SMALL_HEAD_CACHE_SIZE = 576;

/**
 * The truesize __alloc_skb() gives a head of `size` bytes: SKB_HEAD_ALIGN(size) from the small
 * head cache when it fits, else the kmalloc bucket (powers of two), plus sizeof(struct sk_buff).
 */
export function skb_head_truesize(size: number): number {
  const need = ((size + 63) & ~63) + 320;
  let osize: number;
  if (need <= SKB_SMALL_HEAD_CACHE_SIZE) osize = SKB_SMALL_HEAD_CACHE_SIZE;
  else {
    osize = 1024;
    while (osize < need) osize *= 2;
  }
  return osize + 256;
}

/**
 * Push the IPv4 header (no options) in front of the transport data and send it:
 * ip_make_skb's __ip_make_skb + ip_send_skb. The id follows ip_select_ident: 0 for unfragmented
 * DF datagrams of unconnected sockets, the socket's counter when connected, else the per-net one.
 */
export function ip_push_and_send(
  sk: InetSock,
  skb: SkBuff,
  rt: Rtable,
  fl4: Flowi4,
  protocol: number,
  ttl: number,
  tos: number,
): number {
  const len = skb.len + IPV4_HLEN;
  // __ip_make_skb(): DF always for DO/PROBE, for WANT while the datagram fits the path.
  const p = sk.pmtudisc;
  const df =
    p === IP_PMTUDISC_DO || p === IP_PMTUDISC_PROBE || (p === IP_PMTUDISC_WANT && len <= dst_mtu(rt));
  ip_build_header(sk.sk_net, skb, fl4.saddr, fl4.daddr, protocol, ttl, tos, df, null, sk);
  skb.priority = sk.sk_priority;
  skb.mark = sk.sk_mark;
  skb.dst = rt;
  return ip_send_skb(sk.sk_net, sk, skb);
}

/** ip_send_skb(): a positive qdisc verdict becomes an errno; any error counts OutDiscards. */
export function ip_send_skb(net: Net, sk: InetSock | null, skb: SkBuff): number {
  // A device without a queue transmits at once, and the drivers that have none — loopback_xmit,
  // veth's dev_forward_skb — orphan the skb as they take it: the sender's buffer is free when
  // the call ends. With a queue discipline the charge lasts until the qdisc lets go of it.
  const rt = skb.dst as Rtable | null;
  if (rt && (rt.dev.flags & IFF_LOOPBACK || !rt.dev.qdisc)) skb_orphan(skb);
  let err = ip_local_out(net, sk, skb);
  // net_xmit_errno(): a qdisc's drop is ENOBUFS to a datagram sender.
  if (err > 0) err = -E.ENOBUFS;
  if (err) IP_INC_STATS(net, IPSTATS_MIB_OUTDISCARDS);
  return err;
}

export function put_be32(h: Uint8Array, o: number, v: number): void {
  h[o] = (v >>> 24) & 0xff;
  h[o + 1] = (v >>> 16) & 0xff;
  h[o + 2] = (v >>> 8) & 0xff;
  h[o + 3] = v & 0xff;
}

/** The sock of an skb's owner is alive and is a datagram inet sock. */
export function sk_fullsock(sk: Sock | null): sk is InetSock {
  return sk !== null && sk instanceof InetSock;
}

export { TCP_CLOSE, TCP_ESTABLISHED, sock_error };
