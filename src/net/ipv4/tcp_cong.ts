// Pluggable congestion control (net/ipv4/tcp_cong.c): the table of struct tcp_congestion_ops
// selected by net.ipv4.tcp_congestion_control and TCP_CONGESTION, and Reno (RFC 5681) with
// Linux's slow start and additive increase.

import * as E from '../../uapi/errno.js';
import { TcpSock, tcp_in_slow_start, type TcpCongestionOps } from './tcp_sock.js';
import { tcp_ca_names } from './ipv4_init.js';
import { tcp_is_cwnd_limited } from './tcp_output.js';
import { cubictcp } from './tcp_cubic.js';

const tcp_cong_list = new Map<string, TcpCongestionOps>();

/** tcp_register_congestion_control(). */
export function tcp_register_congestion_control(ca: TcpCongestionOps): number {
  if (tcp_cong_list.has(ca.name)) return -E.EEXIST;
  tcp_cong_list.set(ca.name, ca);
  if (!tcp_ca_names.includes(ca.name)) tcp_ca_names.push(ca.name);
  return 0;
}

/** tcp_slow_start(): cwnd += acked, up to ssthresh; returns the ACKs left over. */
export function tcp_slow_start(tp: TcpSock, acked: number): number {
  const cwnd = Math.min(tp.snd_cwnd + acked, tp.snd_ssthresh);
  acked -= cwnd - tp.snd_cwnd;
  tp.snd_cwnd = Math.min(cwnd, tp.snd_cwnd_clamp);
  return acked;
}

/** tcp_cong_avoid_ai(): one more segment per window of `w` ACKed segments. */
export function tcp_cong_avoid_ai(tp: TcpSock, w: number, acked: number): void {
  if (tp.snd_cwnd_cnt >= w) {
    tp.snd_cwnd_cnt = 0;
    tp.snd_cwnd++;
  }
  tp.snd_cwnd_cnt += acked;
  if (tp.snd_cwnd_cnt >= w) {
    const delta = Math.floor(tp.snd_cwnd_cnt / w);
    tp.snd_cwnd_cnt -= delta * w;
    tp.snd_cwnd += delta;
  }
  tp.snd_cwnd = Math.min(tp.snd_cwnd, tp.snd_cwnd_clamp);
}

/** tcp_reno_cong_avoid(). */
export function tcp_reno_cong_avoid(tp: TcpSock, _ack: number, acked: number): void {
  if (!tcp_is_cwnd_limited(tp)) return;
  if (tcp_in_slow_start(tp)) {
    acked = tcp_slow_start(tp, acked);
    if (!acked) return;
  }
  tcp_cong_avoid_ai(tp, tp.snd_cwnd, acked);
}

/** tcp_reno_ssthresh(): half the window, at least 2. */
export function tcp_reno_ssthresh(tp: TcpSock): number {
  return Math.max(tp.snd_cwnd >>> 1, 2);
}

/** tcp_reno_undo_cwnd(). */
export function tcp_reno_undo_cwnd(tp: TcpSock): number {
  return Math.max(tp.snd_cwnd, tp.prior_cwnd);
}

export const tcp_reno: TcpCongestionOps = {
  name: 'reno',
  ssthresh: tcp_reno_ssthresh,
  cong_avoid: tcp_reno_cong_avoid,
  undo_cwnd: tcp_reno_undo_cwnd,
};

/** Register the built-in congestion controls (once per process): Reno and CUBIC. */
export function TCP_ca_names_register(): void {
  if (!tcp_cong_list.has('reno')) tcp_register_congestion_control(tcp_reno);
  if (!tcp_cong_list.has('cubic')) tcp_register_congestion_control(cubictcp);
}

/** tcp_ca_event(): tell the congestion control about a transmit-side event. */
export function tcp_ca_event(tp: TcpSock, event: number): void {
  tp.icsk_ca_ops.cwnd_event?.(tp, event);
}

/** tcp_assign_congestion_control(): the namespace's default (reno when it is not built in). */
export function tcp_assign_congestion_control(tp: TcpSock): void {
  TCP_ca_names_register();
  const name = tp.sk_net.ipv4?.tcp_congestion_control ?? 'reno';
  tp.icsk_ca_ops = tcp_cong_list.get(name) ?? tcp_reno;
}

/** tcp_init_congestion_control(). */
export function tcp_init_congestion_control(tp: TcpSock): void {
  tp.icsk_ca_ops.init?.(tp);
  tp.icsk_ca_initialized = 1;
}

/** tcp_set_congestion_control(): TCP_CONGESTION. */
export function tcp_set_congestion_control(tp: TcpSock, name: string): number {
  const ca = tcp_cong_list.get(name);
  if (!ca) return -E.ENOENT;
  if (tp.icsk_ca_initialized) tp.icsk_ca_ops.release?.(tp);
  tp.icsk_ca_ops = ca;
  tp.icsk_ca_priv = null;
  if (tp.icsk_ca_initialized) tcp_init_congestion_control(tp);
  return 0;
}

/** The name TCP_CONGESTION reports. */
export function tcp_ca_name(tp: TcpSock): string {
  return tp.icsk_ca_ops.name;
}

/** tcp_set_ca_state(). */
export function tcp_set_ca_state(tp: TcpSock, ca_state: number): void {
  tp.icsk_ca_ops.set_state?.(tp, ca_state);
  tp.icsk_ca_state = ca_state;
}
