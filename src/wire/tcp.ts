// TCP (RFC 9293; include/uapi/linux/tcp.h, include/net/tcp.h) over IPv4. The header is 20 bytes
// and options up to a data offset of 15 words (60 bytes). The checksum covers the IPv4
// pseudo-header (source, destination, zero, protocol 6, TCP length), the header and the data;
// unlike UDP, 0 is an ordinary checksum value.
//
// Options (RFC 9293 §3.1, and the RFCs named at each kind) are parsed into a list; whatever is
// malformed is reported next to what could be read, never thrown: a length byte below 2 or past the
// end stops the walk (tcp_parse_options() returns there too), a known kind with a length it cannot
// have is kept raw and reported, and the walk goes on.

import { get16, get32, get8, put16, put32, put8, ByteView } from './bytes.js';
import { csum_fold, csum_partial, csum_tcpudp_magic, csum_tcpudp_nofold } from './checksum.js';
import { IPPROTO_TCP } from './ipv4.js';

/** sizeof(struct tcphdr): the header without options. */
export const TCP_HLEN = 20;
/** A data offset of 15 words. */
export const TCP_MAX_HLEN = 60;
/** MAX_TCP_OPTION_SPACE. */
export const TCP_MAX_OPTLEN = 40;

// The flag bits as tcp_flag_byte() reads them (the 14th header byte), and AE (formerly NS,
// RFC 3540; AccECN's third counter bit) in the low bit of the 13th byte, shifted above them.
export const TCPHDR_FIN = 0x01;
export const TCPHDR_SYN = 0x02;
export const TCPHDR_RST = 0x04;
export const TCPHDR_PSH = 0x08;
export const TCPHDR_ACK = 0x10;
export const TCPHDR_URG = 0x20;
export const TCPHDR_ECE = 0x40;
export const TCPHDR_CWR = 0x80;
export const TCPHDR_AE = 0x100;

// Option kinds (include/net/tcp.h TCPOPT_*).
export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WINDOW = 3;
export const TCPOPT_SACK_PERM = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;
export const TCPOPT_MD5SIG = 19;
export const TCPOPT_FASTOPEN = 34;
/** RFC 6994 shared experimental option; Fast Open used it with the magic below before kind 34. */
export const TCPOPT_EXP = 254;
export const TCPOPT_FASTOPEN_MAGIC = 0xf989;

// Option lengths (TCPOLEN_*).
export const TCPOLEN_MSS = 4;
export const TCPOLEN_WINDOW = 3;
export const TCPOLEN_SACK_PERM = 2;
export const TCPOLEN_SACK_BASE = 2;
export const TCPOLEN_SACK_PERBLOCK = 8;
export const TCPOLEN_TIMESTAMP = 10;
export const TCPOLEN_MD5SIG = 18;
export const TCPOLEN_FASTOPEN_BASE = 2;
export const TCPOLEN_EXP_FASTOPEN_BASE = 4;

/**
 * Why tcp_v4_rcv() drops a segment before looking at it: fewer than 20 bytes, a data offset
 * below 5 words or past the bytes received (both TCP_MIB_INERRS), or a checksum that does not
 * verify (TCP_MIB_CSUMERRORS and TCP_MIB_INERRS).
 */
export type TcpError = 'truncated' | 'bad-offset' | 'bad-checksum';

export const TCP_ERROR_MIB: Readonly<Record<TcpError, string>> = {
  truncated: 'InErrs',
  'bad-offset': 'InErrs',
  'bad-checksum': 'InCsumErrors',
};

