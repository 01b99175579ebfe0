// UDP (net/ipv4/udp.c, RFC 768, RFC 1122 §4.1): the port table with Linux's bind-conflict and
// SO_REUSEPORT rules, socket lookup by score, sending (udp_sendmsg / udp_send_skb), receiving
// (udp_rcv, multicast/broadcast delivery, receive-buffer accounting), ICMP errors (udp_err),
// recvmsg, the UDP socket options, and the /proc/net/udp view.

import { put_optval_int } from '../core/sock_opt.js';
import type { Net } from '../core/net_namespace.js';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SkBuff, kfree_skb, skb_clone } from '../core/skbuff.js';
import { IFF_LOOPBACK } from '../../uapi/if.js';
import {
  SOCK_BINDADDR_LOCK,
  SOCK_BINDPORT_LOCK,
  TCP_CLOSE,
  TCP_ESTABLISHED,
  sock_flag,
  SOCK_BROADCAST,
  type Sock,
} from '../core/sock.js';
import { sk_reuseport } from '../core/sock_opt.js';
import type { File, IoctlArg, PollTable } from '../../kernel/fs.js';
import type { Msghdr, Socket } from '../socket.js';
import * as E from '../../uapi/errno.js';
import * as S from '../../uapi/socket.js';
import * as I from '../../uapi/in.js';
import { csum_partial, csum_tcpudp_magic, CSUM_MANGLED_0 } from '../../wire/checksum.js';
import {
  Flowi4,
  InetSock,
  datagram_poll,
  dst_mtu,
  inet_route_output,
  inet_sk_init,
  inet_dgram_ops,
  ip4_datagram_connect,
  ip_hdr_daddr,
  ip_hdr_saddr,
  ip_push_and_send,
  ip_select_ttl,
  ip_sk_ignore_df,
  IPV4_HLEN,
  IP_MAX_MTU,
  put_msg_name_in,
  rt_is_broadcast,
  rt_is_multicast,
  sk_peek_offset,
  sk_peek_offset_update,
  skb_recv_datagram,
  sock_queue_rcv_skb,
  sock_alloc_send_dgram,
  sa_family,
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
  for_each_cmsghdr,
} from './ip_sockglue.js';
import {
  UDP_INC_STATS,
  UDP_MIB_CSUMERRORS,
  UDP_MIB_INDATAGRAMS,
  UDP_MIB_INERRORS,
  UDP_MIB_NOPORTS,
  UDP_MIB_OUTDATAGRAMS,
  UDP_MIB_RCVBUFERRORS,
  UDP_MIB_SNDBUFERRORS,
  UDP_MIB_IGNOREDMULTI,
  IP_INC_STATS,
  IPSTATS_MIB_OUTNOROUTES,
  ICMP_INC_STATS,
  ICMP_MIB_INERRORS,
} from './snmp.js';
import { inet_register_protosw, INET_PROTOSW_PERMANENT, type InetProtosw } from './af_inet.js';
import { inet_add_protocol } from './protocol.js';
import { icmp_send } from './icmp.js';
import { udp_table, udp_ehashfn, reciprocal_scale, local_port_range, type UdpTable } from './udp_tables.js';

export const UDP_HLEN = 8;

/** struct udp_sock. */
export class UdpSock extends InetSock {
  /** The port the sock is hashed under (udp_port_hash), 0 when unhashed. */
  udp_port_hash = 0;
  /** The SO_REUSEPORT group the sock joined at bind (struct sock_reuseport), in join order. */
  reuseport_group: UdpSock[] | null = null;
  /** UDP_CORK, UDP_SEGMENT, UDP_GRO, UDP_NO_CHECK6_*: kept for getsockopt. */
  corkflag = false;
  gso_size = 0;
  gro_enabled = false;
  no_check6_tx = false;
  no_check6_rx = false;
}

export function udp_sk(sk: Sock): UdpSock {
  return sk as UdpSock;
}

// ——— the port table ————————————————————————————————————————————————————————————

/** inet_rcv_saddr_equal() with wildcards matching everything. */
function rcv_saddr_equal(a: InetSock, b: InetSock): boolean {
  return a.inet_rcv_saddr === b.inet_rcv_saddr || !a.inet_rcv_saddr || !b.inet_rcv_saddr;
}

/**
 * udp_lib_lport_inuse(): does a sock already on port `num` conflict with `sk`? Two socks share a
 * port when both set SO_REUSEADDR, when they are bound to different devices or to different
 * specific addresses, or when both set SO_REUSEPORT under the same owner.
 */
