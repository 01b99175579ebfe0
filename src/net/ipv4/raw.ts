// Raw IPv4 sockets (net/ipv4/raw.c): SOCK_RAW with a protocol receives a copy of every packet of
// that protocol delivered to this host (raw_local_deliver, before the transport sees it) with
// its IP header; it sends its payload under a header the kernel builds, or — with IP_HDRINCL,
// implied by IPPROTO_RAW — the whole packet as given (raw_send_hdrinc). CAP_NET_RAW is checked
// by inet_create. ICMP sockets may filter message types (ICMP_FILTER).

import type { Net } from '../core/net_namespace.js';
import { SkBuff, kfree_skb, skb_clone } from '../core/skbuff.js';
import {
  TCP_ESTABLISHED,
  TCP_CLOSE,
  SOCK_BINDADDR_LOCK,
  SOCK_BINDPORT_LOCK,
  sock_flag,
  SOCK_BROADCAST,
  type Sock,
} from '../core/sock.js';
import type { Msghdr } from '../socket.js';
import type { IoctlArg } from '../../kernel/fs.js';
import * as E from '../../uapi/errno.js';
import * as S from '../../uapi/socket.js';
import * as I from '../../uapi/in.js';
import {
  Flowi4,
  InetSock,
  inet_sk_init,
  inet_sockraw_ops,
  ip4_datagram_connect,
  inet_route_output,
  ip_alloc_dgram_skb,
  ip_hdr_daddr,
  ip_hdr_saddr,
  ip_push_and_send,
  ip_select_ttl,
  ip_send_skb,
  ll_headroom,
  put_msg_name_in,
  rt_is_broadcast,
  sa_family,
  skb_recv_datagram,
  skb_orphan,
  sock_alloc_send_skb,
  ipv4_sysctl,
  IPV4_HLEN,
  RT_SCOPE_LINK,
  SOCK_LOCALROUTE,
  ENOIOCTLCMD,
  type InetProto,
} from './inet_dgram.js';
import {
  IpcmCookie,
  ip_cmsg_recv,
  ip_cmsg_send,
  ip_getsockopt,
  ip_icmp_error,
  ip_local_error,
  ip_recv_error,
  ip_setsockopt,
  ipcm_init_sk,
  ipv4_pktinfo_prepare,
} from './ip_sockglue.js';
import { inet_addr_type } from './devinet.js';
import { RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST } from './fib.js';
import { inet_register_protosw, IPPROTO_IP, type InetProtosw } from './af_inet.js';
import { set_raw_deliver } from './protocol.js';
import { set_raw_icmp_error } from './icmp.js';
import { ip_select_ident, ip_send_check } from './ip_output.js';
import { alloc_skb_with_frags } from '../core/skbuff.js';
import { icmp_err_convert, icmp_err_parts } from './udp.js';

/** struct raw_sock. */
export class RawSock extends InetSock {
  /** struct icmp_filter: ICMP types (below 32) this socket does not want. */
  filter = 0;
}

export function raw_sk(sk: Sock): RawSock {
  return sk as RawSock;
}

/** The raw socks of a namespace by protocol (raw_v4_hashinfo). */
function raw_table(net: Net): Map<number, RawSock[]> {
  let t = net.proto_state.get('raw_table') as Map<number, RawSock[]> | undefined;
  if (!t) {
    t = new Map();
    net.proto_state.set('raw_table', t);
  }
  return t;
}

/** raw_hash_sk(): newest first, as sk_add_node_rcu. */
function raw_hash_sk(sk: RawSock): void {
  const t = raw_table(sk.sk_net);
  let l = t.get(sk.inet_num);
  if (!l) t.set(sk.inet_num, (l = []));
  l.unshift(sk);
}

function raw_unhash_sk(sk: RawSock): void {
  for (const l of raw_table(sk.sk_net).values()) {
    const i = l.indexOf(sk);
    if (i >= 0) l.splice(i, 1);
  }
}

/** raw_v4_match(). */
function raw_v4_match(sk: RawSock, num: number, raddr: number, laddr: number, dif: number): boolean {
  return (
    sk.inet_num === num &&
    (!sk.inet_daddr || sk.inet_daddr === raddr) &&
    (!sk.inet_rcv_saddr || sk.inet_rcv_saddr === laddr) &&
    (!sk.sk_bound_dev_if || sk.sk_bound_dev_if === dif)
  );
}

