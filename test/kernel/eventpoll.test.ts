import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../../src/kernel/kernel.js';
import { VirtualClock, Timer, NSEC_PER_MSEC, MAX_SCHEDULE_TIMEOUT } from '../../src/kernel/time.js';
import { Prandom } from '../../src/kernel/random.js';
import { TaskStruct } from '../../src/kernel/task.js';
import { Cred } from '../../src/kernel/cred.js';
import { File, Inode } from '../../src/kernel/fs.js';
import { run_blocking } from '../../src/kernel/sched.js';
import { do_poll, type PollFd } from '../../src/kernel/select.js';
import {
  do_epoll_create,
  do_epoll_ctl,
  do_epoll_wait,
  eventpoll_fops,
  type EpollEvent,
} from '../../src/kernel/eventpoll.js';
import {
  EPOLLERR,
  EPOLLET,
  EPOLLEXCLUSIVE,
  EPOLLHUP,
  EPOLLIN,
  EPOLLONESHOT,
  EPOLLRDHUP,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  POLLIN,
  POLLOUT,
} from '../../src/uapi/poll.js';
import { EBADF, EEXIST, EFAULT, EINVAL, ELOOP, ENOENT, EPERM } from '../../src/uapi/errno.js';
import { O_RDWR } from '../../src/uapi/fcntl.js';

import { Fake, fake_fops } from './fake_file.js';

const MS = NSEC_PER_MSEC;

function world() {
  const clock = new VirtualClock();
  const kernel = new Kernel('h', clock, new Prandom(1));
  const task = new TaskStruct(kernel, new Cred(0, 0), { kernel });
  return { clock, kernel, task };
}

function open_fake(task: TaskStruct, mask = 0): { fd: number; s: Fake } {
  const s = new Fake();
  s.mask = mask;
  s.file = new File(fake_fops, new Inode(task.kernel.get_next_ino(), 0o600, 0, 0), O_RDWR, s, 'fake');
  const fd = task.files.get_unused_fd_flags(0);
  task.files.fd_install(fd, s.file);
  return { fd, s };
}

function epoll_create(task: TaskStruct, flags = 0): number {
  const fd = do_epoll_create(task, flags);
  assert.ok(fd >= 0, `epoll_create1: ${fd}`);
  return fd;
}

function ctl(task: TaskStruct, epfd: number, op: number, fd: number, events: number, data = fd): number {
  return do_epoll_ctl(task, epfd, op, fd, { events, data });
}

/** One non-blocking epoll_wait(); returns the events as [events, data] pairs. */
function wait_now(task: TaskStruct, epfd: number, maxevents = 16): [number, number][] {
  const out: EpollEvent[] = [];
  const n = do_epoll_wait(task, epfd, out, maxevents, 0, false);
  assert.ok(n >= 0, `epoll_wait: ${n}`);
  return out.slice(0, n).map((e) => [e.events, e.data]);
}

function wait_blocking(
  task: TaskStruct,
  clock: VirtualClock,
  epfd: number,
  timeout_ns: number,
  out: EpollEvent[] = [],
): Promise<number> {
  return run_blocking(task, clock, (nb) => do_epoll_wait(task, epfd, out, 16, timeout_ns, nb));
}

function at(clock: VirtualClock, when: number, fn: () => void): void {
  clock.mod_timer(new Timer(fn), when);
}

// ——— creation ————————————————————————————————————————————————————————————————

test('epoll_create1: flags other than EPOLL_CLOEXEC are EINVAL; the file is an anon eventpoll inode', () => {
  const { task } = world();
  assert.equal(do_epoll_create(task, 1), -EINVAL);
  const a = epoll_create(task);
  const b = epoll_create(task, EPOLL_CLOEXEC);
  assert.equal(task.files.close_on_exec.has(a), false);
  assert.equal(task.files.close_on_exec.has(b), true);
  const f = task.files.fcheck(b)!;
  assert.equal(f.f_op, eventpoll_fops);
  assert.equal(f.f_path_name, 'anon_inode:[eventpoll]');
  assert.equal(f.f_inode.i_mode, 0o600);
  assert.equal(f.f_flags, O_RDWR);
  assert.notEqual(f.f_inode.i_ino, task.files.fcheck(a)!.f_inode.i_ino);
});