function udp_lib_lport_inuse(tbl: UdpTable, num: number, sk: UdpSock): boolean {
  const slot = tbl.hash.get(num);
  if (!slot) return false;
  const reuseport = sk_reuseport(sk);
  for (const sk2 of slot) {
    if (sk2 === sk) continue;
    if (sk2.sk_reuse && sk.sk_reuse) continue;
    if (sk2.sk_bound_dev_if && sk.sk_bound_dev_if && sk2.sk_bound_dev_if !== sk.sk_bound_dev_if) continue;
    if (!rcv_saddr_equal(sk, sk2)) continue;
    if (sk_reuseport(sk2) && reuseport && sk2.sk_uid === sk.sk_uid) continue;
    return true;
  }
  return false;
}

/** reuseport_add_sock(): join the group of an equal reuseport sock on the port, or start one. */
function reuseport_add_sock(tbl: UdpTable, sk: UdpSock): void {
  const slot = tbl.hash.get(sk.inet_num);
  if (slot) {
    for (const sk2 of slot) {
      if (
        sk2 !== sk &&
        sk2.reuseport_group &&
        sk_reuseport(sk2) &&
        sk2.sk_uid === sk.sk_uid &&
        sk2.sk_bound_dev_if === sk.sk_bound_dev_if &&
        sk2.inet_rcv_saddr === sk.inet_rcv_saddr
      ) {
        sk2.reuseport_group.push(sk);
        sk.reuseport_group = sk2.reuseport_group;
        return;
      }
    }
  }
  sk.reuseport_group = [sk];
}

/** reuseport_detach_sock(): the last member takes the leaver's place. */
function reuseport_detach_sock(sk: UdpSock): void {
  const g = sk.reuseport_group;
  if (!g) return;
  const i = g.indexOf(sk);
  if (i >= 0) {
    g[i] = g[g.length - 1];
    g.pop();
  }
  sk.reuseport_group = null;
}

/**
 * udp_lib_get_port(): bind `sk` to `snum`, or to a free ephemeral port when 0 (a random start
 * in ip_local_port_range, then every port once). Returns 0, or 1 when the port is taken.
 */
export function udp_lib_get_port(sk: UdpSock, snum: number): number {
  const net = sk.sk_net;
  const tbl = udp_table(net);
  if (!snum) {
    const [low, high] = local_port_range(net);
    const remaining = high - low + 1;
    const rand = net.kernel.prandom.get_random_u32();
    const first = reciprocal_scale(rand, remaining) + low;
    let found = 0;
    for (let i = 0; i < remaining; i++) {
      const p = low + ((first - low + i) % remaining);
      if (!udp_lib_lport_inuse(tbl, p, sk)) {
        found = p;
        break;
      }
    }
    if (!found) return 1;
    snum = found;
  } else if (udp_lib_lport_inuse(tbl, snum, sk)) return 1;
  sk.inet_num = snum;
  sk.udp_port_hash = snum;
  if (sk_reuseport(sk)) reuseport_add_sock(tbl, sk);
  let slot = tbl.hash.get(snum);
  if (!slot) tbl.hash.set(snum, (slot = []));
  // hlist_add_head_rcu(): the newest sock is found first among equals.
  slot.unshift(sk);
  tbl.all.add(sk);
  return 0;
}

/** udp_lib_unhash(). */
export function udp_lib_unhash(sk: UdpSock): void {
  if (!sk.udp_port_hash) return;
  const tbl = udp_table(sk.sk_net);
  const slot = tbl.hash.get(sk.udp_port_hash);
  if (slot) {
    const i = slot.indexOf(sk);
    if (i >= 0) slot.splice(i, 1);
    if (!slot.length) tbl.hash.delete(sk.udp_port_hash);
  }
  tbl.all.delete(sk);
  reuseport_detach_sock(sk);
  sk.udp_port_hash = 0;
  sk.inet_num = 0;
}

declare module '../core/net_namespace.js' {
  interface Net {
    /** The namespace's udp_table, kept on it for the receive path (no keyed lookup per datagram). */
    udp_tbl?: UdpTable;
  }
}

/** udp_table() for the per-datagram paths. */
function udp_tbl(net: Net): UdpTable {
  return net.udp_tbl ?? (net.udp_tbl = udp_table(net));
}

/** compute_score() of __udp4_lib_lookup: -1 = no match; connected socks score higher. */
function compute_score(sk: UdpSock, saddr: number, sport: number, daddr: number, dif: number): number {
  if (sk.inet_rcv_saddr && sk.inet_rcv_saddr !== daddr) return -1;
  let score = 2;
  if (sk.inet_daddr) {
    if (sk.inet_daddr !== saddr) return -1;
    score += 4;
  }
  if (sk.inet_dport) {
    if (sk.inet_dport !== sport) return -1;
    score += 4;
  }
  if (sk.sk_bound_dev_if) {
    if (sk.sk_bound_dev_if !== dif) return -1;
    score += 4;
  }
  // The exact-address hash chain is searched before the wildcard one.
  if (sk.inet_rcv_saddr) score += 1000;
  return score;
}

/**
 * __udp4_lib_lookup(): the best-scoring sock for a datagram from saddr:sport to daddr:dport;
 * a reuseport group answers with the member its flow hash picks (reuseport_select_sock).
 */
