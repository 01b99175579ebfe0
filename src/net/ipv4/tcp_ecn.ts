// Classic ECN for TCP (RFC 3168), as include/net/tcp_ecn.h and tcp_output.c do it: negotiation on
// the SYN / SYN-ACK, ECT(0) on new data, ECE echoed until CWR arrives, CWR sent once after the
// window was reduced. The receive-side check of the IP ECN field (tcp_data_ecn_check) and the
// request's ECN decision (tcp_ecn_create_request) live in tcp_input.ts, as in tcp_input.c.
// Accurate ECN is not implemented: net.ipv4.tcp_ecn stops at 2 here, as on the reference kernel.

import type { SkBuff } from '../core/skbuff.js';
import { TCPHDR_CWR, TCPHDR_ECE, TCPHDR_SYN } from '../../uapi/tcp.js';
import { INET_ECN_dontxmit, INET_ECN_xmit } from './inet_ecn.js';
import { TCP_SKB_CB, ICSK_ACK_NOW, before, type RequestSock, type TcpSock } from './tcp_sock.js';

/** tp->ecn_flags (include/linux/tcp.h). TCP_ECN_MODE_RFC3168 was TCP_ECN_OK before AccECN. */
export const TCP_ECN_MODE_RFC3168 = 1;
export const TCP_ECN_QUEUE_CWR = 2;
export const TCP_ECN_DEMAND_CWR = 4;
export const TCP_ECN_SEEN = 8;

/** net.ipv4.tcp_ecn values (enum tcp_ecn_mode, classic part). */
export const TCP_ECN_IN_NOECN_OUT_NOECN = 0;
export const TCP_ECN_IN_ECN_OUT_ECN = 1;
export const TCP_ECN_IN_ECN_OUT_NOECN = 2;

/** tcp_ecn_mode_rfc3168(): RFC 3168 ECN was negotiated (or is being asked for). */
export function tcp_ecn_mode_rfc3168(tp: TcpSock): boolean {
  return (tp.ecn_flags & TCP_ECN_MODE_RFC3168) !== 0;
}

/** tcp_ecn_disabled(). */
export function tcp_ecn_disabled(tp: TcpSock): boolean {
  return !tcp_ecn_mode_rfc3168(tp);
}

/** tcp_ecn_mode_set(): the mode bit; the other flags stay. */
export function tcp_ecn_mode_set(tp: TcpSock, mode: number): void {
  tp.ecn_flags = (tp.ecn_flags & ~TCP_ECN_MODE_RFC3168) | mode;
}

/** tcp_ecn_queue_cwr(): the window was reduced; tell the peer with CWR on the next new data. */
export function tcp_ecn_queue_cwr(tp: TcpSock): void {
  if (tcp_ecn_mode_rfc3168(tp)) tp.ecn_flags |= TCP_ECN_QUEUE_CWR;
}

/** tcp_ecn_withdraw_cwr(): the reduction was undone before CWR went out. */
export function tcp_ecn_withdraw_cwr(tp: TcpSock): void {
  tp.ecn_flags &= ~TCP_ECN_QUEUE_CWR;
}

/**
 * tcp_ecn_accept_cwr(): the peer reduced its window: stop echoing ECE. A sender that has just
 * entered CWR may have a cwnd of one, so data carrying CWR is acknowledged at once. (Linux takes
 * CWR on pure ACKs too, from tcp_ack(), for senders that set it there.)
 */
export function tcp_ecn_accept_cwr(tp: TcpSock, skb: SkBuff): void {
  const cb = TCP_SKB_CB(skb);
  if (tcp_ecn_mode_rfc3168(tp) && cb.tcp_flags & TCPHDR_CWR) {
    tp.ecn_flags &= ~TCP_ECN_DEMAND_CWR;
    if (cb.seq !== cb.end_seq) tp.icsk_ack.pending |= ICSK_ACK_NOW;
  }
}

/** tcp_ecn_rcv_ecn_echo(): an ACK (not a SYN) of an ECN connection carries ECE. */
export function tcp_ecn_rcv_ecn_echo(tp: TcpSock, tcp_flags: number): boolean {
  return (tcp_flags & TCPHDR_ECE) !== 0 && !(tcp_flags & TCPHDR_SYN) && tcp_ecn_mode_rfc3168(tp);
}

/**
 * tcp_ecn_send_syn(): an active open asks for ECN (SYN with ECE and CWR, RFC 3168 §6.1.1) when
 * net.ipv4.tcp_ecn is 1. Per-route `ecn` features are not kept here.
 */