export class TcpPacket extends ByteView {
  /**
   * tcp_v4_rcv()'s tests in its order: a whole header, a data offset of at least 5 words that
   * fits the bytes, then — when the addresses of the IPv4 header are given — the checksum over
   * all `len` bytes.
   */
  static check(buf: Uint8Array, off: number, len: number, src?: number, dst?: number): TcpError | null {
    if (off < 0 || off + len > buf.length || len < TCP_HLEN) return 'truncated';
    const doff = (buf[off + 12] >>> 4) * 4;
    if (doff < TCP_HLEN || doff > len) return 'bad-offset';
    if (src !== undefined && dst !== undefined) {
      if (csum_tcpudp_magic(src, dst, len, IPPROTO_TCP, csum_partial(buf, off, len, 0)) !== 0)
        return 'bad-checksum';
    }
    return null;
  }

  check(src?: number, dst?: number): TcpError | null {
    return TcpPacket.check(this.buf, this.off, this.len, src, dst);
  }

  get srcPort(): number {
    return get16(this.buf, this.off);
  }
  set srcPort(v: number) {
    put16(this.buf, this.off, v);
  }

  get dstPort(): number {
    return get16(this.buf, this.off + 2);
  }
  set dstPort(v: number) {
    put16(this.buf, this.off + 2, v);
  }

  get seq(): number {
    return get32(this.buf, this.off + 4);
  }
  set seq(v: number) {
    put32(this.buf, this.off + 4, v);
  }

  get ackSeq(): number {
    return get32(this.buf, this.off + 8);
  }
  set ackSeq(v: number) {
    put32(this.buf, this.off + 8, v);
  }

  /** The data offset field: header length in 32-bit words. */
  get dataOffset(): number {
    return get8(this.buf, this.off + 12) >>> 4;
  }
  set dataOffset(v: number) {
    put8(this.buf, this.off + 12, ((v & 15) << 4) | (get8(this.buf, this.off + 12) & 0x0f));
  }

  get headerLen(): number {
    return this.dataOffset * 4;
  }

  /** The three reserved bits between the data offset and AE (struct tcphdr res1 without AE). */
  get reserved(): number {
    return (get8(this.buf, this.off + 12) >>> 1) & 7;
  }
  set reserved(v: number) {
    const b = get8(this.buf, this.off + 12);
    put8(this.buf, this.off + 12, (b & 0xf1) | ((v & 7) << 1));
  }

  /** All nine flag bits: TCPHDR_FIN … TCPHDR_CWR, TCPHDR_AE. */
  get flags(): number {
    return ((get8(this.buf, this.off + 12) & 1) << 8) | get8(this.buf, this.off + 13);
  }
  set flags(v: number) {
    const b = get8(this.buf, this.off + 12);
    put8(this.buf, this.off + 12, (b & 0xfe) | ((v >>> 8) & 1));
    put8(this.buf, this.off + 13, v & 0xff);
  }

  private flag(bit: number): boolean {
    return (this.flags & bit) !== 0;
  }
  private setFlag(bit: number, on: boolean): void {
    this.flags = on ? this.flags | bit : this.flags & ~bit;
  }

  get fin(): boolean {
    return this.flag(TCPHDR_FIN);
  }
  set fin(v: boolean) {
    this.setFlag(TCPHDR_FIN, v);
  }
  get syn(): boolean {
    return this.flag(TCPHDR_SYN);
  }
  set syn(v: boolean) {
    this.setFlag(TCPHDR_SYN, v);
  }
  get rst(): boolean {
    return this.flag(TCPHDR_RST);
  }
  set rst(v: boolean) {
    this.setFlag(TCPHDR_RST, v);
  }
  get psh(): boolean {
    return this.flag(TCPHDR_PSH);
  }
  set psh(v: boolean) {
    this.setFlag(TCPHDR_PSH, v);
  }
  get ack(): boolean {
    return this.flag(TCPHDR_ACK);
  }
  set ack(v: boolean) {
    this.setFlag(TCPHDR_ACK, v);
  }
  get urg(): boolean {
    return this.flag(TCPHDR_URG);
  }
  set urg(v: boolean) {
    this.setFlag(TCPHDR_URG, v);
  }
  get ece(): boolean {
    return this.flag(TCPHDR_ECE);
  }
  set ece(v: boolean) {
    this.setFlag(TCPHDR_ECE, v);
  }
  get cwr(): boolean {
    return this.flag(TCPHDR_CWR);
  }
  set cwr(v: boolean) {
    this.setFlag(TCPHDR_CWR, v);
  }
  /** AE (RFC 3540's NS bit). */
  get ae(): boolean {
    return this.flag(TCPHDR_AE);
  }
  set ae(v: boolean) {
    this.setFlag(TCPHDR_AE, v);
  }

