// epoll(7) (fs/eventpoll.c). An epoll instance (struct eventpoll) keeps its watched (file, fd)
// pairs as epitems. At EPOLL_CTL_ADD each item hangs a callback (ep_poll_callback) on every wait
// queue the file's poll names; when the file wakes one of them the callback moves the item onto
// the ready list and wakes the epoll_wait() sleepers. epoll_wait() re-polls only the ready items
// (ep_send_events), so its cost follows the number of ready files, not the number watched.

import type { TaskStruct } from './task.js';
import { File, Inode } from './fs.js';
import type { FileOperations, PollTable } from './fs.js';
import {
  WaitQueueEntry,
  WaitQueueHead,
  __wake_up,
  add_wait_queue,
  add_wait_queue_exclusive,
  remove_wait_queue,
  waitqueue_active,
} from './wait.js';
import { prepare_to_wait } from './sched.js';
import { MAX_SCHEDULE_TIMEOUT } from './time.js';
import { set_eventpoll_release } from './eventpoll_release.js';
import { vfs_poll } from './select.js';
import {
  EPOLLERR,
  EPOLLET,
  EPOLLEXCLUSIVE,
  EPOLLHUP,
  EPOLLIN,
  EPOLLONESHOT,
  EPOLLOUT,
  EPOLLRDNORM,
  EPOLLWAKEUP,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
} from '../uapi/poll.js';
import { EAGAIN, EBADF, EEXIST, EFAULT, EINVAL, ELOOP, ENOENT, EPERM } from '../uapi/errno.js';
import { O_CLOEXEC, O_RDWR } from '../uapi/fcntl.js';

/** Epoll private bits inside the event mask. */
const EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
const EPOLLINOUT_BITS = EPOLLIN | EPOLLOUT;
const EPOLLEXCLUSIVE_OK_BITS = EPOLLINOUT_BITS | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/** Maximum number of nesting allowed inside epoll sets. */
export const EP_MAX_NESTS = 4;
/** INT_MAX / sizeof(struct epoll_event). */
export const EP_MAX_EVENTS = Math.floor(0x7fffffff / 12);
/** include/uapi/linux/capability.h: EPOLLWAKEUP needs it. */
const CAP_BLOCK_SUSPEND = 36;
/** TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE: what wake_up() and wake_up_poll() pass. */
const TASK_NORMAL = 3;

/** struct epoll_event. */
export interface EpollEvent {
  events: number;
  data: number;
}

/** A list of epitems linked through their rdllink (the ready list, or a scan's batch). */
class EpList {
  first: Epitem | null = null;
  last: Epitem | null = null;
}

/** struct epitem: one watched (file, fd) of one epoll instance. */
export class Epitem {
  /** rdllink: the list the item is on, if any (ep_is_linked), and its neighbours there. */
  rdlist: EpList | null = null;
  rdprev: Epitem | null = null;
  rdnext: Epitem | null = null;
  /** ovflist link: events that arrived while the ready list was being scanned. */
  ovflist_next: Epitem | null = null;
  on_ovflist = false;
  /** Next item of the same file under another fd (the rbtree key is (file, fd)). */
  ffd_next: Epitem | null = null;
  /** pwqlist: our entries on the file's wait queues. */
  readonly pwqlist: WaitQueueEntry[] = [];

  constructor(
    readonly ep: Eventpoll,
    /** ffd.file, ffd.fd. */
    readonly file: File,
    readonly fd: number,
    /** event.events, event.data. */
    public events: number,
    public data: number,
  ) {}
}

/** struct eventpoll: the private data of an epoll file. */
export class Eventpoll {
  /** Wait queue used by epoll_wait(). */
  readonly wq = new WaitQueueHead();
  /** Wait queue used by file->poll(): poll/select/another epoll watching this one. */
  readonly poll_wait = new WaitQueueHead();
  /** List of ready items. */
  readonly rdllist = new EpList();
  /** The batch being scanned (a stack LIST_HEAD in Linux; a scan of one ep never nests). */
  readonly scan_batch = new EpList();
  /** ep->ovflist != EP_UNACTIVE_PTR: a scan is in progress and callbacks chain on ovflist. */
  scanning = false;
  ovflist: Epitem | null = null;
  /** rbr: the watched items by file, then fd through ffd_next. */
  readonly rbr = new Map<File, Epitem>();
  /** The epoll file; its f_ep holds the items of the epoll sets watching this one (ep->refs). */
  file: File | null = null;
  /** Loop check generation and the depth computed for it. */
  gen = 0;
  loop_check_depth = 0;
}

