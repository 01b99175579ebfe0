// RACK-TLP loss detection (net/ipv4/tcp_recovery.c, RFC 8985): a segment is lost once a segment
// sent after it has been delivered and a reordering window has passed since; the window starts
// at a quarter of min_rtt and widens while D-SACKs show retransmissions were spurious. Also the
// NewReno (no SACK) loss marking, and the marking both share (tcp_mark_skb_lost).

import type { SkBuff } from '../core/skbuff.js';
import { TCP_SYN_SENT } from '../core/sock.js';
import { TCP_CA_Open, TCP_CA_Disorder, TCP_CA_CWR, TCP_CA_Recovery, TCP_CA_Loss } from '../../uapi/tcp.js';
import {
  TcpSock,
  TCP_SKB_CB,
  TCPCB_LOST,
  TCPCB_SACKED_ACKED,
  TCPCB_SACKED_RETRANS,
  TCPCB_EVER_RETRANS,
  TCPCB_RETRANS,
  TCP_RACK_LOSS_DETECTION,
  TCP_RACK_NO_DUPTHRESH,
  TCP_RACK_STATIC_REO_WND,
  TCP_RACK_RECOVERY_THRESH,
  TCP_TIMEOUT_MIN_US,
  TCP_RTO_MAX,
  TCP_INFINITE_SSTHRESH,
  ICSK_TIME_RETRANS,
  ICSK_TIME_REO_TIMEOUT,
  FLAG_ECE,
  FLAG_SND_UNA_ADVANCED,
  FLAG_SET_XMIT_TIMER,
  FLAG_LOST_RETRANS,
  FLAG_SACK_RENEGING,
  FLAG_ORIG_SACK_ACKED,
  FLAG_DATA_SACKED,
  REXMIT_NONE,
  REXMIT_LOST,
  REXMIT_NEW,
  after,
  before,
  tcp_is_reno,
  tcp_is_sack,
  tcp_jiffies32,
  tcp_clock_ms,
  tcp_left_out,
  tcp_min_rtt,
  tcp_packets_in_flight,
  tcp_rtx_queue_head,
  tcp_skb_pcount,
  tcp_skb_sent_after,
  tcp_skb_timestamp_us,
  tcp_tsorted_del,
  tcp_rack,
  tcp_wnd_end,
  usecs_to_jiffies,
  msecs_to_jiffies,
  type TsortedAnchor,
} from './tcp_sock.js';
import { inet_csk_reset_xmit_timer } from './inet_connection_sock.js';
import { tcp_xmit_retransmit_queue } from './tcp_output.js';
import {
  tcp_rearm_rto,
  tcp_check_sack_reordering,
  tcp_tsopt_ecr_before,
  tcp_highest_sack_seq,
} from './tcp_input.js';
import { tcp_set_ca_state, tcp_ca_event } from './tcp_cong.js';
import { CA_EVENT_LOSS } from './tcp_cubic.js';
import { tcp_ecn_queue_cwr, tcp_ecn_withdraw_cwr, tcp_count_delivered } from './tcp_ecn.js';
import { NET_ADD_STATS, NET_INC_STATS, linux_mib_index } from './snmp.js';

const MIB = (n: string): number => linux_mib_index(n);
const MIB_TCPRENORECOVERY = MIB('TCPRenoRecovery');
const MIB_TCPSACKRECOVERY = MIB('TCPSackRecovery');
const MIB_TCPRENOREORDER = MIB('TCPRenoReorder');
const MIB_TCPFULLUNDO = MIB('TCPFullUndo');
const MIB_TCPPARTIALUNDO = MIB('TCPPartialUndo');
const MIB_TCPDSACKUNDO = MIB('TCPDSACKUndo');
const MIB_TCPLOSSUNDO = MIB('TCPLossUndo');
const MIB_TCPSPURIOUSRTOS = MIB('TCPSpuriousRTOs');
const MIB_TCPSACKRENEGING = MIB('TCPSACKReneging');
const MIB_TCPLOSTRETRANSMIT = linux_mib_index('TCPLostRetransmit');

/** tcp_mark_skb_lost(): mark a segment lost (again, if its retransmission was lost too). */
export function tcp_mark_skb_lost(tp: TcpSock, skb: SkBuff): void {
  const cb = TCP_SKB_CB(skb);
  const sacked = cb.sacked;
  if (sacked & TCPCB_SACKED_ACKED) return;
  const pcount = tcp_skb_pcount(skb);
  if (sacked & TCPCB_LOST) {
    if (sacked & TCPCB_SACKED_RETRANS) {
      // Account for retransmits that are lost again.
      cb.sacked &= ~TCPCB_SACKED_RETRANS;
      tp.retrans_out -= pcount;
      NET_ADD_STATS(tp.sk_net, MIB_TCPLOSTRETRANSMIT, pcount);
      tp.lost += pcount;
    }
  } else {
    tp.lost_out += pcount;
    cb.sacked |= TCPCB_LOST;
    tp.lost += pcount;
  }
}

