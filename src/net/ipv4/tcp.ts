// TCP at the socket layer (net/ipv4/tcp.c, parts of net/ipv4/af_inet.c and net/core/stream.c):
// socket initialisation, tcp_sendmsg, tcp_recvmsg, poll, ioctl, shutdown, close, disconnect, the
// SOL_TCP options and TCP_INFO, the stream socket operations (inet_stream_ops) and tcp_prot.

import { tcp_probe_event } from './tcp_trace.js';
import { put_optval_int } from '../core/sock_opt.js';
import type { Net } from '../core/net_namespace.js';
import type { SkBuff } from '../core/skbuff.js';
import {
  Sock,
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_CLOSING,
  TCP_ESTABLISHED,
  TCP_FIN_WAIT1,
  TCP_FIN_WAIT2,
  TCP_LAST_ACK,
  TCP_LISTEN,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIME_WAIT,
  SOCK_DEAD,
  SOCK_DONE,
  SOCK_KEEPOPEN,
  SOCK_LINGER,
  SOCK_URGINLINE,
  SOCK_BINDPORT_LOCK,
  SOCK_BINDADDR_LOCK,
  SOCK_MIN_RCVBUF,
  SOCK_RCVBUF_LOCK,
  sock_flag,
  sock_set_flag,
  sock_reset_flag,
  sock_error,
  sock_rcvtimeo,
  sock_sndtimeo,
  sock_rcvlowat,
  sk_wq,
  sock_orphan,
  SK_PACING_UNLIMITED,
} from '../core/sock.js';
import { kfree_skb } from '../core/skbuff.js';
import {
  InetSock,
  inet_bind,
  inet_getname,
  inet_sk_init,
  inet_ioctl,
  sk_peek_offset_update,
  ENOIOCTLCMD,
  type InetProto,
} from './inet_dgram.js';
import {
  inet_register_protosw,
  INET_PROTOSW_PERMANENT,
  INET_PROTOSW_ICSK,
  type InetProtosw,
} from './af_inet.js';
import { inet_add_protocol } from './protocol.js';
import { ip_setsockopt, ip_getsockopt, ip_recv_error } from './ip_sockglue.js';
import {
  sock_no_mmap,
  sock_no_sendpage,
  sock_no_socketpair,
  sock_no_splice_read,
  type Msghdr,
  type ProtoOps,
  type Socket,
  put_cmsg,
} from '../socket.js';
import { SOCK_INODE } from '../sockfs.js';
import type { File, IoctlArg, PollTable } from '../../kernel/fs.js';
import { poll_wait } from '../../kernel/fs.js';
import { POW2 } from '../../kernel/bitops.js';
import { prepare_to_wait, in_task, current } from '../../kernel/sched.js';
import { wake_up_interruptible_poll, waitqueue_active } from '../../kernel/wait.js';
import { HZ } from '../../kernel/time.js';
import * as E from '../../uapi/errno.js';
import * as S from '../../uapi/socket.js';
import * as P from '../../uapi/poll.js';
import * as T from '../../uapi/tcp.js';
import { O_NONBLOCK } from '../../uapi/fcntl.js';
import { IPPROTO_TCP } from '../../uapi/in.js';
import {
  TcpSock,
  tcp_sk,
  TCP_SKB_CB,
  TCP_MSS_DEFAULT,
  TCP_TIMEOUT_INIT,
  TCP_RTO_MIN,
  TCP_RTO_MAX,
  TCP_DELACK_MAX,
  TCP_INIT_CWND,
  TCP_INFINITE_SSTHRESH,
  TCP_FIN_TIMEOUT_MAX,
  TCP_TIMEWAIT_LEN,
  TCP_NAGLE_OFF,
  TCP_NAGLE_CORK,
  TCP_NAGLE_PUSH,
  TCP_URG_VALID,
  TCP_URG_READ,
  ICSK_ACK_PUSHED,
  ICSK_ACK_PUSHED2,
  MAX_TCP_WINDOW,
  after,
  before,
  tcp_jiffies32,
  tcp_clock_ms,
  tcp_receive_window,
  jiffies_to_usecs,
  jiffies_to_msecs,
  keepalive_time_when,
  keepalive_intvl_when,
  keepalive_probes,
  tcp_fin_time,
  tcp_rtx_and_write_queues_empty,
  tsorted_init,
} from './tcp_sock.js';
import {
  inet_csk_accept,
  inet_csk_listen_start,
  inet_csk_listen_stop,
  inet_csk_clear_xmit_timers,
  inet_csk_reset_keepalive_timer,
  inet_csk_delete_keepalive_timer,
  inet_csk_ack_scheduled,
  inet_csk_delack_init,
  inet_csk_in_pingpong_mode,
  inet_csk_enter_pingpong_mode,
  inet_csk_exit_pingpong_mode,
  fastopen_queue_tune,
} from './inet_connection_sock.js';
import { inet_csk_get_port, inet_put_port, inet_unhash } from './inet_hashtables.js';
import {
  tcp_send_mss,
  tcp_stream_alloc_skb,
  tcp_skb_entail,
  pskb_expand_head,
  forced_push,
  tcp_mark_push,
  tcp_chrono_stop,
  tcp_chrono_stats,
  TCP_CHRONO_SNDBUF_LIMITED,
  tcp_push,
  tcp_push_one,
  __tcp_push_pending_frames,
  tcp_push_pending_frames,
  tcp_send_fin,
  tcp_send_active_reset,
  tcp_send_ack,
  __tcp_select_window,
  tcp_clear_retrans,
  tcp_current_mss,
} from './tcp_output.js';
import { tcp_v4_connect, tcp_v4_rcv, tcp_v4_err, tcp_v4_destroy_sock, tcp_v4_drop_req } from './tcp_ipv4.js';
import {
  tcp_retransmit_timer_fn,
  tcp_delack_timer_fn,
  tcp_keepalive_timer_fn,
  tcp_set_keepalive,
} from './tcp_timer.js';
import { tcp_time_wait } from './tcp_minisocks.js';
import { tcp_ecn_mode_rfc3168, TCP_ECN_SEEN } from './tcp_ecn.js';
import { tcp_rcv_space_adjust } from './tcp_input.js';
import {
  tcp_assign_congestion_control,
  tcp_set_congestion_control,
  tcp_ca_name,
  tcp_set_ca_state,
} from './tcp_cong.js';
import {
  TCP_INC_STATS,
  NET_INC_STATS,
  linux_mib_index,
  net_mib,
  TCP_MIB_CURRESTAB,
  TCP_MIB_ESTABRESETS,
  TCP_MIB_ATTEMPTFAILS,
} from './snmp.js';
import { TCP_ca_names_register } from './tcp_cong.js';
import { cubictcp_register } from './tcp_cubic.js';

const MIB_TCPABORTONCLOSE = linux_mib_index('TCPAbortOnClose');
const MIB_TCPABORTONDATA = linux_mib_index('TCPAbortOnData');
const MIB_TCPABORTONLINGER = linux_mib_index('TCPAbortOnLinger');

const TCPF = (s: number): number => 1 << s;

// ——— state ————————————————————————————————————————————————————————————————————————

/** tcp_set_state(): CurrEstab, and leaving the hashes on TCP_CLOSE. */
export function tcp_set_state(sk: TcpSock, state: number): void {
  const oldstate = sk.sk_state;
  const mib = net_mib(sk.sk_net).tcp_statistics;
  if (state === TCP_ESTABLISHED) {
    if (oldstate !== TCP_ESTABLISHED) TCP_INC_STATS(sk.sk_net, TCP_MIB_CURRESTAB);
  } else {
    if (state === TCP_CLOSE) {
      if (oldstate === TCP_CLOSE_WAIT || oldstate === TCP_ESTABLISHED)
        TCP_INC_STATS(sk.sk_net, TCP_MIB_ESTABRESETS);
      inet_unhash(sk);
      if (sk.icsk_bind_hash && !(sk.sk_userlocks & SOCK_BINDPORT_LOCK)) inet_put_port(sk);
    }
    if (oldstate === TCP_ESTABLISHED || oldstate === TCP_CLOSE_WAIT) mib[TCP_MIB_CURRESTAB]--;
  }
  sk.sk_state = state;
}

/** tcp_done(): the connection is over. */
export function tcp_done(sk: TcpSock): void {
  if (sk.sk_state === TCP_SYN_SENT || sk.sk_state === TCP_SYN_RECV)
    TCP_INC_STATS(sk.sk_net, TCP_MIB_ATTEMPTFAILS);
  tcp_set_state(sk, TCP_CLOSE);
  inet_csk_clear_xmit_timers(sk);
  sk.sk_shutdown = S.SHUTDOWN_MASK;
  if (!sock_flag(sk, SOCK_DEAD)) sk.sk_state_change(sk);
  else inet_csk_destroy_sock(sk);
}