// ——— the ready list ——————————————————————————————————————————————————————————

function ep_is_linked(epi: Epitem): boolean {
  return epi.rdlist !== null;
}

function list_add_tail(epi: Epitem, l: EpList): void {
  epi.rdlist = l;
  epi.rdnext = null;
  epi.rdprev = l.last;
  if (l.last) l.last.rdnext = epi;
  else l.first = epi;
  l.last = epi;
}

function list_add(epi: Epitem, l: EpList): void {
  epi.rdlist = l;
  epi.rdprev = null;
  epi.rdnext = l.first;
  if (l.first) l.first.rdprev = epi;
  else l.last = epi;
  l.first = epi;
}

function list_del_init(epi: Epitem): void {
  const l = epi.rdlist;
  if (!l) return;
  if (epi.rdprev) epi.rdprev.rdnext = epi.rdnext;
  else l.first = epi.rdnext;
  if (epi.rdnext) epi.rdnext.rdprev = epi.rdprev;
  else l.last = epi.rdprev;
  epi.rdlist = epi.rdprev = epi.rdnext = null;
}

/** list_splice(): move all of `from` to the head of `to`, leaving `from` empty. */
function list_splice_init(from: EpList, to: EpList): void {
  if (!from.first) return;
  for (let e: Epitem | null = from.first; e; e = e.rdnext) e.rdlist = to;
  if (to.first) {
    from.last!.rdnext = to.first;
    to.first.rdprev = from.last;
  } else {
    to.last = from.last;
  }
  to.first = from.first;
  from.first = from.last = null;
}

/** ep_events_available(). */
function ep_events_available(ep: Eventpoll): boolean {
  return ep.rdllist.first !== null || ep.scanning;
}

/** ep_start_scan(): steal the ready list; callbacks chain on ovflist until ep_done_scan(). */
function ep_start_scan(ep: Eventpoll): EpList {
  list_splice_init(ep.rdllist, ep.scan_batch);
  ep.scanning = true;
  ep.ovflist = null;
  return ep.scan_batch;
}

/** ep_done_scan(): requeue what arrived during the scan and what the scan left unvisited. */
function ep_done_scan(ep: Eventpoll): void {
  for (let epi = ep.ovflist; epi;) {
    const next: Epitem | null = epi.ovflist_next;
    epi.ovflist_next = null;
    epi.on_ovflist = false;
    // ovflist is LIFO; adding each at the head makes the ready list FIFO again.
    if (!ep_is_linked(epi)) list_add(epi, ep.rdllist);
    epi = next;
  }
  ep.ovflist = null;
  ep.scanning = false;
  list_splice_init(ep.scan_batch, ep.rdllist);
  // Another epoll_wait() sleeper may harvest what is left (level-triggered items re-queued).
  if (ep.rdllist.first && waitqueue_active(ep.wq)) wake_up(ep.wq);
}

/** wake_up(): one exclusive waiter and every non-exclusive one. */
function wake_up(wq: WaitQueueHead): void {
  __wake_up(wq, TASK_NORMAL, 1, 0);
}

/** ep_poll_safewake(): tell whoever polls the epoll file itself that it became readable. */
function ep_poll_safewake(ep: Eventpoll): void {
  __wake_up(ep.poll_wait, TASK_NORMAL, 1, EPOLLIN);
}

// ——— polling the watched files ———————————————————————————————————————————————

/** A poll table that registers nothing (init_poll_funcptr(&pt, NULL)). */
const nopt: PollTable = { _qproc: null, _key: ~0 };

/** ep_item_poll(): the item's current events, as far as it asked for them. */
function ep_item_poll(epi: Epitem, pt: PollTable, depth: number): number {
  const file = epi.file;
  // epi_fget() fails once the last reference is gone: the file is on its way out.
  if (file.f_count <= 0) return 0;
  pt._key = epi.events;
  const res = is_file_epoll(file) ? __ep_eventpoll_poll(file, pt, depth) : vfs_poll(file, pt);
  return res & epi.events;
}

