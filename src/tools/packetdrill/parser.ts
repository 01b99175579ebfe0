/**
 * Recursive-descent parser for packetdrill scripts.
 *
 * Accepts the language of packetdrill's grammar (the bison parser of
 * google/packetdrill) and performs the checks that grammar performs while
 * parsing: value ranges, sequence-number consistency, option-list size,
 * `*`/range times and `<...>` only on outbound packets, and so on. Every
 * problem is reported as a {@link PacketdrillSyntaxError} carrying
 * file:line:column.
 */

import { isIPv4, isIPv6 } from 'node:net';
import type {
  EventTime,
  Event,
  Expr,
  GreFlag,
  GreHeader,
  IcmpEchoed,
  IpEcn,
  IpInfo,
  MplsEntry,
  OptionLine,
  OuterLayer,
  PacketSpec,
  Ports,
  Script,
  SeqSpec,
  SyscallSpec,
  TcpOption,
  TosSpec,
} from './ast.js';
import { Lexer, PacketdrillSyntaxError, type Token } from './lexer.js';

export { PacketdrillSyntaxError } from './lexer.js';

export interface ParseOptions {
  /** Name used in error messages. */
  readonly file?: string;
  /**
   * Command-line definitions (`-D NAME=value`). They take effect after the
   * script's own `--define` options and override them, as in packetdrill.
   */
  readonly defines?: ReadonlyMap<string, string>;
}

/** Largest TCP option area (60-byte header minus the 20 fixed bytes). */
const MAX_TCP_OPTION_BYTES = 40;
const VALID_TCP_FLAGS = '.FSRPEWAU01234567';

/** Splits `NAME=value` as packetdrill's --define / -D does. */
export function parseDefinition(text: string): [string, string] | null {
  const eq = text.indexOf('=');
  if (eq <= 0) return null;
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/**
 * Collects the definitions of a packetdrill command line: `-D NAME=v`,
 * `-DNAME=v`, `--define NAME=v`, `--define=NAME=v`. Other arguments are
 * ignored. Throws a plain Error naming the bad definition.
 */
export function definesFromArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let def: string | undefined;
    if (a === '-D' || a === '--define') def = argv[++i];
    else if (a.startsWith('--define=')) def = a.slice('--define='.length);
    else if (a.startsWith('-D')) def = a.slice(2);
    else continue;
    const kv = def === undefined ? null : parseDefinition(def);
    if (kv === null) throw new Error(`bad definition: ${def ?? '(missing)'}`);
    out.set(kv[0], kv[1]);
  }
  return out;
}

/** Parses a whole script. Throws only {@link PacketdrillSyntaxError}. */
export function parseScript(text: string, opts: ParseOptions = {}): Script {
  return new Parser(text, opts).script();
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of file';
    case 'string':
      return `string ${t.text}`;
    case 'backquoted':
      return 'back-quoted command';
    case 'code':
      return 'code block';
    case 'keyword':
      return `keyword '${t.text}'`;
    case 'option':
      return `option '${t.text}'`;
    default:
      return `'${t.text}'`;
  }
}

/** Exact seconds-with-fraction text to microseconds. */
function secondsTextToUsecs(text: string): number {
  const [whole, frac = ''] = text.split('.');
  const usecs = BigInt(whole === '' || whole === undefined ? '0' : whole) * 1_000_000n;
  return Number(usecs + BigInt((frac + '000000').slice(0, 6)));
}

class Parser {
  private readonly lx: Lexer;
  private readonly buf: Token[] = [];
  private readonly cliDefines: ReadonlyMap<string, string>;

  constructor(text: string, opts: ParseOptions) {
    this.cliDefines = opts.defines ?? new Map();
    this.lx = new Lexer(text, { file: opts.file ?? '<script>' });
  }

  // ---- token plumbing -------------------------------------------------

  private peek(k = 0): Token {
    while (this.buf.length <= k) {
      const last = this.buf[this.buf.length - 1];
      if (last !== undefined && last.kind === 'eof') return last;
      this.buf.push(this.lx.next());
    }
    return this.buf[k]!;
  }

  private take(): Token {
    const t = this.peek();
    this.buf.shift();
    return t;
  }

  private fail(t: Token, detail: string): PacketdrillSyntaxError {
    return new PacketdrillSyntaxError(this.lx.file, t.pos, detail);
  }

  private unexpected(t: Token, wanted: string): PacketdrillSyntaxError {
    return this.fail(t, `syntax error: expected ${wanted} but found ${describe(t)}`);
  }

  private isChar(c: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'char' && t.text === c;
  }

