// struct inode, struct file and struct file_operations (include/linux/fs.h), and the poll table
// (include/linux/poll.h). Enough of the VFS for sockets, epoll and the AF_UNIX namespace.

import type { IovIter } from './uio.js';
import type { WaitQueueHead } from './wait.js';
import type { SuperBlock } from './super.js';
import { S_IFMT, S_IFDIR, S_IFSOCK } from '../uapi/fcntl.js';

/** struct inode. */
export class Inode {
  i_nlink = 1;
  /** Directory entries, for directories. */
  i_children: Map<string, Inode> | null = null;
  /** What the inode stands for: a socket for sockfs inodes, a bound AF_UNIX socket for S_IFSOCK. */
  i_private: unknown = null;
  /** The superblock of a pseudo filesystem's inode (sockfs); null in the host's tree. */
  i_sb: SuperBlock | null = null;
  /** The file operations a file opened on this inode gets (sockfs sets socket_file_ops). */
  i_fop: FileOperations | null = null;
  constructor(
    public i_ino: number,
    public i_mode: number,
    public i_uid: number,
    public i_gid: number,
  ) {
    if ((i_mode & S_IFMT) === S_IFDIR) this.i_children = new Map();
  }
}

export function S_ISDIR(mode: number): boolean {
  return (mode & S_IFMT) === S_IFDIR;
}
export function S_ISSOCK(mode: number): boolean {
  return (mode & S_IFMT) === S_IFSOCK;
}

/** struct poll_table_struct: poll_wait() calls _qproc to register the caller on a wait queue. */
export interface PollTable {
  _qproc: ((file: File, wq: WaitQueueHead, pt: PollTable) => void) | null;
  /** Events the caller is interested in (all when ~0). */
  _key: number;
}

/** poll_wait(). */
export function poll_wait(file: File, wq: WaitQueueHead, pt: PollTable | null): void {
  if (pt && pt._qproc) pt._qproc(file, wq, pt);
}

/** The in/out argument of an ioctl (the kernel's `unsigned long arg` pointing at an int). */
export interface IoctlArg {
  value: number;
}

/** struct file_operations: each returns a count or a negative errno, and never blocks. */
export interface FileOperations {
  /** Name of the table, for /proc/<pid>/fdinfo-like listings. */
  readonly name: string;
  /** `nowait`: the caller cannot sleep (IOCB_NOWAIT), beside the file's own O_NONBLOCK. */
  read_iter?(file: File, to: IovIter, nowait: boolean): number;
  write_iter?(file: File, from: IovIter, nowait: boolean): number;
  poll?(file: File, pt: PollTable | null): number;
  unlocked_ioctl?(file: File, cmd: number, arg: IoctlArg): number;
  /** The 32-bit ABI's ioctl entry; usernet has one ABI, so it equals unlocked_ioctl. */
  compat_ioctl?(file: File, cmd: number, arg: IoctlArg): number;
  /** Send a page of data (sendfile(2) into a socket). */
  sendpage?(file: File, page: Uint8Array, offset: number, size: number, more: boolean): number;
  release?(inode: Inode, file: File): void;
  /** llseek: sockets have none (no_llseek → ESPIPE). */
  llseek?(file: File, offset: number, whence: number): number;
  mmap?(file: File, vma: unknown): number;
  /** open through a path: sockets refuse (sock_no_open → ENXIO). */
  open?(inode: Inode, file: File): number;
  /** O_ASYNC / FIOASYNC notification list. */
  fasync?(fd: number, file: File, on: boolean): number;
}

/** struct file. */
export class File {
  /** Reference count: fds, in-flight SCM_RIGHTS messages and calls in progress each hold one. */
  f_count = 1;
  /** epoll items watching this file (fs/eventpoll.c f_ep). */
  f_ep: Set<unknown> | null = null;
  constructor(
    public f_op: FileOperations,
    public f_inode: Inode,
    public f_flags: number,
    public private_data: unknown,
    public readonly f_path_name: string,
  ) {}
}
