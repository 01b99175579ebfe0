// Sending TCP segments (net/ipv4/tcp_output.c): options in Linux's order, the header,
// window selection, the MSS, the SYN and SYN-ACK, ACKs (immediate and delayed), FIN and RST,
// tcp_write_xmit with Nagle, the congestion and receive-window tests, retransmission and the
// zero-window probe.

import {
  SkBuff,
  alloc_skb,
  alloc_skb_with_frags,
  alloc_skb_nozero,
  skb_clone,
  skb_copy,
  CHECKSUM_PARTIAL,
  skb_truesize_for,
} from '../core/skbuff.js';
import { TCP_CLOSE, TCP_CLOSE_WAIT, TCP_ESTABLISHED } from '../core/sock.js';
import { POW2 } from '../../kernel/bitops.js';
import { NET_XMIT_CN } from '../core/netdevice.js';
import { Flowi4, ip_select_ttl, inet_route_output, dst_mtu } from './inet_dgram.js';
import type { Rtable } from './route.js';
import { ip_queue_xmit, ip_build_header, ip_local_out } from './ip_output.js';
import { csum_partial, csum_tcpudp_magic } from '../../wire/checksum.js';
import { IFF_LOOPBACK } from '../../uapi/if.js';
import { IPPROTO_TCP, IP_PMTUDISC_DO, IP_PMTUDISC_PROBE, IP_PMTUDISC_WANT } from '../../uapi/in.js';
import * as E from '../../uapi/errno.js';
import { HZ, NSEC_PER_JIFFY, NSEC_PER_USEC } from '../../kernel/time.js';
import {
  tcp_pacing_check,
  tcp_skb_set_owner_w,
  tcp_small_queue_check,
  tcp_update_skb_after_send,
  tcp_wstamp_refresh,
} from './tcp_pacing.js';
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
  TCP_CA_CWR,
  TCP_CA_Recovery,
  TCP_CA_Loss,
} from '../../uapi/tcp.js';
import {
  TcpSock,
  RequestSock,
  TCP_SKB_CB,
  MAX_TCP_HEADER,
  MAX_TCP_OPTION_SPACE,
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
  TCPOLEN_TSTAMP_ALIGNED,
  TCPOLEN_WSCALE_ALIGNED,
  TCPOLEN_SACKPERM_ALIGNED,
  TCPOLEN_SACK_BASE,
  TCPOLEN_SACK_BASE_ALIGNED,
  TCPOLEN_SACK_PERBLOCK,
  TCP_MAX_WSCALE,
  TCP_NAGLE_OFF,
  TCP_NAGLE_CORK,
  TCP_NAGLE_PUSH,
  TCP_MSS_DEFAULT,
  TCP_HDR_MIN,
  TCP_TIMEOUT_INIT,
  TCP_RTO_MAX,
  TCP_DELACK_MAX,
  TCP_ATO_MIN,
  TCP_DELACK_MIN,
  usecs_to_jiffies,
  TCP_RESOURCE_PROBE_INTERVAL,
  ICSK_TIME_RETRANS,
  ICSK_ACK_NOMEM,
  ICSK_TIME_PROBE0,
  ICSK_TIME_LOSS_PROBE,
  ICSK_ACK_SCHED,
  ICSK_ACK_TIMER,
  ICSK_ACK_PUSHED,
  TCPCB_SACKED_RETRANS,
  TCPCB_EVER_RETRANS,
  TCPCB_LOST,
  TCPCB_SACKED_ACKED,
  ICSK_TIME_REO_TIMEOUT,
  tcp_tsorted_move_tail,
  TsortedHead,
  tcp_tsorted_add_after,
  MAX_TCP_WINDOW,
  after,
  before,
  tcp_clock_ms,
  tcp_clock_us,
  tcp_jiffies32,
  tcp_packets_in_flight,
  tcp_urg_mode,
  tcp_wnd_end,
  tcp_send_head,
  tcp_rtx_queue_head,
  tcp_receive_window,
  tcp_space,
  tcp_full_space,
  tcp_skb_pcount,
  TCP_TIMEOUT_MIN_US,
} from './tcp_sock.js';
import { inet_csk_reset_xmit_timer, inet_csk_clear_xmit_timer } from './inet_connection_sock.js';
import { tcp_ca_event } from './tcp_cong.js';
import { CA_EVENT_TX_START, CA_EVENT_CWND_RESTART } from './tcp_cubic.js';
import {
  TCP_INC_STATS,
  NET_INC_STATS,
  NET_ADD_STATS,
  linux_mib_index,
  TCP_MIB_OUTSEGS,
  TCP_MIB_RETRANSSEGS,
  TCP_MIB_OUTRSTS,
  TCP_MIB_ACTIVEOPENS,
} from './snmp.js';
import { tcp_rearm_rto, tcp_init_wl } from './tcp_input.js';
import { tcp_enter_cwr } from './tcp_recovery.js';
import {
  tcp_ecn_send,
  tcp_ecn_send_syn,
  tcp_ecn_clear_syn,
  tcp_ecn_make_synack,
  tcp_ecn_send_synack,
} from './tcp_ecn.js';
import { tcp_retrans_try_collapse, tcp_adjust_pcount } from './tcp_retrans_collapse.js';

const MIB_TCPWANTZEROWINDOWADV = linux_mib_index('TCPWantZeroWindowAdv');
const MIB_TCPTOZEROWINDOWADV = linux_mib_index('TCPToZeroWindowAdv');
const MIB_TCPFROMZEROWINDOWADV = linux_mib_index('TCPFromZeroWindowAdv');
const MIB_TCPORIGDATASENT = linux_mib_index('TCPOrigDataSent');
const MIB_TCPLOSSPROBES = linux_mib_index('TCPLossProbes');
const MIB_TCPSYNRETRANS = linux_mib_index('TCPSynRetrans');
const MIB_TCPWINPROBE = linux_mib_index('TCPWinProbe');
const MIB_TCPRETRANSFAIL = linux_mib_index('TCPRetransFail');
const MIB_TCPKEEPALIVE = linux_mib_index('TCPKeepAlive');
const MIB_TCPFASTRETRANS = linux_mib_index('TCPFastRetrans');
const MIB_TCPSLOWSTARTRETRANS = linux_mib_index('TCPSlowStartRetrans');

// ——— options ——————————————————————————————————————————————————————————————————————

const OPTION_SACK_ADVERTISE = 1 << 0;
const OPTION_TS = 1 << 1;
const OPTION_WSCALE = 1 << 3;

/** struct tcp_out_options. One per call path, reused (no allocation per segment). */
class TcpOutOptions {
  options = 0;
  ws = 0;
  num_sack_blocks = 0;
  mss = 0;
  tsval = 0;
  tsecr = 0;
  reset(): this {
    this.options = this.ws = this.num_sack_blocks = this.mss = this.tsval = this.tsecr = 0;
    return this;
  }
}
const opts_scratch = new TcpOutOptions();

/** tcp_options_write(): the options in Linux's order and padding. */
function tcp_options_write(h: Uint8Array, o: number, tp: TcpSock | null, opts: TcpOutOptions): void {
  const options = opts.options;
  if (opts.mss) {
    h[o++] = TCPOPT_MSS;
    h[o++] = TCPOLEN_MSS;
    h[o++] = opts.mss >>> 8;
    h[o++] = opts.mss & 0xff;
  }
  if (options & OPTION_TS) {
    if (options & OPTION_SACK_ADVERTISE) {
      h[o++] = TCPOPT_SACK_PERM;
      h[o++] = TCPOLEN_SACK_PERM;
    } else {
      h[o++] = TCPOPT_NOP;
      h[o++] = TCPOPT_NOP;
    }
    h[o++] = TCPOPT_TIMESTAMP;
    h[o++] = TCPOLEN_TIMESTAMP;
    put32(h, o, opts.tsval);
    put32(h, o + 4, opts.tsecr);
    o += 8;
  } else if (options & OPTION_SACK_ADVERTISE) {
    h[o++] = TCPOPT_NOP;
    h[o++] = TCPOPT_NOP;
    h[o++] = TCPOPT_SACK_PERM;
    h[o++] = TCPOLEN_SACK_PERM;
  }
  if (options & OPTION_WSCALE) {
    h[o++] = TCPOPT_NOP;
    h[o++] = TCPOPT_WINDOW;
    h[o++] = TCPOLEN_WINDOW;
    h[o++] = opts.ws;
  }
  if (opts.num_sack_blocks && tp) {
    h[o++] = TCPOPT_NOP;
    h[o++] = TCPOPT_NOP;
    h[o++] = TCPOPT_SACK;
    h[o++] = TCPOLEN_SACK_BASE + opts.num_sack_blocks * TCPOLEN_SACK_PERBLOCK;
    let n = opts.num_sack_blocks;
    if (tp.rx_opt.dsack) {
      put32(h, o, tp.duplicate_sack.start_seq);
      put32(h, o + 4, tp.duplicate_sack.end_seq);
      o += 8;
      n--;
    }
    for (let i = 0; i < n; i++) {
      put32(h, o, tp.selective_acks[i].start_seq);
      put32(h, o + 4, tp.selective_acks[i].end_seq);
      o += 8;
    }
    tp.rx_opt.dsack = 0;
  }
}

function put32(h: Uint8Array, o: number, v: number): void {
  h[o] = v >>> 24;
  h[o + 1] = (v >>> 16) & 0xff;
  h[o + 2] = (v >>> 8) & 0xff;
  h[o + 3] = v & 0xff;
}

/** tcp_skb_timestamp_ts(): the TS value of the clock now for this sock. */
export function tcp_time_stamp_ts(tp: TcpSock): number {
  return (tcp_clock_ms(tp.sk_net) + tp.tsoffset) >>> 0;
}

/** tcp_syn_options(): MSS, TS, SACK-permitted and window scale of our SYN. */
function tcp_syn_options(sk: TcpSock, opts: TcpOutOptions): number {
  const net = sk.sk_net.ipv4!;
  let remaining = MAX_TCP_OPTION_SPACE;
  opts.mss = tcp_advertise_mss(sk);
  remaining -= TCPOLEN_MSS;
  if (net.sysctl_tcp_timestamps && !sk.repair) {
    opts.options |= OPTION_TS;
    opts.tsval = tcp_time_stamp_ts(sk);
    opts.tsecr = sk.rx_opt.ts_recent;
    remaining -= TCPOLEN_TSTAMP_ALIGNED;
  }
  if (net.sysctl_tcp_window_scaling) {
    opts.ws = sk.rx_opt.rcv_wscale;
    opts.options |= OPTION_WSCALE;
    remaining -= TCPOLEN_WSCALE_ALIGNED;
  }
  if (net.sysctl_tcp_sack) {
    opts.options |= OPTION_SACK_ADVERTISE;
    if (!(opts.options & OPTION_TS)) remaining -= TCPOLEN_SACKPERM_ALIGNED;
  }
  return MAX_TCP_OPTION_SPACE - remaining;
}

