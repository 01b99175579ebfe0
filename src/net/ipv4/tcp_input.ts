// Receiving TCP segments (net/ipv4/tcp_input.c): option parsing, PAWS, the acceptability tests
// and RST/SYN handling of RFC 793 and RFC 5961, ACK processing with RTT estimation (RFC 6298),
// window updates, NewReno fast retransmit and recovery (RFC 6582, with PRR of RFC 6937), the
// in-order and out-of-order receive queues with SACK and D-SACK blocks, delayed and quick ACKs,
// urgent data, FIN, and the state machine of tcp_rcv_state_process.

import { trace_tcp_probe } from './tcp_trace.js';
import type { SkBuff } from '../core/skbuff.js';
import { kfree_skb, skb_orphan } from '../core/skbuff.js';
import { tcp_update_pacing_rate } from './tcp_pacing.js';
import {
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_CLOSING,
  TCP_ESTABLISHED,
  TCP_FIN_WAIT1,
  TCP_FIN_WAIT2,
  TCP_LAST_ACK,
  TCP_LISTEN,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIME_WAIT,
  SOCK_DEAD,
  SOCK_DONE,
  SOCK_KEEPOPEN,
  SOCK_URGINLINE,
  sock_flag,
  sock_set_flag,
} from '../core/sock.js';
import * as E from '../../uapi/errno.js';
import * as S from '../../uapi/socket.js';
import {
  TCPHDR_ACK,
  TCPHDR_FIN,
  TCPHDR_PSH,
  TCPHDR_RST,
  TCPHDR_SYN,
  TCPHDR_URG,
  TCPHDR_ECE,
  TCPHDR_CWR,
  TCP_CA_Open,
  TCP_CA_Disorder,
  TCP_CA_CWR,
  TCP_CA_Recovery,
  TCP_CA_Loss,
} from '../../uapi/tcp.js';
import {
  TcpSock,
  type RequestSock,
  TCP_SKB_CB,
  TcpOptionsReceived,
  TCPOPT_EOL,
  TCPOPT_NOP,
  TCPOPT_MSS,
  TCPOPT_WINDOW,
  TCPOPT_SACK_PERM,
  TCPOPT_SACK,
  TCPOPT_TIMESTAMP,
  TCPOLEN_MSS,
  TCPOLEN_WINDOW,
  TCPOLEN_SACK_PERM,
  TCPOLEN_TIMESTAMP,
  TCPOLEN_SACK_BASE,
  TCPOLEN_SACK_PERBLOCK,
  TCPOLEN_TSTAMP_ALIGNED,
  TCP_MAX_WSCALE,
  TCP_MAX_QUICKACKS,
  TCP_ATO_MIN,
  TCP_RTO_MAX,
  TCP_TIMEOUT_INIT,
  TCP_TIMEOUT_FALLBACK,
  TCP_PAWS_24DAYS,
  TCP_PAWS_MSL,
  TCP_PAWS_WINDOW,
  TCP_URG_NOTYET,
  TCP_URG_VALID,
  TCP_NUM_SACKS,
  TCP_HDR_MIN,
  TCP_MSS_DEFAULT,
  TCPCB_LOST,
  TCPCB_SACKED_RETRANS,
  TCPCB_SACKED_ACKED,
  TCPCB_RETRANS,
  ICSK_ACK_PUSHED,
  ICSK_ACK_PUSHED2,
  ICSK_ACK_NOW,
  ICSK_ACK_NOMEM,
  ICSK_ACK_SCHED,
  ICSK_TIME_RETRANS,
  ICSK_TIME_PROBE0,
  ICSK_TIME_LOSS_PROBE,
  ICSK_TIME_REO_TIMEOUT,
  FLAG_DATA,
  FLAG_WIN_UPDATE,
  FLAG_DATA_ACKED,
  FLAG_DATA_SACKED,
  FLAG_RETRANS_DATA_ACKED,
  FLAG_SYN_ACKED,
  FLAG_SLOWPATH,
  FLAG_SND_UNA_ADVANCED,
  FLAG_UPDATE_TS_RECENT,
  FLAG_NO_CHALLENGE_ACK,
  FLAG_ACKED,
  FLAG_NOT_DUP,
  FLAG_CA_ALERT,
  FLAG_ECE,
  FLAG_FORWARD_PROGRESS,
  FLAG_ORIG_SACK_ACKED,
  FLAG_DSACK_TLP,
  FLAG_DSACKING_ACK,
  FLAG_SACK_RENEGING,
  FLAG_SET_XMIT_TIMER,
  REXMIT_NONE,
  REXMIT_NEW,
  TCP_DSACK_SEEN,
  TCP_NAGLE_OFF,
  tcp_is_sack,
  tcp_is_reno,
  tcp_tsorted_del,
  tcp_rack,
  after,
  before,
  between,
  tcp_jiffies32,
  tcp_clock_us,
  tcp_clock_ms,
  usecs_to_jiffies,
  jiffies_to_usecs,
  jiffies_to_msecs,
  tcp_packets_in_flight,
  tcp_receive_window,
  tcp_rtx_queue_head,
  tcp_skb_pcount,
  tcp_space,
  tcp_win_from_space,
  tcp_full_space,
  tcp_in_slow_start,
  tcp_urg_mode,
  ktime_get_seconds as ktime_get_seconds_net,
  keepalive_time_when,
  tcp_fin_time,
} from './tcp_sock.js';
import {
  inet_csk_schedule_ack,
  inet_csk_ack_scheduled,
  inet_csk_clear_xmit_timer,
  inet_csk_reset_xmit_timer,
  inet_csk_reset_keepalive_timer,
  inet_csk_in_pingpong_mode,
  inet_csk_enter_pingpong_mode,
  inet_csk_exit_pingpong_mode,
} from './inet_connection_sock.js';
import {
  tcp_send_ack,
  tcp_send_delayed_ack,
  tcp_push_pending_frames,
  __tcp_select_window,
  tcp_sync_mss,
  tcp_xmit_retransmit_queue,
  tcp_initialize_rcv_mss,
  tcp_mtu_to_mss,
  tcp_probe0_when,
  tcp_reset_xmit_timer,
  tcp_is_cwnd_limited,
  tcp_send_active_reset,
  tcp_current_mss,
  tcp_send_synack,
  tcp_chrono_stop,
  TCP_CHRONO_BUSY,
  TCP_CHRONO_SNDBUF_LIMITED,
  tcp_schedule_loss_probe,
  tcp_rto_delta_us,
  __tcp_push_pending_frames,
  tcp_slow_start_after_idle_check,
  tcp_trim_head,
} from './tcp_output.js';
import {
  recovery_rexmit,
  tcp_fastretrans_alert,
  tcp_rack_advance,
  tcp_rack_update_reo_wnd,
  tcp_remove_reno_sacks,
  tcp_limit_reno_sacked,
  tcp_init_cwnd_reduction,
  tcp_end_cwnd_reduction,
  tcp_cwnd_reduction,
  tcp_try_keep_open,
} from './tcp_recovery.js';
import { tcp_shift_skb_data, tcp_match_skb_to_sack, tcp_skb_seglen } from './tcp_sack_shift.js';
import {
  tcp_set_state,
  tcp_done,
  tcp_done_with_error,
  tcp_write_queue_purge,
  tcp_sk_wmem_free_skb,
  tcp_data_ready,
  __sk_stream_is_writeable,
} from './tcp.js';
import { tcp_time_wait } from './tcp_minisocks.js';
import { tcp_set_ca_state, tcp_init_congestion_control } from './tcp_cong.js';
import {
  NET_INC_STATS,
  TCP_INC_STATS,
  linux_mib_index,
  NET_ADD_STATS,
  TCP_MIB_INERRS,
  TCP_MIB_ATTEMPTFAILS,
} from './snmp.js';
import { dst_mtu } from './inet_dgram.js';
import {
  TCP_ECN_DEMAND_CWR,
  TCP_ECN_SEEN,
  tcp_ecn_disabled,
  tcp_ecn_rcv_ecn_echo,
  tcp_ecn_accept_cwr,
  tcp_ecn_rcv_synack,
  tcp_ecn_rcv_syn,
  tcp_count_delivered,
} from './tcp_ecn.js';
import { INET_ECN_CE, INET_ECN_MASK, INET_ECN_NOT_ECT } from './inet_ecn.js';

const MIB = (n: string): number => linux_mib_index(n);
const MIB_PAWSESTABREJECTED = MIB('PAWSEstab');
const MIB_TCPACKSKIPPEDPAWS = MIB('TCPACKSkippedPAWS');
const MIB_TCPACKSKIPPEDSEQ = MIB('TCPACKSkippedSeq');
const MIB_TCPCHALLENGEACK = MIB('TCPChallengeACK');
const MIB_TCPSYNCHALLENGE = MIB('TCPSYNChallenge');
const MIB_TCPHPACKS = MIB('TCPHPAcks');
const MIB_TCPDELIVERED = MIB('TCPDelivered');
const MIB_TCPDELIVEREDCE = MIB('TCPDeliveredCE');
const MIB_TCPPUREACKS = MIB('TCPPureAcks');
const MIB_DELAYEDACKLOST = MIB('DelayedACKLost');
const MIB_TCPZEROWINDOWDROP = MIB('TCPZeroWindowDrop');
const MIB_TCPRCVQDROP = MIB('TCPRcvQDrop');
const MIB_TCPOFOQUEUE = MIB('TCPOFOQueue');
const MIB_TCPOFODROP = MIB('TCPOFODrop');
const MIB_PRUNECALLED = MIB('PruneCalled');
const MIB_OFOPRUNED = MIB('OfoPruned');
const MIB_RCVPRUNED = MIB('RcvPruned');
const MIB_TCPOFOMERGE = MIB('TCPOFOMerge');
const MIB_TCPDSACKOLDSENT = MIB('TCPDSACKOldSent');
const MIB_TCPDSACKOFOSENT = MIB('TCPDSACKOfoSent');
const MIB_TCPSACKREORDER = MIB('TCPSACKReorder');
const MIB_TCPTSREORDER = MIB('TCPTSReorder');
const MIB_TCPDSACKRECV = MIB('TCPDSACKRecv');
const MIB_TCPDSACKOFORECV = MIB('TCPDSACKOfoRecv');
const MIB_TCPDSACKIGNOREDDUBIOUS = MIB('TCPDSACKIgnoredDubious');
const MIB_TCPDSACKRECVSEGS = MIB('TCPDSACKRecvSegs');
const MIB_TCPSACKDISCARD = MIB('TCPSACKDiscard');
const MIB_TCPDSACKIGNOREDOLD = MIB('TCPDSACKIgnoredOld');
const MIB_TCPDSACKIGNOREDNOUNDO = MIB('TCPDSACKIgnoredNoUndo');
const MIB_TCPABORTONDATA = MIB('TCPAbortOnData');

// ——— options —————————————————————————————————————————————————————————————————————

/**
 * The SACK blocks of the segment being parsed (start, end pairs; rcv_num_sacks of them): the
 * kernel keeps them in the skb, meaningful while that segment is processed, so one array serves.
 */
export const rcv_sack_blocks = new Uint32Array(TCP_NUM_SACKS * 2);

/**
 * tcp_parse_options(): read the options of the segment whose TCP header is at `th`. `estab`:
 * the connection is established (only TS and SACK matter then). Malformed options end parsing.
 */