/**
 * tcp_rack_reo_wnd(): how long past its RTT a segment may stay undelivered before it is lost.
 * Before any reordering was seen, none in recovery or once dupthresh segments are SACKed.
 */
function tcp_rack_reo_wnd(tp: TcpSock): number {
  if (!tp.reord_seen) {
    if (tp.icsk_ca_state >= TCP_CA_Recovery) return 0;
    if (tp.sacked_out >= tp.reordering && !(tp.sk_net.ipv4!.sysctl_tcp_recovery & TCP_RACK_NO_DUPTHRESH))
      return 0;
  }
  // A quarter of min_rtt, widened in steps on D-SACKs, at most srtt.
  return Math.min((tcp_min_rtt(tp) >>> 2) * tcp_rack(tp).reo_wnd_steps, tp.srtt_us >>> 3);
}

/** tcp_rack_skb_timeout(): µs left before `skb` counts as lost (<= 0: lost now). */
export function tcp_rack_skb_timeout(tp: TcpSock, skb: SkBuff, reo_wnd: number): number {
  return (tp.rack ? tp.rack.rtt_us : 0) + reo_wnd - (tp.tcp_mstamp - tcp_skb_timestamp_us(skb));
}

/**
 * tcp_rack_detect_loss(): walk the segments in the order they were sent; every one sent before
 * the most recently delivered segment and older than its RTT plus the reordering window is lost.
 * Returns the µs until the next one expires (0: none pending).
 */
function tcp_rack_detect_loss(tp: TcpSock): number {
  let reo_timeout = 0;
  const reo_wnd = tcp_rack_reo_wnd(tp);
  const head = tp.tsorted_sent_queue;
  const rack = tcp_rack(tp);
  if (!head) return 0;
  let n: TsortedAnchor;
  for (let a = head.tsorted_next!; a !== head; a = n) {
    n = a.tsorted_next!;
    const skb = a as unknown as SkBuff;
    const scb = TCP_SKB_CB(skb);
    // Skip ones marked lost but not yet retransmitted.
    if (scb.sacked & TCPCB_LOST && !(scb.sacked & TCPCB_SACKED_RETRANS)) continue;
    if (!tcp_skb_sent_after(rack.mstamp, tcp_skb_timestamp_us(skb), rack.tx_order, scb.tx_order)) break;
    const remaining = tcp_rack_skb_timeout(tp, skb, reo_wnd);
    if (remaining <= 0) {
      tcp_mark_skb_lost(tp, skb);
      tcp_tsorted_del(skb);
    } else if (remaining > reo_timeout) reo_timeout = remaining;
  }
  return reo_timeout;
}

/** tcp_rack_mark_lost(): detect losses if RACK advanced; arm the reordering timer if one waits. */
export function tcp_rack_mark_lost(tp: TcpSock): boolean {
  if (!tp.rack?.advanced) return false;
  // Reset the advanced flag to avoid unnecessary queue scanning.
  tp.rack.advanced = 0;
  let timeout = tcp_rack_detect_loss(tp);
  if (timeout) {
    // Linux 6.18 pads the wait by TCP_TIMEOUT_MIN_US before rounding up to jiffies (not by
    // TCP_TIMEOUT_MIN jiffies after, as older kernels did): 25 ms of window waits 7 jiffies, not 9.
    timeout = usecs_to_jiffies(timeout + TCP_TIMEOUT_MIN_US);
    inet_csk_reset_xmit_timer(tp, ICSK_TIME_REO_TIMEOUT, timeout, tp.icsk_rto);
  }
  return timeout !== 0;
}

/**
 * tcp_rack_advance(): a segment sent at `xmit_time` was (s)acknowledged. A retransmitted one
 * delivered sooner than min_rtt was the original, not the retransmission: no sample.
 */
export function tcp_rack_advance(
  tp: TcpSock,
  sacked: number,
  end_seq: number,
  xmit_time: number,
  tx_order: number,
): void {
  const rtt_us = tp.tcp_mstamp - xmit_time;
  if (rtt_us < tcp_min_rtt(tp) && sacked & TCPCB_RETRANS) return;
  const rack = tcp_rack(tp);
  rack.advanced = 1;
  rack.rtt_us = rtt_us;
  if (tcp_skb_sent_after(xmit_time, rack.mstamp, tx_order, rack.tx_order)) {
    rack.mstamp = xmit_time;
    rack.end_seq = end_seq;
    rack.tx_order = tx_order;
  }
}

/** tcp_rack_reo_timeout(): the reordering window passed; mark what expired lost, retransmit. */
export function tcp_rack_reo_timeout(tp: TcpSock): void {
  const lost = tp.lost;
  const prior_inflight = tcp_packets_in_flight(tp);
  tcp_rack_detect_loss(tp);
  if (prior_inflight !== tcp_packets_in_flight(tp)) {
    if (tp.icsk_ca_state !== TCP_CA_Recovery) {
      tcp_enter_recovery(tp, false);
      tcp_cwnd_reduction(tp, 1, tp.lost - lost, 0);
    }
    tcp_xmit_retransmit_queue(tp);
  }
  if (tp.icsk_pending !== ICSK_TIME_RETRANS) tcp_rearm_rto(tp);
}

