// ICMP echo ("ping") sockets (net/ipv4/ping.c): SOCK_DGRAM with IPPROTO_ICMP lets users in
// net.ipv4.ping_group_range send echo requests without CAP_NET_RAW. The socket's "port" is the
// echo identifier: the kernel writes it into every request and hands back the replies that carry
// it (ping_rcv, called by icmp_rcv for ICMP_ECHOREPLY).

import type { Net } from '../core/net_namespace.js';
import { SkBuff, kfree_skb, skb_clone } from '../core/skbuff.js';
import {
  TCP_CLOSE,
  TCP_ESTABLISHED,
  SOCK_BINDADDR_LOCK,
  SOCK_BINDPORT_LOCK,
  sock_flag,
  SOCK_BROADCAST,
  type Sock,
} from '../core/sock.js';
import type { Msghdr } from '../socket.js';
import type { IoctlArg } from '../../kernel/fs.js';
import { current, in_task } from '../../kernel/sched.js';
import * as E from '../../uapi/errno.js';
import * as S from '../../uapi/socket.js';
import * as I from '../../uapi/in.js';
import { csum_partial, csum_fold } from '../../wire/checksum.js';
import {
  Flowi4,
  InetSock,
  inet_sk_init,
  inet_dgram_ops,
  ip4_datagram_connect,
  inet_route_output,
  ip_alloc_dgram_skb,
  ip_hdr_daddr,
  ip_hdr_saddr,
  ip_push_and_send,
  ip_select_ttl,
  put_msg_name_in,
  rt_is_broadcast,
  sa_family,
  skb_recv_datagram,
  skb_orphan,
  sock_alloc_send_skb,
  ipv4_sysctl,
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
  ip_recv_error,
  ip_setsockopt,
  ipcm_init_sk,
  ipv4_pktinfo_prepare,
} from './ip_sockglue.js';
import { inet_addr_type } from './devinet.js';
import { RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST } from './fib.js';
import { inet_register_protosw, type InetProtosw } from './af_inet.js';
import { inet_get_ping_group_range } from './ipv4_init.js';
import { set_ping_err, set_ping_rcv } from './icmp.js';
import { icmp_err_convert, icmp_err_parts } from './udp.js';
import { ICMP_INC_STATS, ICMP_MIB_OUTMSGS, ICMPMSGOUT_INC_STATS } from './snmp.js';

const ICMPH_LEN = 8;

export class PingSock extends InetSock {}

/** The ping socks of a namespace by identifier, and the rover of ping_get_port. */
class PingTable {
  readonly hash = new Map<number, PingSock[]>();
  rover = 0;
}

function ping_table(net: Net): PingTable {
  let t = net.proto_state.get('ping_table') as PingTable | undefined;
  if (!t) {
    t = new PingTable();
    net.proto_state.set('ping_table', t);
  }
  return t;
}

/** ping_init_sock(): the caller's group (or a supplementary one) must be in ping_group_range. */
function ping_init_sock(sk: Sock): number {
  inet_sk_init(sk as InetSock);
  const [low, high] = inet_get_ping_group_range(sk.sk_net);
  if (!in_task()) return 0;
  const cred = current().cred;
  if (low <= cred.egid && cred.egid <= high) return 0;
  for (const g of cred.groups) if (low <= g && g <= high) return 0;
  return -E.EACCES;
}

/** ping_get_port(): a free identifier counting up from the last one given, or `ident` itself. */
function ping_get_port(sk: PingSock, ident: number): number {
  const t = ping_table(sk.sk_net);
  if (!ident) {
    let result = (t.rover + 1) & 0xffff;
    let found = 0;
    for (let i = 0; i < 1 << 16; i++, result = (result + 1) & 0xffff) {
      if (!result) result = 1;
      if (!t.hash.get(result)?.length) {
        found = result;
        break;
      }
    }
    if (!found) return 1;
    t.rover = ident = found;
  } else {
    const l = t.hash.get(ident);
    // Identifiers are shared between sockets bound to different addresses.
    if (l)
      for (const sk2 of l)
        if (
          sk2 !== sk &&
          (!sk2.sk_reuse || !sk.sk_reuse) &&
          (!sk2.inet_rcv_saddr || !sk.inet_rcv_saddr || sk2.inet_rcv_saddr === sk.inet_rcv_saddr)
        )
          return 1;
  }
  sk.inet_num = ident;
  let l = t.hash.get(ident);
  if (!l) t.hash.set(ident, (l = []));
  l.unshift(sk);
  return 0;
}