/** tcp_done_with_error(). */
export function tcp_done_with_error(sk: TcpSock, err: number): void {
  sk.sk_err = err;
  sk.sk_error_report(sk);
  tcp_write_queue_purge(sk);
  tcp_done(sk);
}

/** inet_csk_destroy_sock(): an orphan is gone for good. */
export function inet_csk_destroy_sock(sk: TcpSock): void {
  tcp_v4_destroy_sock(sk);
  if (sk.icsk_bind_hash) inet_put_port(sk);
}

/** tcp_write_queue_purge(). */
export function tcp_write_queue_purge(sk: TcpSock): void {
  let skb: SkBuff | null;
  while ((skb = sk.sk_write_queue.dequeue())) tcp_sk_wmem_free_skb(sk, skb);
  while ((skb = sk.tcp_rtx_queue.dequeue())) tcp_sk_wmem_free_skb(sk, skb);
  if (sk.tsorted_sent_queue) tsorted_init(sk.tsorted_sent_queue);
  sk.packets_out = 0;
  tcp_clear_retrans(sk);
}

/** tcp_wmem_free_skb(): uncharge and free a send-side skb. */
export function tcp_sk_wmem_free_skb(sk: TcpSock, skb: SkBuff): void {
  sk.sk_wmem_queued -= skb.truesize;
  skb.sk = null;
  kfree_skb(skb);
}

// ——— initialisation ——————————————————————————————————————————————————————————————

/** tcp_init_sock(). */
export function tcp_init_sock(sk: Sock): number {
  const tp = tcp_sk(sk);
  const net = sk.sk_net.ipv4!;
  inet_sk_init(tp);
  tp.icsk_rto = TCP_TIMEOUT_INIT;
  tp.icsk_rto_min = Math.max(1, Math.round((net.sysctl_tcp_rto_min_us * HZ) / 1_000_000)) || TCP_RTO_MIN;
  tp.icsk_delack_max = TCP_DELACK_MAX;
  tp.mdev_us = jiffies_to_usecs(TCP_TIMEOUT_INIT);
  tp.snd_cwnd = TCP_INIT_CWND;
  tp.snd_ssthresh = TCP_INFINITE_SSTHRESH;
  tp.snd_cwnd_clamp = 0xffffffff;
  tp.mss_cache = TCP_MSS_DEFAULT;
  tp.reordering = net.sysctl_tcp_reordering;
  tcp_assign_congestion_control(tp);
  tp.tsoffset = 0;
  tp.sk_write_space = sk_stream_write_space;
  tp.sk_sndbuf = net.sysctl_tcp_wmem[1];
  tp.sk_rcvbuf = net.sysctl_tcp_rmem[1];
  tp.notsent_lowat = 0;
  return 0;
}

/** sk_stream_write_space(): wake writers once the stream is writeable again. */
export function sk_stream_write_space(sk: Sock): void {
  const tp = sk as TcpSock;
  const sock = sk.sk_socket;
  if (sock && __sk_stream_is_writeable(tp, 1)) {
    sock.flags &= ~(1 << S.SOCK_NOSPACE);
    const wq = sk_wq(sk);
    if (wq && waitqueue_active(wq)) wake_up_interruptible_poll(wq, P.POLLOUT | P.POLLWRNORM | P.POLLWRBAND);
  }
}

/** tcp_notsent_lowat(). */
function tcp_notsent_lowat(tp: TcpSock): number {
  return tp.notsent_lowat || tp.sk_net.ipv4!.sysctl_tcp_notsent_lowat;
}

/** tcp_stream_memory_free(). */
function tcp_stream_memory_free(tp: TcpSock, wake: number): boolean {
  const notsent_bytes = (tp.write_seq - tp.snd_nxt) >>> 0;
  return notsent_bytes * POW2[wake] < tcp_notsent_lowat(tp);
}

/** __sk_stream_memory_free(). */
export function sk_stream_memory_free(tp: TcpSock, wake = 0): boolean {
  if (tp.sk_wmem_queued >= tp.sk_sndbuf) return false;
  return tcp_stream_memory_free(tp, wake);
}

/** __sk_stream_is_writeable(). */
export function __sk_stream_is_writeable(tp: TcpSock, wake: number): boolean {
  return tp.sk_sndbuf - tp.sk_wmem_queued >= tp.sk_wmem_queued >> 1 && sk_stream_memory_free(tp, wake);
}

// ——— sendmsg ———————————————————————————————————————————————————————————————————————

/**
 * tcp_sendmsg_locked(): copy user data into skbs of up to the size goal at the tail of the write
 * queue and push them out. A call that must wait (connecting, send buffer full) sleeps and
 * resumes where it was.
 */
export function tcp_sendmsg(sk: InetSock, msg: Msghdr, _len: number): number {
  const tp = tcp_sk(sk);
  const iter = msg.msg_iter;
  const prior = iter.total - iter.count;
  const flags = msg.msg_flags;
  const noblock = (flags & S.MSG_DONTWAIT) !== 0;
  let timeo = sock_sndtimeo(tp, noblock);
  let copied = 0;
  let err = 0;
  // Wait for a connection to finish.
  if (TCPF(tp.sk_state) & ~(TCPF(TCP_ESTABLISHED) | TCPF(TCP_CLOSE_WAIT))) {
    err = sk_stream_wait_connect(tp, timeo);
    if (err) {
      if (err === -E.EAGAIN && sleeping_registered) {
        sleeping_registered = false;
        return -E.EAGAIN;
      }
      return prior || sk_stream_error(tp, flags, err);
    }
  }
  let { mss_now, size_goal } = tcp_send_mss(tp, flags);
  if (tp.sk_err || tp.sk_shutdown & S.SEND_SHUTDOWN) return prior || sk_stream_error(tp, flags, -E.EPIPE);
  while (iter.count) {
    let skb = tp.sk_write_queue.peek_tail();
    let copy = 0;
    if (skb) copy = size_goal - skb.len;
    if (copy <= 0 || !skb || TCP_SKB_CB(skb).eor || TCP_SKB_CB(skb).tcp_flags & T.TCPHDR_FIN) {
      if (!sk_stream_memory_free(tp)) {
        err = wait_for_space(tp, copied, flags, mss_now, timeo);
        if (err) break;
        ({ mss_now, size_goal } = tcp_send_mss(tp, flags));
        timeo = sock_sndtimeo(tp, noblock);
        continue;
      }
      // The payload lives in page fragments in Linux; here the head grows as it fills.
      skb = tcp_stream_alloc_skb(Math.min(size_goal, Math.max(iter.count, 2048)));
      tcp_skb_entail(tp, skb);
      copy = size_goal;
    }
    if (copy > iter.count) copy = iter.count;
    pskb_expand_head(skb, copy);
    const at = skb.put(copy);
    iter.copy_from_iter(skb.head, at, copy);
    skb.truesize += copy;
    tp.sk_wmem_queued += copy;
    if (!copied && !prior) TCP_SKB_CB(skb).tcp_flags &= ~T.TCPHDR_PSH;
    tp.write_seq = (tp.write_seq + copy) >>> 0;
    TCP_SKB_CB(skb).end_seq = (TCP_SKB_CB(skb).end_seq + copy) >>> 0;
    TCP_SKB_CB(skb).tcp_gso_segs = 0;
    copied += copy;
    if (!iter.count) {
      if (flags & S.MSG_EOR) TCP_SKB_CB(skb).eor = 1;
      break;
    }
    if (skb.len < size_goal || flags & S.MSG_OOB) continue;
    if (forced_push(tp)) {
      tcp_mark_push(tp, skb);
      __tcp_push_pending_frames(tp, mss_now, TCP_NAGLE_PUSH);
    } else if (skb === tp.sk_write_queue.peek()) tcp_push_one(tp, mss_now);
  }
  if (copied) tcp_push(tp, flags, mss_now, tp.nonagle);
  if (err === -E.EAGAIN && sleeping_registered) {
    // Sleeping for room: what was copied is queued; the call resumes with what is left.
    sleeping_registered = false;
    return -E.EAGAIN;
  }
  sleeping_registered = false;
  if (copied + prior) return copied + prior;
  err = sk_stream_error(tp, flags, err);
  // Make sure an edge-triggered epoll waiter is woken.
  if (tcp_rtx_and_write_queues_empty(tp) && err === -E.EAGAIN) {
    tp.sk_write_space(tp);
    tcp_chrono_stop(tp, TCP_CHRONO_SNDBUF_LIMITED);
  }
  return err;
}