/** tcp_synack_options(). */
function tcp_synack_options(req: RequestSock, mss: number, tsval: number, opts: TcpOutOptions): number {
  let remaining = MAX_TCP_OPTION_SPACE;
  opts.mss = mss;
  remaining -= TCPOLEN_MSS;
  if (req.wscale_ok) {
    opts.ws = req.rcv_wscale;
    opts.options |= OPTION_WSCALE;
    remaining -= TCPOLEN_WSCALE_ALIGNED;
  }
  if (req.tstamp_ok) {
    opts.options |= OPTION_TS;
    opts.tsval = tsval;
    opts.tsecr = req.ts_recent;
    remaining -= TCPOLEN_TSTAMP_ALIGNED;
  }
  if (req.sack_ok) {
    opts.options |= OPTION_SACK_ADVERTISE;
    if (!req.tstamp_ok) remaining -= TCPOLEN_SACKPERM_ALIGNED;
  }
  return MAX_TCP_OPTION_SPACE - remaining;
}

/** tcp_established_options(): timestamps and SACK blocks. */
function tcp_established_options(tp: TcpSock, opts: TcpOutOptions): number {
  let size = 0;
  if (tp.rx_opt.tstamp_ok) {
    opts.options |= OPTION_TS;
    opts.tsval = tcp_time_stamp_ts(tp);
    opts.tsecr = tp.rx_opt.ts_recent;
    size += TCPOLEN_TSTAMP_ALIGNED;
  }
  const eff_sacks = tp.rx_opt.num_sacks + tp.rx_opt.dsack;
  if (eff_sacks) {
    const remaining = MAX_TCP_OPTION_SPACE - size;
    opts.num_sack_blocks = Math.min(
      eff_sacks,
      Math.floor((remaining - TCPOLEN_SACK_BASE_ALIGNED) / TCPOLEN_SACK_PERBLOCK),
    );
    size += TCPOLEN_SACK_BASE_ALIGNED + opts.num_sack_blocks * TCPOLEN_SACK_PERBLOCK;
  }
  return size;
}

// ——— MSS ————————————————————————————————————————————————————————————————————————————

/** __tcp_mtu_to_mss(): the MSS of a path MTU without options. */
function __tcp_mtu_to_mss(sk: TcpSock, pmtu: number): number {
  let mss_now = pmtu - 20 - TCP_HDR_MIN;
  if (mss_now > sk.rx_opt.mss_clamp) mss_now = sk.rx_opt.mss_clamp;
  mss_now -= sk.icsk_ext_hdr_len;
  const min = sk.sk_net.ipv4!.sysctl_tcp_min_snd_mss;
  if (mss_now < min) mss_now = min;
  return mss_now;
}

/** tcp_mtu_to_mss(): minus the fixed options (the timestamp). */
export function tcp_mtu_to_mss(sk: TcpSock, pmtu: number): number {
  return __tcp_mtu_to_mss(sk, pmtu) - (sk.tcp_header_len - TCP_HDR_MIN);
}

/** tcp_mss_to_mtu(). */
export function tcp_mss_to_mtu(sk: TcpSock, mss: number): number {
  return mss + sk.tcp_header_len + sk.icsk_ext_hdr_len + 20;
}

/** tcp_bound_to_half_wnd(): never send segments larger than half the peer's largest window. */
function tcp_bound_to_half_wnd(tp: TcpSock, pktsize: number): number {
  let cutoff: number;
  if (tp.max_window > TCP_MSS_DEFAULT) cutoff = tp.max_window >>> 1;
  else cutoff = tp.max_window;
  if (cutoff && pktsize > cutoff) return Math.max(cutoff, 68 - tp.tcp_header_len);
  return pktsize;
}

/** tcp_sync_mss(): the MSS for a path MTU; caches it in mss_cache. */
export function tcp_sync_mss(sk: TcpSock, pmtu: number): number {
  let mss_now = tcp_mtu_to_mss(sk, pmtu);
  mss_now = tcp_bound_to_half_wnd(sk, mss_now);
  sk.icsk_pmtu_cookie = pmtu;
  sk.mss_cache = mss_now;
  return mss_now;
}

/** The route of a connected sock (its cached dst). */
export function tcp_dst(sk: TcpSock): Rtable | null {
  return sk.sk_dst_cache;
}

/** tcp_current_mss(): the MSS for the next segment, with this segment's options. */
export function tcp_current_mss(sk: TcpSock): number {
  let mss_now = sk.mss_cache;
  const rt = tcp_dst(sk);
  if (rt) {
    const mtu = dst_mtu(rt);
    if (mtu !== sk.icsk_pmtu_cookie) mss_now = tcp_sync_mss(sk, mtu);
  }
  const header_len = tcp_established_options(sk, opts_scratch.reset()) + TCP_HDR_MIN;
  if (header_len !== sk.tcp_header_len) {
    const delta = header_len - sk.tcp_header_len;
    mss_now -= delta;
  }
  return mss_now;
}

/** tcp_advertise_mss(): the MSS option of our SYN (the device's, lowered to the route's advmss). */
export function tcp_advertise_mss(sk: TcpSock): number {
  let mss = sk.advmss;
  const rt = tcp_dst(sk);
  if (rt) {
    const metric = dst_metric_advmss(rt);
    if (metric < mss) {
      mss = metric;
      sk.advmss = mss;
    }
  }
  return mss;
}

/** dst_metric_advmss(): RTAX_ADVMSS, or ipv4_default_advmss (MTU - 40, at least 256 bytes... of ip_rt_min_advmss). */
export function dst_metric_advmss(rt: Rtable): number {
  const adv = (rt as Rtable & { advmss_metric?: number }).advmss_metric;
  if (adv) return adv;
  const mtu = dst_mtu(rt);
  return Math.max(Math.min(mtu - 40, 65535 - 40), 256);
}

/** tcp_send_mss(): the current MSS and how much tcp_sendmsg puts in one skb. */
export function tcp_send_mss(sk: TcpSock, flags = 0): { mss_now: number; size_goal: number } {
  const mss_now = tcp_current_mss(sk);
  return { mss_now, size_goal: tcp_xmit_size_goal(sk, mss_now, !(flags & 1) /* MSG_OOB */) };
}

// ——— windows ————————————————————————————————————————————————————————————————————————

/**
 * tcp_select_initial_window(): the window of our SYN / SYN-ACK, the clamp and our window scale.
 */
export function tcp_select_initial_window(
  sk: TcpSock,
  __space: number,
  mss: number,
  out: { rcv_wnd: number; window_clamp: number; rcv_wscale: number },
  wscale_ok: boolean,
  init_rcv_wnd: number,
): void {
  const net = sk.sk_net;
  let space = __space < 0 ? 0 : __space;
  if (out.window_clamp === 0) out.window_clamp = (65535 << TCP_MAX_WSCALE) >>> 0;
  space = Math.min(out.window_clamp, space);
  if (space > mss) space = Math.floor(space / mss) * mss;
  if (net.ipv4!.sysctl_tcp_workaround_signed_windows) out.rcv_wnd = Math.min(space, MAX_TCP_WINDOW);
  // The SYN and SYN-ACK window field is never scaled: offer at most 64 KiB to start with.
  else out.rcv_wnd = Math.min(space, 65535);
  if (init_rcv_wnd) out.rcv_wnd = Math.min(out.rcv_wnd, init_rcv_wnd * mss);
  out.rcv_wscale = 0;
  if (wscale_ok) {
    space = Math.max(space, net.ipv4!.sysctl_tcp_rmem[2]);
    space = Math.max(space, net.core.sysctl_rmem_max);
    space = Math.min(space, out.window_clamp);
    out.rcv_wscale = Math.min(Math.max(31 - Math.clz32(space) - 15, 0), TCP_MAX_WSCALE);
  }
  out.window_clamp = Math.min((65535 << out.rcv_wscale) >>> 0, out.window_clamp);
}

/** __tcp_select_window(): the window we may offer now. */
export function __tcp_select_window(sk: TcpSock): number {
  let mss = sk.icsk_ack.rcv_mss;
  let free_space = tcp_space(sk);
  const allowed_space = tcp_full_space(sk);
  const full_space = Math.min(sk.window_clamp, allowed_space);
  if (mss > full_space) {
    mss = full_space;
    if (mss <= 0) return 0;
  }
  const wscale = sk.rx_opt.rcv_wscale;
  if (free_space < full_space >> 1) {
    sk.icsk_ack.quick = 0;
    free_space = free_space & ~((1 << wscale) - 1);
    if (free_space < allowed_space >> 4 || free_space < mss) return 0;
  }
  if (free_space > sk.rcv_ssthresh) free_space = sk.rcv_ssthresh;
  let window: number;
  if (wscale) {
    window = free_space;
    window = (window + (1 << wscale) - 1) & ~((1 << wscale) - 1);
  } else {
    window = sk.rcv_wnd;
    if (window <= free_space - mss || window > free_space) window = Math.floor(free_space / mss) * mss;
    else if (mss === full_space && free_space > window + (full_space >> 1)) window = free_space;
  }
  return window;
}

/** tcp_select_window(): the window field of a segment; never shrinks what was offered. */
export function tcp_select_window(sk: TcpSock): number {
  // The window is 0 when data was dropped for lack of memory.
  if (sk.icsk_ack.pending & ICSK_ACK_NOMEM) {
    sk.pred_flags = 0;
    sk.rcv_wnd = 0;
    sk.rcv_wup = sk.rcv_nxt;
    return 0;
  }
  const old_win = sk.rcv_wnd;
  const cur_win = tcp_receive_window(sk);
  let new_win = __tcp_select_window(sk);
  const wscale = sk.rx_opt.rcv_wscale;
  if (new_win < cur_win) {
    if (!sk.sk_net.ipv4!.sysctl_tcp_shrink_window || !wscale) {
      if (new_win === 0) NET_INC_STATS(sk.sk_net, MIB_TCPWANTZEROWINDOWADV);
      new_win = (cur_win + (1 << wscale) - 1) & ~((1 << wscale) - 1);
    }
  }
  sk.rcv_wnd = new_win;
  sk.rcv_wup = sk.rcv_nxt;
  if (!wscale && sk.sk_net.ipv4!.sysctl_tcp_workaround_signed_windows)
    new_win = Math.min(new_win, MAX_TCP_WINDOW);
  else new_win = Math.min(new_win, 65535 * (1 << wscale));
  new_win = Math.floor(new_win / (1 << wscale));
  if (new_win === 0) {
    sk.pred_flags = 0;
    if (old_win) NET_INC_STATS(sk.sk_net, MIB_TCPTOZEROWINDOWADV);
  } else if (old_win === 0) NET_INC_STATS(sk.sk_net, MIB_TCPFROMZEROWINDOWADV);
  return new_win;
}

// ——— building and sending one segment ——————————————————————————————————————————————

const xmit_fl = new Flowi4() as Flowi4 & { protocol: number; ttl: number; df: boolean; opt: null };

/** ip_queue_xmit() parameters of a connected sock. */
function tcp_xmit_params(sk: TcpSock): typeof xmit_fl {
  const p = xmit_fl;
  p.init(sk.inet_daddr, sk.inet_saddr, sk.tos, sk.sk_bound_dev_if, 0, IPPROTO_TCP);
  p.protocol = IPPROTO_TCP;
  p.ttl = ip_select_ttl(sk, sk.sk_dst_cache, sk.inet_daddr);
  // ip_dont_fragment(): DF unless path MTU discovery is off for the socket.
  p.df =
    sk.pmtudisc === IP_PMTUDISC_DO || sk.pmtudisc === IP_PMTUDISC_PROBE || sk.pmtudisc === IP_PMTUDISC_WANT;
  p.opt = null;
  return p;
}

