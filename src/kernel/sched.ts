// `current` and sleeping. Kernel code never blocks: a call that must wait registers the
// calling task on wait queues (prepare_to_wait), returns -EAGAIN, and the system call layer
// sleeps until a wake-up or the timeout, then runs the call again — the loop the kernel writes
// around schedule_timeout(), moved one level up.

import type { TaskStruct } from './task.js';
import type { Clock } from './time.js';
import { Timer, MAX_SCHEDULE_TIMEOUT } from './time.js';
import {
  WaitQueueEntry,
  WaitQueueHead,
  add_wait_queue,
  add_wait_queue_exclusive,
  remove_wait_queue,
} from './wait.js';
import { EAGAIN } from '../uapi/errno.js';
import { do_softirq } from './softirq.js';

let current_task: TaskStruct | null = null;
let current_sleeper: Sleeper | null = null;

/** `current`: the task whose system call is running. */
export function current(): TaskStruct {
  if (!current_task) throw new Error('no current task: kernel code called outside a system call');
  return current_task;
}

/** Whether kernel code is running on behalf of a task (softirq-like paths have none). */
export function in_task(): boolean {
  return current_task !== null;
}

/**
 * prepare_to_wait(): the running call will sleep on `wq` until woken. `timeo` is the sleep's
 * limit in ns (the first registration of a call sets it). Only meaningful inside a call run by
 * `run_blocking`; elsewhere it does nothing, and the caller's -EAGAIN stands.
 */
export function prepare_to_wait(wq: WaitQueueHead, timeo: number, exclusive = false): void {
  const s = current_sleeper;
  if (!s) return;
  let e = s.entries[s.n];
  if (e) e.private_ = s;
  else s.entries.push((e = new WaitQueueEntry(sleeper_wake, s)));
  s.n++;
  if (exclusive) add_wait_queue_exclusive(wq, e);
  else add_wait_queue(wq, e);
  if (s.timeo < 0) s.timeo = timeo;
}

class Sleeper {
  /** Wait-queue entries; the first `n` are in use (kept for reuse). */
  entries: WaitQueueEntry[] = [];
  n = 0;
  timeo = -1;
  woken = false;
  resolve: (() => void) | null = null;

  finish(): void {
    for (let i = 0; i < this.n; i++) remove_wait_queue(this.entries[i]);
    this.n = 0;
  }

  reset(): void {
    this.timeo = -1;
    this.woken = false;
    this.resolve = null;
  }
}

/** The sleeper of a first attempt: most calls do not sleep, so one object serves them all. */
let spare: Sleeper | null = null;

/**
 * Try a call that may sleep once, synchronously. Returns its result when it did not need to
 * sleep; otherwise a promise that sleeps and retries as run_blocking does.
 */
export function run_blocking_fast(
  task: TaskStruct,
  clock: Clock,
  fn: (noblock: boolean) => number,
): number | Promise<number> {
  return run_blocking_first(task, clock, fn, () => fn);
}

/**
 * run_blocking_fast() for callers that keep the common case free of closures: `first` is a
 * function made once, which reads the call's arguments from where the caller left them, and runs
 * once, synchronously. Only when the call must sleep is `retry()` asked for the function the
 * retries run; it must capture those arguments, since other calls run while this one sleeps.
 */
export function run_blocking_first(
  task: TaskStruct,
  clock: Clock,
  first: (noblock: boolean) => number,
  retry: () => (noblock: boolean) => number,
): number | Promise<number> {
  const r = attempt(task, first);
  return typeof r === 'number' ? r : run_blocking_sleep(task, clock, retry(), r);
}

/** One pass of a call that may sleep: its result, or the sleeper it registered. */
function attempt(task: TaskStruct, fn: (noblock: boolean) => number): number | Sleeper {
  const s = spare ?? new Sleeper();
  spare = null;
  s.reset();
  const prev = current_task;
  const prevSleeper = current_sleeper;
  current_task = task;
  current_sleeper = s;
  let r: number;
  try {
    r = fn(false);
  } catch (err) {
    s.finish();
    spare = s;
    throw err;
  } finally {
    current_task = prev;
    current_sleeper = prevSleeper;
  }
  // Leaving the kernel: pending softirqs run (local_bh_enable / irq_exit).
  if (!prev) do_softirq(task.kernel.clock.softirq);
  if (r !== -EAGAIN || s.n === 0) {
    s.finish();
    spare = s;
    return r;
  }
  return s;
}

async function run_blocking_sleep(
  task: TaskStruct,
  clock: Clock,
  fn: (noblock: boolean) => number,
  s: Sleeper,
): Promise<number> {
  const deadline = s.timeo === MAX_SCHEDULE_TIMEOUT ? s.timeo : clock.now() + s.timeo;
  for (;;) {
    const timedOut = await sleep(s, clock, deadline);
    s.finish();
    spare = s;
    if (task.exited) return -EAGAIN;
    if (timedOut) return run_as(task, () => fn(true));
    const r = attempt(task, fn);
    if (typeof r === 'number') return r;
    s = r;
  }
}

function sleeper_wake(e: WaitQueueEntry): number {
  const s = e.private_ as Sleeper;
  if (s.woken) return 0;
  s.woken = true;
  s.resolve?.();
  return 1;
}

/** Run a non-blocking kernel function as `task` (sets `current`). */
export function run_as<T>(task: TaskStruct, fn: () => T): T {
  const prev = current_task;
  const prevSleeper = current_sleeper;
  current_task = task;
  current_sleeper = null;
  try {
    return fn();
  } finally {
    current_task = prev;
    current_sleeper = prevSleeper;
    if (!prev) do_softirq(task.kernel.clock.softirq);
  }
}

/**
 * Run a kernel function that may sleep. `fn(noblock)` returns a result; -EAGAIN after a
 * prepare_to_wait() means "sleep, then call me again". When the sleep's timeout runs out, `fn`
 * runs once more with noblock = true and its answer stands (a partial count, -EAGAIN, …).
 */
export async function run_blocking(
  task: TaskStruct,
  clock: Clock,
  fn: (noblock: boolean) => number,
): Promise<number> {
  return run_blocking_fast(task, clock, fn);
}

function sleep(s: Sleeper, clock: Clock, deadline: number): Promise<boolean> {
  if (s.woken) return Promise.resolve(false);
  if (deadline !== MAX_SCHEDULE_TIMEOUT && deadline <= clock.now()) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    let timer: Timer | null = null;
    s.resolve = () => {
      if (timer) clock.del_timer(timer);
      resolve(false);
    };
    if (deadline !== MAX_SCHEDULE_TIMEOUT) {
      timer = new Timer(() => {
        s.woken = true;
        resolve(true);
      });
      clock.mod_timer(timer, deadline);
    }
  });
}