/** Whether this pass of a send registered to sleep (prepare_to_wait) before returning -EAGAIN. */
let sleeping_registered = false;

/** The wait_for_space: label of tcp_sendmsg: push what is queued, then sk_stream_wait_memory. */
function wait_for_space(tp: TcpSock, copied: number, flags: number, mss_now: number, timeo: number): number {
  if (tp.sk_socket) tp.sk_socket.flags |= 1 << S.SOCK_NOSPACE;
  if (copied) tcp_push(tp, flags & ~S.MSG_MORE, mss_now, TCP_NAGLE_PUSH);
  return sk_stream_wait_memory(tp, timeo);
}

/** sk_stream_wait_memory(): 0 when there is room, or an errno (-EAGAIN after registering to sleep). */
function sk_stream_wait_memory(tp: TcpSock, timeo: number): number {
  if (tp.sk_err || tp.sk_shutdown & S.SEND_SHUTDOWN) return -E.EPIPE;
  if (sk_stream_memory_free(tp)) return 0;
  if (!timeo) return -E.EAGAIN;
  if (tp.sk_socket) tp.sk_socket.flags |= 1 << S.SOCK_NOSPACE;
  const wq = sk_wq(tp);
  if (wq) {
    prepare_to_wait(wq, timeo);
    sleeping_registered = true;
  }
  return -E.EAGAIN;
}

/** sk_stream_wait_connect(). */
function sk_stream_wait_connect(tp: TcpSock, timeo: number): number {
  const err = sock_error(tp);
  if (err) return err;
  if (TCPF(tp.sk_state) & ~(TCPF(TCP_SYN_SENT) | TCPF(TCP_SYN_RECV))) return -E.EPIPE;
  if (!timeo) return -E.EAGAIN;
  const wq = sk_wq(tp);
  if (wq) {
    prepare_to_wait(wq, timeo);
    sleeping_registered = true;
  }
  return -E.EAGAIN;
}

/** sk_stream_error(): EPIPE becomes the pending error when there is one. */
function sk_stream_error(tp: TcpSock, _flags: number, err: number): number {
  if (err === -E.EPIPE) err = sock_error(tp) || -E.EPIPE;
  return err;
}

// ——— recvmsg ———————————————————————————————————————————————————————————————————————

/** tcp_recv_urg(): MSG_OOB reads the urgent byte. */
function tcp_recv_urg(tp: TcpSock, msg: Msghdr, len: number, flags: number): number {
  // No URG data to read.
  if (sock_flag(tp, SOCK_URGINLINE) || !tp.urg_data || tp.urg_data & TCP_URG_READ) return -E.EINVAL;
  if (tp.sk_state === TCP_CLOSE && !sock_flag(tp, SOCK_DONE)) return -E.ENOTCONN;
  if (tp.urg_data & TCP_URG_VALID) {
    const c = tp.urg_data & 0xff;
    if (!(flags & S.MSG_PEEK)) tp.urg_data = TCP_URG_READ;
    msg.msg_flags |= S.MSG_OOB;
    if (len > 0) {
      if (!(flags & S.MSG_TRUNC)) msg.msg_iter.copy_to_iter(Uint8Array.of(c), 0, 1);
      len = 1;
    } else msg.msg_flags |= S.MSG_TRUNC;
    return len;
  }
  if (tp.sk_state === TCP_CLOSE || tp.sk_shutdown & S.RCV_SHUTDOWN) return 0;
  // Fixed the recv(..., MSG_OOB) behaviour: BSD docs and BSD/Linux answer EAGAIN.
  return -E.EAGAIN;
}

/** tcp_inq(): bytes readable now. */
export function tcp_inq(tp: TcpSock): number {
  if (TCPF(tp.sk_state) & (TCPF(TCP_SYN_SENT) | TCPF(TCP_SYN_RECV))) return 0;
  if (
    sock_flag(tp, SOCK_URGINLINE) ||
    !tp.urg_data ||
    before(tp.urg_seq, tp.copied_seq) ||
    !before(tp.urg_seq, tp.rcv_nxt)
  ) {
    let answ = (tp.rcv_nxt - tp.copied_seq) >>> 0;
    if (answ && sock_flag(tp, SOCK_DONE)) answ--;
    return answ;
  }
  return (tp.urg_seq - tp.copied_seq) >>> 0;
}

/**
 * tcp_inq_hint(): the TCP_CM_INQ value — bytes not yet read; after a FIN with nothing left, 1,
 * to tell the reader to read on (and see the end of the stream).
 */
function tcp_inq_hint(tp: TcpSock): number {
  let inq = (tp.rcv_nxt - tp.copied_seq) | 0;
  if (inq === 0 && sock_flag(tp, SOCK_DONE)) inq = 1;
  return inq;
}

/** tcp_cleanup_rbuf(): after a read, ACK if that opened the window a lot or was owed. */
export function tcp_cleanup_rbuf(tp: TcpSock, copied: number): void {
  let time_to_ack = false;
  if (inet_csk_ack_scheduled(tp)) {
    const a = tp.icsk_ack;
    if (
      (tp.rcv_nxt - tp.rcv_wup) >>> 0 > a.rcv_mss ||
      (copied > 0 &&
        (a.pending & ICSK_ACK_PUSHED2 || (a.pending & ICSK_ACK_PUSHED && !inet_csk_in_pingpong_mode(tp))) &&
        !tp.sk_rmem_alloc)
    )
      time_to_ack = true;
  }
  if (copied > 0 && !time_to_ack && !(tp.sk_shutdown & S.RCV_SHUTDOWN)) {
    const rcv_window_now = tcp_receive_window(tp);
    if (2 * rcv_window_now <= tp.window_clamp) {
      const new_window = __tcp_select_window(tp);
      if (new_window && new_window >= 2 * rcv_window_now) time_to_ack = true;
    }
  }
  if (time_to_ack) tcp_send_ack(tp);
}

/** tcp_eat_recv_skb(). */
function tcp_eat_recv_skb(tp: TcpSock, skb: SkBuff): void {
  tp.sk_receive_queue.unlink(skb);
  kfree_skb(skb);
}

/** Whether the receive path found a FIN in `skb`. */
function skb_has_fin(skb: SkBuff): boolean {
  return (TCP_SKB_CB(skb).tcp_flags & T.TCPHDR_FIN) !== 0;
}

