// The TCP socket structures (include/linux/tcp.h, include/net/inet_connection_sock.h,
// include/net/request_sock.h, include/net/tcp.h): struct inet_connection_sock and struct
// tcp_sock as one class, struct request_sock / tcp_request_sock, the per-skb control block
// (TCP_SKB_CB) and the constants of include/net/tcp.h.
//
// Times: the kernel keeps TCP timeouts in jiffies (HZ = 250 here, as on the reference kernel),
// RTT samples in microseconds (tcp_clock_us) and timestamps in milliseconds (TCP_TS_HZ = 1000).
// The same units are used here, read from the world's clock.

import type { Net } from '../core/net_namespace.js';
import type { SkBuff } from '../core/skbuff.js';
import { SkBuffHead } from '../core/skbuff.js';
import { InetSock } from './inet_dgram.js';
import { Timer, HZ, NSEC_PER_JIFFY, NSEC_PER_USEC, NSEC_PER_MSEC, type TimerFn } from '../../kernel/time.js';
import type { Sock } from '../core/sock.js';

// ——— include/net/tcp.h ——————————————————————————————————————————————————————————————

/** L1_CACHE_ALIGN(128 + MAX_HEADER) on the reference kernel. */
export const MAX_TCP_HEADER = 320;
export const MAX_TCP_OPTION_SPACE = 40;
export const TCP_MIN_SND_MSS = 48;
/** The default MSS of RFC 879 / RFC 1122 when the peer sends none. */
export const TCP_MSS_DEFAULT = 536;
export const TCP_MSS_DESIRED = 1220;
/** Largest window a SYN may offer (unscaled). */
export const MAX_TCP_WINDOW = 32767;
export const TCP_MAX_QUICKACKS = 16;
export const TCP_MAX_WSCALE = 14;
export const TCP_URG_VALID = 0x0100;
export const TCP_URG_NOTYET = 0x0200;
export const TCP_URG_READ = 0x0400;
export const TCP_RETR1 = 3;
export const TCP_RETR2 = 15;
export const TCP_SYN_RETRIES = 6;
export const TCP_SYNACK_RETRIES = 5;
/** TIME_WAIT length: 60 s. */
export const TCP_TIMEWAIT_LEN = 60 * HZ;
export const TCP_FIN_TIMEOUT = TCP_TIMEWAIT_LEN;
export const TCP_FIN_TIMEOUT_MAX = 120 * HZ;
export const TCP_DELACK_MAX = HZ / 5;
export const TCP_DELACK_MIN = HZ / 25;
export const TCP_ATO_MIN = HZ / 25;
export const TCP_RTO_MAX = 120 * HZ;
export const TCP_RTO_MIN = HZ / 5;
export const TCP_TIMEOUT_MIN = 2;
/** TCP_TIMEOUT_MIN_US: the least a µs-computed TCP timeout waits, 2 ms. */
export const TCP_TIMEOUT_MIN_US = 2000;
export const TCP_TIMEOUT_INIT = 1 * HZ;
/** RFC 6298 §2.1: the RTO while nothing is measured, after a SYN was retransmitted. */
export const TCP_TIMEOUT_FALLBACK = 3 * HZ;
export const TCP_RESOURCE_PROBE_INTERVAL = HZ / 2;
export const TCP_KEEPALIVE_TIME = 120 * 60 * HZ;
export const TCP_KEEPALIVE_PROBES = 9;
export const TCP_KEEPALIVE_INTVL = 75 * HZ;
export const MAX_TCP_KEEPIDLE = 32767;
export const MAX_TCP_KEEPINTVL = 32767;
export const MAX_TCP_KEEPCNT = 127;
export const MAX_TCP_SYNCNT = 127;
export const TCP_PAWS_24DAYS = 60 * 60 * 24 * 24;
export const TCP_PAWS_MSL = 60;
export const TCP_PAWS_WINDOW = 1;
export const TCP_INIT_CWND = 10;
export const TCP_INFINITE_SSTHRESH = 0x7fffffff;
/** tcp_mtu_probe/tcp_sync_mss: bytes of IPv4 + TCP header without options. */
export const TCP_HDR_MIN = 20;

