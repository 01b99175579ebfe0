// TCP over IPv4 (net/ipv4/tcp_ipv4.c): connect, the receive entry point tcp_v4_rcv with the
// socket lookup, the listener's SYN handling (tcp_conn_request: request socks, SYN cookies,
// the SYN-ACK and its timer), RST and ACK replies sent without a socket, ICMP errors.

import type { Net } from '../core/net_namespace.js';
import type { SkBuff } from '../core/skbuff.js';
import { alloc_skb, kfree_skb, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY } from '../core/skbuff.js';
import {
  TCP_CLOSE,
  TCP_ESTABLISHED,
  TCP_LISTEN,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIME_WAIT,
  SOCK_DEAD,
  sock_flag,
} from '../core/sock.js';
import { csum_partial, csum_tcpudp_magic } from '../../wire/checksum.js';
import * as E from '../../uapi/errno.js';
import * as I from '../../uapi/in.js';
import { IPPROTO_TCP, SIZEOF_SOCKADDR_IN, sockaddr_in_addr, sockaddr_in_port } from '../../uapi/in.js';
import { AF_INET } from '../../uapi/socket.js';
import { IFF_LOOPBACK } from '../../uapi/if.js';
import { TCPHDR_ACK, TCPHDR_FIN, TCPHDR_RST, TCPHDR_SYN } from '../../uapi/tcp.js';
import {
  Flowi4,
  inet_route_output,
  ip_hdr_saddr,
  ip_hdr_daddr,
  ip_hdr_tos,
  ipv4_sysctl,
  rt_is_broadcast,
  rt_is_multicast,
  dst_mtu,
  type InetSock,
} from './inet_dgram.js';
import type { Rtable } from './route.js';
import { RTN_LOCAL } from './fib.js';
import { ip_build_header, ip_local_out } from './ip_output.js';
import {
  TcpSock,
  RequestSock,
  TCP_SKB_CB,
  TcpOptionsReceived,
  TCP_HDR_MIN,
  TCP_MSS_DEFAULT,
  TCP_TIMEOUT_INIT,
  TCP_RTO_MAX,
  TCPOLEN_TSTAMP_ALIGNED,
  TCPOPT_NOP,
  TCPOPT_TIMESTAMP,
  TCPOLEN_TIMESTAMP,
  after,
  before,
  tcp_clock_ms,
  tcp_jiffies32,
  tcp_full_space,
} from './tcp_sock.js';
import {
  tcp_hashinfo,
  inet_ehash_insert,
  inet_ehash_remove,
  inet_hash_connect,
  inet_put_port,
  inet_unhash,
  __inet_lookup_established,
  __inet_lookup_listener,
} from './inet_hashtables.js';
import { InetTimewaitSock } from './inet_timewait_sock.js';
import {
  inet_csk_reqsk_queue_is_full,
  sk_acceptq_is_full,
  inet_csk_clear_xmit_timers,
} from './inet_connection_sock.js';
import {
  tcp_connect,
  tcp_v4_send_synack,
  tcp_rtx_synack,
  tcp_select_initial_window,
  dst_metric_advmss,
  tcp_sync_mss,
} from './tcp_output.js';
import {
  tcp_rcv_established,
  tcp_rcv_state_process,
  tcp_parse_options,
  tcp_simple_retransmit,
  tcp_ecn_create_request,
} from './tcp_input.js';
import {
  tcp_check_req,
  tcp_timewait_state_process,
  tcp_twsk_unique,
  inet_twsk_kill,
  TW_SYN,
  TW_ACK,
  TW_RST,
} from './tcp_minisocks.js';
import { tcp_set_state, tcp_done_with_error, tcp_write_queue_purge } from './tcp.js';
import { secure_tcp_seq, secure_tcp_ts_off } from '../core/secure_seq.js';
import { __cookie_v4_init_sequence, cookie_init_timestamp } from './syncookies.js';
import {
  TCP_INC_STATS,
  NET_INC_STATS,
  linux_mib_index,
  TCP_MIB_INSEGS,
  TCP_MIB_INERRS,
  TCP_MIB_CSUMERRORS,
  TCP_MIB_OUTSEGS,
  TCP_MIB_OUTRSTS,
} from './snmp.js';
import { icmp_err_parts } from './udp.js';
import { INET_ECN_MASK } from './inet_ecn.js';
import { icmp_err_convert } from './icmp.js';
import { ip_icmp_error } from './ip_sockglue.js';

const MIB_LISTENDROPS = linux_mib_index('ListenDrops');
const MIB_LISTENOVERFLOWS = linux_mib_index('ListenOverflows');
const MIB_TCPREQQFULLDOCOOKIES = linux_mib_index('TCPReqQFullDoCookies');
const MIB_TCPREQQFULLDROP = linux_mib_index('TCPReqQFullDrop');
const MIB_OUTOFWINDOWICMPS = linux_mib_index('OutOfWindowIcmps');
const MIB_TCPTIMEOUTS = linux_mib_index('TCPTimeouts');
const MIB_SYNCOOKIESSENT = linux_mib_index('SyncookiesSent');