/** icmp_filter(): 1 when the socket filters this ICMP type out. */
function icmp_filter(sk: RawSock, skb: SkBuff): boolean {
  const t =
    skb.transport_header >= 0
      ? skb.transport_header
      : skb.network_header + ((skb.head[skb.network_header] & 15) << 2);
  if (t >= skb.tail) return true;
  const type = skb.head[t];
  return type < 32 && ((sk.filter >>> type) & 1) !== 0;
}

/** raw_rcv() → raw_rcv_skb(): queue a copy with its IP header in front. */
function raw_rcv(sk: RawSock, skb: SkBuff): void {
  skb.data = skb.network_header;
  ipv4_pktinfo_prepare(sk, skb, ip_hdr_daddr(skb));
  // __sock_queue_rcv_skb(): the buffer must not be full already.
  if (sk.sk_rmem_alloc >= sk.sk_rcvbuf) {
    sk.sk_drops++;
    kfree_skb(skb);
    return;
  }
  skb_orphan(skb);
  skb.sk = sk;
  skb.destructor = raw_rfree;
  sk.sk_rmem_alloc += skb.truesize;
  sk.sk_receive_queue.tail(skb);
  sk.sk_data_ready(sk);
}

function raw_rfree(skb: SkBuff): void {
  skb.sk!.sk_rmem_alloc -= skb.truesize;
}

/** raw_local_deliver() → raw_v4_input(): a copy for every matching raw socket. */
export function raw_local_deliver(skb: SkBuff, protocol: number): boolean {
  const net = skb.dev?.nd_net;
  if (!net) return false;
  const l = raw_table(net).get(protocol);
  if (!l || !l.length) return false;
  const saddr = ip_hdr_saddr(skb);
  const daddr = ip_hdr_daddr(skb);
  const dif = skb.skb_iif || (skb.dev ? skb.dev.ifindex : 0);
  let delivered = false;
  for (const sk of l) {
    if (!raw_v4_match(sk, protocol, saddr, daddr, dif)) continue;
    delivered = true;
    if (protocol === I.IPPROTO_ICMP && icmp_filter(sk, skb)) continue;
    const c = skb_clone(skb);
    c.sk = null;
    c.destructor = null;
    raw_rcv(sk, c);
  }
  return delivered;
}

/** raw_err(): an ICMP error about a packet this raw socket sent. */
function raw_err(sk: RawSock, skb: SkBuff, type: number, code: number, q: number, info: number): void {
  if (type === I.ICMP_DEST_UNREACH && code === I.ICMP_FRAG_NEEDED) {
    const rt = sk.sk_dst_cache;
    if (rt && info >= 68 && (!rt.rt_pmtu || info < rt.rt_pmtu)) rt.rt_pmtu = info;
  } else if (type === I.ICMP_REDIRECT) return;
  // Reported only with IP_RECVERR, or to a connected socket (else nobody could tell what failed).
  if (!sk.recverr && sk.sk_state !== TCP_ESTABLISHED) return;
  let err = E.EHOSTUNREACH;
  let harderr = false;
  switch (type) {
    case I.ICMP_SOURCE_QUENCH:
      return;
    case I.ICMP_PARAMETERPROB:
      err = E.EPROTO;
      harderr = true;
      break;
    case I.ICMP_DEST_UNREACH:
      if (code > I.NR_ICMP_UNREACH) break;
      if (code === I.ICMP_FRAG_NEEDED) {
        harderr = sk.pmtudisc !== I.IP_PMTUDISC_DONT;
        err = E.EMSGSIZE;
      } else {
        err = icmp_err_convert[code].errno;
        harderr = icmp_err_convert[code].fatal;
      }
      break;
  }
  if (sk.recverr) {
    const h = skb.head;
    const qdaddr = ((h[q + 16] << 24) | (h[q + 17] << 16) | (h[q + 18] << 8) | h[q + 19]) >>> 0;
    const payload = h.subarray(sk.hdrincl ? q : Math.min(q + (h[q] & 15) * 4, skb.tail), skb.tail);
    ip_icmp_error(sk, skb, err, type, code, qdaddr, 0, info, payload);
  }
  if (sk.recverr || harderr) {
    sk.sk_err = err;
    sk.sk_error_report(sk);
  }
}