export function tcp_parse_options(
  net_ipv4: { sysctl_tcp_timestamps: number; sysctl_tcp_window_scaling: number; sysctl_tcp_sack: number },
  h: Uint8Array,
  th: number,
  opt_rx: TcpOptionsReceived,
  estab: boolean,
  syn: boolean,
): void {
  const doff = (h[th + 12] >>> 4) * 4;
  let p = th + TCP_HDR_MIN;
  let length = doff - TCP_HDR_MIN;
  opt_rx.saw_tstamp = 0;
  opt_rx.rcv_num_sacks = 0;
  while (length > 0) {
    const opcode = h[p++];
    if (opcode === TCPOPT_EOL) return;
    if (opcode === TCPOPT_NOP) {
      length--;
      continue;
    }
    if (length < 2) return;
    const opsize = h[p++];
    if (opsize < 2 || opsize > length) return; // "silly options" / don't parse partial options
    switch (opcode) {
      case TCPOPT_MSS:
        if (opsize === TCPOLEN_MSS && syn && !estab) {
          const in_mss = (h[p] << 8) | h[p + 1];
          if (in_mss) {
            if (opt_rx.user_mss && opt_rx.user_mss < in_mss) opt_rx.mss_clamp = opt_rx.user_mss;
            else opt_rx.mss_clamp = in_mss;
          }
        }
        break;
      case TCPOPT_WINDOW:
        if (opsize === TCPOLEN_WINDOW && syn && !estab && net_ipv4.sysctl_tcp_window_scaling) {
          let snd_wscale = h[p];
          opt_rx.wscale_ok = 1;
          if (snd_wscale > TCP_MAX_WSCALE) snd_wscale = TCP_MAX_WSCALE;
          opt_rx.snd_wscale = snd_wscale;
        }
        break;
      case TCPOPT_TIMESTAMP:
        if (
          opsize === TCPOLEN_TIMESTAMP &&
          ((estab && opt_rx.tstamp_ok) || (!estab && net_ipv4.sysctl_tcp_timestamps))
        ) {
          opt_rx.saw_tstamp = 1;
          opt_rx.rcv_tsval = ((h[p] << 24) | (h[p + 1] << 16) | (h[p + 2] << 8) | h[p + 3]) >>> 0;
          opt_rx.rcv_tsecr = ((h[p + 4] << 24) | (h[p + 5] << 16) | (h[p + 6] << 8) | h[p + 7]) >>> 0;
        }
        break;
      case TCPOPT_SACK_PERM:
        if (opsize === TCPOLEN_SACK_PERM && syn && !estab && net_ipv4.sysctl_tcp_sack) opt_rx.sack_ok = 1;
        break;
      case TCPOPT_SACK:
        if (
          opsize >= TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK &&
          !((opsize - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_PERBLOCK) &&
          opt_rx.sack_ok
        ) {
          const n = Math.min((opsize - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_PERBLOCK, TCP_NUM_SACKS);
          for (let i = 0; i < n; i++) {
            const q = p + i * 8;
            rcv_sack_blocks[2 * i] = ((h[q] << 24) | (h[q + 1] << 16) | (h[q + 2] << 8) | h[q + 3]) >>> 0;
            rcv_sack_blocks[2 * i + 1] =
              ((h[q + 4] << 24) | (h[q + 5] << 16) | (h[q + 6] << 8) | h[q + 7]) >>> 0;
          }
          opt_rx.rcv_num_sacks = n;
        }
        break;
      default:
        opt_rx.saw_unknown = 1;
    }
    p += opsize - 2;
    length -= opsize;
  }
}

/** tcp_fast_parse_options(): options of an established connection's segment. */
function tcp_fast_parse_options(tp: TcpSock, skb: SkBuff): boolean {
  const h = skb.head;
  const th = skb.transport_header;
  const doff = (h[th + 12] >>> 4) * 4;
  if (doff === TCP_HDR_MIN) {
    tp.rx_opt.saw_tstamp = 0;
    tp.rx_opt.rcv_num_sacks = 0;
    return false;
  }
  // The aligned timestamp fast path (NOP NOP TS 10).
  if (tp.rx_opt.tstamp_ok && doff === TCP_HDR_MIN + TCPOLEN_TSTAMP_ALIGNED) {
    const o = th + TCP_HDR_MIN;
    if (
      h[o] === TCPOPT_NOP &&
      h[o + 1] === TCPOPT_NOP &&
      h[o + 2] === TCPOPT_TIMESTAMP &&
      h[o + 3] === TCPOLEN_TIMESTAMP
    ) {
      tp.rx_opt.saw_tstamp = 1;
      tp.rx_opt.rcv_num_sacks = 0;
      tp.rx_opt.rcv_tsval = ((h[o + 4] << 24) | (h[o + 5] << 16) | (h[o + 6] << 8) | h[o + 7]) >>> 0;
      tp.rx_opt.rcv_tsecr = ((h[o + 8] << 24) | (h[o + 9] << 16) | (h[o + 10] << 8) | h[o + 11]) >>> 0;
      if (tp.rx_opt.rcv_tsecr) tp.rx_opt.rcv_tsecr = (tp.rx_opt.rcv_tsecr - tp.tsoffset) >>> 0;
      return true;
    }
  }
  tcp_parse_options(tp.sk_net.ipv4!, h, th, tp.rx_opt, true, false);
  if (tp.rx_opt.saw_tstamp && tp.rx_opt.rcv_tsecr)
    tp.rx_opt.rcv_tsecr = (tp.rx_opt.rcv_tsecr - tp.tsoffset) >>> 0;
  return true;
}

/** Header fields of the segment at skb.transport_header. */
export function th_window(skb: SkBuff): number {
  const h = skb.head;
  const o = skb.transport_header;
  return (h[o + 14] << 8) | h[o + 15];
}
function th_urg_ptr(skb: SkBuff): number {
  const h = skb.head;
  const o = skb.transport_header;
  return (h[o + 18] << 8) | h[o + 19];
}
function th_seq(skb: SkBuff): number {
  const h = skb.head;
  const o = skb.transport_header + 4;
  return ((h[o] << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]) >>> 0;
}

// ——— PAWS and timestamps ——————————————————————————————————————————————————————————

function ktime_get_seconds(tp: TcpSock): number {
  return ktime_get_seconds_net(tp.sk_net);
}

/** tcp_paws_check(). */
export function tcp_paws_check(rx: TcpOptionsReceived, paws_win: number, now_s: number): boolean {
  if (((rx.ts_recent - rx.rcv_tsval) | 0) <= paws_win) return true;
  if (now_s >= rx.ts_recent_stamp + TCP_PAWS_24DAYS) return true;
  // Some OSes send SYN and SYN-ACK with tsval 0: ignore 0.
  if (!rx.ts_recent) return true;
  return false;
}

/** tcp_paws_reject(). */
export function tcp_paws_reject(rx: TcpOptionsReceived, rst: boolean, now_s: number): boolean {
  if (tcp_paws_check(rx, 0, now_s)) return false;
  if (rst && now_s >= rx.ts_recent_stamp + TCP_PAWS_MSL) return false;
  return true;
}

/** tcp_may_update_window(). */
function tcp_may_update_window(tp: TcpSock, ack: number, ack_seq: number, nwin: number): boolean {
  return (
    after(ack, tp.snd_una) ||
    after(ack_seq, tp.snd_wl1) ||
    (ack_seq === tp.snd_wl1 && (nwin > tp.snd_wnd || !nwin))
  );
}

/** tcp_disordered_ack(): an old duplicate ACK that PAWS should let through. */
function tcp_disordered_ack(tp: TcpSock, skb: SkBuff): boolean {
  const cb = TCP_SKB_CB(skb);
  const seq = cb.seq;
  const ack = cb.ack_seq;
  return (
    (cb.tcp_flags & TCPHDR_ACK) !== 0 &&
    seq === cb.end_seq &&
    seq === tp.rcv_nxt &&
    ack === tp.snd_una &&
    !tcp_may_update_window(tp, ack, seq, th_window(skb) << tp.rx_opt.snd_wscale) &&
    ((tp.rx_opt.ts_recent - tp.rx_opt.rcv_tsval) | 0) <= (tp.icsk_rto * 1024) / 250
  );
}

/** tcp_paws_discard(). */
function tcp_paws_discard(tp: TcpSock, skb: SkBuff): boolean {
  return !tcp_paws_check(tp.rx_opt, TCP_PAWS_WINDOW, ktime_get_seconds(tp)) && !tcp_disordered_ack(tp, skb);
}

/** tcp_store_ts_recent(). */
export function tcp_store_ts_recent(tp: TcpSock): void {
  tp.rx_opt.ts_recent = tp.rx_opt.rcv_tsval;
  tp.rx_opt.ts_recent_stamp = ktime_get_seconds(tp);
}

/** tcp_replace_ts_recent(). */
function tcp_replace_ts_recent(tp: TcpSock, seq: number): void {
  if (tp.rx_opt.saw_tstamp && !after(seq, tp.rcv_wup)) {
    if (tcp_paws_check(tp.rx_opt, 0, ktime_get_seconds(tp))) tcp_store_ts_recent(tp);
  }
}

// ——— out-of-window answers ————————————————————————————————————————————————————————

/** tcp_oow_rate_limited(): at most one dupACK per tcp_invalid_ratelimit ms for bad segments. */
function tcp_oow_rate_limited(tp: TcpSock, skb: SkBuff, mib: number): boolean {
  const cb = TCP_SKB_CB(skb);
  // Data packets without SYNs are not likely part of an ACK loop.
  if (cb.seq !== cb.end_seq && !(cb.tcp_flags & TCPHDR_SYN)) return false;
  const now = tcp_jiffies32(tp.sk_net);
  const limit = Math.ceil((tp.sk_net.ipv4!.sysctl_tcp_invalid_ratelimit * 250) / 1000);
  if (tp.last_oow_ack_time) {
    const elapsed = now - tp.last_oow_ack_time;
    if (elapsed >= 0 && elapsed < limit) {
      NET_INC_STATS(tp.sk_net, mib);
      return true;
    }
  }
  tp.last_oow_ack_time = now;
  return false;
}

/** Per-namespace challenge-ACK budget (RFC 5961 §7 with Linux's per-second limit). */
interface ChallengeState {
  stamp: number;
  count: number;
}
const challenge = new WeakMap<object, ChallengeState>();

/** tcp_send_challenge_ack(). */
export function tcp_send_challenge_ack(tp: TcpSock): void {
  const net = tp.sk_net;
  if (tcp_oow_rate_limited_any(tp)) return;
  const limit = net.ipv4!.sysctl_tcp_challenge_ack_limit;
  if (limit < 0x7fffffff) {
    let st = challenge.get(net);
    if (!st) challenge.set(net, (st = { stamp: 0, count: 0 }));
    const now_s = ktime_get_seconds_net(net);
    if (st.stamp !== now_s) {
      st.stamp = now_s;
      // Linux randomises the budget around the limit: limit/2 + random(limit).
      st.count = (limit >>> 1) + (net.kernel.prandom.get_random_u32() % Math.max(1, limit));
    }
    if (st.count <= 0) return;
    st.count--;
  }
  NET_INC_STATS(net, MIB_TCPCHALLENGEACK);
  tcp_send_ack(tp);
}

/** The out-of-window rate limit applied to challenge ACKs too (any segment). */
function tcp_oow_rate_limited_any(tp: TcpSock): boolean {
  const now = tcp_jiffies32(tp.sk_net);
  const limit = Math.ceil((tp.sk_net.ipv4!.sysctl_tcp_invalid_ratelimit * 250) / 1000);
  if (tp.last_oow_ack_time) {
    const elapsed = now - tp.last_oow_ack_time;
    if (elapsed >= 0 && elapsed < limit) {
      NET_INC_STATS(tp.sk_net, MIB_TCPACKSKIPPEDCHALLENGE);
      return true;
    }
  }
  tp.last_oow_ack_time = now;
  return false;
}
const MIB_TCPACKSKIPPEDCHALLENGE = MIB('TCPACKSkippedChallenge');

/** tcp_send_dupack(): an out-of-window segment gets an immediate ACK (with D-SACK if data). */
function tcp_send_dupack(tp: TcpSock, skb: SkBuff): void {
  const cb = TCP_SKB_CB(skb);
  if (cb.end_seq !== cb.seq && before(cb.seq, tp.rcv_nxt)) {
    NET_INC_STATS(tp.sk_net, MIB_DELAYEDACKLOST);
    tcp_enter_quickack_mode(tp, TCP_MAX_QUICKACKS);
    if (tp.rx_opt.sack_ok && tp.sk_net.ipv4!.sysctl_tcp_dsack) {
      let end_seq = cb.end_seq;
      if (after(end_seq, tp.rcv_nxt)) end_seq = tp.rcv_nxt;
      tcp_dsack_set(tp, cb.seq, end_seq);
    }
  }
  tcp_send_ack(tp);
}

/** tcp_sequence(): is the segment in the receive window? */
function tcp_sequence(tp: TcpSock, seq: number, end_seq: number): boolean {
  return !before(end_seq, tp.rcv_wup) && !after(seq, (tp.rcv_nxt + tcp_receive_window(tp)) >>> 0);
}

/** tcp_reset_check(): an RST at rcv_nxt - 1 after the peer's FIN. */
function tcp_reset_check(tp: TcpSock, skb: SkBuff): boolean {
  const s = tp.sk_state;
  return (
    TCP_SKB_CB(skb).seq === (tp.rcv_nxt - 1) >>> 0 &&
    (s === TCP_CLOSE_WAIT || s === TCP_LAST_ACK || s === TCP_CLOSING)
  );
}

/** tcp_reset(): the peer reset the connection. */
export function tcp_reset(tp: TcpSock): void {
  let err: number;
  switch (tp.sk_state) {
    case TCP_SYN_SENT:
      err = E.ECONNREFUSED;
      break;
    case TCP_CLOSE_WAIT:
      err = E.EPIPE;
      break;
    case TCP_CLOSE:
      return;
    default:
      err = E.ECONNRESET;
  }
  tcp_write_queue_purge(tp);
  tcp_done_with_error(tp, err);
}

/**
 * tcp_validate_incoming(): PAWS, the sequence test, RST and SYN rules (RFC 793, RFC 5961).
 * Returns true when the segment may be processed; otherwise it has been dealt with.
 */
function tcp_validate_incoming(tp: TcpSock, skb: SkBuff, syn_inerr: boolean): boolean {
  const cb = TCP_SKB_CB(skb);
  const rst = (cb.tcp_flags & TCPHDR_RST) !== 0;
  const syn = (cb.tcp_flags & TCPHDR_SYN) !== 0;
  if (tcp_fast_parse_options(tp, skb) && tp.rx_opt.saw_tstamp && tcp_paws_discard(tp, skb)) {
    if (!rst) {
      if (syn) return syn_challenge(tp, syn_inerr);
      NET_INC_STATS(tp.sk_net, MIB_PAWSESTABREJECTED);
      if (!tcp_oow_rate_limited(tp, skb, MIB_TCPACKSKIPPEDPAWS)) tcp_send_dupack(tp, skb);
      return false;
    }
    // A reset is accepted even if it did not pass PAWS.
  }
  if (!tcp_sequence(tp, cb.seq, cb.end_seq)) {
    if (!rst) {
      if (syn) return syn_challenge(tp, syn_inerr);
      if (!tcp_oow_rate_limited(tp, skb, MIB_TCPACKSKIPPEDSEQ)) tcp_send_dupack(tp, skb);
    } else if (tcp_reset_check(tp, skb)) tcp_reset(tp);
    return false;
  }
  if (rst) {
    // RFC 5961 §3.2: reset only at exactly rcv_nxt (or rcv_nxt - 1 after a FIN, or the
    // right edge of the highest SACK block); otherwise answer with a challenge ACK.
    if (cb.seq === tp.rcv_nxt || tcp_reset_check(tp, skb)) {
      tcp_reset(tp);
      return false;
    }
    if (tp.rx_opt.sack_ok && tp.rx_opt.num_sacks > 0) {
      let max_sack = tp.selective_acks[0].end_seq;
      for (let i = 1; i < tp.rx_opt.num_sacks; i++)
        if (after(tp.selective_acks[i].end_seq, max_sack)) max_sack = tp.selective_acks[i].end_seq;
      if (cb.seq === max_sack) {
        tcp_reset(tp);
        return false;
      }
    }
    tcp_send_challenge_ack(tp);
    return false;
  }
  if (syn) {
    if (
      tp.sk_state === TCP_SYN_RECV &&
      tp.sk_socket &&
      cb.tcp_flags & TCPHDR_ACK &&
      (cb.seq + 1) >>> 0 === cb.end_seq &&
      (cb.seq + 1) >>> 0 === tp.rcv_nxt &&
      cb.ack_seq === tp.snd_nxt
    )
      return true;
    return syn_challenge(tp, syn_inerr);
  }
  return true;
}

function syn_challenge(tp: TcpSock, syn_inerr: boolean): boolean {
  if (syn_inerr) TCP_INC_STATS(tp.sk_net, TCP_MIB_INERRS);
  NET_INC_STATS(tp.sk_net, MIB_TCPSYNCHALLENGE);
  tcp_send_challenge_ack(tp);
  return false;
}

// ——— RTT and RTO ———————————————————————————————————————————————————————————————————

/** tcp_rto_min_us(). */
function tcp_rto_min_us(tp: TcpSock): number {
  return jiffies_to_usecs(tp.icsk_rto_min);
}

/** tcp_rtt_estimator(): Jacobson/Karels as Linux keeps it (srtt << 3, mdev << 2). */
function tcp_rtt_estimator(tp: TcpSock, mrtt_us: number): void {
  let m = mrtt_us;
  let srtt = tp.srtt_us;
  if (srtt !== 0) {
    m -= srtt >>> 3;
    srtt += m;
    if (m < 0) {
      m = -m;
      m -= tp.mdev_us >>> 2;
      if (m > 0) m >>= 3;
    } else m -= tp.mdev_us >>> 2;
    tp.mdev_us += m;
    if (tp.mdev_us > tp.mdev_max_us) {
      tp.mdev_max_us = tp.mdev_us;
      if (tp.mdev_max_us > tp.rttvar_us) tp.rttvar_us = tp.mdev_max_us;
    }
    if (after(tp.snd_una, tp.rtt_seq)) {
      if (tp.mdev_max_us < tp.rttvar_us) tp.rttvar_us -= (tp.rttvar_us - tp.mdev_max_us) >>> 2;
      tp.rtt_seq = tp.snd_nxt;
      tp.mdev_max_us = tcp_rto_min_us(tp);
    }
  } else {
    srtt = m << 3;
    tp.mdev_us = m << 1;
    tp.rttvar_us = Math.max(tp.mdev_us, tcp_rto_min_us(tp));
    tp.mdev_max_us = tp.rttvar_us;
    tp.rtt_seq = tp.snd_nxt;
  }
  tp.srtt_us = Math.max(1, srtt);
}

/** __tcp_set_rto(). */
export function __tcp_set_rto(tp: TcpSock): number {
  return usecs_to_jiffies((tp.srtt_us >>> 3) + tp.rttvar_us);
}

/** tcp_set_rto(). */
function tcp_set_rto(tp: TcpSock): void {
  tp.icsk_rto = Math.min(__tcp_set_rto(tp), TCP_RTO_MAX);
}

/**
 * tcp_ack_update_rtt(): an RTT sample from the ACK's timing, else from the newest SACKed
 * segment, else from the echoed timestamp. Karn's rule: never from retransmitted segments.
 */
function tcp_ack_update_rtt(
  tp: TcpSock,
  flag: number,
  seq_rtt_us: number,
  sack_rtt_us: number,
  ca_rtt_us: number,
): boolean {
  if (seq_rtt_us < 0) seq_rtt_us = sack_rtt_us;
  if (seq_rtt_us < 0 && tp.rx_opt.saw_tstamp && tp.rx_opt.rcv_tsecr && flag & FLAG_ACKED) {
    let delta = (tcp_clock_ms(tp.sk_net) - tp.rx_opt.rcv_tsecr) >>> 0;
    if (delta < 0x7fffffff / 1000) {
      if (!delta) delta = 1;
      seq_rtt_us = ca_rtt_us = delta * 1000;
    }
  }
  // rs->rtt_us: the RTT of the last (S)ACKed segment, for congestion control.
  ack_rtt.rtt_us = ca_rtt_us;
  if (seq_rtt_us < 0) return false;
  // tcp_update_rtt_min(): a sample of zero counts as one jiffy, as the kernel's filter takes it
  // (rtt_us ?: jiffies_to_usecs(1)); it must not drive min_rtt, and with it RACK's reordering
  // window (min_rtt / 4), to nothing.
  const min_sample = (ca_rtt_us >= 0 ? ca_rtt_us : seq_rtt_us) || jiffies_to_usecs(1);
  if (min_sample < tp.min_rtt_us) tp.min_rtt_us = min_sample;
  tcp_rtt_estimator(tp, seq_rtt_us);
  tcp_set_rto(tp);
  tp.icsk_backoff = 0;
  return true;
}

/** The rate sample of the ACK being processed (struct rate_sample's fields used here). */
const ack_rtt = { rtt_us: -1 };

/** tcp_synack_rtt_meas(): the passive side's first RTT sample, from its SYN-ACK. */
export function tcp_synack_rtt_meas(tp: TcpSock, req: { num_retrans: number; snt_synack: number }): void {
  let rtt_us = -1;
  // Only when the SYN-ACK was not retransmitted (Karn); else the timestamp echo may serve.
  if (req.num_retrans === 0 && req.snt_synack) rtt_us = tcp_clock_us(tp.sk_net) - req.snt_synack;
  tcp_ack_update_rtt(tp, FLAG_SYN_ACKED, rtt_us, -1, rtt_us);
}

/** tcp_rearm_rto(): the retransmit timer runs while data is in flight. */
export function tcp_rearm_rto(tp: TcpSock): void {
  if (!tp.packets_out) {
    inet_csk_clear_xmit_timer(tp, ICSK_TIME_RETRANS);
    return;
  }
  let rto = tp.icsk_rto;
  // After a loss probe (or reordering timer), the RTO still counts from the oldest segment's send.
  if (tp.icsk_pending === ICSK_TIME_LOSS_PROBE || tp.icsk_pending === ICSK_TIME_REO_TIMEOUT)
    rto = usecs_to_jiffies(Math.max(tcp_rto_delta_us(tp), 1));
  tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, rto);
}

/** tcp_set_xmit_timer(): after an ACK, the loss probe if one is due, else the RTO. */
function tcp_set_xmit_timer(tp: TcpSock): void {
  if (!tcp_schedule_loss_probe(tp, true)) tcp_rearm_rto(tp);
}

/** tcp_process_tlp_ack(): was the loss probe answered — and did it repair a loss? */
function tcp_process_tlp_ack(tp: TcpSock, ack: number, flag: number): void {
  if (before(ack, tp.tlp_high_seq)) return;
  if (!tp.tlp_retrans) {
    // The probe was new data, now acknowledged.
    tp.tlp_high_seq = 0;
  } else if (flag & FLAG_DSACK_TLP) {
    // This D-SACK means the original and the probe both arrived: no loss.
    tp.tlp_high_seq = 0;
  } else if (after(ack, tp.tlp_high_seq)) {
    // The ACK advances past the probe: there was a loss, so reduce cwnd.
    tcp_init_cwnd_reduction(tp);
    tcp_set_ca_state(tp, TCP_CA_CWR);
    tcp_end_cwnd_reduction(tp);
    tcp_try_keep_open(tp);
    NET_INC_STATS(tp.sk_net, MIB_TCPLOSSPROBERECOVERY);
  } else if (!(flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DATA_SACKED))) {
    // A pure duplicate ACK: both the original and the probe arrived; no loss.
    tp.tlp_high_seq = 0;
  }
}
const MIB_TCPLOSSPROBERECOVERY = MIB('TCPLossProbeRecovery');

