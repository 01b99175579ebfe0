// Shifting newly SACKed data onto the SACKed skb before it (net/ipv4/tcp_input.c:
// tcp_shift_skb_data, tcp_shifted_skb, tcp_match_skb_to_sack). A run of SACKed segments
// becomes one skb counting several segments, so later walks of the retransmit queue are
// shorter; an skb fully moved is freed (TCPSackMerged), one partly moved keeps the rest
// (TCPSackShifted), and an skb that cannot be shifted is tagged as it is (TCPSackShiftFallback).
// A SACK block covering part of a multi-segment skb splits it on an MSS boundary.

import { SkBuff } from '../core/skbuff.js';
import { NET_INC_STATS, linux_mib_index } from './snmp.js';
import {
  TcpSock,
  TCP_SKB_CB,
  TCPCB_SACKED_ACKED,
  TCPCB_SACKED_RETRANS,
  TCPCB_LOST,
  TCPCB_TAGBITS,
  TCPCB_EVER_RETRANS,
  tcp_skb_pcount,
  tcp_tsorted_del,
  after,
  before,
} from './tcp_sock.js';
import { TCPHDR_FIN } from '../../uapi/tcp.js';
import { tcp_sk_wmem_free_skb } from './tcp.js';
import { tcp_fragment } from './tcp_output.js';
import { skb_unclone_tail } from './tcp_retrans_collapse.js';
import { TcpSacktagState, tcp_sacktag_one, tcp_rate_skb_delivered } from './tcp_input.js';

const MIB_SACKSHIFTED = linux_mib_index('TCPSackShifted');
const MIB_SACKMERGED = linux_mib_index('TCPSackMerged');
const MIB_SACKSHIFTFALLBACK = linux_mib_index('TCPSackShiftFallback');

/** TCP_MIN_GSO_SIZE: the smallest segment size an skb's segment count may stand for. */
const TCP_MIN_GSO_SIZE = 8;

/** tcp_skb_mss(): the segment size of a multi-segment skb. */
export function tcp_skb_mss(skb: SkBuff): number {
  return TCP_SKB_CB(skb).tcp_gso_size;
}

/** tcp_skb_seglen(): the size of the skb's segments (its length when it is one). */
export function tcp_skb_seglen(skb: SkBuff): number {
  return tcp_skb_pcount(skb) === 1 ? skb.len : TCP_SKB_CB(skb).tcp_gso_size;
}

/** tcp_skb_can_collapse(): data may be appended to `to` (no MSG_EOR boundary at its end). */
function tcp_skb_can_collapse(to: SkBuff): boolean {
  return !TCP_SKB_CB(to).eor;
}

/**
 * tcp_skb_shift() / skb_shift(): move the first `shiftlen` bytes of `from` to the end of `to`.
 * (Linux moves page fragments; the bytes are copied here, and their charge moves with them.)
 */
function tcp_skb_shift(to: SkBuff, from: SkBuff, pcount: number, shiftlen: number): boolean {
  // The segment count is 16 bits, and so is what one skb may stand for at the smallest MSS.
  if (to.len + shiftlen >= 65535 * TCP_MIN_GSO_SIZE) return false;
  if (tcp_skb_pcount(to) + pcount > 65535) return false;
  if (shiftlen) {
    skb_unclone_tail(to, shiftlen);
    to.head.set(from.head.subarray(from.data, from.data + shiftlen), to.tail);
    to.tail += shiftlen;
    from.pull(shiftlen);
    to.truesize += shiftlen;
    from.truesize -= shiftlen;
  }
  return true;
}

/**
 * tcp_shifted_skb(): `shifted` bytes (`pcount` segments) moved from `skb` onto `prev`: tag
 * them SACKed, move the sequence range and the segment counts. Returns true when `skb` was
 * used up and freed.
 */