// ——— ready list semantics ————————————————————————————————————————————————————

test('level-triggered: reported on every wait while ready, with the data given and only the bits asked', () => {
  const { task } = world();
  const ep = epoll_create(task);
  const a = open_fake(task, POLLIN | POLLOUT);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN, 1234), 0);
  assert.deepEqual(wait_now(task, ep), [[EPOLLIN, 1234]]);
  assert.deepEqual(wait_now(task, ep), [[EPOLLIN, 1234]]);
  // No longer ready: the re-poll drops it, without any wake-up.
  a.s.mask = POLLOUT;
  assert.deepEqual(wait_now(task, ep), []);
  assert.deepEqual(wait_now(task, ep), []);
});

test('edge-triggered: reported once per wake-up', () => {
  const { task } = world();
  const ep = epoll_create(task);
  const a = open_fake(task, POLLIN);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN | EPOLLET), 0);
  assert.deepEqual(wait_now(task, ep), [[EPOLLIN, a.fd]]);
  assert.deepEqual(wait_now(task, ep), []);
  a.s.set(POLLIN);
  assert.deepEqual(wait_now(task, ep), [[EPOLLIN, a.fd]]);
  assert.deepEqual(wait_now(task, ep), []);
});

test('EPOLLONESHOT: disabled after one report, wake-ups ignored, EPOLL_CTL_MOD re-arms', () => {
  const { task } = world();
  const ep = epoll_create(task);
  const a = open_fake(task, POLLIN);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN | EPOLLONESHOT, 5), 0);
  assert.deepEqual(wait_now(task, ep), [[EPOLLIN, 5]]);
  assert.deepEqual(wait_now(task, ep), []);
  a.s.set(POLLIN);
  assert.deepEqual(wait_now(task, ep), []);
  // Still watched: a second ADD is EEXIST.
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN), -EEXIST);
  assert.equal(ctl(task, ep, EPOLL_CTL_MOD, a.fd, EPOLLIN | EPOLLONESHOT, 6), 0);
  assert.deepEqual(wait_now(task, ep), [[EPOLLIN, 6]]);
  assert.deepEqual(wait_now(task, ep), []);
});

test('EPOLLERR and EPOLLHUP are always reported; EPOLLRDHUP only when asked', () => {
  const { task } = world();
  const ep = epoll_create(task);
  const a = open_fake(task, EPOLLERR | EPOLLHUP | EPOLLRDHUP);
  const b = open_fake(task, EPOLLRDHUP);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN), 0);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, b.fd, EPOLLIN | EPOLLRDHUP), 0);
  const got = new Map(wait_now(task, ep).map(([ev, data]) => [data, ev]));
  assert.equal(got.get(a.fd), EPOLLERR | EPOLLHUP);
  assert.equal(got.get(b.fd), EPOLLRDHUP);
});

test('a wake-up whose key shares no bit with the interest does not queue the item; key 0 does', () => {
  const { task } = world();
  const ep = epoll_create(task);
  const a = open_fake(task, 0);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN), 0);
  a.s.set(POLLIN, POLLOUT);
  assert.deepEqual(wait_now(task, ep), []);
  a.s.set(POLLIN, 0);
  assert.deepEqual(wait_now(task, ep), [[EPOLLIN, a.fd]]);
});

