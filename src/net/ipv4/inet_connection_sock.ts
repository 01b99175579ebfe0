// Connection-oriented socket support (net/ipv4/inet_connection_sock.c,
// include/net/inet_connection_sock.h, net/core/request_sock.c): the retransmit / delayed-ACK /
// keepalive timers, listen start and stop, the accept queue, and accept().

import type { SkBuff } from '../core/skbuff.js';
import {
  TCP_CLOSE,
  TCP_LISTEN,
  TCP_ESTABLISHED,
  TCP_SYN_RECV,
  sock_error,
  sk_wq,
  SOCK_DEAD,
  sock_flag,
} from '../core/sock.js';
import { prepare_to_wait } from '../../kernel/sched.js';
import { NSEC_PER_JIFFY } from '../../kernel/time.js';
import * as E from '../../uapi/errno.js';
import { O_NONBLOCK } from '../../uapi/fcntl.js';
import {
  TcpSock,
  RequestSock,
  ICSK_TIME_RETRANS,
  ICSK_TIME_DACK,
  ICSK_TIME_PROBE0,
  ICSK_TIME_LOSS_PROBE,
  ICSK_TIME_REO_TIMEOUT,
  TCP_RTO_MAX,
  ICSK_ACK_SCHED,
} from './tcp_sock.js';
import { inet_csk_get_port, inet_hash, inet_unhash } from './inet_hashtables.js';

/** inet_csk_reset_xmit_timer(): arm the retransmit timer for `what`, `when` jiffies from now. */
export function inet_csk_reset_xmit_timer(sk: TcpSock, what: number, when: number, max_when: number): void {
  if (when > max_when) when = max_when;
  const clock = sk.sk_net.kernel.clock;
  const expires = clock.now() + when * NSEC_PER_JIFFY;
  if (
    what === ICSK_TIME_RETRANS ||
    what === ICSK_TIME_PROBE0 ||
    what === ICSK_TIME_LOSS_PROBE ||
    what === ICSK_TIME_REO_TIMEOUT
  ) {
    sk.icsk_pending = what;
    sk.icsk_timeout = expires;
    clock.mod_timer(sk.icsk_retransmit_timer, expires);
  } else if (what === ICSK_TIME_DACK) {
    sk.icsk_ack.pending |= 2; // ICSK_ACK_TIMER
    sk.icsk_ack.timeout = Math.floor(expires / NSEC_PER_JIFFY);
    clock.mod_timer(sk.icsk_delack_timer, expires);
  }
}

/** inet_csk_clear_xmit_timer(). */
export function inet_csk_clear_xmit_timer(sk: TcpSock, what: number): void {
  const clock = sk.sk_net.kernel.clock;
  if (what === ICSK_TIME_RETRANS || what === ICSK_TIME_PROBE0) {
    sk.icsk_pending = 0;
    clock.del_timer(sk.icsk_retransmit_timer);
  } else if (what === ICSK_TIME_DACK) {
    sk.icsk_ack.pending = 0;
    sk.icsk_ack.retry = 0;
    clock.del_timer(sk.icsk_delack_timer);
  }
}

/** inet_csk_clear_xmit_timers(): stop them all. */
export function inet_csk_clear_xmit_timers(sk: TcpSock): void {
  const clock = sk.sk_net.kernel.clock;
  sk.icsk_pending = 0;
  sk.icsk_ack.pending = 0;
  clock.del_timer(sk.icsk_retransmit_timer);
  clock.del_timer(sk.icsk_delack_timer);
  clock.del_timer(sk.sk_timer);
}

/** inet_csk_reset_keepalive_timer(): sk_timer in `len` jiffies. */
export function inet_csk_reset_keepalive_timer(sk: TcpSock, len: number): void {
  const clock = sk.sk_net.kernel.clock;
  clock.mod_timer(sk.sk_timer, clock.now() + len * NSEC_PER_JIFFY);
}

/** inet_csk_delete_keepalive_timer(). */
export function inet_csk_delete_keepalive_timer(sk: TcpSock): void {
  sk.sk_net.kernel.clock.del_timer(sk.sk_timer);
}

/** inet_csk_rto_backoff(): RTO << backoff, capped. */
export function inet_csk_rto_backoff(sk: TcpSock, max_when: number): number {
  const when = sk.icsk_rto * 2 ** sk.icsk_backoff;
  return Math.min(when, max_when);
}

/** inet_csk_schedule_ack(). */
export function inet_csk_schedule_ack(sk: TcpSock): void {
  sk.icsk_ack.pending |= ICSK_ACK_SCHED;
}

/** inet_csk_ack_scheduled(). */
export function inet_csk_ack_scheduled(sk: TcpSock): boolean {
  return (sk.icsk_ack.pending & ICSK_ACK_SCHED) !== 0;
}

/** inet_csk_delack_init(). */
export function inet_csk_delack_init(sk: TcpSock): void {
  const a = sk.icsk_ack;
  a.pending =
    a.quick =
    a.pingpong =
    a.retry =
    a.ato =
    a.timeout =
    a.lrcvtime =
    a.last_seg_size =
    a.rcv_mss =
      0;
}

/** inet_csk_in_pingpong_mode(). */
export function inet_csk_in_pingpong_mode(sk: TcpSock): boolean {
  return sk.icsk_ack.pingpong >= sk.sk_net.ipv4!.sysctl_tcp_pingpong_thresh;
}

/** inet_csk_exit_pingpong_mode(). */
export function inet_csk_exit_pingpong_mode(sk: TcpSock): void {
  sk.icsk_ack.pingpong = 0;
}