/** tcp_clamp_rto_to_user_timeout(). */
export function tcp_clamp_rto_to_user_timeout(tp: TcpSock, rto = tp.icsk_rto): number {
  const user_timeout = tp.icsk_user_timeout;
  if (!tp.icsk_retransmits || !user_timeout) return rto;
  const elapsed = tcp_clock_ms(tp.sk_net) - tp.retrans_stamp;
  const remaining = user_timeout - elapsed;
  if (remaining <= 0) return 1;
  return Math.min(rto, Math.ceil((remaining * 250) / 1000));
}

// ——— ACK processing ——————————————————————————————————————————————————————————————

/** tcp_init_wl(). */
export function tcp_init_wl(tp: TcpSock, seq: number): void {
  tp.snd_wl1 = seq;
}

/** tcp_snd_una_update(). */
function tcp_snd_una_update(tp: TcpSock, ack: number): void {
  const delta = (ack - tp.snd_una) >>> 0;
  tp.bytes_acked += delta;
  tp.snd_una = ack;
}

/** tcp_rcv_nxt_update(). */
function tcp_rcv_nxt_update(tp: TcpSock, seq: number): void {
  const delta = (seq - tp.rcv_nxt) >>> 0;
  tp.bytes_received += delta;
  tp.rcv_nxt = seq;
}

/** tcp_ack_update_window(). */
function tcp_ack_update_window(tp: TcpSock, skb: SkBuff, ack: number, ack_seq: number): number {
  let flag = 0;
  let nwin = th_window(skb);
  // A 16-bit window shifted by at most TCP_MAX_WSCALE (14) fits 31 bits.
  if (!(TCP_SKB_CB(skb).tcp_flags & TCPHDR_SYN)) nwin <<= tp.rx_opt.snd_wscale;
  if (tcp_may_update_window(tp, ack, ack_seq, nwin)) {
    flag |= FLAG_WIN_UPDATE;
    tp.snd_wl1 = ack_seq;
    if (tp.snd_wnd !== nwin) {
      tp.snd_wnd = nwin;
      // Data waited for this window (a zero window, probed): it may have waited long enough
      // for the congestion window to restart.
      if (!tp.sk_write_queue.empty()) tcp_slow_start_after_idle_check(tp);
      if (nwin > tp.max_window) {
        tp.max_window = nwin;
        tcp_sync_mss(tp, tp.icsk_pmtu_cookie);
      }
    }
  }
  tcp_snd_una_update(tp, ack);
  return flag;
}

/** tcp_skb_spurious_retrans(): the ACK echoes a timestamp older than the retransmission. */
function tcp_skb_spurious_retrans(tp: TcpSock, skb: SkBuff): boolean {
  const scb = TCP_SKB_CB(skb);
  return (scb.sacked & TCPCB_RETRANS) !== 0 && tcp_tsopt_ecr_before(tp, tcp_skb_timestamp_ms(scb.tcp_tstamp));
}

/**
 * tcp_clean_rtx_queue(): free what the ACK covers and update the scoreboard's counters; a hole
 * filled by a segment that was never retransmitted is reordering. Returns FLAG_*.
 */
function tcp_clean_rtx_queue(
  tp: TcpSock,
  prior_fack: number,
  prior_snd_una: number,
  st: TcpSacktagState,
  ece_ack: boolean,
): number {
  let flag = 0;
  let first_ackt = 0;
  let last_ackt = 0;
  let pkts_acked = 0;
  const prior_sacked = tp.sacked_out;
  let reord = tp.snd_nxt; // lowest acked un-retransmitted, un-SACKed sequence
  let seq_rtt_us = -1;
  let sack_rtt_us = -1;
  let ca_rtt_us = -1;
  const now_us = tcp_clock_us(tp.sk_net);
  tp.tcp_mstamp = now_us;
  const sack = tcp_is_sack(tp);
  let skb: SkBuff | null;
  while ((skb = tcp_rtx_queue_head(tp))) {
    const scb = TCP_SKB_CB(skb);
    const sacked = scb.sacked;
    const start_seq = scb.seq;
    let acked_pcount: number;
    let fully_acked = true;
    if (after(scb.end_seq, tp.snd_una)) {
      // A partially acknowledged segment stays whole (a retransmission starts at snd_una); of
      // a multi-segment skb, the whole segments acknowledged are trimmed off (tcp_tso_acked).
      if (tcp_skb_pcount(skb) === 1 || !after(tp.snd_una, scb.seq)) break;
      acked_pcount = tcp_skb_pcount(skb);
      tcp_trim_head(tp, skb, (tp.snd_una - scb.seq) >>> 0);
      acked_pcount -= tcp_skb_pcount(skb);
      if (!acked_pcount) break;
      fully_acked = false;
    } else acked_pcount = tcp_skb_pcount(skb);
    if (sacked & TCPCB_RETRANS) {
      if (sacked & TCPCB_SACKED_RETRANS) tp.retrans_out -= acked_pcount;
      flag |= FLAG_RETRANS_DATA_ACKED;
    } else if (!(sacked & TCPCB_SACKED_ACKED)) {
      last_ackt = scb.tcp_tstamp;
      if (!first_ackt) first_ackt = last_ackt;
      if (before(start_seq, reord)) reord = start_seq;
      if (!after(scb.end_seq, tp.high_seq)) flag |= FLAG_ORIG_SACK_ACKED;
    }
    if (sacked & TCPCB_SACKED_ACKED) tp.sacked_out -= acked_pcount;
    else if (sack) {
      tcp_count_delivered(tp, acked_pcount, ece_ack);
      if (!tcp_skb_spurious_retrans(tp, skb))
        tcp_rack_advance(tp, sacked, scb.end_seq, scb.tcp_tstamp, scb.tx_order);
    }
    if (sacked & TCPCB_LOST) tp.lost_out -= acked_pcount;
    tp.packets_out -= acked_pcount;
    pkts_acked += acked_pcount;
    tcp_rate_skb_delivered(st, skb);
    if (!(scb.tcp_flags & TCPHDR_SYN)) flag |= FLAG_DATA_ACKED;
    else {
      flag |= FLAG_SYN_ACKED;
      tp.retrans_stamp = 0;
    }
    if (!fully_acked) break;
    tp.tcp_rtx_queue.unlink(skb);
    tcp_tsorted_del(skb);
    tcp_sk_wmem_free_skb(tp, skb);
    tp.queue_shrunk = true;
  }
  skb = tcp_rtx_queue_head(tp);
  if (!skb) tcp_chrono_stop(tp, TCP_CHRONO_BUSY);
  if (between(tp.snd_up, prior_snd_una, tp.snd_una)) tp.snd_up = tp.snd_una;
  // The receiver reneged: what it SACKed is at the head, and was not acknowledged.
  if (skb && TCP_SKB_CB(skb).sacked & TCPCB_SACKED_ACKED) flag |= FLAG_SACK_RENEGING;
  if (first_ackt && !(flag & FLAG_RETRANS_DATA_ACKED)) {
    seq_rtt_us = now_us - first_ackt;
    ca_rtt_us = now_us - last_ackt;
  }
  if (st.first_sackt) {
    sack_rtt_us = now_us - st.first_sackt;
    ca_rtt_us = now_us - st.last_sackt;
  }
  const rtt_update = tcp_ack_update_rtt(tp, flag, seq_rtt_us, sack_rtt_us, ca_rtt_us);
  if (flag & FLAG_ACKED) {
    flag |= FLAG_SET_XMIT_TIMER;
    if (!sack) {
      tcp_remove_reno_sacks(tp, pkts_acked, ece_ack);
      // Without SACK, progress over a retransmitted segment cannot prove the original arrived.
      if (flag & FLAG_RETRANS_DATA_ACKED) flag &= ~FLAG_ORIG_SACK_ACKED;
    } else if (before(reord, prior_fack)) {
      // A hole that was never retransmitted got filled: reordering.
      tcp_check_sack_reordering(tp, reord, 0);
    }
  } else if (skb && rtt_update && sack_rtt_us >= 0 && sack_rtt_us > now_us - TCP_SKB_CB(skb).tcp_tstamp) {
    // Do not re-arm the RTO when the SACK RTT is measured from data sent after the head was last
    // (re)transmitted: the timeout could keep being pushed back in loss recovery.
    flag |= FLAG_SET_XMIT_TIMER;
  }
  if (tp.icsk_ca_ops.pkts_acked && (pkts_acked || ack_rtt.rtt_us >= 0))
    tp.icsk_ca_ops.pkts_acked(tp, pkts_acked, ack_rtt.rtt_us);
  void prior_sacked;
  return flag;
}

/** tcp_ack_probe(): the zero-window probe timer, re-armed or stopped after an ACK. */
function tcp_ack_probe(tp: TcpSock): void {
  const head = tp.sk_write_queue.peek();
  if (!head) return;
  if (!after(TCP_SKB_CB(head).end_seq, (tp.snd_una + tp.snd_wnd) >>> 0)) {
    tp.icsk_backoff = 0;
    tp.icsk_probes_tstamp = 0;
    inet_csk_clear_xmit_timer(tp, ICSK_TIME_PROBE0);
  } else {
    tcp_reset_xmit_timer(tp, ICSK_TIME_PROBE0, tcp_probe0_when(tp, TCP_RTO_MAX));
  }
}

/**
 * tcp_simple_retransmit(): the MSS shrank (path MTU); every segment larger than it is lost and
 * goes again at the new size. The congestion window is left alone: the amount of data in the
 * network did not grow, only its units changed.
 */