/** tcp_recvmsg() / tcp_recvmsg_locked(). */
export function tcp_recvmsg(sk: InetSock, msg: Msghdr, len: number, flags: number): number {
  const tp = tcp_sk(sk);
  const iter = msg.msg_iter;
  const prior = flags & (S.MSG_PEEK | S.MSG_TRUNC) ? 0 : iter.total - iter.count;
  if (tp.sk_state === TCP_LISTEN) return -E.ENOTCONN;
  const noblock = (flags & S.MSG_DONTWAIT) !== 0;
  const timeo = sock_rcvtimeo(tp, noblock);
  if (flags & S.MSG_ERRQUEUE) return ip_recv_error(tp, msg, len);
  if (flags & S.MSG_OOB) return tcp_recv_urg(tp, msg, len, flags);
  const peeking = (flags & S.MSG_PEEK) !== 0;
  const peek_offset = peeking && tp.sk_peek_off >= 0 ? tp.sk_peek_off : 0;
  let seq = peeking ? (tp.copied_seq + peek_offset) >>> 0 : tp.copied_seq;
  const target = Math.max(1, sock_rcvlowat(tp, (flags & S.MSG_WAITALL) !== 0, prior + len) - prior);
  let copied = 0;
  let result = 0;
  let done = false;
  do {
    if (tp.urg_data && tp.urg_seq === seq) {
      if (copied || prior) break;
    }
    let skb: SkBuff | null = tp.sk_receive_queue.peek();
    let offset = 0;
    let found: 'data' | 'fin' | null = null;
    for (; skb; skb = skb.next) {
      offset = (seq - TCP_SKB_CB(skb).seq) >>> 0;
      if (TCP_SKB_CB(skb).tcp_flags & T.TCPHDR_SYN) offset--;
      if (offset < skb.len) {
        found = 'data';
        break;
      }
      if (skb_has_fin(skb)) {
        found = 'fin';
        break;
      }
    }
    if (!found) {
      if (copied >= target) break;
      const total = copied + prior;
      if (total) {
        if (!timeo || tp.sk_err || tp.sk_state === TCP_CLOSE || tp.sk_shutdown & S.RCV_SHUTDOWN) break;
      } else {
        if (sock_flag(tp, SOCK_DONE)) break;
        if (tp.sk_err) {
          result = sock_error(tp);
          done = true;
          break;
        }
        if (tp.sk_shutdown & S.RCV_SHUTDOWN) break;
        if (tp.sk_state === TCP_CLOSE) {
          result = -E.ENOTCONN;
          done = true;
          break;
        }
        if (!timeo) {
          result = -E.EAGAIN;
          done = true;
          break;
        }
      }
      // sk_wait_data(): sleep for more; what was copied stays in the iterator and is resumed.
      if (peeking && copied) break;
      tcp_cleanup_rbuf(tp, copied);
      const wq = sk_wq(tp);
      if (wq) prepare_to_wait(wq, timeo);
      return -E.EAGAIN;
    }
    if (found === 'data') {
      let used = skb!.len - offset;
      if (len < used) used = len;
      let skip_copy = false;
      if (tp.urg_data) {
        const urg_offset = (tp.urg_seq - seq) >>> 0;
        if (urg_offset < used) {
          if (!urg_offset) {
            if (!sock_flag(tp, SOCK_URGINLINE)) {
              seq = (seq + 1) >>> 0;
              if (!peeking) tp.copied_seq = seq;
              offset++;
              used--;
              if (!used) skip_copy = true;
            }
          } else used = urg_offset;
        }
      }
      if (!skip_copy) {
        if (!(flags & S.MSG_TRUNC)) iter.copy_to_iter(skb!.head, skb!.data + offset, used);
        seq = (seq + used) >>> 0;
        if (!peeking) tp.copied_seq = seq;
        copied += used;
        len -= used;
        sk_peek_offset_update(tp, flags, used);
        tcp_rcv_space_adjust(tp);
      }
      if (tp.urg_data && after(tp.copied_seq, tp.urg_seq)) tp.urg_data = 0;
      if (used + offset < skb!.len) continue;
      if (skb_has_fin(skb!)) found = 'fin';
      else {
        if (!peeking) tcp_eat_recv_skb(tp, skb!);
        continue;
      }
    }
    if (found === 'fin') {
      seq = (seq + 1) >>> 0;
      if (!peeking) {
        tp.copied_seq = seq;
        tcp_eat_recv_skb(tp, skb!);
      }
      break;
    }
  } while (len > 0);
  if (!done || result === 0) {
    tcp_cleanup_rbuf(tp, copied);
    if (tp.recvmsg_inq_on) {
      const inq = new Uint8Array(4);
      new DataView(inq.buffer).setInt32(0, tcp_inq_hint(tp), true);
      put_cmsg(msg, S.SOL_TCP, T.TCP_CM_INQ, inq);
    }
  }
  if (done) return result;
  return copied + prior;
}

// ——— poll and ioctl ——————————————————————————————————————————————————————————————

/** tcp_stream_is_readable() / tcp_epollin_ready(). */
function tcp_epollin_ready(tp: TcpSock, target: number): boolean {
  const avail = (tp.rcv_nxt - tp.copied_seq) | 0;
  if (avail <= 0) return false;
  return avail >= target || tcp_receive_window(tp) <= tp.icsk_ack.rcv_mss;
}

/** tcp_data_ready(): wake readers once SO_RCVLOWAT bytes are there (or the stream ended). */
export function tcp_data_ready(tp: TcpSock): void {
  if (tcp_epollin_ready(tp, tp.sk_rcvlowat) || sock_flag(tp, SOCK_DONE)) tp.sk_data_ready(tp);
}

/** tcp_poll(). */
export function tcp_poll(file: File, sock: Socket, wait: PollTable | null): number {
  const tp = tcp_sk(sock.sk!);
  poll_wait(file, sock.wq.wait, wait);
  const state = tp.sk_state;
  if (state === TCP_LISTEN) return tp.icsk_accept_queue.rskq_accept_head ? P.POLLIN | P.POLLRDNORM : 0;
  let mask = 0;
  const shutdown = tp.sk_shutdown;
  if (shutdown === S.SHUTDOWN_MASK || state === TCP_CLOSE) mask |= P.POLLHUP;
  if (shutdown & S.RCV_SHUTDOWN) mask |= P.POLLIN | P.POLLRDNORM | P.POLLRDHUP;
  if (state !== TCP_SYN_SENT && state !== TCP_SYN_RECV) {
    let target = sock_rcvlowat(tp, false, 0x7fffffff);
    if (tp.urg_data && tp.urg_seq === tp.copied_seq && !sock_flag(tp, SOCK_URGINLINE)) target++;
    if (tcp_epollin_ready(tp, target)) mask |= P.POLLIN | P.POLLRDNORM;
    if (!(shutdown & S.SEND_SHUTDOWN)) {
      if (__sk_stream_is_writeable(tp, 1)) mask |= P.POLLOUT | P.POLLWRNORM;
      else sock.flags |= 1 << S.SOCK_NOSPACE;
    } else mask |= P.POLLOUT | P.POLLWRNORM;
    if (tp.urg_data & TCP_URG_VALID) mask |= P.POLLPRI;
  }
  if (tp.sk_err || !tp.sk_error_queue.empty()) mask |= P.POLLERR;
  return mask;
}

/** tcp_ioctl(). */
function tcp_ioctl(sk: InetSock, cmd: number, arg: IoctlArg): number {
  const tp = tcp_sk(sk);
  switch (cmd) {
    case S.SIOCINQ:
      if (tp.sk_state === TCP_LISTEN) return -E.EINVAL;
      arg.value = tcp_inq(tp);
      return 0;
    case S.SIOCATMARK:
      arg.value = tp.urg_data && tp.urg_seq === tp.copied_seq ? 1 : 0;
      return 0;
    case S.SIOCOUTQ:
      if (tp.sk_state === TCP_LISTEN) return -E.EINVAL;
      if (TCPF(tp.sk_state) & (TCPF(TCP_SYN_SENT) | TCPF(TCP_SYN_RECV))) arg.value = 0;
      else arg.value = (tp.write_seq - tp.snd_una) >>> 0;
      return 0;
    case S.SIOCOUTQNSD:
      if (tp.sk_state === TCP_LISTEN) return -E.EINVAL;
      if (TCPF(tp.sk_state) & (TCPF(TCP_SYN_SENT) | TCPF(TCP_SYN_RECV))) arg.value = 0;
      else arg.value = (tp.write_seq - tp.snd_nxt) >>> 0;
      return 0;
    default:
      return -ENOIOCTLCMD;
  }
}

// ——— shutdown, close, disconnect ————————————————————————————————————————————————————

const TCP_ACTION_FIN = 1 << 7;
const new_state: number[] = [];
new_state[0] = TCP_CLOSE;
new_state[TCP_ESTABLISHED] = TCP_FIN_WAIT1 | TCP_ACTION_FIN;
new_state[TCP_SYN_SENT] = TCP_CLOSE;
new_state[TCP_SYN_RECV] = TCP_FIN_WAIT1 | TCP_ACTION_FIN;
new_state[TCP_FIN_WAIT1] = TCP_FIN_WAIT1;
new_state[TCP_FIN_WAIT2] = TCP_FIN_WAIT2;
new_state[TCP_TIME_WAIT] = TCP_CLOSE;
new_state[TCP_CLOSE] = TCP_CLOSE;
new_state[TCP_CLOSE_WAIT] = TCP_LAST_ACK | TCP_ACTION_FIN;
new_state[TCP_LAST_ACK] = TCP_LAST_ACK;
new_state[TCP_LISTEN] = TCP_CLOSE;
new_state[TCP_CLOSING] = TCP_CLOSING;

/** tcp_close_state(): move to the state after our FIN; true when a FIN must be sent. */
function tcp_close_state(sk: TcpSock): boolean {
  const next = new_state[sk.sk_state];
  const ns = next & 0x0f;
  tcp_set_state(sk, ns);
  return (next & TCP_ACTION_FIN) !== 0;
}

/** tcp_shutdown(): SHUT_WR sends our FIN. */
function tcp_shutdown(sk: TcpSock, how: number): void {
  if (!(how & S.SEND_SHUTDOWN)) return;
  if (TCPF(sk.sk_state) & (TCPF(TCP_ESTABLISHED) | TCPF(TCP_SYN_SENT) | TCPF(TCP_CLOSE_WAIT))) {
    if (tcp_close_state(sk)) tcp_send_fin(sk);
  }
}