/**
 * tcp_rack_update_reo_wnd(): widen the reordering window by one step per round trip that saw a
 * D-SACK; it returns to one step after TCP_RACK_RECOVERY_THRESH recoveries without one.
 * `prior_delivered`: tp->delivered when the most recently delivered segment was sent.
 */
export function tcp_rack_update_reo_wnd(tp: TcpSock, prior_delivered: number): void {
  const rack = tp.rack;
  if (!rack || tp.sk_net.ipv4!.sysctl_tcp_recovery & TCP_RACK_STATIC_REO_WND || !prior_delivered) return;
  // Disregard a D-SACK if an RTT has not passed since reo_wnd was adjusted.
  if (before(prior_delivered, rack.last_delivered)) rack.dsack_seen = 0;
  if (rack.dsack_seen) {
    rack.reo_wnd_steps = Math.min(0xff, rack.reo_wnd_steps + 1);
    rack.dsack_seen = 0;
    rack.last_delivered = tp.delivered;
    rack.reo_wnd_persist = TCP_RACK_RECOVERY_THRESH;
  } else if (!rack.reo_wnd_persist) {
    rack.reo_wnd_steps = 1;
  }
}

/**
 * tcp_newreno_mark_lost(): without SACK, dupthresh duplicate ACKs (or a partial ACK in recovery)
 * mean the head is lost.
 */
export function tcp_newreno_mark_lost(tp: TcpSock, snd_una_advanced: boolean): void {
  const state = tp.icsk_ca_state;
  if (
    (state < TCP_CA_Recovery && tp.sacked_out >= tp.reordering) ||
    (state === TCP_CA_Recovery && snd_una_advanced)
  ) {
    const skb = tcp_rtx_queue_head(tp);
    if (!skb || TCP_SKB_CB(skb).sacked & TCPCB_LOST) return;
    tcp_mark_skb_lost(tp, skb);
  }
}

// ——— the congestion states (tcp_fastretrans_alert and its helpers, tcp_input.c) ——————————

/** What the ACK being processed asks tcp_xmit_recovery() to send (tcp_fastretrans_alert's *rexmit). */
export const recovery_rexmit = { rexmit: REXMIT_NONE };

/** tcp_limit_reno_sacked(): without SACK, at least one hole stays below the duplicate ACKs. */
export function tcp_limit_reno_sacked(tp: TcpSock): boolean {
  let holes = Math.max(tp.lost_out, 1);
  holes = Math.min(holes, tp.packets_out);
  if (tp.sacked_out + holes > tp.packets_out) {
    tp.sacked_out = Math.max(0, tp.packets_out - holes);
    return true;
  }
  return false;
}

/** tcp_check_reno_reordering(): more duplicate ACKs than holes could explain: reordering. */
function tcp_check_reno_reordering(tp: TcpSock, addend: number): void {
  if (!tcp_limit_reno_sacked(tp)) return;
  tp.reordering = Math.min(tp.packets_out + addend, tp.sk_net.ipv4!.sysctl_tcp_max_reordering);
  tp.reord_seen++;
  NET_INC_STATS(tp.sk_net, MIB_TCPRENOREORDER);
}

/** tcp_add_reno_sack(): a duplicate ACK counts as one segment received beyond the hole. */
function tcp_add_reno_sack(tp: TcpSock, num_dupack: number, ece_ack: boolean): void {
  if (num_dupack) {
    const prior_sacked = tp.sacked_out;
    tp.sacked_out += num_dupack;
    tcp_check_reno_reordering(tp, 0);
    const delivered = tp.sacked_out - prior_sacked;
    if (delivered > 0) tcp_count_delivered(tp, delivered, ece_ack);
  }
}

/** tcp_remove_reno_sacks(): one ACK filled the hole; the rest account for duplicate ACKs. */
export function tcp_remove_reno_sacks(tp: TcpSock, acked: number, ece_ack: boolean): void {
  if (acked > 0) {
    tcp_count_delivered(tp, Math.max(acked - tp.sacked_out, 1), ece_ack);
    if (acked - 1 >= tp.sacked_out) tp.sacked_out = 0;
    else tp.sacked_out -= acked - 1;
  }
  tcp_check_reno_reordering(tp, acked);
}

/** tcp_init_undo(): remember where recovery started, to undo it if it proves spurious. */
function tcp_init_undo(tp: TcpSock): void {
  tp.undo_marker = tp.snd_una;
  // Retransmissions still in flight (regular, and a TLP) may cause D-SACKs later.
  tp.undo_retrans = tp.retrans_out;
  if (tp.tlp_high_seq && tp.tlp_retrans) tp.undo_retrans++;
  // Avoid 0: undo_retrans == 0 means "can undo now".
  if (!tp.undo_retrans) tp.undo_retrans = -1;
}

