// What user space sees of the TCP socks of a namespace: /proc/net/tcp (tcp4_seq_show and its
// helpers get_tcp4_sock, get_openreq4, get_timewait4_sock in net/ipv4/tcp_ipv4.c) and the
// records inet_diag hands to `ss` over NETLINK_SOCK_DIAG (inet_sk_diag_fill, inet_req_diag_fill,
// inet_twsk_diag_fill in net/ipv4/inet_diag.c, tcp_diag_get_info in net/ipv4/tcp_diag.c).
//
// Both walk the tables the same way tcp_seq_next does: the listening hash first, then every
// bucket of the established hash (full socks, request socks in NEW_SYN_RECV and TIME_WAIT socks).
// Nothing here changes a sock.

import type { Net } from '../core/net_namespace.js';
import { TCP_LISTEN, TCP_SYN_RECV, TCP_TIME_WAIT } from '../core/sock.js';
import { NSEC_PER_JIFFY, type Timer } from '../../kernel/time.js';
import { AF_INET } from '../../uapi/socket.js';
import { sock_gen_cookie } from '../core/sock_diag.js';
import { inet_ehash_all, inet_listeners, type EhashEntry } from './inet_hashtables.js';
import { InetTimewaitSock } from './inet_timewait_sock.js';
import {
  ICSK_TIME_LOSS_PROBE,
  ICSK_TIME_PROBE0,
  ICSK_TIME_REO_TIMEOUT,
  ICSK_TIME_RETRANS,
  RequestSock,
  TCP_INFINITE_SSTHRESH,
  TcpSock,
} from './tcp_sock.js';
import { tcp_get_info } from './tcp.js';
import { proc_addr } from './udp.js';

/** USER_HZ: the unit of clock_t, what /proc prints times in. */
export const USER_HZ = 100;

/** jiffies now: tcp_jiffies32 of the namespace's clock. */
function jiffies(net: Net): number {
  return Math.floor(net.kernel.clock.now() / NSEC_PER_JIFFY);
}

/** A timer's expiry in jiffies (timers here hold world-clock nanoseconds). */
function timer_expires_jiffies(t: Timer): number {
  return Math.floor(t.expires / NSEC_PER_JIFFY);
}

/** timer_pending(). */
function timer_pending(t: Timer): boolean {
  return t.heapIndex >= 0;
}

/**
 * jiffies_to_clock_t() for HZ = 250 and USER_HZ = 100: TICK_NSEC (4 ms) is not a multiple of
 * 10 ms, so the kernel computes x * TICK_NSEC / (NSEC_PER_SEC / USER_HZ), rounding down.
 */
export function jiffies_to_clock_t(x: number): number {
  return Math.floor((x * NSEC_PER_JIFFY) / (1_000_000_000 / USER_HZ));
}

/** jiffies_delta_to_clock_t(): a time left, never negative. */
export function jiffies_delta_to_clock_t(delta: number): number {
  return jiffies_to_clock_t(Math.max(0, delta));
}

/** jiffies_delta_to_msecs(). */
export function jiffies_delta_to_msecs(delta: number): number {
  return (Math.max(0, delta) * NSEC_PER_JIFFY) / 1_000_000;
}

const hex = (n: number, w: number): string => (n >>> 0).toString(16).toUpperCase().padStart(w, '0');

/** tcp_seq_next()'s walk: listeners, then the established hash in bucket order. */
export function tcp_seq_socks(net: Net): (TcpSock | EhashEntry)[] {
  return [...inet_listeners(net), ...inet_ehash_all(net)];
}

/** inet_csk_in_pingpong_mode(). */
function in_pingpong_mode(sk: TcpSock): boolean {
  return sk.icsk_ack.pingpong >= (sk.sk_net.ipv4?.sysctl_tcp_pingpong_thresh ?? 1);
}

/** tcp_in_initial_slowstart(). */
function tcp_in_initial_slowstart(tp: TcpSock): boolean {
  return tp.snd_ssthresh >= TCP_INFINITE_SSTHRESH;
}

