// TCP's timers (net/ipv4/tcp_timer.c): retransmission with exponential backoff and the
// give-up rules (tcp_retries2, tcp_syn_retries, TCP_USER_TIMEOUT, orphans), the zero-window
// probe, the delayed ACK, and keepalive / FIN_WAIT2.

import {
  TCP_CLOSE,
  TCP_ESTABLISHED,
  TCP_FIN_WAIT2,
  TCP_LISTEN,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  SOCK_DEAD,
  SOCK_KEEPOPEN,
  sock_flag,
} from '../core/sock.js';
import * as E from '../../uapi/errno.js';
import type { Timer } from '../../kernel/time.js';
import { TCP_CA_Disorder, TCP_CA_Recovery, TCP_CA_Loss } from '../../uapi/tcp.js';
import {
  TcpSock,
  TCP_RTO_MAX,
  TCP_RTO_MIN,
  TCP_ATO_MIN,
  TCP_TIMEWAIT_LEN,
  TCP_RESOURCE_PROBE_INTERVAL,
  TCP_TIMEOUT_INIT,
  ICSK_TIME_RETRANS,
  ICSK_TIME_PROBE0,
  ICSK_TIME_LOSS_PROBE,
  ICSK_TIME_REO_TIMEOUT,
  tcp_is_sack,
  ICSK_ACK_TIMER,
  tcp_jiffies32,
  tcp_clock_ms,
  tcp_clock_us,
  tcp_rtx_queue_head,
  keepalive_time_when,
  keepalive_intvl_when,
  keepalive_probes,
  tcp_fin_time,
  jiffies_to_msecs,
  msecs_to_jiffies,
} from './tcp_sock.js';
import {
  inet_csk_ack_scheduled,
  inet_csk_in_pingpong_mode,
  inet_csk_exit_pingpong_mode,
  inet_csk_reset_keepalive_timer,
  inet_csk_rto_backoff,
} from './inet_connection_sock.js';
import {
  tcp_send_ack,
  tcp_retransmit_skb,
  tcp_reset_xmit_timer,
  tcp_send_probe0,
  tcp_send_loss_probe,
  tcp_send_active_reset,
  tcp_write_wakeup,
  MIB_KEEPALIVE,
} from './tcp_output.js';
import { tcp_clamp_rto_to_user_timeout, __tcp_set_rto } from './tcp_input.js';
import { tcp_done, tcp_done_with_error } from './tcp.js';
import { tcp_time_wait } from './tcp_minisocks.js';
import { tcp_enter_loss, tcp_rack_reo_timeout } from './tcp_recovery.js';
import { NET_INC_STATS, linux_mib_index } from './snmp.js';

const MIB_DELAYEDACKS = linux_mib_index('DelayedACKs');
const MIB_TCPTIMEOUTS = linux_mib_index('TCPTimeouts');
const MIB_TCPABORTONTIMEOUT = linux_mib_index('TCPAbortOnTimeout');
const MIB_TCPRENOFAILURES = linux_mib_index('TCPRenoFailures');
const MIB_TCPRENORECOVERYFAIL = linux_mib_index('TCPRenoRecoveryFail');
const MIB_TCPLOSSFAILURES = linux_mib_index('TCPLossFailures');
const MIB_TCPSACKRECOVERYFAIL = linux_mib_index('TCPSackRecoveryFail');
const MIB_TCPSACKFAILURES = linux_mib_index('TCPSackFailures');

/** tcp_write_err(): the connection timed out. */
function tcp_write_err(tp: TcpSock): void {
  tcp_done_with_error(tp, tp.sk_err_soft || E.ETIMEDOUT);
  NET_INC_STATS(tp.sk_net, MIB_TCPABORTONTIMEOUT);
}

/** tcp_orphan_retries(). */
function tcp_orphan_retries(tp: TcpSock, alive: boolean): number {
  let retries = tp.sk_net.ipv4!.sysctl_tcp_orphan_retries;
  if (tp.sk_err_soft && !alive) retries = 0;
  // If the socket sent something recently, select some safe number of retries.
  if (retries === 0 && alive) retries = 8;
  return retries;
}