export function __udp4_lib_lookup(
  net: Net,
  saddr: number,
  sport: number,
  daddr: number,
  dport: number,
  dif: number,
): UdpSock | null {
  const slot = udp_tbl(net).hash.get(dport);
  if (!slot) return null;
  let result: UdpSock | null = null;
  let badness = -1;
  for (const sk of slot) {
    const score = compute_score(sk, saddr, sport, daddr, dif);
    if (score > badness) {
      badness = score;
      result = sk;
      const g = sk.reuseport_group;
      if (g && g.length > 1 && !g.some((m) => m.sk_state === TCP_ESTABLISHED)) {
        const hash = udp_ehashfn(net, daddr, dport, saddr, sport);
        return g[reciprocal_scale(hash, g.length)];
      }
    }
  }
  return result;
}

/** udp_lib_rehash(): nothing to move, the table is keyed by port only. */
function udp_lib_rehash(_sk: InetSock): void {}

// ——— sending ————————————————————————————————————————————————————————————————————

/** udp_cmsg_send(): SOL_UDP messages (UDP_SEGMENT); returns 1 when IP-level ones follow. */
function udp_cmsg_send(msg: Msghdr, ipc: IpcmCookie): number {
  let need_ip = 0;
  const err = for_each_cmsghdr(msg, (level, type, data, len) => {
    if (level !== S.SOL_UDP) {
      need_ip = 1;
      return 0;
    }
    if (type === I.UDP_SEGMENT) {
      if (len !== 16 + 2) return -E.EINVAL;
      ipc.gso_size = data[0] | (data[1] << 8);
      return 0;
    }
    return -E.EINVAL;
  });
  return err || need_ip;
}

// Scratch state of the send and receive paths: calls run one at a time and never re-enter
// these functions, so one of each serves every call without allocating.
const udp_ipc = new IpcmCookie();
const udp_fl4 = new Flowi4();
const udp_ebox = { v: 0 };
const udp_off = { v: 0 };