export function tcp_simple_retransmit(tp: TcpSock): void {
  const mss = tcp_current_mss(tp);
  for (let skb = tcp_rtx_queue_head(tp); skb; skb = skb.next) {
    const cb = TCP_SKB_CB(skb);
    if (tcp_skb_seglen(skb) > mss && !(cb.sacked & TCPCB_SACKED_ACKED)) {
      if (cb.sacked & TCPCB_SACKED_RETRANS) {
        cb.sacked &= ~TCPCB_SACKED_RETRANS;
        tp.retrans_out -= tcp_skb_pcount(skb);
      }
      if (!(cb.sacked & TCPCB_LOST)) {
        cb.sacked |= TCPCB_LOST;
        tp.lost_out += tcp_skb_pcount(skb);
      }
    }
  }
  if (!tp.lost_out) return;
  if (tcp_is_reno(tp)) tcp_limit_reno_sacked(tp);
  if (tp.icsk_ca_state !== TCP_CA_Loss) {
    tp.high_seq = tp.snd_nxt;
    tp.prior_ssthresh = 0;
    tp.undo_marker = 0;
    tcp_set_ca_state(tp, TCP_CA_Loss);
  }
  tcp_xmit_retransmit_queue(tp);
}

/** tcp_ack_is_dubious(). */
function tcp_ack_is_dubious(tp: TcpSock, flag: number): boolean {
  return !(flag & FLAG_NOT_DUP) || (flag & FLAG_CA_ALERT) !== 0 || tp.icsk_ca_state !== TCP_CA_Open;
}

/** tcp_may_raise_cwnd(). */
function tcp_may_raise_cwnd(tp: TcpSock, flag: number): boolean {
  if (tp.reordering > tp.sk_net.ipv4!.sysctl_tcp_reordering) return (flag & FLAG_FORWARD_PROGRESS) !== 0;
  return (flag & FLAG_DATA_ACKED) !== 0;
}

/** tcp_cong_control(): PRR while the window is being reduced, else the congestion control. */
function tcp_cong_control(
  tp: TcpSock,
  ack: number,
  acked_sacked: number,
  losses: number,
  flag: number,
): void {
  if (tp.icsk_ca_state === TCP_CA_CWR || tp.icsk_ca_state === TCP_CA_Recovery) {
    tcp_cwnd_reduction(tp, acked_sacked, losses, flag);
  } else if (tcp_may_raise_cwnd(tp, flag)) {
    tp.icsk_ca_ops.cong_avoid(tp, ack, acked_sacked);
  }
  tp.snd_cwnd_stamp = tcp_jiffies32(tp.sk_net);
  tcp_update_pacing_rate(tp);
}

/** tcp_xmit_recovery(): send what recovery decided — new data first for F-RTO, else lost ones. */
function tcp_xmit_recovery(tp: TcpSock, rexmit: number): void {
  if (rexmit === REXMIT_NONE || tp.sk_state === TCP_SYN_SENT) return;
  if (rexmit === REXMIT_NEW) {
    __tcp_push_pending_frames(tp, tcp_current_mss(tp), TCP_NAGLE_OFF);
    if (after(tp.snd_nxt, tp.high_seq)) return;
    tp.frto = 0;
  }
  tcp_xmit_retransmit_queue(tp);
}

/**
 * tcp_ack(): process the ACK of a segment. Returns 1 (processed), 0 (old ACK, ignored) or -1
 * (to be dropped: it acknowledges data never sent, or is far too old).
 */
export function tcp_ack(tp: TcpSock, skb: SkBuff, flag: number): number {
  const cb = TCP_SKB_CB(skb);
  const st = tcp_sacktag_state_init();
  const prior_snd_una = tp.snd_una;
  const ack_seq = cb.seq;
  const ack = cb.ack_seq;
  const prior_packets = tp.packets_out;
  const prior_delivered = tp.delivered;
  const lost = tp.lost;
  const has_sacks = tp.rx_opt.rcv_num_sacks > 0;
  let num_dupack = 0;
  if (before(ack, prior_snd_una)) {
    // RFC 5961 §5.2: an ACK older than anything we could have sent gets a challenge ACK.
    const max_window = Math.min(tp.max_window, tp.bytes_acked);
    if (before(ack, (prior_snd_una - max_window) >>> 0)) {
      if (!(flag & FLAG_NO_CHALLENGE_ACK)) tcp_send_challenge_ack(tp);
      return -1;
    }
    // old_ack: SACK information may still be new; a D-SACK may allow an undo.
    if (has_sacks) {
      flag |= tcp_sacktag_write_queue(tp, ack, prior_snd_una, st);
      flag = tcp_fastretrans_alert(tp, prior_snd_una, num_dupack, flag);
      tcp_newly_delivered(tp, prior_delivered, flag);
      tcp_xmit_recovery(tp, recovery_rexmit.rexmit);
    }
    return 0;
  }
  if (after(ack, tp.snd_nxt)) {
    // RFC 5961 §5.2 (Linux 6.18 stable): an ACK of data never sent gets a challenge ACK too.
    if (!(flag & FLAG_NO_CHALLENGE_ACK)) tcp_send_challenge_ack(tp);
    return -1;
  }
  if (after(ack, prior_snd_una)) {
    flag |= FLAG_SND_UNA_ADVANCED;
    tp.icsk_retransmits = 0;
  }
  const prior_fack = tcp_is_sack(tp) ? tcp_highest_sack_seq(tp) : tp.snd_una;
  if (flag & FLAG_UPDATE_TS_RECENT) tcp_replace_ts_recent(tp, cb.seq);
  if ((flag & (FLAG_SLOWPATH | FLAG_SND_UNA_ADVANCED)) === FLAG_SND_UNA_ADVANCED) {
    tp.snd_wl1 = ack_seq;
    tcp_snd_una_update(tp, ack);
    flag |= FLAG_WIN_UPDATE;
    NET_INC_STATS(tp.sk_net, MIB_TCPHPACKS);
  } else {
    if (ack_seq !== cb.end_seq) flag |= FLAG_DATA;
    else NET_INC_STATS(tp.sk_net, MIB_TCPPUREACKS);
    flag |= tcp_ack_update_window(tp, skb, ack, ack_seq);
    if (has_sacks) flag |= tcp_sacktag_write_queue(tp, ack, prior_snd_una, st);
    if (tcp_ecn_rcv_ecn_echo(tp, cb.tcp_flags)) flag |= FLAG_ECE;
    // Segments SACKed (or D-SACKed) by this ACK were delivered.
    if (st.sack_delivered) tcp_count_delivered(tp, st.sack_delivered, (flag & FLAG_ECE) !== 0);
  }
  // RFC 3168 wants CWR on new data only; Linux takes it on pure ACKs too, for peers that put it there.
  tcp_ecn_accept_cwr(tp, skb);
  tp.sk_err_soft = 0;
  tp.icsk_probes_out = 0;
  tp.rcv_tstamp = tcp_jiffies32(tp.sk_net);
  let rexmit = REXMIT_NONE;
  if (!prior_packets) {
    // no_queue: if data was D-SACKed, see if a reduction can be undone.
    if (flag & FLAG_DSACKING_ACK) {
      flag = tcp_fastretrans_alert(tp, prior_snd_una, num_dupack, flag);
      tcp_newly_delivered(tp, prior_delivered, flag);
    }
    tcp_ack_probe(tp);
    if (tp.tlp_high_seq) tcp_process_tlp_ack(tp, ack, flag);
    return 1;
  }
  ack_rtt.rtt_us = -1;
  flag |= tcp_clean_rtx_queue(tp, prior_fack, prior_snd_una, st, (flag & FLAG_ECE) !== 0);
  tcp_rack_update_reo_wnd(tp, st.prior_delivered);
  if (tp.tlp_high_seq) tcp_process_tlp_ack(tp, ack, flag);
  if (tcp_ack_is_dubious(tp, flag)) {
    if (!(flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DSACKING_ACK))) num_dupack = 1;
    flag = tcp_fastretrans_alert(tp, prior_snd_una, num_dupack, flag);
    rexmit = recovery_rexmit.rexmit;
  }
  // If needed, reset the TLP/RTO timer when RACK did not set one.
  if (flag & FLAG_SET_XMIT_TIMER) tcp_set_xmit_timer(tp);
  const delivered = tcp_newly_delivered(tp, prior_delivered, flag);
  tcp_cong_control(tp, ack, delivered, tp.lost - lost, flag);
  tcp_xmit_recovery(tp, rexmit);
  return 1;
}

/** tcp_newly_delivered(): segments this ACK delivered (counted in TCPDelivered). */
function tcp_newly_delivered(tp: TcpSock, prior_delivered: number, flag: number): number {
  const delivered = tp.delivered - prior_delivered;
  if (delivered > 0) {
    NET_ADD_STATS(tp.sk_net, MIB_TCPDELIVERED, delivered);
    if (flag & FLAG_ECE) NET_ADD_STATS(tp.sk_net, MIB_TCPDELIVEREDCE, delivered);
  }
  return delivered;
}

// ——— the SACK scoreboard ————————————————————————————————————————————————————————————

/** struct tcp_sacktag_state (with the rate sample's prior_delivered). */
export class TcpSacktagState {
  flag = 0;
  /** The lowest sequence newly SACKed or acked below the highest SACK: reordering evidence. */
  reord = 0;
  /** Send times of the first and last segments newly SACKed that were never retransmitted. */
  first_sackt = 0;
  last_sackt = 0;
  /** Segments newly SACKed or D-SACKed. */
  sack_delivered = 0;
  /** tp->delivered when the most recently sent of the segments delivered now was sent. */
  prior_delivered = 0;
}
/** One state for the ACK being processed (ACKs are processed one at a time). */
const sacktag_state = new TcpSacktagState();

/** Reset the state for a new ACK. */
function tcp_sacktag_state_init(): TcpSacktagState {
  const st = sacktag_state;
  st.flag = st.reord = st.first_sackt = st.last_sackt = st.sack_delivered = st.prior_delivered = 0;
  return st;
}

/** The valid SACK blocks of the ACK, in sequence order (sp[]). */
const sp_start = new Uint32Array(TCP_NUM_SACKS);
const sp_end = new Uint32Array(TCP_NUM_SACKS);

/** tcp_highest_sack_seq(). */
export function tcp_highest_sack_seq(tp: TcpSock): number {
  if (!tp.sacked_out) return tp.snd_una;
  return tp.highest_sack_seq;
}

/** tcp_highest_sack(): the segment after the highest SACKed one, or null when not known. */
function tcp_highest_sack(tp: TcpSock): SkBuff | null {
  const skb = tp.highest_sack;
  if (skb && skb.list === tp.tcp_rtx_queue && TCP_SKB_CB(skb).seq === tp.highest_sack_seq) return skb;
  return null;
}

/** tcp_sacktag_skip(): forward to the first segment that ends after `skip_to_seq`. */
function tcp_sacktag_skip(skb: SkBuff | null, skip_to_seq: number): SkBuff | null {
  if (skb && after(TCP_SKB_CB(skb).seq, skip_to_seq)) return skb;
  while (skb && !after(TCP_SKB_CB(skb).end_seq, skip_to_seq)) skb = skb.next;
  return skb;
}

/** tcp_rate_skb_delivered(), for the one field read here. */
export function tcp_rate_skb_delivered(st: TcpSacktagState, skb: SkBuff): void {
  const d = TCP_SKB_CB(skb).tx_delivered;
  if (d > st.prior_delivered) st.prior_delivered = d;
}

/** tcp_tsopt_ecr_before(): the echoed timestamp is older than `when` (ms). */
export function tcp_tsopt_ecr_before(tp: TcpSock, when: number): boolean {
  return tp.rx_opt.saw_tstamp !== 0 && tp.rx_opt.rcv_tsecr !== 0 && before(tp.rx_opt.rcv_tsecr, when);
}
/** The timestamp clock (ms) of a µs send time (tcp_skb_timestamp_ts). */
export function tcp_skb_timestamp_ms(us: number): number {
  return Math.floor((us - 1) / 1000) + 1;
}

/**
 * tcp_check_sack_reordering(): `low_seq` was delivered although later data had been SACKed; the
 * distance to the highest SACK, in segments, is the reordering degree.
 */
export function tcp_check_sack_reordering(tp: TcpSock, low_seq: number, ts: number): void {
  const mss = tp.mss_cache;
  const fack = tcp_highest_sack_seq(tp);
  if (!before(low_seq, fack)) return;
  const metric = (fack - low_seq) >>> 0;
  if (metric > tp.reordering * mss && mss)
    tp.reordering = Math.min(Math.floor((metric + mss - 1) / mss), tp.sk_net.ipv4!.sysctl_tcp_max_reordering);
  // This exciting event is worth to be remembered.
  tp.reord_seen++;
  NET_INC_STATS(tp.sk_net, ts ? MIB_TCPTSREORDER : MIB_TCPSACKREORDER);
}

/** tcp_dsack_seen(): count a D-SACK; returns the segments it covers, 0 if it is dubious. */
function tcp_dsack_seen(tp: TcpSock, start_seq: number, end_seq: number, st: TcpSacktagState): number {
  if (!before(start_seq, end_seq)) return 0;
  const seq_len = (end_seq - start_seq) >>> 0;
  // Dubious D-SACK: larger than the largest window ever advertised.
  if (seq_len > tp.max_window) return 0;
  let dup_segs = 1;
  if (seq_len > tp.mss_cache) dup_segs = Math.ceil(seq_len / tp.mss_cache);
  else if (tp.tlp_high_seq && tp.tlp_high_seq === end_seq) st.flag |= FLAG_DSACK_TLP;
  tp.dsack_dups += dup_segs;
  // Skip the D-SACK if more duplicates are reported than were retransmitted.
  if (tp.dsack_dups > tp.total_retrans) return 0;
  tp.rx_opt.sack_ok |= TCP_DSACK_SEEN;
  // RACK widens its window on D-SACKs after reordering was seen, unless they answer a probe.
  if (tp.reord_seen && !(st.flag & FLAG_DSACK_TLP)) tcp_rack(tp).dsack_seen = 1;
  st.flag |= FLAG_DSACKING_ACK;
  // A spurious retransmission is delivered.
  st.sack_delivered += dup_segs;
  return dup_segs;
}

/**
 * tcp_check_dsack() (RFC 2883): the first block is a D-SACK if it lies below the ACK, or inside
 * the second block.
 */
function tcp_check_dsack(
  tp: TcpSock,
  ack: number,
  num_sacks: number,
  prior_snd_una: number,
  st: TcpSacktagState,
): boolean {
  const start_seq_0 = rcv_sack_blocks[0];
  const end_seq_0 = rcv_sack_blocks[1];
  if (before(start_seq_0, ack)) NET_INC_STATS(tp.sk_net, MIB_TCPDSACKRECV);
  else if (num_sacks > 1) {
    const start_seq_1 = rcv_sack_blocks[2];
    const end_seq_1 = rcv_sack_blocks[3];
    if (after(end_seq_0, end_seq_1) || before(start_seq_0, start_seq_1)) return false;
    NET_INC_STATS(tp.sk_net, MIB_TCPDSACKOFORECV);
  } else return false;
  const dup_segs = tcp_dsack_seen(tp, start_seq_0, end_seq_0, st);
  if (!dup_segs) {
    NET_INC_STATS(tp.sk_net, MIB_TCPDSACKIGNOREDDUBIOUS);
    return false;
  }
  NET_ADD_STATS(tp.sk_net, MIB_TCPDSACKRECVSEGS, dup_segs);
  // D-SACK for already forgotten data: count it against the retransmissions to undo.
  if (
    tp.undo_marker &&
    tp.undo_retrans > 0 &&
    !after(end_seq_0, prior_snd_una) &&
    after(end_seq_0, tp.undo_marker)
  )
    tp.undo_retrans = Math.max(0, tp.undo_retrans - dup_segs);
  return true;
}