  private isKw(name: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'keyword' && t.value === name;
  }

  private char(c: string): Token {
    const t = this.peek();
    if (t.kind !== 'char' || t.text !== c) throw this.unexpected(t, `'${c}'`);
    return this.take();
  }

  private kw(name: string): Token {
    const t = this.peek();
    if (t.kind !== 'keyword' || t.value !== name) throw this.unexpected(t, `'${name}'`);
    return this.take();
  }

  private word(what = 'a word'): Token {
    const t = this.peek();
    if (t.kind !== 'word') throw this.unexpected(t, what);
    return this.take();
  }

  private str(): Token {
    const t = this.peek();
    if (t.kind !== 'string') throw this.unexpected(t, 'a string');
    return this.take();
  }

  /** An INTEGER token as a bigint (decimal only). */
  private integer(what = 'an integer'): [bigint, Token] {
    const t = this.peek();
    if (t.kind !== 'integer') throw this.unexpected(t, what);
    this.take();
    return [BigInt(t.text), t];
  }

  /** INTEGER or HEX_INTEGER. */
  private anyInt(): [bigint, Token] {
    const t = this.peek();
    if (t.kind === 'integer' || t.kind === 'hex') {
      this.take();
      return [BigInt(t.text), t];
    }
    throw this.unexpected(t, 'an integer');
  }

  /** INTEGER checked to lie in [0, max]. */
  private bounded(max: number, what: string, msg: string): number {
    const [v, t] = this.integer(what);
    if (v < 0n || v > BigInt(max)) throw this.fail(t, msg);
    return Number(v);
  }

  // ---- script ---------------------------------------------------------

  script(): Script {
    const options: OptionLine[] = [];
    while (this.peek().kind === 'option') options.push(this.option());
    this.finalizeDefines(options);

    let initCommand: string | null = null;
    if (this.peek().kind === 'backquoted') initCommand = this.take().value;

    const events: Event[] = [];
    while (this.startsEvent()) events.push(this.event());
    if (events.length === 0) throw this.unexpected(this.peek(), 'an event (a time such as 0, +.1 or *)');

    let cleanupCommand: string | null = null;
    if (this.peek().kind === 'backquoted') cleanupCommand = this.take().value;

    const end = this.peek();
    if (end.kind !== 'eof') throw this.unexpected(end, 'an event or end of file');
    return { options, initCommand, events, cleanupCommand };
  }

  private finalizeDefines(options: readonly OptionLine[]): void {
    const defs = new Map<string, string>();
    for (const o of options) {
      if (o.name !== 'define') continue;
      const kv = o.value === null ? null : parseDefinition(o.value);
      if (kv === null) {
        throw new PacketdrillSyntaxError(this.lx.file, o.pos, `bad definition: ${o.value ?? '(missing)'}`);
      }
      defs.set(kv[0], kv[1]);
    }
    for (const [k, v] of this.cliDefines) defs.set(k, v);
    this.lx.defines = defs;
  }

  private option(): OptionLine {
    const t = this.take();
    if (!this.isChar('=')) return { name: t.value, value: null, pos: t.pos };
    this.take();
    const v = this.peek();
    let value: string;
    switch (v.kind) {
      case 'integer':
      case 'string':
      case 'ipv4':
      case 'ipv6':
        value = this.take().value;
        break;
      case 'keyword':
        if (v.value !== 'ipv4' && v.value !== 'ipv6') throw this.unexpected(v, 'an option value');
        value = this.take().value;
        break;
      case 'word': {
        value = this.take().value;
        if (this.isChar('=')) {
          this.take();
          const r = this.peek();
          if (r.kind === 'word') value = `${value}=${this.take().value}`;
          else if (r.kind === 'string') value = `${value}="${this.take().value}"`;
          else if (r.kind === 'backquoted') value = `${value}=\`${this.take().value}\``;
          else throw this.unexpected(r, 'a word, string or back-quoted value');
        }
        break;
      }
      default:
        throw this.unexpected(v, 'an option value');
    }
    return { name: t.value, value, pos: t.pos };
  }

  private startsEvent(): boolean {
    const t = this.peek();
    return (
      t.kind === 'integer' || t.kind === 'float' || (t.kind === 'char' && (t.text === '+' || t.text === '*'))
    );
  }

  private time(): number {
    const t = this.peek();
    if (t.kind !== 'integer' && t.kind !== 'float') throw this.unexpected(t, 'a time');
    this.take();
    if (t.text.startsWith('-')) throw this.fail(t, 'negative time');
    return secondsTextToUsecs(t.text);
  }

