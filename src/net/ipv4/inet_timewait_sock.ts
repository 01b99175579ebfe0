// struct inet_timewait_sock + struct tcp_timewait_sock (include/net/inet_timewait_sock.h,
// include/linux/tcp.h, net/ipv4/inet_timewait_sock.c): the small sock that stands for a closed
// connection in TIME_WAIT (and for an orphaned FIN_WAIT2 past its linger), holding the port and
// the 4-tuple in the hash tables until its timer runs out.

import type { Net } from '../core/net_namespace.js';
import { Timer, NSEC_PER_JIFFY } from '../../kernel/time.js';
import { TCP_TIME_WAIT } from '../core/sock.js';

/** struct tcp_timewait_sock (with inet_timewait_sock underneath). */
export class InetTimewaitSock {
  readonly sk_state = TCP_TIME_WAIT;
  /** TCP_TIME_WAIT or TCP_FIN_WAIT2 (an orphan whose FIN_WAIT2 outlived its socket). */
  tw_substate = TCP_TIME_WAIT;
  tw_rcv_saddr = 0;
  tw_daddr = 0;
  tw_num = 0;
  tw_sport = 0;
  tw_dport = 0;
  tw_bound_dev_if = 0;
  tw_reuse = 0;
  tw_reuseport = 0;
  tw_uid = 0;
  tw_tos = 0;
  tw_ttl = 0;
  tw_rcv_nxt = 0;
  tw_snd_nxt = 0;
  tw_rcv_wnd = 0;
  tw_rcv_wscale = 0;
  tw_ts_offset = 0;
  tw_ts_recent = 0;
  /** Seconds when tw_ts_recent was recorded, 0 when the peer sends no timestamps. */
  tw_ts_recent_stamp = 0;
  /** Milliseconds of the same (tcp_tw_reuse_delay is in ms). */
  tw_ts_recent_stamp_ms = 0;
  tw_last_oow_ack_time = 0;
  /** The bind bucket the port is held in. */
  tw_tb: unknown = null;
  /** ehash membership. */
  hashed = false;
  tw_timer: Timer;
  /** The sock's inode number, for /proc/net/tcp (0 for timewait). */
  readonly ino = 0;

  constructor(
    public tw_net: Net,
    kill: (tw: InetTimewaitSock) => void,
  ) {
    this.tw_timer = new Timer(() => kill(this));
  }
}

/** inet_twsk_schedule(): (re)arm the timer for `timeo` jiffies. */
export function inet_twsk_schedule(tw: InetTimewaitSock, timeo: number): void {
  const clock = tw.tw_net.kernel.clock;
  clock.mod_timer(tw.tw_timer, clock.now() + timeo * NSEC_PER_JIFFY);
}

/** inet_twsk_deschedule_put(): stop the timer (the caller unhashes). */
export function inet_twsk_deschedule(tw: InetTimewaitSock): void {
  tw.tw_net.kernel.clock.del_timer(tw.tw_timer);
}