/** TCP option kinds and lengths. */
export const TCPOPT_NOP = 1;
export const TCPOPT_EOL = 0;
export const TCPOPT_MSS = 2;
export const TCPOPT_WINDOW = 3;
export const TCPOPT_SACK_PERM = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;
export const TCPOPT_MD5SIG = 19;
export const TCPOPT_FASTOPEN = 34;
export const TCPOPT_EXP = 254;
export const TCPOLEN_MSS = 4;
export const TCPOLEN_WINDOW = 3;
export const TCPOLEN_SACK_PERM = 2;
export const TCPOLEN_TIMESTAMP = 10;
export const TCPOLEN_TSTAMP_ALIGNED = 12;
export const TCPOLEN_WSCALE_ALIGNED = 4;
export const TCPOLEN_SACKPERM_ALIGNED = 4;
export const TCPOLEN_SACK_BASE = 2;
export const TCPOLEN_SACK_BASE_ALIGNED = 4;
export const TCPOLEN_SACK_PERBLOCK = 8;
export const TCP_NUM_SACKS = 4;

/** TCP_SKB_CB(skb)->sacked bits. */
export const TCPCB_SACKED_ACKED = 0x01;
export const TCPCB_SACKED_RETRANS = 0x02;
export const TCPCB_LOST = 0x04;
export const TCPCB_TAGBITS = 0x07;
export const TCPCB_REPAIRED = 0x10;
export const TCPCB_EVER_RETRANS = 0x80;
export const TCPCB_RETRANS = TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS | TCPCB_REPAIRED;

/** tp->nonagle bits. */
export const TCP_NAGLE_OFF = 1;
export const TCP_NAGLE_CORK = 2;
export const TCP_NAGLE_PUSH = 4;

/** icsk->icsk_pending: which retransmit-timer event is armed. */
export const ICSK_TIME_RETRANS = 1;
export const ICSK_TIME_DACK = 2;
export const ICSK_TIME_PROBE0 = 3;
export const ICSK_TIME_LOSS_PROBE = 5;
export const ICSK_TIME_REO_TIMEOUT = 6;

/** icsk->icsk_ack.pending bits. */
export const ICSK_ACK_SCHED = 1;
export const ICSK_ACK_TIMER = 2;
export const ICSK_ACK_PUSHED = 4;
export const ICSK_ACK_PUSHED2 = 8;
export const ICSK_ACK_NOW = 16;
export const ICSK_ACK_NOMEM = 32;

/** Flags tcp_ack() works out (FLAG_*). */
export const FLAG_DATA = 0x01;
export const FLAG_WIN_UPDATE = 0x02;
export const FLAG_DATA_ACKED = 0x04;
export const FLAG_RETRANS_DATA_ACKED = 0x08;
export const FLAG_SYN_ACKED = 0x10;
export const FLAG_DATA_SACKED = 0x20;
export const FLAG_ECE = 0x40;
export const FLAG_LOST_RETRANS = 0x80;
export const FLAG_SLOWPATH = 0x100;
export const FLAG_ORIG_SACK_ACKED = 0x200;
export const FLAG_SND_UNA_ADVANCED = 0x400;
export const FLAG_DSACKING_ACK = 0x800;
export const FLAG_SET_XMIT_TIMER = 0x1000;
export const FLAG_SACK_RENEGING = 0x2000;
export const FLAG_UPDATE_TS_RECENT = 0x4000;
export const FLAG_NO_CHALLENGE_ACK = 0x8000;
export const FLAG_ACK_MAYBE_DELAYED = 0x10000;
export const FLAG_DSACK_TLP = 0x20000;
export const FLAG_ACKED = FLAG_DATA_ACKED | FLAG_SYN_ACKED;
export const FLAG_NOT_DUP = FLAG_DATA | FLAG_WIN_UPDATE | FLAG_ACKED;
export const FLAG_CA_ALERT = FLAG_DATA_SACKED | FLAG_ECE | FLAG_DSACKING_ACK;
export const FLAG_FORWARD_PROGRESS = FLAG_ACKED | FLAG_DATA_SACKED;

/** What tcp_ack() asks tcp_xmit_recovery() to send (REXMIT_*). */
export const REXMIT_NONE = 0;
export const REXMIT_LOST = 1;
export const REXMIT_NEW = 2;

/** net.ipv4.tcp_recovery bits. */
export const TCP_RACK_LOSS_DETECTION = 0x1;
export const TCP_RACK_STATIC_REO_WND = 0x2;
export const TCP_RACK_NO_DUPTHRESH = 0x4;
/** Recoveries the widened RACK reordering window persists for. */
export const TCP_RACK_RECOVERY_THRESH = 16;
/** tp->rx_opt.sack_ok bit: a D-SACK was seen from the peer. */
export const TCP_SACK_SEEN = 1 << 0;
export const TCP_DSACK_SEEN = 1 << 2;