// ——— connect ————————————————————————————————————————————————————————————————————————

/** tcp_v4_connect(). */
export function tcp_v4_connect(tp: TcpSock, uaddr: Uint8Array, addr_len: number): number {
  if (addr_len < SIZEOF_SOCKADDR_IN) return -E.EINVAL;
  if ((uaddr[0] | (uaddr[1] << 8)) !== AF_INET) return -E.EAFNOSUPPORT;
  const net = tp.sk_net;
  let daddr = sockaddr_in_addr(uaddr);
  const dport = sockaddr_in_port(uaddr);
  const fl4 = new Flowi4().init(daddr, tp.inet_saddr, tp.tos, tp.sk_bound_dev_if, 0, IPPROTO_TCP);
  fl4.sport = tp.inet_sport;
  fl4.dport = dport;
  const rt = inet_route_output(net, fl4);
  if (typeof rt === 'number') {
    if (rt === -E.ENETUNREACH) TCP_INC_STATS(net, 0);
    return rt;
  }
  if (rt_is_broadcast(rt) || rt_is_multicast(rt)) return -E.ENETUNREACH;
  daddr = fl4.daddr;
  if (!tp.inet_saddr) tp.inet_saddr = fl4.saddr;
  tp.inet_rcv_saddr = tp.inet_saddr;
  if (tp.rx_opt.ts_recent_stamp && tp.inet_daddr !== daddr) {
    // Reset inherited state.
    tp.rx_opt.ts_recent = 0;
    tp.rx_opt.ts_recent_stamp = 0;
    tp.write_seq = 0;
  }
  tp.inet_dport = dport;
  tp.inet_daddr = daddr;
  tp.icsk_ext_hdr_len = 0;
  tp.rx_opt.mss_clamp = TCP_MSS_DEFAULT;
  tcp_set_state(tp, TCP_SYN_SENT);
  const err = inet_hash_connect(tp, (sk, tw) => tcp_twsk_unique(sk, tw, true), inet_twsk_kill);
  if (err) {
    tcp_set_state(tp, TCP_CLOSE);
    tp.inet_dport = 0;
    return -E.EADDRNOTAVAIL;
  }
  tp.sk_dst_cache = rt;
  if (!tp.write_seq) tp.write_seq = secure_tcp_seq(net, tp.inet_saddr, tp.inet_daddr, tp.inet_sport, dport);
  tp.tsoffset = secure_tcp_ts_off(net, tp.inet_saddr, tp.inet_daddr, ipv4_sysctl(net).sysctl_tcp_timestamps);
  tp.inet_id = net.kernel.prandom.get_random_u32() & 0xffff;
  const e = tcp_connect(tp);
  if (e) {
    tcp_set_state(tp, TCP_CLOSE);
    tp.sk_dst_cache = null;
    tp.inet_dport = 0;
    return e;
  }
  return 0;
}

// ——— replies without a socket ——————————————————————————————————————————————————————

function put32(h: Uint8Array, o: number, v: number): void {
  h[o] = v >>> 24;
  h[o + 1] = (v >>> 16) & 0xff;
  h[o + 2] = (v >>> 8) & 0xff;
  h[o + 3] = v & 0xff;
}
function get32(h: Uint8Array, o: number): number {
  return ((h[o] << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]) >>> 0;
}

/**
 * ip_send_unicast_reply() for TCP's control socket: a segment back to the sender of `skb`, from
 * the address it was sent to. `opt` is 0 or 12 bytes of timestamp option.
 */
function tcp_v4_send_reply(
  net: Net,
  skb: SkBuff,
  seq: number,
  ack: number,
  flags: number,
  win: number,
  ts: { tsval: number; tsecr: number } | null,
  tos: number,
): void {
  const saddr = ip_hdr_daddr(skb);
  const daddr = ip_hdr_saddr(skb);
  const h0 = skb.head;
  const th = skb.transport_header;
  const sport = (h0[th + 2] << 8) | h0[th + 3];
  const dport = (h0[th] << 8) | h0[th + 1];
  const fl = new Flowi4().init(daddr, saddr, tos, 0, 0, IPPROTO_TCP);
  fl.anysrc = true;
  const rt = inet_route_output(net, fl);
  if (typeof rt === 'number') return;
  const hlen = TCP_HDR_MIN + (ts ? TCPOLEN_TSTAMP_ALIGNED : 0);
  const out = alloc_skb(320 + hlen);
  out.reserve(320);
  const o = out.put(hlen);
  const h = out.head;
  h[o] = sport >>> 8;
  h[o + 1] = sport & 0xff;
  h[o + 2] = dport >>> 8;
  h[o + 3] = dport & 0xff;
  put32(h, o + 4, seq);
  put32(h, o + 8, ack);
  h[o + 12] = (hlen >>> 2) << 4;
  h[o + 13] = flags;
  h[o + 14] = win >>> 8;
  h[o + 15] = win & 0xff;
  if (ts) {
    h[o + 20] = TCPOPT_NOP;
    h[o + 21] = TCPOPT_NOP;
    h[o + 22] = TCPOPT_TIMESTAMP;
    h[o + 23] = TCPOLEN_TIMESTAMP;
    put32(h, o + 24, ts.tsval);
    put32(h, o + 28, ts.tsecr);
  }
  out.transport_header = o;
  if (rt.dev.flags & IFF_LOOPBACK) out.ip_summed = CHECKSUM_PARTIAL;
  else {
    const c = csum_tcpudp_magic(fl.saddr, daddr, hlen, IPPROTO_TCP, csum_partial(h, o, hlen, 0));
    h[o + 16] = c >>> 8;
    h[o + 17] = c & 0xff;
  }
  out.dst = rt;
  ip_build_header(
    net,
    out,
    fl.saddr,
    daddr,
    IPPROTO_TCP,
    ipv4_sysctl(net).sysctl_ip_default_ttl,
    tos & ~INET_ECN_MASK, // ip_send_unicast_reply(): replies are never ECN-capable
    true,
    null,
    null,
  );
  TCP_INC_STATS(net, TCP_MIB_OUTSEGS);
  ip_local_out(net, null, out);
}