/** tcp_model_timeout(): how long `boundary` retransmissions with backoff take (ms). */
function tcp_model_timeout(boundary: number, rto_base: number): number {
  const linear_backoff_thresh = 31 - Math.clz32(Math.floor(TCP_RTO_MAX / rto_base));
  let timeout: number;
  if (boundary <= linear_backoff_thresh) timeout = ((2 << boundary) - 1) * rto_base;
  else
    timeout =
      ((2 << linear_backoff_thresh) - 1) * rto_base + (boundary - linear_backoff_thresh) * TCP_RTO_MAX;
  return jiffies_to_msecs(timeout);
}

/** retransmits_timed_out(). */
function retransmits_timed_out(tp: TcpSock, boundary: number, timeout_ms: number): boolean {
  if (!tp.icsk_retransmits) return false;
  const start_ts = tp.retrans_stamp;
  if (timeout_ms === 0) {
    let rto_base = TCP_RTO_MIN;
    if (tp.sk_state === TCP_SYN_SENT || tp.sk_state === TCP_SYN_RECV) rto_base = TCP_TIMEOUT_INIT;
    timeout_ms = tcp_model_timeout(boundary, rto_base);
  }
  return tcp_clock_ms(tp.sk_net) - start_ts - timeout_ms >= 0;
}

/** tcp_write_timeout(): 1 when the connection is given up. */
function tcp_write_timeout(tp: TcpSock): number {
  const ipv4 = tp.sk_net.ipv4!;
  let expired = false;
  let retry_until: number;
  if (tp.sk_state === TCP_SYN_SENT || tp.sk_state === TCP_SYN_RECV) {
    retry_until = tp.icsk_syn_retries || ipv4.sysctl_tcp_syn_retries;
    let max_retransmits = retry_until;
    if (tp.sk_state === TCP_SYN_SENT) max_retransmits += ipv4.sysctl_tcp_syn_linear_timeouts;
    expired = tp.icsk_retransmits >= max_retransmits;
  } else {
    retry_until = ipv4.sysctl_tcp_retries2;
    if (sock_flag(tp, SOCK_DEAD)) {
      const alive = tp.icsk_rto < TCP_RTO_MAX;
      retry_until = tcp_orphan_retries(tp, alive);
    }
  }
  if (!expired) expired = retransmits_timed_out(tp, retry_until, tp.icsk_user_timeout);
  if (expired) {
    tcp_write_err(tp);
    return 1;
  }
  return 0;
}