/** Linux's "before(seq1, seq2)": sequence comparison modulo 2^32. */
export function before(seq1: number, seq2: number): boolean {
  return ((seq1 - seq2) | 0) < 0;
}
export function after(seq1: number, seq2: number): boolean {
  return ((seq2 - seq1) | 0) < 0;
}
/** between(seq1, seq2, seq3): seq2 <= seq1 <= seq3. */
export function between(seq1: number, seq2: number, seq3: number): boolean {
  return (seq3 - seq2) >>> 0 >= (seq1 - seq2) >>> 0;
}
/** u32 addition. */
export function seq_add(a: number, b: number): number {
  return (a + b) >>> 0;
}
export function seq_sub(a: number, b: number): number {
  return (a - b) >>> 0;
}

// ——— clocks ———————————————————————————————————————————————————————————————————————

/** jiffies of the world clock (tcp_jiffies32). */
export function tcp_jiffies32(net: Net): number {
  return Math.floor(net.kernel.clock.now() / NSEC_PER_JIFFY);
}
/** tcp_clock_us(). */
export function tcp_clock_us(net: Net): number {
  // From 1 µs, like the ms clock below: 0 means "not sent" / "not measured" in TCP's stamps.
  return Math.floor(net.kernel.clock.now() / NSEC_PER_USEC) + 1;
}
/** tcp_clock_ms(): the timestamp clock (TCP_TS_HZ = 1000). */
export function tcp_clock_ms(net: Net): number {
  // Counted from 1 ms after the world starts, as a booted kernel's clock is never 0 when TCP
  // reads it: 0 keeps meaning "not set" (retrans_stamp, rto_stamp) as in the kernel.
  return Math.floor(net.kernel.clock.now() / NSEC_PER_MSEC) + 1;
}
/**
 * ktime_get_seconds(): whole seconds of the world clock, counted from 1 as a booted kernel's
 * monotonic clock is never 0 when TCP reads it (a timestamp stamp of 0 means "none").
 */
export function ktime_get_seconds(net: Net): number {
  return Math.floor(net.kernel.clock.now() / 1e9) + 1;
}
export function jiffies_to_usecs(j: number): number {
  return (j * 1_000_000) / HZ;
}
export function jiffies_to_msecs(j: number): number {
  return (j * 1000) / HZ;
}
export function usecs_to_jiffies(us: number): number {
  return Math.ceil((us * HZ) / 1_000_000);
}
export function msecs_to_jiffies(ms: number): number {
  return Math.ceil((ms * HZ) / 1000);
}

// ——— struct tcp_skb_cb —————————————————————————————————————————————————————————————

/**
 * struct tcp_skb_cb: TCP's per-packet state. The fields live on the skb itself (see SkBuff),
 * so TCP_SKB_CB(skb) is the skb seen through this type and costs no allocation.
 */
export interface TcpSkbCb {
  seq: number;
  end_seq: number;
  tcp_flags: number;
  sacked: number;
  ack_seq: number;
  /** skb_mstamp_ns: when it was last sent, in µs here (tcp_skb_timestamp_us). */
  tcp_tstamp: number;
  /** ip_dsfield: the DS field (TOS byte) of the IP header the segment came in (tcp_v4_fill_cb). */
  ip_dsfield: number;
  /** tcp_gso_segs / tcp_gso_size. */
  tcp_gso_segs: number;
  tcp_gso_size: number;
  /** TCP_SKB_CB(skb)->eor. */
  eor: number;
  /** The ISN a SYN reopening a TIME_WAIT connection must use (tcp_tw_isn). */
  tw_isn: number;
  /** tx.delivered: tp->delivered when the segment was (re)sent (tcp_rate_skb_sent). */
  tx_delivered: number;
  /**
   * The socket's transmission count when the segment was last sent: orders sends that share a
   * µs of the virtual clock (Linux's ns clock rarely gives two sends one stamp).
   */
  tx_order: number;
  /**
   * 1 when the segment ends an skb of Linux's rtx queue. usernet queues one skb per segment
   * (GSO is done by TCP); Linux keeps each TSO burst as one skb until SACKs or a partial
   * retransmission split it, and retransmits it as one burst — which gets the PSH flag
   * __tcp_transmit_skb() forces on multi-segment packets. Set on the last segment of every burst
   * sent or retransmitted.
   */
  tso_end: number;
  /** tcp_tsorted_anchor: the links of tp->tsorted_sent_queue (null: not on it). */
  tsorted_next: TsortedAnchor | null;
  tsorted_prev: TsortedAnchor | null;
}

/**
 * A link of tp->tsorted_sent_queue: the sent, not yet (s)acknowledged segments in the order they
 * were last (re)sent, which RACK walks. The list head is a sentinel; the skbs are the nodes.
 */