/** tcp_v4_send_reset(): answer a segment that has no connection with a RST (never a RST to a RST). */
export function tcp_v4_send_reset(net: Net, skb: SkBuff, sk_found: boolean): void {
  const cb = TCP_SKB_CB(skb);
  if (cb.tcp_flags & TCPHDR_RST) return;
  const rt = skb.dst as Rtable | null;
  if (!sk_found && rt && rt.rt_type !== RTN_LOCAL) return;
  const h = skb.head;
  const th = skb.transport_header;
  let seq = 0;
  let ack = 0;
  let flags = TCPHDR_RST;
  if (cb.tcp_flags & TCPHDR_ACK) seq = get32(h, th + 8);
  else {
    flags |= TCPHDR_ACK;
    ack = cb.end_seq;
  }
  TCP_INC_STATS(net, TCP_MIB_OUTRSTS);
  tcp_v4_send_reply(net, skb, seq, ack, flags, 0, null, 0);
}

/** tcp_v4_send_ack(): an ACK for a TIME_WAIT or request sock. */
function tcp_v4_send_ack(
  net: Net,
  skb: SkBuff,
  seq: number,
  ack: number,
  win: number,
  tsval: number,
  tsecr: number,
  ts: boolean,
  tos: number,
): void {
  tcp_v4_send_reply(net, skb, seq, ack, TCPHDR_ACK, win, ts ? { tsval, tsecr } : null, tos);
}

/** tcp_v4_timewait_ack(). */
export function tcp_v4_timewait_ack(tw: InetTimewaitSock, skb: SkBuff): void {
  tcp_v4_send_ack(
    tw.tw_net,
    skb,
    tw.tw_snd_nxt,
    tw.tw_rcv_nxt,
    tw.tw_rcv_wnd >>> tw.tw_rcv_wscale,
    (tcp_clock_ms(tw.tw_net) + tw.tw_ts_offset) >>> 0,
    tw.tw_ts_recent,
    tw.tw_ts_recent_stamp !== 0,
    tw.tw_tos,
  );
}

/** tcp_v4_reqsk_send_ack(): an ACK from a request sock (its SYN-ACK's sequence). */
export function tcp_v4_reqsk_send_ack(listener: TcpSock, skb: SkBuff, req: RequestSock): void {
  tcp_v4_send_ack(
    listener.sk_net,
    skb,
    (req.snt_isn + 1) >>> 0,
    (req.rcv_isn + 1) >>> 0,
    req.rsk_rcv_wnd >>> req.rcv_wscale,
    (tcp_clock_ms(listener.sk_net) + req.ts_off) >>> 0,
    req.ts_recent,
    req.tstamp_ok !== 0,
    listener.tos,
  );
}

// ——— the listener: SYN → request sock ——————————————————————————————————————————————

/** tcp_syn_flood_action(): SYN cookies, or a drop. */
function tcp_syn_flood_action(net: Net): boolean {
  const syncookies = ipv4_sysctl(net).sysctl_tcp_syncookies;
  if (syncookies) {
    NET_INC_STATS(net, MIB_TCPREQQFULLDOCOOKIES);
    return true;
  }
  NET_INC_STATS(net, MIB_TCPREQQFULLDROP);
  return false;
}

/** reqsk_timeout(). */
function reqsk_timeout(req: RequestSock, max_timeout: number): number {
  return Math.min(TCP_TIMEOUT_INIT * 2 ** req.num_timeout, max_timeout);
}

/** Arm the SYN-ACK timer of a request. */
function reqsk_arm(req: RequestSock, timeo: number): void {
  const clock = req.rsk_listener.sk_net.kernel.clock;
  clock.mod_timer(req.rsk_timer, clock.now() + timeo * 4_000_000);
}