/** udp_sendmsg(). */
function udp_sendmsg(sk: InetSock, msg: Msghdr, len: number): number {
  const up = udp_sk(sk);
  const net = sk.sk_net;
  if (len > 0xffff) return -E.EMSGSIZE;
  if (msg.msg_flags & S.MSG_OOB) return -E.EOPNOTSUPP;
  const ulen = len + UDP_HLEN;
  let daddr: number;
  let dport: number;
  let connected = false;
  if (msg.msg_name) {
    if (msg.msg_namelen < I.SIZEOF_SOCKADDR_IN) return -E.EINVAL;
    const fam = sa_family(msg.msg_name);
    if (fam !== S.AF_INET && fam !== S.AF_UNSPEC) return -E.EAFNOSUPPORT;
    daddr = I.sockaddr_in_addr(msg.msg_name);
    dport = I.sockaddr_in_port(msg.msg_name);
    if (dport === 0) return -E.EINVAL;
  } else {
    if (sk.sk_state !== TCP_ESTABLISHED) return -E.EDESTADDRREQ;
    daddr = sk.inet_daddr;
    dport = sk.inet_dport;
    connected = true;
  }
  const ipc = udp_ipc;
  ipcm_init_sk(ipc, sk);
  ipc.gso_size = up.gso_size;
  if (msg.msg_controllen) {
    let err = udp_cmsg_send(msg, ipc);
    if (err > 0) err = ip_cmsg_send(msg, ipc);
    if (err < 0) return err;
    connected = false;
  }
  const saddr = ipc.addr;
  const tos = ipc.tos >= 0 ? ipc.tos : sk.tos;
  const scope = sock_flag(sk, SOCK_LOCALROUTE) || msg.msg_flags & S.MSG_DONTROUTE ? RT_SCOPE_LINK : 0;
  if (scope) connected = false;
  let rt = connected ? sk.sk_dst_cache : null;
  const fl4 = udp_fl4.init(daddr, saddr, tos, ipc.oif || sk.uc_index, scope, I.IPPROTO_UDP);
  fl4.anysrc = sk.transparent;
  fl4.sport = sk.inet_sport;
  fl4.dport = dport;
  if (rt) {
    fl4.saddr = saddr || sk.inet_saddr;
    if (!fl4.saddr) fl4.saddr = rt.rt_src;
  } else {
    const r = inet_route_output(net, fl4);
    if (typeof r === 'number') {
      if (r === -E.ENETUNREACH) IP_INC_STATS(net, IPSTATS_MIB_OUTNOROUTES);
      return udp_send_err(sk, r);
    }
    rt = r;
    if (rt_is_broadcast(rt) && !sock_flag(sk, SOCK_BROADCAST)) return udp_send_err(sk, -E.EACCES);
    if (connected) sk.sk_dst_cache = rt;
  }
  // __ip_append_data(): the whole datagram must fit an IPv4 packet (or the path, with DF).
  const mtu = dst_mtu(rt);
  const maxnonfragsize = ip_sk_ignore_df(sk) ? IP_MAX_MTU : mtu;
  if (ulen > maxnonfragsize - IPV4_HLEN) {
    ip_local_error(sk, E.EMSGSIZE, fl4.daddr, sk.inet_dport, mtu);
    return -E.EMSGSIZE;
  }
  // sock_alloc_send_skb(): a pending error, a shut-down sender, or a full send buffer.
  const ebox = udp_ebox;
  ebox.v = 0;
  const skb = sock_alloc_send_dgram(sk, rt, ulen, (msg.msg_flags & S.MSG_DONTWAIT) !== 0, ebox);
  if (!skb) return udp_send_err(sk, ebox.v);
  const o = skb.put(ulen);
  skb.transport_header = o;
  msg.msg_iter.copy_from_iter(skb.head, o + UDP_HLEN, len);
  const h = skb.head;
  h[o] = sk.inet_sport >> 8;
  h[o + 1] = sk.inet_sport & 0xff;
  h[o + 2] = dport >> 8;
  h[o + 3] = dport & 0xff;
  h[o + 4] = ulen >> 8;
  h[o + 5] = ulen & 0xff;
  h[o + 6] = 0;
  h[o + 7] = 0;
  // udp_send_skb(): the checksum over the pseudo-header; 0 goes out as all ones (RFC 768).
  // Through the loopback device nothing is computed, as on Linux (lo offers checksum offload):
  // the field carries only the pseudo-header sum (CHECKSUM_PARTIAL) and the receiver trusts it.
  let check: number;
  if (rt.dev.flags & IFF_LOOPBACK) {
    check = ~csum_tcpudp_magic(fl4.saddr, fl4.daddr, ulen, I.IPPROTO_UDP, 0) & 0xffff;
    skb.ip_summed = CHECKSUM_PARTIAL;
  } else {
    check = csum_tcpudp_magic(fl4.saddr, fl4.daddr, ulen, I.IPPROTO_UDP, csum_partial(h, o, ulen, 0));
    if (check === 0) check = CSUM_MANGLED_0;
  }
  h[o + 6] = check >> 8;
  h[o + 7] = check & 0xff;
  const ttl = ipc.ttl || ip_select_ttl(sk, rt, fl4.daddr);
  const prio = sk.sk_priority;
  if (ipc.priority >= 0) sk.sk_priority = ipc.priority;
  const err = ip_push_and_send(sk, skb, rt, fl4, I.IPPROTO_UDP, ttl, tos);
  sk.sk_priority = prio;
  if (err) {
    if (err === -E.ENOBUFS && !sk.recverr) {
      UDP_INC_STATS(net, UDP_MIB_SNDBUFERRORS);
      return len;
    }
    return udp_send_err(sk, err);
  }
  UDP_INC_STATS(net, UDP_MIB_OUTDATAGRAMS);
  return len;
}

function udp_send_err(sk: InetSock, err: number): number {
  if (err === -E.ENOBUFS || (sk.sk_socket && sk.sk_socket.flags & (1 << S.SOCK_NOSPACE)))
    UDP_INC_STATS(sk.sk_net, UDP_MIB_SNDBUFERRORS);
  return err;
}

// ——— receiving ——————————————————————————————————————————————————————————————————

/** The UDP header offset of a received skb. */
function udp_hdr_off(skb: SkBuff): number {
  return skb.transport_header >= 0 ? skb.transport_header : skb.data;
}

/** fib_compute_spec_dst(): the local address a reply to this datagram would come from. */
function spec_dst(skb: SkBuff): number {
  return ip_hdr_daddr(skb);
}

/** udp_queue_rcv_skb() → __udp_enqueue_schedule_skb(); counts the drop when the buffer is full. */
function udp_queue_rcv_skb(sk: UdpSock, skb: SkBuff): number {
  ipv4_pktinfo_prepare(sk, skb, spec_dst(skb));
  const rc = sock_queue_rcv_skb(sk, skb);
  if (rc < 0) {
    const net = sk.sk_net;
    if (rc === -E.ENOMEM) UDP_INC_STATS(net, UDP_MIB_RCVBUFERRORS);
    UDP_INC_STATS(net, UDP_MIB_INERRORS);
    kfree_skb(skb);
    return -1;
  }
  return 0;
}

/** __udp_is_mcast_sock(). */
function udp_is_mcast_sock(
  sk: UdpSock,
  loc_addr: number,
  loc_port: number,
  rmt_addr: number,
  rmt_port: number,
  dif: number,
): boolean {
  if (sk.udp_port_hash !== loc_port) return false;
  if (sk.inet_daddr && sk.inet_daddr !== rmt_addr) return false;
  if (sk.inet_dport && sk.inet_dport !== rmt_port) return false;
  if (sk.inet_rcv_saddr && sk.inet_rcv_saddr !== loc_addr) return false;
  if (sk.sk_bound_dev_if && sk.sk_bound_dev_if !== dif) return false;
  return true;
}