/** inet_shutdown() for stream sockets. */
function inet_stream_shutdown(sock: Socket, how: number): number {
  const sk = tcp_sk(sock.sk!);
  how++;
  if (how & ~S.SHUTDOWN_MASK || !how) return -E.EINVAL;
  if (sock.state === S.SS_CONNECTING) {
    if (TCPF(sk.sk_state) & (TCPF(TCP_SYN_SENT) | TCPF(TCP_SYN_RECV) | TCPF(TCP_CLOSE)))
      sock.state = S.SS_DISCONNECTING;
    else sock.state = S.SS_CONNECTED;
  }
  let err = 0;
  const state = sk.sk_state;
  if (state === TCP_LISTEN || state === TCP_SYN_SENT) {
    // A listener shut down for reading, or a connect in progress, is disconnected.
    if (state === TCP_SYN_SENT || how & S.RCV_SHUTDOWN) {
      err = tcp_disconnect(sk, O_NONBLOCK);
      sock.state = err ? S.SS_DISCONNECTING : S.SS_UNCONNECTED;
    }
  } else {
    // An unconnected socket answers ENOTCONN but records the shutdown, so pollers see it.
    if (state === TCP_CLOSE) err = -E.ENOTCONN;
    sk.sk_shutdown |= how;
    tcp_shutdown(sk, how);
  }
  sk.sk_state_change(sk);
  return err;
}

/** tcp_need_reset(). */
function tcp_need_reset(state: number): boolean {
  return (
    (TCPF(state) &
      (TCPF(TCP_ESTABLISHED) |
        TCPF(TCP_CLOSE_WAIT) |
        TCPF(TCP_FIN_WAIT1) |
        TCPF(TCP_FIN_WAIT2) |
        TCPF(TCP_SYN_RECV))) !==
    0
  );
}

/** tcp_disconnect(): the ABORT of RFC 793 — back to a fresh, closed socket. */
export function tcp_disconnect(sk: Sock, _flags: number): number {
  const tp = tcp_sk(sk);
  const old_state = tp.sk_state;
  if (old_state !== TCP_CLOSE) tcp_set_state(tp, TCP_CLOSE);
  if (old_state === TCP_LISTEN) {
    inet_csk_listen_stop(tp, tcp_close_child, tcp_v4_drop_req);
  } else if (
    tcp_need_reset(old_state) ||
    (tp.snd_nxt !== tp.write_seq && TCPF(old_state) & (TCPF(TCP_CLOSING) | TCPF(TCP_LAST_ACK)))
  ) {
    tcp_send_active_reset(tp);
    tp.sk_err = E.ECONNRESET;
  } else if (old_state === TCP_SYN_SENT) tp.sk_err = E.ECONNRESET;
  inet_csk_clear_xmit_timers(tp);
  tp.sk_receive_queue.purge();
  tp.copied_seq = tp.rcv_nxt;
  tp.urg_data = 0;
  tp.sk_peek_off = -1;
  tcp_write_queue_purge(tp);
  tp.out_of_order_queue.purge();
  tp.inet_dport = 0;
  if (!(tp.sk_userlocks & SOCK_BINDADDR_LOCK)) tp.inet_rcv_saddr = tp.inet_saddr = 0;
  tp.sk_shutdown = 0;
  sock_reset_flag(tp, SOCK_DONE);
  tp.srtt_us = 0;
  tp.mdev_us = jiffies_to_usecs(TCP_TIMEOUT_INIT);
  let seq = (tp.write_seq + tp.max_window + 2) >>> 0;
  if (!seq) seq = 1;
  tp.write_seq = seq;
  tp.icsk_backoff = 0;
  tp.icsk_probes_out = 0;
  tp.icsk_probes_tstamp = 0;
  tp.icsk_rto = TCP_TIMEOUT_INIT;
  tp.icsk_rto_min = TCP_RTO_MIN;
  tp.icsk_delack_max = TCP_DELACK_MAX;
  tp.snd_ssthresh = TCP_INFINITE_SSTHRESH;
  tp.snd_cwnd = TCP_INIT_CWND;
  tp.snd_cwnd_cnt = 0;
  tp.is_cwnd_limited = 0;
  tp.max_packets_out = 0;
  tp.window_clamp = 0;
  tp.delivered = 0;
  tp.delivered_ce = 0;
  tp.rack = null;
  tp.is_sack_reneg = 0;
  tp.icsk_ca_ops.release?.(tp);
  tp.icsk_ca_priv = null;
  tp.icsk_ca_initialized = 0;
  tcp_set_ca_state(tp, T.TCP_CA_Open);
  tcp_clear_retrans(tp);
  tp.total_retrans = 0;
  inet_csk_delack_init(tp);
  tp.icsk_ack.rcv_mss = 88;
  const user_mss_lost = tp.rx_opt;
  user_mss_lost.ts_recent_stamp = user_mss_lost.ts_recent = 0;
  user_mss_lost.tstamp_ok = user_mss_lost.sack_ok = user_mss_lost.wscale_ok = 0;
  user_mss_lost.snd_wscale = user_mss_lost.rcv_wscale = 0;
  user_mss_lost.num_sacks = user_mss_lost.dsack = 0;
  user_mss_lost.user_mss = 0;
  user_mss_lost.mss_clamp = 0;
  tp.sk_dst_cache = null;
  tp.segs_in = tp.segs_out = tp.data_segs_in = tp.data_segs_out = 0;
  tp.bytes_sent = tp.bytes_acked = tp.bytes_received = tp.bytes_retrans = 0;
  tp.dsack_dups = tp.reord_seen = tp.rcv_ooopack = 0;
  tp.total_rto = tp.total_rto_recoveries = tp.total_rto_time = tp.rto_stamp = 0;
  tp.fin_queued = false;
  tp.sk_error_report(tp);
  return 0;
}

/**
 * inet_child_forget(): a child that was never accepted goes with its listener — aborted with
 * sk_prot->disconnect (a RST when it was synchronized, as tcp_need_reset says), then destroyed.
 */
export function tcp_close_child(child: TcpSock): void {
  tcp_disconnect(child, O_NONBLOCK);
  sock_orphan(child);
  inet_csk_destroy_sock(child);
}

/** tcp_close() (__tcp_close). */
export function tcp_close(sk: Sock, _timeout: number): void {
  const tp = tcp_sk(sk);
  tp.sk_shutdown = S.SHUTDOWN_MASK;
  let data_was_unread = 0;
  if (tp.sk_state === TCP_LISTEN) {
    tcp_set_state(tp, TCP_CLOSE);
    inet_csk_listen_stop(tp, tcp_close_child, tcp_v4_drop_req);
  } else {
    let skb: SkBuff | null;
    while ((skb = tp.sk_receive_queue.dequeue())) {
      let len = (TCP_SKB_CB(skb).end_seq - TCP_SKB_CB(skb).seq) >>> 0;
      if (TCP_SKB_CB(skb).tcp_flags & T.TCPHDR_FIN) len--;
      data_was_unread += len;
      kfree_skb(skb);
    }
    if (tp.sk_state !== TCP_CLOSE) {
      if (data_was_unread) {
        // Unread data was tossed: RFC 2525 §2.17, reset the connection.
        NET_INC_STATS(tp.sk_net, MIB_TCPABORTONCLOSE);
        tcp_set_state(tp, TCP_CLOSE);
        tcp_send_active_reset(tp);
      } else if (sock_flag(tp, SOCK_LINGER) && !tp.sk_lingertime) {
        // Zero linger: abort.
        tcp_disconnect(tp, 0);
        NET_INC_STATS(tp.sk_net, MIB_TCPABORTONDATA);
      } else if (tcp_close_state(tp)) {
        tcp_send_fin(tp);
      }
    }
  }
  // adjudge_to_death: the sock is an orphan from here on.
  sock_set_flag(tp, SOCK_DEAD);
  if (tp.sk_state === TCP_FIN_WAIT2) {
    if (tp.linger2 < 0) {
      tcp_set_state(tp, TCP_CLOSE);
      tcp_send_active_reset(tp);
      NET_INC_STATS(tp.sk_net, MIB_TCPABORTONLINGER);
    } else {
      const tmo = tcp_fin_time(tp);
      if (tmo > TCP_TIMEWAIT_LEN) inet_csk_reset_keepalive_timer(tp, tmo - TCP_TIMEWAIT_LEN);
      else {
        tcp_time_wait(tp, TCP_FIN_WAIT2, tmo);
        return;
      }
    }
  }
  if (tp.sk_state === TCP_CLOSE) inet_csk_destroy_sock(tp);
  // Otherwise the sock lives on, orphaned, until the protocol finishes the close.
}

// ——— options ———————————————————————————————————————————————————————————————————————

function get_int(optval: Uint8Array): number {
  return new DataView(optval.buffer, optval.byteOffset, 4).getInt32(0, true);
}

/** secs_to_retrans(): TCP_DEFER_ACCEPT seconds as SYN-ACK retransmissions. */
function secs_to_retrans(seconds: number, timeout: number, rto_max: number): number {
  let res = 0;
  if (seconds > 0) {
    let period = timeout;
    res = 1;
    while (seconds > period && res < 255) {
      res++;
      timeout <<= 1;
      if (timeout > rto_max) timeout = rto_max;
      period += timeout;
    }
  }
  return res;
}