/** tcp_retransmit_timer(). */
function tcp_retransmit_timer(tp: TcpSock): void {
  const net = tp.sk_net;
  if (!tp.packets_out) return;
  const skb = tcp_rtx_queue_head(tp);
  if (!skb) return;
  if (
    !tp.snd_wnd &&
    !sock_flag(tp, SOCK_DEAD) &&
    tp.sk_state !== TCP_SYN_SENT &&
    tp.sk_state !== TCP_SYN_RECV
  ) {
    // The receiver shrank its window to zero under our data: retransmissions become probes,
    // and the connection does not time out while the peer answers (but does after TCP_RTO_MAX
    // of silence).
    const rtx_delta = tcp_clock_ms(net) - (tp.retrans_stamp || tcp_clock_ms(net));
    const user_timeout = tp.icsk_user_timeout;
    if (user_timeout ? rtx_delta >= user_timeout : tcp_jiffies32(net) - tp.rcv_tstamp > TCP_RTO_MAX) {
      tcp_write_err(tp);
      return;
    }
    tcp_enter_loss(tp);
    tcp_retransmit_skb(tp, skb);
  } else {
    NET_INC_STATS(net, MIB_TCPTIMEOUTS);
    if (tcp_write_timeout(tp)) return;
    if (tp.icsk_retransmits === 0) {
      const sack = tcp_is_sack(tp);
      if (tp.icsk_ca_state === TCP_CA_Recovery)
        NET_INC_STATS(net, sack ? MIB_TCPSACKRECOVERYFAIL : MIB_TCPRENORECOVERYFAIL);
      else if (tp.icsk_ca_state === TCP_CA_Loss) NET_INC_STATS(net, MIB_TCPLOSSFAILURES);
      else if (tp.icsk_ca_state === TCP_CA_Disorder || tp.sacked_out)
        NET_INC_STATS(net, sack ? MIB_TCPSACKFAILURES : MIB_TCPRENOFAILURES);
    }
    tcp_enter_loss(tp);
    // tcp_update_rto_stats().
    if (!tp.icsk_retransmits) {
      tp.total_rto_recoveries++;
      tp.rto_stamp = tcp_clock_ms(net);
    }
    tp.icsk_retransmits++;
    tp.total_rto++;
    if (tcp_retransmit_skb(tp, tcp_rtx_queue_head(tp)!) > 0) {
      tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, TCP_RESOURCE_PROBE_INTERVAL);
      return;
    }
    tp.icsk_backoff++;
  }
  // out_reset_timer: exponential backoff, except the first SYN retransmissions
  // (tcp_syn_linear_timeouts) and thin streams with linear timeouts.
  if (
    tp.sk_state === TCP_ESTABLISHED &&
    (tp.thin_lto || net.ipv4!.sysctl_tcp_thin_linear_timeouts) &&
    tp.packets_out < 4 &&
    tp.icsk_retransmits <= 6
  ) {
    tp.icsk_backoff = 0;
    tp.icsk_rto = Math.min(Math.max(__tcp_set_rto(tp), tp.icsk_rto_min), TCP_RTO_MAX);
  } else if (tp.sk_state !== TCP_SYN_SENT || tp.total_rto > net.ipv4!.sysctl_tcp_syn_linear_timeouts) {
    tp.icsk_rto = Math.min(tp.icsk_rto << 1, TCP_RTO_MAX);
  }
  tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, tcp_clamp_rto_to_user_timeout(tp));
}

/** tcp_probe_timer(): the zero-window probe. */
function tcp_probe_timer(tp: TcpSock): void {
  const skb = tp.sk_write_queue.peek();
  if (tp.packets_out || !skb) {
    tp.icsk_probes_out = 0;
    tp.icsk_probes_tstamp = 0;
    return;
  }
  const now = tcp_jiffies32(tp.sk_net);
  if (!tp.icsk_probes_tstamp) tp.icsk_probes_tstamp = now;
  else {
    const user_timeout = tp.icsk_user_timeout;
    if (user_timeout && now - tp.icsk_probes_tstamp >= msecs_to_jiffies(user_timeout)) {
      tcp_write_err(tp);
      return;
    }
  }
  let max_probes = tp.sk_net.ipv4!.sysctl_tcp_retries2;
  if (sock_flag(tp, SOCK_DEAD)) {
    const alive = inet_csk_rto_backoff(tp, TCP_RTO_MAX) < TCP_RTO_MAX;
    max_probes = tcp_orphan_retries(tp, alive);
    if (!alive && tp.icsk_backoff >= max_probes) {
      tcp_write_err(tp);
      return;
    }
  }
  if (tp.icsk_probes_out >= max_probes) tcp_write_err(tp);
  else tcp_send_probe0(tp);
}

/** tcp_write_timer(): the retransmit-timer event that is pending. */
export function tcp_retransmit_timer_fn(t: Timer): void {
  const tp = t.data as TcpSock;
  if (tp.sk_state === TCP_CLOSE || tp.sk_state === TCP_LISTEN || !tp.icsk_pending) return;
  const event = tp.icsk_pending;
  // tcp_mstamp_refresh().
  tp.tcp_mstamp = tcp_clock_us(tp.sk_net);
  if (event === ICSK_TIME_REO_TIMEOUT) {
    tcp_rack_reo_timeout(tp);
    return;
  }
  if (event === ICSK_TIME_LOSS_PROBE) {
    // The probe clears icsk_pending itself once sent, so that the RTO restarts from now.
    tcp_send_loss_probe(tp);
    return;
  }
  tp.icsk_pending = 0;
  if (event === ICSK_TIME_RETRANS) tcp_retransmit_timer(tp);
  else if (event === ICSK_TIME_PROBE0) tcp_probe_timer(tp);
}

