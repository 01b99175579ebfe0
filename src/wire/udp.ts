// UDP (RFC 768; include/uapi/linux/udp.h) over IPv4. The checksum covers a pseudo-header (source,
// destination, zero, protocol 17, UDP length), the header and the data; over IPv4 a transmitted
// checksum of 0 means the sender computed none, so a computed 0 is sent as 0xffff.

import { get16, put16, ByteView } from './bytes.js';
import {
  CSUM_MANGLED_0,
  csum_fold,
  csum_partial,
  csum_tcpudp_magic,
  csum_tcpudp_nofold,
} from './checksum.js';
import { IPPROTO_UDP } from './ipv4.js';

/** sizeof(struct udphdr). */
export const UDP_HLEN = 8;

/**
 * Why __udp4_lib_rcv() drops a datagram: 'truncated' for fewer than 8 bytes, 'bad-length' for a
 * length field below 8 or above the bytes received (its short_packet), 'bad-checksum' for a
 * non-zero checksum that does not verify. All count Udp: InErrors, bad-checksum InCsumErrors too.
 */
export type UdpError = 'truncated' | 'bad-length' | 'bad-checksum';

export const UDP_ERROR_MIB: Readonly<Record<UdpError, string>> = {
  truncated: 'InErrors',
  'bad-length': 'InErrors',
  'bad-checksum': 'InCsumErrors',
};

/**
 * How emit fills the checksum: 'full' computes it (udp_send_skb() in software); 'partial'
 * stores the folded pseudo-header sum and leaves the rest to whoever finishes it, as
 * udp4_hwcsum() does for a device that checksums (loopback, veth: CHECKSUM_PARTIAL, finished by
 * csum_finish_partial() if the packet must leave with a real one); 'none' stores 0
 * (SO_NO_CHECK, RFC 768 "no checksum").
 */
export type UdpChecksumMode = 'full' | 'partial' | 'none';

export class UdpPacket extends ByteView {
  /**
   * __udp4_lib_rcv()'s tests: the header, the length field against the bytes (more bytes than
   * it says are trimmed, fewer are an error), then — when the addresses of the IPv4 header are
   * given — the checksum over the length the header states, unless it is 0.
   */
  static check(buf: Uint8Array, off: number, len: number, src?: number, dst?: number): UdpError | null {
    if (off < 0 || off + len > buf.length || len < UDP_HLEN) return 'truncated';
    const ulen = get16(buf, off + 4);
    if (ulen > len || ulen < UDP_HLEN) return 'bad-length';
    if (src !== undefined && dst !== undefined && get16(buf, off + 6) !== 0) {
      if (csum_tcpudp_magic(src, dst, ulen, IPPROTO_UDP, csum_partial(buf, off, ulen, 0)) !== 0) {
        return 'bad-checksum';
      }
    }
    return null;
  }

  check(src?: number, dst?: number): UdpError | null {
    return UdpPacket.check(this.buf, this.off, this.len, src, dst);
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

  /** The length field: header and data. */
  get length(): number {
    return get16(this.buf, this.off + 4);
  }
  set length(v: number) {
    put16(this.buf, this.off + 4, v);
  }

  get checksum(): number {
    return get16(this.buf, this.off + 6);
  }
  set checksum(v: number) {
    put16(this.buf, this.off + 6, v);
  }

  get payloadOff(): number {
    return this.off + UDP_HLEN;
  }
  /** Data bytes per the length field, never past the bytes the view has. */
  get payloadLen(): number {
    return Math.max(0, Math.min(this.length, this.len) - UDP_HLEN);
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.off + UDP_HLEN, this.off + UDP_HLEN + this.payloadLen);
  }

  /** udp4_csum_init(): true when the checksum is 0 (none sent) or verifies. */
  verifyChecksum(src: number, dst: number): boolean {
    if (this.checksum === 0) return true;
    const ulen = this.length;
    return csum_tcpudp_magic(src, dst, ulen, IPPROTO_UDP, csum_partial(this.buf, this.off, ulen, 0)) === 0;
  }

  /** Compute and store the checksum per `mode` (see UdpChecksumMode); the length field is used. */
  fillChecksum(src: number, dst: number, mode: UdpChecksumMode = 'full'): void {
    fill(this.buf, this.off, this.length, src, dst, mode);
  }
}

function fill(
  buf: Uint8Array,
  off: number,
  ulen: number,
  src: number,
  dst: number,
  mode: UdpChecksumMode,
): void {
  put16(buf, off + 6, 0);
  if (mode === 'none') return;
  if (mode === 'partial') {
    // udp4_hwcsum(): uh->check = ~csum_tcpudp_magic(saddr, daddr, len, IPPROTO_UDP, 0).
    put16(buf, off + 6, ~csum_fold(csum_tcpudp_nofold(src, dst, ulen, IPPROTO_UDP, 0)) & 0xffff);
    return;
  }
  const c = csum_tcpudp_magic(src, dst, ulen, IPPROTO_UDP, csum_partial(buf, off, ulen, 0));
  put16(buf, off + 6, c || CSUM_MANGLED_0);
}

/** The fields of a UDP header; the data travels in the packet, after the header. */
export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** Bytes of data after the header. */
  payloadLen: number;
}

export const UdpRepr = {
  /** Check (the checksum too when src and dst are given) and decode the header. */
  parse(p: UdpPacket, src?: number, dst?: number, out?: UdpRepr): UdpRepr | UdpError {
    const err = p.check(src, dst);
    if (err) return err;
    const r = out ?? { srcPort: 0, dstPort: 0, payloadLen: 0 };
    r.srcPort = p.srcPort;
    r.dstPort = p.dstPort;
    r.payloadLen = p.length - UDP_HLEN;
    return r;
  },

  headerLen(_repr?: UdpRepr): number {
    return UDP_HLEN;
  },

  bufferLen(repr: UdpRepr): number {
    return UDP_HLEN + repr.payloadLen;
  },

  /**
   * Write the header at `off` in front of the payloadLen data bytes already at `off + 8` (the
   * data is copied in first, the header pushed before it), with the checksum per `mode` over the
   * IPv4 pseudo-header of `src` → `dst`. Returns the header length.
   */
  emit(
    repr: UdpRepr,
    buf: Uint8Array,
    off: number,
    src: number,
    dst: number,
    mode: UdpChecksumMode = 'full',
  ): number {
    const ulen = UDP_HLEN + repr.payloadLen;
    put16(buf, off, repr.srcPort);
    put16(buf, off + 2, repr.dstPort);
    put16(buf, off + 4, ulen);
    fill(buf, off, ulen, src, dst, mode);
    return UDP_HLEN;
  },
};
