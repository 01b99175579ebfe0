// sysctl: named tunables (/proc/sys). Subsystems register their entries at boot; values live in
// the subsystem's own structures, the table only reads and writes them with range checks.

import { EINVAL, ENOENT } from '../uapi/errno.js';

export interface SysctlEntry {
  get(): number;
  set(v: number): void;
  min?: number;
  max?: number;
}

/** A sysctl whose value is text (a vector like tcp_rmem, or a name like tcp_congestion_control). */
export interface SysctlTextEntry {
  get(): string;
  /** 0 or a negative errno. */
  set(v: string): number;
}

export class SysctlTable {
  private entries = new Map<string, SysctlEntry>();
  private text = new Map<string, SysctlTextEntry>();

  /** Register a text-valued entry. */
  registerText(name: string, entry: SysctlTextEntry): void {
    this.text.set(name, entry);
  }

  /** Read any entry as /proc/sys shows it (vectors tab-separated); null for an unknown name. */
  readText(name: string): string | null {
    const n = normalize(name);
    const t = this.text.get(n);
    if (t) return t.get();
    const e = this.entries.get(n);
    return e ? String(e.get()) : null;
  }

  /** Write any entry from text: 0, -ENOENT or -EINVAL. */
  writeText(name: string, v: string): number {
    const n = normalize(name);
    const t = this.text.get(n);
    if (t) return t.set(v.trim());
    if (!this.entries.has(n)) return -ENOENT;
    const s = v.trim();
    if (!/^[-+]?\d+$/.test(s)) return -EINVAL;
    return this.write(n, Number(s));
  }

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
    return [...this.entries.keys(), ...this.text.keys()].sort();
  }
}

function normalize(name: string): string {
  return name.replace(/^\/proc\/sys\//, '').replace(/\//g, '.');
}