/** inet_csk_enter_pingpong_mode(). */
export function inet_csk_enter_pingpong_mode(sk: TcpSock): void {
  sk.icsk_ack.pingpong = sk.sk_net.ipv4!.sysctl_tcp_pingpong_thresh;
}

// ——— listen ————————————————————————————————————————————————————————————————————————

/** inet_csk_listen_start(): take (or re-check) the port and join the listening hash. */
export function inet_csk_listen_start(sk: TcpSock): number {
  const q = sk.icsk_accept_queue;
  q.rskq_accept_head = q.rskq_accept_tail = null;
  q.qlen = q.young = 0;
  sk.sk_ack_backlog = 0;
  inet_csk_delack_init(sk);
  // There is a race window here: we announce ourselves listening, but this transition is still
  // not validated by get_port(); it is, right below.
  sk.sk_state = TCP_LISTEN;
  if (!inet_csk_get_port(sk, sk.inet_num)) {
    sk.inet_sport = sk.inet_num;
    inet_hash(sk);
    return 0;
  }
  sk.sk_state = TCP_CLOSE;
  return -E.EADDRINUSE;
}

/** struct fastopen_queue: what TCP_FASTOPEN sets on a listener. */
export interface FastopenQueue {
  /** Passive TFO connections allowed to wait in SYN_RECV (0: TFO is off for the listener). */
  max_qlen: number;
}

declare module './tcp_sock.js' {
  interface RequestSockQueue {
    /** fastopenq of struct request_sock_queue (made by the first TCP_FASTOPEN). */
    fastopenq?: FastopenQueue;
  }
}

/** fastopen_queue_tune(): TCP_FASTOPEN's backlog, capped by net.core.somaxconn. */
export function fastopen_queue_tune(sk: TcpSock, backlog: number): void {
  const somaxconn = sk.sk_net.core.sysctl_somaxconn;
  const q = (sk.icsk_accept_queue.fastopenq ??= { max_qlen: 0 });
  q.max_qlen = Math.min(backlog >>> 0, somaxconn >>> 0);
}

/** reqsk_queue_add() / inet_csk_reqsk_queue_add(): a completed connection waits for accept. */
export function inet_csk_reqsk_queue_add(listener: TcpSock, req: RequestSock, child: TcpSock): boolean {
  if (listener.sk_state !== TCP_LISTEN) return false;
  const q = listener.icsk_accept_queue;
  req.sk = child;
  req.dl_next = null;
  if (q.rskq_accept_head === null) q.rskq_accept_head = req;
  else q.rskq_accept_tail!.dl_next = req;
  q.rskq_accept_tail = req;
  listener.sk_ack_backlog++;
  return true;
}

/** reqsk_queue_remove(): the first completed connection. */
function reqsk_queue_remove(listener: TcpSock): RequestSock | null {
  const q = listener.icsk_accept_queue;
  const req = q.rskq_accept_head;
  if (req) {
    listener.sk_ack_backlog--;
    q.rskq_accept_head = req.dl_next;
    if (q.rskq_accept_head === null) q.rskq_accept_tail = null;
    req.dl_next = null;
  }
  return req;
}

/** sk_acceptq_is_full(). */
export function sk_acceptq_is_full(sk: TcpSock): boolean {
  return sk.sk_ack_backlog > sk.sk_max_ack_backlog;
}

/** inet_csk_reqsk_queue_is_full(): the SYN queue is at the backlog. */
export function inet_csk_reqsk_queue_is_full(sk: TcpSock): boolean {
  return sk.icsk_accept_queue.qlen >= sk.sk_max_ack_backlog;
}

/**
 * inet_csk_accept(): the first completed connection, or sleep for one (inet_csk_wait_for_connect)
 * unless O_NONBLOCK. Returns the child or a negative errno.
 */
export function inet_csk_accept(sk: TcpSock, flags: number): TcpSock | number {
  if (sk.sk_state !== TCP_LISTEN) return -E.EINVAL;
  const q = sk.icsk_accept_queue;
  if (!q.rskq_accept_head) {
    const e = sock_error(sk);
    if (e) return e;
    if (flags & O_NONBLOCK) return -E.EAGAIN;
    const wq = sk_wq(sk);
    if (wq) prepare_to_wait(wq, sk.sk_rcvtimeo, true);
    return -E.EAGAIN;
  }
  const req = reqsk_queue_remove(sk)!;
  const child = req.sk!;
  child.parent = null;
  child.req = null;
  return child;
}

/**
 * inet_csk_listen_stop(): close every connection that was never accepted (each gets a RST as
 * an abortive close) and forget the SYN queue.
 */
export function inet_csk_listen_stop(
  sk: TcpSock,
  close_child: (child: TcpSock) => void,
  drop_req: (req: RequestSock) => void,
): void {
  let req: RequestSock | null;
  while ((req = reqsk_queue_remove(sk))) {
    const child = req.sk!;
    child.parent = null;
    close_child(child);
  }
  if (sk.pending_reqs) for (const r of [...sk.pending_reqs]) drop_req(r);
  sk.pending_reqs = null;
  sk.icsk_accept_queue.qlen = 0;
  sk.icsk_accept_queue.young = 0;
  inet_unhash(sk);
}

/** The states in which inet_csk has an established-like child. */
export function inet_csk_child_ready(child: TcpSock): boolean {
  return child.sk_state === TCP_ESTABLISHED || child.sk_state === TCP_SYN_RECV || sock_flag(child, SOCK_DEAD);
}

export { TCP_RTO_MAX };
export type { SkBuff };
