// `ss` (iproute2 6.1, misc/ss.c) for datagram sockets, as it prints them from /proc/net/udp and
// /proc/net/raw (its PROC_ROOT path: dgram_show_line for each line, users from the fd tables):
// `ss -uanp`, `ss -wanp`, `ss -ul`… The layout is ss's own: fields buffered as tokens, column
// widths measured over all lines, right-aligned local and peer addresses, and — as when ss
// writes to a pipe — no extra spacing to fill a screen. Addresses and ports are numeric (-n).

import type { Net } from '../net/core/net_namespace.js';
import type { TaskStruct } from '../kernel/task.js';
import { proc_addr, udp4_seq_show } from '../net/ipv4/udp.js';
import { raw_sockets } from '../net/ipv4/raw.js';

/** The socket states ss names (its SS_* enum = TCP_* states). */
const SSTATE_NAME: readonly string[] = [
  'UNKNOWN',
  'ESTAB',
  'SYN-SENT',
  'SYN-RECV',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'TIME-WAIT',
  'UNCONN',
  'CLOSE-WAIT',
  'LAST-ACK',
  'LISTEN',
  'CLOSING',
];
const SS_MAX = 12;
const SS_LISTEN = 10;
const SS_CLOSE = 7;
const SS_ESTABLISHED = 1;
const SS_ALL = (1 << SS_MAX) - 1;

// enum col_id and struct column columns[].
const COL_NETID = 0;
const COL_STATE = 1;
const COL_RECVQ = 2;
const COL_SENDQ = 3;
const COL_ADDR = 4;
const COL_MAX = 10;
type Align = 'left' | 'right';
const COLUMNS: readonly { align: Align; header: string; ldelim: string }[] = [
  { align: 'left', header: 'Netid', ldelim: '' },
  { align: 'left', header: 'State', ldelim: ' ' },
  { align: 'left', header: 'Recv-Q', ldelim: ' ' },
  { align: 'left', header: 'Send-Q', ldelim: ' ' },
  { align: 'right', header: 'Local Address:', ldelim: ' ' },
  { align: 'left', header: 'Port', ldelim: '' },
  { align: 'right', header: 'Peer Address:', ldelim: ' ' },
  { align: 'left', header: 'Port', ldelim: '' },
  { align: 'left', header: 'Process', ldelim: '' },
  { align: 'left', header: '', ldelim: '' },
];

/** A process and the sockets its fds hold (what ss reads from /proc/<pid>/fd and /proc/<pid>/stat). */
export interface SsProcess {
  pid: number;
  comm: string;
  /** fd number and the inode of the socket it refers to ("socket:[ino]"). */
  fds: { fd: number; ino: number }[];
}

export interface SsOptions {
  /** -u: UDP sockets (/proc/net/udp). */
  udp?: boolean;
  /** -w: raw sockets (/proc/net/raw). */
  raw?: boolean;
  /** -a: every state. */
  all?: boolean;
  /** -l: listening (for datagram sockets: unconnected) only. */
  listening?: boolean;
  /** -p: the processes using each socket. */
  processes?: boolean;
  /** -H: no header line. */
  noHeader?: boolean;
}

/** The /proc texts ss reads. */
export interface SsSources {
  udp?: string;
  raw?: string;
}

/** The field buffer of ss: tokens per column, rendered once the widths are known. */
class Fields {
  readonly tokens: { col: number; text: string }[] = [];
  readonly maxLen = new Array<number>(COL_MAX).fill(0);
  private cur = 0;
  private text = '';
  constructor(private readonly disabled: boolean[]) {}

  out(s: string): void {
    if (!this.disabled[this.cur]) this.text += s;
  }

  /** field_next(): close the current field (a token even if empty) and move on. */
  next(): void {
    if (!this.disabled[this.cur]) {
      this.tokens.push({ col: this.cur, text: this.text });
      if (this.text.length > this.maxLen[this.cur]) this.maxLen[this.cur] = this.text.length;
    }
    this.text = '';
    this.cur = this.cur === COL_MAX - 1 ? 0 : this.cur + 1;
  }

  /** field_set(): flush fields until `col` is the current one. */
  set(col: number): void {
    while (this.cur !== col) this.next();
  }

