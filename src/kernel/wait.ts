// Wait queues (include/linux/wait.h, kernel/sched/wait.c): a list of entries whose wake function
// runs on wake_up. Entries are linked in place, so adding and removing allocate nothing.

export const WQ_FLAG_EXCLUSIVE = 0x01;

/** wait_queue_func_t: returns non-zero when the entry counts as woken (for exclusive accounting). */
export type WaitQueueFunc = (entry: WaitQueueEntry, mode: number, key: number) => number;

/** struct wait_queue_entry. */
export class WaitQueueEntry {
  flags = 0;
  prev: WaitQueueEntry | null = null;
  next: WaitQueueEntry | null = null;
  /** The head it is on, or null. */
  head: WaitQueueHead | null = null;
  constructor(
    public func: WaitQueueFunc,
    public private_: unknown = null,
  ) {}
}

/** struct wait_queue_head. */
export class WaitQueueHead {
  first: WaitQueueEntry | null = null;
  last: WaitQueueEntry | null = null;
}

/** init_waitqueue_head(). */
export function init_waitqueue_head(wq: WaitQueueHead): void {
  wq.first = wq.last = null;
}

/** add_wait_queue(): non-exclusive waiters go first. */
export function add_wait_queue(wq: WaitQueueHead, e: WaitQueueEntry): void {
  e.flags &= ~WQ_FLAG_EXCLUSIVE;
  link(wq, e, true);
}

/** add_wait_queue_exclusive(): exclusive waiters go to the tail. */
export function add_wait_queue_exclusive(wq: WaitQueueHead, e: WaitQueueEntry): void {
  e.flags |= WQ_FLAG_EXCLUSIVE;
  link(wq, e, false);
}

export function remove_wait_queue(e: WaitQueueEntry): void {
  const wq = e.head;
  if (!wq) return;
  if (e.prev) e.prev.next = e.next;
  else wq.first = e.next;
  if (e.next) e.next.prev = e.prev;
  else wq.last = e.prev;
  e.prev = e.next = null;
  e.head = null;
}

export function waitqueue_active(wq: WaitQueueHead): boolean {
  return wq.first !== null;
}

/**
 * __wake_up(): call every non-exclusive entry and up to `nr_exclusive` exclusive ones
 * (0 = all). `key` is the poll mask of the event (0 = any).
 */
export function __wake_up(wq: WaitQueueHead, mode: number, nr_exclusive: number, key: number): void {
  let e = wq.first;
  while (e) {
    const next = e.next;
    const flags = e.flags;
    const woke = e.func(e, mode, key);
    if (woke && flags & WQ_FLAG_EXCLUSIVE && --nr_exclusive === 0) break;
    e = next;
  }
}

export const TASK_INTERRUPTIBLE = 1;

export function wake_up_interruptible(wq: WaitQueueHead): void {
  if (wq.first) __wake_up(wq, TASK_INTERRUPTIBLE, 1, 0);
}

export function wake_up_interruptible_all(wq: WaitQueueHead): void {
  if (wq.first) __wake_up(wq, TASK_INTERRUPTIBLE, 0, 0);
}

/** wake_up_interruptible_poll() / _sync_poll(): wake one exclusive waiter, passing the event mask. */
export function wake_up_interruptible_poll(wq: WaitQueueHead, key: number): void {
  if (wq.first) __wake_up(wq, TASK_INTERRUPTIBLE, 1, key);
}
export const wake_up_interruptible_sync_poll = wake_up_interruptible_poll;

function link(wq: WaitQueueHead, e: WaitQueueEntry, atHead: boolean): void {
  if (e.head) remove_wait_queue(e);
  e.head = wq;
  if (atHead) {
    e.prev = null;
    e.next = wq.first;
    if (wq.first) wq.first.prev = e;
    else wq.last = e;
    wq.first = e;
  } else {
    e.next = null;
    e.prev = wq.last;
    if (wq.last) wq.last.next = e;
    else wq.first = e;
    wq.last = e;
  }
}