/** tcp_current_ssthresh(). */
function tcp_current_ssthresh(tp: TcpSock): number {
  if (tp.icsk_ca_state === TCP_CA_CWR || tp.icsk_ca_state === TCP_CA_Recovery) return tp.snd_ssthresh;
  return Math.max(tp.snd_ssthresh, (tp.snd_cwnd >>> 1) + (tp.snd_cwnd >>> 2));
}

/** tcp_init_cwnd_reduction(). */
export function tcp_init_cwnd_reduction(tp: TcpSock): void {
  tp.high_seq = tp.snd_nxt;
  tp.tlp_high_seq = 0;
  tp.snd_cwnd_cnt = 0;
  tp.prior_cwnd = tp.snd_cwnd;
  tp.prr_delivered = 0;
  tp.prr_out = 0;
  tp.snd_ssthresh = tp.icsk_ca_ops.ssthresh(tp);
  tcp_ecn_queue_cwr(tp);
}

/** tcp_cwnd_reduction(): Proportional Rate Reduction (RFC 6937). */
export function tcp_cwnd_reduction(
  tp: TcpSock,
  newly_acked_sacked: number,
  newly_lost: number,
  flag: number,
): void {
  if (newly_acked_sacked <= 0 || !tp.prior_cwnd) return;
  tp.prr_delivered += newly_acked_sacked;
  const delta = tp.snd_ssthresh - tcp_packets_in_flight(tp);
  let sndcnt: number;
  if (delta < 0) {
    const dividend = tp.snd_ssthresh * tp.prr_delivered + tp.prior_cwnd - 1;
    sndcnt = Math.floor(dividend / tp.prior_cwnd) - tp.prr_out;
  } else {
    sndcnt = Math.max(tp.prr_delivered - tp.prr_out, newly_acked_sacked);
    if (flag & FLAG_SND_UNA_ADVANCED && !newly_lost) sndcnt++;
    sndcnt = Math.min(delta, sndcnt);
  }
  // Force a fast retransmit upon entering fast recovery.
  sndcnt = Math.max(sndcnt, tp.prr_out ? 0 : 1);
  tp.snd_cwnd = tcp_packets_in_flight(tp) + sndcnt;
}

/** tcp_end_cwnd_reduction(): cwnd to ssthresh after CWR or Recovery (unless it was undone). */
export function tcp_end_cwnd_reduction(tp: TcpSock): void {
  if (tp.snd_ssthresh < TCP_INFINITE_SSTHRESH && (tp.icsk_ca_state === TCP_CA_CWR || tp.undo_marker)) {
    tp.snd_cwnd = tp.snd_ssthresh;
    tp.snd_cwnd_stamp = tcp_jiffies32(tp.sk_net);
  }
}

/**
 * tcp_enter_cwr(): reduce the window without a loss to repair (local congestion; ECN's ECE):
 * PRR down to ssthresh, no undo.
 */
export function tcp_enter_cwr(tp: TcpSock): void {
  tp.prior_ssthresh = 0;
  if (tp.icsk_ca_state < TCP_CA_CWR) {
    tp.undo_marker = 0;
    tcp_init_cwnd_reduction(tp);
    tcp_set_ca_state(tp, TCP_CA_CWR);
  }
}

/** tcp_enter_recovery(): fast recovery starts (RFC 6675 §5, with PRR). */
export function tcp_enter_recovery(tp: TcpSock, ece_ack: boolean): void {
  NET_INC_STATS(tp.sk_net, tcp_is_reno(tp) ? MIB_TCPRENORECOVERY : MIB_TCPSACKRECOVERY);
  tp.prior_ssthresh = 0;
  tcp_init_undo(tp);
  if (tp.icsk_ca_state !== TCP_CA_CWR && tp.icsk_ca_state !== TCP_CA_Recovery) {
    if (!ece_ack) tp.prior_ssthresh = tcp_current_ssthresh(tp);
    tcp_init_cwnd_reduction(tp);
  }
  tcp_set_ca_state(tp, TCP_CA_Recovery);
}

/** tcp_any_retrans_done(). */
function tcp_any_retrans_done(tp: TcpSock): boolean {
  if (tp.retrans_out) return true;
  const skb = tcp_rtx_queue_head(tp);
  return skb !== null && (TCP_SKB_CB(skb).sacked & TCPCB_EVER_RETRANS) !== 0;
}

/** tcp_try_keep_open(): Open, or Disorder while anything is SACKed, lost or retransmitted. */
export function tcp_try_keep_open(tp: TcpSock): void {
  const state = tcp_left_out(tp) || tcp_any_retrans_done(tp) ? TCP_CA_Disorder : TCP_CA_Open;
  if (tp.icsk_ca_state !== state) {
    tcp_set_ca_state(tp, state);
    tp.high_seq = tp.snd_nxt;
  }
}

/** tcp_try_to_open(): back to Open (or Disorder); an ECE on the way reduces the window (CWR). */
function tcp_try_to_open(tp: TcpSock, flag: number): void {
  if (!tcp_any_retrans_done(tp)) tp.retrans_stamp = 0;
  if (flag & FLAG_ECE) tcp_enter_cwr(tp);
  if (tp.icsk_ca_state !== TCP_CA_CWR) tcp_try_keep_open(tp);
}