/** The TCP checksum of the segment at skb.data (header + payload) — or leave it to the device. */
function tcp_v4_send_check(skb: SkBuff, saddr: number, daddr: number, dev_loopback: boolean): void {
  const h = skb.head;
  const o = skb.data;
  const len = skb.len;
  h[o + 16] = 0;
  h[o + 17] = 0;
  if (dev_loopback) {
    // Loopback never computes checksums (NETIF_F_HW_CSUM, skb->ip_summed = CHECKSUM_PARTIAL).
    skb.ip_summed = CHECKSUM_PARTIAL;
    return;
  }
  const c = csum_tcpudp_magic(saddr, daddr, len, IPPROTO_TCP, csum_partial(h, o, len, 0));
  h[o + 16] = c >>> 8;
  h[o + 17] = c & 0xff;
}

/** Write the 20-byte TCP header at `o`. */
function tcp_write_header(
  h: Uint8Array,
  o: number,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  doff: number,
  flags: number,
  window: number,
  urg: number,
): void {
  h[o] = sport >>> 8;
  h[o + 1] = sport & 0xff;
  h[o + 2] = dport >>> 8;
  h[o + 3] = dport & 0xff;
  put32(h, o + 4, seq);
  put32(h, o + 8, ack);
  h[o + 12] = (doff >>> 2) << 4;
  h[o + 13] = flags;
  h[o + 14] = window >>> 8;
  h[o + 15] = window & 0xff;
  h[o + 16] = 0;
  h[o + 17] = 0;
  h[o + 18] = urg >>> 8;
  h[o + 19] = urg & 0xff;
}

/**
 * __tcp_transmit_skb(): send `skb` (a clone when `clone_it`, so the original stays queued for
 * retransmission) with the header and options for its state, acknowledging `rcv_nxt`.
 */
export function tcp_transmit_skb(
  sk: TcpSock,
  skb: SkBuff,
  clone_it: boolean,
  rcv_nxt = sk.rcv_nxt,
  gso_segs = 1,
  pace_len = -1,
): number {
  const net = sk.sk_net;
  const tcb = TCP_SKB_CB(skb);
  const now_us = tcp_clock_us(net);
  sk.tcp_mstamp = now_us;
  // EDT: every packet, pure ACKs included, leaves stamped with tcp_wstamp_ns, and the sent skb
  // keeps it as its send time (skb_mstamp_ns: RTT samples count from the departure). The first
  // segments of a TSO burst (pace_len 0) pass their credit on to its last one.
  const credit = tcp_wstamp_refresh(sk, skb, net.kernel.clock.now()) + sk.tcp_wstamp_credit;
  sk.tcp_wstamp_credit = 0;
  let oskb: SkBuff | null = null;
  if (clone_it) {
    oskb = skb;
    tcb.tcp_tstamp = Math.floor(sk.tcp_wstamp_ns / NSEC_PER_USEC) + 1;
    // A previous copy still travelling (a qdisc, the backlog) owns the header room: copy then.
    skb = skb.shinfo && skb.shinfo.dataref > 1 ? skb_copy(skb) : skb_clone(skb);
    skb.sk = null;
    skb.destructor = null;
  }
  const opts = opts_scratch.reset();
  let flags = tcb.tcp_flags;
  let opt_size: number;
  if (flags & TCPHDR_SYN) opt_size = tcp_syn_options(sk, opts);
  else {
    opt_size = tcp_established_options(sk, opts);
    // Force a PSH flag on all GSO packets to expedite the GRO flush at the receiver (not on the
    // skb kept for retransmission: Linux sets it on the clone). `skb` is the last segment of a
    // burst of `gso_segs`, which is where GSO leaves the flag.
    if (gso_segs > 1) flags |= TCPHDR_PSH;
  }
  const tcp_header_size = opt_size + TCP_HDR_MIN;
  const o = skb.push(tcp_header_size);
  skb.transport_header = o;
  let window: number;
  if (flags & TCPHDR_SYN) window = Math.min(sk.rcv_wnd, 65535);
  else window = tcp_select_window(sk);
  let urg = 0;
  let fl = flags;
  if (tcp_urg_mode(sk) && before(tcb.seq, sk.snd_up)) {
    if (before(sk.snd_up, (tcb.seq + 0x10000) >>> 0)) {
      urg = (sk.snd_up - tcb.seq) >>> 0;
      fl |= TCPHDR_URG;
    } else if (after((tcb.seq + 0xffff) >>> 0, sk.snd_nxt)) {
      urg = 0xffff;
      fl |= TCPHDR_URG;
    }
  }
  if (!(flags & TCPHDR_SYN)) fl = tcp_ecn_send(sk, skb.len, tcb.seq, tcp_header_size, fl);
  tcp_write_header(
    skb.head,
    o,
    sk.inet_sport,
    sk.inet_dport,
    tcb.seq,
    rcv_nxt,
    tcp_header_size,
    fl,
    window,
    urg,
  );
  tcp_options_write(skb.head, o + TCP_HDR_MIN, sk, opts);
  if (flags & TCPHDR_ACK) tcp_event_ack_sent(sk, rcv_nxt);
  if (skb.len !== tcp_header_size) {
    tcp_event_data_sent(sk);
    sk.data_segs_out += tcp_skb_pcount(skb);
    sk.bytes_sent += skb.len - tcp_header_size;
  }
  if (after(tcb.end_seq, sk.snd_nxt) || tcb.seq === tcb.end_seq) TCP_INC_STATS(net, TCP_MIB_OUTSEGS);
  sk.segs_out += tcp_skb_pcount(skb);
  const rt = sk.sk_dst_cache;
  const p = tcp_xmit_params(sk);
  if (rt) skb.dst = rt;
  const loop = rt ? (rt.dev.flags & IFF_LOOPBACK) !== 0 : false;
  tcp_v4_send_check(skb, sk.inet_saddr, sk.inet_daddr, loop);
  skb.priority = sk.sk_priority;
  skb.mark = sk.sk_mark;
  // Charged to the socket until the device takes it (TCP Small Queues); a pure ACK weighs
  // nothing there (skb_set_tcp_pure_ack: truesize 2).
  const pure_ack = !clone_it && skb.len === tcp_header_size && flags === TCPHDR_ACK;
  if (pure_ack) skb.truesize = 2;
  tcp_skb_set_owner_w(sk, skb, pure_ack);
  const err = ip_queue_xmit(net, sk, skb, p);
  // tcp_update_skb_after_send() and tcp_rate_skb_sent(): the segment is now the most recently
  // sent one, for RACK's time-ordered walk.
  if (oskb && (err === 0 || err === NET_XMIT_CN)) {
    if (pace_len) tcp_update_skb_after_send(sk, pace_len < 0 ? oskb.len : pace_len, credit);
    else sk.tcp_wstamp_credit = credit;
    tcb.tx_delivered = sk.delivered;
    tcb.tx_order = ++sk.tx_order_next;
    tcp_tsorted_move_tail(sk.tsorted_sent_queue ?? (sk.tsorted_sent_queue = new TsortedHead()), oskb);
  }
  // Local congestion (the qdisc dropped it, or notified congestion): reduce the window (CWR).
  if (err > 0) tcp_enter_cwr(sk);
  // net_xmit_eval(): congestion notification (NET_XMIT_CN) is success; a local drop
  // (NET_XMIT_DROP) comes back positive — the segment did not leave, and the callers retry
  // (tcp_write_xmit stops, the timers wait TCP_RESOURCE_PROBE_INTERVAL).
  return err === NET_XMIT_CN ? 0 : err;
}

/** tcp_event_data_sent(). */
function tcp_event_data_sent(sk: TcpSock): void {
  const now = tcp_jiffies32(sk.sk_net);
  if (tcp_packets_in_flight(sk) === 0) tcp_ca_event(sk, CA_EVENT_TX_START);
  // If it is a reply for ato after last received packet, enter pingpong mode.
  if (now - sk.icsk_ack.lrcvtime < sk.icsk_ack.ato) inet_csk_inc_pingpong_cnt(sk);
  sk.lsndtime = now;
}

/** inet_csk_inc_pingpong_cnt(). */
export function inet_csk_inc_pingpong_cnt(sk: TcpSock): void {
  if (sk.icsk_ack.pingpong < 255) sk.icsk_ack.pingpong++;
}

/** tcp_event_ack_sent(): the ACK went out; no delayed ACK is due any more. */
function tcp_event_ack_sent(sk: TcpSock, rcv_nxt: number): void {
  if (rcv_nxt !== sk.rcv_nxt) return;
  tcp_dec_quickack_mode(sk);
  inet_csk_clear_xmit_timer(sk, 2 /* ICSK_TIME_DACK */);
}

/** tcp_dec_quickack_mode(). */
function tcp_dec_quickack_mode(sk: TcpSock): void {
  const a = sk.icsk_ack;
  if (a.quick) {
    // How many full-sized segments' worth were acknowledged by this ACK.
    a.quick = Math.max(0, a.quick - 1);
    if (!a.quick) a.ato = TCP_ATO_MIN;
  }
}

// ——— queueing new data ———————————————————————————————————————————————————————————

/**
 * tcp_stream_alloc_skb(): a fresh skb with room for all headers and `size` bytes of payload.
 * It is charged as Linux charges it: SKB_TRUESIZE of its small head; the payload, which Linux
 * keeps in page fragments, is charged byte for byte as it is copied in (tcp_sendmsg) or moved in
 * (tcp_fragment).
 */
export function tcp_stream_alloc_skb(size: number): SkBuff {
  // Every byte TCP exposes is written (payload copied in, headers in full): no clearing.
  const skb = alloc_skb_with_frags(MAX_TCP_HEADER, size, false);
  skb.truesize = TCP_SKB_HEAD_TRUESIZE;
  skb.reserve(MAX_TCP_HEADER);
  const cb = TCP_SKB_CB(skb);
  cb.seq = cb.end_seq = 0;
  cb.tcp_flags = 0;
  cb.sacked = 0;
  cb.tcp_tstamp = 0;
  cb.tcp_gso_segs = 1;
  cb.tcp_gso_size = 0;
  cb.eor = 0;
  cb.tx_delivered = 0;
  cb.tx_order = 0;
  cb.tso_end = 0;
  cb.tsorted_next = cb.tsorted_prev = null;
  return skb;
}

/** SKB_TRUESIZE(skb_end_offset()) of a head of MAX_TCP_HEADER bytes: the cost of an empty skb. */
export const TCP_SKB_HEAD_TRUESIZE = skb_truesize_for(MAX_TCP_HEADER, 0);

/**
 * pskb_expand_head() for the tail: give `skb` at least `ntail` bytes of tailroom, copying its
 * bytes into a bigger head. The head grows by doubling, so filling an skb up to the size goal
 * copies each byte a bounded number of times; truesize is not touched (it counts the payload).
 */
export function pskb_expand_head(skb: SkBuff, ntail: number): void {
  if (skb.tailroom() >= ntail) return;
  const need = skb.tail + ntail;
  let size = Math.max(skb.head.length, 1024);
  while (size < need) size *= 2;
  const n = alloc_skb_nozero(size);
  n.head.set(skb.head.subarray(0, skb.tail));
  skb.head = n.head;
  // The new head is private to this skb.
  if (skb.shinfo) {
    skb.shinfo.dataref--;
    skb.shinfo = null;
  }
  skb.cloned = false;
}

