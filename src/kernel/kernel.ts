// One host's kernel: its clock and randomness (shared from the world), sysctls, filesystem,
// processes and the counters pseudo filesystems draw from.

import type { Clock } from './time.js';
import type { Prandom } from './random.js';
import { SysctlTable } from './sysctl.js';
import { Tracing } from './trace.js';
import { ModuleParams } from './module_param.js';
import { Vfs } from './namei.js';
import { NR_OPEN } from '../uapi/fcntl.js';
import type { FileSystemType } from './super.js';

/** The network namespace a kernel boots with; defined by the net layer (struct net). */
export interface NetNamespace {
  readonly kernel: Kernel;
}

/** struct user_struct: what the kernel counts per user. */
export class UserStruct {
  /** Files this user has in flight in SCM_RIGHTS messages (too_many_unix_fds). */
  unix_inflight = 0;
  constructor(readonly uid: number) {}
}

export class Kernel {
  readonly sysctl = new SysctlTable();
  /** /sys/module/<module>/parameters: the module_param()s of built-in modules. */
  readonly module_params = new ModuleParams();
  readonly vfs = new Vfs();
  /** fs.nr_open. */
  sysctl_nr_open = NR_OPEN;
  private last_pid = 0;
  private last_ino = 0;
  /** struct user_struct per uid (find_user / alloc_uid): per-user accounting. */
  readonly users = new Map<number, UserStruct>();
  /** register_filesystem()'s list (/proc/filesystems). */
  readonly filesystems = new Map<string, FileSystemType>();
  /** The host's network namespace (init_net), installed by the net layer at boot. */
  init_net: NetNamespace | null = null;
  /** Tracepoints and the ftrace buffer (/sys/kernel/tracing). */
  readonly tracing: Tracing;

  constructor(
    public readonly hostname: string,
    public readonly clock: Clock,
    public readonly prandom: Prandom,
  ) {
    this.tracing = new Tracing(clock);
    this.sysctl.register('fs.nr_open', {
      get: () => this.sysctl_nr_open,
      set: (v) => (this.sysctl_nr_open = v),
      min: 64,
      max: 0x7fffffff,
    });
  }

  /** alloc_uid(): the user_struct of `uid`. */
  alloc_uid(uid: number): UserStruct {
    let u = this.users.get(uid);
    if (!u) this.users.set(uid, (u = new UserStruct(uid)));
    return u;
  }

  /** alloc_pid(). */
  alloc_pid(): number {
    return ++this.last_pid;
  }

  /** get_next_ino(): inode numbers for pseudo filesystems (sockfs, anon inodes). */
  get_next_ino(): number {
    return ++this.last_ino;
  }
}