/**
 * tcp_packet_delayed(): the original, not the retransmission, was acknowledged — the echoed
 * timestamp predates the first retransmission (Eifel, RFC 3522), or nothing was retransmitted.
 */
function tcp_packet_delayed(tp: TcpSock): boolean {
  if (tp.retrans_stamp) return tcp_tsopt_ecr_before(tp, tp.retrans_stamp);
  // retrans_stamp is set by the first retransmission of an episode, so zero means none was sent
  // yet — except where it was cleared after retransmitting: without SACK, by
  // tcp_is_non_sack_preventing_reopen() once snd_una reached high_seq (undoing there would
  // restore the old cwnd after every NewReno recovery), and in SYN_SENT when the SYN is acked.
  if (!tcp_is_sack(tp) && !before(tp.snd_una, tp.high_seq)) return false;
  return tp.sk_state !== TCP_SYN_SENT;
}

/** tcp_may_undo(): every retransmission proved unnecessary (D-SACKs), or the original came. */
function tcp_may_undo(tp: TcpSock): boolean {
  return tp.undo_marker !== 0 && (!tp.undo_retrans || tcp_packet_delayed(tp));
}

/** tcp_undo_cwnd_reduction(): restore cwnd and ssthresh from before the spurious recovery. */
function tcp_undo_cwnd_reduction(tp: TcpSock, unmark_loss: boolean): void {
  if (unmark_loss) {
    for (let skb = tcp_rtx_queue_head(tp); skb; skb = skb.next) TCP_SKB_CB(skb).sacked &= ~TCPCB_LOST;
    tp.lost_out = 0;
  }
  if (tp.prior_ssthresh) {
    tp.snd_cwnd = tp.icsk_ca_ops.undo_cwnd(tp);
    if (tp.prior_ssthresh > tp.snd_ssthresh) {
      tp.snd_ssthresh = tp.prior_ssthresh;
      tcp_ecn_withdraw_cwr(tp);
    }
  }
  tp.snd_cwnd_stamp = tcp_jiffies32(tp.sk_net);
  tp.undo_marker = 0;
  // Force RACK to re-examine losses.
  if (tp.rack) tp.rack.advanced = 1;
}

/** tcp_is_non_sack_preventing_reopen(): NewReno holds the state until data above high_seq is acked. */
function tcp_is_non_sack_preventing_reopen(tp: TcpSock): boolean {
  if (tp.snd_una === tp.high_seq && tcp_is_reno(tp)) {
    if (!tcp_any_retrans_done(tp)) tp.retrans_stamp = 0;
    return true;
  }
  return false;
}

/** tcp_try_undo_recovery(): at the end of recovery, undo it if it was spurious. */
function tcp_try_undo_recovery(tp: TcpSock): boolean {
  if (tcp_may_undo(tp)) {
    // Happy end! We did not retransmit anything or our original transmission succeeded.
    tcp_undo_cwnd_reduction(tp, false);
    NET_INC_STATS(tp.sk_net, tp.icsk_ca_state === TCP_CA_Loss ? MIB_TCPLOSSUNDO : MIB_TCPFULLUNDO);
  } else if (tp.rack?.reo_wnd_persist) {
    tp.rack.reo_wnd_persist--;
  }
  if (tcp_is_non_sack_preventing_reopen(tp)) return true;
  tcp_set_ca_state(tp, TCP_CA_Open);
  tp.is_sack_reneg = 0;
  return false;
}

/** tcp_try_undo_dsack(): every retransmission was D-SACKed: undo. */
function tcp_try_undo_dsack(tp: TcpSock): boolean {
  if (tp.undo_marker && !tp.undo_retrans) {
    const rack = tcp_rack(tp);
    rack.reo_wnd_persist = Math.min(TCP_RACK_RECOVERY_THRESH, rack.reo_wnd_persist + 1);
    tcp_undo_cwnd_reduction(tp, false);
    NET_INC_STATS(tp.sk_net, MIB_TCPDSACKUNDO);
    return true;
  }
  return false;
}

/** tcp_try_undo_loss(): undo an RTO that proved spurious (by F-RTO, timestamps or D-SACKs). */
function tcp_try_undo_loss(tp: TcpSock, frto_undo: boolean): boolean {
  if (frto_undo || tcp_may_undo(tp)) {
    tcp_undo_cwnd_reduction(tp, true);
    NET_INC_STATS(tp.sk_net, MIB_TCPLOSSUNDO);
    if (frto_undo) NET_INC_STATS(tp.sk_net, MIB_TCPSPURIOUSRTOS);
    tp.icsk_retransmits = 0;
    if (tcp_is_non_sack_preventing_reopen(tp)) return true;
    if (frto_undo || tcp_is_sack(tp)) {
      tcp_set_ca_state(tp, TCP_CA_Open);
      tp.is_sack_reneg = 0;
    }
    return true;
  }
  return false;
}

/**
 * tcp_try_undo_partial(): a partial ACK in recovery shows the hole was filled by a delayed
 * original. Otherwise the partial ACK forces the next loss marking (scoreboard_do_lost).
 */
