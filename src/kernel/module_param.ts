// Module parameters (kernel/params.c, include/linux/moduleparam.h): the module_param() variables
// a module exposes under /sys/module/<module>/parameters/<name>. Values live in the module's own
// structures; the table parses writes as param_set_int / param_set_uint / param_set_bool do and
// prints reads as their param_get_* counterparts. A parameter registered without S_IWUSR
// (0444) is read-only: writing it fails with EACCES, as opening the sysfs file for writing does.

import { EACCES, EINVAL, ENOENT, ERANGE } from '../uapi/errno.js';

/** The kernel_param_ops a parameter uses. */
export type ModuleParamType = 'int' | 'uint' | 'bool';

export interface ModuleParam {
  type: ModuleParamType;
  /** The sysfs mode (0644, 0444…). */
  perm: number;
  get(): number;
  set(v: number): void;
}

const S_IWUGO = 0o222;
const INT_MIN = -0x80000000;
const INT_MAX = 0x7fffffff;
const UINT_MAX = 0xffffffff;

/**
 * kstrtoull() with base 0 (_parse_integer_fixup_radix): "0x" before a hex digit is hex, a leading
 * 0 octal, otherwise decimal; one leading '+' and one trailing newline are allowed. Returns a
 * bigint, or a negative errno number.
 */
function kstrtoull(s: string): bigint | number {
  if (s.startsWith('+')) s = s.slice(1);
  return parse_unsigned(s);
}

function parse_unsigned(s: string): bigint | number {
  let base = 10n;
  let i = 0;
  if (s[0] === '0') {
    if ((s[1] === 'x' || s[1] === 'X') && /[0-9a-fA-F]/.test(s[2] ?? '')) {
      base = 16n;
      i = 2;
    } else base = 8n;
  }
  let v = 0n;
  let digits = 0;
  for (; i < s.length; i++) {
    const d = parseInt(s[i]!, 16);
    if (Number.isNaN(d) || BigInt(d) >= base) break;
    v = v * base + BigInt(d);
    digits++;
    if (v > 0xffffffffffffffffn) return -ERANGE;
  }
  if (!digits) return -EINVAL;
  if (s[i] === '\n') i++;
  if (i !== s.length) return -EINVAL;
  return v;
}

/** kstrtoint(s, 0): an int, or a negative errno (the returned errno is tagged by `ok`). */
function kstrtoint(s: string, signed: boolean): { ok: boolean; v: number } {
  let neg = false;
  let r: bigint | number;
  if (signed && s.startsWith('-')) {
    neg = true;
    r = parse_unsigned(s.slice(1));
  } else r = kstrtoull(s);
  if (typeof r === 'number') return { ok: false, v: r };
  const v = neg ? -r : r;
  const lo = signed ? BigInt(INT_MIN) : 0n;
  const hi = signed ? BigInt(INT_MAX) : BigInt(UINT_MAX);
  if (v < lo || v > hi) return { ok: false, v: -ERANGE };
  return { ok: true, v: Number(v) };
}

/** kstrtobool(): y/Y/t/T/1/on are true, n/N/f/F/0/off false; only the first letters count. */
function kstrtobool(s: string): number | null {
  const c = s[0];
  if (c === 'y' || c === 'Y' || c === 't' || c === 'T' || c === '1') return 1;
  if (c === 'n' || c === 'N' || c === 'f' || c === 'F' || c === '0') return 0;
  if (c === 'o' || c === 'O') {
    if (s[1] === 'n' || s[1] === 'N') return 1;
    if (s[1] === 'f' || s[1] === 'F') return 0;
  }
  return null;
}

/** The module parameters of one kernel, by module and name. */
export class ModuleParams {
  private modules = new Map<string, Map<string, ModuleParam>>();

  /** module_param(): register `name` of `module`. */
  register(module: string, name: string, param: ModuleParam): void {
    let m = this.modules.get(module);
    if (!m) this.modules.set(module, (m = new Map()));
    m.set(name, param);
  }

  /** Whether `module` has registered its parameters. */
  has(module: string): boolean {
    return this.modules.has(module);
  }

  private lookup(module: string, name: string): ModuleParam | undefined {
    return this.modules.get(module)?.get(name);
  }

  /** param_get_*(): the value as sysfs prints it (without the newline); null if unknown. */
  read(module: string, name: string): string | null {
    const p = this.lookup(module, name);
    if (!p) return null;
    if (p.type === 'bool') return p.get() ? 'Y' : 'N';
    return String(p.get());
  }

  /** param_attr_store(): 0, -ENOENT, -EACCES (read-only), -EINVAL or -ERANGE. */
  write(module: string, name: string, text: string): number {
    const p = this.lookup(module, name);
    if (!p) return -ENOENT;
    if (!(p.perm & S_IWUGO)) return -EACCES;
    if (p.type === 'bool') {
      const b = kstrtobool(text);
      if (b === null) return -EINVAL;
      p.set(b);
      return 0;
    }
    const r = kstrtoint(text, p.type === 'int');
    if (!r.ok) return r.v;
    p.set(r.v);
    return 0;
  }

  /** Every parameter as `module/name`, sorted. */
  names(): string[] {
    const out: string[] = [];
    for (const [mod, params] of this.modules) for (const name of params.keys()) out.push(`${mod}/${name}`);
    return out.sort();
  }
}

/** Split `/sys/module/<module>/parameters/<name>`; null for any other path. */
export function module_param_path(path: string): { module: string; name: string } | null {
  const m = /^\/sys\/module\/([^/]+)\/parameters\/([^/]+)$/.exec(path);
  return m ? { module: m[1]!, name: m[2]! } : null;
}