export interface TsortedAnchor {
  tsorted_next: TsortedAnchor | null;
  tsorted_prev: TsortedAnchor | null;
}
export class TsortedHead implements TsortedAnchor {
  tsorted_next: TsortedAnchor = this;
  tsorted_prev: TsortedAnchor = this;
}
/** INIT_LIST_HEAD(). */
export function tsorted_init(head: TsortedHead): void {
  head.tsorted_next = head.tsorted_prev = head;
}
/** list_del_init(&skb->tcp_tsorted_anchor). */
export function tcp_tsorted_del(skb: SkBuff): void {
  const cb = TCP_SKB_CB(skb);
  const n = cb.tsorted_next;
  const p = cb.tsorted_prev;
  if (!n || !p) return;
  p.tsorted_next = n;
  n.tsorted_prev = p;
  cb.tsorted_next = cb.tsorted_prev = null;
}
/** list_move_tail(&skb->tcp_tsorted_anchor, &tp->tsorted_sent_queue). */
export function tcp_tsorted_move_tail(head: TsortedHead, skb: SkBuff): void {
  tcp_tsorted_del(skb);
  const cb = TCP_SKB_CB(skb);
  const last = head.tsorted_prev;
  cb.tsorted_prev = last;
  cb.tsorted_next = head;
  last.tsorted_next = cb;
  head.tsorted_prev = cb;
}
/** list_add(&buff->tcp_tsorted_anchor, &skb->tcp_tsorted_anchor): `buff` right after `skb`. */
export function tcp_tsorted_add_after(skb: SkBuff, buff: SkBuff): void {
  const cb = TCP_SKB_CB(skb);
  const nb = TCP_SKB_CB(buff);
  const n = cb.tsorted_next;
  if (!n) return;
  nb.tsorted_prev = cb;
  nb.tsorted_next = n;
  n.tsorted_prev = nb;
  cb.tsorted_next = nb;
}

/** struct tcp_rack: RACK's state (RFC 8985). */
export class TcpRack {
  /** When the most recently (re)sent segment that was (s)acknowledged was sent (µs). */
  mstamp = 0;
  /** The RTT of that segment (µs). */
  rtt_us = 0;
  /** Its end_seq and transmission order (tx_order), to order segments sent in the same µs. */
  end_seq = 0;
  tx_order = 0;
  /** tp->delivered at the last reo_wnd change. */
  last_delivered = 0;
  /** The reordering window in quarters of min_rtt. */
  reo_wnd_steps = 1;
  /** Recoveries the widened window still lasts. */
  reo_wnd_persist = 0;
  /** A D-SACK was seen since the last adjustment. */
  dsack_seen = 0;
  /** mstamp moved: loss detection has something new to look at. */
  advanced = 0;
}
export function TCP_SKB_CB(skb: SkBuff): TcpSkbCb {
  return skb as unknown as TcpSkbCb;
}

// ——— struct tcp_options_received ——————————————————————————————————————————————————

export class TcpOptionsReceived {
  /** When ts_recent was recorded (seconds, ktime_get_seconds). */
  ts_recent_stamp = 0;
  ts_recent = 0;
  rcv_tsval = 0;
  rcv_tsecr = 0;
  saw_tstamp = 0;
  tstamp_ok = 0;
  dsack = 0;
  wscale_ok = 0;
  sack_ok = 0;
  smc_ok = 0;
  snd_wscale = 0;
  rcv_wscale = 0;
  saw_unknown = 0;
  num_sacks = 0;
  /** TCP_MAXSEG. */
  user_mss = 0;
  /** The largest MSS the peer accepts (its MSS option, or user_mss). */
  mss_clamp = 0;

  /** SACK blocks of the segment being processed (received, not ours). */
  rcv_num_sacks = 0;

  /** tcp_clear_options(). */
  clear(): void {
    this.tstamp_ok = this.sack_ok = 0;
    this.wscale_ok = this.snd_wscale = 0;
    this.saw_unknown = 0;
  }
  /** What a SYN-ACK that is rejected must not leave behind. */
  clear_syn_options(): void {
    this.clear();
    this.saw_tstamp = 0;
  }
}

/** struct tcp_sack_block. */
export interface TcpSackBlock {
  start_seq: number;
  end_seq: number;
}

// ——— struct request_sock ————————————————————————————————————————————————————————

