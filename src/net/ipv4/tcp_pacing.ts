// TCP pacing and TCP Small Queues (net/ipv4/tcp_output.c, tcp_input.c). TCP follows the EDT
// model: every skb leaves __tcp_transmit_skb stamped with tp->tcp_wstamp_ns, its earliest
// departure time, and when the socket is paced that time moves ahead by len / sk_pacing_rate
// after each send. sch_fq holds each packet until its time (and marks the socket
// SK_PACING_FQ); without fq, a socket that asked for pacing (SO_MAX_PACING_RATE: SK_PACING_NEEDED)
// paces itself with a timer (tcp_pacing_check). TCP Small Queues caps the bytes a socket has
// below it — in the qdisc or the device — at about 1 ms of its pacing rate (two packets at
// least): tcp_write_xmit stops, and the skb destructor (tcp_wfree) resumes it when they leave.

import type { SkBuff } from '../core/skbuff.js';
import { SK_PACING_NEEDED, SK_PACING_NONE, SK_PACING_UNLIMITED } from '../core/sock.js';
import { raise_softirq } from '../../kernel/softirq.js';
import { POW2 } from '../../kernel/bitops.js';
import { Timer, NSEC_PER_SEC } from '../../kernel/time.js';
import { TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_LAST_ACK } from '../core/sock.js';
import { TcpSock, tcp_packets_in_flight } from './tcp_sock.js';
import { tcp_current_mss, tcp_write_xmit, tcp_xmit_retransmit_queue } from './tcp_output.js';

/** sk_tsq_flags bits. */
export const TSQF_THROTTLED = 1 << 0;
export const TSQF_QUEUED = 1 << 1;

/**
 * tcp_update_pacing_rate(): sk_pacing_rate from mss * cwnd / srtt — tcp_pacing_ss_ratio (200 %)
 * of it in slow start (while cwnd < ssthresh / 2), tcp_pacing_ca_ratio (120 %) after — capped by
 * SO_MAX_PACING_RATE. Called when an ACK has moved cwnd (tcp_cong_control) and when the
 * connection is established.
 */
export function tcp_update_pacing_rate(sk: TcpSock): void {
  const ipv4 = sk.sk_net.ipv4!;
  // srtt_us is kept << 3: the << 3 here cancels it.
  let rate = sk.mss_cache * ((1_000_000 / 100) * 8);
  rate *=
    sk.snd_cwnd < sk.snd_ssthresh / 2 ? ipv4.sysctl_tcp_pacing_ss_ratio : ipv4.sysctl_tcp_pacing_ca_ratio;
  rate *= Math.max(sk.snd_cwnd, sk.packets_out);
  if (sk.srtt_us) rate = Math.floor(rate / sk.srtt_us);
  sk.sk_pacing_rate = Math.min(rate, sk.sk_max_pacing_rate);
}

/**
 * The EDT part of __tcp_transmit_skb(): tcp_wstamp_ns is brought up to now and stamped on the
 * skb. Returns the credit (how far it was behind now), which tcp_update_skb_after_send takes
 * into account.
 */
export function tcp_wstamp_refresh(sk: TcpSock, skb: SkBuff, now_ns: number): number {
  const prior_wstamp = sk.tcp_wstamp_ns;
  if (sk.tcp_wstamp_ns < now_ns) sk.tcp_wstamp_ns = now_ns;
  skb.tstamp = sk.tcp_wstamp_ns;
  return sk.tcp_wstamp_ns - prior_wstamp;
}

/**
 * tcp_update_skb_after_send(): a paced socket's next departure moves `len` bytes' worth of its
 * pacing rate ahead, less the credit a late sender earned (at most half of it: OS jitter). Like
 * the original sch_fq, the first 10 segments of a connection are not paced.
 */
export function tcp_update_skb_after_send(sk: TcpSock, len: number, credit: number): void {
  if (sk.sk_pacing_status === SK_PACING_NONE) return;
  const rate = sk.sk_pacing_rate;
  if (rate !== SK_PACING_UNLIMITED && rate && sk.data_segs_out >= 10) {
    let len_ns = Math.floor((len * NSEC_PER_SEC) / rate);
    len_ns -= Math.min(Math.floor(len_ns / 2), credit);
    sk.tcp_wstamp_ns += len_ns;
  }
}

/** tcp_needs_internal_pacing(): paced, and no fq below to do it. */
function tcp_needs_internal_pacing(sk: TcpSock): boolean {
  return sk.sk_pacing_status === SK_PACING_NEEDED;
}

/**
 * tcp_pacing_check(): under internal pacing, hold sending until tcp_wstamp_ns; the pacing timer
 * (tcp_pace_kick) resumes it.
 */