/** tcp_init_nondata_skb(). */
function tcp_init_nondata_skb(skb: SkBuff, seq: number, flags: number): void {
  const cb = TCP_SKB_CB(skb);
  cb.tcp_flags = flags;
  cb.sacked = 0;
  cb.tcp_gso_segs = 1;
  cb.tcp_gso_size = 0;
  cb.seq = seq;
  if (flags & (TCPHDR_SYN | TCPHDR_FIN)) seq = (seq + 1) >>> 0;
  cb.end_seq = seq;
  cb.tcp_tstamp = 0;
  cb.eor = 0;
  cb.tx_delivered = 0;
  cb.tx_order = 0;
  cb.tso_end = 0;
  cb.tsorted_next = cb.tsorted_prev = null;
}

/** A control skb (SYN, FIN, ACK, RST) with header room. */
function tcp_ctl_skb(): SkBuff {
  const skb = alloc_skb(MAX_TCP_HEADER);
  skb.reserve(MAX_TCP_HEADER);
  return skb;
}

/** tcp_queue_skb(): append to the write queue, charged to the send buffer. */
export function tcp_queue_skb(sk: TcpSock, skb: SkBuff): void {
  sk.write_seq = TCP_SKB_CB(skb).end_seq;
  skb.sk = sk;
  sk.sk_wmem_queued += skb.truesize;
  tcp_add_write_queue_tail(sk, skb);
}

/** tcp_add_write_queue_tail(): the sender is busy from the moment the write queue fills. */
function tcp_add_write_queue_tail(sk: TcpSock, skb: SkBuff): void {
  sk.sk_write_queue.tail(skb);
  if (sk.sk_write_queue.peek() === skb) tcp_chrono_start(sk, TCP_CHRONO_BUSY);
}

/** tcp_skb_entail(): a new, empty skb at the tail of the write queue for tcp_sendmsg to fill. */
export function tcp_skb_entail(sk: TcpSock, skb: SkBuff): void {
  const tcb = TCP_SKB_CB(skb);
  tcb.seq = tcb.end_seq = sk.write_seq;
  tcb.tcp_flags = TCPHDR_ACK;
  skb.sk = sk;
  tcp_add_write_queue_tail(sk, skb);
  sk.sk_wmem_queued += skb.truesize;
  if (sk.nonagle & TCP_NAGLE_PUSH) sk.nonagle &= ~TCP_NAGLE_PUSH;
  tcp_slow_start_after_idle_check(sk);
}

/**
 * tcp_slow_start_after_idle_check() (RFC 5681 §4.1, RFC 7661): after an idle period longer than
 * the RTO, the congestion window restarts from the initial window, halved per RTO idle.
 */
export function tcp_slow_start_after_idle_check(sk: TcpSock): void {
  if (!sk.sk_net.ipv4!.sysctl_tcp_slow_start_after_idle || sk.packets_out) return;
  const delta = tcp_jiffies32(sk.sk_net) - sk.lsndtime;
  if (delta > sk.icsk_rto) tcp_cwnd_restart(sk, delta);
}

/** tcp_cwnd_restart(). */
function tcp_cwnd_restart(sk: TcpSock, delta: number): void {
  const rt = sk.sk_dst_cache as (Rtable & { initcwnd_metric?: number }) | null;
  let restart_cwnd = (rt && rt.initcwnd_metric) || 10;
  let cwnd = sk.snd_cwnd;
  tcp_ca_event(sk, CA_EVENT_CWND_RESTART);
  // tcp_current_ssthresh().
  sk.snd_ssthresh =
    sk.icsk_ca_state >= 2 /* CWR */
      ? sk.snd_ssthresh
      : Math.max(sk.snd_ssthresh, ((sk.snd_cwnd >>> 1) + (sk.snd_cwnd >>> 2)) >>> 0);
  restart_cwnd = Math.min(restart_cwnd, cwnd);
  while ((delta -= sk.icsk_rto) > 0 && cwnd > restart_cwnd) cwnd >>>= 1;
  sk.snd_cwnd = Math.max(cwnd, restart_cwnd);
  sk.snd_cwnd_stamp = tcp_jiffies32(sk.sk_net);
  sk.snd_cwnd_used = 0;
}

/** tcp_event_new_data_sent(): the segment moves from the write queue to the rtx queue. */
function tcp_event_new_data_sent(sk: TcpSock, skb: SkBuff): void {
  const prior_packets = sk.packets_out;
  sk.snd_nxt = TCP_SKB_CB(skb).end_seq;
  sk.sk_write_queue.unlink(skb);
  sk.tcp_rtx_queue.tail(skb);
  // The first segment sent after the highest SACKed one (tcp_highest_sack).
  if (!sk.highest_sack) sk.highest_sack = skb;
  sk.packets_out += tcp_skb_pcount(skb);
  if (!prior_packets || sk.icsk_pending === 5 /* LOSS_PROBE */) tcp_rearm_rto(sk);
  NET_INC_STATS(sk.sk_net, MIB_TCPORIGDATASENT);
}

// ——— Nagle and the send tests ————————————————————————————————————————————————————————

/** tcp_minshall_check(): a small segment is still unacknowledged. */
function tcp_minshall_check(tp: TcpSock): boolean {
  return after(tp.snd_sml, tp.snd_una) && !after(tp.snd_sml, tp.snd_nxt);
}

/** tcp_nagle_check(): true when Nagle says hold a small segment back. */
function tcp_nagle_check(partial: boolean, tp: TcpSock, nonagle: number): boolean {
  return (
    partial &&
    ((nonagle & TCP_NAGLE_CORK) !== 0 || (!nonagle && tp.packets_out !== 0 && tcp_minshall_check(tp)))
  );
}

/** tcp_nagle_test(). */
function tcp_nagle_test(tp: TcpSock, skb: SkBuff, cur_mss: number, nonagle: number): boolean {
  if (nonagle & TCP_NAGLE_PUSH) return true;
  // Don't use the nagle rule for urgent data (or for the final FIN).
  if (tcp_urg_mode(tp) || TCP_SKB_CB(skb).tcp_flags & TCPHDR_FIN) return true;
  if (!tcp_nagle_check(skb.len < cur_mss, tp, nonagle)) return true;
  return false;
}

/** tcp_snd_wnd_test(): does the segment's first MSS fit the peer's window? */
function tcp_snd_wnd_test(tp: TcpSock, skb: SkBuff, cur_mss: number): boolean {
  let end_seq = TCP_SKB_CB(skb).end_seq;
  if (skb.len > cur_mss) end_seq = (TCP_SKB_CB(skb).seq + cur_mss) >>> 0;
  return !after(end_seq, tcp_wnd_end(tp));
}

/** tcp_cwnd_test(): segments the congestion window still allows. */
function tcp_cwnd_test(tp: TcpSock, skb: SkBuff): number {
  // Don't be strict about the congestion window for the final FIN.
  if (TCP_SKB_CB(skb).tcp_flags & TCPHDR_FIN && tcp_skb_pcount(skb) === 1) return 1;
  const in_flight = tcp_packets_in_flight(tp);
  const cwnd = tp.snd_cwnd;
  if (in_flight >= cwnd) return 0;
  // For better scheduling, ensure we have at least 2 GSO packets in flight.
  const halfcwnd = Math.max(cwnd >>> 1, 1);
  return Math.min(halfcwnd, cwnd - in_flight);
}

/**
 * tcp_fragment(): split `skb` so that its first `len` bytes stay and the rest becomes a new skb
 * right after it in the same queue.
 */
export function tcp_fragment(sk: TcpSock, skb: SkBuff, len: number, mss_now = 0): number {
  const nlen = skb.len - len;
  if (nlen <= 0) return 0;
  const buff = tcp_stream_alloc_skb(nlen);
  buff.head.set(skb.head.subarray(skb.data + len, skb.tail), buff.tail);
  buff.tail += nlen;
  const cb = TCP_SKB_CB(skb);
  const nb = TCP_SKB_CB(buff);
  nb.seq = (cb.seq + len) >>> 0;
  nb.end_seq = cb.end_seq;
  cb.end_seq = nb.seq;
  // PSH and FIN go with the second part.
  nb.tcp_flags = cb.tcp_flags;
  cb.tcp_flags &= ~(TCPHDR_FIN | TCPHDR_PSH);
  nb.sacked = cb.sacked;
  nb.tcp_tstamp = cb.tcp_tstamp;
  nb.eor = cb.eor;
  cb.eor = 0;
  nb.tx_delivered = cb.tx_delivered;
  nb.tx_order = cb.tx_order;
  nb.tso_end = cb.tso_end;
  cb.tso_end = 1;
  if (!skb.cloned) skb.tail = skb.data + len;
  else {
    // The head is shared with a copy in flight: keep those bytes, shorten the view only.
    skb.tail = skb.data + len;
  }
  // Charge: the new skb's own head, and the bytes move with it.
  sk.sk_wmem_queued += buff.truesize;
  buff.truesize += nlen;
  skb.truesize -= nlen;
  buff.sk = sk;
  const q = skb.list!;
  // Insert after skb.
  insert_after(q, skb, buff);
  const old_factor = tcp_skb_pcount(skb);
  const mss = mss_now || cb.tcp_gso_size || len;
  tcp_set_skb_tso_segs(skb, mss);
  tcp_set_skb_tso_segs(buff, mss);
  if (q === sk.tcp_rtx_queue) {
    // Sent already: the counters follow the new segment counts, where the parent counted.
    const diff = old_factor - tcp_skb_pcount(skb) - tcp_skb_pcount(buff);
    if (diff) tcp_adjust_pcount(sk, skb, diff);
    tcp_tsorted_add_after(skb, buff);
  }
  return 0;
}

/** tcp_set_skb_tso_segs(): how many segments of `mss_now` the skb makes. */
export function tcp_set_skb_tso_segs(skb: SkBuff, mss_now: number): void {
  const cb = TCP_SKB_CB(skb);
  if (skb.len <= mss_now) {
    cb.tcp_gso_segs = 1;
    cb.tcp_gso_size = 0;
  } else {
    cb.tcp_gso_segs = Math.ceil(skb.len / mss_now);
    cb.tcp_gso_size = mss_now;
  }
}

/** tcp_init_tso_segs(): the segment count of a write-queue skb for the current MSS. */
function tcp_init_tso_segs(skb: SkBuff, mss_now: number): number {
  // tcp_sendmsg zeroes the count whenever it appends; recomputing it each time is as cheap.
  tcp_set_skb_tso_segs(skb, mss_now);
  return tcp_skb_pcount(skb);
}

function insert_after(q: NonNullable<SkBuff['list']>, prev: SkBuff, skb: SkBuff): void {
  skb.list = q;
  skb.prev = prev;
  skb.next = prev.next;
  if (prev.next) prev.next.prev = skb;
  else q.last = skb;
  prev.next = skb;
  q.qlen++;
}

/** sk_gso_max_size: GSO_LEGACY_MAX_SIZE less MAX_TCP_HEADER + 1 (sk_setup_caps). */
export const SK_GSO_MAX_SIZE = 65536 - (MAX_TCP_HEADER + 1);

