// The small states of TCP (net/ipv4/tcp_minisocks.c): TIME_WAIT socks and their segment rules
// (RFC 793, RFC 1122 §4.2.2.13, RFC 1337), the request sock's tcp_check_req, and the birth of
// the child socket of a listener (tcp_create_openreq_child).

import type { SkBuff } from '../core/skbuff.js';
import { tcp_update_pacing_rate } from './tcp_pacing.js';
import {
  TCP_FIN_WAIT2,
  TCP_LISTEN,
  TCP_SYN_RECV,
  TCP_TIME_WAIT,
  SOCK_KEEPOPEN,
  sock_flag,
  sock_init_data,
} from '../core/sock.js';
import * as S from '../../uapi/socket.js';
import { TCPHDR_ACK, TCPHDR_FIN, TCPHDR_RST, TCPHDR_SYN } from '../../uapi/tcp.js';
import { InetTimewaitSock, inet_twsk_schedule, inet_twsk_deschedule } from './inet_timewait_sock.js';
import {
  TcpSock,
  RequestSock,
  TCP_SKB_CB,
  TcpOptionsReceived,
  TCP_TIMEWAIT_LEN,
  TCP_TIMEOUT_INIT,
  TCP_RTO_MAX,
  TCP_HDR_MIN,
  TCP_MSS_DEFAULT,
  TCPOLEN_TSTAMP_ALIGNED,
  after,
  before,
  tcp_clock_ms,
  tcp_clock_us,
  tcp_jiffies32,
  tcp_receive_window,
  ktime_get_seconds,
  tcp_full_space,
  keepalive_time_when,
} from './tcp_sock.js';
import { tcp_ecn_openreq_child } from './tcp_ecn.js';
import {
  tcp_hashinfo,
  inet_ehash_insert,
  inet_ehash_remove,
  inet_put_port,
  inet_twsk_bind_hash,
  type InetBindBucket,
} from './inet_hashtables.js';
import {
  inet_csk_reqsk_queue_add,
  inet_csk_reset_keepalive_timer,
  sk_acceptq_is_full,
} from './inet_connection_sock.js';
import { tcp_done, tcp_init_sock } from './tcp.js';
import { tcp_parse_options, tcp_paws_reject, th_window, tcp_synack_rtt_meas } from './tcp_input.js';
import {
  tcp_sync_mss,
  dst_metric_advmss,
  tcp_initialize_rcv_mss,
  tcp_select_initial_window,
} from './tcp_output.js';
import { ipv4_sysctl, Flowi4, inet_route_output, dst_mtu, ipv4_is_loopback } from './inet_dgram.js';
import { IPPROTO_TCP } from '../../uapi/in.js';
import { inet_csk_reqsk_queue_drop, inet_rtx_syn_ack, tcp_v4_reqsk_send_ack } from './tcp_ipv4.js';
import {
  NET_INC_STATS,
  TCP_INC_STATS,
  linux_mib_index,
  TCP_MIB_PASSIVEOPENS,
  TCP_MIB_ATTEMPTFAILS,
} from './snmp.js';
import { tcp_assign_congestion_control } from './tcp_cong.js';

const MIB_TCPTIMEWAITOVERFLOW = linux_mib_index('TCPTimeWaitOverflow');
const MIB_TIMEWAITED = linux_mib_index('TW');
const MIB_TIMEWAITKILLED = linux_mib_index('TWKilled');
const MIB_PAWSESTABREJECTED = linux_mib_index('PAWSEstab');
const MIB_TCPACKSKIPPEDSYNRECV = linux_mib_index('TCPACKSkippedSynRecv');
const MIB_TCPACKSKIPPEDTIMEWAIT = linux_mib_index('TCPACKSkippedTimeWait');
const MIB_TCPACKSKIPPEDFINWAIT2 = linux_mib_index('TCPACKSkippedFinWait2');
const MIB_TCPDEFERACCEPTDROP = linux_mib_index('TCPDeferAcceptDrop');
const MIB_LISTENOVERFLOWS = linux_mib_index('ListenOverflows');
const MIB_LISTENDROPS = linux_mib_index('ListenDrops');
const MIB_EMBRYONICRSTS = linux_mib_index('EmbryonicRsts');
const MIB_SYNCOOKIESRECV = linux_mib_index('SyncookiesRecv');