export function tcp_pacing_check(sk: TcpSock, now_ns: number): boolean {
  if (!tcp_needs_internal_pacing(sk)) return false;
  if (sk.tcp_wstamp_ns <= now_ns) return false;
  const clock = sk.sk_net.kernel.clock;
  const t = sk.pacing_timer ?? (sk.pacing_timer = new Timer(tcp_pace_kick, sk));
  if (!clock.timer_pending(t)) clock.mod_timer(t, sk.tcp_wstamp_ns);
  return true;
}

/** tcp_pace_kick(): the pacing hrtimer fired. */
function tcp_pace_kick(t: Timer): void {
  tcp_tsq_handler(t.data as TcpSock);
}

/**
 * tcp_small_queue_check(): too many bytes of this socket sit in the qdisc or device already
 * (more than twice the skb about to be sent, or 2^-sk_pacing_shift s of its pacing rate; at most
 * tcp_limit_output_bytes when nothing paces it). `factor` doubles the limit for retransmits.
 * Sending goes on when the retransmit queue holds at most one skb.
 */
export function tcp_small_queue_check(sk: TcpSock, truesize: number, factor: number): boolean {
  let limit = Math.max(2 * truesize, Math.floor(sk.sk_pacing_rate / POW2[sk.sk_pacing_shift]));
  if (sk.sk_pacing_status === SK_PACING_NONE)
    limit = Math.min(limit, sk.sk_net.ipv4!.sysctl_tcp_limit_output_bytes);
  limit *= POW2[factor];
  // sk_wmem_alloc carries a bias of 1 in Linux; ours does not.
  if (sk.sk_wmem_alloc + 1 > limit) {
    if (tcp_rtx_queue_empty_or_single_skb(sk)) return false;
    sk.tsq_flags |= TSQF_THROTTLED;
    return true;
  }
  return false;
}

function tcp_rtx_queue_empty_or_single_skb(sk: TcpSock): boolean {
  return sk.tcp_rtx_queue.qlen <= 1;
}

/**
 * skb_set_owner_w() as __tcp_transmit_skb does it: the skb is charged to sk_wmem_alloc until the
 * device (or a drop) frees it; pure ACKs do not take part in TSQ (__sock_wfree).
 */
export function tcp_skb_set_owner_w(sk: TcpSock, skb: SkBuff, pure_ack: boolean): void {
  skb.sk = sk;
  skb.destructor = pure_ack ? tcp_sock_wfree : tcp_wfree;
  sk.sk_wmem_alloc += skb.truesize;
}

/** __sock_wfree(): give the memory back, nothing else. */
function tcp_sock_wfree(skb: SkBuff): void {
  skb.sk!.sk_wmem_alloc -= skb.truesize;
}

/**
 * tcp_wfree(): the packet left (or was dropped). If TSQ throttled the socket, queue it for the
 * TSQ handler, which runs as a softirq once the current call or timer is done.
 */
function tcp_wfree(skb: SkBuff): void {
  const sk = skb.sk as TcpSock;
  sk.sk_wmem_alloc -= skb.truesize;
  const f = sk.tsq_flags;
  if (!(f & TSQF_THROTTLED) || f & TSQF_QUEUED) return;
  sk.tsq_flags = (f & ~TSQF_THROTTLED) | TSQF_QUEUED;
  const clock = sk.sk_net.kernel.clock;
  const action = sk.tsq_action ?? (sk.tsq_action = () => tcp_tsq_run(sk));
  raise_softirq(clock.softirq, action);
  // The softirq runs when the kernel leaves the current call; the timer covers a release from
  // outside one (a qdisc watchdog firing runs its softirqs too).
  const t = sk.tsq_timer ?? (sk.tsq_timer = new Timer(tcp_tsq_timer, sk));
  if (!clock.timer_pending(t)) clock.mod_timer(t, clock.now());
}

function tcp_tsq_timer(t: Timer): void {
  const sk = t.data as TcpSock;
  if (sk.tsq_flags & TSQF_QUEUED) tcp_tsq_run(sk);
}

/** tcp_tsq_workfn() for one socket. */
function tcp_tsq_run(sk: TcpSock): void {
  if (!(sk.tsq_flags & TSQF_QUEUED)) return;
  sk.tsq_flags &= ~TSQF_QUEUED;
  tcp_tsq_handler(sk);
}

/** tcp_tsq_handler() → tcp_tsq_write(): send what TSQ or pacing held back. */
function tcp_tsq_handler(sk: TcpSock): void {
  const s = sk.sk_state;
  if (
    s !== TCP_ESTABLISHED &&
    s !== TCP_FIN_WAIT1 &&
    s !== TCP_CLOSING &&
    s !== TCP_CLOSE_WAIT &&
    s !== TCP_LAST_ACK
  )
    return;
  if (sk.lost_out > sk.retrans_out && sk.snd_cwnd > tcp_packets_in_flight(sk)) tcp_xmit_retransmit_queue(sk);
  tcp_write_xmit(sk, tcp_current_mss(sk), sk.nonagle, 0);
}