/** __ep_eventpoll_poll(): an epoll file is readable when one of its ready items really is. */
function __ep_eventpoll_poll(file: File, wait: PollTable | null, depth: number): number {
  const ep = file.private_data as Eventpoll;
  if (wait && wait._qproc) wait._qproc(file, ep.poll_wait, wait);
  let res = 0;
  const batch = ep_start_scan(ep);
  for (let epi = batch.first; epi;) {
    const next: Epitem | null = epi.rdnext;
    if (ep_item_poll(epi, nopt, depth + 1)) {
      res = EPOLLIN | EPOLLRDNORM;
      break;
    }
    // Queued by a callback but not ready for what the item asks: drop it until the next one.
    list_del_init(epi);
    epi = next;
  }
  ep_done_scan(ep);
  return res;
}

/** ep_eventpoll_poll(). */
function ep_eventpoll_poll(file: File, wait: PollTable | null): number {
  return __ep_eventpoll_poll(file, wait, 0);
}

/**
 * ep_poll_callback(): a watched file woke one of its queues. `key` is the event mask (0 when the
 * waker does not say). Returns whether the wake counts against an exclusive wake-up: an
 * EPOLLEXCLUSIVE item only counts when it woke an epoll_wait() sleeper, so a wake-up skips epoll
 * sets nobody waits on.
 */
function ep_poll_callback(wait: WaitQueueEntry, _mode: number, key: number): number {
  const epi = wait.private_ as Epitem;
  const ep = epi.ep;
  let ewake = 0;
  let pwake = false;
  // An item with no event bits left is disabled (EPOLLONESHOT fired, no MOD since); a key
  // with nothing the item asks for is not its event.
  if (epi.events & ~EP_PRIVATE_BITS && !(key && !(key & epi.events))) {
    if (ep.scanning) {
      if (!epi.on_ovflist) {
        epi.on_ovflist = true;
        epi.ovflist_next = ep.ovflist;
        ep.ovflist = epi;
      }
    } else if (!ep_is_linked(epi)) {
      list_add_tail(epi, ep.rdllist);
    }
    if (waitqueue_active(ep.wq)) {
      if (epi.events & EPOLLEXCLUSIVE) {
        switch (key & EPOLLINOUT_BITS) {
          case EPOLLIN:
            if (epi.events & EPOLLIN) ewake = 1;
            break;
          case EPOLLOUT:
            if (epi.events & EPOLLOUT) ewake = 1;
            break;
          case 0:
            ewake = 1;
            break;
        }
      }
      wake_up(ep.wq);
    }
    if (waitqueue_active(ep.poll_wait)) pwake = true;
  }
  if (pwake) ep_poll_safewake(ep);
  if (!(epi.events & EPOLLEXCLUSIVE)) ewake = 1;
  return ewake;
}

/** struct ep_pqueue: the poll table of ep_insert(), whose _qproc hooks the item on. */
class EpPqueue implements PollTable {
  _qproc = ep_ptable_queue_proc;
  _key = ~0;
  constructor(readonly epi: Epitem) {}
}

/** ep_ptable_queue_proc(): hang the item's callback on a queue the file named. */
function ep_ptable_queue_proc(_file: File, whead: WaitQueueHead, pt: PollTable): void {
  const epi = (pt as EpPqueue).epi;
  const e = new WaitQueueEntry(ep_poll_callback, epi);
  if (epi.events & EPOLLEXCLUSIVE) add_wait_queue_exclusive(whead, e);
  else add_wait_queue(whead, e);
  epi.pwqlist.push(e);
}

/** ep_unregister_pollwait(). */
function ep_unregister_pollwait(epi: Epitem): void {
  for (const e of epi.pwqlist) remove_wait_queue(e);
  epi.pwqlist.length = 0;
}

// ——— the interest set ————————————————————————————————————————————————————————

/** ep_find(): the item for (file, fd). */
function ep_find(ep: Eventpoll, file: File, fd: number): Epitem | null {
  let epi = ep.rbr.get(file) ?? null;
  while (epi && epi.fd !== fd) epi = epi.ffd_next;
  return epi;
}