/** inet_csk_reqsk_queue_drop(): the request leaves the ehash and the SYN queue. */
export function inet_csk_reqsk_queue_drop(listener: TcpSock, req: RequestSock): boolean {
  const net = listener.sk_net;
  net.kernel.clock.del_timer(req.rsk_timer);
  if (!req.hashed) return false;
  inet_ehash_remove(net, req);
  const q = listener.icsk_accept_queue;
  q.qlen--;
  if (req.num_timeout === 0) q.young--;
  listener.pending_reqs?.delete(req);
  return true;
}

/** Drop a request when its listener goes away. */
export function tcp_v4_drop_req(req: RequestSock): void {
  inet_csk_reqsk_queue_drop(req.rsk_listener, req);
}

/** reqsk_timer_handler(): retransmit the SYN-ACK, or give up on the request. */
function reqsk_timer_handler(req: RequestSock): void {
  const listener = req.rsk_listener;
  const net = listener.sk_net;
  if (listener.sk_state !== TCP_LISTEN || !req.hashed) {
    inet_csk_reqsk_queue_drop(listener, req);
    return;
  }
  const q = listener.icsk_accept_queue;
  let max_syn_ack_retries = listener.icsk_syn_retries || ipv4_sysctl(net).sysctl_tcp_synack_retries;
  const qlen = q.qlen;
  if (qlen << 1 > Math.max(8, listener.sk_max_ack_backlog)) {
    let young = q.young << 1;
    while (max_syn_ack_retries > 2) {
      if (qlen < young) break;
      max_syn_ack_retries--;
      young <<= 1;
    }
  }
  const defer = q.rskq_defer_accept;
  let expire: boolean;
  let resend: boolean;
  if (!defer) {
    expire = req.num_timeout >= max_syn_ack_retries;
    resend = true;
  } else {
    expire = req.num_timeout >= max_syn_ack_retries && (!req.acked || req.num_timeout >= defer);
    resend = !req.acked || req.num_timeout >= defer - 1;
  }
  NET_INC_STATS(net, MIB_TCPTIMEOUTS);
  if (!expire && (!resend || !tcp_rtx_synack_req(listener, req) || req.acked)) {
    if (req.num_timeout++ === 0) q.young--;
    reqsk_arm(req, reqsk_timeout(req, TCP_RTO_MAX));
    return;
  }
  inet_csk_reqsk_queue_drop(listener, req);
}

function tcp_rtx_synack_req(listener: TcpSock, req: RequestSock): number {
  const r = tcp_rtx_synack(listener, req);
  if (!r) {
    req.num_retrans++;
    listener.total_retrans++;
  }
  return r;
}

/** inet_rtx_syn_ack(): a retransmitted SYN gets the SYN-ACK again at once. */
export function inet_rtx_syn_ack(listener: TcpSock, req: RequestSock): number {
  const r = tcp_rtx_synack_req(listener, req);
  if (!r) reqsk_arm(req, reqsk_timeout(req, TCP_RTO_MAX));
  return r;
}

