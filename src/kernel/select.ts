// poll(2) and select(2) (fs/select.c). One call of do_poll()/do_select() is one pass of the
// kernel's loop: poll every file, and if nothing is ready and the caller may wait, leave the
// caller registered on every wait queue the files named through poll_wait() and return -EAGAIN.
// run_blocking() sleeps until one of those queues is woken or the timeout passes, then calls
// again — the kernel's poll_schedule_timeout() between two passes.

import type { TaskStruct } from './task.js';
import type { FilesStruct } from './fdtable.js';
import type { File, PollTable } from './fs.js';
import { WaitQueueHead } from './wait.js';
import { prepare_to_wait } from './sched.js';
import { MAX_SCHEDULE_TIMEOUT } from './time.js';
import {
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLPRI,
  POLLRDBAND,
  POLLRDNORM,
  POLLWRBAND,
  POLLWRNORM,
} from '../uapi/poll.js';
import { EAGAIN, EBADF, EINVAL } from '../uapi/errno.js';

/** struct pollfd. */
export interface PollFd {
  fd: number;
  events: number;
  revents: number;
}

/** DEFAULT_POLLMASK (include/linux/poll.h): what a file without f_op->poll always reports. */
export const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

/** select(2)'s readiness classes (fs/select.c POLLIN_SET, POLLOUT_SET, POLLEX_SET). */
export const POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
export const POLLOUT_SET = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
export const POLLEX_SET = POLLPRI;

/** vfs_poll() (include/linux/poll.h). */
export function vfs_poll(file: File, pt: PollTable | null): number {
  const poll = file.f_op.poll;
  if (!poll) return DEFAULT_POLLMASK;
  return poll(file, pt);
}

/**
 * struct poll_wqueues: the poll table of one pass. Its _qproc (__pollwait) registers the caller
 * on every queue a file passes to poll_wait(); `nwait` counts them, so a pass that found no
 * queue at all can still give the sleep something to wait on.
 */
class PollWqueues implements PollTable {
  _qproc: ((file: File, wq: WaitQueueHead, pt: PollTable) => void) | null;
  _key = ~0;
  nwait = 0;
  constructor(
    /** The sleep's limit, handed to prepare_to_wait(). */
    readonly timeo: number,
    canWait: boolean,
  ) {
    this._qproc = canWait ? __pollwait : null;
  }
}

/** __pollwait(). The wake key is not filtered here (pollwake() does): a wake-up whose key the
 *  caller did not ask for costs one more pass, which finds nothing and sleeps again. */
function __pollwait(_file: File, wq: WaitQueueHead, pt: PollTable): void {
  const p = pt as PollWqueues;
  p.nwait++;
  prepare_to_wait(wq, p.timeo);
}

/**
 * The end of a pass that found nothing and may sleep (poll_schedule_timeout()). A pass that
 * registered on no queue — poll(NULL, 0, t), or only negative fds — still sleeps out its
 * timeout: it waits on a queue of its own that nothing ever wakes.
 */
function poll_schedule(pt: PollWqueues): number {
  if (pt.nwait === 0) prepare_to_wait(new WaitQueueHead(), pt.timeo);
  return -EAGAIN;
}

/** A zero timeout polls once and never sleeps (the "optimise the no-wait case" of do_poll()). */
function may_wait(timeout_ns: number, noblock: boolean): boolean {
  return !noblock && timeout_ns !== 0;
}

/** The sleep's limit: a negative timeout means forever, as poll(2)'s negative milliseconds do. */
function timeo_of(timeout_ns: number): number {
  return timeout_ns < 0 ? MAX_SCHEDULE_TIMEOUT : timeout_ns;
}

/** do_pollfd(): poll one entry and store its revents (events and revents are shorts). */
function do_pollfd(files: FilesStruct, pfd: PollFd, pt: PollWqueues): number {
  let mask = 0;
  const fd = pfd.fd;
  if (fd >= 0) {
    mask = POLLNVAL;
    const file = files.fcheck(fd);
    if (file) {
      // POLLERR and POLLHUP are reported whether asked for or not.
      const filter = (pfd.events & 0xffff) | POLLERR | POLLHUP;
      pt._key = filter;
      mask = vfs_poll(file, pt) & filter;
    }
  }
  pfd.revents = mask & 0xffff;
  return mask;
}

/**
 * do_sys_poll() / do_poll(), one pass: fills every `revents` and returns how many entries have
 * one. Nothing ready: 0 when the caller may not wait, else -EAGAIN with the caller registered.
 */