/** __udp4_lib_mcast_deliver(): a copy for every matching sock. */
function udp_mcast_deliver(
  net: Net,
  skb: SkBuff,
  saddr: number,
  sport: number,
  daddr: number,
  dport: number,
): number {
  const slot = udp_tbl(net).hash.get(dport);
  const dif = skb.skb_iif || (skb.dev ? skb.dev.ifindex : 0);
  const matches: UdpSock[] = [];
  if (slot)
    for (const sk of slot) if (udp_is_mcast_sock(sk, daddr, dport, saddr, sport, dif)) matches.push(sk);
  if (!matches.length) {
    UDP_INC_STATS(net, UDP_MIB_IGNOREDMULTI);
    kfree_skb(skb);
    return 0;
  }
  for (let i = 0; i < matches.length - 1; i++) {
    const c = skb_clone(skb);
    udp_queue_rcv_skb(matches[i], c);
  }
  udp_queue_rcv_skb(matches[matches.length - 1], skb);
  return 0;
}

/** __udp4_lib_rcv(): validate, find the sock, queue — or answer port unreachable. */
export function udp_rcv(skb: SkBuff): number {
  const dev = skb.dev;
  const net = dev ? dev.nd_net : null;
  if (!net) {
    kfree_skb(skb);
    return 0;
  }
  if (skb.transport_header < 0) skb.transport_header = skb.data;
  const o = udp_hdr_off(skb);
  const avail = skb.tail - o;
  if (avail < UDP_HLEN) {
    UDP_INC_STATS(net, UDP_MIB_INERRORS);
    kfree_skb(skb);
    return 0;
  }
  const h = skb.head;
  const sport = (h[o] << 8) | h[o + 1];
  const dport = (h[o + 2] << 8) | h[o + 3];
  const ulen = (h[o + 4] << 8) | h[o + 5];
  const check = (h[o + 6] << 8) | h[o + 7];
  const saddr = ip_hdr_saddr(skb);
  const daddr = ip_hdr_daddr(skb);
  // short_packet: a length beyond the data, or below the header.
  if (ulen > avail || ulen < UDP_HLEN) {
    UDP_INC_STATS(net, UDP_MIB_INERRORS);
    kfree_skb(skb);
    return 0;
  }
  // pskb_trim_rcsum(): IP padding beyond the UDP length goes.
  skb.tail = o + ulen;
  // udp4_csum_init(): a zero checksum means none was computed (RFC 768); a datagram a UDP socket
  // sent through lo is CHECKSUM_PARTIAL and trusted (skb_csum_unnecessary); anything else must
  // add up over the pseudo-header — a raw socket's hand-made datagram on lo is CHECKSUM_NONE and
  // verified, as on Linux.
  if (check !== 0 && skb.ip_summed !== CHECKSUM_PARTIAL && skb.ip_summed !== CHECKSUM_UNNECESSARY) {
    const c = csum_tcpudp_magic(saddr, daddr, ulen, I.IPPROTO_UDP, csum_partial(h, o, ulen, 0));
    if (c !== 0) {
      UDP_INC_STATS(net, UDP_MIB_CSUMERRORS);
      UDP_INC_STATS(net, UDP_MIB_INERRORS);
      kfree_skb(skb);
      return 0;
    }
  }
  skb.ip_summed = CHECKSUM_UNNECESSARY;
  const rt = skb.dst as { rt_type: number; rt_flags: number } | null;
  if (rt && (rt_is_broadcast(rt as never) || rt_is_multicast(rt as never)))
    return udp_mcast_deliver(net, skb, saddr, sport, daddr, dport);
  const dif = skb.skb_iif || (dev ? dev.ifindex : 0);
  const sk = __udp4_lib_lookup(net, saddr, sport, daddr, dport, dif);
  if (sk) {
    udp_queue_rcv_skb(sk, skb);
    return 0;
  }
  UDP_INC_STATS(net, UDP_MIB_NOPORTS);
  // The ICMP error quotes the IP header: hand icmp_send the packet as it arrived.
  icmp_send(skb, I.ICMP_DEST_UNREACH, I.ICMP_PORT_UNREACH, 0);
  kfree_skb(skb);
  return 0;
}

/** icmp_err_convert[]: errno and whether the error is hard, by ICMP_DEST_UNREACH code. */
export const icmp_err_convert: readonly { errno: number; fatal: boolean }[] = [
  { errno: E.ENETUNREACH, fatal: false },
  { errno: E.EHOSTUNREACH, fatal: false },
  { errno: E.ENOPROTOOPT, fatal: true },
  { errno: E.ECONNREFUSED, fatal: true },
  { errno: E.EMSGSIZE, fatal: false },
  { errno: E.EOPNOTSUPP, fatal: false },
  { errno: E.ENETUNREACH, fatal: true },
  { errno: E.EHOSTDOWN, fatal: true },
  { errno: E.ENONET, fatal: true },
  { errno: E.ENETUNREACH, fatal: true },
  { errno: E.EHOSTUNREACH, fatal: true },
  { errno: E.ENETUNREACH, fatal: false },
  { errno: E.EHOSTUNREACH, fatal: false },
  { errno: E.EHOSTUNREACH, fatal: true },
  { errno: E.EHOSTUNREACH, fatal: true },
  { errno: E.EHOSTUNREACH, fatal: true },
];