  get window(): number {
    return get16(this.buf, this.off + 14);
  }
  set window(v: number) {
    put16(this.buf, this.off + 14, v);
  }

  get checksum(): number {
    return get16(this.buf, this.off + 16);
  }
  set checksum(v: number) {
    put16(this.buf, this.off + 16, v);
  }

  get urgentPtr(): number {
    return get16(this.buf, this.off + 18);
  }
  set urgentPtr(v: number) {
    put16(this.buf, this.off + 18, v);
  }

  get optionsOff(): number {
    return this.off + TCP_HLEN;
  }
  /** Option bytes per the data offset, never past the bytes the view has. */
  get optionsLen(): number {
    return Math.max(0, Math.min(this.headerLen, this.len) - TCP_HLEN);
  }
  options(): Uint8Array {
    return this.buf.subarray(this.optionsOff, this.optionsOff + this.optionsLen);
  }
  /** Parse the options (see parseTcpOptions). */
  parseOptions(): TcpOptionsParse {
    return parseTcpOptions(this.buf, this.optionsOff, this.optionsLen);
  }

  get payloadOff(): number {
    return this.off + Math.max(TCP_HLEN, Math.min(this.headerLen, this.len));
  }
  get payloadLen(): number {
    return Math.max(0, this.off + this.len - this.payloadOff);
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.payloadOff, this.off + this.len);
  }

  /** Sequence space the segment occupies: its data, and one each for SYN and FIN. */
  get segLen(): number {
    return this.payloadLen + (this.syn ? 1 : 0) + (this.fin ? 1 : 0);
  }

  /** tcp_v4_checksum_init() with a full check: true when the checksum over all bytes verifies. */
  verifyChecksum(src: number, dst: number): boolean {
    return (
      csum_tcpudp_magic(src, dst, this.len, IPPROTO_TCP, csum_partial(this.buf, this.off, this.len, 0)) === 0
    );
  }

  /** Compute and store the checksum over all `len` bytes (see TcpChecksumMode). */
  fillChecksum(src: number, dst: number, mode: TcpChecksumMode = 'full'): void {
    fill(this.buf, this.off, this.len, src, dst, mode);
  }
}

/**
 * How emit fills the checksum: 'full' computes it in software; 'partial' stores the folded
 * pseudo-header sum for a device that finishes it (__tcp_v4_send_check() with CHECKSUM_PARTIAL,
 * what loopback and veth are given); 'none' leaves 0.
 */
export type TcpChecksumMode = 'full' | 'partial' | 'none';

function fill(
  buf: Uint8Array,
  off: number,
  len: number,
  src: number,
  dst: number,
  mode: TcpChecksumMode,
): void {
  put16(buf, off + 16, 0);
  if (mode === 'none') return;
  if (mode === 'partial') {
    put16(buf, off + 16, ~csum_fold(csum_tcpudp_nofold(src, dst, len, IPPROTO_TCP, 0)) & 0xffff);
    return;
  }
  put16(buf, off + 16, csum_tcpudp_magic(src, dst, len, IPPROTO_TCP, csum_partial(buf, off, len, 0)));
}

// ---- options ----

export interface SackBlock {
  left: number;
  right: number;
}