/** ping_unhash(). */
function ping_unhash(sk: PingSock): void {
  if (!sk.inet_num) return;
  const l = ping_table(sk.sk_net).hash.get(sk.inet_num);
  if (l) {
    const i = l.indexOf(sk);
    if (i >= 0) l.splice(i, 1);
  }
  sk.inet_num = 0;
  sk.inet_sport = 0;
}

/** ping_bind() with ping_check_bind_addr(). */
function ping_bind(sk: InetSock, uaddr: Uint8Array, addr_len: number): number {
  if (addr_len < I.SIZEOF_SOCKADDR_IN) return -E.EINVAL;
  const a = I.sockaddr_in_addr(uaddr);
  const fam = sa_family(uaddr);
  if (fam !== S.AF_INET && !(fam === S.AF_UNSPEC && a === 0)) return -E.EAFNOSUPPORT;
  const chk = inet_addr_type(sk.sk_net, a);
  const valid =
    ipv4_sysctl(sk.sk_net).sysctl_ip_nonlocal_bind !== 0 ||
    sk.freebind ||
    sk.transparent ||
    a === 0 ||
    chk === RTN_LOCAL;
  if (a !== 0 && (chk === RTN_MULTICAST || chk === RTN_BROADCAST || !valid)) return -E.EADDRNOTAVAIL;
  if (sk.inet_num !== 0) return -E.EINVAL;
  const snum = I.sockaddr_in_port(uaddr);
  sk.inet_rcv_saddr = sk.inet_saddr = a;
  if (ping_get_port(sk as PingSock, snum)) {
    sk.inet_rcv_saddr = sk.inet_saddr = 0;
    return -E.EADDRINUSE;
  }
  if (snum) sk.sk_userlocks |= SOCK_BINDPORT_LOCK;
  sk.inet_sport = sk.inet_num;
  sk.inet_daddr = 0;
  sk.inet_dport = 0;
  sk.sk_dst_cache = null;
  return 0;
}