// ——— TIME_WAIT ——————————————————————————————————————————————————————————————————————

/** inet_twsk_kill(): the TIME_WAIT sock is gone (timer, or recycled by a new connection). */
export function inet_twsk_kill(tw: InetTimewaitSock): void {
  inet_twsk_deschedule(tw);
  if (tw.hashed) {
    inet_ehash_remove(tw.tw_net, tw);
    tcp_hashinfo(tw.tw_net).tw_count--;
  }
  inet_put_port(tw);
}

/** The TIME_WAIT timer ran out. */
function tw_timer_handler(tw: InetTimewaitSock): void {
  if (tw.tw_substate === TCP_TIME_WAIT) NET_INC_STATS(tw.tw_net, MIB_TIMEWAITED);
  else NET_INC_STATS(tw.tw_net, MIB_TIMEWAITKILLED);
  inet_twsk_kill(tw);
}

/**
 * tcp_time_wait(): the sock becomes a TIME_WAIT (or orphaned FIN_WAIT2) sock that holds its
 * 4-tuple and port for `timeo` jiffies (60 s in TIME_WAIT); the full sock is done.
 */
export function tcp_time_wait(tp: TcpSock, state: number, timeo: number): void {
  const net = tp.sk_net;
  const h = tcp_hashinfo(net);
  if (h.tw_count < ipv4_sysctl(net).sysctl_tcp_max_tw_buckets) {
    const tw = new InetTimewaitSock(net, tw_timer_handler);
    const rto = (tp.icsk_rto << 2) - (tp.icsk_rto >> 1);
    tw.tw_substate = state;
    tw.tw_rcv_saddr = tp.inet_rcv_saddr;
    tw.tw_daddr = tp.inet_daddr;
    tw.tw_num = tp.inet_num;
    tw.tw_sport = tp.inet_sport;
    tw.tw_dport = tp.inet_dport;
    tw.tw_bound_dev_if = tp.sk_bound_dev_if;
    tw.tw_reuse = tp.sk_reuse;
    tw.tw_reuseport = tp.sk_reuseport;
    tw.tw_uid = tp.sk_uid;
    tw.tw_tos = tp.tos;
    tw.tw_rcv_wscale = tp.rx_opt.rcv_wscale;
    tw.tw_rcv_nxt = tp.rcv_nxt;
    tw.tw_snd_nxt = tp.snd_nxt;
    tw.tw_rcv_wnd = tcp_receive_window(tp);
    tw.tw_ts_recent = tp.rx_opt.ts_recent;
    tw.tw_ts_recent_stamp = tp.rx_opt.ts_recent_stamp;
    tw.tw_ts_offset = tp.tsoffset;
    tw.tw_ts_recent_stamp_ms = tcp_clock_ms(net);
    if (timeo < rto) timeo = rto;
    if (state === TCP_TIME_WAIT) timeo = TCP_TIMEWAIT_LEN;
    inet_twsk_schedule(tw, timeo);
    // inet_twsk_hashdance_schedule(): the TIME_WAIT sock takes the sock's place in both hashes.
    inet_twsk_bind_hash(tw, tp);
    if (tp.ehashed) inet_ehash_remove(net, tp);
    inet_ehash_insert(net, tw);
    h.tw_count++;
  } else NET_INC_STATS(net, MIB_TCPTIMEWAITOVERFLOW);
  tcp_done(tp);
}

export const TW_SUCCESS = 0;
export const TW_RST = 1;
export const TW_ACK = 2;
export const TW_SYN = 3;

/** tcp_in_window(). */
function tcp_in_window(seq: number, end_seq: number, s_win: number, e_win: number): boolean {
  if (seq === s_win) return true;
  if (after(end_seq, s_win) && before(seq, e_win)) return true;
  return seq === e_win && seq === end_seq;
}