function ep_rbtree_insert(ep: Eventpoll, epi: Epitem): void {
  const head = ep.rbr.get(epi.file);
  if (head) {
    epi.ffd_next = head.ffd_next;
    head.ffd_next = epi;
  } else {
    ep.rbr.set(epi.file, epi);
  }
}

function ep_rbtree_erase(ep: Eventpoll, epi: Epitem): void {
  const head = ep.rbr.get(epi.file);
  if (head === epi) {
    if (epi.ffd_next) ep.rbr.set(epi.file, epi.ffd_next);
    else ep.rbr.delete(epi.file);
  } else {
    for (let p: Epitem | null = head ?? null; p; p = p.ffd_next) {
      if (p.ffd_next === epi) {
        p.ffd_next = epi.ffd_next;
        break;
      }
    }
  }
  epi.ffd_next = null;
}

function file_items(file: File): Set<Epitem> | null {
  return file.f_ep as Set<Epitem> | null;
}

/** ep_attach_file(): the file learns which items watch it (file->f_ep). */
function ep_attach_file(file: File, epi: Epitem): void {
  if (!file.f_ep) file.f_ep = new Set<Epitem>();
  file.f_ep.add(epi);
}

/** ep_remove_file(): the last watcher leaves f_ep NULL, so __fput() skips eventpoll_release. */
function ep_remove_file(epi: Epitem, file: File): void {
  const head = file.f_ep;
  if (!head) return;
  head.delete(epi);
  if (head.size === 0) file.f_ep = null;
}

/** ep_remove_epi(). */
function ep_remove_epi(ep: Eventpoll, epi: Epitem): void {
  ep_rbtree_erase(ep, epi);
  if (ep_is_linked(epi)) list_del_init(epi);
}

/** ep_remove(): EPOLL_CTL_DEL, and each item of an epoll file being closed. */
function ep_remove(ep: Eventpoll, epi: Epitem): void {
  ep_unregister_pollwait(epi);
  ep_remove_file(epi, epi.file);
  ep_remove_epi(ep, epi);
}

/** Iterate every item of `ep` (rb_first / rb_next). */
function ep_for_each(ep: Eventpoll, fn: (epi: Epitem) => boolean | void): void {
  for (const head of ep.rbr.values()) {
    for (let epi: Epitem | null = head; epi;) {
      const next: Epitem | null = epi.ffd_next;
      if (fn(epi) === true) return;
      epi = next;
    }
  }
}

/** ep_clear_and_put(): the epoll file is released. */
function ep_clear_and_put(ep: Eventpoll): void {
  // Release anyone blocked in poll on the epoll file.
  if (waitqueue_active(ep.poll_wait)) ep_poll_safewake(ep);
  ep_for_each(ep, (epi) => ep_unregister_pollwait(epi));
  ep_for_each(ep, (epi) => ep_remove(ep, epi));
}

/** ep_eventpoll_release(). */
function ep_eventpoll_release(_inode: Inode, file: File): void {
  const ep = file.private_data as Eventpoll | null;
  if (ep) ep_clear_and_put(ep);
}

/** eventpoll_fops. */
export const eventpoll_fops: FileOperations = {
  name: 'eventpoll_fops',
  poll: ep_eventpoll_poll,
  release: ep_eventpoll_release,
  // ep_eventpoll_ioctl(): only the busy-poll parameters, which usernet does not keep.
  unlocked_ioctl: () => -EINVAL,
};

/** is_file_epoll(). */
export function is_file_epoll(f: File): boolean {
  return f.f_op === eventpoll_fops;
}

/**
 * eventpoll_release_file(): the last reference to a watched file is gone; it leaves every epoll
 * set that still watches it (closing one fd of several leaves the items in place).
 */
export function eventpoll_release_file(file: File): void {
  for (;;) {
    const items = file_items(file);
    if (!items || items.size === 0) break;
    const epi: Epitem = items.values().next().value!;
    const ep = epi.ep;
    ep_unregister_pollwait(epi);
    ep_remove_file(epi, file);
    ep_remove_epi(ep, epi);
  }
  file.f_ep = null;
}