/** tcp_v4_conn_request() → tcp_conn_request(): a SYN to a listener. `isn`: from TIME_WAIT. */
function tcp_v4_conn_request(listener: TcpSock, skb: SkBuff, isn: number): void {
  const net = listener.sk_net;
  const ipv4 = ipv4_sysctl(net);
  const cb = TCP_SKB_CB(skb);
  // Never answer SYNs sent to broadcast or multicast.
  const rt = skb.dst as Rtable | null;
  if (rt && (rt_is_broadcast(rt) || rt_is_multicast(rt))) {
    NET_INC_STATS(net, MIB_LISTENDROPS);
    return;
  }
  const syncookies = ipv4.sysctl_tcp_syncookies;
  let want_cookie = false;
  if ((syncookies === 2 || inet_csk_reqsk_queue_is_full(listener)) && !isn) {
    want_cookie = tcp_syn_flood_action(net);
    if (!want_cookie) return listendrop(net);
  }
  if (sk_acceptq_is_full(listener)) {
    NET_INC_STATS(net, MIB_LISTENOVERFLOWS);
    return listendrop(net);
  }
  const req = new RequestSock(listener, () => reqsk_timer_handler(req));
  req.syncookie = want_cookie ? 1 : 0;
  const tmp = new TcpOptionsReceived();
  tmp.mss_clamp = TCP_MSS_DEFAULT;
  tmp.user_mss = listener.rx_opt.user_mss;
  tcp_parse_options(ipv4, skb.head, skb.transport_header, tmp, false, true);
  if (want_cookie && !tmp.saw_tstamp) tmp.clear();
  tmp.tstamp_ok = tmp.saw_tstamp;
  // tcp_openreq_init().
  req.rsk_rcv_wnd = 0;
  req.rcv_isn = cb.seq;
  req.mss = tmp.mss_clamp;
  req.ts_recent = tmp.saw_tstamp ? tmp.rcv_tsval : 0;
  req.tstamp_ok = tmp.tstamp_ok;
  req.sack_ok = tmp.sack_ok;
  req.snd_wscale = tmp.snd_wscale;
  req.wscale_ok = tmp.wscale_ok;
  req.acked = 0;
  req.ecn_ok = 0;
  const h = skb.head;
  const th = skb.transport_header;
  req.ir_rmt_port = (h[th] << 8) | h[th + 1];
  req.ir_num = (h[th + 2] << 8) | h[th + 3];
  req.ir_loc_addr = ip_hdr_daddr(skb);
  req.ir_rmt_addr = ip_hdr_saddr(skb);
  req.ir_iif = skb.skb_iif;
  // route_req().
  const fl = new Flowi4().init(req.ir_rmt_addr, req.ir_loc_addr, listener.tos, 0, 0, IPPROTO_TCP);
  fl.anysrc = true;
  const dst = inet_route_output(net, fl);
  if (typeof dst === 'number') return listendrop(net);
  if (tmp.tstamp_ok)
    req.ts_off = secure_tcp_ts_off(net, req.ir_loc_addr, req.ir_rmt_addr, ipv4.sysctl_tcp_timestamps);
  tcp_ecn_create_request(req, skb, listener);
  if (!want_cookie && !isn) {
    const max_syn_backlog = ipv4.sysctl_max_syn_backlog;
    if (!syncookies && max_syn_backlog - listener.icsk_accept_queue.qlen < max_syn_backlog >> 2)
      return listendrop(net);
    isn = secure_tcp_seq(net, req.ir_loc_addr, req.ir_rmt_addr, req.ir_num, req.ir_rmt_port);
  }
  let mss = dst_metric_advmss(dst);
  if (listener.rx_opt.user_mss && listener.rx_opt.user_mss < mss) mss = listener.rx_opt.user_mss;
  if (want_cookie) {
    const c = __cookie_v4_init_sequence(
      net,
      req.ir_rmt_addr,
      req.ir_loc_addr,
      req.ir_rmt_port,
      req.ir_num,
      cb.seq,
      req.mss,
      net.kernel.clock.now(),
    );
    isn = c.isn;
    req.mss = c.mss;
    NET_INC_STATS(net, MIB_SYNCOOKIESSENT);
    // Only the timestamp can carry the ECN agreement to the cookie's ACK.
    if (!req.tstamp_ok) req.ecn_ok = 0;
    if (req.tstamp_ok)
      req.cookie_ts =
        (cookie_init_timestamp(
          req.wscale_ok !== 0,
          req.snd_wscale,
          req.sack_ok !== 0,
          req.ecn_ok !== 0,
          tcp_clock_ms(net),
        ) +
          req.ts_off) >>>
        0;
  }
  req.snt_isn = isn;
  // tcp_openreq_init_rwin().
  let full_space = tcp_full_space(listener);
  req.rsk_window_clamp = listener.window_clamp || 0;
  if (listener.sk_userlocks & 2 && (req.rsk_window_clamp > full_space || req.rsk_window_clamp === 0))
    req.rsk_window_clamp = full_space;
  const rcv_wnd = (dst as Rtable & { initrwnd_metric?: number }).initrwnd_metric ?? 0;
  if (rcv_wnd && full_space < rcv_wnd * mss) full_space = rcv_wnd * mss;
  const out = { rcv_wnd: 0, window_clamp: req.rsk_window_clamp, rcv_wscale: 0 };
  tcp_select_initial_window(
    listener,
    full_space,
    mss - (req.tstamp_ok ? TCPOLEN_TSTAMP_ALIGNED : 0),
    out,
    req.wscale_ok !== 0,
    rcv_wnd,
  );
  req.rsk_rcv_wnd = out.rcv_wnd;
  req.rsk_window_clamp = out.window_clamp;
  req.rcv_wscale = out.rcv_wscale;
  if (!want_cookie) {
    // inet_csk_reqsk_queue_hash_add().
    inet_ehash_insert(net, req);
    (listener.pending_reqs ??= new Set()).add(req);
    listener.icsk_accept_queue.qlen++;
    listener.icsk_accept_queue.young++;
    reqsk_arm(req, TCP_TIMEOUT_INIT);
  }
  tcp_v4_send_synack(listener, req, dst);
}

function listendrop(net: Net): void {
  NET_INC_STATS(net, MIB_LISTENDROPS);
}

// ——— receive ———————————————————————————————————————————————————————————————————————

/** tcp_v4_do_rcv(): a segment for a full sock. Returns true when a RST must answer it. */
function tcp_v4_do_rcv(tp: TcpSock, skb: SkBuff): void {
  if (tp.sk_state === TCP_ESTABLISHED) {
    tcp_rcv_established(tp, skb);
    return;
  }
  if (tp.sk_state === TCP_LISTEN) {
    const flags = TCP_SKB_CB(skb).tcp_flags;
    // tcp_v4_cookie_check + tcp_rcv_state_process(LISTEN).
    if (flags & TCPHDR_ACK) {
      if (tcp_cookie_check(tp, skb)) return;
      tcp_v4_send_reset(tp.sk_net, skb, true);
      kfree_skb(skb);
      return;
    }
    if (flags & TCPHDR_RST) {
      kfree_skb(skb);
      return;
    }
    if (flags & TCPHDR_SYN) {
      if (flags & TCPHDR_FIN) {
        kfree_skb(skb);
        return;
      }
      tcp_v4_conn_request(tp, skb, TCP_SKB_CB(skb).tw_isn);
    }
    kfree_skb(skb);
    return;
  }
  if (tcp_rcv_state_process(tp, skb)) {
    tcp_v4_send_reset(tp.sk_net, skb, true);
    kfree_skb(skb);
  }
}

