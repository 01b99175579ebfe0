/**
 * TCP packet lines: building the segments a script injects and checking the ones the host
 * sends, with packetdrill's rules (run_packet.c, socket.h, tcp_packet.c, packet.c).
 *
 * Sequence spaces. A script writes sequence numbers relative to the initial sequence numbers:
 * the remote side's ISN is whatever the script's SYN carries (packetdrill is the remote), the
 * local side's is learnt from the first SYN or SYN-ACK the host sends. So, for a segment
 * without SYN, an inbound seq is offset by the remote ISN and an inbound ack (and SACK blocks)
 * by the live local ISN; a SYN's own seq is taken as written and its ack is offset by the
 * difference between the live and the script local ISN. Outbound segments are mapped back the
 * other way before they are compared. TCP timestamps: an inbound TS ecr names a TS val the
 * script expected the host to send, and is replaced by the value the host really sent.
 */

import type { IpInfo, TcpOption as SpecOption, TcpPacket as TcpSpec } from './ast.js';
import { get16, get32, put16, put32 } from '../../wire/bytes.js';
import { csum_partial, csum_tcpudp_magic, ip_fast_csum } from '../../wire/checksum.js';
import {
  TCPHDR_ACK,
  TCPHDR_AE,
  TCPHDR_CWR,
  TCPHDR_ECE,
  TCPHDR_FIN,
  TCPHDR_PSH,
  TCPHDR_RST,
  TCPHDR_SYN,
  TCPHDR_URG,
  TCPOPT_EOL,
  TCPOPT_EXP,
  TCPOPT_FASTOPEN,
  TCPOPT_MD5SIG,
  TCPOPT_MSS,
  TCPOPT_NOP,
  TCPOPT_SACK,
  TCPOPT_SACK_PERM,
  TCPOPT_TIMESTAMP,
  TCPOPT_WINDOW,
  emitTcpOptions,
  tcpOptionsLen,
  type TcpOption as WireOption,
} from '../../wire/tcp.js';

/** AccECN option kinds (TCPOPT_ACCECN0, TCPOPT_ACCECN1). */
const TCPOPT_ACCECN0 = 172;
const TCPOPT_ACCECN1 = 174;
const IPPROTO_TCP = 6;

/** A failure at a packet line; the runtime adds the file and line. */
export class PacketError extends Error {}

/** packetdrill's socket states (socket.h enum socket_state_t). */
export type SocketState =
  | 'new'
  | 'listening'
  | 'connecting'
  | 'syn-sent'
  | 'syn-acked'
  | 'packet-received'
  | 'synack-sent'
  | 'synack-acked';

export interface Endpoint {
  ip: number;
  port: number;
}

/**
 * What packetdrill knows about one socket (struct socket): its state, its live addresses, the
 * ISNs on both sides and the TS val map.
 */
export class PdSocket {
  state: SocketState = 'new';
  /** The live fd once the script has one for it (accept); -1 before. */
  fd = -1;
  /** Script and live local ISN; the remote ISN is the same in both spaces. */
  scriptLocalIsn = 0;
  liveLocalIsn = 0;
  remoteIsn = 0;
  readonly local: Endpoint = { ip: 0, port: 0 };
  readonly remote: Endpoint = { ip: 0, port: 0 };
  /** Script TS val → the TS val the host really sent in its place. */
  readonly tsValMap = new Map<number, number>();
  firstTs: { script: number; actual: number } | null = null;
  /** Last segments each way, for error reports. */
  lastInbound: Uint8Array | null = null;

  constructor(readonly protocol: number) {}

  /** remote_seq_script_to_live_offset(). */
  remoteOffset(syn: boolean): number {
    return syn ? 0 : this.remoteIsn;
  }
  /** local_seq_script_to_live_offset(). */
  localOffset(syn: boolean): number {
    return syn ? (this.liveLocalIsn - this.scriptLocalIsn) >>> 0 : this.liveLocalIsn;
  }
}

export interface TcpConfig {
  localIp: number;
  remoteIp: number;
  /** --mss: inbound segments with more data go in as MSS-sized pieces (packetdrill's GSO). */
  mss: number;
  /** --tcp_ts_ecr_scaled. */
  tsEcrScaled: boolean;
  /** --tcp_ts_tick_usecs: 0 (the default) leaves outbound TS vals unchecked. */
  tsTickUsecs: number;
  /** --strict_segments: one kernel segment per outbound line. */
  strictSegments: boolean;
}