set_eventpoll_release(eventpoll_release_file);

// ——— nesting checks ——————————————————————————————————————————————————————————

/** Bumped around every full check, so a walk visits each eventpoll once. */
let loop_check_gen = 0;
let inserting_into: Eventpoll | null = null;
/** Files whose wakeup paths a new link may multiply (tfile_check_list). */
const tfile_check_list = new Set<File>();
/** Wakeup paths allowed from any one file, by path length (path_limits). */
const path_limits = [1000, 500, 100, 50, 10];
const path_count = [0, 0, 0, 0, 0];

/**
 * ep_loop_check_proc(): the depth of the epoll tree below `ep`, or more than EP_MAX_NESTS if it
 * reaches the set being inserted into (a cycle) or goes too deep. Plain files met on the way
 * are listed for reverse_path_check().
 */
function ep_loop_check_proc(ep: Eventpoll, depth: number): number {
  if (ep.gen === loop_check_gen) return ep.loop_check_depth;
  ep.gen = loop_check_gen;
  let result = 0;
  ep_for_each(ep, (epi) => {
    if (is_file_epoll(epi.file)) {
      const ep_tovisit = epi.file.private_data as Eventpoll;
      if (ep_tovisit === inserting_into || depth > EP_MAX_NESTS) result = EP_MAX_NESTS + 1;
      else result = Math.max(result, ep_loop_check_proc(ep_tovisit, depth + 1) + 1);
      if (result > EP_MAX_NESTS) return true;
    } else {
      tfile_check_list.add(epi.file);
    }
    return false;
  });
  ep.loop_check_depth = result;
  return result;
}

/** ep_get_upwards_depth_proc(): how many epoll sets stack above `ep`. */
function ep_get_upwards_depth_proc(ep: Eventpoll, depth: number): number {
  if (ep.gen === loop_check_gen) return ep.loop_check_depth;
  let result = 0;
  const refs = ep.file ? file_items(ep.file) : null;
  if (refs) {
    for (const epi of refs) result = Math.max(result, ep_get_upwards_depth_proc(epi.ep, depth + 1) + 1);
  }
  ep.gen = loop_check_gen;
  ep.loop_check_depth = result;
  return result;
}

/** ep_loop_check(): adding `to` into `ep` must make no cycle and no chain over EP_MAX_NESTS. */
function ep_loop_check(ep: Eventpoll, to: Eventpoll): number {
  inserting_into = ep;
  const depth = ep_loop_check_proc(to, 0);
  inserting_into = null;
  if (depth > EP_MAX_NESTS) return -1;
  const upwards_depth = ep_get_upwards_depth_proc(ep, 0);
  return depth + 1 + upwards_depth > EP_MAX_NESTS ? -1 : 0;
}

function path_count_inc(nests: number): number {
  // Allow an arbitrary number of depth 1 paths.
  if (nests === 0) return 0;
  return ++path_count[nests] > path_limits[nests] ? -1 : 0;
}

function reverse_path_check_proc(refs: Set<Epitem>, depth: number): number {
  if (depth > EP_MAX_NESTS) return -1;
  let error = 0;
  for (const epi of refs) {
    const up = epi.ep.file ? file_items(epi.ep.file) : null;
    error = up && up.size ? reverse_path_check_proc(up, depth + 1) : path_count_inc(depth);
    if (error) break;
  }
  return error;
}

/** reverse_path_check(): no listed file may gain too many wakeup paths through epoll sets. */
function reverse_path_check(): number {
  for (const file of tfile_check_list) {
    path_count.fill(0);
    const refs = file_items(file);
    if (refs && reverse_path_check_proc(refs, 0)) return -1;
  }
  return 0;
}

// ——— the system calls ————————————————————————————————————————————————————————

/** do_epoll_create(): epoll_create1(2). Returns the new fd. */
export function do_epoll_create(task: TaskStruct, flags: number): number {
  if (flags & ~EPOLL_CLOEXEC) return -EINVAL;
  const ep = new Eventpoll();
  const fd = task.files.get_unused_fd_flags(O_RDWR | (flags & O_CLOEXEC));
  if (fd < 0) return fd;
  // anon_inode_getfile("[eventpoll]"): an owner-only inode of no file type, owned by root as the
  // anon inode is.
  const inode = new Inode(task.kernel.get_next_ino(), 0o600, 0, 0);
  const file = new File(eventpoll_fops, inode, O_RDWR, ep, 'anon_inode:[eventpoll]');
  ep.file = file;
  task.files.fd_install(fd, file);
  return fd;
}