/**
 * The timer get_tcp4_sock and inet_sk_diag_fill report: 1 retransmit (also the loss probe and
 * the reordering timer), 4 zero-window probe, 2 sk_timer (keepalive, FIN_WAIT2), 0 none; with
 * its expiry in jiffies.
 */
function tcp_timer_of(sk: TcpSock, now: number): { active: number; expires: number } {
  const p = sk.icsk_pending;
  if (p === ICSK_TIME_RETRANS || p === ICSK_TIME_REO_TIMEOUT || p === ICSK_TIME_LOSS_PROBE)
    return { active: 1, expires: Math.floor(sk.icsk_timeout / NSEC_PER_JIFFY) };
  if (p === ICSK_TIME_PROBE0) return { active: 4, expires: Math.floor(sk.icsk_timeout / NSEC_PER_JIFFY) };
  if (timer_pending(sk.sk_timer)) return { active: 2, expires: timer_expires_jiffies(sk.sk_timer) };
  return { active: 0, expires: now };
}

/** sock_i_ino(): the inode of the socket the sock belongs to, 0 for one without (a child not
 * yet accepted, an orphan). */
function sock_i_ino(sk: TcpSock): number {
  return sk.sk_socket ? sk.ino : 0;
}

/** tcp_diag_get_info()'s queues: accept queue and backlog for a listener, else bytes. */
function tcp_queues(sk: TcpSock): { rq: number; wq: number } {
  if (sk.sk_state === TCP_LISTEN) return { rq: sk.sk_ack_backlog, wq: sk.sk_max_ack_backlog };
  return { rq: Math.max(0, (sk.rcv_nxt - sk.copied_seq) | 0), wq: (sk.write_seq - sk.snd_una) >>> 0 };
}

/**
 * sk_refcnt as /proc shows it. There is no reference counting here; this is the count Linux
 * would show for the same state: one, plus one per pending timer (sk_reset_timer holds a
 * reference), plus, on a listener, one per request and accepted child waiting (each holds its
 * listener).
 */
function tcp_refcnt(sk: TcpSock): number {
  let n = 1;
  if (timer_pending(sk.icsk_retransmit_timer)) n++;
  if (timer_pending(sk.icsk_delack_timer)) n++;
  if (timer_pending(sk.sk_timer)) n++;
  if (sk.sk_state === TCP_LISTEN) n += sk.sk_ack_backlog + sk.icsk_accept_queue.qlen;
  return n;
}

/** get_tcp4_sock(). */
function get_tcp4_sock(sk: TcpSock, i: number, now: number): string {
  const { active, expires } = tcp_timer_of(sk, now);
  const state = sk.sk_state;
  const rx_queue = state === TCP_LISTEN ? sk.sk_ack_backlog : Math.max(0, (sk.rcv_nxt - sk.copied_seq) | 0);
  const ssthresh = state === TCP_LISTEN ? 0 : tcp_in_initial_slowstart(sk) ? -1 : sk.snd_ssthresh;
  return (
    `${String(i).padStart(4)}: ${proc_addr(sk.inet_rcv_saddr)}:${hex(sk.inet_num, 4)} ` +
    `${proc_addr(sk.inet_daddr)}:${hex(sk.inet_dport, 4)} ${hex(state, 2)} ` +
    `${hex(sk.write_seq - sk.snd_una, 8)}:${hex(rx_queue, 8)} ` +
    `${hex(active, 2)}:${hex(jiffies_delta_to_clock_t(expires - now), 8)} ${hex(sk.icsk_retransmits, 8)} ` +
    `${String(sk.sk_uid).padStart(5)} ${String(sk.icsk_probes_out).padStart(8)} ${sock_i_ino(sk)} ` +
    `${tcp_refcnt(sk)} 0000000000000000 ${jiffies_to_clock_t(sk.icsk_rto)} ` +
    `${jiffies_to_clock_t(sk.icsk_ack.ato)} ${(sk.icsk_ack.quick << 1) | (in_pingpong_mode(sk) ? 1 : 0)} ` +
    `${sk.snd_cwnd} ${ssthresh}`
  );
}