/**
 * Where the parts of a received ICMP error are: the ICMP header at skb.transport_header (or
 * before the quoted header), the quoted IPv4 header at skb.data.
 */
export function icmp_err_parts(skb: SkBuff): { type: number; code: number; q: number; qihl: number } | null {
  const q = skb.data;
  if (skb.tail - q < 20) return null;
  const qihl = (skb.head[q] & 0x0f) * 4;
  const t = skb.transport_header >= 0 && skb.transport_header < q ? skb.transport_header : q - 8;
  if (t < 0) return null;
  return { type: skb.head[t], code: skb.head[t + 1], q, qihl };
}

/** ipv4_sk_update_pmtu(): remember a smaller path MTU on the sock's cached route. */
function ipv4_sk_update_pmtu(sk: InetSock, mtu: number): void {
  const rt = sk.sk_dst_cache;
  if (rt && mtu >= 68 && mtu < dst_mtu(rt)) rt.rt_pmtu = mtu;
}

/** __udp4_lib_err(): an ICMP error about a datagram we sent. */
export function udp_err(skb: SkBuff, info: number): number {
  const net = skb.dev ? skb.dev.nd_net : null;
  const parts = icmp_err_parts(skb);
  if (!net || !parts) return -E.ENOENT;
  const { type, code, q, qihl } = parts;
  const h = skb.head;
  if (skb.tail - (q + qihl) < 4) return -E.ENOENT;
  const qsaddr = ((h[q + 12] << 24) | (h[q + 13] << 16) | (h[q + 14] << 8) | h[q + 15]) >>> 0;
  const qdaddr = ((h[q + 16] << 24) | (h[q + 17] << 16) | (h[q + 18] << 8) | h[q + 19]) >>> 0;
  const u = q + qihl;
  const usport = (h[u] << 8) | h[u + 1];
  const udport = (h[u + 2] << 8) | h[u + 3];
  // The datagram went from us: look ourselves up with the addresses reversed.
  const sk = __udp4_lib_lookup(net, qdaddr, udport, qsaddr, usport, skb.skb_iif);
  if (!sk) {
    ICMP_INC_STATS(net, ICMP_MIB_INERRORS);
    return -E.ENOENT;
  }
  let err = 0;
  let harderr = false;
  switch (type) {
    case I.ICMP_SOURCE_QUENCH:
      return 0;
    case I.ICMP_PARAMETERPROB:
      err = E.EPROTO;
      harderr = true;
      break;
    case I.ICMP_DEST_UNREACH:
      if (code === I.ICMP_FRAG_NEEDED) {
        ipv4_sk_update_pmtu(sk, info);
        if (sk.pmtudisc !== I.IP_PMTUDISC_DONT) {
          err = E.EMSGSIZE;
          harderr = true;
          break;
        }
        return 0;
      }
      err = E.EHOSTUNREACH;
      if (code <= I.NR_ICMP_UNREACH) {
        harderr = icmp_err_convert[code].fatal;
        err = icmp_err_convert[code].errno;
      }
      break;
    case I.ICMP_REDIRECT:
      return 0;
    default:
      err = E.EHOSTUNREACH;
      break;
  }
  if (!sk.recverr) {
    if (!harderr || sk.sk_state !== TCP_ESTABLISHED) return 0;
  } else {
    const payload = skb.head.subarray(Math.min(u + UDP_HLEN, skb.tail), skb.tail);
    ip_icmp_error(sk, skb, err, type, code, qdaddr, udport, info, payload);
  }
  sk.sk_err = err;
  sk.sk_error_report(sk);
  return 0;
}