/** ep_insert(). */
function ep_insert(
  ep: Eventpoll,
  events: number,
  data: number,
  tfile: File,
  fd: number,
  full_check: boolean,
): number {
  const tep = is_file_epoll(tfile) ? (tfile.private_data as Eventpoll) : null;
  const epi = new Epitem(ep, tfile, fd, events, data);
  ep_attach_file(tfile, epi);
  if (full_check && !tep) tfile_check_list.add(tfile);
  ep_rbtree_insert(ep, epi);

  // Reject the insert if the new link would create too many back-paths.
  if (full_check && reverse_path_check()) {
    ep_remove(ep, epi);
    return -EINVAL;
  }

  // Hook the item on the file's queues and read its events; from here on the callback can fire.
  const revents = ep_item_poll(epi, new EpPqueue(epi), 1);
  if (revents && !ep_is_linked(epi)) {
    list_add_tail(epi, ep.rdllist);
    if (waitqueue_active(ep.wq)) wake_up(ep.wq);
    if (waitqueue_active(ep.poll_wait)) ep_poll_safewake(ep);
  }
  return 0;
}

/** ep_modify(): the new mask takes effect before the file is polled, so no event slips by. */
function ep_modify(ep: Eventpoll, epi: Epitem, events: number, data: number): number {
  epi.events = events;
  epi.data = data;
  if (ep_item_poll(epi, nopt, 1) && !ep_is_linked(epi)) {
    list_add_tail(epi, ep.rdllist);
    if (waitqueue_active(ep.wq)) wake_up(ep.wq);
    if (waitqueue_active(ep.poll_wait)) ep_poll_safewake(ep);
  }
  return 0;
}

/** ep_op_has_event(). */
function ep_op_has_event(op: number): boolean {
  return op !== EPOLL_CTL_DEL;
}

/**
 * do_epoll_ctl(): epoll_ctl(2). `event` is read for every op but EPOLL_CTL_DEL (null there is
 * EFAULT, as a NULL pointer is). The caller's object is not modified.
 */
export function do_epoll_ctl(
  task: TaskStruct,
  epfd: number,
  op: number,
  fd: number,
  event: EpollEvent | null,
): number {
  const has_event = ep_op_has_event(op);
  if (has_event && !event) return -EFAULT;
  let events = has_event ? event!.events | 0 : 0;
  const data = has_event ? event!.data : 0;

  const f = task.files.fcheck(epfd);
  if (!f) return -EBADF;
  const tf = task.files.fcheck(fd);
  if (!tf) return -EBADF;

  // The target file descriptor must support poll.
  if (!tf.f_op.poll) return -EPERM;

  // ep_take_care_of_epollwakeup(): EPOLLWAKEUP quietly needs CAP_BLOCK_SUSPEND.
  if (has_event && events & EPOLLWAKEUP && !task.cred.has_cap(CAP_BLOCK_SUSPEND)) events &= ~EPOLLWAKEUP;

  // The epfd must be an epoll file, and an epoll file cannot watch itself.
  if (f === tf || !is_file_epoll(f)) return -EINVAL;

  // Wake-up queues are joined at ADD only, so EPOLLEXCLUSIVE cannot come with MOD; nor can an
  // exclusive item be an epoll file, nor carry anything but in/out/err/hup/et/wakeup.
  if (has_event && events & EPOLLEXCLUSIVE) {
    if (op === EPOLL_CTL_MOD) return -EINVAL;
    if (op === EPOLL_CTL_ADD && (is_file_epoll(tf) || events & ~EPOLLEXCLUSIVE_OK_BITS)) return -EINVAL;
  }

  const ep = f.private_data as Eventpoll;

  // ep_ctl_lock(): a link that can lengthen a chain of epoll sets — into a set that is itself
  // watched, or of an epoll file — gets the full loop and path check.
  let full_check = false;
  if (op === EPOLL_CTL_ADD && (f.f_ep !== null || is_file_epoll(tf))) {
    full_check = true;
    loop_check_gen++;
    if (is_file_epoll(tf) && ep_loop_check(ep, tf.private_data as Eventpoll) !== 0) {
      ep_ctl_unlock();
      return -ELOOP;
    }
  }

  const epi = ep_find(ep, tf, fd);
  let error = -EINVAL;
  switch (op) {
    case EPOLL_CTL_ADD:
      if (!epi) error = ep_insert(ep, events | EPOLLERR | EPOLLHUP, data, tf, fd, full_check);
      else error = -EEXIST;
      break;
    case EPOLL_CTL_DEL:
      if (epi) {
        ep_remove(ep, epi);
        error = 0;
      } else {
        error = -ENOENT;
      }
      break;
    case EPOLL_CTL_MOD:
      if (epi) {
        if (!(epi.events & EPOLLEXCLUSIVE)) error = ep_modify(ep, epi, events | EPOLLERR | EPOLLHUP, data);
      } else {
        error = -ENOENT;
      }
      break;
  }
  if (full_check) ep_ctl_unlock();
  return error;
}