  /** render(): compact widths (max length plus the left delimiter), then the lines. */
  render(): string {
    // The field being written is printed too, but was never flushed: its length does not count
    // towards its column's width (as in ss).
    if ((this.text !== '' || this.tokens.length) && !this.disabled[this.cur])
      this.tokens.push({ col: this.cur, text: this.text });
    const width = new Array<number>(COL_MAX).fill(0);
    let first = true;
    for (let c = 0; c < COL_MAX; c++) {
      if (this.disabled[c]) continue;
      width[c] = !first && this.maxLen[c] ? this.maxLen[c] + COLUMNS[c].ldelim.length : this.maxLen[c];
      if (width[c]) first = false;
    }
    let out = '';
    let lineStarted = false;
    for (const t of this.tokens) {
      const col = COLUMNS[t.col];
      let printed = 0;
      if (lineStarted) {
        out += col.ldelim;
        printed = col.ldelim.length;
      }
      lineStarted = true;
      const w = width[t.col];
      if (w && col.align === 'right') {
        const s = w - t.text.length - printed;
        if (s > 0) {
          out += ' '.repeat(s);
          printed += s;
        }
      }
      out += t.text;
      printed += t.text.length;
      if (w && col.align === 'left' && w - printed > 0) out += ' '.repeat(w - printed);
      // The line ends after the last column (disabled ones hold no tokens).
      if (t.col === COL_MAX - 1) {
        out += '\n';
        lineStarted = false;
      }
    }
    if (lineStarted) out += '\n';
    return out;
  }
}

/** An IPv4 address as /proc prints it: %08X of the address in host (little-endian) order. */
function procAddr(hex: string): string {
  const v = parseInt(hex, 16) >>> 0;
  return `${v & 0xff}.${(v >>> 8) & 0xff}.${(v >>> 16) & 0xff}.${v >>> 24}`;
}

/**
 * The text `ss` prints for the given /proc tables: `ss -uanp` is
 * `ssDatagram({ udp }, { udp: true, all: true, processes: true }, procs)`.
 */
export function ssDatagram(src: SsSources, opts: SsOptions, procs: readonly SsProcess[] = []): string {
  const dbs = [opts.udp ? 'udp' : null, opts.raw ? 'raw' : null].filter((x): x is string => x !== null);
  if (dbs.length === 0) dbs.push('udp');
  // default_dbs[UDP_DB/RAW_DB].states: connected sockets only, unless -a or -l.
  const states = opts.all
    ? SS_ALL
    : opts.listening
      ? (1 << SS_LISTEN) | (1 << SS_CLOSE)
      : 1 << SS_ESTABLISHED;
  const disabled = new Array<boolean>(COL_MAX).fill(false);
  // One table: no Netid column; one state: no State column.
  if (dbs.length === 1) disabled[COL_NETID] = true;
  if (!(states & (states - 1))) disabled[COL_STATE] = true;
  const f = new Fields(disabled);

  if (!opts.noHeader) {
    for (let c = 0; c < COL_MAX - 1; c++) {
      f.out(COLUMNS[c].header);
      f.next();
    }
  }

  // user_ent_hash: entries are prepended as /proc is read (pids, then fds, ascending), so a
  // socket's users come out last-read first.
  const users = new Map<number, string[]>();
  if (opts.processes) {
    const sorted = [...procs].sort((a, b) => a.pid - b.pid);
    for (const p of sorted) {
      for (const { fd, ino } of [...p.fds].sort((a, b) => a.fd - b.fd)) {
        let l = users.get(ino);
        if (!l) users.set(ino, (l = []));
        l.unshift(`("${p.comm.slice(0, 15)}",pid=${p.pid},fd=${fd})`);
      }
    }
  }

  // Tables in ss's order: raw before udp.
  const order: [string, string | undefined][] = [
    ['raw', opts.raw ? (src.raw ?? '') : undefined],
    ['udp', opts.udp || !opts.raw ? (src.udp ?? '') : undefined],
  ];
  for (const [netid, text] of order) {
    if (text === undefined) continue;
    const lines = text.split('\n');
    // generic_record_read(): skip the header, then one socket per line.
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      if (!line) continue;
      const row = parseProcLine(line);
      if (!row || !(states & (1 << row.state))) continue;
      // sock_state_print()
      f.set(COL_NETID);
      f.out(netid);
      f.set(COL_STATE);
      f.out(SSTATE_NAME[row.state] ?? 'UNKNOWN');
      f.set(COL_RECVQ);
      f.out(String(row.rq).padEnd(6));
      f.set(COL_SENDQ);
      f.out(String(row.wq).padEnd(6));
      f.set(COL_ADDR);
      // inet_addr_print() for each end: "addr:" then the port ("*" for 0).
      for (const [addr, port] of [
        [row.laddr, row.lport],
        [row.raddr, row.rport],
      ] as const) {
        f.out(`${addr}:`);
        f.next();
        f.out(port === 0 ? '*' : String(port));
        f.next();
      }
      // proc_ctx_print()
      const u = users.get(row.ino);
      if (row.ino && u) f.out(` users:(${u.join(',')})`);
    }
  }
  return f.render();
}