function tcp_try_undo_partial(tp: TcpSock, prior_snd_una: number): boolean {
  if (tp.undo_marker && tcp_packet_delayed(tp)) {
    // Plain luck! The hole was filled with a delayed packet, not a retransmission.
    tcp_check_sack_reordering(tp, prior_snd_una, 1);
    // Retransmissions out: clock out new data, but mark and retransmit no more.
    if (tp.retrans_out) return true;
    if (!tcp_any_retrans_done(tp)) tp.retrans_stamp = 0;
    tcp_undo_cwnd_reduction(tp, true);
    NET_INC_STATS(tp.sk_net, MIB_TCPPARTIALUNDO);
    tcp_try_keep_open(tp);
    return true;
  }
  // A partial ACK arrived: force fast retransmit.
  scoreboard_do_lost = true;
  return false;
}

/** tcp_fastretrans_alert()'s do_lost, which tcp_try_undo_partial() may set. */
let scoreboard_do_lost = false;

/** tcp_is_rack(): net.ipv4.tcp_recovery has RACK loss detection (Linux's default). */
function tcp_is_rack(tp: TcpSock): boolean {
  return (tp.sk_net.ipv4!.sysctl_tcp_recovery & TCP_RACK_LOSS_DETECTION) !== 0;
}

/** tcp_force_fast_retransmit(): SACKs reach more than `reordering` segments past snd_una. */
function tcp_force_fast_retransmit(tp: TcpSock): boolean {
  return after(tcp_highest_sack_seq(tp), (tp.snd_una + tp.reordering * tp.mss_cache) >>> 0);
}

/**
 * tcp_mark_head_lost(): RFC 6675's IsLost() from the head: an unSACKed segment is lost once more
 * than `packets` segments above it are SACKed; with `mark_head`, only the head is looked at.
 */
function tcp_mark_head_lost(tp: TcpSock, packets: number, mark_head: boolean): void {
  // Use SACK to deduce losses of new sequences sent during recovery.
  const loss_high = tp.snd_nxt;
  let cnt = 0;
  for (let skb = tcp_rtx_queue_head(tp); skb; skb = skb.next) {
    const cb = TCP_SKB_CB(skb);
    if (after(cb.end_seq, loss_high)) break;
    if (cb.sacked & TCPCB_SACKED_ACKED) cnt += tcp_skb_pcount(skb);
    if (cnt > packets) break;
    if (!(cb.sacked & TCPCB_LOST)) tcp_mark_skb_lost(tp, skb);
    if (mark_head) break;
  }
}

/**
 * tcp_update_scoreboard(): loss marking without RACK (net.ipv4.tcp_recovery=0): the segments
 * below the highest `sacked_out - reordering` SACKed ones, or at least the head on a fast
 * retransmit.
 */
function tcp_update_scoreboard(tp: TcpSock, fast_rexmit: boolean): void {
  if (tcp_is_sack(tp)) {
    const sacked_upto = tp.sacked_out - tp.reordering;
    if (sacked_upto >= 0) tcp_mark_head_lost(tp, sacked_upto, false);
    else if (fast_rexmit) tcp_mark_head_lost(tp, 1, true);
  }
}

/** tcp_identify_packet_loss(): RACK (or NewReno without SACK) marks what is lost. */
function tcp_identify_packet_loss(tp: TcpSock, flag: number): number {
  if (tp.tcp_rtx_queue.empty()) return flag;
  if (tcp_is_reno(tp)) {
    tcp_newreno_mark_lost(tp, (flag & FLAG_SND_UNA_ADVANCED) !== 0);
  } else if (tcp_is_rack(tp)) {
    const prior_retrans = tp.retrans_out;
    if (tcp_rack_mark_lost(tp)) flag &= ~FLAG_SET_XMIT_TIMER;
    if (prior_retrans > tp.retrans_out) flag |= FLAG_LOST_RETRANS;
  }
  return flag;
}

/** tcp_time_to_recover(): the loss is proven (or, without RACK, dupthresh is reached). */
function tcp_time_to_recover(tp: TcpSock): boolean {
  if (tp.lost_out) return true;
  // Not-a-trick: the classic dupthresh rule, without RACK.
  if (!tcp_is_rack(tp) && tp.sacked_out + 1 > tp.reordering) return true;
  return false;
}

/**
 * tcp_check_sack_reneging(): the receiver forgot data it SACKed; wait a little for the ACKs to
 * make sense, then let the RTO recover.
 */
function tcp_check_sack_reneging(tp: TcpSock, flag: number): boolean {
  if (flag & FLAG_SACK_RENEGING && flag & FLAG_SND_UNA_ADVANCED) {
    const delay = Math.max(usecs_to_jiffies(tp.srtt_us >>> 4), msecs_to_jiffies(10));
    inet_csk_reset_xmit_timer(tp, ICSK_TIME_RETRANS, delay, TCP_RTO_MAX);
    return true;
  }
  return false;
}