test('maxevents bounds a wait; level-triggered items rotate to the back of the ready list', () => {
  const { task } = world();
  const ep = epoll_create(task);
  const fds = [open_fake(task, POLLIN), open_fake(task, POLLIN), open_fake(task, POLLIN)];
  fds.forEach((f, i) => assert.equal(ctl(task, ep, EPOLL_CTL_ADD, f.fd, EPOLLIN, i + 1), 0));
  assert.equal(do_epoll_wait(task, ep, [], 0, 0, false), -EINVAL);
  assert.deepEqual(
    wait_now(task, ep, 2).map(([, d]) => d),
    [1, 2],
  );
  assert.deepEqual(
    wait_now(task, ep, 2).map(([, d]) => d),
    [3, 1],
  );
});

// ——— sleeping ——————————————————————————————————————————————————————————————————

test('epoll_wait sleeps until the callback queues an item, and times out after exactly its timeout', async () => {
  const { task, clock } = world();
  const ep = epoll_create(task);
  const a = open_fake(task, 0);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN | EPOLLET, 9), 0);
  at(clock, 3 * MS, () => a.s.set(POLLIN));
  const out: EpollEvent[] = [];
  assert.equal(await wait_blocking(task, clock, ep, MAX_SCHEDULE_TIMEOUT, out), 1);
  assert.deepEqual(out, [{ events: EPOLLIN, data: 9 }]);
  assert.equal(clock.now(), 3 * MS);
  assert.equal(await wait_blocking(task, clock, ep, 50 * MS), 0);
  assert.equal(clock.now(), 53 * MS);
  // Only the item's own callback is left on the file's queue.
  assert.equal(a.s.waiters(), 1);
});

test('two sleepers on one epoll: an edge event wakes one; a level event is passed on to the other', async () => {
  for (const et of [true, false]) {
    const { task, clock } = world();
    const ep = epoll_create(task);
    const a = open_fake(task, 0);
    assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN | (et ? EPOLLET : 0)), 0);
    const done: number[] = [];
    const p1 = wait_blocking(task, clock, ep, 100 * MS).then((r) => (done.push(clock.now()), r));
    const p2 = wait_blocking(task, clock, ep, 100 * MS).then((r) => (done.push(clock.now()), r));
    at(clock, 10 * MS, () => a.s.set(POLLIN));
    const r = await Promise.all([p1, p2]);
    if (et) {
      assert.deepEqual(r, [1, 0]);
      assert.deepEqual(done, [10 * MS, 100 * MS]);
    } else {
      assert.deepEqual(r, [1, 1]);
      assert.deepEqual(done, [10 * MS, 10 * MS]);
    }
  }
});

test('EPOLLEXCLUSIVE: one wake-up reaches one of two epoll sets waiting on the same file', async () => {
  for (const excl of [true, false]) {
    const { task, clock } = world();
    const a = open_fake(task, 0);
    const e1 = epoll_create(task);
    const e2 = epoll_create(task);
    for (const ep of [e1, e2])
      assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN | (excl ? EPOLLEXCLUSIVE : 0)), 0);
    const p1 = wait_blocking(task, clock, e1, 100 * MS);
    const p2 = wait_blocking(task, clock, e2, 100 * MS);
    at(clock, 10 * MS, () => a.s.set(POLLIN));
    assert.deepEqual(await Promise.all([p1, p2]), excl ? [1, 0] : [1, 1]);
    assert.equal(clock.now(), excl ? 100 * MS : 10 * MS);
  }
});

test('EPOLLEXCLUSIVE: a set nobody waits on does not use up the wake-up', async () => {
  const { task, clock } = world();
  const a = open_fake(task, 0);
  const idle = epoll_create(task);
  const busy = epoll_create(task);
  assert.equal(ctl(task, idle, EPOLL_CTL_ADD, a.fd, EPOLLIN | EPOLLEXCLUSIVE), 0);
  assert.equal(ctl(task, busy, EPOLL_CTL_ADD, a.fd, EPOLLIN | EPOLLEXCLUSIVE), 0);
  const p = wait_blocking(task, clock, busy, 100 * MS);
  at(clock, 10 * MS, () => a.s.set(POLLIN));
  assert.equal(await p, 1);
  assert.equal(clock.now(), 10 * MS);
  // The idle set queued the item all the same.
  assert.deepEqual(wait_now(task, idle), [[EPOLLIN, a.fd]]);
});