/**
 * tcp_tso_autosize(): segments per TSO burst — 2^-sk_pacing_shift s (about 1 ms) of the pacing
 * rate, more for close peers (a share of the GSO size that halves every 2^tcp_tso_rtt_log µs of
 * min RTT).
 */
function tcp_tso_autosize(sk: TcpSock, mss_now: number, min_tso_segs: number): number {
  let bytes = Math.floor(sk.sk_pacing_rate / POW2[sk.sk_pacing_shift]);
  const r = Math.floor(sk.min_rtt_us / POW2[sk.sk_net.ipv4!.sysctl_tcp_tso_rtt_log]);
  if (r < 32) bytes += SK_GSO_MAX_SIZE >>> r;
  bytes = Math.min(bytes, SK_GSO_MAX_SIZE);
  return Math.max(Math.floor(bytes / mss_now), min_tso_segs);
}

/** tcp_tso_segs(): how many segments we want in one TSO burst. */
function tcp_tso_segs(sk: TcpSock, mss_now: number): number {
  return tcp_tso_autosize(sk, mss_now, sk.sk_net.ipv4!.sysctl_tcp_min_tso_segs);
}

/** tcp_xmit_size_goal(): how much tcp_sendmsg puts in one skb (half the peer's largest window). */
function tcp_xmit_size_goal(sk: TcpSock, mss_now: number, large_allowed: boolean): number {
  if (!large_allowed) return mss_now;
  const new_size_goal = tcp_bound_to_half_wnd(sk, SK_GSO_MAX_SIZE);
  const size_goal = Math.floor(new_size_goal / mss_now) * mss_now;
  return Math.max(size_goal, mss_now);
}

/** tcp_mss_split_point(): the part of `skb` that may go out now as one TSO burst. */
function tcp_mss_split_point(
  sk: TcpSock,
  skb: SkBuff,
  mss_now: number,
  max_segs: number,
  nonagle: number,
): number {
  const window = (tcp_wnd_end(sk) - TCP_SKB_CB(skb).seq) >>> 0;
  const max_len = mss_now * max_segs;
  if (max_len <= window && skb !== sk.sk_write_queue.peek_tail()) return max_len;
  const needed = Math.min(skb.len, window);
  if (max_len <= needed) return max_len;
  const partial = needed % mss_now;
  // If the last segment is not a full MSS, check if Nagle allows including it in this burst;
  // otherwise split at the last MSS boundary.
  if (tcp_nagle_check(partial !== 0, sk, nonagle)) return needed - partial;
  return needed;
}

/**
 * tcp_gso_segment() of the device, done here: cut the first `len` bytes of the write-queue skb
 * `skb` off as a segment of its own, queued before it. The segment is charged its bytes only
 * (with `head_truesize` on top when it ends a burst tso_fragment() would have cut off); PSH and
 * FIN stay with the rest.
 */
function tcp_gso_segment_head(sk: TcpSock, skb: SkBuff, len: number, head_truesize: number): SkBuff {
  const seg = alloc_skb_nozero(MAX_TCP_HEADER + len);
  seg.reserve(MAX_TCP_HEADER);
  seg.head.set(skb.head.subarray(skb.data, skb.data + len), seg.tail);
  seg.tail += len;
  const cb = TCP_SKB_CB(skb);
  const sc = TCP_SKB_CB(seg);
  sc.seq = cb.seq;
  sc.end_seq = (cb.seq + len) >>> 0;
  sc.tcp_flags = cb.tcp_flags & ~(TCPHDR_FIN | TCPHDR_PSH);
  sc.sacked = cb.sacked;
  sc.tcp_tstamp = 0;
  sc.tcp_gso_segs = 1;
  sc.tcp_gso_size = 0;
  sc.eor = 0;
  sc.tx_delivered = 0;
  sc.tx_order = 0;
  sc.tso_end = 0;
  sc.tsorted_next = sc.tsorted_prev = null;
  skb.pull(len);
  cb.seq = sc.end_seq;
  seg.truesize = len + head_truesize;
  skb.truesize -= len;
  sk.sk_wmem_queued += head_truesize;
  seg.sk = sk;
  const q = skb.list!;
  if (skb.prev) insert_after(q, skb.prev, seg);
  else {
    seg.list = q;
    seg.prev = null;
    seg.next = skb;
    skb.prev = seg;
    q.first = seg;
    q.qlen++;
  }
  return seg;
}

/**
 * tcp_write_xmit(): send what the window, the congestion window and Nagle allow. The write queue
 * holds skbs of up to the size goal, as Linux's does; each is sent in TSO bursts (split where
 * tso_fragment() would split it), and each burst is cut into MSS-sized segments as GSO would cut
 * it: the PSH flag __tcp_transmit_skb() forces on a multi-segment burst lands on its last segment.
 * Returns true when something is left unsent while nothing is in flight (the caller arms the
 * probe timer). push_one: 1 sends one burst; 2 (a loss probe) also ignores the congestion window.
 */
export function tcp_write_xmit(sk: TcpSock, mss_now: number, nonagle: number, push_one: number): boolean {
  let sent_pkts = 0;
  let is_rwnd_limited = false;
  let skb: SkBuff | null;
  const max_segs = tcp_tso_segs(sk, mss_now);
  const now_ns = sk.sk_net.kernel.clock.now();
  out: while ((skb = tcp_send_head(sk))) {
    if (tcp_pacing_check(sk, now_ns)) break;
    const tso_segs = tcp_init_tso_segs(skb, mss_now);
    let cwnd_quota = tcp_cwnd_test(sk, skb);
    if (!cwnd_quota) {
      if (push_one === 2) cwnd_quota = 1;
      else break;
    }
    if (!tcp_snd_wnd_test(sk, skb, mss_now)) {
      is_rwnd_limited = true;
      break;
    }
    if (tso_segs === 1) {
      if (!tcp_nagle_test(sk, skb, mss_now, tcp_skb_is_last(sk, skb) ? nonagle : TCP_NAGLE_PUSH)) break;
    }
    let limit = mss_now;
    if (tso_segs > 1 && !tcp_urg_mode(sk))
      limit = tcp_mss_split_point(sk, skb, mss_now, Math.min(cwnd_quota, max_segs), nonagle);
    // The burst: `limit` bytes, or the whole skb. tso_fragment() would give the rest a new skb
    // (and head) of its own, and its bytes' truesize with them.
    const burst = Math.min(skb.len, limit);
    const fragmented = skb.len > burst;
    if (tcp_small_queue_check(sk, skb.truesize - (skb.len - burst), 0)) break;
    // An empty skb (a sender sleeping for room left it) is not sent as a pure ACK.
    if (TCP_SKB_CB(skb).end_seq === TCP_SKB_CB(skb).seq) break;
    const segs = Math.max(1, Math.ceil(burst / mss_now));
    let left = burst;
    while (left > 0) {
      const len = Math.min(left, mss_now);
      left -= len;
      const last = left === 0;
      const seg: SkBuff =
        last && !fragmented ? skb : tcp_gso_segment_head(sk, skb, len, last ? TCP_SKB_HEAD_TRUESIZE : 0);
      if (seg === skb) tcp_set_skb_tso_segs(skb, mss_now);
      TCP_SKB_CB(seg).tso_end = last ? 1 : 0;
      if (tcp_transmit_skb(sk, seg, true, sk.rcv_nxt, last ? segs : 1, last ? burst : 0)) break out;
      tcp_event_new_data_sent(sk, seg);
      sent_pkts++;
    }
    if (burst === 0) {
      // A bare FIN.
      if (tcp_transmit_skb(sk, skb, true)) break;
      tcp_event_new_data_sent(sk, skb);
      sent_pkts++;
    }
    // tcp_minshall_update() for the burst: it ended with a small segment.
    if (burst < segs * mss_now) sk.snd_sml = sk.snd_nxt;
    if (push_one) break;
  }
  if (is_rwnd_limited) tcp_chrono_start(sk, TCP_CHRONO_RWND_LIMITED);
  else tcp_chrono_stop(sk, TCP_CHRONO_RWND_LIMITED);
  const is_cwnd_limited = tcp_packets_in_flight(sk) >= sk.snd_cwnd;
  if (sent_pkts || is_cwnd_limited) tcp_cwnd_validate(sk, is_cwnd_limited);
  if (sent_pkts) {
    if (tcp_in_cwnd_reduction(sk)) sk.prr_out += sent_pkts;
    // Send one loss probe per tail loss episode.
    if (push_one !== 2) tcp_schedule_loss_probe(sk, false);
    return false;
  }
  return !sk.packets_out && !!tcp_send_head(sk);
}

// ——— Tail Loss Probe (RFC 8985 §7) ————————————————————————————————————————————————————

/** tcp_rto_delta_us(): how far in the future the RTO of the oldest segment is. */
export function tcp_rto_delta_us(sk: TcpSock): number {
  const skb = tcp_rtx_queue_head(sk);
  const rto_us = (sk.icsk_rto * 1_000_000) / HZ;
  if (!skb) return rto_us;
  return TCP_SKB_CB(skb).tcp_tstamp + rto_us - tcp_clock_us(sk.sk_net);
}

/**
 * tcp_schedule_loss_probe(): for a SACK connection in Open or CWR, probe the tail after two
 * RTTs (plus the minimum RTO when a single segment is out, to cover a delayed ACK), or at the
 * RTO if that comes first.
 */
export function tcp_schedule_loss_probe(sk: TcpSock, advancing_rto: boolean): boolean {
  const early_retrans = sk.sk_net.ipv4!.sysctl_tcp_early_retrans;
  if (
    (early_retrans !== 3 && early_retrans !== 4) ||
    !sk.packets_out ||
    !sk.rx_opt.sack_ok ||
    (sk.icsk_ca_state !== TCP_CA_Open && sk.icsk_ca_state !== TCP_CA_CWR)
  )
    return false;
  let timeout: number;
  if (sk.srtt_us) {
    let timeout_us = sk.srtt_us >>> 2;
    if (sk.packets_out === 1) timeout_us += (sk.icsk_rto_min * 1_000_000) / HZ;
    else timeout_us += TCP_TIMEOUT_MIN_US;
    timeout = usecs_to_jiffies(timeout_us);
  } else timeout = TCP_TIMEOUT_INIT;
  const rto_delta_us = advancing_rto ? (sk.icsk_rto * 1_000_000) / HZ : tcp_rto_delta_us(sk);
  if (rto_delta_us > 0) timeout = Math.min(timeout, usecs_to_jiffies(rto_delta_us));
  tcp_reset_xmit_timer(sk, ICSK_TIME_LOSS_PROBE, timeout);
  return true;
}

/**
 * tcp_send_loss_probe(): the probe timer fired. Send new data if the window allows, else
 * retransmit the last segment; one probe is outstanding at a time (tlp_high_seq).
 */