/** tcp_delack_timer_handler(). */
export function tcp_delack_timer_fn(t: Timer): void {
  const tp = t.data as TcpSock;
  if (tp.sk_state === TCP_CLOSE || tp.sk_state === TCP_LISTEN) return;
  const a = tp.icsk_ack;
  if (!(a.pending & ICSK_ACK_TIMER)) return;
  a.pending &= ~ICSK_ACK_TIMER;
  if (inet_csk_ack_scheduled(tp)) {
    if (!inet_csk_in_pingpong_mode(tp)) {
      // Delayed ACK missed: inflate ATO.
      a.ato = Math.min(a.ato << 1, tp.icsk_rto);
    } else {
      // Delayed ACK missed: leave pingpong mode and deflate ATO.
      inet_csk_exit_pingpong_mode(tp);
      a.ato = TCP_ATO_MIN;
    }
    tcp_send_ack(tp);
    NET_INC_STATS(tp.sk_net, MIB_DELAYEDACKS);
  }
}

/** keepalive_time_elapsed(). */
function keepalive_time_elapsed(tp: TcpSock): number {
  const now = tcp_jiffies32(tp.sk_net);
  return Math.min(now - tp.icsk_ack.lrcvtime, now - tp.rcv_tstamp);
}

/** tcp_keepalive_timer(): keepalive probes, and the end of an orphan's FIN_WAIT2. */
export function tcp_keepalive_timer_fn(t: Timer): void {
  const tp = t.data as TcpSock;
  if (tp.sk_state === TCP_LISTEN) return;
  if (tp.sk_state === TCP_FIN_WAIT2 && sock_flag(tp, SOCK_DEAD)) {
    if (tp.linger2 >= 0) {
      const tmo = tcp_fin_time(tp) - TCP_TIMEWAIT_LEN;
      if (tmo > 0) {
        tcp_time_wait(tp, TCP_FIN_WAIT2, tmo);
        return;
      }
    }
    tcp_send_active_reset(tp);
    tcp_done(tp);
    return;
  }
  if (!sock_flag(tp, SOCK_KEEPOPEN) || tp.sk_state === TCP_CLOSE || tp.sk_state === TCP_SYN_SENT) return;
  let elapsed = keepalive_time_when(tp);
  // It is alive without keepalive.
  if (!(tp.packets_out || !tp.sk_write_queue.empty())) {
    elapsed = keepalive_time_elapsed(tp);
    if (elapsed >= keepalive_time_when(tp)) {
      const user_timeout = tp.icsk_user_timeout;
      if (
        (user_timeout !== 0 && elapsed >= msecs_to_jiffies(user_timeout) && tp.icsk_probes_out > 0) ||
        (user_timeout === 0 && tp.icsk_probes_out >= keepalive_probes(tp))
      ) {
        tcp_send_active_reset(tp);
        tcp_write_err(tp);
        return;
      }
      if (tcp_write_wakeup(tp, MIB_KEEPALIVE) <= 0) {
        tp.icsk_probes_out++;
        elapsed = keepalive_intvl_when(tp);
      } else elapsed = TCP_RESOURCE_PROBE_INTERVAL;
    } else elapsed = keepalive_time_when(tp) - elapsed;
  }
  inet_csk_reset_keepalive_timer(tp, elapsed);
}

/** tcp_set_keepalive(): SO_KEEPALIVE starts or stops the timer. */
export function tcp_set_keepalive(tp: TcpSock, val: boolean): void {
  if (tp.sk_state === TCP_CLOSE || tp.sk_state === TCP_LISTEN) return;
  if (val && !sock_flag(tp, SOCK_KEEPOPEN)) inet_csk_reset_keepalive_timer(tp, keepalive_time_when(tp));
  else if (!val) tp.sk_net.kernel.clock.del_timer(tp.sk_timer);
}