// ——— nesting ——————————————————————————————————————————————————————————————————

test('an epoll fd is pollable: poll() sleeps on it until an item becomes ready', async () => {
  const { task, clock } = world();
  const ep = epoll_create(task);
  const a = open_fake(task, 0);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN), 0);
  const fds: PollFd[] = [{ fd: ep, events: POLLIN, revents: 0 }];
  assert.equal(do_poll(task, fds, 0, false), 0);
  at(clock, 4 * MS, () => a.s.set(POLLIN));
  assert.equal(await run_blocking(task, clock, (nb) => do_poll(task, fds, 1000 * MS, nb)), 1);
  assert.equal(fds[0].revents, POLLIN);
  assert.equal(clock.now(), 4 * MS);
  // Queued but no longer ready for what the item asks: the epoll fd is not readable.
  a.s.mask = POLLOUT;
  assert.equal(do_poll(task, fds, 0, false), 0);
});

test('epoll inside epoll: the outer set wakes and reports EPOLLIN when the inner one has an event', async () => {
  const { task, clock } = world();
  const outer = epoll_create(task);
  const inner = epoll_create(task);
  const a = open_fake(task, 0);
  assert.equal(ctl(task, inner, EPOLL_CTL_ADD, a.fd, EPOLLIN), 0);
  assert.equal(ctl(task, outer, EPOLL_CTL_ADD, inner, EPOLLIN, 77), 0);
  assert.deepEqual(wait_now(task, outer), []);
  at(clock, 2 * MS, () => a.s.set(POLLIN));
  const out: EpollEvent[] = [];
  assert.equal(await wait_blocking(task, clock, outer, 1000 * MS, out), 1);
  assert.deepEqual(out, [{ events: EPOLLIN, data: 77 }]);
  assert.equal(clock.now(), 2 * MS);
  // The inner set still holds its own event.
  assert.deepEqual(wait_now(task, inner), [[EPOLLIN, a.fd]]);
  // Closing the inner epoll fd takes it out of the outer set and off the file's queue.
  assert.equal(task.files.close_fd(inner), 0);
  assert.deepEqual(wait_now(task, outer), []);
  assert.equal(a.s.waiters(), 0);
  assert.equal(task.files.fcheck(outer)!.f_ep, null);
});

// ——— lifetime ——————————————————————————————————————————————————————————————————

test('closing one fd of a watched file keeps the item; the last close removes it', () => {
  const { task } = world();
  const ep = epoll_create(task);
  const a = open_fake(task, POLLIN);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN, 42), 0);
  const dup = task.files.f_dupfd(0, a.s.file, 0);
  assert.ok(dup >= 0);
  assert.equal(task.files.close_fd(a.fd), 0);
  // The file lives on through the dup: still watched, still reported under its old data.
  assert.deepEqual(wait_now(task, ep), [[EPOLLIN, 42]]);
  // The item's key is (file, original fd): the dup does not name it.
  assert.equal(ctl(task, ep, EPOLL_CTL_DEL, dup, 0), -ENOENT);
  assert.equal(a.s.waiters(), 1);
  assert.equal(task.files.close_fd(dup), 0);
  assert.equal(a.s.released, 1);
  assert.equal(a.s.waiters(), 0);
  assert.equal(a.s.file.f_ep, null);
  assert.deepEqual(wait_now(task, ep), []);
});

