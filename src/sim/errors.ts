// A failed system call, in the shape Node gives its own: code, errno, syscall.

import { errnoCode, strerror } from '../uapi/errno.js';

export class SyscallError extends Error {
  readonly code: string;
  /** The positive Linux errno. */
  readonly errno: number;
  readonly syscall: string;
  constructor(errno: number, syscall: string) {
    super(`${syscall} ${errnoCode(errno)} (${strerror(errno)})`);
    this.name = 'SyscallError';
    this.code = errnoCode(errno);
    this.errno = errno;
    this.syscall = syscall;
  }
}

/** Turn a kernel result into a value or a thrown SyscallError. */
export function check(r: number, syscall: string): number {
  if (r < 0) throw new SyscallError(-r, syscall);
  return r;
}
