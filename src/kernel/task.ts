// struct task_struct, reduced to what system calls consult: identity, credentials, the fd
// table, the filesystem context and the network namespace.

import type { Kernel, NetNamespace } from './kernel.js';
import type { Cred } from './cred.js';
import type { Inode } from './fs.js';
import { FilesStruct } from './fdtable.js';
import { INR_OPEN_CUR } from '../uapi/fcntl.js';

export class TaskStruct {
  readonly pid: number;
  readonly files: FilesStruct;
  /** struct fs_struct. */
  fs: { root: Inode; pwd: Inode; umask: number };
  exited = false;

  constructor(
    public readonly kernel: Kernel,
    public cred: Cred,
    public readonly net_ns: NetNamespace,
    public comm = 'task',
  ) {
    this.pid = kernel.alloc_pid();
    this.files = new FilesStruct(INR_OPEN_CUR, kernel.sysctl_nr_open);
    this.fs = { root: kernel.vfs.root, pwd: kernel.vfs.root, umask: 0o022 };
  }

  get tgid(): number {
    return this.pid;
  }
}