export function tcp_ecn_send_syn(tp: TcpSock, skb: SkBuff): void {
  const use_ecn = tp.sk_net.ipv4!.sysctl_tcp_ecn === TCP_ECN_IN_ECN_OUT_ECN;
  tp.ecn_flags = 0;
  if (use_ecn) {
    TCP_SKB_CB(skb).tcp_flags |= TCPHDR_ECE | TCPHDR_CWR;
    tcp_ecn_mode_set(tp, TCP_ECN_MODE_RFC3168);
  }
}

/**
 * tcp_ecn_clear_syn(): a retransmitted SYN no longer asks for ECN (net.ipv4.tcp_ecn_fallback),
 * in case a middlebox drops ECN SYNs; tp->ecn_flags are settled when the SYN-ACK comes.
 */
export function tcp_ecn_clear_syn(tp: TcpSock, skb: SkBuff): void {
  if (tp.sk_net.ipv4!.sysctl_tcp_ecn_fallback) TCP_SKB_CB(skb).tcp_flags &= ~(TCPHDR_ECE | TCPHDR_CWR);
}

/** tcp_ecn_make_synack(): the SYN-ACK of a request that agreed to ECN carries ECE alone. */
export function tcp_ecn_make_synack(req: RequestSock, flags: number): number {
  return req.ecn_ok ? flags | TCPHDR_ECE : flags;
}

/** tcp_ecn_send_synack(): a SYN-ACK from a socket (simultaneous open): never CWR; ECE if agreed. */
export function tcp_ecn_send_synack(tp: TcpSock, skb: SkBuff): void {
  const cb = TCP_SKB_CB(skb);
  cb.tcp_flags &= ~TCPHDR_CWR;
  if (tcp_ecn_disabled(tp)) cb.tcp_flags &= ~TCPHDR_ECE;
}

/**
 * tcp_ecn_rcv_synack(): the SYN-ACK answers our ECN SYN: ECE without CWR (RFC 3168 §6.1.1)
 * keeps ECN on. Linux 6.18 reads ECE+CWR and the other AccECN combinations as an Accurate ECN
 * answer, which is not implemented: ECN is off then.
 */
export function tcp_ecn_rcv_synack(tp: TcpSock, tcp_flags: number): void {
  if (tcp_ecn_mode_rfc3168(tp) && (!(tcp_flags & TCPHDR_ECE) || tcp_flags & TCPHDR_CWR))
    tcp_ecn_mode_set(tp, 0);
}

/** tcp_ecn_rcv_syn(): simultaneous open: the peer's SYN must ask for ECN too. */
export function tcp_ecn_rcv_syn(tp: TcpSock, tcp_flags: number): void {
  if (tcp_ecn_mode_rfc3168(tp) && (!(tcp_flags & TCPHDR_ECE) || !(tcp_flags & TCPHDR_CWR)))
    tcp_ecn_mode_set(tp, 0);
}

/** tcp_ecn_openreq_child(): the child of a request inherits its ECN agreement. */
export function tcp_ecn_openreq_child(tp: TcpSock, req: RequestSock): void {
  tp.ecn_flags = req.ecn_ok ? TCP_ECN_MODE_RFC3168 : 0;
}

/**
 * tcp_ecn_send() (tcp_output.c): the ECN marks of a segment that is not a SYN. New data goes out
 * ECT(0), with CWR on the first one after a reduction; pure ACKs, FINs and retransmissions go out
 * Not-ECT (RFC 3168 §6.1.5: a retransmission must not be ECT). ECE is on everything while the peer
 * still owes us a CWR. `len` is the segment's length with its TCP header, `seq` its sequence
 * number. Returns the header flags to send.
 */
export function tcp_ecn_send(
  tp: TcpSock,
  len: number,
  seq: number,
  tcp_header_len: number,
  flags: number,
): number {
  if (!tcp_ecn_mode_rfc3168(tp)) return flags;
  if (len !== tcp_header_len && !before(seq, tp.snd_nxt)) {
    INET_ECN_xmit(tp);
    if (tp.ecn_flags & TCP_ECN_QUEUE_CWR) {
      tp.ecn_flags &= ~TCP_ECN_QUEUE_CWR;
      flags |= TCPHDR_CWR;
    }
  } else INET_ECN_dontxmit(tp);
  if (tp.ecn_flags & TCP_ECN_DEMAND_CWR) flags |= TCPHDR_ECE;
  return flags;
}

/** tcp_count_delivered(): segments delivered; those an ECE ACK reports also count in delivered_ce. */
export function tcp_count_delivered(tp: TcpSock, delivered: number, ece_ack: boolean): void {
  tp.delivered += delivered;
  if (ece_ack && tcp_ecn_mode_rfc3168(tp)) tp.delivered_ce += delivered;
}