  private eventTime(): EventTime {
    if (this.isChar('*')) {
      this.take();
      return { kind: 'any' };
    }
    if (this.isChar('+')) {
      this.take();
      const usecs = this.time();
      if (!this.isChar('~')) return { kind: 'relative', usecs };
      const tilde = this.take();
      this.char('+');
      const endUsecs = this.time();
      if (endUsecs < usecs) throw this.fail(tilde, 'time range is backwards');
      return { kind: 'relative-range', usecs, endUsecs };
    }
    const usecs = this.time();
    if (!this.isChar('~')) return { kind: 'absolute', usecs };
    const tilde = this.take();
    const endUsecs = this.time();
    if (endUsecs < usecs) throw this.fail(tilde, 'time range is backwards');
    return { kind: 'absolute-range', usecs, endUsecs };
  }

  private event(): Event {
    const start = this.peek();
    const pos = start.pos;
    const time = this.eventTime();
    const t = this.peek();
    let ev: Event;
    if (t.kind === 'char' && (t.text === '<' || t.text === '>')) {
      ev = { kind: 'packet', time, pos, packet: this.packet() };
    } else if (t.kind === 'word' || t.kind === 'ellipsis') {
      ev = { kind: 'syscall', time, pos, syscall: this.syscall() };
    } else if (t.kind === 'backquoted') {
      ev = { kind: 'command', time, pos, command: this.take().value };
    } else if (t.kind === 'code') {
      ev = { kind: 'code', time, pos, code: this.take().value };
    } else {
      throw this.unexpected(t, 'a packet, system call, `command` or %{ code }%');
    }
    const outbound = ev.kind === 'packet' && ev.packet.direction === 'outbound';
    if (time.kind === 'any' && !outbound) {
      throw this.fail(start, 'event time <star> can only be used with outbound packets');
    }
    if ((time.kind === 'absolute-range' || time.kind === 'relative-range') && !outbound) {
      throw this.fail(start, 'event time range can only be used with outbound packets');
    }
    return ev;
  }

  // ---- packets --------------------------------------------------------

  private packet(): PacketSpec {
    const dirTok = this.take();
    const direction = dirTok.text === '<' ? 'inbound' : 'outbound';
    const outer: OuterLayer[] = [];
    for (;;) {
      if (this.isKw('ipv4') || this.isKw('ipv6')) {
        const v = this.take().value as 'ipv4' | 'ipv6';
        const ip = this.optIpInfo();
        const addrKind = v === 'ipv4' ? 'ipv4' : 'ipv6';
        const a = this.peek();
        if (a.kind !== addrKind) throw this.unexpected(a, `an ${v} address`);
        const src = this.take().value;
        this.char('>');
        const b = this.peek();
        if (b.kind !== addrKind) throw this.unexpected(b, `an ${v} address`);
        const dst = this.take().value;
        this.char(':');
        outer.push({ kind: v, ip, src, dst });
      } else if (this.isKw('gre')) {
        this.take();
        if (this.isChar(':')) {
          this.take();
          outer.push({ kind: 'gre', header: null });
        } else {
          if (this.isChar(',')) this.take();
          const header = this.greHeader();
          this.char(':');
          outer.push({ kind: 'gre', header });
        }
      } else if (this.isKw('mpls')) {
        this.take();
        const stack = this.mplsStack();
        this.char(':');
        outer.push({ kind: 'mpls', stack });
      } else {
        break;
      }
    }
    const ipTok = this.peek();
    const ip = this.optIpInfo();
    if (ip?.tos?.kind === 'ect01' && direction !== 'outbound') {
      throw this.fail(ipTok, '[ect01] can only be used with outbound packets');
    }
    if (this.isKw('udp')) {
      this.take();
      if (ip?.tos?.kind === 'ecn') throw this.fail(ipTok, 'ECN can only be used with TCP packets');
      const ports = this.optPorts();
      this.char('(');
      const length = this.bounded(0xffff, 'a UDP payload size', 'UDP payload size out of range');
      this.char(')');
      return { protocol: 'udp', direction, outer, ip, ports, length };
    }
    if (this.isKw('icmp')) {
      this.take();
      return this.icmp(direction, outer, ip);
    }
    let psp: { spi: bigint } | null = null;
    if (this.isKw('encap')) {
      this.take();
      this.kw('psp');
      this.kw('spi');
      psp = { spi: this.anyInt()[0] };
    }
    const ports = this.optPorts();
    const flags = this.tcpFlags();
    const seq = this.seq();
    let ack: number | null = null;
    if (this.isKw('ack')) {
      this.take();
      ack = this.bounded(0xffffffff, 'an ack number', 'TCP ack sequence number out of range');
    }
    let window: number | null = null;
    if (this.isKw('win')) {
      this.take();
      window = this.bounded(0xffff, 'a window', 'TCP window value out of range');
    }
    let urg: number | null = null;
    if (this.isKw('urg')) {
      this.take();
      urg = this.bounded(0xffff, 'an urgent pointer', 'urg_ptr value out of range');
    }
    let options: TcpOption[] | null = [];
    if (this.isChar('<')) {
      const lt = this.take();
      if (this.peek().kind === 'ellipsis') {
        this.take();
        this.char('>');
        if (direction !== 'outbound') {
          throw this.fail(lt, '<...> for TCP options can only be used with outbound packets');
        }
        options = null;
      } else {
        options = this.tcpOptions();
      }
    }
    if (window === null && direction === 'inbound') {
      throw this.fail(dirTok, 'window must be specified for inbound packets');
    }
    return { protocol: 'tcp', direction, outer, ip, psp, ports, flags, seq, ack, window, urg, options };
  }