/** tcp_timewait_check_oow_rate_limit(). */
function tw_oow_ack(tw: InetTimewaitSock, mib: number): { action: number; isn: number } {
  const now = tcp_jiffies32(tw.tw_net);
  const limit = Math.ceil((ipv4_sysctl(tw.tw_net).sysctl_tcp_invalid_ratelimit * 250) / 1000);
  if (tw.tw_last_oow_ack_time && now - tw.tw_last_oow_ack_time < limit) {
    NET_INC_STATS(tw.tw_net, mib);
    return { action: TW_SUCCESS, isn: 0 };
  }
  tw.tw_last_oow_ack_time = now;
  return { action: TW_ACK, isn: 0 };
}

/** tcp_timewait_state_process(). */
export function tcp_timewait_state_process(
  tw: InetTimewaitSock,
  skb: SkBuff,
): { action: number; isn: number } {
  const cb = TCP_SKB_CB(skb);
  const flags = cb.tcp_flags;
  const rst = (flags & TCPHDR_RST) !== 0;
  const tmp = new TcpOptionsReceived();
  let paws_reject = false;
  const rcv_nxt = tw.tw_rcv_nxt;
  const now_s = ktime_get_seconds(tw.tw_net);
  const doff = (skb.head[skb.transport_header + 12] >>> 4) * 4;
  if (doff > TCP_HDR_MIN && tw.tw_ts_recent_stamp) {
    tmp.tstamp_ok = 1;
    tcp_parse_options(ipv4_sysctl(tw.tw_net), skb.head, skb.transport_header, tmp, true, false);
    if (tmp.saw_tstamp) {
      if (tmp.rcv_tsecr) tmp.rcv_tsecr = (tmp.rcv_tsecr - tw.tw_ts_offset) >>> 0;
      tmp.ts_recent = tw.tw_ts_recent;
      tmp.ts_recent_stamp = tw.tw_ts_recent_stamp;
      paws_reject = tcp_paws_reject(tmp, rst, now_s);
    }
  }
  if (tw.tw_substate === TCP_FIN_WAIT2) {
    if (paws_reject || !tcp_in_window(cb.seq, cb.end_seq, rcv_nxt, (rcv_nxt + tw.tw_rcv_wnd) >>> 0))
      return tw_oow_ack(tw, MIB_TCPACKSKIPPEDFINWAIT2);
    if (rst) {
      inet_twsk_kill(tw);
      return { action: TW_SUCCESS, isn: 0 };
    }
    if (flags & TCPHDR_SYN && !before(cb.seq, rcv_nxt)) return { action: TW_RST, isn: 0 };
    if (!(flags & TCPHDR_ACK) || !after(cb.end_seq, rcv_nxt) || cb.end_seq === cb.seq)
      return { action: TW_SUCCESS, isn: 0 };
    // New data or FIN: data after a half-duplex close resets.
    if (!(flags & TCPHDR_FIN) || cb.end_seq !== (rcv_nxt + 1) >>> 0) return { action: TW_RST, isn: 0 };
    // The FIN: into true TIME_WAIT.
    tw.tw_substate = TCP_TIME_WAIT;
    tw.tw_rcv_nxt = cb.end_seq;
    if (tmp.saw_tstamp) {
      tw.tw_ts_recent_stamp = now_s;
      tw.tw_ts_recent_stamp_ms = tcp_clock_ms(tw.tw_net);
      tw.tw_ts_recent = tmp.rcv_tsval;
    }
    inet_twsk_schedule(tw, TCP_TIMEWAIT_LEN);
    return { action: TW_ACK, isn: 0 };
  }
  // Real TIME_WAIT (RFC 1122 §4.2.2.13).
  if (!paws_reject && cb.seq === rcv_nxt && (cb.seq === cb.end_seq || rst)) {
    if (rst) {
      // TIME_WAIT assassination (RFC 1337): killed unless tcp_rfc1337.
      if (!ipv4_sysctl(tw.tw_net).sysctl_tcp_rfc1337) {
        inet_twsk_kill(tw);
        return { action: TW_SUCCESS, isn: 0 };
      }
    } else inet_twsk_schedule(tw, TCP_TIMEWAIT_LEN);
    if (tmp.saw_tstamp) {
      tw.tw_ts_recent = tmp.rcv_tsval;
      tw.tw_ts_recent_stamp = now_s;
    }
    return { action: TW_SUCCESS, isn: 0 };
  }
  // A new SYN that is not an old duplicate may reopen the connection.
  if (
    flags & TCPHDR_SYN &&
    !rst &&
    !(flags & TCPHDR_ACK) &&
    !paws_reject &&
    (after(cb.seq, rcv_nxt) || (tmp.saw_tstamp && ((tw.tw_ts_recent - tmp.rcv_tsval) | 0) < 0))
  ) {
    let isn = (tw.tw_snd_nxt + 65535 + 2) >>> 0;
    if (isn === 0) isn++;
    return { action: TW_SYN, isn };
  }
  if (paws_reject) NET_INC_STATS(tw.tw_net, linux_mib_index('PAWSTimewait'));
  if (!rst) {
    if (paws_reject || flags & TCPHDR_ACK) inet_twsk_schedule(tw, TCP_TIMEWAIT_LEN);
    return tw_oow_ack(tw, MIB_TCPACKSKIPPEDTIMEWAIT);
  }
  return { action: TW_SUCCESS, isn: 0 };
}

