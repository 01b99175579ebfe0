// ICMP for IPv4 (RFC 792; include/uapi/linux/icmp.h). An error message carries, after its
// 8-byte header, the start of the datagram that caused it: its IP header and at least 8 bytes
// of its payload (RFC 792; RFC 1812 §4.3.2.3 allows more, Linux sends up to 576 bytes in all).

import { get16, get32, get8, put16, put32, put8, ByteView } from './bytes.js';
import { csum_fold, csum_partial } from './checksum.js';
import {
  ICMP_ECHOREPLY,
  ICMP_DEST_UNREACH,
  ICMP_SOURCE_QUENCH,
  ICMP_REDIRECT,
  ICMP_ECHO,
  ICMP_TIME_EXCEEDED,
  ICMP_PARAMETERPROB,
  ICMP_TIMESTAMP,
  ICMP_TIMESTAMPREPLY,
  ICMP_INFO_REQUEST,
  ICMP_INFO_REPLY,
  ICMP_ADDRESS,
  ICMP_ADDRESSREPLY,
  NR_ICMP_TYPES,
  ICMP_NET_UNREACH,
  ICMP_HOST_UNREACH,
  ICMP_PROT_UNREACH,
  ICMP_PORT_UNREACH,
  ICMP_FRAG_NEEDED,
  ICMP_SR_FAILED,
  ICMP_NET_UNKNOWN,
  ICMP_HOST_UNKNOWN,
  ICMP_HOST_ISOLATED,
  ICMP_NET_ANO,
  ICMP_HOST_ANO,
  ICMP_NET_UNR_TOS,
  ICMP_HOST_UNR_TOS,
  ICMP_PKT_FILTERED,
  ICMP_PREC_VIOLATION,
  ICMP_PREC_CUTOFF,
  NR_ICMP_UNREACH,
  ICMP_EXC_TTL,
  ICMP_EXC_FRAGTIME,
} from '../uapi/in.js';

// Types and codes are the uapi's (include/uapi/linux/icmp.h).
export {
  ICMP_ECHOREPLY,
  ICMP_DEST_UNREACH,
  ICMP_SOURCE_QUENCH,
  ICMP_REDIRECT,
  ICMP_ECHO,
  ICMP_TIME_EXCEEDED,
  ICMP_PARAMETERPROB,
  ICMP_TIMESTAMP,
  ICMP_TIMESTAMPREPLY,
  ICMP_INFO_REQUEST,
  ICMP_INFO_REPLY,
  ICMP_ADDRESS,
  ICMP_ADDRESSREPLY,
  NR_ICMP_TYPES,
  ICMP_NET_UNREACH,
  ICMP_HOST_UNREACH,
  ICMP_PROT_UNREACH,
  ICMP_PORT_UNREACH,
  ICMP_FRAG_NEEDED,
  ICMP_SR_FAILED,
  ICMP_NET_UNKNOWN,
  ICMP_HOST_UNKNOWN,
  ICMP_HOST_ISOLATED,
  ICMP_NET_ANO,
  ICMP_HOST_ANO,
  ICMP_NET_UNR_TOS,
  ICMP_HOST_UNR_TOS,
  ICMP_PKT_FILTERED,
  ICMP_PREC_VIOLATION,
  ICMP_PREC_CUTOFF,
  NR_ICMP_UNREACH,
  ICMP_EXC_TTL,
  ICMP_EXC_FRAGTIME,
};

// Codes for ICMP_REDIRECT.
export const ICMP_REDIR_NET = 0;
export const ICMP_REDIR_HOST = 1;
export const ICMP_REDIR_NETTOS = 2;
export const ICMP_REDIR_HOSTTOS = 3;

/** sizeof(struct icmphdr): type, code, checksum and the 4-byte rest of header. */
export const ICMP_HLEN = 8;

/** Whether a type is an error message, which quotes the datagram (icmp_pointers[].error). */
export function icmpIsError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACH ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETERPROB
  );
}

/** RFC 1812 §4.3.2.3: an ICMP error, its IP header included, is at most 576 bytes. */
export const ICMP_ERROR_MAX = 576;

/**
 * How many bytes of the offending datagram (`datagramLen` bytes from its IP header on) an error
 * quotes, as __icmp_send() sizes it: what fits in min(route MTU, 576) after the reply's IP header
 * with `replyOptLen` bytes of echoed options and the ICMP header; -1 when not even that fits
 * (Linux then sends nothing).
 */
export function icmpErrorQuoteLen(datagramLen: number, mtu: number, replyOptLen = 0): number {
  const room = Math.min(mtu, ICMP_ERROR_MAX) - 20 - replyOptLen - ICMP_HLEN;
  if (room < 0) return -1;
  return Math.min(datagramLen, room);
}