export function do_poll(task: TaskStruct, fds: PollFd[], timeout_ns: number, noblock: boolean): number {
  if (fds.length > task.files.rlimit_nofile) return -EINVAL;
  const pt = new PollWqueues(timeo_of(timeout_ns), may_wait(timeout_ns, noblock));
  let count = 0;
  for (let i = 0; i < fds.length; i++) {
    if (do_pollfd(task.files, fds[i], pt)) {
      count++;
      // Something is ready, so this pass will not sleep: stop registering on the rest.
      pt._qproc = null;
    }
  }
  if (count || !may_wait(timeout_ns, noblock)) return count;
  return poll_schedule(pt);
}

/**
 * The size of the task's fd table (fdt->max_fds): it starts at BITS_PER_LONG entries and doubles
 * as higher fds are used (fs/file.c alloc_fdtable), never shrinking. core_sys_select() ignores
 * bits at or above it.
 */
function fdt_max_fds(task: TaskStruct): number {
  const used = task.files.fd.length;
  let max = 64;
  while (max < used) max *= 2;
  const nr_open = task.kernel.sysctl_nr_open;
  // alloc_fdtable() clamps to fs.nr_open, rounded up to a whole long.
  return max > nr_open ? ((nr_open - 1) | 63) + 1 : max;
}

/** max_select_fd(): -EBADF if a set names an fd below `n` that is not open; else highest + 1. */
function max_select_fd(
  files: FilesStruct,
  n: number,
  readfds: Set<number> | null,
  writefds: Set<number> | null,
  exceptfds: Set<number> | null,
): number {
  let max = 0;
  for (const set of [readfds, writefds, exceptfds]) {
    if (!set) continue;
    for (const fd of set) {
      // Only what an fd_set can hold below n counts; anything else is not a bit of the set.
      if (!Number.isInteger(fd) || fd < 0 || fd >= n) continue;
      if (!files.fcheck(fd)) return -EBADF;
      if (fd + 1 > max) max = fd + 1;
    }
  }
  return max;
}

const SEL_IN = 1;
const SEL_OUT = 2;
const SEL_EX = 4;
/** Ready fds of the current pass, as fd * 8 | SEL_* bits; kept to narrow the sets at the end. */
const select_ready: number[] = [];

/**
 * core_sys_select() / do_select(), one pass. Sets are Set<number> (fd_set); `nfds` bounds the
 * fds looked at. Returns the number of bits set in the result; on a result >= 0 every set given
 * is narrowed in place to its ready fds (all emptied on a timeout). On -EAGAIN the sets are left
 * as they were, so the next pass sees what the caller asked for.
 */
export function do_select(
  task: TaskStruct,
  nfds: number,
  readfds: Set<number> | null,
  writefds: Set<number> | null,
  exceptfds: Set<number> | null,
  timeout_ns: number,
  noblock: boolean,
): number {
  if (!Number.isInteger(nfds) || nfds < 0) return -EINVAL;
  const files = task.files;
  const max_fds = fdt_max_fds(task);
  let n = nfds > max_fds ? max_fds : nfds;
  n = max_select_fd(files, n, readfds, writefds, exceptfds);
  if (n < 0) return n;

  const pt = new PollWqueues(timeo_of(timeout_ns), may_wait(timeout_ns, noblock));
  let retval = 0;
  select_ready.length = 0;
  for (let i = 0; i < n; i++) {
    const want =
      (readfds?.has(i) ? SEL_IN : 0) | (writefds?.has(i) ? SEL_OUT : 0) | (exceptfds?.has(i) ? SEL_EX : 0);
    if (!want) continue;
    let mask = POLLNVAL;
    const file = files.fcheck(i);
    if (file) {
      // wait_key_set(): tell the file which classes this caller waits for.
      pt._key = POLLEX_SET | (want & SEL_IN ? POLLIN_SET : 0) | (want & SEL_OUT ? POLLOUT_SET : 0);
      mask = vfs_poll(file, pt);
    }
    let got = 0;
    if (mask & POLLIN_SET && want & SEL_IN) got |= SEL_IN;
    if (mask & POLLOUT_SET && want & SEL_OUT) got |= SEL_OUT;
    if (mask & POLLEX_SET && want & SEL_EX) got |= SEL_EX;
    if (got) {
      retval += (got & 1) + ((got >> 1) & 1) + ((got >> 2) & 1);
      select_ready.push(i * 8 + got);
      pt._qproc = null;
    }
  }
  if (!retval && may_wait(timeout_ns, noblock)) return poll_schedule(pt);

  // set_fd_set(): copy the results back over the caller's sets.
  readfds?.clear();
  writefds?.clear();
  exceptfds?.clear();
  for (const r of select_ready) {
    const fd = Math.floor(r / 8);
    if (r & SEL_IN) readfds!.add(fd);
    if (r & SEL_OUT) writefds!.add(fd);
    if (r & SEL_EX) exceptfds!.add(fd);
  }
  select_ready.length = 0;
  return retval;
}
