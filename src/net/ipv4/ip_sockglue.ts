// The SOL_IP socket options and IPv4 control messages (net/ipv4/ip_sockglue.c): IP_TTL, IP_TOS,
// IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, IP_RECVERR and the error queue, IP_HDRINCL,
// IP_MTU_DISCOVER, IP_MTU, IP_FREEBIND…; ip_cmsg_send for sendmsg's ancillary data and
// ip_cmsg_recv for recvmsg's; ip_icmp_error / ip_local_error / ip_recv_error.

import { put_optval_int } from '../core/sock_opt.js';
import type { IoctlArg } from '../../kernel/fs.js';
import { SkBuff, kfree_skb } from '../core/skbuff.js';
import { SOCK_DEAD, sock_flag, type Sock } from '../core/sock.js';
import { put_cmsg, type Msghdr } from '../socket.js';
import * as E from '../../uapi/errno.js';
import * as S from '../../uapi/socket.js';
import * as I from '../../uapi/in.js';
import { CAP_NET_ADMIN, CAP_NET_RAW } from '../../uapi/capability.js';
import { CMSG_ALIGN, CMSG_HDR_LEN, CMSG_LEN } from '../../uapi/cmsg.js';
import { INET_ECN_MASK } from './inet_ecn.js';
import {
  IP_CMSG_CHECKSUM,
  IP_CMSG_ORIGDSTADDR,
  IP_CMSG_PASSSEC,
  IP_CMSG_PKTINFO,
  IP_CMSG_RECVFRAGSIZE,
  IP_CMSG_RECVOPTS,
  IP_CMSG_RETOPTS,
  IP_CMSG_TOS,
  IP_CMSG_TTL,
  InetSock,
  capable,
  dst_mtu,
  ip_hdr_daddr,
  ip_hdr_saddr,
  ip_hdr_tos,
  ip_hdr_ttl,
  put_msg_name_in,
  ipv4_sysctl,
} from './inet_dgram.js';

const le32 = (b: Uint8Array, o: number): number =>
  b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24) | 0;

/** ip_tos2prio[] (net/ipv4/route.c): the sk_priority an IP_TOS value implies. */
const ip_tos2prio = [0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4];
export function rt_tos2priority(tos: number): number {
  return ip_tos2prio[(tos & 0x1e) >> 1];
}

/** The per-skb information of a received datagram (struct in_pktinfo in skb->cb, IPCB). */
export class InetSkbParm {
  /** ipi_ifindex and ipi_spec_dst as ipv4_pktinfo_prepare() recorded them (0 when not asked). */
  ifindex = 0;
  spec_dst = 0;
}

/** struct sock_exterr_skb: an entry of the error queue. */
export class SockExterrSkb {
  ee_errno = 0;
  ee_origin = 0;
  ee_type = 0;
  ee_code = 0;
  ee_info = 0;
  ee_data = 0;
  /** The destination the failed datagram was sent to (what addr_offset points at). */
  addr = 0;
  port = 0;
  /** The sender of the ICMP message (the offender), and its outer header's TTL and TOS. */
  offender = 0;
  ttl = 0;
  tos = 0;
}

export function SKB_EXT_ERR(skb: SkBuff): SockExterrSkb {
  return skb.cb as SockExterrSkb;
}

// ——— sendmsg control messages ——————————————————————————————————————————————————

/** struct ipcm_cookie: what a sendmsg's control data and the socket decide together. */
export class IpcmCookie {
  addr = 0;
  oif = 0;
  ttl = 0;
  tos = -1;
  priority = -1;
  mark = 0;
  gso_size = 0;
}

/** ipcm_init_sk(). */
export function ipcm_init_sk(ipc: IpcmCookie, sk: InetSock): void {
  ipc.addr = sk.inet_saddr;
  ipc.oif = sk.sk_bound_dev_if;
  ipc.ttl = 0;
  ipc.tos = -1;
  ipc.priority = -1;
  ipc.mark = sk.sk_mark;
}

