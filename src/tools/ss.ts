// `ss` (iproute2 6.1, misc/ss.c): datagram sockets as it prints them from /proc/net/udp and
// /proc/net/raw (its PROC_ROOT path: dgram_show_line for each line), TCP sockets as it prints
// the inet_diag records the kernel answers on NETLINK_SOCK_DIAG (inet_show_sock, with
// tcp_timer_print for -o, sock_details_print for -e and tcp_show_info for -i), users from the
// fd tables: `ss -uanp`, `ss -wanp`, `ss -tanoi`, `ss -tl`… The layout is ss's own: fields
// buffered as tokens, column widths measured over all lines, right-aligned local and peer
// addresses, and — as when ss writes to a pipe — no extra spacing to fill a screen. Addresses
// and ports are numeric (-n).

import type { Net } from '../net/core/net_namespace.js';
import type { TaskStruct } from '../kernel/task.js';
import { proc_addr, udp4_seq_show } from '../net/ipv4/udp.js';
import { raw_sockets } from '../net/ipv4/raw.js';
import { inet_diag_dump_tcp, type InetDiagMsg } from '../net/ipv4/tcp_proc.js';
import { inet_ntoa } from '../uapi/in.js';

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
const SS_TIME_WAIT = 6;
const SS_SYN_RECV = 3;
/** The states `ss -t` shows by default: connections, not listeners, TIME-WAIT or SYN-RECV. */
const SS_CONN = SS_ALL & ~((1 << SS_LISTEN) | (1 << SS_CLOSE) | (1 << SS_TIME_WAIT) | (1 << SS_SYN_RECV));

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
  /** -t: TCP sockets (inet_diag). */
  tcp?: boolean;
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
  /** -o: timers (`timer:(on,200ms,0)`), and the TCP options in -i's summary. */
  options?: boolean;
  /** -e: uid, inode, socket cookie, shutdown state. */
  extended?: boolean;
  /** -i: the tcp_info summary on a second line. */
  info?: boolean;
}

/** What ss reads: the /proc texts of the datagram tables, the inet_diag records of TCP. */
export interface SsSources {
  udp?: string;
  raw?: string;
  tcp?: readonly InetDiagMsg[];
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
 * The text `ss` prints for the given tables: `ss -uanp` is
 * `ssDatagram({ udp }, { udp: true, all: true, processes: true }, procs)`; `ss -tanoi` is
 * `ssShow({ tcp }, { tcp: true, all: true, options: true, info: true })`.
 */
export function ssShow(src: SsSources, opts: SsOptions, procs: readonly SsProcess[] = []): string {
  const showDgram = opts.udp || (!opts.raw && !opts.tcp);
  const dbs = [opts.tcp, showDgram, opts.raw].filter(Boolean).length;
  // filter_db_set() ORs each table's default states; -a and -l replace them.
  const states = opts.all
    ? SS_ALL
    : opts.listening
      ? (1 << SS_LISTEN) | (1 << SS_CLOSE)
      : (opts.tcp ? SS_CONN : 0) | (showDgram || opts.raw ? 1 << SS_ESTABLISHED : 0);
  const disabled = new Array<boolean>(COL_MAX).fill(false);
  // One table: no Netid column; one state: no State column.
  if (dbs === 1) disabled[COL_NETID] = true;
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
  const stats = (netid: string, row: ProcRow): void => {
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
  };

  // Tables in ss's order: raw, udp, tcp.
  const order: [string, string | undefined][] = [
    ['raw', opts.raw ? (src.raw ?? '') : undefined],
    ['udp', showDgram ? (src.udp ?? '') : undefined],
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
      stats(netid, row);
    }
  }
  if (opts.tcp) {
    for (const r of src.tcp ?? []) {
      if (!(states & (1 << r.idiag_state))) continue;
      // inet_show_sock()
      stats('tcp', {
        laddr: inet_ntoa(r.idiag_src),
        lport: r.idiag_sport,
        raddr: inet_ntoa(r.idiag_dst),
        rport: r.idiag_dport,
        state: r.idiag_state,
        wq: r.idiag_wqueue,
        rq: r.idiag_rqueue,
        ino: r.idiag_inode,
      });
      if (opts.options) f.out(tcpTimer(r));
      if (opts.extended) {
        // sock_details_print()
        if (r.idiag_uid) f.out(` uid:${r.idiag_uid}`);
        f.out(` ino:${r.idiag_inode} sk:${r.idiag_cookie.toString(16)}`);
        if (r.shutdown !== undefined) f.out(` ${r.shutdown & 1 ? '-' : '<'}-${r.shutdown & 2 ? '-' : '>'}`);
      }
      if (opts.info) {
        f.out('\n\t');
        if (r.info) f.out(tcpInfoText(r.info, r.cong ?? '', !!opts.options));
      }
    }
  }
  return f.render();
}