/** get_openreq4(): a request sock, always SYN_RECV with its SYN-ACK timer. */
function get_openreq4(req: RequestSock, i: number, now: number): string {
  const delta = timer_expires_jiffies(req.rsk_timer) - now;
  return (
    `${String(i).padStart(4)}: ${proc_addr(req.ir_loc_addr)}:${hex(req.ir_num, 4)} ` +
    `${proc_addr(req.ir_rmt_addr)}:${hex(req.ir_rmt_port, 4)} ${hex(TCP_SYN_RECV, 2)} ` +
    `${hex(0, 8)}:${hex(0, 8)} ${hex(1, 2)}:${hex(jiffies_delta_to_clock_t(delta), 8)} ` +
    `${hex(req.num_timeout, 8)} ${String(req.rsk_listener.sk_uid).padStart(5)} ${String(0).padStart(8)} 0 0 ` +
    `0000000000000000`
  );
}

/** get_timewait4_sock(): substate (TIME_WAIT, or FIN_WAIT2 for an orphan), timer 3, uid 0. */
function get_timewait4_sock(tw: InetTimewaitSock, i: number, now: number): string {
  const delta = timer_expires_jiffies(tw.tw_timer) - now;
  return (
    `${String(i).padStart(4)}: ${proc_addr(tw.tw_rcv_saddr)}:${hex(tw.tw_num, 4)} ` +
    `${proc_addr(tw.tw_daddr)}:${hex(tw.tw_dport, 4)} ${hex(tw.tw_substate, 2)} ` +
    `${hex(0, 8)}:${hex(0, 8)} ${hex(3, 2)}:${hex(jiffies_delta_to_clock_t(delta), 8)} ` +
    `${hex(0, 8)} ${String(0).padStart(5)} ${String(0).padStart(8)} 0 3 0000000000000000`
  );
}

/** TMPSZ: every line of /proc/net/tcp is padded to TMPSZ - 1 columns (seq_setwidth + seq_pad). */
const TMPSZ = 150;

/**
 * tcp4_seq_show(): the text of /proc/net/tcp. Kernel pointers print as zeros (kptr_restrict);
 * times are clock_t (USER_HZ = 100), the retransmit timeout and ATO too.
 */
export function tcp4_seq_show(net: Net): string {
  const pad = (s: string): string => s.padEnd(TMPSZ - 1) + '\n';
  let out = pad(
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  );
  const now = jiffies(net);
  let i = 0;
  for (const e of tcp_seq_socks(net)) {
    if (e instanceof InetTimewaitSock) out += pad(get_timewait4_sock(e, i, now));
    else if (e instanceof RequestSock) out += pad(get_openreq4(e, i, now));
    else out += pad(get_tcp4_sock(e, i, now));
    i++;
  }
  return out;
}

// ——— inet_diag ————————————————————————————————————————————————————————————————————

/** struct inet_diag_msg and the attributes ss asks for (INET_DIAG_INFO, _CONG, _SHUTDOWN). */
export interface InetDiagMsg {
  idiag_family: number;
  idiag_state: number;
  idiag_timer: number;
  idiag_retrans: number;
  idiag_sport: number;
  idiag_dport: number;
  /** Addresses as the socks hold them (numbers inet_ntoa prints). */
  idiag_src: number;
  idiag_dst: number;
  idiag_if: number;
  /** sock_gen_cookie(): a number given to a sock the first time it is asked for. */
  idiag_cookie: number;
  /** Milliseconds until the timer fires. */
  idiag_expires: number;
  idiag_rqueue: number;
  idiag_wqueue: number;
  idiag_uid: number;
  idiag_inode: number;
  /** INET_DIAG_INFO: struct tcp_info, for full socks when asked. */
  info?: Uint8Array;
  /** INET_DIAG_CONG: the congestion control's name, for full socks when asked. */
  cong?: string;
  /** INET_DIAG_SHUTDOWN: sk_shutdown, for full socks. */
  shutdown?: number;
}