/** retrans_to_secs(). */
function retrans_to_secs(retrans: number, timeout: number, rto_max: number): number {
  let period = 0;
  if (retrans > 0) {
    period = timeout;
    while (--retrans) {
      timeout <<= 1;
      if (timeout > rto_max) timeout = rto_max;
      period += timeout;
    }
  }
  return period;
}

/** tcp_set_window_clamp(). */
function tcp_set_window_clamp(tp: TcpSock, val: number): number {
  if (!val) {
    if (tp.sk_state !== TCP_CLOSE) return -E.EINVAL;
    tp.window_clamp = 0;
    return 0;
  }
  const old = tp.window_clamp;
  const nw = val < SOCK_MIN_RCVBUF / 2 ? SOCK_MIN_RCVBUF / 2 : val;
  if (nw === old) return 0;
  tp.window_clamp = nw;
  if (nw < old) tp.rcv_ssthresh = Math.min(tp.rcv_ssthresh, nw);
  else tp.rcv_ssthresh = Math.max(Math.min(tp.rcv_wnd, tp.window_clamp), tp.rcv_ssthresh);
  return 0;
}

/** keepalive_time_elapsed() and the timer re-arm of TCP_KEEPIDLE. */
function tcp_sock_set_keepidle_locked(tp: TcpSock, val: number): number {
  if (val < 1 || val > T.MAX_TCP_KEEPIDLE) return -E.EINVAL;
  tp.keepalive_time = val * HZ;
  if (sock_flag(tp, SOCK_KEEPOPEN) && !(TCPF(tp.sk_state) & (TCPF(TCP_CLOSE) | TCPF(TCP_LISTEN)))) {
    const elapsed = tcp_jiffies32(tp.sk_net) - Math.max(tp.icsk_ack.lrcvtime, tp.rcv_tstamp);
    const left = tp.keepalive_time > elapsed ? tp.keepalive_time - elapsed : 0;
    inet_csk_reset_keepalive_timer(tp, left);
  }
  return 0;
}

/** tcp_setsockopt() → do_tcp_setsockopt(). */
function tcp_setsockopt(
  sk: InetSock,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: number,
): number {
  if (level !== S.SOL_TCP) return ip_setsockopt(sk, level, optname, optval, optlen);
  const tp = tcp_sk(sk);
  if (optname === T.TCP_CONGESTION) {
    if (optlen < 1) return -E.EINVAL;
    const raw = optval.subarray(0, Math.min(optlen, T.TCP_CA_NAME_MAX - 1));
    const z = raw.indexOf(0);
    const name = new TextDecoder().decode(z >= 0 ? raw.subarray(0, z) : raw);
    return tcp_set_congestion_control(tp, name);
  }
  if (optname === T.TCP_ULP) {
    // tcp_set_ulp(): no upper layer protocol is registered, so every name is unknown.
    if (optlen < 1) return -E.EINVAL;
    return -E.ENOENT;
  }
  if (optlen < 4) return -E.EINVAL;
  const val = get_int(optval);
  switch (optname) {
    case T.TCP_MAXSEG:
      if (val && (val < T.TCP_MIN_MSS || val > MAX_TCP_WINDOW)) return -E.EINVAL;
      tp.rx_opt.user_mss = val;
      return 0;
    case T.TCP_NODELAY:
      if (val) {
        tp.nonagle |= TCP_NAGLE_OFF | TCP_NAGLE_PUSH;
        tcp_push_pending_frames(tp);
      } else tp.nonagle &= ~TCP_NAGLE_OFF;
      return 0;
    case T.TCP_CORK:
      if (val) tp.nonagle |= TCP_NAGLE_CORK;
      else {
        tp.nonagle &= ~TCP_NAGLE_CORK;
        if (tp.nonagle & TCP_NAGLE_OFF) tp.nonagle |= TCP_NAGLE_PUSH;
        tcp_push_pending_frames(tp);
      }
      return 0;
    case T.TCP_KEEPIDLE:
      return tcp_sock_set_keepidle_locked(tp, val);
    case T.TCP_KEEPINTVL:
      if (val < 1 || val > T.MAX_TCP_KEEPINTVL) return -E.EINVAL;
      tp.keepalive_intvl = val * HZ;
      return 0;
    case T.TCP_KEEPCNT:
      if (val < 1 || val > T.MAX_TCP_KEEPCNT) return -E.EINVAL;
      tp.keepalive_probes = val;
      return 0;
    case T.TCP_SYNCNT:
      if (val < 1 || val > T.MAX_TCP_SYNCNT) return -E.EINVAL;
      tp.icsk_syn_retries = val;
      return 0;
    case T.TCP_SAVE_SYN:
      // 0: off, 1: from the IP header, 2: from the Ethernet header.
      if (val < 0 || val > 2) return -E.EINVAL;
      tp.save_syn = val;
      return 0;
    case T.TCP_LINGER2:
      if (val < 0) tp.linger2 = -1;
      else if (val > TCP_FIN_TIMEOUT_MAX / HZ) tp.linger2 = TCP_FIN_TIMEOUT_MAX;
      else tp.linger2 = val * HZ;
      return 0;
    case T.TCP_DEFER_ACCEPT:
      tp.icsk_accept_queue.rskq_defer_accept = secs_to_retrans(val, TCP_TIMEOUT_INIT / HZ, TCP_RTO_MAX / HZ);
      return 0;
    case T.TCP_WINDOW_CLAMP:
      return tcp_set_window_clamp(tp, val);
    case T.TCP_QUICKACK:
      if (!val) {
        inet_csk_enter_pingpong_mode(tp);
        return 0;
      }
      inet_csk_exit_pingpong_mode(tp);
      if (TCPF(tp.sk_state) & (TCPF(TCP_ESTABLISHED) | TCPF(TCP_CLOSE_WAIT)) && inet_csk_ack_scheduled(tp)) {
        tp.icsk_ack.pending |= ICSK_ACK_PUSHED;
        tcp_cleanup_rbuf(tp, 1);
        if (!(val & 1)) inet_csk_enter_pingpong_mode(tp);
      }
      return 0;
    case T.TCP_USER_TIMEOUT:
      if (val < 0) return -E.EINVAL;
      tp.icsk_user_timeout = val;
      return 0;
    case T.TCP_NOTSENT_LOWAT:
      tp.notsent_lowat = val >>> 0;
      tp.sk_write_space(tp);
      return 0;
    case T.TCP_INQ:
      if (val > 1 || val < 0) return -E.EINVAL;
      tp.recvmsg_inq_on = val;
      return 0;
    case T.TCP_THIN_LINEAR_TIMEOUTS:
      if (val < 0 || val > 1) return -E.EINVAL;
      tp.thin_lto = val;
      return 0;
    case T.TCP_THIN_DUPACK:
      if (val < 0 || val > 1) return -E.EINVAL;
      return 0;
    case T.TCP_TX_DELAY:
      // Microseconds added to srtt_us, a u32 shifted by 3.
      if (val < 0 || val >= 1 << (31 - 3)) return -E.EINVAL;
      tp.tcp_tx_delay = val;
      return 0;
    case T.TCP_TIMESTAMP:
      // Setting the timestamp offset needs TCP_REPAIR mode, which usernet does not have.
      return -E.EPERM;
    case T.TCP_FASTOPEN:
      // The server side's queue length; usernet answers a TFO SYN with a plain handshake.
      if (val >= 0 && TCPF(tp.sk_state) & (TCPF(TCP_CLOSE) | TCPF(TCP_LISTEN))) {
        fastopen_queue_tune(tp, val);
        return 0;
      }
      return -E.EINVAL;
    default:
      return -E.ENOPROTOOPT;
  }
}

/**
 * tcp_set_rcvlowat(): SO_RCVLOWAT of a TCP socket, capped at half the largest receive buffer;
 * the buffer grows to hold that much window (unless SO_RCVBUF locked it).
 */
function tcp_set_rcvlowat(sk: Sock, val: number): number {
  const tp = tcp_sk(sk);
  const cap = (tp.sk_userlocks & SOCK_RCVBUF_LOCK ? tp.sk_rcvbuf : tp.sk_net.ipv4!.sysctl_tcp_rmem[2]) >> 1;
  val = Math.min(val, cap);
  tp.sk_rcvlowat = val || 1;
  // Check if we need to signal EPOLLIN right now.
  tcp_data_ready(tp);
  if (tp.sk_userlocks & SOCK_RCVBUF_LOCK) return 0;
  // tcp_space_from_win().
  const space = Math.floor((val * 256) / tp.scaling_ratio);
  if (space > tp.sk_rcvbuf) {
    tp.sk_rcvbuf = space;
    if (tp.window_clamp && tp.window_clamp < val) tp.window_clamp = val;
  }
  return 0;
}