/** tcp_is_sackblock_valid(): a block inside what was sent (a D-SACK may lie below snd_una). */
function tcp_is_sackblock_valid(tp: TcpSock, is_dsack: boolean, start_seq: number, end_seq: number): boolean {
  // Too far in future, or reversed (interpretation is ambiguous).
  if (after(end_seq, tp.snd_nxt) || !before(start_seq, end_seq)) return false;
  // Nasty start_seq wrap-around check.
  if (!before(start_seq, tp.snd_nxt)) return false;
  // In outstanding window? This is a valid exit for D-SACKs too.
  if (after(start_seq, tp.snd_una)) return true;
  if (!is_dsack || !tp.undo_marker) return false;
  // Then it is a D-SACK, and must reside below snd_una completely.
  if (after(end_seq, tp.snd_una)) return false;
  if (!before(start_seq, tp.undo_marker)) return true;
  // Too old.
  if (!after(end_seq, tp.undo_marker)) return false;
  // Crossing the undo_marker boundary (overestimates a lot).
  return !before(start_seq, (end_seq - tp.max_window) >>> 0);
}

/** tcp_sacktag_one(): tag one segment SACKed; update the counters. Returns the new sacked bits. */
export function tcp_sacktag_one(
  tp: TcpSock,
  st: TcpSacktagState,
  sacked: number,
  start_seq: number,
  end_seq: number,
  dup_sack: boolean,
  pcount: number,
  xmit_time: number,
  tx_order: number,
): number {
  // Account D-SACK for a retransmitted segment.
  if (dup_sack && sacked & TCPCB_RETRANS) {
    if (tp.undo_marker && tp.undo_retrans > 0 && after(end_seq, tp.undo_marker))
      tp.undo_retrans = Math.max(0, tp.undo_retrans - pcount);
    if (sacked & TCPCB_SACKED_ACKED && before(start_seq, st.reord)) st.reord = start_seq;
  }
  // Nothing to do; acked frame is about to be dropped (was ACKed).
  if (!after(end_seq, tp.snd_una)) return sacked;
  if (!(sacked & TCPCB_SACKED_ACKED)) {
    tcp_rack_advance(tp, sacked, end_seq, xmit_time, tx_order);
    if (sacked & TCPCB_SACKED_RETRANS) {
      // Not tagged lost: the retransmission is believed to be still in flight.
      if (sacked & TCPCB_LOST) {
        sacked &= ~(TCPCB_LOST | TCPCB_SACKED_RETRANS);
        tp.lost_out -= pcount;
        tp.retrans_out -= pcount;
      }
    } else {
      if (!(sacked & TCPCB_RETRANS)) {
        // A new SACK for a segment never retransmitted, in a hole: reordering.
        if (before(start_seq, tcp_highest_sack_seq(tp)) && before(start_seq, st.reord)) st.reord = start_seq;
        if (!after(end_seq, tp.high_seq)) st.flag |= FLAG_ORIG_SACK_ACKED;
        if (st.first_sackt === 0) st.first_sackt = xmit_time;
        st.last_sackt = xmit_time;
      }
      if (sacked & TCPCB_LOST) {
        sacked &= ~TCPCB_LOST;
        tp.lost_out -= pcount;
      }
    }
    sacked |= TCPCB_SACKED_ACKED;
    st.flag |= FLAG_DATA_SACKED;
    tp.sacked_out += pcount;
    // Out-of-order packets delivered.
    st.sack_delivered += pcount;
  }
  // D-SACK: a redundant retransmission, no longer in flight.
  if (dup_sack && sacked & TCPCB_SACKED_RETRANS) {
    sacked &= ~TCPCB_SACKED_RETRANS;
    tp.retrans_out -= pcount;
  }
  return sacked;
}

/** tcp_sacktag_walk(): tag the segments of one block; returns where the walk stopped. */
function tcp_sacktag_walk(
  tp: TcpSock,
  skb: SkBuff | null,
  next_dup: number,
  st: TcpSacktagState,
  start_seq: number,
  end_seq: number,
  dup_sack_in: boolean,
): SkBuff | null {
  for (; skb; skb = skb.next) {
    const scb = TCP_SKB_CB(skb);
    // The queue is in order: stop at the first segment past the block.
    if (!before(scb.seq, end_seq)) break;
    let in_sack = 0;
    let dup_sack = dup_sack_in;
    if (next_dup >= 0 && before(scb.seq, sp_end[next_dup])) {
      in_sack = tcp_match_skb_to_sack(tp, skb, sp_start[next_dup], sp_end[next_dup]);
      if (in_sack > 0) dup_sack = true;
    }
    // Shifting can free this skb and the next: continue from what it returns.
    if (in_sack <= 0) {
      const tmp = tcp_shift_skb_data(tp, skb, st, start_seq, end_seq, dup_sack);
      if (tmp) {
        if (tmp !== skb) {
          skb = tmp;
          continue;
        }
        in_sack = 0;
      } else in_sack = tcp_match_skb_to_sack(tp, skb, start_seq, end_seq);
    }
    if (in_sack < 0) break;
    if (in_sack) {
      scb.sacked = tcp_sacktag_one(
        tp,
        st,
        scb.sacked,
        scb.seq,
        scb.end_seq,
        dup_sack,
        tcp_skb_pcount(skb),
        scb.tcp_tstamp,
        scb.tx_order,
      );
      tcp_rate_skb_delivered(st, skb);
      if (scb.sacked & TCPCB_SACKED_ACKED) tcp_tsorted_del(skb);
      if (!before(scb.seq, tcp_highest_sack_seq(tp))) {
        // tcp_advance_highest_sack().
        tp.highest_sack_seq = scb.end_seq;
        tp.highest_sack = skb.next;
      }
    }
  }
  return skb;
}

/**
 * tcp_sacktag_write_queue(): apply the ACK's SACK blocks (RFC 2018, D-SACK of RFC 2883) to the
 * retransmit queue: the scoreboard of RFC 6675 — SACKed, lost and retransmitted segments and
 * their counts — and the reordering they reveal. Returns FLAG_*.
 */
function tcp_sacktag_write_queue(
  tp: TcpSock,
  ack: number,
  prior_snd_una: number,
  st: TcpSacktagState,
): number {
  const num_sacks = tp.rx_opt.rcv_num_sacks;
  st.flag = 0;
  st.reord = tp.snd_nxt;
  // tcp_highest_sack_reset().
  if (!tp.sacked_out) {
    tp.highest_sack_seq = tp.snd_una;
    tp.highest_sack = tcp_rtx_queue_head(tp);
  }
  const found_dup_sack = tcp_check_dsack(tp, ack, num_sacks, prior_snd_una, st);
  // Eliminate too old ACKs, but take into account more or less fresh ones.
  if (before(ack, (prior_snd_una - tp.max_window) >>> 0)) return 0;
  if (!tp.packets_out) return st.flag;
  let used_sacks = 0;
  let first_sack_index = 0;
  for (let i = 0; i < num_sacks; i++) {
    const dup_sack = i === 0 && found_dup_sack;
    const start_seq = rcv_sack_blocks[2 * i];
    const end_seq = rcv_sack_blocks[2 * i + 1];
    if (!tcp_is_sackblock_valid(tp, dup_sack, start_seq, end_seq)) {
      if (dup_sack) {
        NET_INC_STATS(tp.sk_net, tp.undo_marker ? MIB_TCPDSACKIGNOREDOLD : MIB_TCPDSACKIGNOREDNOUNDO);
      } else {
        // Don't count olds caused by ACK reordering.
        if (ack !== tp.snd_una && !after(end_seq, tp.snd_una)) continue;
        NET_INC_STATS(tp.sk_net, MIB_TCPSACKDISCARD);
      }
      if (i === 0) first_sack_index = -1;
      continue;
    }
    // Ignore very old stuff early.
    if (!after(end_seq, prior_snd_una)) {
      if (i === 0) first_sack_index = -1;
      continue;
    }
    sp_start[used_sacks] = start_seq;
    sp_end[used_sacks] = end_seq;
    used_sacks++;
  }
  // Order the blocks for an in-order walk of the retransmit queue.
  for (let i = used_sacks - 1; i > 0; i--) {
    for (let j = 0; j < i; j++) {
      if (after(sp_start[j], sp_start[j + 1])) {
        const s = sp_start[j];
        const e = sp_end[j];
        sp_start[j] = sp_start[j + 1];
        sp_end[j] = sp_end[j + 1];
        sp_start[j + 1] = s;
        sp_end[j + 1] = e;
        // Track where the first SACK block goes to.
        if (j === first_sack_index) first_sack_index = j + 1;
      }
    }
  }
  // The blocks of the previous ACK were processed already: skip what they cover (the common
  // case in recovery is the same blocks, one of them grown at its right edge).
  const cache = tp.recv_sack_cache ?? (tp.recv_sack_cache = new Uint32Array(TCP_NUM_SACKS * 2));
  // Nothing SACKed is left (all acknowledged, or reneged): the cache says nothing.
  if (!tp.sacked_out) cache.fill(0);
  let c = 0;
  // Skip empty blocks at the head of the cache.
  while (c < TCP_NUM_SACKS && !cache[2 * c] && !cache[2 * c + 1]) c++;
  let skb = tcp_rtx_queue_head(tp);
  let i = 0;
  while (i < used_sacks) {
    const start_seq = sp_start[i];
    const end_seq = sp_end[i];
    const dup_sack = found_dup_sack && i === first_sack_index;
    const next_dup = found_dup_sack && i + 1 === first_sack_index ? i + 1 : -1;
    // Skip too early cached blocks.
    while (c < TCP_NUM_SACKS && !before(start_seq, cache[2 * c + 1])) c++;
    // Can some work be skipped by looking at the cache? (Not for the D-SACK block itself: its
    // segments need their own tagging.)
    if (c < TCP_NUM_SACKS && !dup_sack && after(end_seq, cache[2 * c])) {
      const cache_start = cache[2 * c];
      const cache_end = cache[2 * c + 1];
      // Head to do?
      if (before(start_seq, cache_start)) {
        skb = tcp_sacktag_skip(skb, start_seq);
        skb = tcp_sacktag_walk(tp, skb, next_dup, st, start_seq, cache_start, dup_sack);
      }
      // Rest of the block already fully processed?
      if (!after(end_seq, cache_end)) {
        i++;
        continue;
      }
      // tcp_maybe_skipping_dsack(): a D-SACK inside the part skipped is tagged on its own.
      if (next_dup >= 0 && before(sp_start[next_dup], cache_end)) {
        skb = tcp_sacktag_skip(skb, sp_start[next_dup]);
        skb = tcp_sacktag_walk(tp, skb, -1, st, sp_start[next_dup], sp_end[next_dup], true);
      }
      // The tail remains to do; the highest SACK may be a better entry point.
      const h = tcp_highest_sack_seq(tp) === cache_end ? tcp_highest_sack(tp) : null;
      c++;
      if (h) {
        skb = tcp_sacktag_walk(tp, h, next_dup, st, start_seq, end_seq, dup_sack);
        i++;
        continue;
      }
      skb = tcp_sacktag_skip(skb, cache_end);
      // Check overlap against the next cached block too.
      continue;
    }
    if (!before(start_seq, tcp_highest_sack_seq(tp))) {
      const h = tcp_highest_sack(tp);
      if (h) skb = h;
    }
    skb = tcp_sacktag_skip(skb, start_seq);
    skb = tcp_sacktag_walk(tp, skb, next_dup, st, start_seq, end_seq, dup_sack);
    i++;
  }
  // Remember these blocks, at the end of the cache.
  let k = 0;
  for (; k < TCP_NUM_SACKS - used_sacks; k++) cache[2 * k] = cache[2 * k + 1] = 0;
  for (let j = 0; j < used_sacks; j++, k++) {
    cache[2 * k] = sp_start[j];
    cache[2 * k + 1] = sp_end[j];
  }
  if (tp.icsk_ca_state !== TCP_CA_Loss || tp.undo_marker) tcp_check_sack_reordering(tp, st.reord, 0);
  return st.flag;
}

// ——— receive window and delayed ACKs ————————————————————————————————————————————

/** tcp_incr_quickack(). */
function tcp_incr_quickack(tp: TcpSock, max_quickacks: number): void {
  let quickacks = Math.floor(tp.rcv_wnd / (2 * tp.icsk_ack.rcv_mss));
  if (quickacks === 0) quickacks = 2;
  quickacks = Math.min(quickacks, max_quickacks);
  if (quickacks > tp.icsk_ack.quick) tp.icsk_ack.quick = quickacks;
}

/** tcp_enter_quickack_mode(). */
export function tcp_enter_quickack_mode(tp: TcpSock, max_quickacks: number): void {
  tcp_incr_quickack(tp, max_quickacks);
  inet_csk_exit_pingpong_mode(tp);
  tp.icsk_ack.ato = TCP_ATO_MIN;
}

/** tcp_in_quickack_mode(). */
function tcp_in_quickack_mode(tp: TcpSock): boolean {
  return tp.icsk_ack.quick !== 0 && !inet_csk_in_pingpong_mode(tp);
}

/** tcp_measure_rcv_mss(): learn the peer's segment size from what arrives. */
function tcp_measure_rcv_mss(tp: TcpSock, skb: SkBuff): void {
  const a = tp.icsk_ack;
  const lss = a.last_seg_size;
  a.last_seg_size = 0;
  let len = skb.len;
  if (len >= a.rcv_mss) {
    a.rcv_mss = Math.min(len, tp.advmss);
    if (TCP_SKB_CB(skb).tcp_flags & TCPHDR_PSH) a.pending |= ICSK_ACK_PUSHED;
  } else {
    len += skb.data - skb.transport_header;
    if (
      len >= TCP_MSS_DEFAULT + TCP_HDR_MIN ||
      (len >= 88 + TCP_HDR_MIN &&
        !(TCP_SKB_CB(skb).tcp_flags & (TCPHDR_URG | TCPHDR_PSH | TCPHDR_FIN | TCPHDR_SYN | TCPHDR_RST)))
    ) {
      len -= tp.tcp_header_len;
      a.last_seg_size = len;
      if (len === lss) {
        a.rcv_mss = len;
        return;
      }
    }
    if (a.pending & ICSK_ACK_PUSHED) a.pending |= ICSK_ACK_PUSHED2;
    a.pending |= ICSK_ACK_PUSHED;
  }
}