/** udp_recvmsg(). */
function udp_recvmsg(sk: InetSock, msg: Msghdr, len: number, flags: number): number {
  if (flags & S.MSG_ERRQUEUE) return ip_recv_error(sk, msg, len);
  const peeking = (flags & S.MSG_PEEK) !== 0;
  const off = udp_off;
  off.v = sk_peek_offset(sk, flags);
  const err = udp_ebox;
  err.v = 0;
  const skb = skb_recv_datagram(sk, sk.sk_receive_queue, flags, off, err);
  if (!skb) return err.v;
  const o = udp_hdr_off(skb) + UDP_HLEN;
  const ulen = skb.tail - o;
  let copied = len;
  if (copied > ulen - off.v) copied = ulen - off.v;
  else if (copied < ulen) msg.msg_flags |= S.MSG_TRUNC;
  msg.msg_iter.copy_to_iter(skb.head, o + off.v, copied);
  if (!peeking) UDP_INC_STATS(sk.sk_net, UDP_MIB_INDATAGRAMS);
  const h = skb.head;
  const uo = udp_hdr_off(skb);
  put_msg_name_in(msg, ip_hdr_saddr(skb), (h[uo] << 8) | h[uo + 1]);
  if (sk.cmsg_flags) ip_cmsg_recv(msg, sk, skb);
  const ret = flags & S.MSG_TRUNC ? ulen : copied;
  sk_peek_offset_update(sk, flags, peeking ? copied : ulen);
  if (!peeking) kfree_skb(skb);
  return ret;
}

/** first_packet_length(): the payload of the next datagram, or -1. */
function first_packet_length(sk: Sock): number {
  const skb = sk.sk_receive_queue.peek();
  return skb ? skb.tail - udp_hdr_off(skb) - UDP_HLEN : -1;
}

/** udp_ioctl(). */
function udp_ioctl(sk: InetSock, cmd: number, arg: IoctlArg): number {
  switch (cmd) {
    case S.SIOCOUTQ:
      arg.value = sk.sk_wmem_alloc;
      return 0;
    case S.SIOCINQ:
      arg.value = Math.max(0, first_packet_length(sk));
      return 0;
    default:
      return -ENOIOCTLCMD;
  }
}

/** udp_poll(): datagram_poll. */
function udp_poll(file: File, sock: Socket, wait: PollTable | null): number {
  return datagram_poll(file, sock, wait);
}

/** __udp_disconnect(). */
export function udp_disconnect(sk: InetSock, _flags: number): number {
  const up = udp_sk(sk);
  sk.sk_state = TCP_CLOSE;
  sk.inet_daddr = 0;
  sk.inet_dport = 0;
  sk.sk_bound_dev_if = 0;
  if (!(sk.sk_userlocks & SOCK_BINDADDR_LOCK)) sk.inet_rcv_saddr = sk.inet_saddr = 0;
  if (!(sk.sk_userlocks & SOCK_BINDPORT_LOCK)) {
    udp_lib_unhash(up);
    sk.inet_sport = 0;
  }
  sk.sk_dst_cache = null;
  return 0;
}

/** udp_lib_setsockopt() for SOL_UDP, ip_setsockopt() otherwise. */
function udp_setsockopt(
  sk: InetSock,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: number,
): number {
  if (level !== S.SOL_UDP) return ip_setsockopt(sk, level, optname, optval, optlen);
  const up = udp_sk(sk);
  if (optlen < 4) return -E.EINVAL;
  const val = new DataView(optval.buffer, optval.byteOffset, 4).getInt32(0, true);
  const on = val !== 0;
  switch (optname) {
    case I.UDP_CORK:
      // Corking is not implemented beyond the flag: datagrams still go out one per call.
      up.corkflag = on;
      return 0;
    case I.UDP_ENCAP:
      return val === 0 ? 0 : -E.ENOPROTOOPT;
    case I.UDP_NO_CHECK6_TX:
      up.no_check6_tx = on;
      return 0;
    case I.UDP_NO_CHECK6_RX:
      up.no_check6_rx = on;
      return 0;
    case I.UDP_SEGMENT:
      if (val < 0 || val > 0xffff) return -E.EINVAL;
      up.gso_size = val;
      return 0;
    case I.UDP_GRO:
      up.gro_enabled = on;
      return 0;
    default:
      return -E.ENOPROTOOPT;
  }
}

/** udp_lib_getsockopt() for SOL_UDP. */
function udp_getsockopt(
  sk: InetSock,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: IoctlArg,
): number {
  if (level !== S.SOL_UDP) return ip_getsockopt(sk, level, optname, optval, optlen);
  const up = udp_sk(sk);
  let len = optlen.value;
  if (len < 0) return -E.EINVAL;
  len = Math.min(len, 4);
  let val: number;
  switch (optname) {
    case I.UDP_CORK:
      val = up.corkflag ? 1 : 0;
      break;
    case I.UDP_NO_CHECK6_TX:
      val = up.no_check6_tx ? 1 : 0;
      break;
    case I.UDP_NO_CHECK6_RX:
      val = up.no_check6_rx ? 1 : 0;
      break;
    case I.UDP_SEGMENT:
      val = up.gso_size;
      break;
    case I.UDP_GRO:
      val = up.gro_enabled ? 1 : 0;
      break;
    default:
      return -E.ENOPROTOOPT;
  }
  return put_optval_int(optval, optlen, val, len);
}

/** udp_lib_close() → sk_common_release(): unhash and drop what is queued. */
function udp_close(sk: Sock, _timeout: number): void {
  udp_lib_unhash(udp_sk(sk));
  sk.sk_state = TCP_CLOSE;
  sk.sk_receive_queue.purge();
  sk.sk_error_queue.purge();
}