function tcp_shifted_skb(
  tp: TcpSock,
  prev: SkBuff,
  skb: SkBuff,
  st: TcpSacktagState,
  pcount: number,
  shifted: number,
  mss: number,
  dup_sack: boolean,
): boolean {
  const cb = TCP_SKB_CB(skb);
  const pcb = TCP_SKB_CB(prev);
  const start_seq = cb.seq; // start of newly-SACKed
  const end_seq = (start_seq + shifted) >>> 0; // end of newly-SACKed
  // Count the newly SACKed range first (prev is SACKed already, its bits stay).
  tcp_sacktag_one(tp, st, cb.sacked, start_seq, end_seq, dup_sack, pcount, cb.tcp_tstamp, cb.tx_order);
  tcp_rate_skb_delivered(st, skb);
  pcb.end_seq = (pcb.end_seq + shifted) >>> 0;
  cb.seq = (cb.seq + shifted) >>> 0;
  pcb.tcp_gso_segs = tcp_skb_pcount(prev) + pcount;
  cb.tcp_gso_segs = tcp_skb_pcount(skb) - pcount;
  // prev now stands for several segments: keep their size.
  if (!pcb.tcp_gso_size) pcb.tcp_gso_size = mss;
  if (cb.tcp_gso_segs <= 1) cb.tcp_gso_size = 0;
  // Difference in this won't matter, both ACKed by the same cumulative ACK.
  pcb.sacked |= cb.sacked & TCPCB_EVER_RETRANS;
  // The highest SACK moves with the shifted bytes (Linux reads it from the next skb's seq).
  if (tp.highest_sack === skb) tp.highest_sack_seq = cb.seq;
  if (skb.len > 0) {
    // prev and skb stay two of Linux's skbs: prev ends one.
    pcb.tso_end = 1;
    NET_INC_STATS(tp.sk_net, MIB_SACKSHIFTED);
    return false;
  }
  // Whole skb was eaten.
  pcb.tcp_flags |= cb.tcp_flags;
  pcb.eor = cb.eor;
  pcb.tso_end = cb.tso_end;
  if (cb.tcp_flags & TCPHDR_FIN) pcb.end_seq = (pcb.end_seq + 1) >>> 0;
  if (tp.highest_sack === skb) {
    // tcp_advance_highest_sack().
    tp.highest_sack = skb.next;
    tp.highest_sack_seq = pcb.end_seq;
  }
  cb.tcp_gso_segs = 1;
  // tcp_rtx_queue_unlink_and_free().
  tcp_tsorted_del(skb);
  tp.tcp_rtx_queue.unlink(skb);
  tcp_sk_wmem_free_skb(tp, skb);
  NET_INC_STATS(tp.sk_net, MIB_SACKMERGED);
  return true;
}

/**
 * tcp_shift_skb_data(): try to SACK `skb` (or its first whole segments inside the block) by
 * moving it onto the SACKed skb before it. Returns the skb the walk continues from: `prev`
 * after a shift, `skb` itself when nothing is to be done here (noop), or null when the caller
 * must tag `skb` the ordinary way (fallback).
 */