/**
 * Why icmp_rcv() or an error handler drops a message (all count Icmp: InErrors; bad-checksum
 * InCsumErrors too). 'bad-quote' is an error message whose quoted datagram lacks a whole IP
 * header with IHL ≥ 5 and 8 bytes after it (icmp_unreach(), icmp_socket_deliver()).
 */
export type IcmpError = 'truncated' | 'bad-checksum' | 'bad-type' | 'bad-quote';

/** The /proc/net/snmp Icmp: counter for each error. */
export const ICMP_ERROR_MIB: Readonly<Record<IcmpError, string>> = {
  truncated: 'InErrors',
  'bad-checksum': 'InCsumErrors',
  'bad-type': 'InErrors',
  'bad-quote': 'InErrors',
};

export class IcmpPacket extends ByteView {
  /**
   * icmp_rcv()'s tests in its order: the checksum over the whole message (skipped with
   * verifyChecksum false, as for a loopback packet, CHECKSUM_UNNECESSARY), the 8-byte header,
   * a known type.
   */
  static check(buf: Uint8Array, off: number, len: number, verifyChecksum = true): IcmpError | null {
    if (off < 0 || off + len > buf.length) return 'truncated';
    if (verifyChecksum && csum_fold(csum_partial(buf, off, len, 0)) !== 0) return 'bad-checksum';
    if (len < ICMP_HLEN) return 'truncated';
    if (buf[off] > NR_ICMP_TYPES) return 'bad-type';
    return null;
  }

  check(verifyChecksum = true): IcmpError | null {
    return IcmpPacket.check(this.buf, this.off, this.len, verifyChecksum);
  }

  get type(): number {
    return get8(this.buf, this.off);
  }
  set type(v: number) {
    put8(this.buf, this.off, v);
  }

  get code(): number {
    return get8(this.buf, this.off + 1);
  }
  set code(v: number) {
    put8(this.buf, this.off + 1, v);
  }

  get checksum(): number {
    return get16(this.buf, this.off + 2);
  }
  set checksum(v: number) {
    put16(this.buf, this.off + 2, v);
  }

  /** Echo, timestamp, information: the identifier (un.echo.id). */
  get ident(): number {
    return get16(this.buf, this.off + 4);
  }
  set ident(v: number) {
    put16(this.buf, this.off + 4, v);
  }

  /** Echo, timestamp, information: the sequence number (un.echo.sequence). */
  get seq(): number {
    return get16(this.buf, this.off + 6);
  }
  set seq(v: number) {
    put16(this.buf, this.off + 6, v);
  }

  /** The whole second word (un.gateway), which icmp_send() fills from its `info`. */
  get rest(): number {
    return get32(this.buf, this.off + 4);
  }
  set rest(v: number) {
    put32(this.buf, this.off + 4, v);
  }

  /** Redirect: the better first hop (un.gateway). */
  get gateway(): number {
    return get32(this.buf, this.off + 4);
  }
  set gateway(a: number) {
    put32(this.buf, this.off + 4, a);
  }

  /** Fragmentation needed: the next-hop MTU (un.frag.mtu, RFC 1191 §4). */
  get nextHopMtu(): number {
    return get16(this.buf, this.off + 6);
  }
  set nextHopMtu(v: number) {
    put16(this.buf, this.off + 6, v);
  }

  /** Parameter problem: the offset of the offending octet in the quoted datagram. */
  get pointer(): number {
    return get8(this.buf, this.off + 4);
  }
  set pointer(v: number) {
    put8(this.buf, this.off + 4, v);
  }

  get payloadOff(): number {
    return this.off + ICMP_HLEN;
  }
  get payloadLen(): number {
    return Math.max(0, this.len - ICMP_HLEN);
  }
  /** Echo data, or the quoted datagram of an error. */
  payload(): Uint8Array {
    return this.buf.subarray(this.off + ICMP_HLEN, this.off + Math.max(ICMP_HLEN, this.len));
  }

  verifyChecksum(): boolean {
    return csum_fold(csum_partial(this.buf, this.off, this.len, 0)) === 0;
  }

  /** Compute and store the checksum over the whole message (icmp_push_reply()). */
  fillChecksum(): void {
    put16(this.buf, this.off + 2, 0);
    put16(this.buf, this.off + 2, csum_fold(csum_partial(this.buf, this.off, this.len, 0)));
  }
}

/**
 * An ICMP message. `data` is the echo data or, for errors, the quoted datagram; parse gives a
 * view sharing the packet's bytes, emit copies it after the header.
 */