test('EPOLL_CTL_DEL unhooks the item; closing the epoll fd unhooks all of its items', () => {
  const { task } = world();
  const ep = epoll_create(task);
  const a = open_fake(task, POLLIN);
  const b = open_fake(task, POLLIN);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN), 0);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, b.fd, EPOLLIN), 0);
  assert.equal(do_epoll_ctl(task, ep, EPOLL_CTL_DEL, a.fd, null), 0);
  assert.equal(a.s.waiters(), 0);
  assert.equal(a.s.file.f_ep, null);
  assert.deepEqual(wait_now(task, ep), [[EPOLLIN, b.fd]]);
  assert.equal(task.files.close_fd(ep), 0);
  assert.equal(b.s.waiters(), 0);
  assert.equal(b.s.file.f_ep, null);
  assert.equal(b.s.released, 0);
});

// ——— errors ——————————————————————————————————————————————————————————————————

test('epoll_ctl errors: EBADF, EPERM, EINVAL, EEXIST, ENOENT, EFAULT', () => {
  const { task } = world();
  const ep = epoll_create(task);
  const ep2 = epoll_create(task);
  const a = open_fake(task, 0);
  const nopoll = task.files.get_unused_fd_flags(0);
  task.files.fd_install(nopoll, new File({ name: 'nopoll' }, new Inode(99, 0o600, 0, 0), O_RDWR, null, 'x'));

  assert.equal(ctl(task, 999, EPOLL_CTL_ADD, a.fd, EPOLLIN), -EBADF);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, 999, EPOLLIN), -EBADF);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, nopoll, EPOLLIN), -EPERM);
  assert.equal(ctl(task, a.fd, EPOLL_CTL_ADD, ep, EPOLLIN), -EINVAL, 'epfd is not an epoll fd');
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, ep, EPOLLIN), -EINVAL, 'an epoll fd inside itself');
  const epdup = task.files.f_dupfd(0, task.files.fcheck(ep)!, 0);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, epdup, EPOLLIN), -EINVAL, 'the same file under another fd');
  assert.equal(ctl(task, ep, 99, a.fd, EPOLLIN), -EINVAL, 'bad op');
  assert.equal(do_epoll_ctl(task, ep, EPOLL_CTL_ADD, a.fd, null), -EFAULT);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT), -EINVAL);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP), -EINVAL);
  assert.equal(
    ctl(task, ep, EPOLL_CTL_ADD, ep2, EPOLLIN | EPOLLEXCLUSIVE),
    -EINVAL,
    'exclusive epoll target',
  );

  assert.equal(ctl(task, ep, EPOLL_CTL_MOD, a.fd, EPOLLIN), -ENOENT);
  assert.equal(ctl(task, ep, EPOLL_CTL_DEL, a.fd, 0), -ENOENT);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN | EPOLLEXCLUSIVE), 0);
  assert.equal(ctl(task, ep, EPOLL_CTL_ADD, a.fd, EPOLLIN), -EEXIST);
  assert.equal(ctl(task, ep, EPOLL_CTL_MOD, a.fd, EPOLLIN | EPOLLEXCLUSIVE), -EINVAL, 'EXCLUSIVE with MOD');
  assert.equal(ctl(task, ep, EPOLL_CTL_MOD, a.fd, EPOLLIN), -EINVAL, 'MOD of an exclusive item');
  assert.equal(ctl(task, ep, EPOLL_CTL_DEL, a.fd, 0), 0);
  assert.equal(ctl(task, ep, EPOLL_CTL_DEL, a.fd, 0), -ENOENT);
});

test('epoll_wait errors: EINVAL for maxevents <= 0 or a non-epoll fd, EBADF for a bad fd', () => {
  const { task } = world();
  const ep = epoll_create(task);
  const a = open_fake(task, 0);
  assert.equal(do_epoll_wait(task, ep, [], 0, 0, false), -EINVAL);
  assert.equal(do_epoll_wait(task, ep, [], -1, 0, false), -EINVAL);
  assert.equal(do_epoll_wait(task, a.fd, [], 1, 0, false), -EINVAL);
  assert.equal(do_epoll_wait(task, 999, [], 1, 0, false), -EBADF);
  assert.equal(do_epoll_wait(task, ep, [], 1, 0, false), 0);
});