/** tcp_update_rto_time(): the RTO recovery ended; add its length to tcpi_total_rto_time. */
function tcp_update_rto_time(tp: TcpSock): void {
  if (tp.rto_stamp) {
    tp.total_rto_time += tcp_clock_ms(tp.sk_net) - tp.rto_stamp;
    tp.rto_stamp = 0;
  }
}

/**
 * tcp_process_loss(): an ACK in the Loss state. F-RTO (RFC 5682 §3.1, SACK-enhanced): after
 * the timeout's retransmission is acked, send new data; if the next ACK covers data never
 * retransmitted, the timeout was spurious and is undone.
 */
function tcp_process_loss(tp: TcpSock, flag: number, num_dupack: number): void {
  const recovered = !before(tp.snd_una, tp.high_seq);
  if (flag & FLAG_SND_UNA_ADVANCED && tcp_try_undo_loss(tp, false)) return;
  if (tp.frto) {
    // Step 3.b: a timeout is spurious if not all data are lost (never-retransmitted data acked).
    if (flag & FLAG_ORIG_SACK_ACKED && tcp_try_undo_loss(tp, true)) return;
    if (after(tp.snd_nxt, tp.high_seq)) {
      if (flag & FLAG_DATA_SACKED || num_dupack) tp.frto = 0; // Step 3.a: the loss was real.
    } else if (flag & FLAG_SND_UNA_ADVANCED && !recovered) {
      tp.high_seq = tp.snd_nxt;
      // Step 2.b: try to send new data (after cwnd is updated in tcp_ack), else fall back.
      if (!tp.sk_write_queue.empty() && after(tcp_wnd_end(tp), tp.snd_nxt)) {
        recovery_rexmit.rexmit = REXMIT_NEW;
        return;
      }
      tp.frto = 0;
    }
  }
  if (recovered) {
    // F-RTO step 2.a and the first part of step 3.a.
    tcp_try_undo_recovery(tp);
    return;
  }
  if (tcp_is_reno(tp)) {
    // A NewReno duplicate ACK means new data sent in step 2.b were delivered.
    if (after(tp.snd_nxt, tp.high_seq) && num_dupack)
      tcp_add_reno_sack(tp, num_dupack, (flag & FLAG_ECE) !== 0);
    else if (flag & FLAG_SND_UNA_ADVANCED) tp.sacked_out = 0;
  }
  recovery_rexmit.rexmit = REXMIT_LOST;
}

/**
 * tcp_fastretrans_alert(): the congestion state machine for an ACK that is dubious (a
 * duplicate, SACK or D-SACK information, or any state but Open): leave Recovery/CWR/Loss once
 * high_seq is acked (undoing them if they proved spurious), detect losses (RACK, or NewReno's
 * duplicate ACK count), enter Recovery. Returns the updated flag; recovery_rexmit says what to send.
 */
export function tcp_fastretrans_alert(
  tp: TcpSock,
  prior_snd_una: number,
  num_dupack: number,
  flag: number,
): number {
  recovery_rexmit.rexmit = REXMIT_NONE;
  const ece_ack = (flag & FLAG_ECE) !== 0;
  scoreboard_do_lost = num_dupack !== 0 || ((flag & FLAG_DATA_SACKED) !== 0 && tcp_force_fast_retransmit(tp));
  let fast_rexmit = false;
  if (!tp.packets_out && tp.sacked_out) tp.sacked_out = 0;
  // A. ECE: the reduction is required, no undo.
  if (ece_ack) tp.prior_ssthresh = 0;
  // B. In all the states check for reneging SACKs.
  if (tcp_check_sack_reneging(tp, flag)) return flag & ~FLAG_SET_XMIT_TIMER;
  // D. Check state exit conditions: the state ends when high_seq is acknowledged.
  if (tp.icsk_ca_state === TCP_CA_Open) {
    tp.retrans_stamp = 0;
  } else if (!before(tp.snd_una, tp.high_seq)) {
    if (tp.icsk_ca_state === TCP_CA_CWR) {
      // CWR is held until something above high_seq is acked, for the CWR bit to arrive.
      if (tp.snd_una !== tp.high_seq) {
        tcp_end_cwnd_reduction(tp);
        tcp_set_ca_state(tp, TCP_CA_Open);
      }
    } else if (tp.icsk_ca_state === TCP_CA_Recovery) {
      if (tcp_is_reno(tp)) tp.sacked_out = 0;
      if (tcp_try_undo_recovery(tp)) return flag;
      tcp_end_cwnd_reduction(tp);
    }
  }
  // E. Process state.
  const state = tp.icsk_ca_state;
  if (state === TCP_CA_Recovery) {
    if (!(flag & FLAG_SND_UNA_ADVANCED)) {
      if (tcp_is_reno(tp)) tcp_add_reno_sack(tp, num_dupack, ece_ack);
    } else if (tcp_try_undo_partial(tp, prior_snd_una)) return flag;
    if (tcp_try_undo_dsack(tp)) tcp_try_to_open(tp, flag);
    flag = tcp_identify_packet_loss(tp, flag);
    if (tp.icsk_ca_state !== TCP_CA_Recovery) {
      if (!tcp_time_to_recover(tp)) return flag;
      // Undo reverted the recovery; loss is evident: start a new one (reordering, then loss).
      tcp_enter_recovery(tp, ece_ack);
      fast_rexmit = true;
    }
    if (!tcp_is_rack(tp) && scoreboard_do_lost) tcp_update_scoreboard(tp, fast_rexmit);
    recovery_rexmit.rexmit = REXMIT_LOST;
    return flag;
  }
  if (state === TCP_CA_Loss) {
    tcp_process_loss(tp, flag, num_dupack);
    if (tp.icsk_ca_state !== TCP_CA_Loss) tcp_update_rto_time(tp);
    flag = tcp_identify_packet_loss(tp, flag);
    // Go on (below) only if cwnd was undone or retransmissions were lost.
    if (!((tp.icsk_ca_state as number) === TCP_CA_Open || flag & FLAG_LOST_RETRANS)) return flag;
  }
  if (tcp_is_reno(tp)) {
    if (flag & FLAG_SND_UNA_ADVANCED) tp.sacked_out = 0;
    tcp_add_reno_sack(tp, num_dupack, ece_ack);
  }
  if (tp.icsk_ca_state <= TCP_CA_Disorder) tcp_try_undo_dsack(tp);
  flag = tcp_identify_packet_loss(tp, flag);
  if (!tcp_time_to_recover(tp)) {
    tcp_try_to_open(tp, flag);
    return flag;
  }
  // Otherwise enter Recovery.
  tcp_enter_recovery(tp, ece_ack);
  fast_rexmit = true;
  if (!tcp_is_rack(tp) && scoreboard_do_lost) tcp_update_scoreboard(tp, fast_rexmit);
  recovery_rexmit.rexmit = REXMIT_LOST;
  return flag;
}