export function tcp_send_loss_probe(sk: TcpSock): void {
  const mss = tcp_current_mss(sk);
  let sent = false;
  if (!sk.tlp_high_seq) {
    sk.tlp_retrans = 0;
    const head = tcp_send_head(sk);
    if (head && tcp_snd_wnd_test(sk, head, mss)) {
      const pcount = sk.packets_out;
      tcp_write_xmit(sk, mss, TCP_NAGLE_OFF, 2);
      sent = sk.packets_out > pcount;
    } else {
      const skb = sk.tcp_rtx_queue.peek_tail();
      if (skb && !__tcp_retransmit_skb(sk, skb)) {
        sk.tlp_retrans = 1;
        sent = true;
      }
    }
    if (sent) {
      // Record snd_nxt for loss detection; restart the RTO from now.
      sk.tlp_high_seq = sk.snd_nxt;
      NET_INC_STATS(sk.sk_net, MIB_TCPLOSSPROBES);
      sk.icsk_pending = 0;
    }
  }
  tcp_rearm_rto(sk);
}

// ——— chronographs (tcp_chrono_*) ————————————————————————————————————————————————————

/** enum tcp_chrono: what limits the sender; higher values take precedence. */
export const TCP_CHRONO_UNSPEC = 0;
export const TCP_CHRONO_BUSY = 1;
export const TCP_CHRONO_RWND_LIMITED = 2;
export const TCP_CHRONO_SNDBUF_LIMITED = 3;

/**
 * tcp_chrono_set(): close the running chronograph into its total and start `new_type`. The
 * chronographs count microseconds of the world clock where the kernel counts jiffies (see
 * docs/differences.md): the same quantities without a 1/HZ granularity.
 */
function tcp_chrono_set(tp: TcpSock, new_type: number): void {
  const now = tcp_clock_us(tp.sk_net);
  const old = tp.chrono_type;
  const d = now - tp.chrono_start;
  if (old === TCP_CHRONO_BUSY) tp.chrono_stat0 += d;
  else if (old === TCP_CHRONO_RWND_LIMITED) tp.chrono_stat1 += d;
  else if (old === TCP_CHRONO_SNDBUF_LIMITED) tp.chrono_stat2 += d;
  tp.chrono_start = now;
  tp.chrono_type = new_type;
}

/** tcp_chrono_start(): a more interesting condition replaces the one being timed. */
export function tcp_chrono_start(sk: TcpSock, type: number): void {
  if (type > sk.chrono_type) tcp_chrono_set(sk, type);
}

/** tcp_chrono_stop(): the condition ended; back to busy while data is queued, else idle. */
export function tcp_chrono_stop(sk: TcpSock, type: number): void {
  if (sk.tcp_rtx_queue.empty() && sk.sk_write_queue.empty()) tcp_chrono_set(sk, TCP_CHRONO_UNSPEC);
  else if (type === sk.chrono_type) tcp_chrono_set(sk, TCP_CHRONO_BUSY);
}

/** tcp_chrono_stats(): the totals with the running chronograph's time so far (tcp_get_info). */
export function tcp_chrono_stats(tp: TcpSock): [number, number, number] {
  const stats: [number, number, number] = [tp.chrono_stat0, tp.chrono_stat1, tp.chrono_stat2];
  if (tp.chrono_type > TCP_CHRONO_UNSPEC)
    stats[tp.chrono_type - 1] += tcp_clock_us(tp.sk_net) - tp.chrono_start;
  return stats;
}

function tcp_in_cwnd_reduction(sk: TcpSock): boolean {
  return sk.icsk_ca_state >= 2;
}

/** tcp_cwnd_validate(): track whether the flow fills its congestion window (RFC 7661). */
function tcp_cwnd_validate(sk: TcpSock, is_cwnd_limited: boolean): void {
  if (
    !before(sk.snd_una, sk.cwnd_usage_seq) ||
    is_cwnd_limited ||
    (!sk.is_cwnd_limited && sk.packets_out > sk.max_packets_out)
  ) {
    sk.is_cwnd_limited = is_cwnd_limited ? 1 : 0;
    sk.max_packets_out = sk.packets_out;
    sk.cwnd_usage_seq = sk.snd_nxt;
  }
  if (tcp_is_cwnd_limited(sk)) {
    sk.snd_cwnd_used = 0;
    sk.snd_cwnd_stamp = tcp_jiffies32(sk.sk_net);
  } else {
    if (sk.packets_out > sk.snd_cwnd_used) sk.snd_cwnd_used = sk.packets_out;
    if (
      sk.sk_net.ipv4!.sysctl_tcp_slow_start_after_idle &&
      tcp_jiffies32(sk.sk_net) - sk.snd_cwnd_stamp >= sk.icsk_rto
    )
      tcp_cwnd_application_limited(sk);
    // Just sent data, not cwnd-limited, nothing left to send and the writer is out of send
    // buffer: the sender is limited by its send buffer.
    if (
      sk.sk_write_queue.empty() &&
      sk.sk_socket &&
      sk.sk_socket.flags & (1 << 2) /* SOCK_NOSPACE */ &&
      (sk.sk_state === TCP_ESTABLISHED || sk.sk_state === TCP_CLOSE_WAIT)
    )
      tcp_chrono_start(sk, TCP_CHRONO_SNDBUF_LIMITED);
  }
}

/** tcp_is_cwnd_limited(). */
export function tcp_is_cwnd_limited(sk: TcpSock): boolean {
  if (sk.is_cwnd_limited) return true;
  // In slow start, let cwnd grow to twice what was in flight.
  if (sk.snd_cwnd < sk.snd_ssthresh) return sk.snd_cwnd < 2 * sk.max_packets_out;
  return false;
}

/** tcp_cwnd_application_limited() (RFC 2861): decay an unused cwnd. */
function tcp_cwnd_application_limited(sk: TcpSock): void {
  if (sk.icsk_ca_state === 0 && sk.sk_socket && !(sk.sk_socket.flags & (1 << 2) /* SOCK_NOSPACE */)) {
    const init_win = Math.max(sk.snd_cwnd_used, 2);
    if (init_win < sk.snd_cwnd) {
      sk.snd_ssthresh = Math.max(sk.snd_ssthresh, ((sk.snd_cwnd >>> 1) + (sk.snd_cwnd >>> 2)) >>> 0);
      sk.snd_cwnd = (sk.snd_cwnd + init_win) >>> 1;
    }
    sk.snd_cwnd_used = 0;
  }
  sk.snd_cwnd_stamp = tcp_jiffies32(sk.sk_net);
}

function tcp_skb_is_last(sk: TcpSock, skb: SkBuff): boolean {
  return sk.sk_write_queue.peek_tail() === skb;
}

/** __tcp_push_pending_frames(). */
export function __tcp_push_pending_frames(sk: TcpSock, cur_mss: number, nonagle: number): void {
  if (sk.sk_state === TCP_CLOSE) return;
  if (tcp_write_xmit(sk, cur_mss, nonagle, 0)) tcp_check_probe_timer(sk);
}

/** tcp_push_pending_frames(). */
export function tcp_push_pending_frames(sk: TcpSock): void {
  if (tcp_send_head(sk)) __tcp_push_pending_frames(sk, tcp_current_mss(sk), sk.nonagle);
}

/** tcp_check_probe_timer(): data waits on a zero window with nothing in flight. */
export function tcp_check_probe_timer(sk: TcpSock): void {
  if (!sk.packets_out && !sk.icsk_pending) tcp_reset_xmit_timer(sk, ICSK_TIME_PROBE0, tcp_probe0_base(sk));
}

/** tcp_probe0_base(): max(RTO, TCP_RTO_MIN). */
export function tcp_probe0_base(sk: TcpSock): number {
  return Math.max(sk.icsk_rto, 50);
}

/** tcp_probe0_when(). */
export function tcp_probe0_when(sk: TcpSock, max_when: number): number {
  const backoff = Math.min(Math.max(sk.icsk_backoff, 0), 31);
  const when = tcp_probe0_base(sk) * 2 ** backoff;
  return Math.min(when, max_when);
}

/** tcp_reset_xmit_timer(). */
export function tcp_reset_xmit_timer(sk: TcpSock, what: number, when: number): void {
  inet_csk_reset_xmit_timer(sk, what, when, TCP_RTO_MAX);
}

/**
 * tcp_push(): after tcp_sendmsg queued data. The tail skb gets PSH unless more is coming
 * (MSG_MORE) — or so much was queued since the last PSH that one is due anyway; MSG_MORE also
 * corks this push. (Autocorking waits for a TX completion of an earlier segment; segments here
 * leave the host at once, so it never holds anything back.)
 */
export function tcp_push(sk: TcpSock, flags: number, mss_now: number, nonagle: number): void {
  const skb = sk.sk_write_queue.peek_tail();
  if (!skb) return;
  if (!(flags & 0x8000 /* MSG_MORE */) || forced_push(sk)) tcp_mark_push(sk, skb);
  if (flags & 1 /* MSG_OOB */) tcp_mark_urg(sk);
  if (flags & 0x8000 /* MSG_MORE */) nonagle = TCP_NAGLE_CORK;
  __tcp_push_pending_frames(sk, mss_now, nonagle);
}

/** forced_push(): more than half the peer's largest window was queued since the last PSH. */
export function forced_push(tp: TcpSock): boolean {
  return after(tp.write_seq, (tp.pushed_seq + (tp.max_window >>> 1)) >>> 0);
}

/** tcp_mark_push(). */
export function tcp_mark_push(sk: TcpSock, skb: SkBuff): void {
  TCP_SKB_CB(skb).tcp_flags |= TCPHDR_PSH;
  sk.pushed_seq = sk.write_seq;
}

function tcp_mark_urg(sk: TcpSock): void {
  sk.snd_up = sk.write_seq;
}

/** tcp_push_one(): send one burst of the skb at the send head now if allowed. */
export function tcp_push_one(sk: TcpSock, mss_now: number): void {
  tcp_write_xmit(sk, mss_now, TCP_NAGLE_PUSH, 1);
}

// ——— SYN ———————————————————————————————————————————————————————————————————————————

/** tcp_connect_init(): everything a SYN needs. */
function tcp_connect_init(sk: TcpSock): void {
  const net = sk.sk_net.ipv4!;
  sk.tcp_header_len = TCP_HDR_MIN;
  if (net.sysctl_tcp_timestamps) sk.tcp_header_len += TCPOLEN_TSTAMP_ALIGNED;
  if (sk.rx_opt.user_mss) sk.rx_opt.mss_clamp = sk.rx_opt.user_mss;
  sk.max_window = 0;
  const rt = sk.sk_dst_cache!;
  tcp_sync_mss(sk, dst_mtu(rt));
  if (!sk.window_clamp) sk.window_clamp = 0;
  sk.advmss = dst_metric_advmss(rt);
  if (sk.rx_opt.user_mss && sk.rx_opt.user_mss < sk.advmss) sk.advmss = sk.rx_opt.user_mss;
  tcp_initialize_rcv_mss(sk);
  // Limit the window selection if the user enforced a smaller receive buffer.
  if (
    sk.sk_userlocks & 2 /* SOCK_RCVBUF_LOCK */ &&
    (sk.window_clamp > tcp_full_space(sk) || sk.window_clamp === 0)
  )
    sk.window_clamp = tcp_full_space(sk);
  const out = { rcv_wnd: 0, window_clamp: sk.window_clamp, rcv_wscale: 0 };
  const initrwnd = (rt as Rtable & { initrwnd_metric?: number }).initrwnd_metric ?? 0;
  tcp_select_initial_window(
    sk,
    tcp_full_space(sk),
    sk.advmss - (sk.rx_opt.ts_recent_stamp ? sk.tcp_header_len - TCP_HDR_MIN : 0),
    out,
    net.sysctl_tcp_window_scaling !== 0,
    initrwnd,
  );
  sk.rcv_wnd = out.rcv_wnd;
  sk.window_clamp = out.window_clamp;
  sk.rx_opt.rcv_wscale = out.rcv_wscale;
  sk.rcv_ssthresh = sk.rcv_wnd;
  sk.sk_err = 0;
  sk.sk_flags &= ~(1 << 1); // SOCK_DONE
  sk.snd_wnd = 0;
  tcp_init_wl(sk, 0);
  sk.snd_una = sk.write_seq;
  sk.snd_sml = sk.write_seq;
  sk.snd_up = sk.write_seq;
  sk.snd_nxt = sk.write_seq;
  sk.rcv_nxt = 0;
  sk.rcv_wup = sk.rcv_nxt;
  sk.copied_seq = sk.rcv_nxt;
  sk.icsk_rto = TCP_TIMEOUT_INIT;
  sk.icsk_retransmits = 0;
  tcp_clear_retrans(sk);
}

