// struct sock (include/net/sock.h, net/core/sock.c): the protocol-independent socket state,
// its queues, callbacks and memory accounting, and the SOL_SOCKET options.

import type { Socket } from '../socket.js';
import type { Net } from './net_namespace.js';
import type { Cred } from '../../kernel/cred.js';
import { SkBuff, SkBuffHead, kfree_skb, alloc_skb_with_frags } from './skbuff.js';
import { prepare_to_wait } from '../../kernel/sched.js';
import { EAGAIN, EPIPE } from '../../uapi/errno.js';
import {
  wake_up_interruptible_all,
  wake_up_interruptible_poll,
  wake_up_interruptible_sync_poll,
  waitqueue_active,
} from '../../kernel/wait.js';
import { MAX_SCHEDULE_TIMEOUT } from '../../kernel/time.js';
import {
  POLLERR,
  POLLIN,
  POLLOUT,
  POLLPRI,
  POLLRDBAND,
  POLLRDNORM,
  POLLWRBAND,
  POLLWRNORM,
} from '../../uapi/poll.js';
import { SOCK_NOSPACE, SEND_SHUTDOWN } from '../../uapi/socket.js';

/** sk_state values shared by protocols (include/net/tcp_states.h). */
export const TCP_ESTABLISHED = 1;
export const TCP_SYN_SENT = 2;
export const TCP_SYN_RECV = 3;
export const TCP_FIN_WAIT1 = 4;
export const TCP_FIN_WAIT2 = 5;
export const TCP_TIME_WAIT = 6;
export const TCP_CLOSE = 7;
export const TCP_CLOSE_WAIT = 8;
export const TCP_LAST_ACK = 9;
export const TCP_LISTEN = 10;
export const TCP_CLOSING = 11;

/** sk_userlocks bits. */
export const SOCK_SNDBUF_LOCK = 1;
export const SOCK_RCVBUF_LOCK = 2;
export const SOCK_BINDADDR_LOCK = 4;
export const SOCK_BINDPORT_LOCK = 8;

/** sk_flags bits (enum sock_flags). */
export const SOCK_DEAD = 0;
export const SOCK_DONE = 1;
export const SOCK_URGINLINE = 2;
export const SOCK_KEEPOPEN = 3;
export const SOCK_LINGER = 4;
export const SOCK_DESTROY = 5;
export const SOCK_BROADCAST = 6;
export const SOCK_TIMESTAMP = 7;
export const SOCK_ZAPPED = 8;
export const SOCK_RCVTSTAMP = 13;
export const SOCK_RCVTSTAMPNS = 14;

/** TCP_SKB_MIN_TRUESIZE = 2048 + SKB_DATA_ALIGN(sizeof(struct sk_buff)). */
export const TCP_SKB_MIN_TRUESIZE = 2048 + 256;
export const SOCK_MIN_SNDBUF = TCP_SKB_MIN_TRUESIZE * 2;
export const SOCK_MIN_RCVBUF = TCP_SKB_MIN_TRUESIZE;
export const INT_MAX = 0x7fffffff;

/** struct proto: the transport's operations on a struct sock (include/net/sock.h). */
export interface Proto {
  readonly name: string;
  /** What sk_alloc makes (the kernel's obj_size: the protocol's own sock structure). */
  alloc(net: Net): Sock;
  init?(sk: Sock): number;
  close?(sk: Sock, timeout: number): void;
  destroy?(sk: Sock): void;
  /** SO_KEEPALIVE changed (tcp_set_keepalive). */
  keepalive?(sk: Sock, on: boolean): void;
}

export type SockCallback = (sk: Sock) => void;

/** ~0UL as a pacing rate: no limit. */
export const SK_PACING_UNLIMITED = 2 ** 64;
/** enum sk_pacing. */
export const SK_PACING_NONE = 0;
export const SK_PACING_NEEDED = 1;
export const SK_PACING_FQ = 2;

/** struct sock. */
export class Sock {
  sk_family = 0;
  sk_type = 0;
  sk_protocol = 0;
  sk_state = TCP_CLOSE;
  sk_shutdown = 0;
  sk_err = 0;
  sk_err_soft = 0;
  sk_flags = 0;
  sk_reuse = 0;
  /** SO_REUSEPORT. */
  sk_reuseport = 0;
  /** SO_NO_CHECK: send UDP without a checksum. */
  sk_no_check_tx = 0;
  sk_userlocks = 0;
  sk_socket: Socket | null = null;
  sk_prot!: Proto;

  sk_receive_queue = new SkBuffHead();
  sk_write_queue = new SkBuffHead();
  sk_error_queue = new SkBuffHead();
  /** Packets that arrived while the socket was owned by a user call (sk_add_backlog). */
  sk_backlog = new SkBuffHead();