/** struct request_sock + inet_request_sock + tcp_request_sock: a connection in SYN_RECV. */
export class RequestSock {
  /** The listener it belongs to (rsk_listener). */
  rsk_listener: TcpSock;
  ir_loc_addr = 0;
  ir_rmt_addr = 0;
  ir_num = 0;
  ir_rmt_port = 0;
  ir_iif = 0;
  mss = 0;
  num_retrans = 0;
  num_timeout = 0;
  /** The SYN-ACK timer (rsk_timer). */
  rsk_timer: Timer;
  /** The accepted child, once complete (req->sk). */
  sk: TcpSock | null = null;
  snd_wscale = 0;
  rcv_wscale = 0;
  tstamp_ok = 0;
  sack_ok = 0;
  wscale_ok = 0;
  ecn_ok = 0;
  acked = 0;
  syncookie = 0;
  rcv_isn = 0;
  snt_isn = 0;
  ts_off = 0;
  /** The peer's timestamp to echo (req->ts_recent). */
  ts_recent = 0;
  /** When the SYN-ACK was first sent (snt_synack, µs). */
  snt_synack = 0;
  rsk_window_clamp = 0;
  rsk_rcv_wnd = 0;
  /** The time of the last SYN-ACK (for the TCP_DEFER_ACCEPT and timeout bookkeeping). */
  expires = 0;
  /** The timestamp value a SYN cookie encoded options into (syncookie && tstamp_ok). */
  cookie_ts = 0;
  /** Rate limit of ACKs to out-of-window segments (jiffies). */
  last_oow_ack_time = 0;
  /** Still hashed in the ehash (not yet removed). */
  hashed = false;
  /** Linked in the accept queue. */
  dl_next: RequestSock | null = null;
  /** struct sock_common state: always TCP_NEW_SYN_RECV. */
  readonly sk_state = TCP_NEW_SYN_RECV;
  constructor(listener: TcpSock, fn: (t: Timer) => void) {
    this.rsk_listener = listener;
    this.rsk_timer = new Timer(fn);
  }
}

/** TCP_NEW_SYN_RECV: the state of a request sock in the ehash. */
export const TCP_NEW_SYN_RECV = 12;

/** struct request_sock_queue: the accept queue of a listener (and the SYN queue's count). */
export class RequestSockQueue {
  rskq_accept_head: RequestSock | null = null;
  rskq_accept_tail: RequestSock | null = null;
  /** SYN_RECV requests (qlen) and those that were young (never retransmitted). */
  qlen = 0;
  young = 0;
  rskq_defer_accept = 0;
}

// ——— struct inet_connection_sock + struct tcp_sock ————————————————————————————————

/** icsk->icsk_ack. */
export class IcskAck {
  pending = 0;
  quick = 0;
  pingpong = 0;
  retry = 0;
  /** Predicted tick of soft clock (jiffies). */
  ato = 0;
  /** When the delayed ACK fires (jiffies). */
  timeout = 0;
  /** When we last received data (jiffies). */
  lrcvtime = 0;
  last_seg_size = 0;
  rcv_mss = 0;
}

/** The congestion control interface (struct tcp_congestion_ops). */
export interface TcpCongestionOps {
  readonly name: string;
  init?(sk: TcpSock): void;
  release?(sk: TcpSock): void;
  ssthresh(sk: TcpSock): number;
  cong_avoid(sk: TcpSock, ack: number, acked: number): void;
  set_state?(sk: TcpSock, new_state: number): void;
  cwnd_event?(sk: TcpSock, ev: number): void;
  undo_cwnd(sk: TcpSock): number;
  pkts_acked?(sk: TcpSock, acked: number, rtt_us: number): void;
}

/** struct tcp_sock (with inet_connection_sock and inet_sock underneath). */
export class TcpSock extends InetSock {
  // inet_connection_sock
  icsk_accept_queue = new RequestSockQueue();
  /** The bind bucket the sock's port is in (icsk_bind_hash). */
  icsk_bind_hash: unknown = null;
  icsk_timeout = 0;
  icsk_retransmit_timer: Timer;
  icsk_delack_timer: Timer;
  /** sk_timer: keepalive, FIN_WAIT2 and (on a listener) the SYN queue. */
  sk_timer: Timer;
  icsk_rto = TCP_TIMEOUT_INIT;
  icsk_rto_min = TCP_RTO_MIN;
  icsk_delack_max = TCP_DELACK_MAX;
  icsk_pmtu_cookie = 0;
  icsk_ca_ops!: TcpCongestionOps;
  icsk_ca_state = 0;
  icsk_ca_initialized = 0;
  icsk_retransmits = 0;
  icsk_pending = 0;
  icsk_backoff = 0;
  icsk_syn_retries = 0;
  icsk_probes_out = 0;
  icsk_ext_hdr_len = 0;
  icsk_ack = new IcskAck();
  icsk_user_timeout = 0;
  /** When zero-window probing started (jiffies, icsk_probes_tstamp). */
  icsk_probes_tstamp = 0;
  /** The congestion control's per-connection state (icsk_ca_priv); null until it makes one. */
  icsk_ca_priv: unknown = null;