/** An ACK to a listener may complete a SYN-cookie handshake (cookie_v4_check). */
function tcp_cookie_check(listener: TcpSock, skb: SkBuff): boolean {
  return tcp_check_req_cookie(listener, skb);
}

/**
 * tcp_v4_rcv(): validate the header and checksum, find the sock (established, request,
 * TIME_WAIT, listener) and hand the segment over; answer with a RST when nobody owns it.
 */
export function tcp_v4_rcv(skb: SkBuff): number {
  const dev = skb.dev;
  const net = dev ? dev.nd_net : null;
  if (!net) {
    kfree_skb(skb);
    return 0;
  }
  if (skb.pkt_type !== 0 /* PACKET_HOST */) {
    kfree_skb(skb);
    return 0;
  }
  TCP_INC_STATS(net, TCP_MIB_INSEGS);
  if (skb.transport_header < 0) skb.transport_header = skb.data;
  const th = skb.transport_header;
  const h = skb.head;
  const len = skb.tail - th;
  if (len < TCP_HDR_MIN) return bad_packet(net, skb);
  const doff = (h[th + 12] >>> 4) * 4;
  if (doff < TCP_HDR_MIN || doff > len) return bad_packet(net, skb);
  const saddr = ip_hdr_saddr(skb);
  const daddr = ip_hdr_daddr(skb);
  // tcp_v4_checksum_init(): trust what loopback left partial, verify everything else.
  if (skb.ip_summed !== CHECKSUM_PARTIAL && skb.ip_summed !== CHECKSUM_UNNECESSARY) {
    const c = csum_tcpudp_magic(saddr, daddr, len, IPPROTO_TCP, csum_partial(h, th, len, 0));
    if (c !== 0) {
      TCP_INC_STATS(net, TCP_MIB_CSUMERRORS);
      TCP_INC_STATS(net, TCP_MIB_INERRS);
      kfree_skb(skb);
      return 0;
    }
  }
  skb.ip_summed = CHECKSUM_UNNECESSARY;
  // tcp_v4_fill_cb().
  const cb = TCP_SKB_CB(skb);
  const flags = h[th + 13];
  cb.seq = get32(h, th + 4);
  cb.ack_seq = get32(h, th + 8);
  cb.tcp_flags = flags;
  cb.end_seq = (cb.seq + (flags & TCPHDR_SYN ? 1 : 0) + (flags & TCPHDR_FIN ? 1 : 0) + len - doff) >>> 0;
  cb.sacked = 0;
  cb.tw_isn = 0;
  cb.ip_dsfield = ip_hdr_tos(skb);
  skb.pull(th + doff - skb.data);
  const sport = (h[th] << 8) | h[th + 1];
  const dport = (h[th + 2] << 8) | h[th + 3];
  const e = __inet_lookup_established(net, saddr, sport, daddr, dport);
  if (e) {
    if (e instanceof InetTimewaitSock) return tcp_v4_rcv_tw(net, e, skb, saddr, sport, daddr, dport);
    if (e instanceof RequestSock) return tcp_v4_rcv_req(net, e, skb);
    e.segs_in++;
    if (skb.len) e.data_segs_in++;
    tcp_v4_do_rcv(e, skb);
    return 0;
  }
  const dif = skb.skb_iif || (dev ? dev.ifindex : 0);
  const l = __inet_lookup_listener(net, saddr, sport, daddr, dport, dif);
  if (l) {
    l.segs_in++;
    tcp_v4_do_rcv(l, skb);
    return 0;
  }
  // no_tcp_socket:
  tcp_v4_send_reset(net, skb, false);
  kfree_skb(skb);
  return 0;
}

function bad_packet(net: Net, skb: SkBuff): number {
  TCP_INC_STATS(net, TCP_MIB_INERRS);
  kfree_skb(skb);
  return 0;
}

/** A segment for a request sock (NEW_SYN_RECV): tcp_check_req on behalf of its listener. */
function tcp_v4_rcv_req(net: Net, req: RequestSock, skb: SkBuff): number {
  const listener = req.rsk_listener;
  if (listener.sk_state !== TCP_LISTEN) {
    inet_csk_reqsk_queue_drop(listener, req);
    const l = __inet_lookup_listener(net, ip_hdr_saddr(skb), req.ir_rmt_port, req.ir_loc_addr, req.ir_num, 0);
    if (l) tcp_v4_do_rcv(l, skb);
    else {
      tcp_v4_send_reset(net, skb, false);
      kfree_skb(skb);
    }
    return 0;
  }
  const r = tcp_check_req(listener, skb, req);
  if (r === 'reset') {
    tcp_v4_send_reset(net, skb, true);
    kfree_skb(skb);
  } else if (r === 'listener') {
    tcp_v4_do_rcv(listener, skb);
  } else if (r !== 'consumed') {
    // The new child processes the segment (tcp_child_process).
    const child = r;
    // tcp_child_process(): the handshake's ACK is the child's second segment in.
    child.segs_in++;
    if (skb.len) child.data_segs_in++;
    if (tcp_rcv_state_process(child, skb)) {
      tcp_v4_send_reset(net, skb, true);
      kfree_skb(skb);
    }
    listener.sk_data_ready(listener);
  } else kfree_skb(skb);
  return 0;
}