/** tcp_getsockopt() → do_tcp_getsockopt(). */
function tcp_getsockopt(
  sk: InetSock,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: IoctlArg,
): number {
  if (level !== S.SOL_TCP) return ip_getsockopt(sk, level, optname, optval, optlen);
  const tp = tcp_sk(sk);
  let len = optlen.value;
  if (len < 0) return -E.EINVAL;
  const net = tp.sk_net.ipv4!;
  let val: number;
  switch (optname) {
    case T.TCP_MAXSEG:
      val = tp.mss_cache;
      if (tp.rx_opt.user_mss && TCPF(tp.sk_state) & (TCPF(TCP_CLOSE) | TCPF(TCP_LISTEN)))
        val = tp.rx_opt.user_mss;
      break;
    case T.TCP_NODELAY:
      val = tp.nonagle & TCP_NAGLE_OFF ? 1 : 0;
      break;
    case T.TCP_CORK:
      val = tp.nonagle & TCP_NAGLE_CORK ? 1 : 0;
      break;
    case T.TCP_KEEPIDLE:
      val = Math.floor(keepalive_time_when(tp) / HZ);
      break;
    case T.TCP_KEEPINTVL:
      val = Math.floor(keepalive_intvl_when(tp) / HZ);
      break;
    case T.TCP_KEEPCNT:
      val = keepalive_probes(tp);
      break;
    case T.TCP_SYNCNT:
      val = tp.icsk_syn_retries || net.sysctl_tcp_syn_retries;
      break;
    case T.TCP_LINGER2:
      val = tp.linger2;
      if (val >= 0) val = Math.floor((val || net.sysctl_tcp_fin_timeout) / HZ);
      break;
    case T.TCP_DEFER_ACCEPT:
      val = retrans_to_secs(tp.icsk_accept_queue.rskq_defer_accept, TCP_TIMEOUT_INIT / HZ, TCP_RTO_MAX / HZ);
      break;
    case T.TCP_WINDOW_CLAMP:
      val = tp.window_clamp;
      break;
    case T.TCP_INFO: {
      const info = tcp_get_info(tp);
      len = Math.min(len, info.length);
      if (len > optval.length) return -E.EFAULT;
      optval.set(info.subarray(0, len));
      optlen.value = len;
      return 0;
    }
    case T.TCP_CONGESTION: {
      const name = new TextEncoder().encode(tcp_ca_name(tp));
      len = Math.min(len, T.TCP_CA_NAME_MAX);
      const out = new Uint8Array(T.TCP_CA_NAME_MAX);
      out.set(name);
      if (len > optval.length) return -E.EFAULT;
      optval.set(out.subarray(0, len));
      optlen.value = len;
      return 0;
    }
    case T.TCP_QUICKACK:
      val = inet_csk_in_pingpong_mode(tp) ? 0 : 1;
      break;
    case T.TCP_USER_TIMEOUT:
      val = tp.icsk_user_timeout;
      break;
    case T.TCP_NOTSENT_LOWAT:
      val = tp.notsent_lowat;
      break;
    case T.TCP_INQ:
      val = tp.recvmsg_inq_on;
      break;
    case T.TCP_SAVE_SYN:
      val = tp.save_syn;
      break;
    case T.TCP_TIMESTAMP:
      val = (tcp_clock_ms(tp.sk_net) + tp.tsoffset) >>> 0;
      break;
    case T.TCP_THIN_LINEAR_TIMEOUTS:
      val = tp.thin_lto;
      break;
    case T.TCP_THIN_DUPACK:
      val = 0;
      break;
    case T.TCP_TX_DELAY:
      val = tp.tcp_tx_delay;
      break;
    case T.TCP_FASTOPEN:
      val = tp.icsk_accept_queue.fastopenq?.max_qlen ?? 0;
      break;
    case T.TCP_ULP:
      // No upper layer protocol attached: an empty answer.
      optlen.value = 0;
      return 0;
    default:
      return -E.ENOPROTOOPT;
  }
  return put_optval_int(optval, optlen, val, Math.min(len, 4));
}

/** tcp_get_info(): struct tcp_info, in Linux 6.18's layout (280 bytes). */
export function tcp_get_info(tp: TcpSock): Uint8Array {
  const b = new Uint8Array(T.SIZEOF_TCP_INFO);
  const v = new DataView(b.buffer);
  const u32 = (o: number, x: number): void => v.setUint32(o, x >>> 0, true);
  const u64 = (o: number, x: number): void => v.setBigUint64(o, BigInt(Math.max(0, Math.floor(x))), true);
  b[0] = tp.sk_state;
  const rate64 = (r: number): bigint =>
    r >= SK_PACING_UNLIMITED ? 0xffffffffffffffffn : BigInt(Math.floor(r));
  v.setBigUint64(104, rate64(tp.sk_pacing_rate), true);
  v.setBigUint64(112, rate64(tp.sk_max_pacing_rate), true);
  u32(88, tp.reordering);
  u32(80, tp.snd_cwnd);
  if (tp.sk_state === TCP_LISTEN) {
    u32(24, tp.sk_ack_backlog);
    u32(28, tp.sk_max_ack_backlog);
    return b;
  }
  b[1] = tp.icsk_ca_state;
  b[2] = tp.icsk_retransmits;
  b[3] = tp.icsk_probes_out;
  b[4] = tp.icsk_backoff;
  let options = 0;
  if (tp.rx_opt.tstamp_ok) options |= T.TCPI_OPT_TIMESTAMPS;
  if (tp.rx_opt.sack_ok) options |= T.TCPI_OPT_SACK;
  if (tp.rx_opt.wscale_ok) {
    options |= T.TCPI_OPT_WSCALE;
    b[6] = (tp.rx_opt.snd_wscale & 0xf) | ((tp.rx_opt.rcv_wscale & 0xf) << 4);
  }
  if (tcp_ecn_mode_rfc3168(tp)) options |= T.TCPI_OPT_ECN;
  if (tp.ecn_flags & TCP_ECN_SEEN) options |= T.TCPI_OPT_ECN_SEEN;
  b[5] = options;
  u32(8, jiffies_to_usecs(tp.icsk_rto));
  u32(12, jiffies_to_usecs(Math.min(tp.icsk_ack.ato, tp.icsk_delack_max)));
  u32(16, tp.mss_cache);
  u32(20, tp.icsk_ack.rcv_mss);
  u32(24, tp.packets_out);
  u32(28, tp.sacked_out);
  u32(32, tp.lost_out);
  u32(36, tp.retrans_out);
  const now = tcp_jiffies32(tp.sk_net);
  u32(44, jiffies_to_msecs(now - tp.lsndtime));
  u32(52, jiffies_to_msecs(now - tp.icsk_ack.lrcvtime));
  u32(56, jiffies_to_msecs(now - tp.rcv_tstamp));
  u32(60, tp.icsk_pmtu_cookie);
  u32(64, tp.rcv_ssthresh);
  u32(68, tp.srtt_us >>> 3);
  u32(72, tp.mdev_us >>> 2);
  u32(76, tp.snd_ssthresh);
  u32(84, tp.advmss);
  u32(92, tp.rcv_rtt_est_rtt_us >>> 3);
  u32(96, tp.rcvq_space_space);
  u32(100, tp.total_retrans);
  u64(120, tp.bytes_acked);
  u64(128, tp.bytes_received);
  u32(136, tp.segs_out);
  u32(140, tp.segs_in);
  u32(144, Math.max(0, (tp.write_seq - tp.snd_nxt) | 0));
  u32(148, tp.min_rtt_us);
  u32(152, tp.data_segs_in);
  u32(156, tp.data_segs_out);
  // tcp_get_info_chrono_stats(): busy time is all three chronographs together.
  const chrono = tcp_chrono_stats(tp);
  u64(168, chrono[0] + chrono[1] + chrono[2]);
  u64(176, chrono[1]);
  u64(184, chrono[2]);
  u32(192, tp.delivered);
  u32(196, tp.delivered_ce);
  u64(200, tp.bytes_sent);
  u64(208, tp.bytes_retrans);
  u32(216, tp.dsack_dups);
  u32(220, tp.reord_seen);
  u32(224, tp.rcv_ooopack);
  u32(228, tp.snd_wnd);
  u32(232, tp.rcv_wnd);
  v.setUint16(240, Math.min(tp.total_rto, 0xffff), true);
  v.setUint16(242, Math.min(tp.total_rto_recoveries, 0xffff), true);
  u32(244, tp.total_rto_time + (tp.rto_stamp ? tcp_clock_ms(tp.sk_net) - tp.rto_stamp : 0));
  return b;
}