/**
 * tcp_twsk_unique(): may a new connection take the 4-tuple of this TIME_WAIT sock? With
 * timestamps, yes once tcp_tw_reuse allows (2: loopback only) and tcp_tw_reuse_delay has passed;
 * a bound port (`from_search` false) may always take it when timestamps were seen.
 */
export function tcp_twsk_unique(tp: TcpSock, tw: InetTimewaitSock, from_search: boolean): boolean {
  const ipv4 = ipv4_sysctl(tp.sk_net);
  let reuse = ipv4.sysctl_tcp_tw_reuse;
  if (tw.tw_substate === TCP_FIN_WAIT2) reuse = 0;
  if (reuse === 2) {
    const loopback = ipv4_is_loopback(tw.tw_daddr) || ipv4_is_loopback(tw.tw_rcv_saddr);
    if (!loopback) reuse = 0;
  }
  const reuse_thresh = tw.tw_ts_recent_stamp_ms + ipv4.sysctl_tcp_tw_reuse_delay;
  if (tw.tw_ts_recent_stamp && (!from_search || (reuse && tcp_clock_ms(tp.sk_net) > reuse_thresh))) {
    let seq = (tw.tw_snd_nxt + 65535 + 2) >>> 0;
    if (!seq) seq = 1;
    tp.write_seq = seq;
    tp.rx_opt.ts_recent = tw.tw_ts_recent;
    tp.rx_opt.ts_recent_stamp = tw.tw_ts_recent_stamp;
    return true;
  }
  return false;
}

// ——— the request sock and the child ——————————————————————————————————————————————————

/**
 * tcp_check_req(): a segment for a connection in SYN_RECV. Returns the new child (the segment
 * is then the child's to process), 'consumed' (answered or dropped here), 'reset' (answer with
 * a RST) or 'listener' (the listener should see it).
 */