/** tcp_initialize_rcv_mss(): a guess at the peer's segment size before any data. */
export function tcp_initialize_rcv_mss(sk: TcpSock): void {
  let hint = Math.min(sk.advmss, sk.mss_cache);
  hint = Math.min(hint, sk.rcv_wnd >>> 1);
  hint = Math.min(hint, TCP_MSS_DEFAULT);
  hint = Math.max(hint, TCP_MIN_MSS);
  sk.icsk_ack.rcv_mss = hint;
}
const TCP_MIN_MSS = 88;

/** tcp_clear_retrans(). */
export function tcp_clear_retrans(sk: TcpSock): void {
  sk.retrans_out = 0;
  sk.lost_out = 0;
  sk.undo_marker = 0;
  sk.undo_retrans = -1;
  sk.sacked_out = 0;
}

/** tcp_connect(): send the SYN. */
export function tcp_connect(sk: TcpSock): number {
  tcp_connect_init(sk);
  const buff = tcp_ctl_skb();
  tcp_init_nondata_skb(buff, sk.write_seq, TCPHDR_SYN);
  tcp_ecn_send_syn(sk, buff);
  sk.write_seq = (sk.write_seq + 1) >>> 0;
  sk.retrans_stamp = tcp_clock_ms(sk.sk_net) || 1;
  // The SYN is queued for retransmission like data (tcp_connect_queue_skb).
  sk.sk_wmem_queued += buff.truesize;
  buff.sk = sk;
  sk.tcp_rtx_queue.tail(buff);
  sk.packets_out += 1;
  const err = tcp_transmit_skb(sk, buff, true);
  if (err === -E.ECONNREFUSED) return err;
  sk.snd_nxt = sk.write_seq;
  sk.pushed_seq = sk.write_seq;
  TCP_INC_STATS(sk.sk_net, TCP_MIB_ACTIVEOPENS);
  inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, sk.icsk_rto, TCP_RTO_MAX);
  return 0;
}

/**
 * tcp_make_synack() + ip_build_and_send_pkt(): the SYN-ACK of a request, sent from the listener's
 * address plan (route found for the peer).
 */
export function tcp_v4_send_synack(listener: TcpSock, req: RequestSock, rt: Rtable | null): number {
  const net = listener.sk_net;
  if (!rt) {
    const fl = new Flowi4().init(req.ir_rmt_addr, req.ir_loc_addr, listener.tos, 0, 0, IPPROTO_TCP);
    const r = inet_route_output(net, fl);
    if (typeof r === 'number') return r;
    rt = r;
  }
  const skb = tcp_ctl_skb();
  const opts = opts_scratch.reset();
  const now_ms = tcp_clock_ms(net);
  const tsval = (now_ms + req.ts_off) >>> 0;
  if (!req.snt_synack) req.snt_synack = tcp_clock_us(net);
  // The MSS we offer: the route's advmss, lowered by TCP_MAXSEG on the listener.
  let mss = dst_metric_advmss(rt);
  if (listener.rx_opt.user_mss && listener.rx_opt.user_mss < mss) mss = listener.rx_opt.user_mss;
  const opt_size =
    req.syncookie && req.tstamp_ok
      ? tcp_synack_options(req, mss, req.cookie_ts, opts)
      : tcp_synack_options(req, mss, tsval, opts);
  const hlen = opt_size + TCP_HDR_MIN;
  const o = skb.push(hlen);
  skb.transport_header = o;
  // The SYN-ACK's window is never scaled (RFC 7323 §2.2).
  const window = Math.min(req.rsk_rcv_wnd, 65535);
  tcp_write_header(
    skb.head,
    o,
    req.ir_num,
    req.ir_rmt_port,
    req.snt_isn,
    (req.rcv_isn + 1) >>> 0,
    hlen,
    tcp_ecn_make_synack(req, TCPHDR_SYN | TCPHDR_ACK),
    window,
    0,
  );
  tcp_options_write(skb.head, o + TCP_HDR_MIN, null, opts);
  const loop = (rt.dev.flags & IFF_LOOPBACK) !== 0;
  tcp_v4_send_check(skb, req.ir_loc_addr, req.ir_rmt_addr, loop);
  skb.dst = rt;
  TCP_INC_STATS(net, TCP_MIB_OUTSEGS);
  const ttl = ip_select_ttl(listener, rt, req.ir_rmt_addr);
  const df = listener.pmtudisc >= IP_PMTUDISC_WANT;
  ip_build_header(net, skb, req.ir_loc_addr, req.ir_rmt_addr, IPPROTO_TCP, ttl, listener.tos, df, null, null);
  const err = ip_local_out(net, null, skb);
  return err > 0 ? 0 : err;
}

/** tcp_send_synack(): simultaneous open — our SYN goes out again, now also ACKing the peer's. */
export function tcp_send_synack(sk: TcpSock): number {
  const skb = tcp_rtx_queue_head(sk);
  if (!skb || !(TCP_SKB_CB(skb).tcp_flags & TCPHDR_SYN)) return -E.EFAULT;
  TCP_SKB_CB(skb).tcp_flags |= TCPHDR_ACK;
  tcp_ecn_send_synack(sk, skb);
  return tcp_transmit_skb(sk, skb, true);
}

/** tcp_rtx_synack(): the SYN-ACK again. */
export function tcp_rtx_synack(listener: TcpSock, req: RequestSock): number {
  const res = tcp_v4_send_synack(listener, req, null);
  if (!res) {
    TCP_INC_STATS(listener.sk_net, TCP_MIB_RETRANSSEGS);
    NET_INC_STATS(listener.sk_net, MIB_TCPSYNRETRANS);
  }
  return res;
}

// ——— ACKs ——————————————————————————————————————————————————————————————————————————

/** __tcp_send_ack(): a bare ACK now. */
export function __tcp_send_ack(sk: TcpSock, rcv_nxt: number): void {
  if (sk.sk_state === TCP_CLOSE) return;
  const buff = tcp_ctl_skb();
  tcp_init_nondata_skb(buff, tcp_acceptable_seq(sk), TCPHDR_ACK);
  tcp_transmit_skb(sk, buff, false, rcv_nxt);
}

/** tcp_send_ack(). */
export function tcp_send_ack(sk: TcpSock): void {
  __tcp_send_ack(sk, sk.rcv_nxt);
}

/** tcp_acceptable_seq(): snd_nxt, unless the window shrank under it. */
function tcp_acceptable_seq(sk: TcpSock): number {
  if (!before(tcp_wnd_end(sk), sk.snd_nxt) || (sk.rx_opt.wscale_ok && sk.rx_opt.snd_wscale && false))
    return sk.snd_nxt;
  return tcp_wnd_end(sk);
}

/**
 * tcp_send_delayed_ack(): arm the delayed-ACK timer (ato, bounded as Linux bounds it for
 * interactive and bulk flows).
 */
export function tcp_send_delayed_ack(sk: TcpSock): void {
  const a = sk.icsk_ack;
  let ato = a.ato;
  if (ato > TCP_DELACK_MIN) {
    let max_ato = HZ / 2;
    if (a.pingpong >= sk.sk_net.ipv4!.sysctl_tcp_pingpong_thresh || a.pending & ICSK_ACK_PUSHED)
      max_ato = TCP_DELACK_MAX;
    // If some RTT estimate is known, use it to bound the delayed ACK.
    if (sk.srtt_us) {
      const rtt = Math.max(usecs_to_jiffies(sk.srtt_us >>> 3), TCP_DELACK_MIN);
      if (rtt < max_ato) max_ato = rtt;
    }
    ato = Math.min(ato, max_ato);
  }
  ato = Math.min(ato, sk.icsk_delack_max);
  const now = tcp_jiffies32(sk.sk_net);
  let timeout = now + ato;
  const clock = sk.sk_net.kernel.clock;
  let deadline = clock.now() + ato * NSEC_PER_JIFFY;
  // Use the new timeout only if there wasn't an older one earlier.
  if (a.pending & ICSK_ACK_TIMER) {
    // If the delayed-ACK timer is about to expire, send the ACK now.
    if (a.timeout <= now + (ato >> 2)) {
      tcp_send_ack(sk);
      return;
    }
    if (!(timeout < a.timeout)) {
      timeout = a.timeout;
      deadline = sk.icsk_delack_timer.expires;
    }
  }
  a.pending |= ICSK_ACK_SCHED | ICSK_ACK_TIMER;
  a.timeout = timeout;
  clock.mod_timer(sk.icsk_delack_timer, deadline);
}

/** tcp_send_fin(): queue the FIN (piggybacked on unsent data when there is some). */
export function tcp_send_fin(sk: TcpSock): void {
  const tskb = sk.sk_write_queue.peek_tail();
  if (tskb) {
    TCP_SKB_CB(tskb).tcp_flags |= TCPHDR_FIN;
    TCP_SKB_CB(tskb).end_seq = (TCP_SKB_CB(tskb).end_seq + 1) >>> 0;
    sk.write_seq = (sk.write_seq + 1) >>> 0;
  } else {
    const skb = tcp_stream_alloc_skb(0);
    tcp_init_nondata_skb(skb, sk.write_seq, TCPHDR_ACK | TCPHDR_FIN);
    tcp_queue_skb(sk, skb);
  }
  sk.fin_queued = true;
  __tcp_push_pending_frames(sk, tcp_current_mss(sk), TCP_NAGLE_OFF);
}

/** tcp_send_active_reset(): RST to the peer (an abort). */
export function tcp_send_active_reset(sk: TcpSock): void {
  TCP_INC_STATS(sk.sk_net, TCP_MIB_OUTRSTS);
  const skb = tcp_ctl_skb();
  tcp_init_nondata_skb(skb, tcp_acceptable_seq(sk), TCPHDR_ACK | TCPHDR_RST);
  tcp_transmit_skb(sk, skb, false);
}

// ——— retransmission ——————————————————————————————————————————————————————————————

/**
 * __tcp_retransmit_skb(): send `skb` of the rtx queue again (trimmed of what was acknowledged,
 * cut to the current MSS) — one segment.
 */
export function __tcp_retransmit_skb(sk: TcpSock, skb: SkBuff): number {
  return tcp_retransmit_burst(sk, skb, 1);
}

/** Segments the last tcp_retransmit_burst() sent. */
let retransmitted_segs = 0;

