import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../../src/kernel/kernel.js';
import { VirtualClock, Timer, NSEC_PER_MSEC, MAX_SCHEDULE_TIMEOUT } from '../../src/kernel/time.js';
import { Prandom } from '../../src/kernel/random.js';
import { TaskStruct } from '../../src/kernel/task.js';
import { Cred } from '../../src/kernel/cred.js';
import { File, Inode, type FileOperations } from '../../src/kernel/fs.js';
import { run_blocking } from '../../src/kernel/sched.js';
import { do_poll, do_select, DEFAULT_POLLMASK, type PollFd } from '../../src/kernel/select.js';
import {
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLPRI,
  POLLRDNORM,
  POLLWRNORM,
} from '../../src/uapi/poll.js';
import { EAGAIN, EBADF, EINVAL } from '../../src/uapi/errno.js';
import { O_RDWR } from '../../src/uapi/fcntl.js';

import { Fake, fake_fops } from './fake_file.js';

const MS = NSEC_PER_MSEC;

/** A file type without f_op->poll. */
const nopoll_fops: FileOperations = { name: 'nopoll_fops' };

function world() {
  const clock = new VirtualClock();
  const kernel = new Kernel('h', clock, new Prandom(1));
  const task = new TaskStruct(kernel, new Cred(0, 0), { kernel });
  return { clock, kernel, task };
}

function install(task: TaskStruct, file: File): number {
  const fd = task.files.get_unused_fd_flags(0);
  assert.ok(fd >= 0);
  task.files.fd_install(fd, file);
  return fd;
}

function open_fake(task: TaskStruct, mask = 0): { fd: number; s: Fake } {
  const s = new Fake();
  s.mask = mask;
  s.file = new File(fake_fops, new Inode(task.kernel.get_next_ino(), 0o600, 0, 0), O_RDWR, s, 'fake');
  return { fd: install(task, s.file), s };
}

function at(clock: VirtualClock, when: number, fn: () => void): void {
  clock.mod_timer(new Timer(fn), when);
}

// ——— poll ———————————————————————————————————————————————————————————————————

test('poll: revents is the file mask filtered by events, POLLERR/POLLHUP always, POLLNVAL, fd < 0', () => {
  const { task } = world();
  const a = open_fake(task, POLLIN | POLLOUT);
  const b = open_fake(task, POLLHUP);
  const c = open_fake(task, POLLOUT);
  const closed = open_fake(task, POLLIN);
  assert.equal(task.files.close_fd(closed.fd), 0);
  const fds: PollFd[] = [
    { fd: a.fd, events: POLLIN, revents: 0xff },
    { fd: b.fd, events: POLLIN, revents: 0xff },
    { fd: c.fd, events: POLLIN, revents: 0xff },
    { fd: -1, events: POLLIN, revents: 0xff },
    { fd: closed.fd, events: 0, revents: 0xff },
  ];
  assert.equal(do_poll(task, fds, 0, false), 3);
  assert.deepEqual(
    fds.map((p) => p.revents),
    [POLLIN, POLLHUP, 0, 0, POLLNVAL],
  );
  // A pass with a zero timeout registers nowhere.
  assert.equal(a.s.waiters() + b.s.waiters() + c.s.waiters(), 0);
});