  // tcp_sock
  tcp_header_len = 0;
  pred_flags = 0;
  rcv_nxt = 0;
  copied_seq = 0;
  rcv_wup = 0;
  snd_nxt = 0;
  segs_in = 0;
  data_segs_in = 0;
  segs_out = 0;
  data_segs_out = 0;
  bytes_received = 0;
  bytes_acked = 0;
  bytes_sent = 0;
  bytes_retrans = 0;
  dsack_dups = 0;
  snd_una = 0;
  snd_sml = 0;
  /** When the last ACK arrived (jiffies). */
  rcv_tstamp = 0;
  /** When the last data was sent (jiffies). */
  lsndtime = 0;
  snd_wl1 = 0;
  snd_wnd = 0;
  max_window = 0;
  mss_cache = 0;
  window_clamp = 0;
  rcv_ssthresh = 0;
  rx_opt = new TcpOptionsReceived();
  advmss = 0;
  rcv_wnd = 0;
  write_seq = 0;
  notsent_lowat = 0;
  pushed_seq = 0;
  nonagle = 0;
  /** TCP_THIN_LINEAR_TIMEOUTS, TCP_REPAIR: kept as set. */
  thin_lto = 0;
  repair = 0;
  frto = 0;
  snd_cwnd = TCP_INIT_CWND;
  snd_cwnd_cnt = 0;
  snd_cwnd_clamp = 0xffffffff;
  snd_cwnd_used = 0;
  snd_cwnd_stamp = 0;
  snd_ssthresh = TCP_INFINITE_SSTHRESH;
  prior_ssthresh = 0;
  prior_cwnd = 0;
  packets_out = 0;
  retrans_out = 0;
  sacked_out = 0;
  lost_out = 0;
  max_packets_out = 0;
  is_cwnd_limited = 0;
  high_seq = 0;
  /** When the first retransmission of the oldest unacked segment went out (ms clock), 0 = none. */
  retrans_stamp = 0;
  undo_marker = 0;
  undo_retrans = 0;
  total_retrans = 0;
  /** RTO-triggered retransmissions (tcpi_total_rto). */
  total_rto = 0;
  total_rto_recoveries = 0;
  total_rto_time = 0;
  rto_stamp = 0;
  reordering = 3;
  reord_seen = 0;
  /** Segments ever marked lost (tp->lost). */
  lost = 0;
  /**
   * tcp_highest_sack_seq(): the start of the segment after the highest SACKed one, and that
   * segment (tp->highest_sack) as a hint: it is used only while it is still on the retransmit
   * queue at that sequence number, so nothing has to clear it when segments are freed.
   */
  highest_sack_seq = 0;
  highest_sack: SkBuff | null = null;
  /** The SACK blocks of the previous ACK (start, end pairs), to skip what they covered. */
  recv_sack_cache: Uint32Array | null = null;
  /** The receiver dropped data it had SACKed; set until that loss is repaired. */
  is_sack_reneg = 0;
  /** RACK's state, made when a segment is first (s)acknowledged on a SACK connection. */
  rack: TcpRack | null = null;
  /** Transmissions of data so far (each skb's tx_order). */
  tx_order_next = 0;
  /** Sent, not (s)acknowledged segments in the order of their last transmission (made with the first). */
  tsorted_sent_queue: TsortedHead | null = null;
  urg_data = 0;
  urg_seq = 0;
  snd_up = 0;
  /** srtt << 3 and mdev << 2 in µs, as tcp_rtt_estimator keeps them. */
  srtt_us = 0;
  mdev_us = 0;
  mdev_max_us = 0;
  rttvar_us = 0;
  rtt_seq = 0;
  min_rtt_us = 0xffffffff;
  keepalive_time = 0;
  keepalive_intvl = 0;
  keepalive_probes = 0;
  linger2 = 0;
  tsoffset = 0;
  /** The time in µs of the packet being processed (tcp_mstamp). */
  tcp_mstamp = 0;
  recvmsg_inq = 0;
  rcv_rtt_est_rtt_us = 0;
  rcv_rtt_est_seq = 0;
  rcv_rtt_est_time = 0;
  rcv_rtt_last_tsecr = 0;
  rcvq_space_space = 0;
  rcvq_space_seq = 0;
  rcvq_space_time = 0;
  delivered = 0;
  delivered_ce = 0;
  /** tp->ecn_flags: TCP_ECN_* (tcp_ecn.ts). */
  ecn_flags = 0;
  app_limited = 0;
  rcv_ooopack = 0;
  /** last_oow_ack_time: rate limit of out-of-window duplicate ACKs (jiffies). */
  last_oow_ack_time = 0;
  /** The out-of-order queue, in sequence order. */
  out_of_order_queue = new SkBuffHead();
  /** The retransmit queue: sent, not yet acknowledged (tcp_rtx_queue). */
  tcp_rtx_queue = new SkBuffHead();
  /** SACK blocks we send (selective_acks) and the D-SACK block (duplicate_sack). */
  selective_acks: TcpSackBlock[] = [];
  duplicate_sack: TcpSackBlock = { start_seq: 0, end_seq: 0 };
  /** Our SYN's ISN (for tcp_info/diagnostics) and the peer's. */
  snt_isn = 0;
  rcv_isn = 0;
  /** TCP_DEFER_ACCEPT on the child: the request's defer count. */
  defer_accept = 0;
  /** TCP_INQ. */
  recvmsg_inq_on = 0;
  /** sk_tsq_flags: TCP Small Queues (TSQF_THROTTLED, TSQF_QUEUED). */
  tsq_flags = 0;
  /** A FIN has been queued (sent or not). */
  fin_queued = false;
  /** The listener a child came from, until accept() takes it. */
  parent: TcpSock | null = null;
  /** The request sock that made this child (for the accept queue). */
  req: RequestSock | null = null;
  /** tp->scaling_ratio: the share of the receive buffer that becomes window (of 256). */
  scaling_ratio = 128;
  /** TCP_SAVE_SYN, TCP_TX_DELAY: kept as set. */
  save_syn = 0;
  tcp_tx_delay = 0;
  /** A blocking connect() of this socket is asleep (it answers EINPROGRESS if its time runs out). */
  connect_waiting = false;
  /** tcp_cwnd_validate(): the end of the window whose usage is being tracked. */
  cwnd_usage_seq = 0;
  /** TLP: snd_nxt when the loss probe went out (0: none outstanding), and whether it was a retransmission. */
  tlp_high_seq = 0;
  tlp_retrans = 0;
  /** Proportional rate reduction counters. */
  prr_out = 0;
  prr_delivered = 0;
  /** Requests in the SYN queue of a listener (they are also in the ehash). */
  pending_reqs: Set<RequestSock> | null = null;
  /** ACKs freed send-buffer space (SOCK_QUEUE_SHRUNK). */
  queue_shrunk = false;
  /** In the established hash (sk_hashed). */
  ehashed = false;
  /** In the listening hash. */
  lhashed = false;
  /** chrono: when data became limited by the window/buffer (busy time bookkeeping). */
  chrono_start = 0;
  chrono_type = 0;
  /** tp->chrono_stat[]: time busy, limited by the receive window, limited by the send buffer (µs). */
  chrono_stat0 = 0;
  chrono_stat1 = 0;
  chrono_stat2 = 0;
  /**
   * tcp_wstamp_ns: the earliest departure time of the next packet (ns, world clock) — the EDT
   * that each skb carries down to the qdisc and that pacing moves ahead by len / rate.
   */
  tcp_wstamp_ns = 0;
  /** Credit (ns) the first segments of a TSO burst leave for its last one (see tcp_transmit_skb). */
  tcp_wstamp_credit = 0;
  /** The TSQ handler raised by tcp_wfree() and its fallback timer; the pacing hrtimer. */
  tsq_action: (() => void) | null = null;
  tsq_timer: Timer | null = null;
  pacing_timer: Timer | null = null;

