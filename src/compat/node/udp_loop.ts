// The event loop of one node:dgram module: one task (the "node" process) and one epoll instance,
// as libuv has one loop per process. Every socket the module opens is an O_NONBLOCK fd of that
// task, registered in the epoll set for the events it wants (EPOLLIN while it receives,
// EPOLLOUT while sends wait for room). The loop sleeps in epoll_wait on the world clock and
// hands each ready socket its events, in the order the kernel reports them.
//
// epoll, not poll: an epoll set holds no reference to the files it watches, so a socket closed
// while the loop sleeps is released at once (its port free for the next bind), as with libuv. A
// loop with nothing to watch sleeps on a set no event can wake; it holds no timer and no libuv
// handle, so it neither moves virtual time nor keeps the process alive.

import type { Host } from '../../sim/host.js';
import type { Task } from '../../sim/task.js';
import { EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD } from '../../uapi/poll.js';
import { EPOLL_CLOEXEC } from '../../uapi/poll.js';

/** Something the loop watches: `events` is what it wants now (0: nothing). */
export interface LoopWatcher {
  readonly fd: number;
  events(): number;
  /** Called with the ready events; the loop waits for the promise before the next one. */
  ready(revents: number): Promise<void> | void;
}

/** How many ready sockets one epoll_wait may return (libuv asks for 1024). */
const MAX_EVENTS = 1024;

export class UdpLoop {
  readonly task: Task;
  private readonly epfd: number;
  /** Watchers by the id kept in their epoll data (fd numbers are reused; ids are not). */
  private readonly watchers = new Map<number, LoopWatcher>();
  /** The events each watcher is registered with, by id. */
  private readonly registered = new Map<number, number>();
  private readonly ids = new WeakMap<LoopWatcher, number>();
  private nextId = 1;
  private running = false;

  constructor(readonly host: Host) {
    this.task = host.spawn({ comm: 'node' });
    this.epfd = this.task.epoll_create1(EPOLL_CLOEXEC);
  }

  /** Register `w`, or bring its registration up to date with what it wants now. */
  update(w: LoopWatcher): void {
    let id = this.ids.get(w);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(w, id);
    }
    const events = w.events();
    const had = this.registered.get(id);
    if (had === events) return;
    if (had === undefined) {
      this.task.epoll_ctl(this.epfd, EPOLL_CTL_ADD, w.fd, { events, data: id });
      this.watchers.set(id, w);
    } else {
      this.task.epoll_ctl(this.epfd, EPOLL_CTL_MOD, w.fd, { events, data: id });
    }
    this.registered.set(id, events);
    if (!this.running) {
      this.running = true;
      void this.run();
    }
  }

  /** Stop watching `w` (before its fd is closed, as uv__io_close does). */
  remove(w: LoopWatcher): void {
    const id = this.ids.get(w);
    if (id === undefined || !this.watchers.has(id)) return;
    this.watchers.delete(id);
    this.registered.delete(id);
    try {
      this.task.epoll_ctl(this.epfd, EPOLL_CTL_DEL, w.fd);
    } catch {
      // Already gone with its file.
    }
  }

  private async run(): Promise<void> {
    for (;;) {
      let events;
      try {
        events = await this.task.epoll_wait(this.epfd, MAX_EVENTS, -1);
      } catch {
        this.running = false;
        return;
      }
      for (const ev of events) {
        const w = this.watchers.get(ev.data);
        // Closed by a callback run for an earlier event of this round.
        if (!w) continue;
        try {
          await w.ready(ev.events);
        } catch (err) {
          // A listener threw: report it as Node would, outside the loop, and carry on.
          process.nextTick(() => {
            throw err;
          });
        }
      }
    }
  }
}
