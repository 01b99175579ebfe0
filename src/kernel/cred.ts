// struct cred (include/linux/cred.h) and capable().

import { CAP_LAST_CAP } from '../uapi/capability.js';

export class Cred {
  constructor(
    public uid: number,
    public gid: number,
    public euid: number = uid,
    public egid: number = gid,
    /** Effective capabilities, a bit per CAP_* (bigint: there are more than 32). */
    public cap_effective: bigint = uid === 0 ? (1n << BigInt(CAP_LAST_CAP + 1)) - 1n : 0n,
    public groups: readonly number[] = [],
  ) {}

  has_cap(cap: number): boolean {
    return (this.cap_effective & (1n << BigInt(cap))) !== 0n;
  }

  in_group_p(gid: number): boolean {
    return this.egid === gid || this.groups.includes(gid);
  }
}