/** One TCP option. Byte arrays share the packet's bytes after parse; emit copies them. */
export type TcpOption =
  | { kind: 'eol' }
  | { kind: 'nop' }
  /** RFC 9293 §3.7.1. */
  | { kind: 'mss'; mss: number }
  /** RFC 7323 §2. */
  | { kind: 'wscale'; shift: number }
  /** RFC 2018 §2. */
  | { kind: 'sack-permitted' }
  /** RFC 2018 §3: one to four blocks (three with timestamps). */
  | { kind: 'sack'; blocks: SackBlock[] }
  /** RFC 7323 §3. */
  | { kind: 'timestamp'; val: number; ecr: number }
  /** RFC 2385: a 16-byte digest on the wire; any length is carried as written. */
  | { kind: 'md5'; digest: Uint8Array }
  /** RFC 7413 §4.1.1: kind 34, an empty cookie asks for one. */
  | { kind: 'fastopen'; cookie: Uint8Array }
  /** Kind 254 with the magic 0xF989, Fast Open's experimental form (RFC 6994). */
  | { kind: 'fastopen-exp'; cookie: Uint8Array }
  /** Any other kind, or a known kind with a length it cannot have: kept as it came. */
  | { kind: 'unknown'; type: number; data: Uint8Array };

/**
 * What is wrong with the option bytes: 'truncated' when a length byte is missing or an option
 * runs past the end (the walk stops there), 'bad-length' when a length byte is below 2 (the walk
 * stops) or a known kind has a length it cannot have (kept as 'unknown'; the walk goes on).
 */
export interface TcpOptionFault {
  reason: 'truncated' | 'bad-length';
  /** Offset of the offending option from the first option byte. */
  at: number;
  /** The option kind. */
  type: number;
}

export interface TcpOptionsParse {
  options: TcpOption[];
  /** Empty when the options are well formed. */
  faults: TcpOptionFault[];
  /** Bytes consumed up to where the walk ended (all of them unless a fault stopped it). */
  consumed: number;
}

/**
 * Parse `len` option bytes at `off`. EOL ends the list (bytes after it are padding and are not
 * parsed, as tcp_parse_options() stops there); every other option is returned in order.
 */
export function parseTcpOptions(buf: Uint8Array, off: number, len: number): TcpOptionsParse {
  const options: TcpOption[] = [];
  const faults: TcpOptionFault[] = [];
  const end = Math.min(off + len, buf.length);
  let i = off;
  while (i < end) {
    const type = buf[i]!;
    if (type === TCPOPT_EOL) {
      options.push({ kind: 'eol' });
      i++;
      break;
    }
    if (type === TCPOPT_NOP) {
      options.push({ kind: 'nop' });
      i++;
      continue;
    }
    if (i + 1 >= end) {
      faults.push({ reason: 'truncated', at: i - off, type });
      break;
    }
    const olen = buf[i + 1]!;
    if (olen < 2) {
      faults.push({ reason: 'bad-length', at: i - off, type });
      break;
    }
    if (i + olen > end) {
      faults.push({ reason: 'truncated', at: i - off, type });
      break;
    }
    const data = buf.subarray(i + 2, i + olen);
    const opt = decodeOption(type, olen, data, buf, i);
    if (opt) options.push(opt);
    else {
      faults.push({ reason: 'bad-length', at: i - off, type });
      options.push({ kind: 'unknown', type, data });
    }
    i += olen;
  }
  return { options, faults, consumed: i - off };
}