export function tcp_check_req(
  listener: TcpSock,
  skb: SkBuff,
  req: RequestSock,
): TcpSock | 'consumed' | 'reset' | 'listener' {
  const net = listener.sk_net;
  const cb = TCP_SKB_CB(skb);
  let flg = cb.tcp_flags & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_SYN | TCPHDR_FIN | 0x08 | 0x20);
  const tmp = new TcpOptionsReceived();
  let paws_reject = false;
  const doff = (skb.head[skb.transport_header + 12] >>> 4) * 4;
  const now_s = ktime_get_seconds(net);
  if (doff > TCP_HDR_MIN) {
    tcp_parse_options(ipv4_sysctl(net), skb.head, skb.transport_header, tmp, false, false);
    if (tmp.saw_tstamp) {
      tmp.ts_recent = req.ts_recent;
      if (tmp.rcv_tsecr) tmp.rcv_tsecr = (tmp.rcv_tsecr - req.ts_off) >>> 0;
      tmp.ts_recent_stamp =
        now_s - Math.floor(Math.min(TCP_TIMEOUT_INIT * 2 ** req.num_timeout, TCP_RTO_MAX) / 250);
      paws_reject = tcp_paws_reject(tmp, (flg & TCPHDR_RST) !== 0, now_s);
    }
  }
  // A pure retransmitted SYN: the SYN-ACK again.
  if (cb.seq === req.rcv_isn && flg === TCPHDR_SYN && !paws_reject) {
    if (!req_oow_limited(req, net)) inet_rtx_syn_ack(listener, req);
    return 'consumed';
  }
  // An ACK of something we never sent: the listener answers with a reset.
  if (flg & TCPHDR_ACK && cb.ack_seq !== (req.snt_isn + 1) >>> 0) return 'reset';
  const rcv_nxt = (req.rcv_isn + 1) >>> 0;
  if (paws_reject || !tcp_in_window(cb.seq, cb.end_seq, rcv_nxt, (rcv_nxt + req.rsk_rcv_wnd) >>> 0)) {
    if (!(flg & TCPHDR_RST) && !req_oow_limited(req, net)) tcp_v4_reqsk_send_ack(listener, skb, req);
    if (paws_reject) NET_INC_STATS(net, MIB_PAWSESTABREJECTED);
    return 'consumed';
  }
  if (tmp.saw_tstamp && !after(cb.seq, rcv_nxt)) req.ts_recent = tmp.rcv_tsval;
  // A SYN at the ISN is out of window from rcv_isn + 1: truncate it.
  if (cb.seq === req.rcv_isn) flg &= ~TCPHDR_SYN;
  if (flg & (TCPHDR_RST | TCPHDR_SYN)) {
    TCP_INC_STATS(net, TCP_MIB_ATTEMPTFAILS);
    // embryonic_reset:
    const reset = !(flg & TCPHDR_RST);
    if (inet_csk_reqsk_queue_drop(listener, req)) NET_INC_STATS(net, MIB_EMBRYONICRSTS);
    return reset ? 'reset' : 'consumed';
  }
  if (!(flg & TCPHDR_ACK)) return 'consumed';
  // TCP_DEFER_ACCEPT: a bare ACK does not complete the connection yet.
  if (req.num_timeout < listener.icsk_accept_queue.rskq_defer_accept && cb.end_seq === rcv_nxt) {
    req.acked = 1;
    NET_INC_STATS(net, MIB_TCPDEFERACCEPTDROP);
    return 'consumed';
  }
  const child = tcp_v4_syn_recv_sock(listener, skb, req);
  if (!child) {
    // listen_overflow:
    if (!ipv4_sysctl(net).sysctl_tcp_abort_on_overflow) {
      req.acked = 1;
      return 'consumed';
    }
    if (inet_csk_reqsk_queue_drop(listener, req)) NET_INC_STATS(net, MIB_EMBRYONICRSTS);
    return 'reset';
  }
  tcp_synack_rtt_meas(child, req);
  // tcp_rcv_state_process(), TCP_SYN_RECV: the first pacing rate, from the SYN-ACK's RTT.
  tcp_update_pacing_rate(child);
  // inet_csk_complete_hashdance(): the child joins the accept queue.
  inet_csk_reqsk_queue_add(listener, req, child);
  return child;
}

function req_oow_limited(req: RequestSock, net: TcpSock['sk_net']): boolean {
  const now = tcp_jiffies32(net);
  const limit = Math.ceil((ipv4_sysctl(net).sysctl_tcp_invalid_ratelimit * 250) / 1000);
  if (req.last_oow_ack_time && now - req.last_oow_ack_time < limit) {
    NET_INC_STATS(net, MIB_TCPACKSKIPPEDSYNRECV);
    return true;
  }
  req.last_oow_ack_time = now;
  return false;
}