  /** The timers' callbacks are shared by every sock of the protocol; each timer names its sock. */
  constructor(net: Net, retransmit: TimerFn, delack: TimerFn, keepalive: TimerFn) {
    super(net);
    this.icsk_retransmit_timer = new Timer(retransmit, this);
    this.icsk_delack_timer = new Timer(delack, this);
    this.sk_timer = new Timer(keepalive, this);
  }
}

export function tcp_sk(sk: Sock): TcpSock {
  return sk as TcpSock;
}
export const inet_csk = tcp_sk;

/** tcp_urg_mode(): urgent data is being sent. */
export function tcp_urg_mode(tp: TcpSock): boolean {
  return tp.snd_una !== tp.snd_up;
}

/** tcp_snd_cwnd(). */
export function tcp_snd_cwnd(tp: TcpSock): number {
  return tp.snd_cwnd;
}
/** tcp_packets_in_flight(): left_out = sacked + lost; in flight = out - left_out + retrans. */
export function tcp_packets_in_flight(tp: TcpSock): number {
  return tp.packets_out - (tp.sacked_out + tp.lost_out) + tp.retrans_out;
}
/** tp->rack, made on first use (an idle socket does without). */
export function tcp_rack(tp: TcpSock): TcpRack {
  return tp.rack ?? (tp.rack = new TcpRack());
}