/** A known option from its bytes; null when its length is impossible for its kind. */
function decodeOption(
  type: number,
  olen: number,
  data: Uint8Array,
  buf: Uint8Array,
  i: number,
): TcpOption | null {
  switch (type) {
    case TCPOPT_MSS:
      return olen === TCPOLEN_MSS ? { kind: 'mss', mss: get16(buf, i + 2) } : null;
    case TCPOPT_WINDOW:
      return olen === TCPOLEN_WINDOW ? { kind: 'wscale', shift: buf[i + 2]! } : null;
    case TCPOPT_SACK_PERM:
      return olen === TCPOLEN_SACK_PERM ? { kind: 'sack-permitted' } : null;
    case TCPOPT_SACK: {
      const n = (olen - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_PERBLOCK;
      if (n < 1 || !Number.isInteger(n)) return null;
      const blocks: SackBlock[] = [];
      for (let k = 0; k < n; k++)
        blocks.push({ left: get32(buf, i + 2 + 8 * k), right: get32(buf, i + 6 + 8 * k) });
      return { kind: 'sack', blocks };
    }
    case TCPOPT_TIMESTAMP:
      return olen === TCPOLEN_TIMESTAMP
        ? { kind: 'timestamp', val: get32(buf, i + 2), ecr: get32(buf, i + 6) }
        : null;
    case TCPOPT_MD5SIG:
      return { kind: 'md5', digest: data };
    case TCPOPT_FASTOPEN:
      return { kind: 'fastopen', cookie: data };
    case TCPOPT_EXP:
      // Other users of the experimental kind are not Fast Open: kept as they are, no fault.
      if (olen >= TCPOLEN_EXP_FASTOPEN_BASE && get16(buf, i + 2) === TCPOPT_FASTOPEN_MAGIC)
        return { kind: 'fastopen-exp', cookie: data.subarray(2) };
      return { kind: 'unknown', type, data };
    default:
      return { kind: 'unknown', type, data };
  }
}

/** Bytes one option takes on the wire. */
export function tcpOptionLen(o: TcpOption): number {
  switch (o.kind) {
    case 'eol':
    case 'nop':
      return 1;
    case 'mss':
      return TCPOLEN_MSS;
    case 'wscale':
      return TCPOLEN_WINDOW;
    case 'sack-permitted':
      return TCPOLEN_SACK_PERM;
    case 'sack':
      return TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK * o.blocks.length;
    case 'timestamp':
      return TCPOLEN_TIMESTAMP;
    case 'md5':
      return 2 + o.digest.length;
    case 'fastopen':
      return TCPOLEN_FASTOPEN_BASE + o.cookie.length;
    case 'fastopen-exp':
      return TCPOLEN_EXP_FASTOPEN_BASE + o.cookie.length;
    case 'unknown':
      return 2 + o.data.length;
  }
}

/** Bytes a list of options takes, without padding. */
export function tcpOptionsLen(options: readonly TcpOption[]): number {
  let n = 0;
  for (const o of options) n += tcpOptionLen(o);
  return n;
}

/**
 * Write the options in order at `off` and return the bytes written (no padding is added: the
 * caller lays the list out to a multiple of four, with NOPs in front as Linux does or EOLs at
 * the end). A value too large for its field is truncated to the field.
 */
export function emitTcpOptions(options: readonly TcpOption[], buf: Uint8Array, off: number): number {
  let i = off;
  for (const o of options) {
    const n = tcpOptionLen(o);
    switch (o.kind) {
      case 'eol':
        buf[i] = TCPOPT_EOL;
        break;
      case 'nop':
        buf[i] = TCPOPT_NOP;
        break;
      case 'mss':
        buf[i] = TCPOPT_MSS;
        buf[i + 1] = n;
        put16(buf, i + 2, o.mss);
        break;
      case 'wscale':
        buf[i] = TCPOPT_WINDOW;
        buf[i + 1] = n;
        buf[i + 2] = o.shift;
        break;
      case 'sack-permitted':
        buf[i] = TCPOPT_SACK_PERM;
        buf[i + 1] = n;
        break;
      case 'sack':
        buf[i] = TCPOPT_SACK;
        buf[i + 1] = n;
        o.blocks.forEach((b, k) => {
          put32(buf, i + 2 + 8 * k, b.left);
          put32(buf, i + 6 + 8 * k, b.right);
        });
        break;
      case 'timestamp':
        buf[i] = TCPOPT_TIMESTAMP;
        buf[i + 1] = n;
        put32(buf, i + 2, o.val);
        put32(buf, i + 6, o.ecr);
        break;
      case 'md5':
        buf[i] = TCPOPT_MD5SIG;
        buf[i + 1] = n;
        buf.set(o.digest, i + 2);
        break;
      case 'fastopen':
        buf[i] = TCPOPT_FASTOPEN;
        buf[i + 1] = n;
        buf.set(o.cookie, i + 2);
        break;
      case 'fastopen-exp':
        buf[i] = TCPOPT_EXP;
        buf[i + 1] = n;
        put16(buf, i + 2, TCPOPT_FASTOPEN_MAGIC);
        buf.set(o.cookie, i + 4);
        break;
      case 'unknown':
        buf[i] = o.type;
        buf[i + 1] = n;
        buf.set(o.data, i + 2);
        break;
    }
    i += n;
  }
  return i - off;
}

/** The fields of a TCP header; the data travels in the packet, after the header. */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ackSeq: number;
  /** TCPHDR_* bits, AE included. */
  flags: number;
  window: number;
  urgentPtr: number;
  /** The options in wire order; their length must be a multiple of 4 (pad with NOP or EOL). */
  options: TcpOption[];
  /** Reserved bits as received (normally 0). */
  reserved: number;
  /** Bytes of data after the header. */
  payloadLen: number;
}