/** tcp_v4_syn_recv_sock(): the child of a listener, hashed in place of its request. */
function tcp_v4_syn_recv_sock(listener: TcpSock, skb: SkBuff, req: RequestSock): TcpSock | null {
  const net = listener.sk_net;
  if (sk_acceptq_is_full(listener)) {
    NET_INC_STATS(net, MIB_LISTENOVERFLOWS);
    NET_INC_STATS(net, MIB_LISTENDROPS);
    return null;
  }
  const fl = new Flowi4().init(req.ir_rmt_addr, req.ir_loc_addr, listener.tos, 0, 0, IPPROTO_TCP);
  fl.anysrc = true;
  const rt = inet_route_output(net, fl);
  if (typeof rt === 'number') {
    NET_INC_STATS(net, MIB_LISTENDROPS);
    return null;
  }
  // The request leaves the SYN queue and the ehash; the child takes its place (inet_ehash_nolisten).
  inet_csk_reqsk_queue_drop(listener, req);
  const child = tcp_create_openreq_child(listener, req, skb);
  child.inet_daddr = req.ir_rmt_addr;
  child.inet_rcv_saddr = req.ir_loc_addr;
  child.inet_saddr = req.ir_loc_addr;
  child.mc_ttl = skb.head[skb.network_header + 8];
  child.inet_id = net.kernel.prandom.get_random_u32() & 0xffff;
  child.sk_dst_cache = rt;
  tcp_sync_mss(child, dst_mtu(rt));
  let advmss = dst_metric_advmss(rt);
  if (listener.rx_opt.user_mss && listener.rx_opt.user_mss < advmss) advmss = listener.rx_opt.user_mss;
  child.advmss = advmss;
  tcp_initialize_rcv_mss(child);
  // __inet_inherit_port(): the child shares the listener's port.
  const tb = listener.icsk_bind_hash as InetBindBucket | null;
  if (tb) {
    child.icsk_bind_hash = tb;
    tb.owners.push(child);
  }
  inet_ehash_insert(net, child);
  return child;
}