/** __tcp_grow_window(). */
function __tcp_grow_window(tp: TcpSock, skb: SkBuff, skbtruesize: number): number {
  let truesize = tcp_win_from_space(tp, skbtruesize) >> 1;
  let window = tcp_win_from_space(tp, tp.sk_net.ipv4!.sysctl_tcp_rmem[2]) >> 1;
  while (tp.rcv_ssthresh <= window) {
    if (truesize <= skb.len) return 2 * tp.icsk_ack.rcv_mss;
    truesize >>= 1;
    window >>= 1;
  }
  return 0;
}

/** tcp_grow_window(): let the offered window grow as well-sized data arrives. */
function tcp_grow_window(tp: TcpSock, skb: SkBuff): void {
  if (tp.rcv_ssthresh >= tp.window_clamp) return;
  const room = Math.min(tp.window_clamp, tcp_space(tp)) - tp.rcv_ssthresh;
  if (room <= 0) return;
  let incr: number;
  if (tcp_win_from_space(tp, skb.truesize) <= skb.len) incr = 2 * tp.advmss;
  else incr = __tcp_grow_window(tp, skb, skb.truesize);
  if (incr) {
    incr = Math.max(incr, 2 * skb.len);
    tp.rcv_ssthresh += Math.min(room, incr);
    tp.icsk_ack.quick |= 1;
  }
}

// ——— the receiver's RTT and receive-buffer autotuning (DRS) ——————————————————————————

/** tcp_rcv_rtt_update(): the receiver's RTT estimate (a minimum, << 3). */
function tcp_rcv_rtt_update(tp: TcpSock, sample: number, win_dep: boolean): void {
  const old_sample = tp.rcv_rtt_est_rtt_us;
  let new_sample: number;
  if (old_sample === 0 || sample < old_sample) new_sample = sample << 3;
  else {
    // Larger samples without timestamps overestimate badly (stalled apps): keep the minimum.
    if (win_dep) return;
    // Do not use this sample if the receive queue is not empty.
    if (tp.rcv_nxt !== tp.copied_seq) return;
    new_sample = old_sample - (old_sample >>> 3) + sample;
  }
  tp.rcv_rtt_est_rtt_us = new_sample;
}

/** tcp_rcv_rtt_measure(): one sample per window of data, without timestamps. */
function tcp_rcv_rtt_measure(tp: TcpSock): void {
  if (tp.rcv_rtt_est_time !== 0) {
    if (before(tp.rcv_nxt, tp.rcv_rtt_est_seq)) return;
    const delta_us = Math.max(1, tp.tcp_mstamp - tp.rcv_rtt_est_time);
    tcp_rcv_rtt_update(tp, delta_us, true);
  }
  tp.rcv_rtt_est_seq = (tp.rcv_nxt + tp.rcv_wnd) >>> 0;
  tp.rcv_rtt_est_time = tp.tcp_mstamp;
}

/** tcp_rcv_rtt_measure_ts(): a sample from the echoed timestamp of a full-sized segment. */
function tcp_rcv_rtt_measure_ts(tp: TcpSock, skb: SkBuff): void {
  if (tp.rx_opt.rcv_tsecr === tp.rcv_rtt_last_tsecr) return;
  tp.rcv_rtt_last_tsecr = tp.rx_opt.rcv_tsecr;
  const cb = TCP_SKB_CB(skb);
  if ((cb.end_seq - cb.seq) >>> 0 >= tp.icsk_ack.rcv_mss) {
    const delta = (tcp_clock_ms(tp.sk_net) - tp.rx_opt.rcv_tsecr) >>> 0;
    if (delta > 0 && delta < 0x7fffffff / 1000) tcp_rcv_rtt_update(tp, delta * 1000, false);
  }
}

/** tcp_rcvbuf_grow(): DRS — a receive buffer for twice what the application read per RTT. */
function tcp_rcvbuf_grow(tp: TcpSock, newval: number): void {
  const net = tp.sk_net.ipv4!;
  const oldval = tp.rcvq_space_space;
  tp.rcvq_space_space = newval;
  if (!net.sysctl_tcp_moderate_rcvbuf || tp.sk_userlocks & 2 /* SOCK_RCVBUF_LOCK */) return;
  // DRS is always one RTT late.
  let rcvwin = newval << 1;
  // Slow start: allow the sender to double its rate.
  if (oldval > 0) rcvwin += Math.floor((rcvwin * (newval - oldval)) / oldval) << 1;
  const last = tp.out_of_order_queue.peek_tail();
  if (last) rcvwin += (TCP_SKB_CB(last).end_seq - tp.rcv_nxt) >>> 0;
  const cap = net.sysctl_tcp_rmem[2];
  // tcp_space_from_win(): the buffer that gives this window at the scaling ratio.
  const rcvbuf = Math.min(Math.floor((rcvwin * 256) / tp.scaling_ratio), cap);
  if (rcvbuf > tp.sk_rcvbuf) {
    tp.sk_rcvbuf = rcvbuf;
    // Make the window clamp follow along.
    tp.window_clamp = tcp_win_from_space(tp, rcvbuf);
  }
}

/** tcp_rcv_space_adjust(): after a read, once per receiver RTT, grow the buffer if needed. */
export function tcp_rcv_space_adjust(tp: TcpSock): void {
  if (!tp.rcv_rtt_est_rtt_us) return;
  tp.tcp_mstamp = tcp_clock_us(tp.sk_net);
  const time = tp.tcp_mstamp - tp.rcvq_space_time;
  if (time < tp.rcv_rtt_est_rtt_us >>> 3) return;
  // Bytes copied to the user in the last RTT, minus what is still queued.
  let copied = (tp.copied_seq - tp.rcvq_space_seq) | 0;
  const inq = (tp.rcv_nxt - tp.copied_seq) | 0;
  copied -= inq;
  if (copied > tp.rcvq_space_space) tcp_rcvbuf_grow(tp, copied);
  tp.rcvq_space_seq = tp.copied_seq;
  tp.rcvq_space_time = tp.tcp_mstamp;
}

/** tcp_event_data_recv(): the delayed-ACK estimator (ato) and quick-ACK mode. */
function tcp_event_data_recv(tp: TcpSock, skb: SkBuff): void {
  const a = tp.icsk_ack;
  inet_csk_schedule_ack(tp);
  tcp_measure_rcv_mss(tp, skb);
  tcp_rcv_rtt_measure(tp);
  const now = tcp_jiffies32(tp.sk_net);
  if (!a.ato) {
    // The first data packet: initialise the delayed-ACK engine.
    tcp_incr_quickack(tp, TCP_MAX_QUICKACKS);
    a.ato = TCP_ATO_MIN;
  } else {
    const m = now - a.lrcvtime;
    if (m <= TCP_ATO_MIN / 2) a.ato = (a.ato >> 1) + TCP_ATO_MIN / 2;
    else if (m < a.ato) {
      a.ato = (a.ato >> 1) + m;
      if (a.ato > tp.icsk_rto) a.ato = tp.icsk_rto;
    } else if (m > tp.icsk_rto) tcp_incr_quickack(tp, TCP_MAX_QUICKACKS);
  }
  a.lrcvtime = now;
  tcp_data_ecn_check(tp, skb);
  if (skb.len >= 128) tcp_grow_window(tp, skb);
}

/**
 * tcp_ecn_create_request(): a listener agrees to ECN when the SYN asks for it with ECE and CWR
 * and net.ipv4.tcp_ecn is not 0 — unless the SYN itself came ECT-marked with no reserved header
 * bit set (RFC 3168 §6.1.1 forbids ECT on a SYN: something on the path is not what it seems).
 */
export function tcp_ecn_create_request(req: RequestSock, skb: SkBuff, listener: TcpSock): void {
  const cb = TCP_SKB_CB(skb);
  if ((cb.tcp_flags & (TCPHDR_ECE | TCPHDR_CWR)) !== (TCPHDR_ECE | TCPHDR_CWR)) return;
  const ect = (cb.ip_dsfield & INET_ECN_MASK) !== INET_ECN_NOT_ECT;
  // th->res1 and th->ae: the low four bits of the data offset byte.
  const reserved = (skb.head[skb.transport_header + 12]! & 0x0f) !== 0;
  const ecn_ok = listener.sk_net.ipv4!.sysctl_tcp_ecn !== 0;
  if ((!ect || reserved) && ecn_ok) req.ecn_ok = 1;
}

/**
 * tcp_data_ecn_check(): the IP ECN field of received data. CE: echo ECE until the peer's CWR,
 * and ACK quickly (the sender's cwnd may be tiny). ECT or CE: the peer does send ECN-capable
 * data (TCP_ECN_SEEN). Not-ECT after ECT was seen is probably a retransmission: ACK quickly.
 */
function tcp_data_ecn_check(tp: TcpSock, skb: SkBuff): void {
  if (tcp_ecn_disabled(tp)) return;
  switch (TCP_SKB_CB(skb).ip_dsfield & INET_ECN_MASK) {
    case INET_ECN_NOT_ECT:
      if (tp.ecn_flags & TCP_ECN_SEEN) tcp_enter_quickack_mode(tp, 2);
      break;
    case INET_ECN_CE:
      if (!(tp.ecn_flags & TCP_ECN_DEMAND_CWR)) {
        tcp_enter_quickack_mode(tp, 2);
        tp.ecn_flags |= TCP_ECN_DEMAND_CWR;
      }
      tp.ecn_flags |= TCP_ECN_SEEN;
      break;
    default:
      tp.ecn_flags |= TCP_ECN_SEEN;
      break;
  }
}

/** __tcp_ack_snd_check(): ACK now, or arm the delayed ACK. */
function __tcp_ack_snd_check(tp: TcpSock, ofo_possible: boolean): void {
  if (
    ((tp.rcv_nxt - tp.rcv_wup) >>> 0 > tp.icsk_ack.rcv_mss && __tcp_select_window(tp) >= tp.rcv_wnd) ||
    tcp_in_quickack_mode(tp) ||
    tp.icsk_ack.pending & ICSK_ACK_NOW
  ) {
    tcp_send_ack(tp);
    return;
  }
  if (!ofo_possible || tp.out_of_order_queue.empty()) {
    tcp_send_delayed_ack(tp);
    return;
  }
  // Out-of-order data: the SACK information goes out at once.
  tcp_send_ack(tp);
}

/** tcp_ack_snd_check(). */
function tcp_ack_snd_check(tp: TcpSock): void {
  if (!inet_csk_ack_scheduled(tp)) return;
  __tcp_ack_snd_check(tp, true);
}

// ——— SACK blocks we send ————————————————————————————————————————————————————————————

/** tcp_dsack_set(). */
function tcp_dsack_set(tp: TcpSock, seq: number, end_seq: number): void {
  if (tp.rx_opt.sack_ok && tp.sk_net.ipv4!.sysctl_tcp_dsack) {
    NET_INC_STATS(tp.sk_net, before(seq, tp.rcv_nxt) ? MIB_TCPDSACKOLDSENT : MIB_TCPDSACKOFOSENT);
    tp.rx_opt.dsack = 1;
    tp.duplicate_sack.start_seq = seq;
    tp.duplicate_sack.end_seq = end_seq;
  }
}

/** tcp_sack_extend(). */
function tcp_sack_extend(sp: { start_seq: number; end_seq: number }, seq: number, end_seq: number): boolean {
  if (!after(seq, sp.end_seq) && !after(sp.start_seq, end_seq)) {
    if (before(seq, sp.start_seq)) sp.start_seq = seq;
    if (after(end_seq, sp.end_seq)) sp.end_seq = end_seq;
    return true;
  }
  return false;
}

/** tcp_sack_new_ofo_skb(): the block of newly queued out-of-order data goes first. */
function tcp_sack_new_ofo_skb(tp: TcpSock, seq: number, end_seq: number): void {
  const sa = tp.selective_acks;
  const n = tp.rx_opt.num_sacks;
  for (let i = 0; i < n; i++) {
    if (tcp_sack_extend(sa[i], seq, end_seq)) {
      const b = sa.splice(i, 1)[0];
      sa.unshift(b);
      tcp_sack_maybe_coalesce(tp);
      return;
    }
  }
  sa.unshift({ start_seq: seq, end_seq });
  if (sa.length > TCP_NUM_SACKS) sa.length = TCP_NUM_SACKS;
  tp.rx_opt.num_sacks = sa.length;
  tp.rx_opt.num_sacks = Math.min(sa.length, TCP_NUM_SACKS);
}

/** tcp_sack_maybe_coalesce(): merge blocks the first one now touches. */
function tcp_sack_maybe_coalesce(tp: TcpSock): void {
  const sa = tp.selective_acks;
  for (let i = 1; i < sa.length;) {
    if (tcp_sack_extend(sa[0], sa[i].start_seq, sa[i].end_seq)) sa.splice(i, 1);
    else i++;
  }
  tp.rx_opt.num_sacks = sa.length;
  tp.rx_opt.num_sacks = sa.length;
}

/** tcp_sack_remove(): blocks below rcv_nxt are gone. */
function tcp_sack_remove(tp: TcpSock): void {
  if (tp.out_of_order_queue.empty()) {
    tp.selective_acks.length = 0;
  } else {
    const sa = tp.selective_acks;
    for (let i = 0; i < sa.length;) {
      if (!before(tp.rcv_nxt, sa[i].start_seq)) sa.splice(i, 1);
      else i++;
    }
  }
  tp.rx_opt.num_sacks = tp.selective_acks.length;
  tp.rx_opt.num_sacks = tp.selective_acks.length;
}

// ——— data ——————————————————————————————————————————————————————————————————————————

/** skb_set_owner_r() for TCP: charge the receive buffer. */
function tcp_set_owner_r(tp: TcpSock, skb: SkBuff): void {
  skb_orphan(skb);
  skb.sk = tp;
  skb.destructor = tcp_rfree;
  tp.sk_rmem_alloc += skb.truesize;
}
function tcp_rfree(skb: SkBuff): void {
  skb.sk!.sk_rmem_alloc -= skb.truesize;
}

/** tcp_can_ingest(): the receive buffer is not over its size. */
function tcp_can_ingest(tp: TcpSock): boolean {
  return tp.sk_rmem_alloc <= tp.sk_rcvbuf;
}

/**
 * tcp_prune_ofo_queue(): free out-of-order data, highest sequence first, to make room for
 * `in_skb` — never what lies below it (it would land last in the queue). Data ahead of a hole is
 * only a promise; in-order data the window offered must not be refused for its sake. The SACK
 * blocks that described the pruned data go with it (tcp_sack_reset).
 */
function tcp_prune_ofo_queue(tp: TcpSock, in_skb: SkBuff): boolean {
  const q = tp.out_of_order_queue;
  let skb = q.peek_tail();
  if (!skb) return false;
  NET_INC_STATS(tp.sk_net, MIB_OFOPRUNED);
  let goal = tp.sk_rcvbuf >> 3;
  let pruned = false;
  while (skb) {
    if (after(TCP_SKB_CB(in_skb).seq, TCP_SKB_CB(skb).seq)) break;
    pruned = true;
    const prev: SkBuff | null = skb.prev;
    q.unlink(skb);
    goal -= skb.truesize;
    kfree_skb(skb);
    if (!prev || goal <= 0) {
      if (tcp_can_ingest(tp)) break;
      goal = tp.sk_rcvbuf >> 3;
    }
    skb = prev;
  }
  if (pruned && tp.rx_opt.sack_ok) tp.rx_opt.num_sacks = tp.rx_opt.dsack = 0;
  return pruned;
}

