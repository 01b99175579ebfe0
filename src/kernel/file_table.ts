// Reference counting of struct file (fs/file_table.c): the last fput() releases the file.

import type { File } from './fs.js';
import { eventpoll_release } from './eventpoll_release.js';

/** get_file(). */
export function get_file(f: File): File {
  f.f_count++;
  return f;
}

/** fput(): drop a reference; the last one releases the file (__fput). */
export function fput(f: File): void {
  if (--f.f_count === 0) __fput(f);
}

function __fput(f: File): void {
  if (f.f_ep) eventpoll_release(f);
  f.f_op.release?.(f.f_inode, f);
}