/** ping_v4_sendmsg(). */
function ping_v4_sendmsg(sk: InetSock, msg: Msghdr, len: number): number {
  const net = sk.sk_net;
  if (len > 0xffff) return -E.EMSGSIZE;
  if (len < ICMPH_LEN) return -E.EINVAL;
  if (msg.msg_flags & S.MSG_OOB) return -E.EOPNOTSUPP;
  let daddr: number;
  if (msg.msg_name) {
    if (msg.msg_namelen < I.SIZEOF_SOCKADDR_IN) return -E.EINVAL;
    if (sa_family(msg.msg_name) !== S.AF_INET) return -E.EAFNOSUPPORT;
    daddr = I.sockaddr_in_addr(msg.msg_name);
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
  // ping_common_sendmsg(): only echo requests, code 0.
  const user = new Uint8Array(ICMPH_LEN);
  const it = msg.msg_iter;
  const saved = { idx: it.idx, off: it.off, count: it.count };
  it.copy_from_iter(user, 0, ICMPH_LEN);
  it.idx = saved.idx;
  it.off = saved.off;
  it.count = saved.count;
  if (user[0] !== I.ICMP_ECHO || user[1] !== 0) return -E.EINVAL;
  const tos = ipc.tos >= 0 ? ipc.tos : sk.tos;
  const fl4 = new Flowi4();
  fl4.daddr = daddr;
  fl4.saddr = ipc.addr;
  fl4.tos = tos;
  fl4.oif = ipc.oif || sk.uc_index;
  fl4.scope = sock_flag(sk, SOCK_LOCALROUTE) || msg.msg_flags & S.MSG_DONTROUTE ? RT_SCOPE_LINK : 0;
  fl4.proto = I.IPPROTO_ICMP;
  const rt = inet_route_output(net, fl4);
  if (typeof rt === 'number') return rt;
  if (rt_is_broadcast(rt) && !sock_flag(sk, SOCK_BROADCAST)) return -E.EACCES;
  const ebox = { v: 0 };
  const skb = sock_alloc_send_skb(
    sk,
    () => ip_alloc_dgram_skb(rt, len),
    (msg.msg_flags & S.MSG_DONTWAIT) !== 0,
    ebox,
  );
  if (!skb) return ebox.v;
  const o = skb.put(len);
  skb.transport_header = o;
  msg.msg_iter.copy_from_iter(skb.head, o, len);
  const h = skb.head;
  // The identifier is the socket's; the checksum covers the whole message.
  h[o + 2] = 0;
  h[o + 3] = 0;
  h[o + 4] = sk.inet_sport >> 8;
  h[o + 5] = sk.inet_sport & 0xff;
  const c = csum_fold(csum_partial(h, o, len, 0));
  h[o + 2] = c >> 8;
  h[o + 3] = c & 0xff;
  const ttl = ipc.ttl || ip_select_ttl(sk, rt, fl4.daddr);
  const err = ip_push_and_send(sk, skb, rt, fl4, I.IPPROTO_ICMP, ttl, tos);
  if (err) return err;
  ICMP_INC_STATS(net, ICMP_MIB_OUTMSGS);
  ICMPMSGOUT_INC_STATS(net, I.ICMP_ECHO);
  return len;
}

/** ping_recvmsg(). */
function ping_recvmsg(sk: InetSock, msg: Msghdr, len: number, flags: number): number {
  if (flags & S.MSG_OOB) return -E.EOPNOTSUPP;
  if (flags & S.MSG_ERRQUEUE) return ip_recv_error(sk, msg, len);
  const err = { v: 0 };
  const skb = skb_recv_datagram(sk, sk.sk_receive_queue, flags, { v: 0 }, err);
  if (!skb) return err.v;
  let copied = skb.len;
  if (copied > len) {
    msg.msg_flags |= S.MSG_TRUNC;
    copied = len;
  }
  msg.msg_iter.copy_to_iter(skb.head, skb.data, copied);
  put_msg_name_in(msg, ip_hdr_saddr(skb), 0);
  if (sk.cmsg_flags) ip_cmsg_recv(msg, sk, skb);
  if (!(flags & S.MSG_PEEK)) kfree_skb(skb);
  return copied;
}

function ping_rfree(skb: SkBuff): void {
  skb.sk!.sk_rmem_alloc -= skb.truesize;
}

/**
 * ping_rcv(): an echo reply for one of our identifiers (skb data at the ICMP header). Returns
 * whether a socket took it.
 */
export function ping_rcv(skb: SkBuff): boolean {
  const net = skb.dev?.nd_net;
  if (!net) return false;
  const t = skb.transport_header >= 0 ? skb.transport_header : skb.data;
  if (skb.tail - t < ICMPH_LEN) return false;
  const ident = (skb.head[t + 4] << 8) | skb.head[t + 5];
  const l = ping_table(net).hash.get(ident);
  if (!l) return false;
  const daddr = ip_hdr_daddr(skb);
  const dif = skb.skb_iif || (skb.dev ? skb.dev.ifindex : 0);
  for (const sk of l) {
    if (sk.inet_rcv_saddr && sk.inet_rcv_saddr !== daddr) continue;
    if (sk.sk_bound_dev_if && sk.sk_bound_dev_if !== dif) continue;
    const c = skb_clone(skb);
    c.sk = null;
    c.destructor = null;
    c.data = t;
    ipv4_pktinfo_prepare(sk, c, daddr);
    if (sk.sk_rmem_alloc >= sk.sk_rcvbuf) {
      sk.sk_drops++;
      kfree_skb(c);
      return true;
    }
    skb_orphan(c);
    c.sk = sk;
    c.destructor = ping_rfree;
    sk.sk_rmem_alloc += c.truesize;
    sk.sk_receive_queue.tail(c);
    sk.sk_data_ready(sk);
    return true;
  }
  return false;
}

/**
 * ping_err(): an ICMP error quoting one of our echo requests (skb data at the quoted IP header,
 * the ICMP header of the error at skb.transport_header). Returns whether a socket took it.
 */
export function ping_err(skb: SkBuff, info: number): boolean {
  const net = skb.dev?.nd_net;
  const parts = icmp_err_parts(skb);
  if (!net || !parts) return false;
  const { type, code, q, qihl } = parts;
  const h = skb.head;
  const e = q + qihl;
  if (skb.tail - e < ICMPH_LEN || h[e] !== I.ICMP_ECHO) return false;
  const ident = (h[e + 4] << 8) | h[e + 5];
  const qsaddr = ((h[q + 12] << 24) | (h[q + 13] << 16) | (h[q + 14] << 8) | h[q + 15]) >>> 0;
  const qdaddr = ((h[q + 16] << 24) | (h[q + 17] << 16) | (h[q + 18] << 8) | h[q + 19]) >>> 0;
  const l = ping_table(net).hash.get(ident);
  const sk = l?.find((x) => !x.inet_rcv_saddr || x.inet_rcv_saddr === qsaddr);
  if (!sk) return false;
  let err = E.EHOSTUNREACH;
  let harderr = false;
  switch (type) {
    case I.ICMP_SOURCE_QUENCH:
    case I.ICMP_REDIRECT:
      // Not errors, but ping wants to see them.
      err = E.EREMOTEIO;
      break;
    case I.ICMP_PARAMETERPROB:
      err = E.EPROTO;
      harderr = true;
      break;
    case I.ICMP_DEST_UNREACH:
      if (code === I.ICMP_FRAG_NEEDED) {
        const rt = sk.sk_dst_cache;
        if (rt && info >= 68 && (!rt.rt_pmtu || info < rt.rt_pmtu)) rt.rt_pmtu = info;
        if (sk.pmtudisc === I.IP_PMTUDISC_DONT) return true;
        err = E.EMSGSIZE;
        harderr = true;
        break;
      }
      if (code <= I.NR_ICMP_UNREACH) {
        harderr = icmp_err_convert[code].fatal;
        err = icmp_err_convert[code].errno;
      }
      break;
  }
  if (!sk.recverr) {
    if (!harderr || sk.sk_state !== TCP_ESTABLISHED) return true;
  } else ip_icmp_error(sk, skb, err, type, code, qdaddr, 0, info, h.subarray(e, skb.tail));
  sk.sk_err = err;
  sk.sk_error_report(sk);
  return true;
}

function ping_ioctl(_sk: InetSock, _cmd: number, _arg: IoctlArg): number {
  return -ENOIOCTLCMD;
}

/** ping_close(). */
function ping_close(sk: Sock): void {
  ping_unhash(sk as PingSock);
  sk.sk_state = TCP_CLOSE;
}

/** ping disconnect (__udp_disconnect). */
function ping_disconnect(sk: InetSock): number {
  sk.sk_state = TCP_CLOSE;
  sk.inet_daddr = 0;
  sk.inet_dport = 0;
  sk.sk_bound_dev_if = 0;
  if (!(sk.sk_userlocks & SOCK_BINDADDR_LOCK)) sk.inet_rcv_saddr = sk.inet_saddr = 0;
  if (!(sk.sk_userlocks & SOCK_BINDPORT_LOCK)) ping_unhash(sk as PingSock);
  sk.sk_dst_cache = null;
  return 0;
}

export const ping_prot: InetProto = {
  name: 'PING',
  alloc: (net) => new PingSock(net),
  init: ping_init_sock,
  close: ping_close,
  bind: ping_bind,
  get_port: (sk, snum) => ping_get_port(sk as PingSock, snum),
  unhash: (sk) => ping_unhash(sk as PingSock),
  connect: ip4_datagram_connect,
  disconnect: ping_disconnect,
  sendmsg: ping_v4_sendmsg,
  recvmsg: ping_recvmsg,
  ioctl: ping_ioctl,
  setsockopt: ip_setsockopt,
  getsockopt: ip_getsockopt,
};

export const ping_protosw: InetProtosw = {
  type: S.SOCK_DGRAM,
  protocol: I.IPPROTO_ICMP,
  prot: ping_prot,
  ops: inet_dgram_ops,
  flags: 0,
};

/**
 * ping_init(): the SOCK_DGRAM/IPPROTO_ICMP entry of inetsw; echo replies and the errors that
 * quote our echo requests come from icmp_rcv through its hooks.
 */
export function ping_proto_init(net: Net): void {
  inet_register_protosw(net, ping_protosw);
  set_ping_rcv(net, ping_rcv);
  set_ping_err(net, ping_err);
}

export function ping_sockets(net: Net): PingSock[] {
  const out: PingSock[] = [];
  for (const l of ping_table(net).hash.values()) out.push(...l);
  return out;
}

export { ip_hdr_daddr };