/** The rtx-queue state bits the segments of one retransmitted burst share. */
const RETRANS_STATE = TCPCB_LOST | TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS;

/**
 * The body of __tcp_retransmit_skb(): send `skb` again together with the segments after it that
 * belong to the same Linux skb (up to its end, `segs` of them and what the window holds — Linux
 * retransmits `cur_mss * segs` bytes of the skb as one TSO packet and splits the rest off), as one
 * burst: the last segment carries the PSH flag __tcp_transmit_skb() forces on a multi-segment
 * packet. Returns 0 (the segments sent are in retransmitted_segs; a failure after the first
 * leaves the rest unsent) or the error of the first transmission.
 */
function tcp_retransmit_burst(sk: TcpSock, skb: SkBuff, segs: number): number {
  const cb = TCP_SKB_CB(skb);
  if (before(cb.seq, sk.snd_una)) {
    if (before(cb.end_seq, sk.snd_una) || cb.end_seq === sk.snd_una) return -E.EINVAL;
    tcp_trim_head(sk, skb, (sk.snd_una - cb.seq) >>> 0);
  }
  const cur_mss = tcp_current_mss(sk);
  // The receiver's window may have shrunk: send what fits, at least one byte.
  if (!before(cb.seq, tcp_wnd_end(sk)) && cb.seq !== cb.end_seq && !(cb.tcp_flags & TCPHDR_SYN))
    return -E.EAGAIN;
  let len = cur_mss;
  const avail = (tcp_wnd_end(sk) - cb.seq) >>> 0;
  if (!(cb.tcp_flags & TCPHDR_SYN) && avail < len) len = Math.max(avail, 1);
  if (skb.len > len) tcp_fragment(sk, skb, len, cur_mss);
  else {
    // Resegmented for the current MSS; the counters follow (tcp_adjust_pcount).
    const diff = tcp_skb_pcount(skb);
    tcp_set_skb_tso_segs(skb, cur_mss);
    if (diff !== tcp_skb_pcount(skb)) tcp_adjust_pcount(sk, skb, diff - tcp_skb_pcount(skb));
    // A short segment takes the small ones after it along (at most an MSS, within the window).
    const avail_wnd = Math.min(avail, cur_mss);
    if (skb.len < avail_wnd) tcp_retrans_try_collapse(sk, skb, avail_wnd);
  }
  const syn_ecn = TCPHDR_SYN | TCPHDR_ECE | TCPHDR_CWR;
  if ((cb.tcp_flags & syn_ecn) === syn_ecn) tcp_ecn_clear_syn(sk, skb);
  let last = skb;
  let n = 1;
  let bytes = skb.len;
  if (segs > 1 && !cb.tso_end && !(cb.tcp_flags & TCPHDR_SYN)) {
    let room = avail - skb.len;
    const state = cb.sacked & RETRANS_STATE;
    for (let next = skb.next; next && n < segs; next = next.next) {
      const nc = TCP_SKB_CB(next);
      if (nc.seq !== TCP_SKB_CB(last).end_seq || (nc.sacked & RETRANS_STATE) !== state) break;
      if (next.len > cur_mss || next.len > room) break;
      room -= next.len;
      bytes += next.len;
      last = next;
      n++;
      if (nc.tso_end) break;
    }
  }
  // Linux splits the rest of its skb off (tcp_fragment()): the burst ends an skb from now on.
  TCP_SKB_CB(last).tso_end = 1;
  let sent = 0;
  retransmitted_segs = 0;
  for (let seg: SkBuff = skb; ; seg = seg.next!) {
    // Paced as one packet of the burst's bytes, as Linux's TSO skb is.
    const err = tcp_transmit_skb(sk, seg, true, sk.rcv_nxt, seg === last ? n : 1, seg === last ? bytes : 0);
    const scb = TCP_SKB_CB(seg);
    // No RTT sample from a timestamp of a transmission that may not have happened.
    scb.sacked |= TCPCB_EVER_RETRANS;
    if (err) {
      NET_INC_STATS(sk.sk_net, MIB_TCPRETRANSFAIL);
      return sent ? 0 : err;
    }
    TCP_INC_STATS(sk.sk_net, TCP_MIB_RETRANSSEGS);
    if (scb.tcp_flags & TCPHDR_SYN) NET_INC_STATS(sk.sk_net, MIB_TCPSYNRETRANS);
    sk.total_retrans++;
    sk.bytes_retrans += seg.len;
    retransmitted_segs = ++sent;
    if (seg === last) return 0;
  }
}

/**
 * tcp_retransmit_skb(): retransmit `skb` (with up to `segs` segments of its Linux skb, see
 * tcp_retransmit_burst()) and account for them.
 */
export function tcp_retransmit_skb(sk: TcpSock, skb: SkBuff, segs = 1): number {
  const err = tcp_retransmit_burst(sk, skb, segs);
  if (err) return err;
  const n = retransmitted_segs;
  let seg: SkBuff = skb;
  for (let k = 0; k < n; k++, seg = seg.next!) {
    const cb = TCP_SKB_CB(seg);
    if (cb.sacked & TCPCB_SACKED_RETRANS) {
      // Already counted.
    } else sk.retrans_out += tcp_skb_pcount(seg);
    cb.sacked |= TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS;
    if (!sk.retrans_stamp) sk.retrans_stamp = tcp_clock_ms(sk.sk_net) || 1;
    if (sk.undo_retrans < 0) sk.undo_retrans = 0;
    sk.undo_retrans += tcp_skb_pcount(seg);
  }
  return 0;
}

/** tcp_trim_head(): drop `len` acknowledged bytes from the front of `skb`. */
export function tcp_trim_head(sk: TcpSock, skb: SkBuff, len: number): void {
  skb.pull(len);
  TCP_SKB_CB(skb).seq = (TCP_SKB_CB(skb).seq + len) >>> 0;
  skb.truesize -= len;
  sk.sk_wmem_queued -= len;
  // Any change of skb.len requires recalculation of the segment count.
  if (tcp_skb_pcount(skb) > 1) tcp_set_skb_tso_segs(skb, TCP_SKB_CB(skb).tcp_gso_size);
}

/**
 * tcp_xmit_retransmit_queue(): retransmit the segments marked lost (RFC 6675's NextSeg rule 1)
 * as far as the congestion window allows, until every lost segment has been retransmitted.
 */
export function tcp_xmit_retransmit_queue(sk: TcpSock): void {
  if (!sk.packets_out) return;
  const rtx_head = tcp_rtx_queue_head(sk);
  let rearm_timer = false;
  const max_segs = tcp_tso_segs(sk, tcp_current_mss(sk));
  const now_ns = sk.sk_net.kernel.clock.now();
  for (let skb = rtx_head; skb; skb = skb.next) {
    if (tcp_pacing_check(sk, now_ns)) break;
    const segs = Math.min(sk.snd_cwnd - tcp_packets_in_flight(sk), max_segs);
    if (segs <= 0) break;
    const sacked = TCP_SKB_CB(skb).sacked;
    if (sk.retrans_out >= sk.lost_out) break;
    if (!(sacked & TCPCB_LOST)) continue;
    if (sacked & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS)) continue;
    if (tcp_small_queue_check(sk, skb.truesize, 1)) break;
    if (tcp_retransmit_skb(sk, skb, segs)) break;
    const pcount = retransmitted_segs;
    NET_ADD_STATS(
      sk.sk_net,
      sk.icsk_ca_state !== TCP_CA_Loss ? MIB_TCPFASTRETRANS : MIB_TCPSLOWSTARTRETRANS,
      pcount,
    );
    if (sk.icsk_ca_state === TCP_CA_CWR || sk.icsk_ca_state === TCP_CA_Recovery) sk.prr_out += pcount;
    if (skb === rtx_head && sk.icsk_pending !== ICSK_TIME_REO_TIMEOUT) rearm_timer = true;
  }
  if (rearm_timer) tcp_reset_xmit_timer(sk, ICSK_TIME_RETRANS, sk.icsk_rto);
}

/** tcp_xmit_probe_skb(): a segment the peer must answer, outside its window (seq snd_una - 1). */
function tcp_xmit_probe_skb(sk: TcpSock, urgent: boolean): number {
  const skb = tcp_ctl_skb();
  tcp_init_nondata_skb(skb, (sk.snd_una - (urgent ? 0 : 1)) >>> 0, TCPHDR_ACK);
  return tcp_transmit_skb(sk, skb, false);
}

/** tcp_write_wakeup(): a window probe or keepalive: new data if the window opened, else a probe. */
export function tcp_write_wakeup(sk: TcpSock, mib: number): number {
  if (sk.sk_state === TCP_CLOSE) return -1;
  const skb = tcp_send_head(sk);
  if (skb && before(TCP_SKB_CB(skb).seq, tcp_wnd_end(sk))) {
    const mss = tcp_current_mss(sk);
    let seg_size = (tcp_wnd_end(sk) - TCP_SKB_CB(skb).seq) >>> 0;
    if (before(sk.pushed_seq, TCP_SKB_CB(skb).end_seq)) sk.pushed_seq = TCP_SKB_CB(skb).end_seq;
    // We are probing the opening of a window but the window size is != 0: must have been a
    // result of SWS avoidance (sender).
    if (seg_size < TCP_SKB_CB(skb).end_seq - TCP_SKB_CB(skb).seq || skb.len > mss) {
      seg_size = Math.min(seg_size, mss);
      TCP_SKB_CB(skb).tcp_flags |= TCPHDR_PSH;
      tcp_fragment(sk, skb, seg_size);
    }
    TCP_SKB_CB(skb).tcp_flags |= TCPHDR_PSH;
    const err = tcp_transmit_skb(sk, skb, true);
    if (!err) tcp_event_new_data_sent(sk, skb);
    return err;
  }
  if (between(sk.snd_up, (sk.snd_una + 1) >>> 0, (sk.snd_una + 0xffff) >>> 0)) tcp_xmit_probe_skb(sk, true);
  NET_INC_STATS(sk.sk_net, mib);
  return tcp_xmit_probe_skb(sk, false);
}

function between(a: number, b: number, c: number): boolean {
  return (c - b) >>> 0 >= (a - b) >>> 0;
}

/** tcp_send_probe0(): the zero-window probe timer fired. */
export function tcp_send_probe0(sk: TcpSock): void {
  const err = tcp_write_wakeup(sk, MIB_TCPWINPROBE);
  if (sk.packets_out || !tcp_send_head(sk)) {
    // Cancel probe timer, if it is not required.
    sk.icsk_probes_out = 0;
    sk.icsk_backoff = 0;
    sk.icsk_probes_tstamp = 0;
    return;
  }
  sk.icsk_probes_out++;
  let timeout: number;
  if (err <= 0) {
    if (sk.icsk_backoff < sk.sk_net.ipv4!.sysctl_tcp_retries2) sk.icsk_backoff++;
    timeout = tcp_probe0_when(sk, TCP_RTO_MAX);
  } else {
    timeout = TCP_RESOURCE_PROBE_INTERVAL;
  }
  tcp_reset_xmit_timer(sk, ICSK_TIME_PROBE0, timeout);
}

/** Keepalive probe MIB index (used by the keepalive timer). */
export const MIB_KEEPALIVE = MIB_TCPKEEPALIVE;