export interface TcpReprParse {
  repr: TcpRepr;
  /** Malformed options found (the repr holds what could be read). */
  faults: TcpOptionFault[];
}

export const TcpRepr = {
  /** Check (the checksum too when src and dst are given) and decode the header and options. */
  parse(p: TcpPacket, src?: number, dst?: number): TcpReprParse | TcpError {
    const err = p.check(src, dst);
    if (err) return err;
    const opts = p.parseOptions();
    return {
      repr: {
        srcPort: p.srcPort,
        dstPort: p.dstPort,
        seq: p.seq,
        ackSeq: p.ackSeq,
        flags: p.flags,
        window: p.window,
        urgentPtr: p.urgentPtr,
        options: opts.options,
        reserved: p.reserved,
        payloadLen: p.payloadLen,
      },
      faults: opts.faults,
    };
  },

  /** The header length: 20 plus the options, rounded up to a whole word. */
  headerLen(repr: TcpRepr): number {
    return TCP_HLEN + ((tcpOptionsLen(repr.options) + 3) & ~3);
  },

  bufferLen(repr: TcpRepr): number {
    return TcpRepr.headerLen(repr) + repr.payloadLen;
  },

  /**
   * Write the header at `off` in front of the payloadLen data bytes already after it, options
   * padded with zero bytes (EOL) to a word, then the checksum per `mode` over the IPv4
   * pseudo-header of `src` → `dst`. Returns the header length; -1 when the options exceed
   * 40 bytes (nothing is written).
   */
  emit(
    repr: TcpRepr,
    buf: Uint8Array,
    off: number,
    src: number,
    dst: number,
    mode: TcpChecksumMode = 'full',
  ): number {
    const hlen = TcpRepr.headerLen(repr);
    if (hlen > TCP_MAX_HLEN) return -1;
    put16(buf, off, repr.srcPort);
    put16(buf, off + 2, repr.dstPort);
    put32(buf, off + 4, repr.seq);
    put32(buf, off + 8, repr.ackSeq);
    buf[off + 12] = ((hlen / 4) << 4) | ((repr.reserved & 7) << 1) | ((repr.flags >>> 8) & 1);
    buf[off + 13] = repr.flags & 0xff;
    put16(buf, off + 14, repr.window);
    put16(buf, off + 18, repr.urgentPtr);
    const n = emitTcpOptions(repr.options, buf, off + TCP_HLEN);
    buf.fill(0, off + TCP_HLEN + n, off + hlen);
    fill(buf, off, hlen + repr.payloadLen, src, dst, mode);
    return hlen;
  },
};