/**
 * Walk a sendmsg control buffer (for_each_cmsghdr with CMSG_OK): `fn` gets each message and
 * returns 0 or an errno. A header that does not fit is EINVAL.
 */
export function for_each_cmsghdr(
  msg: Msghdr,
  fn: (level: number, type: number, data: Uint8Array, cmsg_len: number) => number,
): number {
  const ctl = msg.msg_control;
  const size = msg.msg_controllen;
  if (!ctl || size < CMSG_HDR_LEN) return 0;
  let off = 0;
  while (off + CMSG_HDR_LEN <= size) {
    const dv = new DataView(ctl.buffer, ctl.byteOffset + off, CMSG_HDR_LEN);
    const len = Number(dv.getBigUint64(0, true));
    if (len < CMSG_HDR_LEN || len > size - off) return -E.EINVAL;
    const err = fn(
      dv.getInt32(8, true),
      dv.getInt32(12, true),
      ctl.subarray(off + CMSG_HDR_LEN, off + len),
      len,
    );
    if (err) return err;
    off += CMSG_ALIGN(len);
  }
  return 0;
}

/** __sock_cmsg_send(): the SOL_SOCKET messages a datagram send understands. */
function sock_cmsg_send(ipc: IpcmCookie, type: number, data: Uint8Array, cmsg_len: number): number {
  switch (type) {
    case S.SO_MARK:
      if (!capable(CAP_NET_ADMIN)) return -E.EPERM;
      if (cmsg_len !== CMSG_LEN(4)) return -E.EINVAL;
      ipc.mark = le32(data, 0) >>> 0;
      return 0;
    case S.SO_PRIORITY:
      if (cmsg_len !== CMSG_LEN(4)) return -E.EINVAL;
      ipc.priority = le32(data, 0);
      return 0;
    case S.SCM_RIGHTS:
    case S.SCM_CREDENTIALS:
      return 0;
    default:
      return -E.EINVAL;
  }
}

/** ip_cmsg_send(): SOL_IP messages (IP_PKTINFO, IP_TTL, IP_TOS) and SOL_SOCKET ones. */
export function ip_cmsg_send(msg: Msghdr, ipc: IpcmCookie): number {
  return for_each_cmsghdr(msg, (level, type, data, len) => {
    if (level === S.SOL_SOCKET) return sock_cmsg_send(ipc, type, data, len);
    if (level !== S.SOL_IP) return 0;
    switch (type) {
      case I.IP_PKTINFO: {
        if (len !== CMSG_LEN(I.SIZEOF_IN_PKTINFO)) return -E.EINVAL;
        const ifindex = le32(data, 0);
        if (ifindex) ipc.oif = ifindex;
        ipc.addr = ((data[4] << 24) | (data[5] << 16) | (data[6] << 8) | data[7]) >>> 0;
        return 0;
      }
      case I.IP_TTL: {
        if (len !== CMSG_LEN(4)) return -E.EINVAL;
        const v = le32(data, 0);
        if (v < 1 || v > 255) return -E.EINVAL;
        ipc.ttl = v;
        return 0;
      }
      case I.IP_TOS: {
        let v: number;
        if (len === CMSG_LEN(4)) v = le32(data, 0);
        else if (len === CMSG_LEN(1)) v = data[0];
        else return -E.EINVAL;
        if (v < 0 || v > 255) return -E.EINVAL;
        ipc.tos = v;
        ipc.priority = rt_tos2priority(v);
        return 0;
      }
      case I.IP_RETOPTS:
        // IP options are not sent by this stack; an empty option block is accepted.
        return len === CMSG_LEN(0) ? 0 : -E.EINVAL;
      default:
        return -E.EINVAL;
    }
  });
}

// ——— recvmsg control messages ——————————————————————————————————————————————————