// ——— the stream socket operations ————————————————————————————————————————————————————

/** __inet_stream_connect(). */
export function inet_stream_connect(
  sock: Socket,
  uaddr: Uint8Array,
  addr_len: number,
  flags: number,
): number {
  const sk = tcp_sk(sock.sk!);
  if (addr_len < S.SIZEOF_SA_FAMILY) return -E.EINVAL;
  if (sa_family(uaddr) === S.AF_UNSPEC) {
    const err = tcp_disconnect(sk, flags);
    sock.state = err ? S.SS_DISCONNECTING : S.SS_UNCONNECTED;
    sk.connect_waiting = false;
    return err;
  }
  let err: number;
  switch (sock.state) {
    default:
      return -E.EINVAL;
    case S.SS_CONNECTED:
      return -E.EISCONN;
    case S.SS_CONNECTING:
      // A blocking connect that slept reports EINPROGRESS when its time runs out, not EALREADY.
      err = sk.connect_waiting ? -E.EINPROGRESS : -E.EALREADY;
      break;
    case S.SS_UNCONNECTED:
      if (sk.sk_state !== TCP_CLOSE) return -E.EISCONN;
      err = tcp_v4_connect(sk, uaddr, addr_len);
      if (err < 0) return err;
      sock.state = S.SS_CONNECTING;
      err = -E.EINPROGRESS;
      break;
  }
  const timeo = sock_sndtimeo(sk, (flags & O_NONBLOCK) !== 0);
  if (TCPF(sk.sk_state) & (TCPF(TCP_SYN_SENT) | TCPF(TCP_SYN_RECV))) {
    if (!timeo) {
      sk.connect_waiting = false;
      return err;
    }
    // inet_wait_for_connect(): sleep until the state leaves SYN_SENT / SYN_RECV. Only the call
    // that started the connect keeps its EINPROGRESS across the retries; a later call that
    // found it in progress answers EALREADY when its own time runs out.
    const wq = sk_wq(sk);
    sk.connect_waiting = err === -E.EINPROGRESS;
    if (wq) prepare_to_wait(wq, timeo);
    return -E.EAGAIN;
  }
  sk.connect_waiting = false;
  if (sk.sk_state === TCP_CLOSE) {
    err = sock_error(sk) || -E.ECONNABORTED;
    sock.state = S.SS_UNCONNECTED;
    if (tcp_disconnect(sk, flags)) sock.state = S.SS_DISCONNECTING;
    return err;
  }
  sock.state = S.SS_CONNECTED;
  return 0;
}

function sa_family(addr: Uint8Array): number {
  return addr[0] | (addr[1] << 8);
}

/** inet_listen(). */
function inet_listen(sock: Socket, backlog: number): number {
  const sk = tcp_sk(sock.sk!);
  if (sock.state !== S.SS_UNCONNECTED || sock.type !== S.SOCK_STREAM) return -E.EINVAL;
  const old_state = sk.sk_state;
  if (!(TCPF(old_state) & (TCPF(TCP_CLOSE) | TCPF(TCP_LISTEN)))) return -E.EINVAL;
  sk.sk_max_ack_backlog = backlog;
  if (old_state !== TCP_LISTEN) {
    const err = inet_csk_listen_start(sk);
    if (err) return err;
  }
  return 0;
}

/** inet_accept(): take a child and graft it onto the new socket. */
function inet_accept(sock: Socket, newsock: Socket, flags: number, _kern: boolean): number {
  const sk = tcp_sk(sock.sk!);
  const r = inet_csk_accept(sk, flags);
  if (typeof r === 'number') return r;
  const newsk = r;
  // sock_graft().
  newsk.sk_socket = newsock;
  newsock.sk = newsk;
  newsk.sk_type = newsock.type;
  if (newsock.alloc) newsk.ino = SOCK_INODE(newsock).i_ino;
  newsk.sk_uid = in_task() ? current().cred.euid : newsk.sk_uid;
  newsock.state = S.SS_CONNECTED;
  return 0;
}

/** inet_release() for stream sockets: SO_LINGER's timeout is the close's. */
function inet_stream_release(sock: Socket): number {
  const sk = sock.sk;
  if (!sk) return 0;
  const timeout = sock_flag(sk, SOCK_LINGER) ? sk.sk_lingertime : 0;
  tcp_close(sk, timeout);
  sk.sk_socket = null;
  sock.sk = null;
  return 0;
}

function inet_stream_setsockopt(
  sock: Socket,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: number,
): number {
  return tcp_setsockopt(sock.sk as InetSock, level, optname, optval, optlen);
}
function inet_stream_getsockopt(
  sock: Socket,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: IoctlArg,
): number {
  return tcp_getsockopt(sock.sk as InetSock, level, optname, optval, optlen);
}

/** inet_sendmsg() for streams. */
function inet_stream_sendmsg(sock: Socket, msg: Msghdr, size: number): number {
  return tcp_sendmsg(sock.sk as InetSock, msg, size);
}
/** inet_recvmsg() for streams. */
function inet_stream_recvmsg(sock: Socket, msg: Msghdr, size: number, flags: number): number {
  return tcp_recvmsg(sock.sk as InetSock, msg, size, flags);
}

/** inet_stream_ops. */
export const inet_stream_ops: ProtoOps = {
  family: S.PF_INET,
  owner: 'inet',
  release: inet_stream_release,
  bind: inet_bind,
  connect: inet_stream_connect,
  socketpair: sock_no_socketpair,
  accept: inet_accept,
  getname: inet_getname,
  poll: tcp_poll,
  ioctl: inet_ioctl,
  compat_ioctl: inet_ioctl,
  listen: inet_listen,
  shutdown: inet_stream_shutdown,
  setsockopt: inet_stream_setsockopt,
  getsockopt: inet_stream_getsockopt,
  compat_setsockopt: inet_stream_setsockopt,
  compat_getsockopt: inet_stream_getsockopt,
  sendmsg: inet_stream_sendmsg,
  recvmsg: inet_stream_recvmsg,
  mmap: sock_no_mmap,
  sendpage: sock_no_sendpage,
  splice_read: sock_no_splice_read,
  set_peek_off: (sk: Sock, val: number) => {
    sk.sk_peek_off = val;
    return 0;
  },
  set_rcvlowat: tcp_set_rcvlowat,
};

/** tcp_prot. */
export const tcp_prot: InetProto = {
  name: 'TCP',
  alloc: (net: Net) => new TcpSock(net, tcp_retransmit_timer_fn, tcp_delack_timer_fn, tcp_keepalive_timer_fn),
  init: tcp_init_sock,
  close: tcp_close,
  destroy: (sk) => tcp_v4_destroy_sock(tcp_sk(sk)),
  keepalive: (sk, on) => tcp_set_keepalive(tcp_sk(sk), on),
  get_port: (sk, snum) => inet_csk_get_port(tcp_sk(sk), snum),
  unhash: (sk) => inet_unhash(tcp_sk(sk)),
  connect: (sk, addr, len) => tcp_v4_connect(tcp_sk(sk), addr, len),
  disconnect: tcp_disconnect,
  sendmsg: tcp_sendmsg,
  recvmsg: tcp_recvmsg,
  ioctl: tcp_ioctl,
  setsockopt: tcp_setsockopt,
  getsockopt: tcp_getsockopt,
};

/** The inetsw entry of TCP. */
export const tcp_protosw: InetProtosw = {
  type: S.SOCK_STREAM,
  protocol: IPPROTO_TCP,
  prot: tcp_prot,
  ops: inet_stream_ops,
  flags: INET_PROTOSW_PERMANENT | INET_PROTOSW_ICSK,
};

/** tcp_init() + tcp_v4_init(): TCP joins inetsw and inet_protos of a namespace. */
export function tcp_init(net: Net): void {
  TCP_ca_names_register();
  net.ipv4!.trace_tcp_probe = tcp_probe_event(net);
  // CUBIC is built in: its module parameters exist from boot.
  cubictcp_register(net.kernel);
  inet_register_protosw(net, tcp_protosw);
  inet_add_protocol(net, IPPROTO_TCP, { handler: tcp_v4_rcv, err_handler: tcp_v4_err });
}

export {
  tcp_current_mss,
  tcp_send_ack,
  inet_csk_delete_keepalive_timer,
  TCP_URG_VALID,
  tcp_rtx_and_write_queues_empty,
  keepalive_probes,
};