/**
 * raw_icmp_error(): give an ICMP error (skb data at the quoted header, the ICMP header at
 * skb.transport_header) to every raw socket of the quoted protocol that could have sent it.
 */
export function raw_icmp_error(skb: SkBuff, protocol: number, info: number): void {
  const net = skb.dev?.nd_net;
  const parts = icmp_err_parts(skb);
  if (!net || !parts) return;
  const l = raw_table(net).get(protocol);
  if (!l) return;
  const h = skb.head;
  const q = parts.q;
  const qsaddr = ((h[q + 12] << 24) | (h[q + 13] << 16) | (h[q + 14] << 8) | h[q + 15]) >>> 0;
  const qdaddr = ((h[q + 16] << 24) | (h[q + 17] << 16) | (h[q + 18] << 8) | h[q + 19]) >>> 0;
  const dif = skb.skb_iif || (skb.dev ? skb.dev.ifindex : 0);
  for (const sk of l.slice())
    if (raw_v4_match(sk, protocol, qdaddr, qsaddr, dif)) raw_err(sk, skb, parts.type, parts.code, q, info);
}

// ——— bind, send ——————————————————————————————————————————————————————————————————

/** raw_bind(): only the address (no port, no family check). */
function raw_bind(sk: InetSock, uaddr: Uint8Array, addr_len: number): number {
  if (sk.sk_state !== TCP_CLOSE || addr_len < I.SIZEOF_SOCKADDR_IN) return -E.EINVAL;
  const a = I.sockaddr_in_addr(uaddr);
  const chk = inet_addr_type(sk.sk_net, a);
  const ok =
    ipv4_sysctl(sk.sk_net).sysctl_ip_nonlocal_bind !== 0 ||
    sk.freebind ||
    sk.transparent ||
    a === 0 ||
    chk === RTN_LOCAL ||
    chk === RTN_MULTICAST ||
    chk === RTN_BROADCAST;
  if (!ok) return -E.EADDRNOTAVAIL;
  sk.inet_rcv_saddr = sk.inet_saddr = a;
  if (chk === RTN_MULTICAST || chk === RTN_BROADCAST) sk.inet_saddr = 0;
  sk.sk_dst_cache = null;
  return 0;
}

