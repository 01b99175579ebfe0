// The engine of one host's node:net: one task, and one poll(2) loop over its non-blocking fds
// (see net.ts for how it runs).

import type { Host } from '../../sim/host.js';
import type { Task } from '../../sim/task.js';
import type { PollFd } from '../../kernel/select.js';
import { AF_UNIX, SOCK_STREAM, SOCK_NONBLOCK } from '../../uapi/socket.js';
import { POLLIN } from '../../uapi/poll.js';
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

/** The shared machinery of one module: its task, its poll loop and wake-up pipe. */
export class Core {
  readonly task: Task;
  /** Every socket of the module reads into this, then copies out what it got. */
  readonly scratch = Buffer.allocUnsafe(65536);
  private readonly watched = new Map<number, Watched>();
  private running = false;
  private polling = false;
  private woken = false;
  private wakeR = -1;
  private wakeW = -1;
  private readonly one = new Uint8Array(1);
  private readonly sink = new Uint8Array(64);

  /** dns.lookup of the host: how names given to connect() and listen() resolve. */
  readonly lookup: LookupFn;

  constructor(readonly host: Host) {
    this.task = host.spawn({ comm: 'node' });
    this.lookup = host.dns.lookup as LookupFn;
  }

  now(): number {
    return this.host.clock.now();
  }

  watch(w: Watched): void {
    this.watched.set(w.fd, w);
    this.kick();
  }

  unwatch(w: Watched): void {
    if (this.watched.get(w.fd) === w) this.watched.delete(w.fd);
    this.kick();
  }

  /** The interests changed: start the loop, or interrupt the poll it sleeps in. */
  kick(): void {
    if (!this.running) {
      if (this.watched.size === 0) return;
      this.running = true;
      void this.loop();
      return;
    }
    if (this.polling && !this.woken) {
      this.woken = true;
      this.task.write(this.wakeW, this.one).catch(() => {});
    }
  }

  private async loop(): Promise<void> {
    if (this.wakeR < 0) {
      [this.wakeR, this.wakeW] = this.task.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    }
    try {
      while (this.watched.size > 0) {
        const fds: PollFd[] = [{ fd: this.wakeR, events: POLLIN, revents: 0 }];
        const who: Watched[] = [];
        let deadline = Number.POSITIVE_INFINITY;
        for (const w of this.watched.values()) {
          const ev = w.interest();
          if (ev) {
            fds.push({ fd: w.fd, events: ev, revents: 0 });
            who.push(w);
          }
          deadline = Math.min(deadline, w.deadline());
        }
        const timeout =
          deadline === Number.POSITIVE_INFINITY ? -1 : Math.max(0, Math.ceil((deadline - this.now()) / 1e6));
        this.polling = true;
        try {
          await this.task.poll(fds, timeout);
        } finally {
          this.polling = false;
        }
        if (fds[0].revents) {
          this.woken = false;
          await this.task.read(this.wakeR, this.sink).catch(() => 0);
        }
        for (let i = 0; i < who.length; i++) {
          const w = who[i];
          const r = fds[i + 1].revents;
          if (r && this.watched.get(w.fd) === w) w.ready(r);
        }
        const now = this.now();
        for (const w of [...this.watched.values()]) if (w.deadline() <= now) w.timedOut(now);
      }
    } finally {
      this.running = false;
    }
  }
}