test('ELOOP: epoll sets that would watch each other', () => {
  const { task } = world();
  const [e0, e1, e2] = [epoll_create(task), epoll_create(task), epoll_create(task)];
  assert.equal(ctl(task, e0, EPOLL_CTL_ADD, e1, EPOLLIN), 0);
  assert.equal(ctl(task, e1, EPOLL_CTL_ADD, e0, EPOLLIN), -ELOOP);
  assert.equal(ctl(task, e1, EPOLL_CTL_ADD, e2, EPOLLIN), 0);
  assert.equal(ctl(task, e2, EPOLL_CTL_ADD, e0, EPOLLIN), -ELOOP);
  // A diamond is not a loop.
  assert.equal(ctl(task, e0, EPOLL_CTL_ADD, e2, EPOLLIN), 0);
});

test('ELOOP: no chain of more than five epoll sets, whichever end grows', () => {
  const { task } = world();
  const e = Array.from({ length: 6 }, () => epoll_create(task));
  // e0 ⊃ e1 ⊃ e2 ⊃ e3 ⊃ e4: five sets, the most allowed.
  for (let i = 0; i < 4; i++) assert.equal(ctl(task, e[i], EPOLL_CTL_ADD, e[i + 1], EPOLLIN), 0);
  assert.equal(ctl(task, e[4], EPOLL_CTL_ADD, e[5], EPOLLIN), -ELOOP);
  const f = Array.from({ length: 6 }, () => epoll_create(task));
  for (let i = 1; i < 5; i++) assert.equal(ctl(task, f[i], EPOLL_CTL_ADD, f[i + 1], EPOLLIN), 0);
  assert.equal(ctl(task, f[0], EPOLL_CTL_ADD, f[1], EPOLLIN), -ELOOP);
  // A plain file at the bottom of a full chain is fine.
  const a = open_fake(task, POLLIN);
  assert.equal(ctl(task, e[4], EPOLL_CTL_ADD, a.fd, EPOLLIN), 0);
  // Readiness climbs the whole chain: each set reports the one below as readable.
  assert.deepEqual(wait_now(task, e[0]), [[EPOLLIN, e[1]]]);
});

test('a file may not gain more than 500 wakeup paths of length two (reverse_path_check)', () => {
  const { task } = world();
  const a = open_fake(task, 0);
  const outer = epoll_create(task);
  for (let i = 0; i < 500; i++) {
    const inner = epoll_create(task);
    assert.equal(ctl(task, inner, EPOLL_CTL_ADD, a.fd, EPOLLIN), 0);
    assert.equal(ctl(task, outer, EPOLL_CTL_ADD, inner, EPOLLIN), 0);
  }
  const last = epoll_create(task);
  assert.equal(ctl(task, last, EPOLL_CTL_ADD, a.fd, EPOLLIN), 0);
  assert.equal(ctl(task, outer, EPOLL_CTL_ADD, last, EPOLLIN), -EINVAL);
  // The refused link left nothing behind.
  assert.equal(task.files.fcheck(last)!.f_ep, null);
  assert.equal(ctl(task, outer, EPOLL_CTL_DEL, last, 0), -ENOENT);
  // The same path made the other way round: the watched set first, then the file into it.
  assert.equal(ctl(task, last, EPOLL_CTL_DEL, a.fd, 0), 0);
  assert.equal(ctl(task, outer, EPOLL_CTL_ADD, last, EPOLLIN), 0);
  assert.equal(ctl(task, last, EPOLL_CTL_ADD, a.fd, EPOLLIN), -EINVAL);
  assert.equal(ctl(task, last, EPOLL_CTL_DEL, a.fd, 0), -ENOENT);
});
