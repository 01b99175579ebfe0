// Collapsing small segments on retransmission (net/ipv4/tcp_output.c: tcp_can_collapse,
// tcp_collapse_retrans, tcp_retrans_try_collapse). A segment retransmitted while it is shorter
// than an MSS takes the bytes of the segments after it into itself, so one packet repairs what
// several small writes sent (net.ipv4.tcp_retrans_collapse, on by default).

import { SkBuff } from '../core/skbuff.js';
import {
  TcpSock,
  TCP_SKB_CB,
  TCPCB_SACKED_ACKED,
  TCPCB_SACKED_RETRANS,
  TCPCB_LOST,
  TCPCB_EVER_RETRANS,
  tcp_skb_pcount,
  tcp_is_reno,
  tcp_wnd_end,
  tcp_tsorted_del,
  after,
} from './tcp_sock.js';
import { TCPHDR_SYN } from '../../uapi/tcp.js';
import { tcp_sk_wmem_free_skb } from './tcp.js';
import { pskb_expand_head } from './tcp_output.js';

/** skb_cloned(): another skb (a copy in flight) still shares the head. */
export function skb_cloned(skb: SkBuff): boolean {
  return skb.cloned && skb.shinfo !== null && skb.shinfo.dataref > 1;
}

/**
 * skb_unclone_keeptruesize() and room at the tail: a head of the skb's own (a copy in flight
 * keeps the old one) with at least `ntail` bytes free after the data.
 */
export function skb_unclone_tail(skb: SkBuff, ntail: number): void {
  pskb_expand_head(skb, skb_cloned(skb) ? Math.max(ntail, skb.tailroom() + 1) : ntail);
}

/**
 * tcp_adjust_pcount(): `skb` counts `decr` segments fewer (it was merged away or resegmented):
 * take them off packets_out and off each count its sacked bits put them in.
 */
export function tcp_adjust_pcount(tp: TcpSock, skb: SkBuff, decr: number): void {
  const sacked = TCP_SKB_CB(skb).sacked;
  tp.packets_out -= decr;
  if (sacked & TCPCB_SACKED_ACKED) tp.sacked_out -= decr;
  if (sacked & TCPCB_SACKED_RETRANS) tp.retrans_out -= decr;
  if (sacked & TCPCB_LOST) tp.lost_out -= decr;
  // Reno counts duplicate ACKs in sacked_out, not segments.
  if (tcp_is_reno(tp) && decr > 0) tp.sacked_out -= Math.min(tp.sacked_out, decr);
}

/** tcp_can_collapse(): a single-segment skb, not shared with a copy in flight, not SACKed. */
function tcp_can_collapse(skb: SkBuff): boolean {
  if (tcp_skb_pcount(skb) > 1) return false;
  if (skb_cloned(skb)) return false;
  // Some heuristics for collapsing over SACK'd could be invented.
  if (TCP_SKB_CB(skb).sacked & TCPCB_SACKED_ACKED) return false;
  return true;
}

/** tcp_skb_can_collapse_to(): data may be appended (no MSG_EOR boundary at its end). */
function tcp_skb_can_collapse_to(skb: SkBuff): boolean {
  return !TCP_SKB_CB(skb).eor;
}

/**
 * tcp_collapse_retrans(): append the next skb of the retransmit queue to `skb` and free it.
 * Returns false when it cannot be done.
 */
function tcp_collapse_retrans(tp: TcpSock, skb: SkBuff): boolean {
  const next_skb = skb.next;
  if (!next_skb) return false;
  const cb = TCP_SKB_CB(skb);
  const ncb = TCP_SKB_CB(next_skb);
  const next_skb_size = next_skb.len;
  if (next_skb_size) {
    // Write into a head of our own (skb_unclone_keeptruesize), with room for the bytes.
    skb_unclone_tail(skb, next_skb_size);
    skb.head.set(next_skb.head.subarray(next_skb.data, next_skb.tail), skb.tail);
    skb.tail += next_skb_size;
    // The bytes' charge moves with them; the freed skb gives back only its own head.
    skb.truesize += next_skb_size;
    next_skb.truesize -= next_skb_size;
  }
  // tcp_highest_sack_replace().
  if (tp.highest_sack === next_skb) tp.highest_sack = skb;
  // Update sequence range on original skb.
  cb.end_seq = ncb.end_seq;
  // Merge over control information. This moves PSH/FIN etc. over.
  cb.tcp_flags |= ncb.tcp_flags;
  // All done, get rid of second skb and account for it so packet counting does not break.
  cb.sacked |= ncb.sacked & TCPCB_EVER_RETRANS;
  cb.eor = ncb.eor;
  cb.tso_end = ncb.tso_end;
  tcp_adjust_pcount(tp, next_skb, tcp_skb_pcount(next_skb));
  // tcp_rtx_queue_unlink_and_free().
  tcp_tsorted_del(next_skb);
  tp.tcp_rtx_queue.unlink(next_skb);
  tcp_sk_wmem_free_skb(tp, next_skb);
  return true;
}

/**
 * tcp_retrans_try_collapse(): `to` is about to be retransmitted and is shorter than `space`
 * (the MSS, or less if the window is smaller): append the skbs after it while they fit.
 */
export function tcp_retrans_try_collapse(tp: TcpSock, to: SkBuff, space: number): void {
  if (!tp.sk_net.ipv4!.sysctl_tcp_retrans_collapse) return;
  if (TCP_SKB_CB(to).tcp_flags & TCPHDR_SYN) return;
  let first = true;
  for (let skb: SkBuff | null = to; skb;) {
    // The next one to look at, read before `skb` is merged away.
    const tmp: SkBuff | null = skb.next;
    // `to` itself is made private before it is written (skb_unclone_keeptruesize).
    if (skb !== to && !tcp_can_collapse(skb)) break;
    if (skb === to && (tcp_skb_pcount(skb) > 1 || TCP_SKB_CB(skb).sacked & TCPCB_SACKED_ACKED)) break;
    if (!tcp_skb_can_collapse_to(to)) break;
    space -= skb.len;
    if (first) {
      first = false;
      skb = tmp;
      continue;
    }
    if (space < 0) break;
    if (after(TCP_SKB_CB(skb).end_seq, tcp_wnd_end(tp))) break;
    if (!tcp_collapse_retrans(tp, to)) break;
    skb = tmp;
  }
}