/**
 * tcp_timeout_mark_lost(): on an RTO, everything outstanding is lost — but segments sent within
 * the last RTT (RACK's view) are not yet; SACKs at the head mean the receiver reneged.
 */
function tcp_timeout_mark_lost(tp: TcpSock): void {
  const head = tcp_rtx_queue_head(tp);
  const is_reneg = head !== null && (TCP_SKB_CB(head).sacked & TCPCB_SACKED_ACKED) !== 0;
  if (is_reneg) {
    NET_INC_STATS(tp.sk_net, MIB_TCPSACKRENEGING);
    tp.sacked_out = 0;
    // Mark SACK reneging until we recover from this loss event.
    tp.is_sack_reneg = 1;
  } else if (tcp_is_reno(tp)) {
    tp.sacked_out = 0;
  }
  for (let skb = head; skb; skb = skb.next) {
    if (is_reneg) TCP_SKB_CB(skb).sacked &= ~TCPCB_SACKED_ACKED;
    else if (skb !== head && tcp_rack_skb_timeout(tp, skb, 0) > 0) continue; // recently sent
    tcp_mark_skb_lost(tp, skb);
  }
}

/** tcp_enter_loss(): the retransmission timer expired (RFC 6298 §5.5, RFC 5681 §3.1). */
export function tcp_enter_loss(tp: TcpSock): void {
  const net = tp.sk_net.ipv4!;
  const new_recovery = tp.icsk_ca_state < TCP_CA_Recovery;
  tcp_timeout_mark_lost(tp);
  // Reduce ssthresh if it has not yet been made inside this window.
  if (
    tp.icsk_ca_state <= TCP_CA_Disorder ||
    !after(tp.high_seq, tp.snd_una) ||
    (tp.icsk_ca_state === TCP_CA_Loss && !tp.icsk_retransmits)
  ) {
    tp.prior_ssthresh = tcp_current_ssthresh(tp);
    tp.prior_cwnd = tp.snd_cwnd;
    tp.snd_ssthresh = tp.icsk_ca_ops.ssthresh(tp);
    tcp_ca_event(tp, CA_EVENT_LOSS);
    tcp_init_undo(tp);
  }
  tp.snd_cwnd = tcp_packets_in_flight(tp) + 1;
  tp.snd_cwnd_cnt = 0;
  tp.snd_cwnd_stamp = tcp_jiffies32(tp.sk_net);
  // A timeout in Disorder after many duplicate ACKs: reordering was overestimated.
  if (tp.icsk_ca_state <= TCP_CA_Disorder && tp.sacked_out >= net.sysctl_tcp_reordering)
    tp.reordering = Math.min(tp.reordering, net.sysctl_tcp_reordering);
  tcp_set_ca_state(tp, TCP_CA_Loss);
  tp.high_seq = tp.snd_nxt;
  tp.tlp_high_seq = 0;
  tcp_ecn_queue_cwr(tp);
  // F-RTO step 1: retransmit snd_una, unless a recovery is underway (but repeated timeouts on
  // the same snd_una may use it, RFC 5682 §3.2).
  tp.frto = net.sysctl_tcp_frto && (new_recovery || tp.icsk_retransmits) ? 1 : 0;
}