/** raw_sendmsg(). */
function raw_sendmsg(sk: InetSock, msg: Msghdr, len: number): number {
  const net = sk.sk_net;
  if (len > 0xffff) return -E.EMSGSIZE;
  const hdrincl = sk.hdrincl;
  if (msg.msg_flags & S.MSG_OOB) return -E.EOPNOTSUPP;
  let daddr: number;
  if (msg.msg_namelen) {
    if (msg.msg_namelen < I.SIZEOF_SOCKADDR_IN) return -E.EINVAL;
    const fam = sa_family(msg.msg_name!);
    if (fam !== S.AF_INET && fam) return -E.EAFNOSUPPORT;
    daddr = I.sockaddr_in_addr(msg.msg_name!);
  } else {
    if (sk.sk_state !== TCP_ESTABLISHED) return -E.EDESTADDRREQ;
    daddr = sk.inet_daddr;
  }
  const ipc = new IpcmCookie();
  ipcm_init_sk(ipc, sk);
  if (msg.msg_controllen) {
    const err = ip_cmsg_send(msg, ipc);
    if (err) return err;
  }
  const tos = ipc.tos >= 0 ? ipc.tos : sk.tos;
  const fl4 = new Flowi4();
  fl4.daddr = daddr;
  fl4.saddr = ipc.addr;
  fl4.tos = tos;
  fl4.oif = ipc.oif || sk.uc_index;
  fl4.scope = sock_flag(sk, SOCK_LOCALROUTE) || msg.msg_flags & S.MSG_DONTROUTE ? RT_SCOPE_LINK : 0;
  fl4.proto = sk.inet_num;
  const rt = inet_route_output(net, fl4);
  if (typeof rt === 'number') return rt;
  if (rt_is_broadcast(rt) && !sock_flag(sk, SOCK_BROADCAST)) return -E.EACCES;
  const noblock = (msg.msg_flags & S.MSG_DONTWAIT) !== 0;
  const ebox = { v: 0 };
  if (hdrincl) {
    // raw_send_hdrinc(): the caller's header, checked for sanity, the rest filled in.
    const mtu = rt.dev.mtu;
    if (len > mtu) {
      ip_local_error(sk, E.EMSGSIZE, fl4.daddr, sk.inet_dport, mtu);
      return -E.EMSGSIZE;
    }
    if (len < IPV4_HLEN) return -E.EINVAL;
    if (msg.msg_flags & S.MSG_PROBE) return len;
    const hr = ll_headroom(rt);
    const skb = sock_alloc_send_skb(
      sk,
      () => {
        const s = alloc_skb_with_frags(len + hr, 0);
        s.reserve(hr);
        return s;
      },
      noblock,
      ebox,
    );
    if (!skb) return ebox.v;
    const o = skb.put(len);
    skb.network_header = o;
    msg.msg_iter.copy_from_iter(skb.head, o, len);
    const h = skb.head;
    const iphlen = (h[o] & 15) * 4;
    if (iphlen > len) {
      kfree_skb(skb);
      return -E.EINVAL;
    }
    skb.transport_header = o;
    if (iphlen >= IPV4_HLEN) {
      if (!(h[o + 12] | h[o + 13] | h[o + 14] | h[o + 15])) {
        const s = fl4.saddr;
        h[o + 12] = s >>> 24;
        h[o + 13] = (s >>> 16) & 0xff;
        h[o + 14] = (s >>> 8) & 0xff;
        h[o + 15] = s & 0xff;
      }
      h[o + 2] = len >> 8;
      h[o + 3] = len & 0xff;
      if (!(h[o + 4] | h[o + 5])) ip_select_ident(net, skb, null);
      ip_send_check(h, o);
      skb.transport_header = o + iphlen;
    }
    skb.dst = rt;
    skb.priority = sk.sk_priority;
    skb.mark = sk.sk_mark;
    const err = ip_send_skb(net, sk, skb);
    if (err) return err;
    return len;
  }
  // ip_append_data() + ip_push_pending_frames() with the payload as given.
  const skb = sock_alloc_send_skb(sk, () => ip_alloc_dgram_skb(rt, len), noblock, ebox);
  if (!skb) return ebox.v;
  const o = skb.put(len);
  skb.transport_header = o;
  msg.msg_iter.copy_from_iter(skb.head, o, len);
  const ttl = ipc.ttl || ip_select_ttl(sk, rt, fl4.daddr);
  const err = ip_push_and_send(sk, skb, rt, fl4, sk.inet_num, ttl, tos);
  if (err && !(err === -E.ENOBUFS && !sk.recverr)) return err;
  return len;
}

/** raw_recvmsg(). */
function raw_recvmsg(sk: InetSock, msg: Msghdr, len: number, flags: number): number {
  if (flags & S.MSG_OOB) return -E.EOPNOTSUPP;
  if (flags & S.MSG_ERRQUEUE) return ip_recv_error(sk, msg, len);
  const err = { v: 0 };
  const skb = skb_recv_datagram(sk, sk.sk_receive_queue, flags, { v: 0 }, err);
  if (!skb) return err.v;
  let copied = skb.len;
  if (len < copied) {
    msg.msg_flags |= S.MSG_TRUNC;
    copied = len;
  }
  msg.msg_iter.copy_to_iter(skb.head, skb.data, copied);
  put_msg_name_in(msg, ip_hdr_saddr(skb), 0);
  if (sk.cmsg_flags) ip_cmsg_recv(msg, sk, skb);
  if (flags & S.MSG_TRUNC) copied = skb.len;
  if (!(flags & S.MSG_PEEK)) kfree_skb(skb);
  return copied;
}

/** raw_ioctl(). */
function raw_ioctl(sk: InetSock, cmd: number, arg: IoctlArg): number {
  switch (cmd) {
    case S.SIOCOUTQ:
      arg.value = sk.sk_wmem_alloc;
      return 0;
    case S.SIOCINQ: {
      const skb = sk.sk_receive_queue.peek();
      arg.value = skb ? skb.len : 0;
      return 0;
    }
    default:
      return -ENOIOCTLCMD;
  }
}

