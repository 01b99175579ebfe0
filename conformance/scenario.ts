// The scenario format shared by both runners, and the helpers both sides must agree on: how
// received bytes are printed, how bit masks are named, how results are compared.
// conformance/linux_runner.py implements the same rules in Python.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** A reference to an fd: a name given with "as", a raw number, or a number relative to the first fd. */
export type FdRef = string | number | { rel: number };

/** A symbolic value: a number or "NAME|NAME|0x10" (octal with a leading 0). */
export type Value = number | string | boolean | null | undefined;

/** Bytes to send: text, {hex} or {fill: n, byte: "x"}. */
export type DataSpec = string | { hex: string } | { fill: number; byte?: string };

/** An address: a path ($DIR is the scenario's directory), an abstract name, or raw bytes. */
export interface AddrSpec {
  path?: string;
  abstract?: string;
  raw?: string;
  family?: Value;
  /** addrlen to pass; the bytes are the sockaddr_un zero-padded (or cut) to it. */
  len?: number;
  /** For a path: leave the terminating NUL out of addrlen. */
  nul?: boolean;
  /** Pad the path with 'x' to exactly this many bytes. */
  pad_to?: number;
  /** An AF_INET address: the dotted quad, and the port or the fd whose bound port to use. */
  inet?: string;
  port?: Value;
  port_of?: FdRef;
}

export interface CmsgSpec {
  level?: Value;
  type: Value;
  fds?: FdRef[] | { repeat: FdRef; count: number };
  cred?: { pid?: 'self' | number; uid?: Value; gid?: Value };
  data?: DataSpec;
}

export interface Step {
  call: string;
  [field: string]: unknown;
}

export interface Scenario {
  name: string;
  /** Run the scenario as this user (Linux: a forked child after setresuid). */
  uid?: number;
  gid?: number;
  steps: Step[];
}

/** One step's outcome: {ret, errno} plus call-specific fields (data, addr, flags, revents, …). */
export type StepResult = Record<string, unknown>;

export interface ScenarioResult {
  name: string;
  results?: StepResult[];
  /** A fault of the scenario file or of the runner, not a result to compare. */
  error?: string;
}

/** Load scenarios from files or directories of *.json files ({"scenarios": [...]} or [...]). */
export function loadScenarios(paths: string[]): { files: string[]; scenarios: Scenario[] } {
  const files: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (f.endsWith('.json')) files.push(join(p, f));
    } else files.push(p);
  }
  const scenarios: Scenario[] = [];
  for (const f of files) {
    const doc = JSON.parse(readFileSync(f, 'utf8')) as { scenarios: Scenario[] } | Scenario[];
    scenarios.push(...(Array.isArray(doc) ? doc : doc.scenarios));
  }
  return { files, scenarios };
}

// ——— bytes ————————————————————————————————————————————————————————————————