test('poll: a file without f_op->poll is always ready (DEFAULT_POLLMASK)', () => {
  const { task } = world();
  const fd = install(task, new File(nopoll_fops, new Inode(1, 0o600, 0, 0), O_RDWR, null, 'x'));
  const fds: PollFd[] = [{ fd, events: POLLIN | POLLOUT | POLLPRI, revents: 0 }];
  assert.equal(do_poll(task, fds, 0, false), 1);
  assert.equal(fds[0].revents, POLLIN | POLLOUT);
  assert.equal(DEFAULT_POLLMASK, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
});

test('poll: nfds above RLIMIT_NOFILE is EINVAL', () => {
  const { task } = world();
  task.files.rlimit_nofile = 2;
  const fds: PollFd[] = [0, 1, 2].map(() => ({ fd: -1, events: 0, revents: 0 }));
  assert.equal(do_poll(task, fds, 0, false), -EINVAL);
  assert.equal(do_poll(task, fds.slice(0, 2), 0, false), 0);
});

test('poll: a pass that may wait registers on each file queue and returns -EAGAIN', async () => {
  const { task, clock } = world();
  const a = open_fake(task);
  const b = open_fake(task);
  const fds: PollFd[] = [
    { fd: a.fd, events: POLLIN, revents: 0 },
    { fd: b.fd, events: POLLIN, revents: 0 },
  ];
  const p = run_blocking(task, clock, (nb) => {
    const r = do_poll(task, fds, MAX_SCHEDULE_TIMEOUT, nb);
    if (r === -EAGAIN) assert.deepEqual([a.s.waiters(), b.s.waiters()], [1, 1]);
    return r;
  });
  assert.equal(a.s.waiters(), 1);
  assert.equal(b.s.waiters(), 1);
  at(clock, 5 * MS, () => b.s.set(POLLIN));
  assert.equal(await p, 1);
  assert.deepEqual(
    fds.map((x) => x.revents),
    [0, POLLIN],
  );
  assert.equal(clock.now(), 5 * MS);
  // The sleeper left every queue.
  assert.equal(a.s.waiters() + b.s.waiters(), 0);
});

test('poll: times out after exactly the timeout, and a wake for an event not asked for does not end it', async () => {
  const { task, clock } = world();
  const a = open_fake(task);
  const fds: PollFd[] = [{ fd: a.fd, events: POLLIN, revents: 0 }];
  // Writable is not what poll waits for: it looks again, finds nothing, sleeps on.
  at(clock, 30 * MS, () => a.s.set(POLLOUT));
  const r = await run_blocking(task, clock, (nb) => do_poll(task, fds, 100 * MS, nb));
  assert.equal(r, 0);
  assert.equal(fds[0].revents, 0);
  assert.equal(clock.now(), 100 * MS);
  assert.ok(a.s.polls >= 3, 'polled at the start, after the wake and after the timeout');
  assert.equal(a.s.waiters(), 0);
});

test('poll(NULL, 0, t) sleeps the whole virtual timeout; only negative fds likewise', async () => {
  const { task, clock } = world();
  assert.equal(await run_blocking(task, clock, (nb) => do_poll(task, [], 250 * MS, nb)), 0);
  assert.equal(clock.now(), 250 * MS);
  const fds: PollFd[] = [{ fd: -5, events: POLLIN, revents: 7 }];
  assert.equal(await run_blocking(task, clock, (nb) => do_poll(task, fds, 40 * MS, nb)), 0);
  assert.equal(clock.now(), 290 * MS);
  assert.equal(fds[0].revents, 0);
  // A zero timeout does not sleep at all.
  assert.equal(await run_blocking(task, clock, (nb) => do_poll(task, [], 0, nb)), 0);
  assert.equal(clock.now(), 290 * MS);
});

test('poll: an fd closed while polling reports POLLNVAL on the next pass', async () => {
  const { task, clock } = world();
  const a = open_fake(task);
  const fds: PollFd[] = [{ fd: a.fd, events: POLLIN, revents: 0 }];
  at(clock, 10 * MS, () => {
    task.files.close_fd(a.fd);
    a.s.set(POLLIN);
  });
  assert.equal(await run_blocking(task, clock, (nb) => do_poll(task, fds, 100 * MS, nb)), 1);
  assert.equal(fds[0].revents, POLLNVAL);
  assert.equal(clock.now(), 10 * MS);
});

// ——— select ——————————————————————————————————————————————————————————————————

test('select: sets are narrowed in place to the ready fds and the bits are counted', () => {
  const { task } = world();
  const r = open_fake(task, POLLIN);
  const w = open_fake(task, POLLOUT);
  const x = open_fake(task, POLLPRI);
  const h = open_fake(task, POLLHUP);
  const e = open_fake(task, POLLERR);
  const readfds = new Set([r.fd, w.fd, x.fd, h.fd, e.fd]);
  const writefds = new Set([r.fd, w.fd, e.fd]);
  const exceptfds = new Set([r.fd, x.fd]);
  const nfds = Math.max(...readfds) + 1;
  assert.equal(do_select(task, nfds, readfds, writefds, exceptfds, 0, false), 6);
  // POLLHUP counts as readable; POLLERR as readable and writable; POLLPRI as exceptional.
  assert.deepEqual([...readfds].sort(), [r.fd, h.fd, e.fd].sort());
  assert.deepEqual([...writefds].sort(), [w.fd, e.fd].sort());
  assert.deepEqual([...exceptfds], [x.fd]);
});

test('select: a closed fd below nfds is EBADF and leaves the sets alone; at or above nfds it is ignored', () => {
  const { task } = world();
  const a = open_fake(task, POLLIN);
  const b = open_fake(task, POLLIN);
  task.files.close_fd(b.fd);
  const readfds = new Set([a.fd, b.fd]);
  assert.equal(do_select(task, b.fd + 1, readfds, null, null, 0, false), -EBADF);
  assert.deepEqual([...readfds], [a.fd, b.fd]);
  assert.equal(do_select(task, b.fd, readfds, null, null, 0, false), 1);
  assert.deepEqual([...readfds], [a.fd]);
  assert.equal(do_select(task, -1, null, null, null, 0, false), -EINVAL);
});

test('select: nfds beyond the fd table is capped at its size', () => {
  const { task } = world();
  const a = open_fake(task, POLLIN);
  // fd 5000 lies beyond the 64-entry table: the kernel never looks at that bit.
  const readfds = new Set([a.fd, 5000]);
  assert.equal(do_select(task, 10000, readfds, null, null, 0, false), 1);
  assert.deepEqual([...readfds], [a.fd]);
});

test('select: -EAGAIN leaves the sets untouched; a wake narrows them', async () => {
  const { task, clock } = world();
  const a = open_fake(task);
  const b = open_fake(task);
  const readfds = new Set([a.fd, b.fd]);
  const writefds = new Set([a.fd]);
  // Outside run_blocking a pass that would sleep just says so.
  assert.equal(do_select(task, b.fd + 1, readfds, writefds, null, MAX_SCHEDULE_TIMEOUT, false), -EAGAIN);
  assert.deepEqual([...readfds], [a.fd, b.fd]);
  assert.deepEqual([...writefds], [a.fd]);
  at(clock, 7 * MS, () => b.s.set(POLLIN));
  const r = await run_blocking(task, clock, (nb) =>
    do_select(task, b.fd + 1, readfds, writefds, null, 1000 * MS, nb),
  );
  assert.equal(r, 1);
  assert.equal(clock.now(), 7 * MS);
  assert.deepEqual([...readfds], [b.fd]);
  assert.deepEqual([...writefds], []);
  assert.equal(a.s.waiters() + b.s.waiters(), 0);
});

test('select: a timeout empties every set and returns 0 after exactly the timeout', async () => {
  const { task, clock } = world();
  const a = open_fake(task);
  const readfds = new Set([a.fd]);
  const exceptfds = new Set([a.fd]);
  const r = await run_blocking(task, clock, (nb) =>
    do_select(task, a.fd + 1, readfds, null, exceptfds, 60 * MS, nb),
  );
  assert.equal(r, 0);
  assert.equal(clock.now(), 60 * MS);
  assert.equal(readfds.size, 0);
  assert.equal(exceptfds.size, 0);
});

test('select(0, NULL, NULL, NULL, t) sleeps the whole virtual timeout', async () => {
  const { task, clock } = world();
  assert.equal(await run_blocking(task, clock, (nb) => do_select(task, 0, null, null, null, 30 * MS, nb)), 0);
  assert.equal(clock.now(), 30 * MS);
});