/** tcp_is_sack() / tcp_is_reno(). */
export function tcp_is_sack(tp: TcpSock): boolean {
  return tp.rx_opt.sack_ok !== 0;
}
export function tcp_is_reno(tp: TcpSock): boolean {
  return tp.rx_opt.sack_ok === 0;
}
/** tcp_min_rtt(). */
export function tcp_min_rtt(tp: TcpSock): number {
  return tp.min_rtt_us;
}
/** tcp_skb_timestamp_us(). */
export function tcp_skb_timestamp_us(skb: SkBuff): number {
  return TCP_SKB_CB(skb).tcp_tstamp;
}
/**
 * tcp_skb_sent_after(): t1 was sent after t2. Linux breaks a tie of stamps by sequence number
 * (segments of one TSO burst); here the transmission order breaks it, since the virtual clock
 * gives one stamp to everything sent in the same µs, retransmissions included.
 */
export function tcp_skb_sent_after(t1: number, t2: number, order1: number, order2: number): boolean {
  return t1 > t2 || (t1 === t2 && order1 > order2);
}
/** tcp_in_slow_start(). */
export function tcp_in_slow_start(tp: TcpSock): boolean {
  return tp.snd_cwnd < tp.snd_ssthresh;
}
/** tcp_left_out(). */
export function tcp_left_out(tp: TcpSock): number {
  return tp.sacked_out + tp.lost_out;
}
/** tcp_receive_window(): what is left of the window we advertised. */
export function tcp_receive_window(tp: TcpSock): number {
  const win = (tp.rcv_wup + tp.rcv_wnd - tp.rcv_nxt) | 0;
  return win < 0 ? 0 : win;
}
/** tcp_wnd_end(). */
export function tcp_wnd_end(tp: TcpSock): number {
  return (tp.snd_una + tp.snd_wnd) >>> 0;
}
/** tcp_write_queue_empty(): nothing unsent. */
export function tcp_send_head(sk: TcpSock): SkBuff | null {
  return sk.sk_write_queue.peek();
}
/** tcp_rtx_and_write_queues_empty(). */
export function tcp_rtx_and_write_queues_empty(sk: TcpSock): boolean {
  return sk.tcp_rtx_queue.empty() && sk.sk_write_queue.empty();
}
/** tcp_rtx_queue_head(). */
export function tcp_rtx_queue_head(sk: TcpSock): SkBuff | null {
  return sk.tcp_rtx_queue.peek();
}
/** tcp_skb_pcount(): segments in an skb (no GSO here beyond one segment per skb). */
export function tcp_skb_pcount(skb: SkBuff): number {
  return TCP_SKB_CB(skb).tcp_gso_segs || 1;
}
/** keepalive_time_when() etc. (jiffies). */
export function keepalive_time_when(tp: TcpSock): number {
  return tp.keepalive_time || tp.sk_net.ipv4!.sysctl_tcp_keepalive_time * HZ;
}
export function keepalive_intvl_when(tp: TcpSock): number {
  return tp.keepalive_intvl || tp.sk_net.ipv4!.sysctl_tcp_keepalive_intvl * HZ;
}
export function keepalive_probes(tp: TcpSock): number {
  return tp.keepalive_probes || tp.sk_net.ipv4!.sysctl_tcp_keepalive_probes;
}
/** tcp_fin_time(): FIN_WAIT2 lifetime (jiffies), at least 3.5 RTO. */
export function tcp_fin_time(sk: TcpSock): number {
  let fin_timeout = sk.linger2 ? sk.linger2 : sk.sk_net.ipv4!.sysctl_tcp_fin_timeout;
  const rto = sk.icsk_rto;
  if (fin_timeout < (rto << 2) - (rto >> 1)) fin_timeout = (rto << 2) - (rto >> 1);
  return fin_timeout;
}
/** tcp_space()/tcp_full_space(): receive buffer space usable for the window. */
export function tcp_win_from_space(sk: TcpSock, space: number): number {
  // Linux 6.x: the share tp->scaling_ratio (TCP_DEFAULT_SCALING_RATIO = 128 of 256) of the space.
  return Math.floor((space * sk.scaling_ratio) / 256);
}
export function tcp_space(sk: TcpSock): number {
  return tcp_win_from_space(sk, sk.sk_rcvbuf - sk.sk_rmem_alloc);
}
export function tcp_full_space(sk: TcpSock): number {
  return tcp_win_from_space(sk, sk.sk_rcvbuf);
}

/** Jiffies to a world-clock deadline from now. */
export function jiffies_deadline(net: Net, j: number): number {
  return net.kernel.clock.now() + j * NSEC_PER_JIFFY;
}
