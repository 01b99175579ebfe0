// Time for one world: a monotonic clock in nanoseconds and cheap kernel timers.
//
// Timers follow the kernel's timer_list API (timer_setup / mod_timer / del_timer / timer_pending).
// They live in a binary heap ordered by (expires, arm sequence); each Timer remembers its heap
// slot, so re-arming moves it in O(log n) and allocates nothing.

import { SoftirqState, do_softirq } from './softirq.js';

export const NSEC_PER_USEC = 1_000;
export const NSEC_PER_MSEC = 1_000_000;
export const NSEC_PER_SEC = 1_000_000_000;
/** A timeout that never expires (MAX_SCHEDULE_TIMEOUT). */
export const MAX_SCHEDULE_TIMEOUT = Number.POSITIVE_INFINITY;
/** Timer frequency: socket timeouts are kept in jiffies of 1/HZ s, and round as Linux does. */
export const HZ = 250;
export const NSEC_PER_JIFFY = NSEC_PER_SEC / HZ;

export type TimerFn = (timer: Timer) => void;

/** struct timer_list. */
export class Timer {
  expires = 0;
  /** Slot in the owning clock's heap, -1 when not pending. */
  heapIndex = -1;
  /** Arm order, so timers due at the same instant fire in the order they were armed. */
  seq = 0;
  /**
   * What the callback works on (the kernel's from_timer / container_of): one callback shared
   * by every timer of a kind, instead of a closure per owner.
   */
  data: unknown;
  constructor(
    public fn: TimerFn,
    data: unknown = null,
  ) {
    this.data = data;
  }
}

/** What the kernel knows of time. The world owns the clock; every host of a world reads the same one. */
export abstract class Clock {
  /** The softirqs raised on this world's "CPU". */
  readonly softirq = new SoftirqState();
  private heap: Timer[] = [];
  private armSeq = 0;

  /** Current time in nanoseconds since the world started. */
  abstract now(): number;
  /** Called when the earliest deadline may have changed, so the driver can reschedule. */
  protected abstract kick(): void;

  /** Stopped: no timer fires any more (see stop()). */
  protected stopped = false;

  /**
   * Stop the clock for good: pending timers stay armed but never fire, so a world whose
   * connections still hold timers (keepalive, TIME_WAIT, retransmission) lets the program end.
   */
  stop(): void {
    this.stopped = true;
  }

  /** mod_timer(): (re)arm `t` to fire at absolute time `expires` (ns). */
  mod_timer(t: Timer, expires: number): void {
    t.expires = expires;
    t.seq = ++this.armSeq;
    if (t.heapIndex < 0) {
      t.heapIndex = this.heap.length;
      this.heap.push(t);
      this.up(t.heapIndex);
    } else {
      this.down(this.up(t.heapIndex));
    }
    if (this.heap[0] === t) this.kick();
  }

  /** del_timer(): cancel; returns whether the timer was pending. */
  del_timer(t: Timer): boolean {
    const i = t.heapIndex;
    if (i < 0) return false;
    const last = this.heap.pop()!;
    t.heapIndex = -1;
    if (last !== t) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.down(this.up(i));
    }
    return true;
  }

  timer_pending(t: Timer): boolean {
    return t.heapIndex >= 0;
  }

  /** Deadline of the earliest pending timer, or Infinity. */
  nextExpiry(): number {
    return this.heap.length ? this.heap[0].expires : Number.POSITIVE_INFINITY;
  }

  pendingTimers(): number {
    return this.heap.length;
  }

  /** Fire every timer due at or before `now`, in deadline order; returns how many fired. */
  protected runDue(now: number): number {
    let n = 0;
    while (this.heap.length && this.heap[0].expires <= now) {
      const t = this.heap[0];
      this.del_timer(t);
      n++;
      t.fn(t);
      // The timer ran in softirq context: what it raised runs before the next timer.
      do_softirq(this.softirq);
    }
    return n;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.expires < b.expires || (a.expires === b.expires && a.seq < b.seq);
  }

  private up(i: number): number {
    const h = this.heap;
    const t = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(t, h[p])) break;
      h[i] = h[p];
      h[i].heapIndex = i;
      i = p;
    }
    h[i] = t;
    t.heapIndex = i;
    return i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r], h[l]) ? r : l;
      if (!this.less(h[c], t)) break;
      h[i] = h[c];
      h[i].heapIndex = i;
      i = c;
    }
    h[i] = t;
    t.heapIndex = i;
  }
}

/**
 * Virtual time: the clock stands still while anything is runnable. When the event loop has
 * nothing else to do (a setImmediate turn, after all promise jobs), timers due now fire; if none
 * is due, the clock jumps to the earliest deadline. One instant per turn, so promise jobs that
 * the fired timers resolved run before time moves again.
 */
export class VirtualClock extends Clock {
  private t = 0;
  private scheduled = false;
  private readonly turn = (): void => {
    this.scheduled = false;
    if (this.stopped) return;
    const next = this.nextExpiry();
    if (next === Number.POSITIVE_INFINITY) return;
    if (next > this.t) this.t = next;
    this.runDue(this.t);
    this.kick();
  };

  now(): number {
    return this.t;
  }

  protected kick(): void {
    if (!this.scheduled && !this.stopped && this.pendingTimers() > 0) {
      this.scheduled = true;
      setImmediate(this.turn);
    }
  }

  /** Move time forward by `ns` by hand, firing every timer on the way (for tests that step time). */
  advance(ns: number): void {
    const end = this.t + ns;
    while (this.nextExpiry() <= end) {
      this.t = Math.max(this.t, this.nextExpiry());
      this.runDue(this.t);
    }
    this.t = end;
  }
}
