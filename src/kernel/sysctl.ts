// sysctl: named tunables (/proc/sys). Subsystems register their entries at boot; values live in
// the subsystem's own structures, the table only reads and writes them with range checks.

import { EINVAL, ENOENT } from '../uapi/errno.js';

export interface SysctlEntry {
  get(): number;
  set(v: number): void;
  min?: number;
  max?: number;
}

export class SysctlTable {
  private entries = new Map<string, SysctlEntry>();

  /** register_sysctl(): `name` is dotted ('net.core.rmem_max'). */
  register(name: string, entry: SysctlEntry): void {
    this.entries.set(name, entry);
  }

  /** Read a value; -ENOENT for an unknown name. */
  read(name: string): number {
    const e = this.entries.get(normalize(name));
    return e ? e.get() : -ENOENT;
  }

  /** Write a value: 0, -ENOENT or -EINVAL (proc_dointvec_minmax). */
  write(name: string, v: number): number {
    const e = this.entries.get(normalize(name));
    if (!e) return -ENOENT;
    if (!Number.isInteger(v) || (e.min !== undefined && v < e.min) || (e.max !== undefined && v > e.max))
      return -EINVAL;
    e.set(v);
    return 0;
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }
}

function normalize(name: string): string {
  return name.replace(/^\/proc\/sys\//, '').replace(/\//g, '.');
}