  sk_rcvbuf = 0;
  sk_sndbuf = 0;
  /** Receive memory in use (sk_rmem_alloc). */
  sk_rmem_alloc = 0;
  /** Send memory in use (sk_wmem_alloc, without the kernel's +1 bias). */
  sk_wmem_alloc = 0;
  /** Bytes queued for sending and not yet acknowledged (TCP's send buffer use). */
  sk_wmem_queued = 0;
  sk_rcvlowat = 1;
  /** SO_RCVTIMEO / SO_SNDTIMEO in nanoseconds; MAX_SCHEDULE_TIMEOUT = no timeout. */
  sk_rcvtimeo = MAX_SCHEDULE_TIMEOUT;
  sk_sndtimeo = MAX_SCHEDULE_TIMEOUT;
  /** SO_LINGER seconds, in nanoseconds. */
  sk_lingertime = 0;
  sk_peek_off = -1;
  sk_max_ack_backlog = 0;
  sk_ack_backlog = 0;
  sk_priority = 0;
  sk_mark = 0;
  /** sk_pacing_rate: bytes per second the transport wants to send at (~0UL: unlimited). */
  sk_pacing_rate = SK_PACING_UNLIMITED;
  /** SO_MAX_PACING_RATE. */
  sk_max_pacing_rate = SK_PACING_UNLIMITED;
  /** sk_pacing_status: who paces — nobody, the transport itself, or sch_fq. */
  sk_pacing_status = SK_PACING_NONE;
  /** sk_pacing_shift: TSQ and TSO autosizing budget, 2^-shift seconds of the pacing rate. */
  sk_pacing_shift = 10;

  /** SO_PEERCRED. */
  sk_peer_pid = 0;
  sk_peer_cred: Cred | null = null;

  sk_data_ready: SockCallback = sock_def_readable;
  sk_write_space: SockCallback = sock_def_write_space;
  sk_state_change: SockCallback = sock_def_wakeup;
  sk_error_report: SockCallback = sock_def_error_report;
  sk_destruct: SockCallback | null = null;

  constructor(public sk_net: Net) {}
}

export function sock_flag(sk: Sock, flag: number): boolean {
  return (sk.sk_flags & (1 << flag)) !== 0;
}
export function sock_set_flag(sk: Sock, flag: number): void {
  sk.sk_flags |= 1 << flag;
}
export function sock_reset_flag(sk: Sock, flag: number): void {
  sk.sk_flags &= ~(1 << flag);
}
export function sock_valbool_flag(sk: Sock, flag: number, on: boolean): void {
  if (on) sock_set_flag(sk, flag);
  else sock_reset_flag(sk, flag);
}

/** sk_alloc(). */
export function sk_alloc(net: Net, family: number, prot: Proto): Sock {
  const sk = prot.alloc(net);
  sk.sk_family = family;
  sk.sk_prot = prot;
  return sk;
}

/** sock_init_data(): tie the sock to its socket and install the default state and callbacks. */
export function sock_init_data(sock: Socket | null, sk: Sock): void {
  const net = sk.sk_net;
  sk.sk_rcvbuf = net.core.sysctl_rmem_default;
  sk.sk_sndbuf = net.core.sysctl_wmem_default;
  sk.sk_state = TCP_CLOSE;
  sk.sk_rcvlowat = 1;
  sk.sk_rcvtimeo = MAX_SCHEDULE_TIMEOUT;
  sk.sk_sndtimeo = MAX_SCHEDULE_TIMEOUT;
  sk.sk_peek_off = -1;
  sk.sk_data_ready = sock_def_readable;
  sk.sk_write_space = sock_def_write_space;
  sk.sk_state_change = sock_def_wakeup;
  sk.sk_error_report = sock_def_error_report;
  if (sock) {
    sk.sk_type = sock.type;
    sock.sk = sk;
  }
  sk.sk_socket = sock;
}

/** sk_sleep(): the wait queue of the socket's file, if it still has one. */
export function sk_wq(sk: Sock) {
  return sk.sk_socket ? sk.sk_socket.wq.wait : null;
}

/** sock_def_wakeup(): state changed — wake everyone. */
export function sock_def_wakeup(sk: Sock): void {
  const wq = sk_wq(sk);
  if (wq && waitqueue_active(wq)) wake_up_interruptible_all(wq);
}

/** sock_def_error_report(). */
export function sock_def_error_report(sk: Sock): void {
  const wq = sk_wq(sk);
  if (wq && waitqueue_active(wq)) wake_up_interruptible_poll(wq, POLLERR);
}

/** sock_def_readable(): data arrived. */
export function sock_def_readable(sk: Sock): void {
  const wq = sk_wq(sk);
  if (wq && waitqueue_active(wq))
    wake_up_interruptible_sync_poll(wq, POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND);
}