// ---- flags and options of a script line ----

/** The header bits a flags string asks for, and whether it used the AccECN digit form. */
export function specFlags(flags: string): { bits: number; ace: boolean } {
  let bits = 0;
  let ace = false;
  for (const c of flags) {
    if (c === 'F') bits |= TCPHDR_FIN;
    else if (c === 'S') bits |= TCPHDR_SYN;
    else if (c === 'R') bits |= TCPHDR_RST;
    else if (c === 'P') bits |= TCPHDR_PSH;
    else if (c === '.') bits |= TCPHDR_ACK;
    else if (c === 'U') bits |= TCPHDR_URG;
    else if (c === 'E') bits |= TCPHDR_ECE;
    else if (c === 'W') bits |= TCPHDR_CWR;
    else if (c === 'A') bits |= TCPHDR_AE;
    else if (c >= '0' && c <= '7') {
      const n = c.charCodeAt(0) - 48;
      ace = true;
      if (n & 1) bits |= TCPHDR_ECE;
      if (n & 2) bits |= TCPHDR_CWR;
      if (n & 4) bits |= TCPHDR_AE;
    }
  }
  return { bits, ace };
}

function put24(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 16;
  b[o + 1] = v >>> 8;
  b[o + 2] = v;
}

/** The option bytes a script writes (in its order, no padding added). */
export function specOptionBytes(options: readonly SpecOption[]): Uint8Array {
  const wire: WireOption[] = [];
  const parts: Uint8Array[] = [];
  const flushWire = (): void => {
    if (!wire.length) return;
    const b = new Uint8Array(tcpOptionsLen(wire));
    emitTcpOptions(wire, b, 0);
    parts.push(b);
    wire.length = 0;
  };
  for (const o of options) {
    switch (o.kind) {
      case 'nop':
      case 'eol':
        wire.push({ kind: o.kind });
        break;
      case 'mss':
        wire.push({ kind: 'mss', mss: o.value });
        break;
      case 'wscale':
        wire.push({ kind: 'wscale', shift: o.shift });
        break;
      case 'sackOK':
        wire.push({ kind: 'sack-permitted' });
        break;
      case 'sack':
        wire.push({
          kind: 'sack',
          blocks: o.blocks.map((b) => ({ left: b.left >>> 0, right: b.right >>> 0 })),
        });
        break;
      case 'timestamp':
        wire.push({ kind: 'timestamp', val: o.val >>> 0, ecr: o.ecr >>> 0 });
        break;
      case 'md5':
        wire.push({ kind: 'md5', digest: o.digest });
        break;
      case 'fastopen':
        wire.push({ kind: 'fastopen', cookie: o.cookie });
        break;
      case 'fastopen-exp':
        wire.push({ kind: 'fastopen-exp', cookie: o.cookie });
        break;
      case 'accecn': {
        flushWire();
        const order = o.order === 'e0b' ? [o.e0b, o.ceb, o.e1b] : [o.e1b, o.ceb, o.e0b];
        const fields = order.filter((v): v is number => v !== null);
        const b = new Uint8Array(2 + 3 * fields.length);
        b[0] = o.order === 'e0b' ? TCPOPT_ACCECN0 : TCPOPT_ACCECN1;
        b[1] = b.length;
        fields.forEach((v, k) => put24(b, 2 + 3 * k, v));
        parts.push(b);
        break;
      }
    }
  }
  flushWire();
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---- walking options as packetdrill's iterator does ----

export interface RawOption {
  kind: number;
  /** Offset of the option in the options area. */
  at: number;
  length: number;
}

/**
 * tcp_options_begin()/tcp_options_next(): every option over the whole area (EOL counts as a
 * one-byte option and the walk goes on), with packetdrill's checks of the length bytes.
 */
export function walkOptions(opts: Uint8Array): { list: RawOption[]; error: string | null } {
  const list: RawOption[] = [];
  let i = 0;
  while (i < opts.length) {
    const kind = opts[i]!;
    let expected: number;
    switch (kind) {
      case TCPOPT_EOL:
      case TCPOPT_NOP:
        expected = 1;
        break;
      case TCPOPT_MSS:
        expected = 4;
        break;
      case TCPOPT_WINDOW:
        expected = 3;
        break;
      case TCPOPT_SACK_PERM:
        expected = 2;
        break;
      case TCPOPT_TIMESTAMP:
        expected = 10;
        break;
      case TCPOPT_SACK:
      case TCPOPT_MD5SIG:
      case TCPOPT_FASTOPEN:
      case TCPOPT_ACCECN0:
      case TCPOPT_ACCECN1:
      case TCPOPT_EXP:
        expected = 0;
        break;
      default:
        return { list, error: `unexpected TCP option kind: ${kind}` };
    }
    let length = 1;
    if (expected !== 1) {
      if (i + 1 >= opts.length) return { list, error: 'TCP option length byte extends too far' };
      length = opts[i + 1]!;
      if (length < 2) return { list, error: 'TCP option with length byte is too short' };
      if (i + length > opts.length) return { list, error: 'TCP option data extends too far' };
      if (expected && length !== expected)
        return { list, error: `bad TCP option length: was ${length} but expected ${expected}` };
    }
    list.push({ kind, at: i, length });
    i += length;
  }
  return { list, error: null };
}

/** Offset of the TS option's val field in an options area, or -1. */
function findTimestamp(opts: Uint8Array): number {
  const w = walkOptions(opts);
  if (w.error) throw new PacketError(w.error);
  let at = -1;
  for (const o of w.list) if (o.kind === TCPOPT_TIMESTAMP) at = o.at + 2;
  return at;
}

/** offset_sack_blocks(): add `delta` to every SACK block edge. */
function offsetSackBlocks(opts: Uint8Array, delta: number): void {
  const w = walkOptions(opts);
  if (w.error) throw new PacketError(w.error);
  for (const o of w.list) {
    if (o.kind !== TCPOPT_SACK) continue;
    if (o.length < 10 || (o.length - 2) % 8 !== 0)
      throw new PacketError(`bad SACK option length: ${o.length}`);
    for (let p = o.at + 2; p < o.at + o.length; p += 4) put32(opts, p, (get32(opts, p) + delta) >>> 0);
  }
}

// ---- a segment as bytes ----

/** The parts of an IPv4/TCP packet that the rules look at. */
export interface Segment {
  /** The IPv4 packet. */
  ip: Uint8Array;
  /** Offset of the TCP header in `ip`. */
  tcp: number;
}

export function segmentOf(ip: Uint8Array): Segment {
  return { ip, tcp: (ip[0]! & 15) * 4 };
}

const seg = {
  flags: (s: Segment): number => ((s.ip[s.tcp + 12]! & 1) << 8) | s.ip[s.tcp + 13]!,
  hlen: (s: Segment): number => (s.ip[s.tcp + 12]! >>> 4) * 4,
  seq: (s: Segment): number => get32(s.ip, s.tcp + 4),
  ack: (s: Segment): number => get32(s.ip, s.tcp + 8),
  win: (s: Segment): number => get16(s.ip, s.tcp + 14),
  urg: (s: Segment): number => get16(s.ip, s.tcp + 18),
  res: (s: Segment): number => (s.ip[s.tcp + 12]! >>> 1) & 7,
  options: (s: Segment): Uint8Array => s.ip.subarray(s.tcp + 20, s.tcp + seg.hlen(s)),
  payloadLen: (s: Segment): number => Math.min(get16(s.ip, 2), s.ip.length) - s.tcp - seg.hlen(s),
  payload: (s: Segment): Uint8Array =>
    s.ip.subarray(s.tcp + seg.hlen(s), Math.min(get16(s.ip, 2), s.ip.length)),
  srcPort: (s: Segment): number => get16(s.ip, s.tcp),
  dstPort: (s: Segment): number => get16(s.ip, s.tcp + 2),
};
export { seg as segmentFields };

/** The TOS byte a script line asks for on an inbound packet. */
function tosByte(ip: IpInfo | null): number {
  const t = ip?.tos;
  if (!t) return 0;
  if (t.kind === 'tos') return t.value;
  if (t.kind === 'ecn') return { noecn: 0, ect1: 1, ect0: 2, ce: 3 }[t.ecn];
  return 0;
}

/** Assemble an IPv4/TCP packet (checksums filled as checksum_packet() does). */
export function tcpPacket(
  src: Endpoint,
  dst: Endpoint,
  f: {
    seq: number;
    ack: number;
    flags: number;
    window: number;
    urg: number;
    options: Uint8Array;
    payload: Uint8Array;
    tos: number;
    ttl: number;
  },
): Uint8Array {
  const thl = 20 + f.options.length;
  const b = new Uint8Array(20 + thl + f.payload.length);
  b[0] = 0x45;
  b[1] = f.tos;
  put16(b, 2, b.length);
  b[8] = f.ttl;
  b[9] = IPPROTO_TCP;
  put32(b, 12, src.ip);
  put32(b, 16, dst.ip);
  put16(b, 10, ip_fast_csum(b, 0, 5));
  const t = 20;
  put16(b, t, src.port);
  put16(b, t + 2, dst.port);
  put32(b, t + 4, f.seq >>> 0);
  put32(b, t + 8, f.ack >>> 0);
  b[t + 12] = ((thl / 4) << 4) | ((f.flags >>> 8) & 1);
  b[t + 13] = f.flags & 0xff;
  put16(b, t + 14, f.window);
  put16(b, t + 18, f.urg);
  b.set(f.options, t + 20);
  b.set(f.payload, t + thl);
  const len = thl + f.payload.length;
  put16(b, t + 16, csum_tcpudp_magic(src.ip, dst.ip, len, IPPROTO_TCP, csum_partial(b, t, len, 0)));
  return b;
}

function refill(b: Uint8Array): void {
  const t = (b[0]! & 15) * 4;
  put16(b, 10, 0);
  put16(b, 10, ip_fast_csum(b, 0, t / 4));
  put16(b, t + 16, 0);
  const len = b.length - t;
  put16(
    b,
    t + 16,
    csum_tcpudp_magic(get32(b, 12), get32(b, 16), len, IPPROTO_TCP, csum_partial(b, t, len, 0)),
  );
}

// ---- inbound ----

/** The options of a script line as bytes, checked to fill whole words (new_tcp_packet()). */
function lineOptions(spec: TcpSpec): Uint8Array {
  const opts = spec.options ? specOptionBytes(spec.options) : new Uint8Array(0);
  if (opts.length & 3)
    throw new PacketError(
      `TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: ${opts.length & 3} excess bytes`,
    );
  if (opts.length > 40) throw new PacketError('TCP header too large');
  return opts;
}

/**
 * do_inbound_script_packet(): the state changes an inbound line makes, then the packet it
 * injects — mapped to live sequence numbers, ports and TS ecr — split into MSS-sized segments
 * when --mss asks for packetdrill's GSO writes. Returns IPv4 packets.
 */
export function buildInbound(spec: TcpSpec, sock: PdSocket, cfg: TcpConfig): Uint8Array[] {
  const { bits } = specFlags(spec.flags);
  const syn = (bits & TCPHDR_SYN) !== 0;
  const ackFlag = (bits & TCPHDR_ACK) !== 0;
  if (spec.window === null) throw new PacketError('window must be specified for inbound packets');
  const options = lineOptions(spec);
  if (sock.state === 'synack-sent' && ackFlag) sock.state = 'synack-acked';
  else if (sock.state === 'syn-sent' && syn && ackFlag) {
    sock.state = 'syn-acked';
    sock.remoteIsn = spec.seq.start >>> 0;
  }
  // map_inbound_packet().
  const src: Endpoint = { ip: sock.remote.ip, port: spec.ports?.src || sock.remote.port };
  const dst: Endpoint = { ip: sock.local.ip, port: spec.ports?.dst || sock.local.port };
  const seq = (spec.seq.start + sock.remoteOffset(syn)) >>> 0;
  const ackOffset = sock.localOffset(syn);
  const ack = ackFlag ? ((spec.ack ?? 0) + ackOffset) >>> 0 : (spec.ack ?? 0) >>> 0;
  offsetSackBlocks(options, ackOffset);
  const ts = findTimestamp(options);
  if (ackFlag && ts >= 0) {
    const ecr = get32(options, ts + 4);
    const exact = sock.tsValMap.get(ecr);
    if (exact !== undefined) put32(options, ts + 4, exact);
    else if (cfg.tsEcrScaled && sock.firstTs)
      put32(options, ts + 4, (ecr - sock.firstTs.script + sock.firstTs.actual) >>> 0);
    else
      throw new PacketError(
        `unable to infer live TS ecr for script TS ecr ${ecr};  no matching or preceding outbound TS val`,
      );
  }
  const len = spec.seq.length;
  const f = {
    seq,
    ack,
    flags: bits,
    window: spec.window,
    urg: spec.urg ?? 0,
    options,
    payload: new Uint8Array(len),
    tos: tosByte(spec.ip),
    ttl: spec.ip?.ttl ?? 255,
  };
  const whole = tcpPacket(src, dst, f);
  sock.lastInbound = whole;
  if (!cfg.mss || len <= cfg.mss) return [whole];
  // tcp_gso_segment(): every piece carries the header; FIN and PSH only on the last, CWR only
  // on the first.
  const out: Uint8Array[] = [];
  for (let off = 0; off < len; off += cfg.mss) {
    const n = Math.min(cfg.mss, len - off);
    const last = off + n >= len;
    let fl = f.flags;
    if (!last) fl &= ~(TCPHDR_FIN | TCPHDR_PSH);
    if (off > 0) fl &= ~TCPHDR_CWR;
    out.push(tcpPacket(src, dst, { ...f, seq: (seq + off) >>> 0, flags: fl, payload: new Uint8Array(n) }));
  }
  return out;
}

// ---- outbound ----

/** find_socket_for_live_packet() (outbound) and find_connect_for_live_packet(): is it ours? */
export function claimOutbound(sock: PdSocket, s: Segment): boolean {
  if (s.ip[9] !== IPPROTO_TCP || s.ip.length < s.tcp + 20) return false;
  const srcIp = get32(s.ip, 12);
  const dstIp = get32(s.ip, 16);
  const sp = seg.srcPort(s);
  const dp = seg.dstPort(s);
  if (
    sock.local.port !== 0 &&
    srcIp === sock.local.ip &&
    sp === sock.local.port &&
    dstIp === sock.remote.ip &&
    dp === sock.remote.port
  )
    return true;
  const f = seg.flags(s);
  if (
    sock.protocol === IPPROTO_TCP &&
    sock.state === 'syn-sent' &&
    f & TCPHDR_SYN &&
    !(f & TCPHDR_ACK) &&
    dstIp === sock.remote.ip &&
    dp === sock.remote.port
  ) {
    sock.local.ip = srcIp;
    sock.local.port = sp;
    sock.liveLocalIsn = seg.seq(s);
    return true;
  }
  return false;
}

/**
 * The start of do_outbound_script_packet() for one sniffed segment: learn the live ISN from the
 * SYN-ACK a passive socket sends, then map seq, ack and SACK blocks to script space
 * (tcp_convert_seq_number()). Works on a copy.
 */
export function toScriptSpace(spec: TcpSpec, sock: PdSocket, live: Segment): Segment {
  const { bits } = specFlags(spec.flags);
  if (sock.state === 'packet-received' && bits & TCPHDR_SYN && bits & TCPHDR_ACK) {
    sock.state = 'synack-sent';
    sock.liveLocalIsn = seg.seq(live);
  }
  const s = segmentOf(live.ip.slice());
  const f = seg.flags(s);
  const syn = (f & TCPHDR_SYN) !== 0;
  put32(s.ip, s.tcp + 4, (seg.seq(s) - sock.localOffset(syn)) >>> 0);
  const back = (0 - sock.remoteOffset(syn)) >>> 0;
  if (f & TCPHDR_ACK) put32(s.ip, s.tcp + 8, (seg.ack(s) + back) >>> 0);
  offsetSackBlocks(seg.options(s), back);
  return s;
}

function check(name: string, expected: number, actual: number): string | null {
  return actual === expected
    ? null
    : `live packet field ${name}: expected: ${expected} (0x${expected.toString(16)}) vs actual: ${actual} (0x${actual.toString(16)})`;
}

/**
 * verify_outbound_live_headers() for TCP over IPv4 between a script line and a segment (strict),
 * or between two consecutive live segments that may be aggregated (not strict: `prev` plays the
 * script and the new one must continue its sequence space).
 */
function verifyHeaders(
  actual: Segment,
  script: {
    flags: number;
    ace: boolean;
    seq: number;
    ack: number;
    window: number | null;
    urg: number;
    optionsLen: number | null;
    payloadLen: number;
    tos: IpInfo['tos'] | 'none';
    ttl: number | null;
  },
  strict: boolean,
): string | null {
  const a = actual.ip;
  if (a[0]! >>> 4 !== 4) return check('ipv4_version', 4, a[0]! >>> 4);
  if (a[9] !== IPPROTO_TCP) return check('ipv4_protocol', IPPROTO_TCP, a[9]!);
  if ((a[0]! & 15) !== 5) return check('ipv4_header_length', 5, a[0]! & 15);
  const actualOpts = seg.hlen(actual) - 20;
  const allowance = script.optionsLen === null ? actualOpts : 0;
  const scriptOpts = script.optionsLen ?? 0;
  let e: string | null = null;
  if (strict) e = check('ipv4_total_length', 40 + scriptOpts + script.payloadLen + allowance, get16(a, 2));
  if (e) return e;
  const tos = script.tos;
  if (tos !== 'none' && tos) {
    if (tos.kind === 'ect01') {
      const ecn = a[1]! & 3;
      if (ecn !== 1 && ecn !== 2)
        return `live packet field ip_ecn: expected: 0x1 or 0x2 vs actual: 0x${ecn.toString(16)}`;
    } else if (tos.kind === 'ecn') {
      e = check('ip_ecn', { noecn: 0, ect1: 1, ect0: 2, ce: 3 }[tos.ecn], a[1]! & 3);
    } else e = check('tos', tos.value, a[1]!);
    if (e) return e;
  }
  if (script.ttl !== null && script.ttl !== 255) {
    e = check('ttl', script.ttl, a[8]!);
    if (e) return e;
  }
  const af = seg.flags(actual);
  const sf = script.flags;
  const bit = (f: number, b: number): number => (f & b ? 1 : 0);
  const ace = (f: number): number =>
    (bit(f, TCPHDR_AE) << 2) | (bit(f, TCPHDR_CWR) << 1) | bit(f, TCPHDR_ECE);
  const checks: [boolean, string, number, number][] = [
    [true, 'tcp_data_offset', 5 + scriptOpts / 4 + allowance / 4, seg.hlen(actual) / 4],
    [strict, 'tcp_fin', bit(sf, TCPHDR_FIN), bit(af, TCPHDR_FIN)],
    [true, 'tcp_syn', bit(sf, TCPHDR_SYN), bit(af, TCPHDR_SYN)],
    [true, 'tcp_rst', bit(sf, TCPHDR_RST), bit(af, TCPHDR_RST)],
    [strict, 'tcp_psh', bit(sf, TCPHDR_PSH), bit(af, TCPHDR_PSH)],
    [true, 'tcp_ack', bit(sf, TCPHDR_ACK), bit(af, TCPHDR_ACK)],
    [true, 'tcp_urg', bit(sf, TCPHDR_URG), bit(af, TCPHDR_URG)],
    [script.ace, 'tcp_ace', ace(sf), ace(af)],
    [!script.ace, 'tcp_ece', bit(sf, TCPHDR_ECE), bit(af, TCPHDR_ECE)],
    [!script.ace && strict, 'tcp_cwr', bit(sf, TCPHDR_CWR), bit(af, TCPHDR_CWR)],
    [!script.ace, 'tcp_ae', bit(sf, TCPHDR_AE), bit(af, TCPHDR_AE)],
    [true, 'tcp_reserved_bits', 0, seg.res(actual)],
    [true, 'tcp_seq', strict ? script.seq : (script.seq + script.payloadLen) >>> 0, seg.seq(actual)],
    [true, 'tcp_ack_seq', script.ack >>> 0, seg.ack(actual)],
    [script.window !== null, 'tcp_window', script.window ?? 0, seg.win(actual)],
    [true, 'tcp_urg_ptr', script.urg, seg.urg(actual)],
  ];
  for (const [on, name, exp, act] of checks) {
    if (!on) continue;
    e = check(name, exp, act);
    if (e) return e;
  }
  return null;
}

/** The fields of a live segment, to compare it as the "script" side of aggregation checks. */
function liveAsScript(s: Segment): Parameters<typeof verifyHeaders>[1] {
  return {
    flags: seg.flags(s),
    ace: false,
    seq: seg.seq(s),
    ack: seg.ack(s),
    window: seg.win(s),
    urg: seg.urg(s),
    optionsLen: seg.hlen(s) - 20,
    payloadLen: seg.payloadLen(s),
    tos: 'none',
    ttl: s.ip[8]!,
  };
}

/**
 * verify_packet_fragments(): may `cur` follow `prev` in one aggregate for a line of
 * `expected` bytes of which `sniffed` are already in hand?
 */
export function verifyFragment(
  cur: Segment,
  prev: Segment,
  sniffed: number,
  expected: number,
): string | null {
  const e = verifyHeaders(cur, liveAsScript(prev), false);
  if (e) return e;
  const n = seg.payloadLen(cur);
  if (n < expected - sniffed && n !== seg.payloadLen(prev))
    return `fragment payload: expected ${seg.payloadLen(prev)} bytes vs actual ${n} bytes; total payload: expected ${expected} bytes vs actual ${n + sniffed} bytes`;
  return null;
}

/**
 * aggregate_packets(): one segment with the headers of the last piece, the seq and CWR of the
 * first, and all the data.
 */
export function aggregate(parts: Segment[]): Segment {
  const first = parts[0]!;
  const last = parts.at(-1)!;
  const hdr = last.tcp + seg.hlen(last);
  const total = parts.reduce((n, p) => n + seg.payloadLen(p), 0);
  const b = new Uint8Array(hdr + total);
  b.set(last.ip.subarray(0, hdr), 0);
  let at = hdr;
  for (const p of parts) {
    b.set(seg.payload(p), at);
    at += seg.payloadLen(p);
  }
  put16(b, 2, b.length);
  put32(b, last.tcp + 4, seg.seq(first));
  b[last.tcp + 13] = (b[last.tcp + 13]! & ~TCPHDR_CWR) | (first.ip[first.tcp + 13]! & TCPHDR_CWR);
  refill(b);
  return segmentOf(b);
}

/**
 * verify_outbound_live_packet() after mapping to script space: the TS val map, the headers,
 * the options in layout and value, the data (which packetdrill's scripts write as zeros).
 * `atUsecs` is the event time since the script start (for the TS val tolerance). Returns the
 * first mismatch, or null.
 */
export function verifyOutbound(
  spec: TcpSpec,
  sock: PdSocket,
  actual: Segment,
  cfg: TcpConfig & { toleranceUsecs: number; tolerancePercent: number },
  atUsecs: number,
): string | null {
  const { bits, ace } = specFlags(spec.flags);
  const scriptOpts = spec.options === null ? null : lineOptions(spec);
  // map_outbound_live_packet(): remember which TS val the host sent for the script's, and
  // rewrite the actual one into script space.
  const actualOpts = seg.options(actual);
  if (scriptOpts) {
    const sTs = findTimestamp(scriptOpts);
    const aTs = findTimestamp(actualOpts);
    if (sTs >= 0 && aTs >= 0) {
      const scriptVal = get32(scriptOpts, sTs);
      const actualVal = get32(actualOpts, aTs);
      sock.tsValMap.set(scriptVal, actualVal);
      sock.firstTs ??= { script: scriptVal, actual: actualVal };
      put32(actualOpts, aTs, (sock.firstTs.script + (actualVal - sock.firstTs.actual)) >>> 0);
    }
  }
  const e = verifyHeaders(
    actual,
    {
      flags: bits,
      ace,
      seq: spec.seq.start >>> 0,
      ack: (spec.ack ?? 0) >>> 0,
      window: spec.window,
      urg: spec.urg ?? 0,
      optionsLen: scriptOpts ? scriptOpts.length : null,
      payloadLen: spec.seq.length,
      tos: spec.ip?.tos ?? 'none',
      ttl: spec.ip?.ttl ?? null,
    },
    true,
  );
  if (e) return e;
  if (scriptOpts) {
    const oe = verifyOptions(scriptOpts, actualOpts, cfg, atUsecs);
    if (oe) return oe;
  }
  const payload = seg.payload(actual);
  if (payload.some((b) => b !== 0)) return 'incorrect outbound data payload';
  return null;
}

function verifyOptions(
  script: Uint8Array,
  actual: Uint8Array,
  cfg: { tsTickUsecs: number; toleranceUsecs: number; tolerancePercent: number },
  atUsecs: number,
): string | null {
  const s = walkOptions(script);
  const a = walkOptions(actual);
  if (s.error) return s.error;
  const n = Math.max(s.list.length, a.list.length);
  for (let k = 0; k < n; k++) {
    const so = s.list[k];
    const ao = a.list[k];
    if (!so || !ao || so.kind !== ao.kind) return a.error ?? 'bad outbound TCP options';
    if (ao.kind === TCPOPT_EOL || ao.kind === TCPOPT_NOP) continue;
    if (ao.kind === TCPOPT_TIMESTAMP) {
      if (!cfg.tsTickUsecs) continue;
      const tol = Math.max(cfg.toleranceUsecs, (cfg.tolerancePercent / 100) * atUsecs);
      const d = (get32(actual, ao.at + 2) - get32(script, so.at + 2)) | 0;
      if (Math.abs(d) * cfg.tsTickUsecs > tol)
        return `bad outbound TCP timestamp value, tolerance ${Math.trunc(tol)}`;
      continue;
    }
    let err: string | null = null;
    if (so.length !== ao.length) err = 'bad length';
    if (so.length > 2) {
      const x = script.subarray(so.at + 2, so.at + so.length);
      const y = actual.subarray(ao.at + 2, ao.at + ao.length);
      if (x.length !== y.length || x.some((v, i) => v !== y[i])) err = 'bad value';
    }
    if (err)
      return `${err} in outbound TCP option (kind=${so.kind}): expected: ${optionText(script, so)} actual: ${optionText(actual, ao)}`;
  }
  return a.error;
}

function optionText(b: Uint8Array, o: RawOption): string {
  switch (o.kind) {
    case TCPOPT_EOL:
      return 'eol';
    case TCPOPT_NOP:
      return 'nop';
    case TCPOPT_MSS:
      return `mss ${get16(b, o.at + 2)}`;
    case TCPOPT_WINDOW:
      return `wscale ${b[o.at + 2]}`;
    case TCPOPT_SACK_PERM:
      return 'sackOK';
    case TCPOPT_TIMESTAMP:
      return `TS val ${get32(b, o.at + 2)} ecr ${get32(b, o.at + 6)}`;
    case TCPOPT_SACK: {
      const blocks: string[] = [];
      for (let p = o.at + 2; p + 8 <= o.at + o.length; p += 8)
        blocks.push(`${get32(b, p)}:${get32(b, p + 4)}`);
      return `sack ${blocks.join(' ')}`;
    }
    default: {
      const hex = [...b.subarray(o.at + 2, o.at + o.length)]
        .map((x) => x.toString(16).padStart(2, '0'))
        .join('');
      const name =
        o.kind === TCPOPT_FASTOPEN
          ? 'FO'
          : o.kind === TCPOPT_MD5SIG
            ? 'md5'
            : o.kind === TCPOPT_EXP
              ? 'FOEXP'
              : `kind ${o.kind}`;
      return `${name} ${hex}`;
    }
  }
}

/** A packetdrill-style one-line dump of a TCP segment ("S. 0:0(0) ack 1 win 65535 <mss 1460>"). */
export function describeTcp(s: Segment, withPorts = true): string {
  const f = seg.flags(s);
  let flags = '';
  if (f & TCPHDR_FIN) flags += 'F';
  if (f & TCPHDR_SYN) flags += 'S';
  if (f & TCPHDR_RST) flags += 'R';
  if (f & TCPHDR_PSH) flags += 'P';
  if (f & TCPHDR_ACK) flags += '.';
  if (f & TCPHDR_URG) flags += 'U';
  if (f & TCPHDR_ECE) flags += 'E';
  if (f & TCPHDR_CWR) flags += 'W';
  if (f & TCPHDR_AE) flags += 'A';
  const seq = seg.seq(s);
  const len = seg.payloadLen(s);
  let out = `${withPorts ? `${seg.srcPort(s)}>${seg.dstPort(s)} ` : ''}${flags || '-'} ${seq}:${(seq + len) >>> 0}(${len})`;
  if (f & TCPHDR_ACK) out += ` ack ${seg.ack(s)}`;
  out += ` win ${seg.win(s)}`;
  if (f & TCPHDR_URG) out += ` urg ${seg.urg(s)}`;
  const opts = seg.options(s);
  if (opts.length) {
    const w = walkOptions(opts);
    out += ` <${w.list.map((o) => optionText(opts, o)).join(',')}${w.error ? ',?' : ''}>`;
  }
  return out;
}

/** The payload length of a segment (exported for the runtime's aggregation loop). */
export function payloadLen(s: Segment): number {
  return seg.payloadLen(s);
}
