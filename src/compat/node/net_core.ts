// The engine of one host's node:net: one task, and one epoll loop over its non-blocking fds, as
// libuv's (see net.ts for how it runs).

import type { Host } from '../../sim/host.js';
import type { Task } from '../../sim/task.js';
import { AF_UNIX, SOCK_STREAM, SOCK_NONBLOCK } from '../../uapi/socket.js';
import { EPOLLIN, EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD } from '../../uapi/poll.js';
import { Timer } from '../../kernel/time.js';
import { type LookupFn } from './net_args.js';

/** Something the poll loop watches: a socket or a listener. */
export interface Watched {
  readonly fd: number;
  /** The poll events wanted now (0: none, the fd is left out of this round). */
  interest(): number;
  /** When the next timeout falls due (world clock, ns), or Infinity. */
  deadline(): number;
  ready(revents: number): void;
  timedOut(now: number): void;
}

/** The shared machinery of one module: its task, its event loop and wake-up pipe. */
export class Core {
  readonly task: Task;
  /** Every socket of the module reads into this, then copies out what it got. */
  readonly scratch = Buffer.allocUnsafe(65536);
  private readonly watched = new Map<number, Watched>();
  /** What each fd is registered for in the epoll set (absent: not in it), as libuv's uv__io_t. */
  private readonly registered = new Map<number, number>();
  private running = false;
  private epfd = -1;
  private wakeR = -1;
  private wakeW = -1;
  private woken = false;
  private readonly one = new Uint8Array(1);
  private readonly sink = new Uint8Array(64);
  /** The idle timeouts: one timer on the world clock, armed for the earliest deadline. */
  private readonly timer: Timer;
  private expiring = false;

  /** dns.lookup of the host: how names given to connect() and listen() resolve. */
  readonly lookup: LookupFn;

  constructor(readonly host: Host) {
    this.task = host.spawn({ comm: 'node' });
    this.lookup = host.dns.lookup as LookupFn;
    // The timer fires in the clock's context; the timeouts run as a promise job, as the loop's.
    this.timer = new Timer(() => {
      if (!this.expiring) {
        this.expiring = true;
        queueMicrotask(this.expire);
      }
    });
  }

  now(): number {
    return this.host.clock.now();
  }

  watch(w: Watched): void {
    this.watched.set(w.fd, w);
    this.start();
    this.update(w);
  }

  unwatch(w: Watched): void {
    if (this.watched.get(w.fd) !== w) return;
    this.watched.delete(w.fd);
    if (this.registered.has(w.fd)) {
      this.registered.delete(w.fd);
      try {
        this.task.epoll_ctl(this.epfd, EPOLL_CTL_DEL, w.fd);
      } catch {
        // closed already: closing the fd took it out of the set
      }
    }
    // The loop ends when nothing is watched: wake it from its wait to see that.
    if (this.watched.size === 0 && this.running && !this.woken) {
      this.woken = true;
      this.task.write(this.wakeW, this.one).catch(() => {});
    }
  }

  /**
   * `w`'s interests or deadline may have changed: bring its registration in the epoll set up to
   * date (an fd is in the set only while it wants something, as libuv's uv__io_start/stop),
   * and the timer to its deadline. A ready fd added or changed wakes the wait (ep_insert,
   * ep_modify), so nothing else needs waking.
   */
  update(w: Watched): void {
    if (this.watched.get(w.fd) !== w) return;
    const ev = w.interest();
    const was = this.registered.get(w.fd);
    if (ev !== (was ?? 0)) {
      try {
        if (!ev) {
          this.registered.delete(w.fd);
          this.task.epoll_ctl(this.epfd, EPOLL_CTL_DEL, w.fd);
        } else {
          this.registered.set(w.fd, ev);
          const op = was === undefined ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
          this.task.epoll_ctl(this.epfd, op, w.fd, { events: ev, data: w.fd });
        }
      } catch {
        // the fd is being closed; unwatch() follows
        this.registered.delete(w.fd);
      }
    }
    this.arm(w.deadline());
  }

  /** Arm the timer for `due` (world clock, ns) if that is sooner than it is armed for. */
  private arm(due: number): void {
    if (due === Number.POSITIVE_INFINITY) return;
    const clock = this.host.clock;
    if (this.timer.heapIndex >= 0 && this.timer.expires <= due) return;
    clock.mod_timer(this.timer, Math.max(due, clock.now()));
  }

  /** The timer fired: time out what is due, then arm it for the next deadline. */
  private readonly expire = (): void => {
    this.expiring = false;
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const w of [...this.watched.values()]) {
      if (w.deadline() <= now) w.timedOut(now);
      next = Math.min(next, w.deadline());
    }
    this.arm(next);
  };

  private start(): void {
    if (this.running) return;
    if (this.epfd < 0) {
      this.epfd = this.task.epoll_create1(EPOLL_CLOEXEC);
      [this.wakeR, this.wakeW] = this.task.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
      this.task.epoll_ctl(this.epfd, EPOLL_CTL_ADD, this.wakeR, { events: EPOLLIN, data: -1 });
    }
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (this.watched.size > 0) {
        const events = await this.task.epoll_wait(this.epfd, 64, -1);
        for (const e of events) {
          if (e.data === -1) {
            this.woken = false;
            while (this.task.readNonblock(this.wakeR, this.sink) > 0);
            continue;
          }
          const w = this.watched.get(e.data);
          if (w && this.registered.has(e.data)) w.ready(e.events);
        }
      }
    } finally {
      this.running = false;
      if (this.watched.size > 0) this.start();
    }
  }
}