/** sock_def_write_space(): wake writers once at least half the send buffer is free. */
export function sock_def_write_space(sk: Sock): void {
  if (sk.sk_wmem_alloc << 1 <= sk.sk_sndbuf) {
    const wq = sk_wq(sk);
    if (wq && waitqueue_active(wq)) wake_up_interruptible_sync_poll(wq, POLLOUT | POLLWRNORM | POLLWRBAND);
  }
}

/** sock_writeable(). */
export function sock_writeable(sk: Sock): boolean {
  return sk.sk_wmem_alloc < sk.sk_sndbuf >> 1;
}

/** sk_set_bit(SOCKWQ_ASYNC_NOSPACE)-like: remember a writer found no room. */
export function sk_set_nospace(sk: Sock): void {
  if (sk.sk_socket) sk.sk_socket.flags |= 1 << SOCK_NOSPACE;
}

/** sock_wfree(): the destructor of an skb charged to its sender's send buffer. */
export function sock_wfree(skb: SkBuff): void {
  const sk = skb.sk!;
  sk.sk_wmem_alloc -= skb.truesize;
  sk.sk_write_space(sk);
}

/** skb_set_owner_w(). */
export function skb_set_owner_w(skb: SkBuff, sk: Sock): void {
  skb.sk = sk;
  skb.destructor = sock_wfree;
  sk.sk_wmem_alloc += skb.truesize;
}

/** sock_rfree(). */
export function sock_rfree(skb: SkBuff): void {
  skb.sk!.sk_rmem_alloc -= skb.truesize;
}

/** skb_set_owner_r(). */
export function skb_set_owner_r(skb: SkBuff, sk: Sock): void {
  skb.sk = sk;
  skb.destructor = sock_rfree;
  sk.sk_rmem_alloc += skb.truesize;
}

/**
 * The checks sock_alloc_send_pskb() makes before it allocates: a pending error, a shut-down
 * sender, then a full send buffer — where a caller that may sleep is queued on the socket's
 * wait queue (see kernel/sched.ts) and everyone gets -EAGAIN. Returns 0 when there is room.
 */
export function sock_alloc_send_check(sk: Sock, noblock: boolean): number {
  const e = sock_error(sk);
  if (e) return e;
  if (sk.sk_shutdown & SEND_SHUTDOWN) return -EPIPE;
  if (sk.sk_wmem_alloc >= sk.sk_sndbuf) {
    sk_set_nospace(sk);
    const timeo = sock_sndtimeo(sk, noblock);
    const wq = sk_wq(sk);
    if (timeo && wq) prepare_to_wait(wq, timeo);
    return -EAGAIN;
  }
  return 0;
}

/** sock_alloc_send_pskb(): `header_len` + `data_len` bytes charged to the sender, or null with `err.v`. */
export function sock_alloc_send_pskb(
  sk: Sock,
  header_len: number,
  data_len: number,
  noblock: boolean,
  err: { v: number },
): SkBuff | null {
  const e = sock_alloc_send_check(sk, noblock);
  if (e) {
    err.v = e;
    return null;
  }
  const skb = alloc_skb_with_frags(header_len, data_len);
  skb_set_owner_w(skb, sk);
  return skb;
}

/** sock_rcvtimeo(). */
export function sock_rcvtimeo(sk: Sock, noblock: boolean): number {
  return noblock ? 0 : sk.sk_rcvtimeo;
}

/** sock_sndtimeo(). */
export function sock_sndtimeo(sk: Sock, noblock: boolean): number {
  return noblock ? 0 : sk.sk_sndtimeo;
}

/** sock_rcvlowat(): how much a read must gather before it returns. */
export function sock_rcvlowat(sk: Sock, waitall: boolean, len: number): number {
  const v = waitall ? len : Math.min(sk.sk_rcvlowat, len);
  return v || 1;
}

/** sock_error(): fetch and clear sk_err, as a negative errno. */
export function sock_error(sk: Sock): number {
  const err = sk.sk_err;
  if (!err) return 0;
  sk.sk_err = 0;
  return -err;
}

/** sock_orphan(): the socket is leaving its file. */
export function sock_orphan(sk: Sock): void {
  sock_set_flag(sk, SOCK_DEAD);
  sk.sk_socket = null;
}

/** sk_free(): the last reference: purge what the sock still holds. */
export function sk_free(sk: Sock): void {
  sk.sk_destruct?.(sk);
  sk.sk_receive_queue.purge();
  sk.sk_error_queue.purge();
  sk.sk_write_queue.purge();
}

/** Free every skb on `q` — the kernel's __skb_queue_purge with kfree_skb. */
export function skb_queue_purge(q: SkBuffHead): void {
  q.purge();
}

export { kfree_skb };