/** ss over the datagram tables only (the name this view had first). */
export const ssDatagram = ssShow;

/** print_ms_timer(): 200ms, 1.500ms, 59sec, 1min30sec, 119min. */
export function printMsTimer(timeout: number): string {
  let secs = Math.floor(timeout / 1000);
  const minutes = Math.floor(secs / 60);
  secs %= 60;
  let msecs = timeout % 1000;
  let buf = '';
  if (minutes) {
    msecs = 0;
    buf = `${minutes}min`;
    if (minutes > 9) secs = 0;
  }
  if (secs) {
    if (secs > 9) msecs = 0;
    buf += `${secs}${msecs ? '.' : 'sec'}`;
  }
  if (msecs) buf += `${String(msecs).padStart(3, '0')}ms`;
  return buf;
}

/** tcp_timer_print(). */
function tcpTimer(r: InetDiagMsg): string {
  const names = ['off', 'on', 'keepalive', 'timewait', 'persist', 'unknown'];
  if (!r.idiag_timer) return '';
  const t = r.idiag_timer > 4 ? 5 : r.idiag_timer;
  return ` timer:(${names[t]},${printMsTimer(Math.floor(r.idiag_expires))},${r.idiag_retrans})`;
}

/** printf's %g: six significant digits, trailing zeros dropped, exponent form when tiny or huge. */
export function fmtG(v: number): string {
  if (v === 0) return '0';
  if (!Number.isFinite(v)) return String(v);
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(6)))));
  if (exp < -4 || exp >= 6) {
    const [m, e] = v.toExponential(5).split('e');
    const mant = m.includes('.') ? m.replace(/\.?0+$/, '') : m;
    const n = Number(e);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const s = v.toFixed(Math.max(0, 5 - exp));
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** sprint_bw() with -n: "%.0f" bits per second. */
function bw(v: number): string {
  return v.toFixed(0);
}

/**
 * tcp_show_info() + tcp_stats_print(): the one-line summary of a struct tcp_info (Linux's
 * layout, 248 bytes) and the congestion control's name, as ss -i prints it. The TCP options
 * (ts, sack, ecn…) are printed only with -o, as in ss.
 */
export function tcpInfoText(info: Uint8Array, cong: string, showOptions: boolean): string {
  const v = new DataView(info.buffer, info.byteOffset, info.byteLength);
  const u32 = (o: number): number => (o + 4 <= info.length ? v.getUint32(o, true) : 0);
  const u64 = (o: number): number => (o + 8 <= info.length ? Number(v.getBigUint64(o, true)) : 0);
  const u64raw = (o: number): bigint => (o + 8 <= info.length ? v.getBigUint64(o, true) : 0n);
  const state = info[0];
  const options = info[5];
  let out = '';
  if (showOptions) {
    if (options & 1) out += ' ts';
    if (options & 2) out += ' sack';
    if (options & 8) out += ' ecn';
    if (options & 16) out += ' ecnseen';
    if (options & 32) out += ' fastopen';
  }
  if (cong) out += ` ${cong}`;
  if (options & 4) out += ` wscale:${info[6] & 15},${info[6] >> 4}`;
  const rto = u32(8);
  if (rto && rto !== 3000000) out += ` rto:${fmtG(rto / 1000)}`;
  if (info[4]) out += ` backoff:${info[4]}`;
  const rttUs = u32(68);
  if (rttUs) out += ` rtt:${fmtG(rttUs / 1000)}/${fmtG(u32(72) / 1000)}`;
  const ato = u32(12);
  if (ato) out += ` ato:${fmtG(ato / 1000)}`;
  const mss = u32(16);
  const cwnd = u32(80);
  if (mss) out += ` mss:${mss}`;
  if (u32(60)) out += ` pmtu:${u32(60)}`;
  if (u32(20)) out += ` rcvmss:${u32(20)}`;
  if (u32(84)) out += ` advmss:${u32(84)}`;
  if (cwnd) out += ` cwnd:${cwnd}`;
  const ssthresh = u32(76);
  if (ssthresh < 0xffff && ssthresh) out += ` ssthresh:${ssthresh}`;
  const counters: [string, number][] = [
    ['bytes_sent', u64(200)],
    ['bytes_retrans', u64(208)],
    ['bytes_acked', u64(120)],
    ['bytes_received', u64(128)],
    ['segs_out', u32(136)],
    ['segs_in', u32(140)],
    ['data_segs_out', u32(156)],
    ['data_segs_in', u32(152)],
  ];
  for (const [name, n] of counters) if (n) out += ` ${name}:${n}`;
  if (rttUs > 0 && mss && cwnd) out += ` send ${bw((cwnd * mss * 8000000) / rttUs)}bps`;
  if (u32(44)) out += ` lastsnd:${u32(44)}`;
  if (u32(52)) out += ` lastrcv:${u32(52)}`;
  if (u32(56)) out += ` lastack:${u32(56)}`;
  const pacing = u64raw(104);
  if (pacing && pacing !== 0xffffffffffffffffn) {
    out += ` pacing_rate ${bw(Number(pacing) * 8)}bps`;
    const max = u64raw(112);
    if (max && max !== 0xffffffffffffffffn) out += `/${bw(Number(max) * 8)}bps`;
  }
  if (u64(160)) out += ` delivery_rate ${bw(u64(160) * 8)}bps`;
  if (u32(192)) out += ` delivered:${u32(192)}`;
  if (u32(196)) out += ` delivered_ce:${u32(196)}`;
  if (info[7] & 1) out += ' app_limited';
  const busy = u64(168);
  if (busy) {
    out += ` busy:${Math.floor(busy / 1000)}ms`;
    const rwnd = u64(176);
    const sndbuf = u64(184);
    if (rwnd) out += ` rwnd_limited:${Math.floor(rwnd / 1000)}ms(${((100 * rwnd) / busy).toFixed(1)}%)`;
    if (sndbuf)
      out += ` sndbuf_limited:${Math.floor(sndbuf / 1000)}ms(${((100 * sndbuf) / busy).toFixed(1)}%)`;
  }
  if (u32(24)) out += ` unacked:${u32(24)}`;
  if (info[2] || u32(100)) out += ` retrans:${info[2]}/${u32(100)}`;
  if (u32(32)) out += ` lost:${u32(32)}`;
  if (u32(28) && state !== SS_LISTEN) out += ` sacked:${u32(28)}`;
  if (u32(216)) out += ` dsack_dups:${u32(216)}`;
  if (u32(40)) out += ` fackets:${u32(40)}`;
  if (u32(88) !== 3) out += ` reordering:${u32(88) | 0}`;
  if (u32(220)) out += ` reord_seen:${u32(220) | 0}`;
  if (u32(92)) out += ` rcv_rtt:${fmtG(u32(92) / 1000)}`;
  if (u32(96)) out += ` rcv_space:${u32(96) | 0}`;
  if (u32(64)) out += ` rcv_ssthresh:${u32(64)}`;
  if (u32(144)) out += ` notsent:${u32(144)}`;
  const minrtt = u32(148);
  if (minrtt && minrtt !== 0xffffffff) out += ` minrtt:${fmtG(minrtt / 1000)}`;
  if (u32(224)) out += ` rcv_ooopack:${u32(224)}`;
  if (u32(228)) out += ` snd_wnd:${u32(228)}`;
  return out;
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
 * `ss` for one host: its /proc/net/udp and /proc/net/raw, the inet_diag records of its TCP
 * socks and its tasks' fd tables. `flags` are ss's letters: t (TCP), u (UDP), w (raw), a, l,
 * p, o, e, i, n (always on), H.
 */
export function ssHost(net: Net, tasks: readonly TaskStruct[], flags = '-uanp'): string {
  const f = flags.replace(/^-/, '');
  const bad = f.replace(/[tuwalpnHoei]/g, '');
  if (bad) throw new Error(`ss: unsupported option -${bad}`);
  const opts: SsOptions = {
    tcp: f.includes('t'),
    udp: f.includes('u'),
    raw: f.includes('w'),
    all: f.includes('a'),
    listening: f.includes('l'),
    processes: f.includes('p'),
    noHeader: f.includes('H'),
    options: f.includes('o'),
    extended: f.includes('e'),
    info: f.includes('i'),
  };
  const dgram = opts.udp || (!opts.raw && !opts.tcp);
  return ssShow(
    {
      udp: dgram ? udp4_seq_show(net) : undefined,
      raw: opts.raw ? procNetRaw(net) : undefined,
      tcp: opts.tcp ? inet_diag_dump_tcp(net, { info: opts.info }) : undefined,
    },
    opts,
    opts.processes ? processesOf(tasks) : [],
  );
}