/** ep_ctl_unlock() after a full check: forget the walk. */
function ep_ctl_unlock(): void {
  tfile_check_list.clear();
  loop_check_gen++;
}

/**
 * ep_send_events(): re-poll each ready item and report those still ready. Level-triggered
 * items go back on the ready list (the next epoll_wait() polls them again); EPOLLET items stay
 * off it until their file's next wake-up; EPOLLONESHOT items are disabled until EPOLL_CTL_MOD.
 */
function ep_send_events(ep: Eventpoll, out: EpollEvent[], maxevents: number): number {
  let res = 0;
  const batch = ep_start_scan(ep);
  for (let epi = batch.first; epi;) {
    if (res >= maxevents) break;
    const next: Epitem | null = epi.rdnext;
    list_del_init(epi);
    const revents = ep_item_poll(epi, nopt, 1);
    if (revents) {
      // epoll_put_uevent(): fill the caller's buffer, reusing its objects.
      const slot = out[res];
      if (slot) {
        slot.events = revents;
        slot.data = epi.data;
      } else {
        out[res] = { events: revents, data: epi.data };
      }
      res++;
      if (epi.events & EPOLLONESHOT) epi.events &= EP_PRIVATE_BITS;
      else if (!(epi.events & EPOLLET)) list_add_tail(epi, ep.rdllist);
    }
    epi = next;
  }
  ep_done_scan(ep);
  return res;
}

/**
 * ep_poll(), one pass: deliver what is ready; if nothing is and the caller may wait, join the
 * epoll_wait() queue as an exclusive waiter (one wake-up, one sleeper) and return -EAGAIN.
 */
function ep_poll(
  ep: Eventpoll,
  out: EpollEvent[],
  maxevents: number,
  timeout_ns: number,
  noblock: boolean,
): number {
  if (ep_events_available(ep)) {
    const res = ep_send_events(ep, out, maxevents);
    if (res) return res;
  }
  if (noblock || timeout_ns === 0) return 0;
  prepare_to_wait(ep.wq, timeout_ns < 0 ? MAX_SCHEDULE_TIMEOUT : timeout_ns, true);
  return -EAGAIN;
}

/**
 * do_epoll_wait(): epoll_wait(2), one pass. Fills out[0..n) and returns n; a negative or
 * MAX_SCHEDULE_TIMEOUT timeout waits forever, 0 never waits.
 */
export function do_epoll_wait(
  task: TaskStruct,
  epfd: number,
  out: EpollEvent[],
  maxevents: number,
  timeout_ns: number,
  noblock: boolean,
): number {
  // The maximum number of events must be greater than zero.
  if (!(maxevents > 0 && maxevents <= EP_MAX_EVENTS)) return -EINVAL;
  const f = task.files.fcheck(epfd);
  if (!f) return -EBADF;
  if (!is_file_epoll(f)) return -EINVAL;
  return ep_poll(f.private_data as Eventpoll, out, Math.floor(maxevents), timeout_ns, noblock);
}
