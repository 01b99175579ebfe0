// A Host: one kernel booted with its network namespace and the socket families.

import type { Clock } from '../kernel/time.js';
import type { Prandom } from '../kernel/random.js';
import { Kernel } from '../kernel/kernel.js';
import { Cred } from '../kernel/cred.js';
import { TaskStruct } from '../kernel/task.js';
import { Net } from '../net/core/net_namespace.js';
import { sock_init } from '../net/sockfs.js';
import { inet_init } from '../net/ipv4/af_inet.js';
import { loopback_net_init } from '../drivers/net/loopback.js';
import { dev_open } from '../net/core/dev.js';
import type { NetDevice } from '../net/core/netdevice.js';
import { proc_filesystems } from '../kernel/super.js';
import { af_unix_init, unix_seq_show } from '../net/unix/af_unix.js';
import { Task } from './task.js';
import { SyscallError } from './errors.js';

export interface SpawnOptions {
  uid?: number;
  gid?: number;
  /** Supplementary groups. */
  groups?: number[];
  /** Effective capabilities as CAP_* numbers; default: all for uid 0, none otherwise. */
  caps?: number[];
  /** Process name. */
  comm?: string;
}

export class Host {
  readonly kernel: Kernel;
  readonly net: Net;
  /** The loopback device. */
  readonly lo: NetDevice;

  constructor(
    readonly name: string,
    readonly clock: Clock,
    random: Prandom,
  ) {
    this.kernel = new Kernel(name, clock, random);
    this.net = new Net(this.kernel);
    this.kernel.init_net = this.net;
    sock_init(this.kernel);
    af_unix_init(this.net);
    inet_init(this.net);
    // Like a booted system, not a bare namespace: `lo` is up.
    this.lo = loopback_net_init(this.net);
    dev_open(this.lo);
  }

  /** Start a process. */
  spawn(opts: SpawnOptions = {}): Task {
    const uid = opts.uid ?? 0;
    const gid = opts.gid ?? uid;
    let caps: bigint | undefined;
    if (opts.caps) caps = opts.caps.reduce((m, c) => m | (1n << BigInt(c)), 0n);
    const cred = new Cred(uid, gid, uid, gid, caps, opts.groups ?? []);
    return new Task(new TaskStruct(this.kernel, cred, this.net, opts.comm ?? 'task'), this.clock);
  }

  /** sysctl read/write by dotted name; write throws a SyscallError on a bad name or value. */
  readonly sysctl = {
    read: (name: string): number => {
      const v = this.kernel.sysctl.read(name);
      if (v < 0 && !this.kernel.sysctl.names().includes(name)) throw new SyscallError(-v, 'sysctl');
      return v;
    },
    write: (name: string, value: number): void => {
      const r = this.kernel.sysctl.write(name, value);
      if (r < 0) throw new SyscallError(-r, 'sysctl');
    },
    names: (): string[] => this.kernel.sysctl.names(),
  };

  /** The text of /proc/filesystems. */
  procFilesystems(): string {
    return proc_filesystems(this.kernel);
  }

  /** The text of /proc/net/unix. */
  procNetUnix(): string {
    return unix_seq_show(this.net);
  }
}