export function tcp_shift_skb_data(
  tp: TcpSock,
  skb: SkBuff,
  st: TcpSacktagState,
  start_seq: number,
  end_seq: number,
  dup_sack: boolean,
): SkBuff | null {
  const cb = TCP_SKB_CB(skb);
  let mss: number;
  let pcount: number;
  let len: number;
  fallback: {
    // Normally R but no L won't result in plain S.
    if (!dup_sack && (cb.sacked & (TCPCB_LOST | TCPCB_SACKED_RETRANS)) === TCPCB_SACKED_RETRANS)
      break fallback;
    // This frame is about to be dropped (was ACKed).
    if (!after(cb.end_seq, tp.snd_una)) break fallback;
    // Can only happen with delayed DSACK + discard craziness.
    const prev = skb.prev;
    if (!prev) break fallback;
    const pcb = TCP_SKB_CB(prev);
    if ((pcb.sacked & TCPCB_TAGBITS) !== TCPCB_SACKED_ACKED) break fallback;
    if (!tcp_skb_can_collapse(prev)) break fallback;
    if (!after(start_seq, cb.seq) && !before(end_seq, cb.end_seq)) {
      // The whole skb is inside the block.
      len = skb.len;
      pcount = tcp_skb_pcount(skb);
      mss = tcp_skb_seglen(skb);
      if (mss !== tcp_skb_seglen(prev)) break fallback;
    } else {
      if (!after(cb.end_seq, start_seq)) return skb;
      if (tcp_skb_pcount(skb) <= 1) return skb;
      // Only the head of an skb can go onto prev.
      if (after(start_seq, cb.seq)) break fallback;
      len = (end_seq - cb.seq) >>> 0;
      // MSS boundaries are honoured, or the segment counts would break.
      mss = tcp_skb_mss(skb);
      if (mss !== tcp_skb_seglen(prev)) break fallback;
      if (len === mss) pcount = 1;
      else if (len < mss) return skb;
      else {
        pcount = Math.floor(len / mss);
        len = pcount * mss;
      }
    }
    // tcp_sacktag_one() won't SACK-tag ranges below snd_una.
    if (!after((cb.seq + len) >>> 0, tp.snd_una)) break fallback;
    if (!tcp_skb_shift(prev, skb, pcount, len)) break fallback;
    if (!tcp_shifted_skb(tp, prev, skb, st, pcount, len, mss, dup_sack)) return prev;
    // A hole filled lets prev take the SACKed skb after it too (a hole every nth skb).
    const next = prev.next;
    if (!next) return prev;
    const ncb = TCP_SKB_CB(next);
    if ((ncb.sacked & TCPCB_TAGBITS) !== TCPCB_SACKED_ACKED || mss !== tcp_skb_seglen(next)) return prev;
    if (!tcp_skb_can_collapse(prev)) return prev;
    len = next.len;
    pcount = tcp_skb_pcount(next);
    if (tcp_skb_shift(prev, next, pcount, len)) tcp_shifted_skb(tp, prev, next, st, pcount, len, mss, false);
    return prev;
  }
  NET_INC_STATS(tp.sk_net, MIB_SACKSHIFTFALLBACK);
  return null;
}

/**
 * tcp_match_skb_to_sack(): 1 when the block covers the whole skb, 0 when not. A multi-segment
 * skb the block covers in part is split on an MSS boundary first, so that the part inside the
 * block (whole segments, or the short tail) can be tagged on its own. Negative: cannot split.
 */
export function tcp_match_skb_to_sack(tp: TcpSock, skb: SkBuff, start_seq: number, end_seq: number): number {
  const cb = TCP_SKB_CB(skb);
  let in_sack = !after(start_seq, cb.seq) && !before(end_seq, cb.end_seq);
  if (tcp_skb_pcount(skb) > 1 && !in_sack && after(cb.end_seq, start_seq)) {
    const mss = tcp_skb_mss(skb);
    in_sack = !after(start_seq, cb.seq);
    let pkt_len: number;
    if (!in_sack) {
      pkt_len = (start_seq - cb.seq) >>> 0;
      if (pkt_len < mss) pkt_len = mss;
    } else {
      pkt_len = (end_seq - cb.seq) >>> 0;
      if (pkt_len < mss) return -1;
    }
    // Round so that SACKs cover only full MSSes and/or the remaining small portion.
    if (pkt_len > mss) {
      let new_len = Math.floor(pkt_len / mss) * mss;
      if (!in_sack && new_len < pkt_len) new_len += mss;
      pkt_len = new_len;
    }
    if (pkt_len >= skb.len && !in_sack) return 0;
    tcp_fragment(tp, skb, pkt_len, mss);
  }
  return in_sack ? 1 : 0;
}