export function fnv(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const x of b) {
    h ^= x;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** How received bytes appear in a result. */
export function fmtData(b: Uint8Array): string {
  if (b.length <= 200 && b.every((x) => x >= 0x20 && x < 0x7f)) return String.fromCharCode(...b);
  if (b.length <= 64) return 'hex:' + hex(b);
  return `len:${b.length}:fnv:${fnv(b)}`;
}

const utf8 = new TextEncoder();

export function makeData(spec: unknown): Uint8Array {
  if (spec === undefined || spec === null) return new Uint8Array(0);
  if (typeof spec === 'string') return utf8.encode(spec);
  if (typeof spec === 'object') {
    const o = spec as Record<string, unknown>;
    if (typeof o.hex === 'string') return fromHex(o.hex);
    if (typeof o.fill === 'number') {
      const pat = utf8.encode(typeof o.byte === 'string' ? o.byte : 'x');
      const out = new Uint8Array(o.fill);
      for (let i = 0; i < out.length; i++) out[i] = pat[i % pat.length];
      return out;
    }
  }
  throw new ScenarioError(`bad data ${JSON.stringify(spec)}`);
}

/** Printable ASCII as is, the rest (and backslash) as \xNN. */
export function escapeBytes(b: Uint8Array): string {
  let s = '';
  for (const x of b)
    s +=
      x >= 0x20 && x < 0x7f && x !== 0x5c ? String.fromCharCode(x) : `\\x${x.toString(16).padStart(2, '0')}`;
  return s;
}

// ——— names ————————————————————————————————————————————————————————————————

export class ScenarioError extends Error {}

export const POLL_NAMES = [
  'POLLIN',
  'POLLPRI',
  'POLLOUT',
  'POLLERR',
  'POLLHUP',
  'POLLNVAL',
  'POLLRDNORM',
  'POLLRDBAND',
  'POLLWRNORM',
  'POLLWRBAND',
  'POLLMSG',
  'POLLRDHUP',
];
export const EPOLL_NAMES = POLL_NAMES.map((n) => 'E' + n);
export const MSG_NAMES = [
  'MSG_OOB',
  'MSG_PEEK',
  'MSG_DONTROUTE',
  'MSG_CTRUNC',
  'MSG_TRUNC',
  'MSG_DONTWAIT',
  'MSG_EOR',
  'MSG_WAITALL',
  'MSG_ERRQUEUE',
  'MSG_NOSIGNAL',
  'MSG_MORE',
  'MSG_CMSG_CLOEXEC',
];

/** Ioctls whose result is the int they write back; for the others a result reports 0. */
export const IOCTL_OUT = new Set([
  'FIONREAD',
  'SIOCINQ',
  'SIOCOUTQ',
  'TIOCOUTQ',
  'SIOCOUTQNSD',
  'SIOCATMARK',
]);

// ——— struct tcp_info ————————————————————————————————————————————————————————

/** Room given to getsockopt(TCP_INFO) unless the step says "optlen". */
export const TCP_INFO_ROOM = 512;

type TcpInfoKind = 'u8' | 'u16' | 'u32' | 'u64' | { bit: number; width: number };

const U32_FIELDS = [
  'tcpi_rto',
  'tcpi_ato',
  'tcpi_snd_mss',
  'tcpi_rcv_mss',
  'tcpi_unacked',
  'tcpi_sacked',
  'tcpi_lost',
  'tcpi_retrans',
  'tcpi_fackets',
  'tcpi_last_data_sent',
  'tcpi_last_ack_sent',
  'tcpi_last_data_recv',
  'tcpi_last_ack_recv',
  'tcpi_pmtu',
  'tcpi_rcv_ssthresh',
  'tcpi_rtt',
  'tcpi_rttvar',
  'tcpi_snd_ssthresh',
  'tcpi_snd_cwnd',
  'tcpi_advmss',
  'tcpi_reordering',
  'tcpi_rcv_rtt',
  'tcpi_rcv_space',
  'tcpi_total_retrans',
];

/** Linux's struct tcp_info (include/uapi/linux/tcp.h): field → [byte offset, kind]. */
export const TCP_INFO_LAYOUT: ReadonlyMap<string, [number, TcpInfoKind]> = new Map<
  string,
  [number, TcpInfoKind]
>([
  ['tcpi_state', [0, 'u8']],
  ['tcpi_ca_state', [1, 'u8']],
  ['tcpi_retransmits', [2, 'u8']],
  ['tcpi_probes', [3, 'u8']],
  ['tcpi_backoff', [4, 'u8']],
  ['tcpi_options', [5, 'u8']],
  ['tcpi_snd_wscale', [6, { bit: 0, width: 4 }]],
  ['tcpi_rcv_wscale', [6, { bit: 4, width: 4 }]],
  ['tcpi_delivery_rate_app_limited', [7, { bit: 0, width: 1 }]],
  ['tcpi_fastopen_client_fail', [7, { bit: 1, width: 2 }]],
  ...U32_FIELDS.map((n, i): [string, [number, TcpInfoKind]] => [n, [8 + 4 * i, 'u32']]),
  ['tcpi_pacing_rate', [104, 'u64']],
  ['tcpi_max_pacing_rate', [112, 'u64']],
  ['tcpi_bytes_acked', [120, 'u64']],
  ['tcpi_bytes_received', [128, 'u64']],
  ['tcpi_segs_out', [136, 'u32']],
  ['tcpi_segs_in', [140, 'u32']],
  ['tcpi_notsent_bytes', [144, 'u32']],
  ['tcpi_min_rtt', [148, 'u32']],
  ['tcpi_data_segs_in', [152, 'u32']],
  ['tcpi_data_segs_out', [156, 'u32']],
  ['tcpi_delivery_rate', [160, 'u64']],
  ['tcpi_busy_time', [168, 'u64']],
  ['tcpi_rwnd_limited', [176, 'u64']],
  ['tcpi_sndbuf_limited', [184, 'u64']],
  ['tcpi_delivered', [192, 'u32']],
  ['tcpi_delivered_ce', [196, 'u32']],
  ['tcpi_bytes_sent', [200, 'u64']],
  ['tcpi_bytes_retrans', [208, 'u64']],
  ['tcpi_dsack_dups', [216, 'u32']],
  ['tcpi_reord_seen', [220, 'u32']],
  ['tcpi_rcv_ooopack', [224, 'u32']],
  ['tcpi_snd_wnd', [228, 'u32']],
  ['tcpi_rcv_wnd', [232, 'u32']],
  ['tcpi_rehash', [236, 'u32']],
  ['tcpi_total_rto', [240, 'u16']],
  ['tcpi_total_rto_recoveries', [242, 'u16']],
  ['tcpi_total_rto_time', [244, 'u32']],
]);

/** TCP states by number (include/net/tcp_states.h). */
export const TCP_STATE_NAMES = [
  '0',
  'TCP_ESTABLISHED',
  'TCP_SYN_SENT',
  'TCP_SYN_RECV',
  'TCP_FIN_WAIT1',
  'TCP_FIN_WAIT2',
  'TCP_TIME_WAIT',
  'TCP_CLOSE',
  'TCP_CLOSE_WAIT',
  'TCP_LAST_ACK',
  'TCP_LISTEN',
  'TCP_CLOSING',
  'TCP_NEW_SYN_RECV',
  'TCP_BOUND_INACTIVE',
];
export const TCP_CA_STATE_NAMES = [
  'TCP_CA_Open',
  'TCP_CA_Disorder',
  'TCP_CA_CWR',
  'TCP_CA_Recovery',
  'TCP_CA_Loss',
];
/** tcpi_options bit i is TCPI_OPT_NAMES[i]. */
export const TCPI_OPT_NAMES = [
  'TCPI_OPT_TIMESTAMPS',
  'TCPI_OPT_SACK',
  'TCPI_OPT_WSCALE',
  'TCPI_OPT_ECN',
  'TCPI_OPT_ECN_SEEN',
  'TCPI_OPT_SYN_DATA',
  'TCPI_OPT_USEC_TS',
  'TCPI_OPT_TFO_CHILD',
];

/**
 * The fields a step names of the struct tcp_info bytes getsockopt returned: tcpi_state,
 * tcpi_ca_state and tcpi_options by name, 64-bit counters as numbers while exact (else decimal
 * text), a field beyond the returned bytes as null.
 */
export function tcpInfo(raw: Uint8Array, fields: unknown): Record<string, unknown> {
  if (!Array.isArray(fields) || fields.length === 0)
    throw new ScenarioError('getsockopt TCP_INFO needs "fields": [names]');
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const out: Record<string, unknown> = {};
  for (const name of fields as string[]) {
    const f = TCP_INFO_LAYOUT.get(name);
    if (!f) throw new ScenarioError(`unknown tcp_info field ${name}`);
    const [off, kind] = f;
    const size = typeof kind === 'object' ? 1 : { u8: 1, u16: 2, u32: 4, u64: 8 }[kind];
    if (off + size > raw.length) {
      out[name] = null;
      continue;
    }
    let v: number | string;
    if (typeof kind === 'object') v = (raw[off] >> kind.bit) & ((1 << kind.width) - 1);
    else if (kind === 'u8') v = raw[off];
    else if (kind === 'u16') v = dv.getUint16(off, true);
    else if (kind === 'u32') v = dv.getUint32(off, true);
    else {
      const b = dv.getBigUint64(off, true);
      v = b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
    }
    if (name === 'tcpi_state')
      v = typeof v === 'number' && v > 0 && v < TCP_STATE_NAMES.length ? TCP_STATE_NAMES[v] : v;
    else if (name === 'tcpi_ca_state')
      v = typeof v === 'number' && v < TCP_CA_STATE_NAMES.length ? TCP_CA_STATE_NAMES[v] : v;
    else if (name === 'tcpi_options') v = bitNames(v as number, TCPI_OPT_NAMES);
    out[name] = v;
  }
  return out;
}

/** Bit i named names[i]; bits beyond the list in hex. */
export function bitNames(v: number, names: string[]): string {
  if (v === 0) return '0';
  const out = names.filter((_n, i) => v & (1 << i));
  const rest = v & ~((1 << names.length) - 1);
  if (rest) out.push('0x' + rest.toString(16));
  return out.join('|');
}

/** Render a mask with the given names, in order; bits without a name in hex. */
export function decodeBits(v: number, names: string[], lookup: (name: string) => number | undefined): string {
  if (v === 0) return '0';
  const out: string[] = [];
  let rest = v >>> 0;
  for (const n of names) {
    const b = lookup(n);
    if (b === undefined || b === 0) continue;
    if ((rest & b) >>> 0 === b >>> 0) {
      out.push(n);
      rest = (rest & ~b) >>> 0;
    }
  }
  if (rest) out.push('0x' + rest.toString(16));
  return out.join('|');
}

/** Parse "0x10", "0755" (octal), "0o755", "-3", "12". */
export function parseNumber(t: string): number | undefined {
  const m = /^(-?)(0x[0-9a-f]+|0o[0-7]+|0[0-7]+|[0-9]+)$/i.exec(t.trim());
  if (!m) return undefined;
  const s = m[2].toLowerCase();
  let v: number;
  if (s.startsWith('0x')) v = parseInt(s.slice(2), 16);
  else if (s.startsWith('0o')) v = parseInt(s.slice(2), 8);
  else if (s.length > 1 && s.startsWith('0')) v = parseInt(s, 8);
  else v = parseInt(s, 10);
  return m[1] ? -v : v;
}

// ——— comparing ————————————————————————————————————————————————————————————

export interface Mismatch {
  scenario: string;
  /** Step index, or -1 for the scenario as a whole. */
  step: number;
  call: string;
  field: string;
  linux: unknown;
  usernet: unknown;
}

function canonical(v: unknown): string {
  if (v === undefined) return 'undefined';
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

/** Field-by-field differences between the two sides' results of one scenario. */
export function compareScenario(
  s: Scenario,
  linux: ScenarioResult | undefined,
  usernet: ScenarioResult,
): Mismatch[] {
  const out: Mismatch[] = [];
  const whole = (field: string, l: unknown, u: unknown): void => {
    out.push({ scenario: s.name, step: -1, call: '', field, linux: l, usernet: u });
  };
  if (!linux) {
    whole('scenario', 'no result', usernet.error ?? 'ran');
    return out;
  }
  if (linux.error || usernet.error) {
    if (linux.error !== usernet.error) whole('error', linux.error ?? null, usernet.error ?? null);
    else whole('error', linux.error, usernet.error);
    return out;
  }
  const lr = linux.results ?? [];
  const ur = usernet.results ?? [];
  for (let i = 0; i < Math.max(lr.length, ur.length); i++) {
    const call = s.steps[i]?.call ?? '?';
    const l = lr[i];
    const u = ur[i];
    if (!l || !u) {
      out.push({
        scenario: s.name,
        step: i,
        call,
        field: 'step',
        linux: l ?? 'missing',
        usernet: u ?? 'missing',
      });
      continue;
    }
    // When one side failed and the other did not, the other fields say nothing more.
    const failed = (l.errno ?? null) !== (u.errno ?? null);
    const keys = failed ? ['errno', 'ret'] : [...new Set([...Object.keys(l), ...Object.keys(u)])].sort();
    for (const k of keys) {
      if (canonical(l[k]) !== canonical(u[k]))
        out.push({ scenario: s.name, step: i, call, field: k, linux: l[k], usernet: u[k] });
    }
  }
  return out;
}