function be32bytes(v: number, b: Uint8Array, o: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function int_bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** ip_cmsg_recv_offset(): the control messages the socket asked for, in Linux's order. */
export function ip_cmsg_recv(msg: Msghdr, sk: InetSock, skb: SkBuff): void {
  let flags = sk.cmsg_flags;
  if (!flags) return;
  if (flags & IP_CMSG_PKTINFO) {
    const cb = skb.cb instanceof InetSkbParm ? skb.cb : null;
    const info = new Uint8Array(I.SIZEOF_IN_PKTINFO);
    new DataView(info.buffer).setInt32(0, cb ? cb.ifindex : 0, true);
    be32bytes(cb ? cb.spec_dst : 0, info, 4);
    be32bytes(ip_hdr_daddr(skb), info, 8);
    put_cmsg(msg, S.SOL_IP, I.IP_PKTINFO, info);
    flags &= ~IP_CMSG_PKTINFO;
  }
  if (flags & IP_CMSG_TTL) put_cmsg(msg, S.SOL_IP, I.IP_TTL, int_bytes(ip_hdr_ttl(skb)));
  if (flags & IP_CMSG_TOS) put_cmsg(msg, S.SOL_IP, I.IP_TOS, Uint8Array.of(ip_hdr_tos(skb)));
  // IP_RECVOPTS / IP_RETOPTS: datagrams here carry no options, so the message is empty and
  // Linux sends none (put_cmsg only when optlen != 0).
  if (flags & IP_CMSG_ORIGDSTADDR) {
    const b = new Uint8Array(I.SIZEOF_SOCKADDR_IN);
    const th = skb.transport_header >= 0 ? skb.transport_header : skb.data;
    const dport = (skb.head[th + 2] << 8) | skb.head[th + 3];
    I.put_sockaddr_in(b, 0, S.AF_INET, ip_hdr_daddr(skb), sk.sk_protocol === I.IPPROTO_UDP ? dport : 0);
    put_cmsg(msg, S.SOL_IP, I.IP_ORIGDSTADDR, b);
  }
  void IP_CMSG_RECVOPTS;
  void IP_CMSG_RETOPTS;
  void IP_CMSG_PASSSEC;
  void IP_CMSG_CHECKSUM;
  if (flags & IP_CMSG_RECVFRAGSIZE) {
    // Only reassembled datagrams report their largest fragment (IPCB(skb)->frag_max_size).
  }
}

/** ipv4_pktinfo_prepare(): remember where a datagram came in, for IP_PKTINFO. */
export function ipv4_pktinfo_prepare(sk: InetSock, skb: SkBuff, spec_dst: number): void {
  // Recorded only while the socket asks: a datagram queued before IP_PKTINFO reports 0s.
  if (!(sk.cmsg_flags & IP_CMSG_PKTINFO)) {
    skb.cb = null;
    return;
  }
  const cb = new InetSkbParm();
  cb.ifindex = skb.skb_iif || (skb.dev ? skb.dev.ifindex : 0);
  cb.spec_dst = spec_dst;
  skb.cb = cb;
}

// ——— the error queue ———————————————————————————————————————————————————————————

/** sock_rmem_free(). */
function sock_rmem_free(skb: SkBuff): void {
  skb.sk!.sk_rmem_alloc -= skb.truesize;
}

/** sock_queue_err_skb(). */
export function sock_queue_err_skb(sk: Sock, skb: SkBuff): number {
  if (sk.sk_rmem_alloc + skb.truesize >= sk.sk_rcvbuf) return -E.ENOMEM;
  skb.sk = sk;
  skb.destructor = sock_rmem_free;
  sk.sk_rmem_alloc += skb.truesize;
  sk.sk_error_queue.tail(skb);
  if (!sock_flag(sk, SOCK_DEAD)) sk.sk_error_report(sk);
  return 0;
}

/**
 * ip_icmp_error(): queue an ICMP error about a datagram this socket sent. `icmp_skb` is the
 * received ICMP message (network header = its outer IPv4 header); `payload` the quoted bytes
 * after the transport header of the original datagram.
 */
export function ip_icmp_error(
  sk: InetSock,
  icmp_skb: SkBuff,
  err: number,
  icmp_type: number,
  icmp_code: number,
  orig_daddr: number,
  port: number,
  info: number,
  payload: Uint8Array,
): void {
  const skb = new SkBuff(payload.slice(), 0, payload.length);
  skb.truesize = icmp_skb.truesize;
  const serr = new SockExterrSkb();
  serr.ee_errno = err;
  serr.ee_origin = I.SO_EE_ORIGIN_ICMP;
  serr.ee_type = icmp_type;
  serr.ee_code = icmp_code;
  serr.ee_info = info;
  serr.addr = orig_daddr;
  serr.port = port;
  serr.offender = ip_hdr_saddr(icmp_skb);
  serr.ttl = ip_hdr_ttl(icmp_skb);
  serr.tos = ip_hdr_tos(icmp_skb);
  skb.cb = serr;
  if (sock_queue_err_skb(sk, skb)) kfree_skb(skb);
}

/** ip_local_error(): a send failed locally (EMSGSIZE under IP_PMTUDISC_DO…); only with IP_RECVERR. */
export function ip_local_error(sk: InetSock, err: number, daddr: number, port: number, info: number): void {
  if (!sk.recverr) return;
  const skb = new SkBuff(new Uint8Array(0), 0, 0);
  const serr = new SockExterrSkb();
  serr.ee_errno = err;
  serr.ee_origin = I.SO_EE_ORIGIN_LOCAL;
  serr.ee_info = info;
  serr.addr = daddr;
  serr.port = port;
  skb.cb = serr;
  if (sock_queue_err_skb(sk, skb)) kfree_skb(skb);
}

/**
 * sock_dequeue_err_skb(): the next entry. A following ICMP entry re-arms sk_err with its errno;
 * taking the last ICMP entry clears sk_err.
 */
function sock_dequeue_err_skb(sk: Sock): SkBuff | null {
  const q = sk.sk_error_queue;
  const skb = q.dequeue();
  if (!skb) return null;
  const next = q.peek();
  const icmp_next = next !== null && SKB_EXT_ERR(next).ee_origin === I.SO_EE_ORIGIN_ICMP;
  if (icmp_next) sk.sk_err = SKB_EXT_ERR(next).ee_errno;
  else if (SKB_EXT_ERR(skb).ee_origin === I.SO_EE_ORIGIN_ICMP) sk.sk_err = 0;
  if (icmp_next) sk.sk_error_report(sk);
  return skb;
}

/** ip_recv_error(): recvmsg(MSG_ERRQUEUE). */
export function ip_recv_error(sk: InetSock, msg: Msghdr, len: number): number {
  const skb = sock_dequeue_err_skb(sk);
  if (!skb) return -E.EAGAIN;
  let copied = skb.len;
  if (copied > len) {
    msg.msg_flags |= S.MSG_TRUNC;
    copied = len;
  }
  msg.msg_iter.copy_to_iter(skb.head, skb.data, copied);
  const serr = SKB_EXT_ERR(skb);
  put_msg_name_in(msg, serr.addr, serr.port);
  const errhdr = new Uint8Array(I.SIZEOF_SOCK_EXTENDED_ERR + I.SIZEOF_SOCKADDR_IN);
  const dv = new DataView(errhdr.buffer);
  dv.setUint32(0, serr.ee_errno, true);
  errhdr[4] = serr.ee_origin;
  errhdr[5] = serr.ee_type;
  errhdr[6] = serr.ee_code;
  dv.setUint32(8, serr.ee_info >>> 0, true);
  dv.setUint32(12, serr.ee_data >>> 0, true);
  if (serr.ee_origin === I.SO_EE_ORIGIN_ICMP) {
    I.put_sockaddr_in(errhdr, 16, S.AF_INET, serr.offender, 0);
    // ip_cmsg_recv() on the ICMP message itself: its TTL and TOS.
    if (sk.cmsg_flags & IP_CMSG_TTL) put_cmsg(msg, S.SOL_IP, I.IP_TTL, int_bytes(serr.ttl));
    if (sk.cmsg_flags & IP_CMSG_TOS) put_cmsg(msg, S.SOL_IP, I.IP_TOS, Uint8Array.of(serr.tos));
  }
  put_cmsg(msg, S.SOL_IP, I.IP_RECVERR, errhdr);
  msg.msg_flags |= S.MSG_ERRQUEUE;
  kfree_skb(skb);
  return copied;
}

// ——— setsockopt / getsockopt ————————————————————————————————————————————————————

/** The options whose value is read as an int (or a single byte) before the switch. */
const INT_OPTS = new Set([
  I.IP_PKTINFO,
  I.IP_RECVTTL,
  I.IP_RECVOPTS,
  I.IP_RECVTOS,
  I.IP_RETOPTS,
  I.IP_TOS,
  I.IP_TTL,
  I.IP_HDRINCL,
  I.IP_MTU_DISCOVER,
  I.IP_RECVERR,
  I.IP_ROUTER_ALERT,
  I.IP_FREEBIND,
  I.IP_PASSSEC,
  I.IP_TRANSPARENT,
  I.IP_MINTTL,
  I.IP_NODEFRAG,
  I.IP_BIND_ADDRESS_NO_PORT,
  I.IP_UNICAST_IF,
  I.IP_MULTICAST_TTL,
  I.IP_MULTICAST_ALL,
  I.IP_MULTICAST_LOOP,
  I.IP_RECVORIGDSTADDR,
  I.IP_CHECKSUM,
  I.IP_RECVFRAGSIZE,
  I.IP_RECVERR_RFC4884,
]);

function flag(sk: InetSock, bit: number, on: boolean): void {
  if (on) sk.cmsg_flags |= bit;
  else sk.cmsg_flags &= ~bit;
}

/** do_ip_setsockopt(). */
export function ip_setsockopt(
  sk: InetSock,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: number,
): number {
  if (level !== S.SOL_IP) return -E.ENOPROTOOPT;
  let val = 0;
  if (INT_OPTS.has(optname)) {
    if (optlen >= 4) val = le32(optval, 0);
    else if (optlen >= 1) val = optval[0];
  }
  const on = val !== 0;
  switch (optname) {
    case I.IP_PKTINFO:
      flag(sk, IP_CMSG_PKTINFO, on);
      return 0;
    case I.IP_RECVTTL:
      flag(sk, IP_CMSG_TTL, on);
      return 0;
    case I.IP_RECVTOS:
      flag(sk, IP_CMSG_TOS, on);
      return 0;
    case I.IP_RECVOPTS:
      flag(sk, IP_CMSG_RECVOPTS, on);
      return 0;
    case I.IP_RETOPTS:
      flag(sk, IP_CMSG_RETOPTS, on);
      return 0;
    case I.IP_PASSSEC:
      flag(sk, IP_CMSG_PASSSEC, on);
      return 0;
    case I.IP_RECVORIGDSTADDR:
      flag(sk, IP_CMSG_ORIGDSTADDR, on);
      return 0;
    case I.IP_RECVFRAGSIZE:
      if (sk.sk_type !== S.SOCK_RAW && sk.sk_type !== S.SOCK_DGRAM) return -E.EINVAL;
      flag(sk, IP_CMSG_RECVFRAGSIZE, on);
      return 0;
    case I.IP_CHECKSUM:
      flag(sk, IP_CMSG_CHECKSUM, on);
      return 0;
    case I.IP_RECVERR:
      sk.recverr = on;
      if (!on) sk.sk_error_queue.purge();
      return 0;
    case I.IP_RECVERR_RFC4884:
      if (val < 0 || val > 1) return -E.EINVAL;
      sk.recverr_rfc4884 = on;
      return 0;
    case I.IP_FREEBIND:
      if (optlen < 1) return -E.EINVAL;
      sk.freebind = on;
      return 0;
    case I.IP_HDRINCL:
      if (sk.sk_type !== S.SOCK_RAW) return -E.ENOPROTOOPT;
      sk.hdrincl = on;
      return 0;
    case I.IP_NODEFRAG:
      if (sk.sk_type !== S.SOCK_RAW) return -E.ENOPROTOOPT;
      sk.nodefrag = on;
      return 0;
    case I.IP_BIND_ADDRESS_NO_PORT:
      sk.bind_address_no_port = on;
      return 0;
    case I.IP_MULTICAST_LOOP:
      if (optlen < 1) return -E.EINVAL;
      sk.mc_loop = on;
      return 0;
    case I.IP_MULTICAST_ALL:
      if (optlen < 1) return -E.EINVAL;
      if (val !== 0 && val !== 1) return -E.EINVAL;
      sk.mc_all = on;
      return 0;
    case I.IP_TRANSPARENT:
      if (on && !capable(CAP_NET_RAW) && !capable(CAP_NET_ADMIN)) return -E.EPERM;
      if (optlen < 1) return -E.EINVAL;
      sk.transparent = on;
      return 0;
    case I.IP_TTL:
      if (optlen < 1) return -E.EINVAL;
      if (val !== -1 && (val < 1 || val > 255)) return -E.EINVAL;
      sk.uc_ttl = val;
      return 0;
    case I.IP_MINTTL:
      if (optlen < 1) return -E.EINVAL;
      if (val < 0 || val > 255) return -E.EINVAL;
      sk.minttl = val;
      return 0;
    case I.IP_MULTICAST_TTL:
      if (sk.sk_type === S.SOCK_STREAM) return -E.EINVAL;
      if (optlen < 1) return -E.EINVAL;
      if (val === -1) val = 1;
      if (val < 0 || val > 255) return -E.EINVAL;
      sk.mc_ttl = val;
      return 0;
    case I.IP_MTU_DISCOVER:
      if (val < I.IP_PMTUDISC_DONT || val > I.IP_PMTUDISC_OMIT) return -E.EINVAL;
      sk.pmtudisc = val;
      return 0;
    case I.IP_TOS:
      // __ip_sock_set_tos(): the priority follows the TOS. A TCP socket's ECN bits are TCP's
      // own (tcp_ecn_send), whatever the application asks.
      if (sk.sk_type === S.SOCK_STREAM) val = (val & ~INET_ECN_MASK) | (sk.tos & INET_ECN_MASK);
      if (sk.tos !== val) {
        sk.tos = val & 0xff;
        sk.sk_priority = rt_tos2priority(val);
        sk.sk_dst_cache = null;
      }
      return 0;
    case I.IP_UNICAST_IF: {
      if (optlen !== 4) return -E.EINVAL;
      // The value is an ifindex in network byte order (or 0).
      const ifindex = ((optval[0] << 24) | (optval[1] << 16) | (optval[2] << 8) | optval[3]) >>> 0;
      if (ifindex === 0) {
        sk.uc_index = 0;
        return 0;
      }
      return -E.EADDRNOTAVAIL;
    }
    case I.IP_ROUTER_ALERT:
      if (sk.sk_type !== S.SOCK_RAW) return -E.ENOPROTOOPT;
      return 0;
    case I.IP_OPTIONS:
      // An empty option block clears the options; real options are not supported here.
      if (optlen > 40) return -E.EINVAL;
      return optlen === 0 ? 0 : -E.EINVAL;
    case I.IP_IPSEC_POLICY:
    case I.IP_XFRM_POLICY:
      if (!capable(CAP_NET_ADMIN)) return -E.EPERM;
      return -E.EOPNOTSUPP;
    default:
      return -E.ENOPROTOOPT;
  }
}

/** do_ip_getsockopt(). */
export function ip_getsockopt(
  sk: InetSock,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: IoctlArg,
): number {
  if (level !== S.SOL_IP) return -E.EOPNOTSUPP;
  const len = optlen.value;
  if (len < 0) return -E.EINVAL;
  let val: number;
  switch (optname) {
    case I.IP_PKTINFO:
      val = sk.cmsg_flags & IP_CMSG_PKTINFO ? 1 : 0;
      break;
    case I.IP_RECVTTL:
      val = sk.cmsg_flags & IP_CMSG_TTL ? 1 : 0;
      break;
    case I.IP_RECVTOS:
      val = sk.cmsg_flags & IP_CMSG_TOS ? 1 : 0;
      break;
    case I.IP_RECVOPTS:
      val = sk.cmsg_flags & IP_CMSG_RECVOPTS ? 1 : 0;
      break;
    case I.IP_RETOPTS:
      val = sk.cmsg_flags & IP_CMSG_RETOPTS ? 1 : 0;
      break;
    case I.IP_PASSSEC:
      val = sk.cmsg_flags & IP_CMSG_PASSSEC ? 1 : 0;
      break;
    case I.IP_RECVORIGDSTADDR:
      val = sk.cmsg_flags & IP_CMSG_ORIGDSTADDR ? 1 : 0;
      break;
    case I.IP_CHECKSUM:
      val = sk.cmsg_flags & IP_CMSG_CHECKSUM ? 1 : 0;
      break;
    case I.IP_RECVFRAGSIZE:
      val = sk.cmsg_flags & IP_CMSG_RECVFRAGSIZE ? 1 : 0;
      break;
    case I.IP_RECVERR:
      val = sk.recverr ? 1 : 0;
      break;
    case I.IP_RECVERR_RFC4884:
      val = sk.recverr_rfc4884 ? 1 : 0;
      break;
    case I.IP_FREEBIND:
      val = sk.freebind ? 1 : 0;
      break;
    case I.IP_HDRINCL:
      val = sk.hdrincl ? 1 : 0;
      break;
    case I.IP_NODEFRAG:
      val = sk.nodefrag ? 1 : 0;
      break;
    case I.IP_BIND_ADDRESS_NO_PORT:
      val = sk.bind_address_no_port ? 1 : 0;
      break;
    case I.IP_MULTICAST_LOOP:
      val = sk.mc_loop ? 1 : 0;
      break;
    case I.IP_MULTICAST_ALL:
      val = sk.mc_all ? 1 : 0;
      break;
    case I.IP_TRANSPARENT:
      val = sk.transparent ? 1 : 0;
      break;
    case I.IP_TOS:
      val = sk.tos;
      break;
    case I.IP_TTL:
      val = sk.uc_ttl < 0 ? ipv4_sysctl(sk.sk_net).sysctl_ip_default_ttl : sk.uc_ttl;
      break;
    case I.IP_MINTTL:
      val = sk.minttl;
      break;
    case I.IP_MULTICAST_TTL:
      val = sk.mc_ttl;
      break;
    case I.IP_MTU_DISCOVER:
      val = sk.pmtudisc;
      break;
    case I.IP_MTU: {
      const dst = sk.sk_dst_cache;
      val = dst ? dst_mtu(dst) : 0;
      if (!val) return -E.ENOTCONN;
      break;
    }
    case I.IP_UNICAST_IF:
      val = sk.uc_index;
      break;
    case I.IP_MULTICAST_IF:
      val = 0;
      if (len < 4) return -E.EINVAL;
      break;
    case I.IP_OPTIONS:
      // No options set: an empty block.
      optlen.value = 0;
      return 0;
    case I.IP_PKTOPTIONS:
      if (sk.sk_type !== S.SOCK_STREAM) return -E.ENOPROTOOPT;
      optlen.value = 0;
      return 0;
    default:
      return -E.ENOPROTOOPT;
  }
  // copyval: a short buffer gets one byte when the value fits it.
  if (len < 4 && len > 0 && val >= 0 && val <= 255) {
    if (optval.length < 1) return -E.EFAULT;
    optval[0] = val;
    optlen.value = 1;
    return 0;
  }
  return put_optval_int(optval, optlen, val, Math.min(4, len));
}