/**
 * tcp_prune_queue(): over the receive buffer. Linux first collapses the queues (copies data out
 * of skbs whose truesize is mostly overhead); usernet does not, and goes on to pruning the
 * out-of-order queue. -1: still no room.
 */
function tcp_prune_queue(tp: TcpSock, in_skb: SkBuff): number {
  NET_INC_STATS(tp.sk_net, MIB_PRUNECALLED);
  if (tcp_can_ingest(tp)) return 0;
  tcp_prune_ofo_queue(tp, in_skb);
  if (tcp_can_ingest(tp)) return 0;
  NET_INC_STATS(tp.sk_net, MIB_RCVPRUNED);
  return -1;
}

/** tcp_try_rmem_schedule(): is there receive memory for `skb`? */
function tcp_try_rmem_schedule(tp: TcpSock, skb: SkBuff): boolean {
  return tcp_can_ingest(tp) || tcp_prune_queue(tp, skb) === 0;
}

/** tcp_queue_rcv(). */
function tcp_queue_rcv(tp: TcpSock, skb: SkBuff): void {
  tcp_set_owner_r(tp, skb);
  tp.sk_receive_queue.tail(skb);
  tcp_rcv_nxt_update(tp, TCP_SKB_CB(skb).end_seq);
}

/** tcp_ofo_queue(): move what became in-order from the out-of-order queue. */
function tcp_ofo_queue(tp: TcpSock): void {
  let skb: SkBuff | null;
  while ((skb = tp.out_of_order_queue.peek()) && !after(TCP_SKB_CB(skb).seq, tp.rcv_nxt)) {
    tp.out_of_order_queue.unlink(skb);
    if (!after(TCP_SKB_CB(skb).end_seq, tp.rcv_nxt)) {
      kfree_skb(skb);
      continue;
    }
    if (before(TCP_SKB_CB(skb).seq, tp.rcv_nxt)) tcp_dsack_extend_ofo(tp, skb);
    tp.sk_receive_queue.tail(skb);
    tcp_rcv_nxt_update(tp, TCP_SKB_CB(skb).end_seq);
    if (TCP_SKB_CB(skb).tcp_flags & TCPHDR_FIN) {
      tcp_fin(tp);
      break;
    }
  }
}
function tcp_dsack_extend_ofo(_tp: TcpSock, _skb: SkBuff): void {}

/** tcp_data_queue_ofo(): queue data that arrived ahead of a hole. */
function tcp_data_queue_ofo(tp: TcpSock, skb: SkBuff): void {
  tcp_data_ecn_check(tp, skb);
  if (!tcp_try_rmem_schedule(tp, skb)) {
    NET_INC_STATS(tp.sk_net, MIB_TCPOFODROP);
    kfree_skb(skb);
    return;
  }
  tp.rcv_ooopack += Math.max(1, tcp_skb_pcount(skb));
  NET_INC_STATS(tp.sk_net, MIB_TCPOFOQUEUE);
  inet_csk_schedule_ack(tp);
  const seq = TCP_SKB_CB(skb).seq;
  const end_seq = TCP_SKB_CB(skb).end_seq;
  const q = tp.out_of_order_queue;
  // Find the place: after the last skb that starts at or before seq.
  let prev: SkBuff | null = q.peek_tail();
  while (prev && after(TCP_SKB_CB(prev).seq, seq)) prev = prev.prev;
  if (prev && !before(TCP_SKB_CB(prev).seq, seq) === false && !after(end_seq, TCP_SKB_CB(prev).end_seq)) {
    // Fully covered by what is queued: a duplicate.
    NET_INC_STATS(tp.sk_net, MIB_TCPOFOMERGE);
    tcp_dsack_set(tp, seq, end_seq);
    kfree_skb(skb);
    tcp_sack_new_ofo_skb(tp, seq, end_seq);
    return;
  }
  if (prev && TCP_SKB_CB(prev).seq === seq && !after(end_seq, TCP_SKB_CB(prev).end_seq)) {
    NET_INC_STATS(tp.sk_net, MIB_TCPOFOMERGE);
    tcp_dsack_set(tp, seq, end_seq);
    kfree_skb(skb);
    return;
  }
  tcp_set_owner_r(tp, skb);
  if (!prev) q.head(skb);
  else {
    skb.list = q;
    skb.prev = prev;
    skb.next = prev.next;
    if (prev.next) prev.next.prev = skb;
    else q.last = skb;
    prev.next = skb;
    q.qlen++;
  }
  // Remove later skbs the new one covers entirely.
  let n = skb.next;
  while (n && !after(TCP_SKB_CB(n).end_seq, end_seq)) {
    const next = n.next;
    q.unlink(n);
    kfree_skb(n);
    n = next;
  }
  if (tp.rx_opt.sack_ok) tcp_sack_new_ofo_skb(tp, seq, end_seq);
}

/** tcp_data_queue(): in-order data to the receive queue, the rest handled as Linux does. */
function tcp_data_queue(tp: TcpSock, skb: SkBuff): void {
  const cb = TCP_SKB_CB(skb);
  if (cb.seq === cb.end_seq) {
    kfree_skb(skb);
    return;
  }
  tp.rx_opt.dsack = 0;
  if (cb.seq === tp.rcv_nxt) {
    if (tcp_receive_window(tp) === 0) {
      // A bare FIN is accepted on a zero window.
      if (!skb.len && cb.tcp_flags & TCPHDR_FIN) return queue_and_out(tp, skb);
      NET_INC_STATS(tp.sk_net, MIB_TCPZEROWINDOWDROP);
      return out_of_window(tp, skb);
    }
    return queue_and_out(tp, skb);
  }
  if (!after(cb.end_seq, tp.rcv_nxt)) {
    // A retransmission of what we have: D-SACK it and ACK at once.
    NET_INC_STATS(tp.sk_net, MIB_DELAYEDACKLOST);
    tcp_dsack_set(tp, cb.seq, cb.end_seq);
    return out_of_window(tp, skb);
  }
  // Out of window, e.g. a zero-window probe.
  if (!before(cb.seq, (tp.rcv_nxt + tcp_receive_window(tp)) >>> 0)) return out_of_window(tp, skb);
  if (before(cb.seq, tp.rcv_nxt)) {
    // Partly old: D-SACK the old part, queue the rest.
    tcp_dsack_set(tp, cb.seq, tp.rcv_nxt);
    if (!tcp_receive_window(tp)) {
      NET_INC_STATS(tp.sk_net, MIB_TCPZEROWINDOWDROP);
      return out_of_window(tp, skb);
    }
    return queue_and_out(tp, skb);
  }
  tcp_data_queue_ofo(tp, skb);
}

function out_of_window(tp: TcpSock, skb: SkBuff): void {
  tcp_enter_quickack_mode(tp, TCP_MAX_QUICKACKS);
  inet_csk_schedule_ack(tp);
  kfree_skb(skb);
}

function queue_and_out(tp: TcpSock, skb: SkBuff): void {
  if (!tcp_try_rmem_schedule(tp, skb)) {
    // No memory: the ACK that goes at once advertises a zero window.
    tp.icsk_ack.pending |= ICSK_ACK_NOMEM | ICSK_ACK_NOW;
    inet_csk_schedule_ack(tp);
    tp.sk_data_ready(tp);
    if (skb.len) {
      NET_INC_STATS(tp.sk_net, MIB_TCPRCVQDROP);
      kfree_skb(skb);
      return;
    }
  }
  const fin = (TCP_SKB_CB(skb).tcp_flags & TCPHDR_FIN) !== 0;
  const len = skb.len;
  tcp_queue_rcv(tp, skb);
  if (len) tcp_event_data_recv(tp, skb);
  if (fin) tcp_fin(tp);
  if (!tp.out_of_order_queue.empty()) {
    tcp_ofo_queue(tp);
    // RFC 5681 §4.2: ACK at once when a gap is filled.
    if (tp.out_of_order_queue.empty()) tp.icsk_ack.pending |= ICSK_ACK_NOW;
  }
  if (tp.rx_opt.num_sacks) tcp_sack_remove(tp);
  if (!sock_flag(tp, SOCK_DEAD)) tcp_data_ready(tp);
}

/** tcp_fin(): the peer's FIN arrived in order. */
export function tcp_fin(tp: TcpSock): void {
  inet_csk_schedule_ack(tp);
  tp.sk_shutdown |= S.RCV_SHUTDOWN;
  sock_set_flag(tp, SOCK_DONE);
  switch (tp.sk_state) {
    case TCP_SYN_RECV:
    case TCP_ESTABLISHED:
      tcp_set_state(tp, TCP_CLOSE_WAIT);
      inet_csk_enter_pingpong_mode(tp);
      break;
    case TCP_CLOSE_WAIT:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
      break;
    case TCP_FIN_WAIT1:
      // Simultaneous close: ACK the FIN and wait for ours to be acknowledged.
      tcp_send_ack(tp);
      tcp_set_state(tp, TCP_CLOSING);
      break;
    case TCP_FIN_WAIT2:
      tcp_send_ack(tp);
      tcp_time_wait(tp, TCP_TIME_WAIT, 0);
      break;
  }
  // Out-of-order data after the FIN is dropped.
  tp.out_of_order_queue.purge();
  tp.selective_acks.length = 0;
  tp.rx_opt.num_sacks = tp.rx_opt.num_sacks = 0;
  if (!sock_flag(tp, SOCK_DEAD)) tp.sk_state_change(tp);
}

// ——— urgent data ———————————————————————————————————————————————————————————————————

/** tcp_check_urg(): a new urgent pointer. */
function tcp_check_urg(tp: TcpSock, skb: SkBuff): void {
  let ptr = th_urg_ptr(skb);
  if (ptr && !tp.sk_net.ipv4!.sysctl_tcp_stdurg) ptr--;
  ptr = (ptr + th_seq(skb)) >>> 0;
  if (after(tp.copied_seq, ptr)) return;
  if (before(ptr, tp.rcv_nxt)) return;
  if (tp.urg_data && !after(ptr, tp.urg_seq)) return;
  if (
    tp.urg_seq === tp.copied_seq &&
    tp.urg_data &&
    !sock_flag(tp, SOCK_URGINLINE) &&
    tp.copied_seq !== tp.rcv_nxt
  ) {
    const skb0 = tp.sk_receive_queue.peek();
    tp.copied_seq = (tp.copied_seq + 1) >>> 0;
    if (skb0 && !before(tp.copied_seq, TCP_SKB_CB(skb0).end_seq)) {
      tp.sk_receive_queue.unlink(skb0);
      kfree_skb(skb0);
    }
  }
  tp.urg_data = TCP_URG_NOTYET;
  tp.urg_seq = ptr;
}

/** tcp_urg(). */
function tcp_urg(tp: TcpSock, skb: SkBuff): void {
  const cb = TCP_SKB_CB(skb);
  if (cb.tcp_flags & TCPHDR_URG) tcp_check_urg(tp, skb);
  if (tp.urg_data === TCP_URG_NOTYET) {
    const ptr = (tp.urg_seq - th_seq(skb) - (cb.tcp_flags & TCPHDR_SYN ? 1 : 0)) >>> 0;
    if (ptr < skb.len) {
      tp.urg_data = TCP_URG_VALID | skb.head[skb.data + ptr];
      if (!sock_flag(tp, SOCK_DEAD)) tp.sk_data_ready(tp);
    }
  }
}

// ——— sending side checks ——————————————————————————————————————————————————————————

/** tcp_check_space(): writers waiting for room are woken once ACKs freed some. */
function tcp_check_space(tp: TcpSock): void {
  const sock = tp.sk_socket;
  if (sock && sock.flags & (1 << S.SOCK_NOSPACE)) {
    // tcp_new_space().
    tcp_sndbuf_expand_if_needed(tp);
    tp.sk_write_space(tp);
    if (!(sock.flags & (1 << S.SOCK_NOSPACE))) tcp_chrono_stop(tp, TCP_CHRONO_SNDBUF_LIMITED);
  }
}

/** tcp_should_expand_sndbuf() + tcp_sndbuf_expand(). */
function tcp_sndbuf_expand_if_needed(tp: TcpSock): void {
  if (tp.sk_userlocks & 1 /* SOCK_SNDBUF_LOCK */) return;
  if (tcp_packets_in_flight(tp) >= tp.snd_cwnd) return;
  tcp_sndbuf_expand(tp);
}

/** tcp_sndbuf_expand(): room for twice the congestion window of full-sized skbs. */
export function tcp_sndbuf_expand(tp: TcpSock): void {
  let per_mss = Math.max(tp.rx_opt.mss_clamp, tp.mss_cache) + 320 + 320;
  per_mss = 2 ** Math.ceil(Math.log2(per_mss)) + 256;
  let nr_segs = Math.max(10, tp.snd_cwnd);
  nr_segs = Math.max(nr_segs, tp.reordering + 1);
  const sndmem = 2 * nr_segs * per_mss;
  if (tp.sk_sndbuf < sndmem) tp.sk_sndbuf = Math.min(sndmem, tp.sk_net.ipv4!.sysctl_tcp_wmem[2]);
}

/** tcp_data_snd_check(). */
function tcp_data_snd_check(tp: TcpSock): void {
  tcp_push_pending_frames(tp);
  tcp_check_space(tp);
}

// ——— established ——————————————————————————————————————————————————————————————————

/** tcp_rcv_established(): a segment for a synchronized connection. */
export function tcp_rcv_established(tp: TcpSock, skb: SkBuff): void {
  const cb = TCP_SKB_CB(skb);
  const probe = tp.sk_net.ipv4!.trace_tcp_probe;
  if (probe?.enabled) trace_tcp_probe(probe, tp, skb);
  tp.tcp_mstamp = tcp_clock_us(tp.sk_net);
  if (!(cb.tcp_flags & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_SYN))) {
    kfree_skb(skb);
    return;
  }
  if (!tcp_validate_incoming(tp, skb, true)) {
    kfree_skb(skb);
    return;
  }
  if (tcp_ack(tp, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT) < 0) {
    kfree_skb(skb);
    return;
  }
  if (tp.rx_opt.saw_tstamp) tcp_rcv_rtt_measure_ts(tp, skb);
  tcp_urg(tp, skb);
  tcp_data_queue(tp, skb);
  tcp_data_snd_check(tp);
  tcp_ack_snd_check(tp);
}

// ——— connection setup ——————————————————————————————————————————————————————————————