/** A segment for a TIME_WAIT sock. */
function tcp_v4_rcv_tw(
  net: Net,
  tw: InetTimewaitSock,
  skb: SkBuff,
  saddr: number,
  sport: number,
  daddr: number,
  dport: number,
): number {
  const r = tcp_timewait_state_process(tw, skb);
  switch (r.action) {
    case TW_SYN: {
      const l = __inet_lookup_listener(net, saddr, sport, daddr, dport, skb.skb_iif);
      if (l) {
        inet_twsk_kill(tw);
        TCP_SKB_CB(skb).tw_isn = r.isn;
        tcp_v4_do_rcv(l, skb);
        return 0;
      }
      tcp_v4_timewait_ack(tw, skb);
      break;
    }
    case TW_ACK:
      tcp_v4_timewait_ack(tw, skb);
      break;
    case TW_RST:
      tcp_v4_send_reset(net, skb, true);
      inet_twsk_kill(tw);
      break;
  }
  kfree_skb(skb);
  return 0;
}

// ——— SYN cookies on the ACK ————————————————————————————————————————————————————————

import { __cookie_v4_check, cookie_timestamp_decode } from './syncookies.js';
import { tcp_cookie_child } from './tcp_minisocks.js';

/**
 * cookie_v4_check(): an ACK to a listener without a request sock may carry a SYN cookie.
 * Returns true when it did (the child took the segment).
 */
function tcp_check_req_cookie(listener: TcpSock, skb: SkBuff): boolean {
  const net = listener.sk_net;
  const ipv4 = ipv4_sysctl(net);
  if (!ipv4.sysctl_tcp_syncookies) return false;
  const cb = TCP_SKB_CB(skb);
  if (cb.tcp_flags & (TCPHDR_RST | TCPHDR_SYN)) return false;
  const h = skb.head;
  const th = skb.transport_header;
  const sport = (h[th] << 8) | h[th + 1];
  const dport = (h[th + 2] << 8) | h[th + 3];
  const saddr = ip_hdr_saddr(skb);
  const daddr = ip_hdr_daddr(skb);
  const seq = (cb.seq - 1) >>> 0;
  const cookie = (cb.ack_seq - 1) >>> 0;
  const mss = __cookie_v4_check(net, saddr, daddr, sport, dport, seq, cookie, net.kernel.clock.now());
  if (!mss) return false;
  const tmp = new TcpOptionsReceived();
  tcp_parse_options(ipv4, h, th, tmp, false, false);
  let opts = null;
  if (tmp.saw_tstamp) {
    const tsoff = secure_tcp_ts_off(net, daddr, saddr, ipv4.sysctl_tcp_timestamps);
    opts = cookie_timestamp_decode(
      (tmp.rcv_tsecr - tsoff) >>> 0,
      ipv4.sysctl_tcp_timestamps,
      ipv4.sysctl_tcp_sack,
      ipv4.sysctl_tcp_window_scaling,
    );
    if (!opts) return false;
  }
  const req = new RequestSock(listener, () => {});
  req.syncookie = 1;
  req.mss = mss;
  req.ir_rmt_port = sport;
  req.ir_num = dport;
  req.ir_loc_addr = daddr;
  req.ir_rmt_addr = saddr;
  req.rcv_isn = seq;
  req.snt_isn = cookie;
  req.tstamp_ok = tmp.saw_tstamp;
  req.ts_recent = tmp.saw_tstamp ? tmp.rcv_tsval : 0;
  req.sack_ok = opts ? (opts.sack_ok ? 1 : 0) : 0;
  req.wscale_ok = opts ? (opts.wscale_ok ? 1 : 0) : 0;
  req.snd_wscale = opts ? opts.snd_wscale : 0;
  // cookie_ecn_ok(): the SYN agreed to ECN (the timestamp says) and ECN is still on here.
  req.ecn_ok = opts?.ecn_ok && ipv4.sysctl_tcp_ecn ? 1 : 0;
  if (tmp.saw_tstamp) req.ts_off = secure_tcp_ts_off(net, daddr, saddr, ipv4.sysctl_tcp_timestamps);
  const child = tcp_cookie_child(listener, skb, req);
  if (!child) return false;
  child.segs_in++;
  if (skb.len) child.data_segs_in++;
  if (tcp_rcv_state_process(child, skb)) {
    tcp_v4_send_reset(net, skb, true);
    kfree_skb(skb);
  }
  listener.sk_data_ready(listener);
  return true;
}