/** raw_setsockopt(): SOL_RAW has ICMP_FILTER; the rest is SOL_IP. */
function raw_setsockopt(
  sk: InetSock,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: number,
): number {
  if (level !== S.SOL_RAW) return ip_setsockopt(sk, level, optname, optval, optlen);
  if (optname !== I.ICMP_FILTER) return -E.ENOPROTOOPT;
  if (sk.inet_num !== I.IPPROTO_ICMP) return -E.EOPNOTSUPP;
  // raw_seticmpfilter(): at most sizeof(struct icmp_filter) bytes are read.
  const n = Math.min(optlen, 4);
  let v = raw_sk(sk).filter;
  for (let i = 0; i < n; i++) v = (v & ~(0xff << (8 * i))) | (optval[i] << (8 * i));
  raw_sk(sk).filter = v >>> 0;
  return 0;
}

function raw_getsockopt(
  sk: InetSock,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: IoctlArg,
): number {
  if (level !== S.SOL_RAW) return ip_getsockopt(sk, level, optname, optval, optlen);
  if (optname !== I.ICMP_FILTER) return -E.ENOPROTOOPT;
  if (sk.inet_num !== I.IPPROTO_ICMP) return -E.EOPNOTSUPP;
  let len = optlen.value;
  if (len < 0) return -E.EINVAL;
  if (len > 4) len = 4;
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, raw_sk(sk).filter, true);
  if (len > optval.length) return -E.EFAULT;
  optval.set(b.subarray(0, len));
  optlen.value = len;
  return 0;
}

/** raw_sk_init() with inet_create's SOCK_RAW part: the protocol is the "port". */
function raw_init(sk: Sock): number {
  const rsk = raw_sk(sk);
  inet_sk_init(rsk);
  rsk.inet_num = sk.sk_protocol;
  rsk.inet_sport = sk.sk_protocol;
  if (sk.sk_protocol === I.IPPROTO_RAW) rsk.hdrincl = true;
  if (sk.sk_protocol === I.IPPROTO_ICMP) rsk.filter = 0;
  raw_hash_sk(rsk);
  return 0;
}

/** raw_close(): leave the table; sk_common_release. */
function raw_close(sk: Sock): void {
  raw_unhash_sk(raw_sk(sk));
  sk.sk_state = TCP_CLOSE;
}

/**
 * __udp_disconnect(), which raw sockets share: without a bound port (raw sockets never bind
 * one) the sock is unhashed and its "port" cleared — it receives nothing afterwards, as on Linux.
 */
function raw_disconnect(sk: InetSock): number {
  sk.sk_state = TCP_CLOSE;
  sk.inet_daddr = 0;
  sk.inet_dport = 0;
  sk.sk_bound_dev_if = 0;
  if (!(sk.sk_userlocks & SOCK_BINDADDR_LOCK)) sk.inet_rcv_saddr = sk.inet_saddr = 0;
  if (!(sk.sk_userlocks & SOCK_BINDPORT_LOCK)) {
    raw_unhash_sk(raw_sk(sk));
    sk.inet_sport = 0;
  }
  sk.sk_dst_cache = null;
  return 0;
}

export const raw_prot: InetProto = {
  name: 'RAW',
  alloc: (net) => new RawSock(net),
  init: raw_init,
  close: raw_close,
  bind: raw_bind,
  no_autobind: true,
  connect: ip4_datagram_connect,
  disconnect: raw_disconnect,
  sendmsg: raw_sendmsg,
  recvmsg: raw_recvmsg,
  ioctl: raw_ioctl,
  setsockopt: raw_setsockopt,
  getsockopt: raw_getsockopt,
};

export const raw_protosw: InetProtosw = {
  type: S.SOCK_RAW,
  protocol: IPPROTO_IP,
  prot: raw_prot,
  ops: inet_sockraw_ops,
  flags: 0,
};

/** raw_init(): the wildcard SOCK_RAW entry, the delivery hook of ip_local_deliver and ICMP's error hook. */
export function raw_proto_init(net: Net): void {
  inet_register_protosw(net, raw_protosw);
  set_raw_deliver(net, raw_local_deliver);
  set_raw_icmp_error(net, raw_icmp_error);
}

/** The raw socks of a namespace (for /proc/net/raw-like views). */
export function raw_sockets(net: Net): RawSock[] {
  const out: RawSock[] = [];
  for (const l of raw_table(net).values()) out.push(...l);
  return out;
}