  private optIpInfo(): IpInfo | null {
    const close = this.isChar('(') ? ')' : this.isChar('[') ? ']' : null;
    if (close === null) return null;
    this.take();
    let info: IpInfo;
    if (this.isKw('flowlabel')) {
      info = { tos: null, flowLabel: this.flowLabel(), ttl: null };
    } else if (this.isKw('ttl')) {
      this.take();
      info = { tos: null, flowLabel: null, ttl: Number(this.integer('a TTL')[0]) };
    } else {
      const tos = this.tosSpec();
      let flowLabel: number | null = null;
      if (this.isChar(',')) {
        this.take();
        flowLabel = this.flowLabel();
      }
      info = { tos, flowLabel, ttl: null };
    }
    this.char(close);
    return info;
  }

  private tosSpec(): TosSpec {
    const t = this.peek();
    if (t.kind === 'keyword') {
      switch (t.value) {
        case 'noecn':
        case 'ect0':
        case 'ect1':
        case 'ce':
          this.take();
          return { kind: 'ecn', ecn: t.value as IpEcn };
        case 'ect01':
          this.take();
          return { kind: 'ect01' };
        case 'tos': {
          this.take();
          const h = this.peek();
          if (h.kind !== 'hex') throw this.unexpected(h, 'a hex TOS value');
          this.take();
          const v = BigInt(h.text);
          if (v > 0xffn) throw this.fail(h, 'tos out of range for 8 bits');
          return { kind: 'tos', value: Number(v) };
        }
      }
    }
    throw this.unexpected(t, 'ecn, tos, flowlabel or ttl');
  }

  private flowLabel(): number {
    this.kw('flowlabel');
    const h = this.peek();
    if (h.kind !== 'hex') throw this.unexpected(h, 'a hex flow label');
    this.take();
    const v = BigInt(h.text);
    if (v > 0xfffffn) throw this.fail(h, 'flowlabel out of range for 20 bits');
    return Number(v);
  }

  private optPorts(): Ports | null {
    if (this.peek().kind !== 'integer' || !this.isChar('>', 1)) return null;
    const src = this.bounded(0xffff, 'a port', 'src port out of range');
    this.char('>');
    const dst = this.bounded(0xffff, 'a port', 'dst port out of range');
    return { src, dst };
  }

  private tcpFlags(): string {
    const t = this.peek();
    let flags: string;
    if (t.kind === 'word') {
      this.take();
      flags = t.value;
      if (this.isChar('.')) {
        this.take();
        flags += '.';
      } else if (this.peek().kind === 'float') {
        flags += this.take().text;
      }
    } else if (t.kind === 'float') {
      flags = this.take().text;
    } else if (t.kind === 'char' && t.text === '.') {
      this.take();
      flags = '.';
    } else if (t.kind === 'char' && t.text === '-') {
      this.take();
      flags = '';
    } else {
      throw this.unexpected(t, 'TCP flags (S, ., P., F., R, -, ...) or udp/icmp');
    }
    let ecn = false;
    let ace = false;
    for (const c of flags) {
      if (!VALID_TCP_FLAGS.includes(c)) throw this.fail(t, `Invalid TCP flag: '${c}'`);
      if ('EWA'.includes(c)) {
        if (ace) throw this.fail(t, `Conflicting TCP flag: '${c}'`);
        ecn = true;
      }
      if ('01234567'.includes(c)) {
        if (ecn || ace) throw this.fail(t, `Conflicting TCP flag: '${c}'`);
        ace = true;
      }
    }
    return flags;
  }