// ——— ICMP errors —————————————————————————————————————————————————————————————————————

/** tcp_v4_err(): an ICMP error about a segment we sent. */
export function tcp_v4_err(skb: SkBuff, info: number): number {
  const net = skb.dev ? skb.dev.nd_net : null;
  const parts = icmp_err_parts(skb);
  if (!net || !parts) return -E.ENOENT;
  const { type, code, q, qihl } = parts;
  const h = skb.head;
  if (skb.tail - (q + qihl) < 8) return -E.ENOENT;
  const qsaddr = get32(h, q + 12);
  const qdaddr = get32(h, q + 16);
  const t = q + qihl;
  const sport = (h[t] << 8) | h[t + 1];
  const dport = (h[t + 2] << 8) | h[t + 3];
  const seq = get32(h, t + 4);
  // We sent it: look ourselves up with the addresses reversed.
  const e = __inet_lookup_established(net, qdaddr, dport, qsaddr, sport);
  if (!e) return -E.ENOENT;
  if (e instanceof InetTimewaitSock) return 0;
  if (e instanceof RequestSock) {
    // tcp_req_err(): an error about our SYN-ACK drops the request (for that exact ISN).
    if (seq === e.snt_isn) inet_csk_reqsk_queue_drop(e.rsk_listener, e);
    return 0;
  }
  const tp = e;
  if (tp.sk_state !== TCP_LISTEN && !between_seq(seq, tp.snd_una, tp.snd_nxt)) {
    NET_INC_STATS(net, MIB_OUTOFWINDOWICMPS);
    return 0;
  }
  let err: number;
  switch (type) {
    case I.ICMP_REDIRECT:
    case I.ICMP_SOURCE_QUENCH:
      return 0;
    case I.ICMP_PARAMETERPROB:
      err = E.EPROTO;
      break;
    case I.ICMP_DEST_UNREACH:
      if (code > I.NR_ICMP_UNREACH) return 0;
      if (code === I.ICMP_FRAG_NEEDED) {
        // RFC 1191 path MTU discovery.
        if (tp.sk_state === TCP_LISTEN) return 0;
        tcp_v4_mtu_reduced(tp, info);
        return 0;
      }
      err = icmp_err_convert[code].errno;
      break;
    case I.ICMP_TIME_EXCEEDED:
      err = E.EHOSTUNREACH;
      break;
    default:
      return 0;
  }
  switch (tp.sk_state) {
    case TCP_SYN_SENT:
    case TCP_SYN_RECV: {
      const payload = h.subarray(Math.min(t + 8, skb.tail), skb.tail);
      if (tp.recverr) ip_icmp_error(tp as InetSock, skb, err, type, code, qdaddr, dport, info, payload);
      tcp_done_with_error(tp, err);
      return 0;
    }
  }
  if (tp.recverr) {
    tp.sk_err = err;
    tp.sk_error_report(tp);
  } else tp.sk_err_soft = err;
  return 0;
}

function between_seq(seq: number, lo: number, hi: number): boolean {
  return (hi - lo) >>> 0 >= (seq - lo) >>> 0;
}

/**
 * tcp_v4_mtu_reduced(): the path MTU fell (RFC 1191). ICMP has recorded it on the route to the
 * peer; the connection takes the fresh route, lowers its MSS and resends what was too big.
 */
export function tcp_v4_mtu_reduced(tp: TcpSock, mtu: number): void {
  if (tp.sk_state === TCP_LISTEN || tp.sk_state === TCP_CLOSE) return;
  const fl = new Flowi4().init(tp.inet_daddr, tp.inet_saddr, tp.tos, tp.sk_bound_dev_if, 0, IPPROTO_TCP);
  const rt = inet_route_output(tp.sk_net, fl);
  if (typeof rt === 'number') return;
  tp.sk_dst_cache = rt;
  const dmtu = dst_mtu(rt);
  // Remember a soft error in case the connection cannot recover.
  if (mtu < dmtu && tp.pmtudisc !== I.IP_PMTUDISC_DONT) tp.sk_err_soft = E.EMSGSIZE;
  if (tp.pmtudisc !== I.IP_PMTUDISC_DONT && tp.icsk_pmtu_cookie > dmtu) {
    tcp_sync_mss(tp, dmtu);
    tcp_simple_retransmit(tp);
  }
}

/** tcp_v4_destroy_sock(): timers off, queues freed, out of the hashes. */
export function tcp_v4_destroy_sock(tp: TcpSock): void {
  inet_csk_clear_xmit_timers(tp);
  tcp_write_queue_purge(tp);
  tp.out_of_order_queue.purge();
  tp.sk_receive_queue.purge();
  inet_unhash(tp);
  void inet_put_port;
  void tcp_hashinfo;
  void sock_flag;
  void SOCK_DEAD;
  void TCP_TIME_WAIT;
  void tcp_sync_mss;
  void after;
  void before;
  void tcp_jiffies32;
}