interface ProcRow {
  laddr: string;
  lport: number;
  raddr: string;
  rport: number;
  state: number;
  wq: number;
  rq: number;
  ino: number;
}

/** dgram_show_line(): "sl: local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode …". */
function parseProcLine(line: string): ProcRow | null {
  const m =
    /^\s*\d+:\s+([0-9A-Fa-f]+):([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+):([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+):([0-9A-Fa-f]+)\s+\S+\s+\S+\s+(\d+)\s+\d+\s+(\d+)/.exec(
      line,
    );
  if (!m) return null;
  return {
    laddr: procAddr(m[1]),
    lport: parseInt(m[2], 16),
    raddr: procAddr(m[3]),
    rport: parseInt(m[4], 16),
    state: parseInt(m[5], 16),
    wq: parseInt(m[6], 16),
    rq: parseInt(m[7], 16),
    ino: Number(m[9]),
  };
}

/** raw_seq_show() (net/ipv4/raw.c): the text of /proc/net/raw, from the namespace's raw socks. */
export function procNetRaw(net: Net): string {
  const hex = (n: number, w: number): string => (n >>> 0).toString(16).toUpperCase().padStart(w, '0');
  let out =
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n';
  for (const sk of raw_sockets(net)) {
    out +=
      `${String(sk.inet_num).padStart(4)}: ${proc_addr(sk.inet_rcv_saddr)}:${hex(sk.inet_num, 4)} ` +
      `${proc_addr(sk.inet_daddr)}:${hex(0, 4)} ${hex(sk.sk_state, 2)} ` +
      `${hex(sk.sk_wmem_alloc, 8)}:${hex(sk.sk_rmem_alloc, 8)} 00:00000000 00000000 ` +
      `${String(sk.sk_uid).padStart(5)} ${String(0).padStart(8)} ${sk.ino} 2 0000000000000000 ${sk.sk_drops}\n`;
  }
  return out;
}

/** What ss reads from /proc/<pid>/fd: each live task's socket fds ("socket:[ino]"). */
export function processesOf(tasks: readonly TaskStruct[]): SsProcess[] {
  const out: SsProcess[] = [];
  for (const t of tasks) {
    if (t.exited) continue;
    const fds: SsProcess['fds'] = [];
    t.files.fd.forEach((_f, fd) => {
      const file = t.files.fcheck(fd);
      const m = file ? /^socket:\[(\d+)\]$/.exec(file.f_path_name) : null;
      if (m) fds.push({ fd, ino: Number(m[1]) });
    });
    out.push({ pid: t.pid, comm: t.comm, fds });
  }
  return out;
}

/**
 * `ss` for one host, from its /proc/net/udp and /proc/net/raw and its tasks' fd tables.
 * `flags` are ss's letters: u (UDP), w (raw), a, l, p, n (always on), H.
 */
export function ssHost(net: Net, tasks: readonly TaskStruct[], flags = '-uanp'): string {
  const f = flags.replace(/^-/, '');
  const bad = f.replace(/[uwalpnH]/g, '');
  if (bad) throw new Error(`ss: unsupported option -${bad}`);
  const opts: SsOptions = {
    udp: f.includes('u'),
    raw: f.includes('w'),
    all: f.includes('a'),
    listening: f.includes('l'),
    processes: f.includes('p'),
    noHeader: f.includes('H'),
  };
  return ssDatagram(
    {
      udp: opts.udp || !opts.raw ? udp4_seq_show(net) : undefined,
      raw: opts.raw ? procNetRaw(net) : undefined,
    },
    opts,
    opts.processes ? processesOf(tasks) : [],
  );
}