export type IcmpRepr =
  | { kind: 'echo-request'; ident: number; seq: number; data: Uint8Array }
  | { kind: 'echo-reply'; ident: number; seq: number; data: Uint8Array }
  /** nextHopMtu is meaningful for ICMP_FRAG_NEEDED and 0 otherwise. */
  | { kind: 'dest-unreach'; code: number; nextHopMtu: number; data: Uint8Array }
  | { kind: 'source-quench'; data: Uint8Array }
  | { kind: 'redirect'; code: number; gateway: number; data: Uint8Array }
  | { kind: 'time-exceeded'; code: number; data: Uint8Array }
  | { kind: 'param-problem'; code: number; pointer: number; data: Uint8Array }
  /** Timestamp, information and address mask messages, and types Linux discards. */
  | { kind: 'other'; type: number; code: number; rest: number; data: Uint8Array };

/** The quoted datagram of an error holds a whole IP header and 8 bytes after it. */
function quoteOk(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 20) return false;
  const ihl = buf[off] & 0x0f;
  return ihl >= 5 && len >= ihl * 4 + 8;
}

export const IcmpRepr = {
  /** Check (checksum verified unless verifyChecksum is false) and decode a message. */
  parse(p: IcmpPacket, verifyChecksum = true): IcmpRepr | IcmpError {
    const err = p.check(verifyChecksum);
    if (err) return err;
    const type = p.type;
    const code = p.code;
    const data = p.payload();
    if (icmpIsError(type) && !quoteOk(p.buf, p.payloadOff, p.payloadLen)) return 'bad-quote';
    switch (type) {
      case ICMP_ECHO:
        return { kind: 'echo-request', ident: p.ident, seq: p.seq, data };
      case ICMP_ECHOREPLY:
        return { kind: 'echo-reply', ident: p.ident, seq: p.seq, data };
      case ICMP_DEST_UNREACH:
        return { kind: 'dest-unreach', code, nextHopMtu: code === ICMP_FRAG_NEEDED ? p.nextHopMtu : 0, data };
      case ICMP_SOURCE_QUENCH:
        return { kind: 'source-quench', data };
      case ICMP_REDIRECT:
        return { kind: 'redirect', code, gateway: p.gateway, data };
      case ICMP_TIME_EXCEEDED:
        return { kind: 'time-exceeded', code, data };
      case ICMP_PARAMETERPROB:
        return { kind: 'param-problem', code, pointer: p.pointer, data };
      default:
        return { kind: 'other', type, code, rest: p.rest, data };
    }
  },

  headerLen(_repr?: IcmpRepr): number {
    return ICMP_HLEN;
  },

  bufferLen(repr: IcmpRepr): number {
    return ICMP_HLEN + repr.data.length;
  },

  /**
   * Write the header and copy the data at `off`, then the checksum over both unless
   * fillChecksum is false (the field is then left 0). Returns the bytes written.
   */
  emit(repr: IcmpRepr, buf: Uint8Array, off: number, fillChecksum = true): number {
    let type: number;
    let code = 0;
    let rest = 0;
    switch (repr.kind) {
      case 'echo-request':
      case 'echo-reply':
        type = repr.kind === 'echo-request' ? ICMP_ECHO : ICMP_ECHOREPLY;
        rest = ((repr.ident & 0xffff) * 0x10000 + (repr.seq & 0xffff)) >>> 0;
        break;
      case 'dest-unreach':
        type = ICMP_DEST_UNREACH;
        code = repr.code;
        rest = repr.nextHopMtu & 0xffff;
        break;
      case 'source-quench':
        type = ICMP_SOURCE_QUENCH;
        break;
      case 'redirect':
        type = ICMP_REDIRECT;
        code = repr.code;
        rest = repr.gateway;
        break;
      case 'time-exceeded':
        type = ICMP_TIME_EXCEEDED;
        code = repr.code;
        break;
      case 'param-problem':
        type = ICMP_PARAMETERPROB;
        code = repr.code;
        // icmp_send(skb, ICMP_PARAMETERPROB, 0, htonl(pointer << 24)).
        rest = ((repr.pointer & 0xff) << 24) >>> 0;
        break;
      case 'other':
        type = repr.type;
        code = repr.code;
        rest = repr.rest;
        break;
    }
    buf[off] = type;
    buf[off + 1] = code;
    put16(buf, off + 2, 0);
    put32(buf, off + 4, rest);
    buf.set(repr.data, off + ICMP_HLEN);
    const n = ICMP_HLEN + repr.data.length;
    if (fillChecksum) put16(buf, off + 2, csum_fold(csum_partial(buf, off, n, 0)));
    return n;
  },
};