/** inet_csk_clone_lock() + tcp_create_openreq_child(). */
function tcp_create_openreq_child(listener: TcpSock, req: RequestSock, skb: SkBuff): TcpSock {
  const net = listener.sk_net;
  const child = listener.sk_prot.alloc(net) as TcpSock;
  child.sk_family = listener.sk_family;
  child.sk_prot = listener.sk_prot;
  sock_init_data(null, child);
  child.sk_type = listener.sk_type;
  child.sk_protocol = listener.sk_protocol;
  tcp_init_sock(child);
  // sk_clone_lock(): what the listener had set is inherited.
  child.sk_rcvbuf = listener.sk_rcvbuf;
  child.sk_sndbuf = listener.sk_sndbuf;
  child.sk_userlocks = listener.sk_userlocks;
  child.sk_flags = listener.sk_flags & ~((1 << 0) | (1 << 1)); // not SOCK_DEAD / SOCK_DONE
  child.sk_reuse = listener.sk_reuse;
  child.sk_reuseport = listener.sk_reuseport;
  child.sk_uid = listener.sk_uid;
  child.sk_mark = listener.sk_mark;
  child.sk_rcvlowat = listener.sk_rcvlowat;
  child.sk_rcvtimeo = listener.sk_rcvtimeo;
  child.sk_sndtimeo = listener.sk_sndtimeo;
  child.sk_lingertime = listener.sk_lingertime;
  child.sk_bound_dev_if = listener.sk_bound_dev_if;
  child.tos = listener.tos;
  tcp_ecn_openreq_child(child, req);
  child.uc_ttl = listener.uc_ttl;
  child.pmtudisc = listener.pmtudisc;
  child.recverr = listener.recverr;
  child.cmsg_flags = listener.cmsg_flags;
  child.nonagle = listener.nonagle;
  child.keepalive_time = listener.keepalive_time;
  child.keepalive_intvl = listener.keepalive_intvl;
  child.keepalive_probes = listener.keepalive_probes;
  child.linger2 = listener.linger2;
  child.icsk_user_timeout = listener.icsk_user_timeout;
  child.icsk_syn_retries = listener.icsk_syn_retries;
  child.rx_opt.user_mss = listener.rx_opt.user_mss;
  child.notsent_lowat = listener.notsent_lowat;
  child.recvmsg_inq_on = listener.recvmsg_inq_on;
  child.thin_lto = listener.thin_lto;
  child.save_syn = listener.save_syn;
  child.icsk_ca_ops = listener.icsk_ca_ops;
  child.sk_state = TCP_SYN_RECV;
  child.inet_dport = req.ir_rmt_port;
  child.inet_num = req.ir_num;
  child.inet_sport = req.ir_num;
  child.ino = 0;
  child.parent = listener;
  // tcp_create_openreq_child().
  let seq = (req.rcv_isn + 1) >>> 0;
  child.rcv_wup = seq;
  child.copied_seq = seq;
  child.rcv_nxt = seq;
  child.segs_in = 1;
  seq = (req.snt_isn + 1) >>> 0;
  child.snd_sml = child.snd_una = seq;
  child.snd_nxt = seq;
  child.snd_up = seq;
  child.snd_wl1 = req.rcv_isn;
  child.icsk_ack.lrcvtime = tcp_jiffies32(net);
  child.lsndtime = tcp_jiffies32(net);
  child.total_retrans = req.num_retrans;
  child.write_seq = child.pushed_seq = seq;
  child.snt_isn = req.snt_isn;
  child.rcv_isn = req.rcv_isn;
  if (sock_flag(child, SOCK_KEEPOPEN)) inet_csk_reset_keepalive_timer(child, keepalive_time_when(child));
  child.rx_opt.tstamp_ok = req.tstamp_ok;
  child.rx_opt.sack_ok = req.sack_ok;
  child.window_clamp = req.rsk_window_clamp;
  child.rcv_ssthresh = req.rsk_rcv_wnd;
  child.rcv_wnd = req.rsk_rcv_wnd;
  child.rx_opt.wscale_ok = req.wscale_ok;
  if (child.rx_opt.wscale_ok) {
    child.rx_opt.snd_wscale = req.snd_wscale;
    child.rx_opt.rcv_wscale = req.rcv_wscale;
  } else {
    child.rx_opt.snd_wscale = child.rx_opt.rcv_wscale = 0;
    child.window_clamp = Math.min(child.window_clamp, 65535);
  }
  child.snd_wnd = th_window(skb) * 2 ** child.rx_opt.snd_wscale;
  child.max_window = child.snd_wnd;
  if (child.rx_opt.tstamp_ok) {
    child.rx_opt.ts_recent = req.ts_recent;
    child.rx_opt.ts_recent_stamp = ktime_get_seconds(net);
    child.tcp_header_len = TCP_HDR_MIN + TCPOLEN_TSTAMP_ALIGNED;
  } else {
    child.rx_opt.ts_recent_stamp = 0;
    child.tcp_header_len = TCP_HDR_MIN;
  }
  if (req.num_timeout) {
    child.total_rto = req.num_timeout;
    child.undo_marker = req.snt_isn;
    child.retrans_stamp = Math.floor(req.snt_synack / 1000);
    child.total_rto_time = tcp_clock_ms(net) - child.retrans_stamp;
  }
  child.tsoffset = req.ts_off;
  if (skb.len >= TCP_MSS_DEFAULT + child.tcp_header_len)
    child.icsk_ack.last_seg_size = skb.len - child.tcp_header_len;
  child.rx_opt.mss_clamp = req.mss;
  TCP_INC_STATS(net, TCP_MIB_PASSIVEOPENS);
  void tcp_clock_us;
  void tcp_assign_congestion_control;
  void TCP_LISTEN;
  void S;
  return child;
}

/** cookie_v4_check()'s child: a validated SYN cookie makes the connection without a request sock. */
export function tcp_cookie_child(listener: TcpSock, skb: SkBuff, req: RequestSock): TcpSock | null {
  const net = listener.sk_net;
  NET_INC_STATS(net, MIB_SYNCOOKIESRECV);
  // The window offered in the SYN-ACK is recomputed as the cookie's SYN-ACK computed it.
  const out = { rcv_wnd: 0, window_clamp: listener.window_clamp, rcv_wscale: 0 };
  tcp_select_initial_window(
    listener,
    tcp_full_space(listener),
    req.mss - (req.tstamp_ok ? TCPOLEN_TSTAMP_ALIGNED : 0),
    out,
    req.wscale_ok !== 0,
    0,
  );
  req.rsk_rcv_wnd = out.rcv_wnd;
  req.rsk_window_clamp = out.window_clamp;
  req.rcv_wscale = out.rcv_wscale;
  const child = tcp_v4_syn_recv_sock(listener, skb, req);
  if (!child) return null;
  inet_csk_reqsk_queue_add(listener, req, child);
  return child;
}