  private seq(): SeqSpec {
    const [start, st] = this.integer('a sequence range start:end(length)');
    this.char(':');
    const [end, et] = this.integer('an end sequence number');
    this.char('(');
    const [length, lt] = this.integer('a payload length');
    this.char(')');
    if (start < 0n || start > 0xffffffffn) throw this.fail(st, 'TCP start sequence number out of range');
    if (end < 0n || end > 0xffffffffn) throw this.fail(et, 'TCP end sequence number out of range');
    if (length < 0n || length > 0xffffn) throw this.fail(lt, 'TCP payload size out of range');
    if (end !== start + length) throw this.fail(st, 'inconsistent TCP sequence numbers and payload size');
    return { start: Number(start), end: Number(end), length: Number(length) };
  }

  private tcpOptions(): TcpOption[] {
    const list: TcpOption[] = [];
    let bytes = 0;
    for (;;) {
      const t = this.peek();
      const opt = this.tcpOption();
      bytes += tcpOptionLength(opt);
      if (bytes > MAX_TCP_OPTION_BYTES) throw this.fail(t, 'TCP option list too long');
      list.push(opt);
      if (this.isChar(',')) {
        this.take();
        continue;
      }
      this.char('>');
      return list;
    }
  }

  private hexBlob(what: string, maxBytes: number): Uint8Array {
    const t = this.peek();
    let text = '';
    if (t.kind === 'word' || t.kind === 'integer') text = this.take().text;
    if (what !== 'md5' && text.length % 2 === 1) {
      throw this.fail(t, 'TCP fast open cookie has an odd number of digits');
    }
    const n = Math.floor(text.length / 2);
    if (n > maxBytes) {
      throw this.fail(
        t,
        what === 'md5'
          ? 'TCP MD5 digest longer than 16 bytes'
          : `TCP fast open cookie of ${n} bytes exceeds maximum cookie length of ${maxBytes} bytes`,
      );
    }
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) {
      throw this.fail(
        t,
        what === 'md5'
          ? 'TCP MD5 digest is not a valid hex string'
          : `TCP fast open cookie '${text}' is not a valid hex string`,
      );
    }
    return Uint8Array.from(Buffer.from(text, 'hex'));
  }

  private tcpOption(): TcpOption {
    const t = this.peek();
    if (t.kind !== 'keyword') throw this.unexpected(t, 'a TCP option');
    switch (t.value) {
      case 'nop':
        this.take();
        return { kind: 'nop' };
      case 'eol':
        this.take();
        return { kind: 'eol' };
      case 'mss':
        this.take();
        return { kind: 'mss', value: this.bounded(0xffff, 'an MSS', 'mss value out of range') };
      case 'wscale':
        this.take();
        return {
          kind: 'wscale',
          shift: this.bounded(0xff, 'a shift count', 'window scale shift count out of range'),
        };
      case 'sackOK':
        this.take();
        return { kind: 'sackOK' };
      case 'sack': {
        this.take();
        const blocks: { left: number; right: number }[] = [];
        do {
          const left = this.bounded(0xffffffff, 'a SACK block', 'TCP SACK left sequence number out of range');
          this.char(':');
          const right = this.bounded(
            0xffffffff,
            'a SACK block',
            'TCP SACK right sequence number out of range',
          );
          blocks.push({ left, right });
        } while (this.peek().kind === 'integer');
        return { kind: 'sack', blocks };
      }
      case 'md5':
        this.take();
        return { kind: 'md5', digest: this.hexBlob('md5', 16) };
      case 'TS': {
        this.take();
        this.kw('val');
        const val = this.bounded(0xffffffff, 'a TS value', 'ts val out of range');
        this.kw('ecr');
        const ecr = this.bounded(0xffffffff, 'a TS echo reply', 'ecr val out of range');
        return { kind: 'timestamp', val, ecr };
      }
      case 'FO':
        this.take();
        return { kind: 'fastopen', cookie: this.hexBlob('FO', MAX_TCP_OPTION_BYTES - 2) };
      case 'FOEXP':
        this.take();
        return { kind: 'fastopen-exp', cookie: this.hexBlob('FOEXP', MAX_TCP_OPTION_BYTES - 4) };
      case 'ECN':
        this.take();
        return this.accecn();
    }
    throw this.unexpected(t, 'a TCP option');
  }

  private accecnVal(): number {
    return this.bounded(0xffffff, 'an AccECN counter', 'TCP AccECN field value out of range');
  }

  private accecn(): TcpOption {
    const first = this.peek();
    if (!this.isKw('e0b') && !this.isKw('e1b')) throw this.unexpected(first, "'e0b' or 'e1b'");
    const order = this.take().value as 'e0b' | 'e1b';
    const other = order === 'e0b' ? 'e1b' : 'e0b';
    const firstVal = this.accecnVal();
    let ceb: number | null = null;
    let last: number | null = null;
    if (this.isKw('ceb')) {
      this.take();
      ceb = this.accecnVal();
      if (this.isKw(other)) {
        this.take();
        last = this.accecnVal();
      }
    }
    return order === 'e0b'
      ? { kind: 'accecn', order, e0b: firstVal, ceb, e1b: last }
      : { kind: 'accecn', order, e1b: firstVal, ceb, e0b: last };
  }

  private icmp(direction: 'inbound' | 'outbound', outer: OuterLayer[], ip: IpInfo | null): PacketSpec {
    const type = this.word('an ICMP type').value;
    const code = this.peek().kind === 'word' ? this.take().value : null;
    let mtu: number | null = null;
    if (this.isKw('mtu')) {
      this.take();
      mtu = Number(this.integer('an MTU')[0]);
    }
    let echoId: number | null = null;
    if (this.isKw('id')) {
      this.take();
      echoId = Number(this.integer('an echo id')[0]);
    }
    let echoed: IcmpEchoed | null = null;
    if (this.isChar('[')) {
      this.take();
      if (this.isKw('udp') || this.isKw('raw')) {
        const p = this.take().value as 'udp' | 'raw';
        this.char('(');
        const length = Number(this.integer('a payload length')[0]);
        this.char(')');
        echoed = { protocol: p, length };
      } else {
        echoed = { protocol: 'tcp', seq: this.seq() };
      }
      this.char(']');
    }
    return { protocol: 'icmp', direction, outer, ip, ports: null, type, code, mtu, echoId, echoed };
  }

  private greHeader(): GreHeader {
    this.kw('flags');
    let flags: GreFlag[] | bigint;
    if (this.isChar('[')) {
      this.take();
      flags = [];
      for (;;) {
        const t = this.peek();
        if (this.isKw('none')) {
          this.take();
        } else if (this.isKw('checksum') || this.isKw('key') || this.isKw('sequence#')) {
          this.take();
          this.kw('present');
          flags.push(t.value === 'checksum' ? 'checksum' : t.value === 'key' ? 'key' : 'sequence');
        } else {
          throw this.unexpected(t, 'none, checksum present, key present or sequence# present');
        }
        if (!this.isChar(',')) break;
        this.take();
      }
      this.char(']');
    } else {
      flags = this.anyInt()[0];
    }
    const optComma = (): void => {
      if (this.isChar(',')) this.take();
    };
    optComma();
    this.kw('sum');
    const sum = this.anyInt()[0];
    optComma();
    this.kw('off');
    const off = this.anyInt()[0];
    optComma();
    this.kw('key');
    if (this.isChar('=')) this.take();
    const key = this.anyInt()[0];
    optComma();
    this.kw('seq');
    const seq = this.anyInt()[0];
    return { flags, sum, off, key, seq };
  }

  private mplsStack(): MplsEntry[] {
    const stack: MplsEntry[] = [];
    while (this.isChar('(')) {
      const open = this.take();
      this.kw('label');
      const [label] = this.integer('an MPLS label');
      this.char(',');
      this.kw('tc');
      const [tc] = this.integer('an MPLS traffic class');
      this.char(',');
      let bottom = false;
      if (this.isChar('[')) {
        this.take();
        const s = this.word("'S'");
        if (s.value !== 'S') throw this.fail(s, 'expected [S] for MPLS label stack bottom');
        this.char(']');
        this.char(',');
        bottom = true;
      }
      this.kw('ttl');
      const [ttl] = this.integer('an MPLS TTL');
      this.char(')');
      if (label < 0n || label > 0xfffffn) throw this.fail(open, 'MPLS label out of range');
      if (tc < 0n || tc > 7n) throw this.fail(open, 'MPLS traffic class out of range');
      if (ttl < 0n || ttl > 0xffn) throw this.fail(open, 'MPLS TTL out of range');
      stack.push({ label: Number(label), trafficClass: Number(tc), bottomOfStack: bottom, ttl: Number(ttl) });
    }
    return stack;
  }

  // ---- system calls ---------------------------------------------------

  private syscall(): SyscallSpec {
    let endUsecs: number | null = null;
    if (this.peek().kind === 'ellipsis') {
      this.take();
      endUsecs = this.time();
    }
    const name = this.word('a system call name').value;
    this.char('(');
    const args = this.isChar(')') ? [] : this.exprList();
    this.char(')');
    this.char('=');
    const result = this.expr();
    let errno: { name: string; text: string } | null = null;
    if (this.peek().kind === 'word') {
      const e = this.take().value;
      errno = { name: e, text: this.note() };
    }
    const note = this.isChar('(') ? this.note() : null;
    return { endUsecs, name, args, result, errno, note };
  }

  private note(): string {
    this.char('(');
    const words: string[] = [];
    const first = this.peek();
    if (first.kind === 'word' || (first.kind === 'keyword' && first.value === 'flags')) {
      words.push(this.take().value);
    } else {
      throw this.unexpected(first, 'words of an error description');
    }
    while (this.peek().kind === 'word') words.push(this.take().value);
    this.char(')');
    return words.join(' ');
  }

  private exprList(): Expr[] {
    const list = [this.expr()];
    while (this.isChar(',')) {
      this.take();
      list.push(this.expr());
    }
    return list;
  }

  /** `|` groups to the right, as the grammar's shift preference does. */
  private expr(): Expr {
    const lhs = this.primary();
    if (!this.isChar('|')) return lhs;
    this.take();
    return { kind: 'binary', op: '|', lhs, rhs: this.expr() };
  }

  private primary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case 'ellipsis':
        this.take();
        return { kind: 'ellipsis' };
      case 'integer':
      case 'hex':
        this.take();
        return { kind: 'int', value: BigInt(t.text), hex: t.kind === 'hex' };
      case 'word':
        this.take();
        if (this.isChar('=')) {
          this.take();
          return { kind: 'binary', op: '=', lhs: { kind: 'word', name: t.value }, rhs: this.expr() };
        }
        return { kind: 'word', name: t.value };
      case 'string': {
        this.take();
        if (this.peek().kind === 'ellipsis') {
          this.take();
          return { kind: 'string', value: t.value, ellipsis: true };
        }
        let e: Expr = { kind: 'string', value: t.value, ellipsis: false };
        while (this.peek().kind === 'string') {
          const s = this.take();
          e = { kind: 'binary', op: '.', lhs: e, rhs: { kind: 'string', value: s.value, ellipsis: false } };
        }
        return e;
      }
      case 'keyword':
        if (t.value === 'inet_addr' || t.value === 'inet6_addr') {
          this.take();
          this.char('(');
          const s = this.str();
          this.char(')');
          if (t.value === 'inet6_addr') {
            if (!isIPv6(s.value)) throw this.fail(s, 'cannot parse in6_addr');
            return { kind: 'inet6_addr', address: s.value };
          }
          return { kind: 'inet_addr', address: s.value };
        }
        break;
      case 'char':
        if (t.text === '[') {
          this.take();
          const items = this.isChar(']') ? [] : this.exprList();
          this.char(']');
          return { kind: 'array', items };
        }
        if (t.text === '{') return this.brace();
        break;
      default:
        break;
    }
    throw this.unexpected(t, 'an expression');
  }

  /** `name = expr` for a reserved field name. */
  private field(name: string): Expr {
    this.kw(name);
    this.char('=');
    return this.expr();
  }

  private brace(): Expr {
    const open = this.take();
    const t = this.peek();
    if (t.kind === 'ellipsis' && this.isChar(',', 1)) {
      this.take();
      this.take();
      const [len] = this.integer('an iovec length');
      this.char('}');
      return { kind: 'iovec', len };
    }
    if (t.kind === 'char' && (t.text === '(' || t.text === '}')) {
      const stack = this.mplsStack();
      this.char('}');
      return { kind: 'mpls_stack', stack };
    }
    if (t.kind !== 'keyword') {
      const items = this.exprList();
      this.char('}');
      return { kind: 'struct', items };
    }
    let e: Expr;
    switch (t.value) {
      case 'sa_family': {
        this.kw('sa_family');
        this.char('=');
        const fam = this.word('AF_INET or AF_INET6');
        this.char(',');
        this.kw('sin_port');
        this.char('=');
        this.kw('htons');
        this.char('(');
        const [port] = this.integer('a port');
        this.char(')');
        this.char(',');
        this.kw('sin_addr');
        this.char('=');
        this.kw('inet_addr');
        this.char('(');
        const addr = this.str();
        this.char(')');
        if (fam.value === 'AF_INET') {
          if (!isIPv4(addr.value)) throw this.fail(addr, 'invalid IPv4 address');
        } else if (fam.value === 'AF_INET6') {
          if (!isIPv6(addr.value)) throw this.fail(addr, 'invalid IPv6 address');
        } else {
          throw this.fail(fam, `unsupported address family ${fam.value}`);
        }
        e = {
          kind: 'sockaddr',
          family: fam.value,
          port: Number(BigInt.asUintN(16, port)),
          address: addr.value,
        };
        break;
      }
      case 'msg_name': {
        this.take();
        this.char('(');
        this.expectEllipsis();
        this.char(')');
        this.char('=');
        this.expectEllipsis();
        this.char(',');
        this.kw('msg_iov');
        this.char('(');
        const [iovlen] = this.integer('an iovec count');
        this.char(')');
        this.char('=');
        if (!this.isChar('[')) throw this.unexpected(this.peek(), "an array '[...]'");
        const iov = this.primary();
        this.char(',');
        const flags = this.field('msg_flags');
        let control: Expr = { kind: 'array', items: [] };
        if (this.isChar(',')) {
          this.take();
          this.kw('msg_control');
          this.char('=');
          if (!this.isChar('[')) throw this.unexpected(this.peek(), "an array '[...]'");
          control = this.primary();
        }
        e = { kind: 'msghdr', iovlen, iov, flags, control };
        break;
      }
      case 'cmsg_level': {
        const level = this.field('cmsg_level');
        this.char(',');
        const type = this.field('cmsg_type');
        this.char(',');
        const data = this.field('cmsg_data');
        e = { kind: 'cmsg', level, type, data };
        break;
      }
      case 'scm_sec': {
        this.take();
        this.char('=');
        const [sec] = this.integer('seconds');
        this.char(',');
        this.kw('scm_nsec');
        this.char('=');
        const [nsec] = this.integer('nanoseconds');
        e = { kind: 'scm_timestamping', sec, nsec };
        break;
      }
      case 'ee_errno': {
        const errno = this.field('ee_errno');
        this.char(',');
        const origin = this.field('ee_origin');
        this.char(',');
        const type = this.field('ee_type');
        this.char(',');
        const code = this.field('ee_code');
        this.char(',');
        const info = this.field('ee_info');
        this.char(',');
        const data = this.field('ee_data');
        e = { kind: 'sock_extended_err', errno, origin, type, code, info, data };
        break;
      }
      case 'fd': {
        const fd = this.field('fd');
        this.char(',');
        const events = this.field('events');
        let revents: Expr = { kind: 'int', value: 0n, hex: false };
        if (this.isChar(',')) {
          this.take();
          revents = this.field('revents');
        }
        e = { kind: 'pollfd', fd, events, revents };
        break;
      }
      case 'events': {
        const events = this.field('events');
        this.char(',');
        const f = this.peek();
        if (f.kind !== 'keyword' || !['fd', 'ptr', 'u32', 'u64'].includes(f.value)) {
          throw this.unexpected(f, 'fd, ptr, u32 or u64');
        }
        const value = this.field(f.value);
        e = { kind: 'epoll_event', events, field: f.value as 'fd' | 'ptr' | 'u32' | 'u64', value };
        break;
      }
      case 'onoff': {
        this.take();
        this.char('=');
        const [onoff] = this.integer('l_onoff');
        this.char(',');
        this.kw('linger');
        this.char('=');
        const [linger] = this.integer('l_linger');
        e = { kind: 'linger', onoff, linger };
        break;
      }
      case 'flags':
        e = { kind: 'gre', header: this.greHeader() };
        break;
      default:
        throw this.unexpected(t, 'an expression');
    }
    const close = this.peek();
    if (!this.isChar('}'))
      throw this.unexpected(close, `'}' to close the '{' at ${open.pos.line}:${open.pos.column}`);
    this.take();
    return e;
  }

  private expectEllipsis(): void {
    const t = this.peek();
    if (t.kind !== 'ellipsis') throw this.unexpected(t, "'...'");
    this.take();
  }
}

function tcpOptionLength(o: TcpOption): number {
  switch (o.kind) {
    case 'nop':
    case 'eol':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sackOK':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'timestamp':
      return 10;
    case 'md5':
      return 2 + o.digest.length;
    case 'fastopen':
      return 2 + o.cookie.length;
    case 'fastopen-exp':
      return 4 + o.cookie.length;
    case 'accecn':
      return 2 + 3 * [o.e0b, o.ceb, o.e1b].filter((v) => v !== null).length;
  }
}