/** tcp_init_buffer_space(). */
export function tcp_init_buffer_space(tp: TcpSock): void {
  if (!(tp.sk_userlocks & 1)) tcp_sndbuf_expand(tp);
  tp.rcvq_space_time = tcp_clock_us(tp.sk_net);
  tp.rcvq_space_seq = tp.copied_seq;
  const maxwin = tcp_full_space(tp);
  const app_win = tp.sk_net.ipv4!.sysctl_tcp_app_win;
  if (tp.window_clamp >= maxwin) {
    tp.window_clamp = maxwin;
    if (app_win && maxwin > 4 * tp.advmss)
      tp.window_clamp = Math.max(maxwin - (maxwin >> app_win), 4 * tp.advmss);
  }
  // Force reservation of one segment.
  if (app_win && tp.window_clamp > 2 * tp.advmss && tp.window_clamp + tp.advmss > maxwin)
    tp.window_clamp = Math.max(2 * tp.advmss, maxwin - tp.advmss);
  tp.rcv_ssthresh = Math.min(tp.rcv_ssthresh, tp.window_clamp);
  tp.snd_cwnd_stamp = tcp_jiffies32(tp.sk_net);
  tp.rcvq_space_space = Math.min(tp.rcv_ssthresh, tp.rcv_wnd, 10 * tp.advmss);
}

/** tcp_init_transfer(): the connection is established, from either side. */
export function tcp_init_transfer(tp: TcpSock): void {
  // tcp_init_metrics(): no RTT sample from the handshake (a retransmitted SYN) means a 3 s RTO.
  if (tp.srtt_us === 0) {
    {
      tp.rttvar_us = jiffies_to_usecs(TCP_TIMEOUT_FALLBACK);
      tp.mdev_us = tp.mdev_max_us = tp.rttvar_us;
      tp.icsk_rto = TCP_TIMEOUT_FALLBACK;
    }
  }
  tcp_init_buffer_space(tp);
  if (tp.total_retrans > 1 && tp.undo_marker) tp.snd_cwnd = 1;
  else tp.snd_cwnd = tcp_init_cwnd(tp);
  tp.snd_cwnd_stamp = tcp_jiffies32(tp.sk_net);
  tcp_init_congestion_control(tp);
}

/** tcp_init_cwnd(): the route's initcwnd, else 10. */
function tcp_init_cwnd(tp: TcpSock): number {
  const rt = tp.sk_dst_cache as (typeof tp.sk_dst_cache & { initcwnd_metric?: number }) | null;
  return (rt && rt.initcwnd_metric) || 10;
}

/** tcp_finish_connect(). */
export function tcp_finish_connect(tp: TcpSock): void {
  tcp_set_state(tp, TCP_ESTABLISHED);
  tp.icsk_ack.lrcvtime = tcp_jiffies32(tp.sk_net);
  tcp_init_transfer(tp);
  // Prevent spurious tcp_cwnd_restart() on first data packet.
  tp.lsndtime = tcp_jiffies32(tp.sk_net);
  if (sock_flag(tp, SOCK_KEEPOPEN)) inet_csk_reset_keepalive_timer(tp, keepalive_time_when(tp));
}

/** tcp_rcv_synsent_state_process(): the answer to our SYN. Returns 1 to send a RST, -1 consumed. */
function tcp_rcv_synsent_state_process(tp: TcpSock, skb: SkBuff): number {
  const cb = TCP_SKB_CB(skb);
  const saved_clamp = tp.rx_opt.mss_clamp;
  tcp_parse_options(
    tp.sk_net.ipv4!,
    skb.head,
    skb.transport_header,
    tp.rx_opt,
    false,
    (cb.tcp_flags & TCPHDR_SYN) !== 0,
  );
  if (tp.rx_opt.saw_tstamp && tp.rx_opt.rcv_tsecr)
    tp.rx_opt.rcv_tsecr = (tp.rx_opt.rcv_tsecr - tp.tsoffset) >>> 0;
  if (cb.tcp_flags & TCPHDR_ACK) {
    // RFC 793: "If SEG.ACK =< ISS, or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set)".
    if (!after(cb.ack_seq, tp.snd_una) || after(cb.ack_seq, tp.snd_nxt)) {
      tp.rx_opt.mss_clamp = saved_clamp;
      tp.rx_opt.clear_syn_options();
      if (cb.tcp_flags & TCPHDR_RST) return -1;
      return 1;
    }
    if (
      tp.rx_opt.saw_tstamp &&
      tp.rx_opt.rcv_tsecr &&
      !between(tp.rx_opt.rcv_tsecr, tp.retrans_stamp, tcp_clock_ms(tp.sk_net))
    ) {
      // The echoed timestamp is not one of ours: a reset (RFC 7323 §5.2 on SYN-SENT).
      NET_INC_STATS(tp.sk_net, MIB('PAWSActive'));
      tp.rx_opt.clear_syn_options();
      if (cb.tcp_flags & TCPHDR_RST) return -1;
      return 1;
    }
    // Now ACK is acceptable. "If the RST bit is set: signal ECONNREFUSED".
    if (cb.tcp_flags & TCPHDR_RST) {
      tcp_reset(tp);
      return -1;
    }
    // "Fifth, if neither of the SYN or RST bits is set then drop the segment and return."
    if (!(cb.tcp_flags & TCPHDR_SYN)) {
      tp.rx_opt.clear_syn_options();
      return -1;
    }
    // The SYN-ACK: "If the SYN bit is on and the ACK is acceptable, we are established".
    tcp_ecn_rcv_synack(tp, cb.tcp_flags);
    tcp_init_wl(tp, cb.seq);
    tcp_try_undo_spurious_syn(tp);
    tcp_ack(tp, skb, FLAG_SLOWPATH);
    tp.rcv_nxt = (cb.seq + 1) >>> 0;
    tp.rcv_wup = (cb.seq + 1) >>> 0;
    tp.rcv_isn = cb.seq;
    // RFC 7323: the window of a SYN is never scaled.
    tp.snd_wnd = th_window(skb);
    if (!tp.rx_opt.wscale_ok) {
      tp.rx_opt.snd_wscale = tp.rx_opt.rcv_wscale = 0;
      tp.window_clamp = Math.min(tp.window_clamp, 65535);
    }
    if (tp.rx_opt.saw_tstamp) {
      tp.rx_opt.tstamp_ok = 1;
      tp.tcp_header_len = TCP_HDR_MIN + TCPOLEN_TSTAMP_ALIGNED;
      tp.advmss -= TCPOLEN_TSTAMP_ALIGNED;
      tcp_store_ts_recent(tp);
    } else tp.tcp_header_len = TCP_HDR_MIN;
    tcp_sync_mss(tp, tp.icsk_pmtu_cookie);
    tcp_initialize_rcv_mss(tp);
    tp.copied_seq = tp.rcv_nxt;
    tcp_finish_connect(tp);
    if (!sock_flag(tp, SOCK_DEAD)) tp.sk_state_change(tp);
    // Data on the SYN-ACK, or the peer's window: ACK now (or delayed in pingpong mode).
    if (cb.seq + 1 !== cb.end_seq) {
      skb_pull_syn(skb);
      tcp_data_queue(tp, skb);
      tcp_send_ack(tp);
      return -1;
    }
    tcp_send_ack(tp);
    tcp_push_pending_frames(tp);
    kfree_skb(skb);
    return -1;
  }
  // No ACK in the segment.
  if (cb.tcp_flags & TCPHDR_RST) return -1; // "If the RST bit is set, drop the segment and return"
  if (
    tp.rx_opt.ts_recent_stamp &&
    tp.rx_opt.saw_tstamp &&
    tcp_paws_reject(tp.rx_opt, false, ktime_get_seconds(tp))
  ) {
    tp.rx_opt.clear_syn_options();
    return -1;
  }
  if (cb.tcp_flags & TCPHDR_SYN) {
    // Simultaneous open: SYN_SENT → SYN_RECV, answer with a SYN-ACK.
    tcp_set_state(tp, TCP_SYN_RECV);
    if (tp.rx_opt.saw_tstamp) {
      tp.rx_opt.tstamp_ok = 1;
      tcp_store_ts_recent(tp);
      tp.tcp_header_len = TCP_HDR_MIN + TCPOLEN_TSTAMP_ALIGNED;
    } else tp.tcp_header_len = TCP_HDR_MIN;
    tp.rcv_nxt = (cb.seq + 1) >>> 0;
    tp.copied_seq = tp.rcv_nxt;
    tp.rcv_wup = (cb.seq + 1) >>> 0;
    tp.rcv_isn = cb.seq;
    tp.snd_wnd = th_window(skb);
    tp.snd_wl1 = cb.seq;
    tp.max_window = tp.snd_wnd;
    if (!tp.rx_opt.wscale_ok) tp.rx_opt.snd_wscale = tp.rx_opt.rcv_wscale = 0;
    tcp_ecn_rcv_syn(tp, cb.tcp_flags);
    tcp_sync_mss(tp, tp.icsk_pmtu_cookie);
    tcp_initialize_rcv_mss(tp);
    tcp_send_synack(tp);
    kfree_skb(skb);
    return -1;
  }
  tp.rx_opt.clear_syn_options();
  tp.rx_opt.mss_clamp = saved_clamp;
  return -1;
}

function skb_pull_syn(_skb: SkBuff): void {}

/** tcp_try_undo_spurious_syn(): nothing to undo without SYN metrics; keeps the name. */
function tcp_try_undo_spurious_syn(_tp: TcpSock): void {}

/**
 * tcp_rcv_state_process(): every state but ESTABLISHED, LISTEN and TIME_WAIT. Returns 1 when
 * the caller must answer with a RST, 0 otherwise (the skb was consumed).
 */
export function tcp_rcv_state_process(tp: TcpSock, skb: SkBuff): number {
  const cb = TCP_SKB_CB(skb);
  const flags = cb.tcp_flags;
  tp.tcp_mstamp = tcp_clock_us(tp.sk_net);
  switch (tp.sk_state) {
    case TCP_CLOSE:
      kfree_skb(skb);
      return 0;
    case TCP_LISTEN:
      // Handled by tcp_v4_rcv / tcp_v4_conn_request.
      kfree_skb(skb);
      return 0;
    case TCP_SYN_SENT: {
      const r = tcp_rcv_synsent_state_process(tp, skb);
      if (r > 0) return 1;
      return 0;
    }
  }
  if (!(flags & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_SYN))) {
    kfree_skb(skb);
    return 0;
  }
  if (!tcp_validate_incoming(tp, skb, false)) {
    kfree_skb(skb);
    return 0;
  }
  // step 5: check the ACK field.
  const acceptable = tcp_ack(tp, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT | FLAG_NO_CHALLENGE_ACK) > 0;
  if (!acceptable) {
    if (tp.sk_state === TCP_SYN_RECV) return 1;
    tcp_send_challenge_ack(tp);
    kfree_skb(skb);
    return 0;
  }
  switch (tp.sk_state) {
    case TCP_SYN_RECV: {
      tp.delivered++;
      // A child finishing its handshake is done in tcp_check_req; here: simultaneous open.
      tcp_set_state(tp, TCP_ESTABLISHED);
      tp.sk_state_change(tp);
      tp.snd_una = cb.ack_seq;
      tp.snd_wnd = th_window(skb) * 2 ** tp.rx_opt.snd_wscale;
      tcp_init_wl(tp, cb.seq);
      if (tp.rx_opt.tstamp_ok) tp.advmss -= TCPOLEN_TSTAMP_ALIGNED;
      tcp_init_transfer(tp);
      tcp_update_pacing_rate(tp);
      tp.lsndtime = tcp_jiffies32(tp.sk_net);
      tcp_initialize_rcv_mss(tp);
      break;
    }
    case TCP_FIN_WAIT1: {
      if (tp.snd_una !== tp.write_seq) break;
      tcp_set_state(tp, TCP_FIN_WAIT2);
      tp.sk_shutdown |= S.SEND_SHUTDOWN;
      if (!sock_flag(tp, SOCK_DEAD)) {
        // Wake up lingering close().
        tp.sk_state_change(tp);
        break;
      }
      if (tp.linger2 < 0) {
        tcp_done(tp);
        NET_INC_STATS(tp.sk_net, MIB_TCPABORTONDATA);
        kfree_skb(skb);
        return 0;
      }
      if (cb.end_seq !== cb.seq && after(cb.end_seq - (flags & TCPHDR_FIN ? 1 : 0), tp.rcv_nxt)) {
        // Receive data after close: the peer may not know; reset (RFC 1122 4.2.2.13).
        tcp_done(tp);
        NET_INC_STATS(tp.sk_net, MIB_TCPABORTONDATA);
        return 1;
      }
      const tmo = tcp_fin_time(tp);
      if (tmo > 60 * 250) inet_csk_reset_keepalive_timer(tp, tmo - 60 * 250);
      else if (flags & TCPHDR_FIN) {
        // Bad case: the FIN is here with the ACK; let the data path handle it (TIME_WAIT).
        inet_csk_reset_keepalive_timer(tp, tmo);
      } else {
        tcp_time_wait(tp, TCP_FIN_WAIT2, tmo);
        kfree_skb(skb);
        return 0;
      }
      break;
    }
    case TCP_CLOSING:
      if (tp.snd_una === tp.write_seq) {
        tcp_time_wait(tp, TCP_TIME_WAIT, 0);
        kfree_skb(skb);
        return 0;
      }
      break;
    case TCP_LAST_ACK:
      if (tp.snd_una === tp.write_seq) {
        tcp_done(tp);
        kfree_skb(skb);
        return 0;
      }
      break;
  }
  // step 6: check the URG bit.
  tcp_urg(tp, skb);
  // step 7: process the segment text.
  const st = tp.sk_state;
  const peer_closed = st === TCP_CLOSE_WAIT || st === TCP_CLOSING || st === TCP_LAST_ACK;
  if (peer_closed && !before(cb.seq, tp.rcv_nxt)) {
    kfree_skb(skb);
  } else if (peer_closed || st === TCP_FIN_WAIT1 || st === TCP_FIN_WAIT2 || st === TCP_ESTABLISHED) {
    // RFC 793 says to queue data in these states; RFC 1122 says we MUST send a reset.
    if (
      st !== TCP_ESTABLISHED &&
      tp.sk_shutdown & S.RCV_SHUTDOWN &&
      cb.end_seq !== cb.seq &&
      after((cb.end_seq - (flags & TCPHDR_FIN ? 1 : 0)) >>> 0, tp.rcv_nxt)
    ) {
      NET_INC_STATS(tp.sk_net, MIB_TCPABORTONDATA);
      tcp_reset(tp);
      return 1;
    }
    tcp_data_queue(tp, skb);
  } else kfree_skb(skb);
  if (tp.sk_state !== TCP_CLOSE) {
    tcp_data_snd_check(tp);
    tcp_ack_snd_check(tp);
  }
  return 0;
}

export {
  tcp_current_mss,
  TCP_TIMEOUT_INIT,
  tcp_mtu_to_mss,
  dst_mtu,
  TCP_TIME_WAIT,
  TCP_LISTEN,
  TCP_CA_Open,
  TCP_CA_Loss,
  TCP_CA_Disorder,
  __sk_stream_is_writeable,
  tcp_send_active_reset,
  ICSK_ACK_SCHED,
  ICSK_ACK_PUSHED,
  ICSK_ACK_PUSHED2,
  inet_csk_reset_xmit_timer,
  jiffies_to_msecs,
  TCP_MIB_ATTEMPTFAILS,
  tcp_in_slow_start,
  tcp_urg_mode,
  tcp_is_cwnd_limited,
};