/** What the requester wants beyond the message (idiag_ext bits, as flags). */
export interface InetDiagReq {
  /** TCPF_* states to dump (1 << state); default every state. */
  states?: number;
  /** INET_DIAG_INFO and INET_DIAG_CONG (ss -i). */
  info?: boolean;
}

/**
 * inet_diag_dump_icsk() for TCP over IPv4: one record per sock of the asked states, in the order
 * of /proc/net/tcp. Request socks report SYN_RECV, TIME_WAIT socks their substate.
 */
export function inet_diag_dump_tcp(net: Net, req: InetDiagReq = {}): InetDiagMsg[] {
  const states = req.states ?? 0xffffffff;
  const now = jiffies(net);
  const out: InetDiagMsg[] = [];
  for (const e of tcp_seq_socks(net)) {
    if (e instanceof InetTimewaitSock) {
      if (!(states & (1 << e.tw_substate))) continue;
      out.push({
        idiag_family: AF_INET,
        idiag_state: e.tw_substate,
        idiag_timer: 3,
        idiag_retrans: 0,
        idiag_sport: e.tw_num,
        idiag_dport: e.tw_dport,
        idiag_src: e.tw_rcv_saddr,
        idiag_dst: e.tw_daddr,
        idiag_if: e.tw_bound_dev_if,
        idiag_cookie: sock_gen_cookie(net, e),
        idiag_expires: jiffies_delta_to_msecs(timer_expires_jiffies(e.tw_timer) - now),
        idiag_rqueue: 0,
        idiag_wqueue: 0,
        idiag_uid: 0,
        idiag_inode: 0,
      });
    } else if (e instanceof RequestSock) {
      if (!(states & (1 << TCP_SYN_RECV))) continue;
      out.push({
        idiag_family: AF_INET,
        idiag_state: TCP_SYN_RECV,
        idiag_timer: 1,
        idiag_retrans: e.num_retrans,
        idiag_sport: e.ir_num,
        idiag_dport: e.ir_rmt_port,
        idiag_src: e.ir_loc_addr,
        idiag_dst: e.ir_rmt_addr,
        idiag_if: e.ir_iif,
        idiag_cookie: sock_gen_cookie(net, e),
        idiag_expires: jiffies_delta_to_msecs(timer_expires_jiffies(e.rsk_timer) - now),
        idiag_rqueue: 0,
        idiag_wqueue: 0,
        idiag_uid: 0,
        idiag_inode: 0,
      });
    } else {
      if (!(states & (1 << e.sk_state))) continue;
      const { active, expires } = tcp_timer_of(e, now);
      const { rq, wq } = tcp_queues(e);
      const m: InetDiagMsg = {
        idiag_family: AF_INET,
        idiag_state: e.sk_state,
        idiag_timer: active,
        // The retransmit timer reports retransmissions, the others the probes sent.
        idiag_retrans: active === 1 ? e.icsk_retransmits : active ? e.icsk_probes_out : 0,
        idiag_sport: e.inet_num,
        idiag_dport: e.inet_dport,
        idiag_src: e.inet_rcv_saddr,
        idiag_dst: e.inet_daddr,
        idiag_if: e.sk_bound_dev_if,
        idiag_cookie: sock_gen_cookie(net, e),
        idiag_expires: active ? jiffies_delta_to_msecs(expires - now) : 0,
        idiag_rqueue: rq,
        idiag_wqueue: wq,
        idiag_uid: e.sk_uid,
        idiag_inode: sock_i_ino(e),
        shutdown: e.sk_shutdown,
      };
      if (req.info) {
        m.info = tcp_get_info(e);
        if (e.icsk_ca_ops) m.cong = e.icsk_ca_ops.name;
      }
      out.push(m);
    }
  }
  return out;
}

/** TIME_WAIT as a state bit, for callers building TCPF_* masks. */
export const TCPF_TIME_WAIT = 1 << TCP_TIME_WAIT;
