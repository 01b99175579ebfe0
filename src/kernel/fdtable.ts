// The fd table of a task (include/linux/fdtable.h, fs/file.c): lowest free fd first,
// RLIMIT_NOFILE, close-on-exec bits.

import type { File } from './fs.js';
import { fput, get_file } from './file_table.js';
import { EBADF, EMFILE, EINVAL } from '../uapi/errno.js';
import { O_CLOEXEC } from '../uapi/fcntl.js';

export class FilesStruct {
  fd: (File | null)[] = [];
  close_on_exec = new Set<number>();
  /** Lowest fd that may be free (fs/file.c next_fd). */
  next_fd = 0;

  constructor(
    /** Soft RLIMIT_NOFILE. */
    public rlimit_nofile: number,
    /** Hard RLIMIT_NOFILE. */
    public rlimit_nofile_max: number,
  ) {}

  /** alloc_fd(start, end, flags): the lowest free fd >= start and < end, or -EMFILE. */
  alloc_fd(start: number, flags: number): number {
    const end = this.rlimit_nofile;
    let fd = Math.max(start, this.next_fd);
    while (fd < this.fd.length && this.fd[fd] !== null) fd++;
    if (fd >= end) return -EMFILE;
    while (this.fd.length <= fd) this.fd.push(null);
    if (start <= this.next_fd) this.next_fd = fd + 1;
    // Reserve the slot until fd_install (Linux marks it in open_fds).
    this.fd[fd] = RESERVED;
    if (flags & O_CLOEXEC) this.close_on_exec.add(fd);
    else this.close_on_exec.delete(fd);
    return fd;
  }

  /** get_unused_fd_flags(). */
  get_unused_fd_flags(flags: number): number {
    return this.alloc_fd(0, flags);
  }

  /** put_unused_fd(): give back a reserved fd that was never installed. */
  put_unused_fd(fd: number): void {
    this.fd[fd] = null;
    this.close_on_exec.delete(fd);
    if (fd < this.next_fd) this.next_fd = fd;
  }

  /** fd_install(): the table takes over the caller's reference on `file`. */
  fd_install(fd: number, file: File): void {
    this.fd[fd] = file;
  }

  /** fget() without the reference: the file at `fd`, or null. */
  fcheck(fd: number): File | null {
    if (!Number.isInteger(fd) || fd < 0 || fd >= this.fd.length) return null;
    const f = this.fd[fd];
    return f === RESERVED ? null : f;
  }

  /** fget(): the file at `fd` with a reference taken, or null. */
  fget(fd: number): File | null {
    const f = this.fcheck(fd);
    return f ? get_file(f) : null;
  }

  /** close_fd(). */
  close_fd(fd: number): number {
    const f = this.fcheck(fd);
    if (!f) return -EBADF;
    this.put_unused_fd(fd);
    fput(f);
    return 0;
  }

  /** do_dup2(): install `file` at `newfd`, closing what was there. */
  do_dup2(file: File, newfd: number, flags: number): number {
    if (newfd < 0 || newfd >= this.rlimit_nofile) return -EBADF;
    while (this.fd.length <= newfd) this.fd.push(null);
    const old = this.fd[newfd];
    if (old === RESERVED) return -EBUSY_INTERNAL;
    this.fd[newfd] = get_file(file);
    if (flags & O_CLOEXEC) this.close_on_exec.add(newfd);
    else this.close_on_exec.delete(newfd);
    if (old) fput(old);
    return newfd;
  }

  /** ksys_dup3(). */
  dup3(oldfd: number, newfd: number, flags: number): number {
    if (flags & ~O_CLOEXEC) return -EINVAL;
    if (oldfd === newfd) return -EINVAL;
    const f = this.fcheck(oldfd);
    if (!f) return -EBADF;
    return this.do_dup2(f, newfd, flags);
  }

  /** dup2(): like dup3 but oldfd == newfd is allowed when valid. */
  dup2(oldfd: number, newfd: number): number {
    if (oldfd === newfd) return this.fcheck(oldfd) ? newfd : -EBADF;
    const f = this.fcheck(oldfd);
    if (!f) return -EBADF;
    return this.do_dup2(f, newfd, 0);
  }

  /** f_dupfd(): dup / F_DUPFD / F_DUPFD_CLOEXEC. */
  f_dupfd(from: number, file: File, flags: number): number {
    if (from < 0 || from >= this.rlimit_nofile) return -EINVAL;
    const fd = this.alloc_fd(from, flags);
    if (fd >= 0) this.fd_install(fd, get_file(file));
    return fd;
  }

  /** Every open fd, ascending. */
  openFds(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.fd.length; i++) if (this.fcheck(i)) out.push(i);
    return out;
  }

  /** Close every fd (task exit). */
  close_all(): void {
    for (let i = 0; i < this.fd.length; i++) if (this.fcheck(i)) this.close_fd(i);
  }
}

// dup2 onto a slot reserved by a concurrent open: Linux returns EBUSY.
const EBUSY_INTERNAL = 16;
const RESERVED = {} as File;