/** udp_init_sock(). */
function udp_init_sock(sk: Sock): number {
  inet_sk_init(sk as InetSock);
  return 0;
}

export const udp_prot: InetProto = {
  name: 'UDP',
  alloc: (net) => new UdpSock(net),
  init: udp_init_sock,
  close: udp_close,
  get_port: (sk, snum) => udp_lib_get_port(udp_sk(sk), snum),
  unhash: (sk) => udp_lib_unhash(udp_sk(sk)),
  rehash: udp_lib_rehash,
  connect: ip4_datagram_connect,
  disconnect: udp_disconnect,
  sendmsg: udp_sendmsg,
  recvmsg: udp_recvmsg,
  ioctl: udp_ioctl,
  setsockopt: udp_setsockopt,
  getsockopt: udp_getsockopt,
  poll: udp_poll,
};

/** The inetsw entry of UDP. */
export const udp_protosw: InetProtosw = {
  type: S.SOCK_DGRAM,
  protocol: I.IPPROTO_UDP,
  prot: udp_prot,
  ops: inet_dgram_ops,
  flags: INET_PROTOSW_PERMANENT,
};

/** udp_init(): UDP joins inetsw and inet_protos of a namespace. */
export function udp_init(net: Net): void {
  inet_register_protosw(net, udp_protosw);
  inet_add_protocol(net, I.IPPROTO_UDP, { handler: udp_rcv, err_handler: udp_err });
}

// ——— /proc/net/udp ———————————————————————————————————————————————————————————————

const hex = (n: number, w: number): string => (n >>> 0).toString(16).toUpperCase().padStart(w, '0');

/** An address as /proc prints a __be32 with %08X on a little-endian machine. */
export function proc_addr(a: number): string {
  const le = (((a & 0xff) << 24) | ((a & 0xff00) << 8) | ((a >>> 8) & 0xff00) | (a >>> 24)) >>> 0;
  return hex(le, 8);
}

/** udp4_seq_show(): the text of /proc/net/udp, each line padded to 127 columns. */
export function udp4_seq_show(net: Net): string {
  const pad = (s: string): string => s.padEnd(127) + '\n';
  let out = pad(
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
  );
  const tbl = udp_table(net);
  const socks = [...tbl.all].sort((a, b) => udp_hashslot(a) - udp_hashslot(b));
  for (const sk of socks) {
    out += pad(
      `${String(udp_hashslot(sk)).padStart(5)}: ${proc_addr(sk.inet_rcv_saddr)}:${hex(sk.inet_num, 4)} ` +
        `${proc_addr(sk.inet_daddr)}:${hex(sk.inet_dport, 4)} ${hex(sk.sk_state, 2)} ` +
        `${hex(sk.sk_wmem_alloc, 8)}:${hex(sk.sk_rmem_alloc, 8)} 00:00000000 00000000 ` +
        `${String(sk.sk_uid).padStart(5)} ${String(0).padStart(8)} ${sk.ino} 2 0000000000000000 ${sk.sk_drops}`,
    );
  }
  return out;
}

/** The hash bucket /proc/net/udp shows (udp_hashfn with the table's mask). */
function udp_hashslot(sk: UdpSock): number {
  return sk.inet_num & udp_table(sk.sk_net).mask;
}

/** The hashed UDP socks of a namespace, in bind order. */
export function udp_sockets(net: Net): UdpSock[] {
  return [...udp_table(net).all];
}

/**
 * An `ss -uan`-like listing (what udp_diag reports): state, receive and send queue bytes, local
 * and peer address. Unconnected sockets are UNCONN with a peer of 0.0.0.0:*.
 */
export function udp_ss_show(net: Net): string {
  const rows: string[][] = [['State', 'Recv-Q', 'Send-Q', 'Local Address:Port', 'Peer Address:Port']];
  for (const sk of udp_table(net).all) {
    const local = `${I.inet_ntoa(sk.inet_rcv_saddr)}:${sk.inet_num}`;
    const peer = sk.inet_dport
      ? `${I.inet_ntoa(sk.inet_daddr)}:${sk.inet_dport}`
      : `${I.inet_ntoa(sk.inet_daddr)}:*`;
    rows.push([
      sk.sk_state === TCP_ESTABLISHED ? 'ESTAB' : 'UNCONN',
      String(sk.sk_rmem_alloc),
      String(sk.sk_wmem_alloc),
      local,
      peer,
    ]);
  }
  const w = [6, 6, 6, 0, 0];
  for (const r of rows) r.forEach((c, i) => (w[i] = Math.max(w[i], c.length)));
  return (
    rows
      .map((r) =>
        [
          r[0].padEnd(w[0]),
          r[1].padStart(w[1]),
          r[2].padStart(w[2]),
          r[3].padStart(w[3]),
          r[4].padStart(w[4]),
        ]
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
