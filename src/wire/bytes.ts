// Network-order (big-endian) field access on a Uint8Array, by direct byte reads. These are the
// only primitives the views use, so no DataView is made per packet and an access past the end of
// the buffer reads as zero (typed arrays answer `undefined`, which the bit operators turn into 0)
// and a write past the end is dropped: a view never throws, whatever it is pointed at.

/** The empty buffer views start on before they are pointed at a packet. */
export const EMPTY_BYTES = new Uint8Array(0);

/**
 * A view over `len` bytes at `off` in `buf`, re-pointable with reset() so one view per layer
 * serves every packet. Each header's view (EthernetFrame, Ipv4Packet, …) extends it.
 */
export class ByteView {
  constructor(
    public buf: Uint8Array = EMPTY_BYTES,
    public off = 0,
    public len = buf.length - off,
  ) {}

  reset(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }
}

export function get8(b: Uint8Array, o: number): number {
  return b[o] | 0;
}

export function get16(b: Uint8Array, o: number): number {
  return ((b[o] << 8) | b[o + 1]) & 0xffff;
}

/** An unsigned 32-bit value (IPv4 addresses are kept as these numbers, 127.0.0.1 = 0x7f000001). */
export function get32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** A 48-bit value (a MAC address), exact in a double. */
export function get48(b: Uint8Array, o: number): number {
  return get16(b, o) * 0x100000000 + get32(b, o + 2);
}

export function put8(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
}

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

export function put48(b: Uint8Array, o: number, v: number): void {
  put16(b, o, Math.floor(v / 0x100000000));
  put32(b, o + 2, v % 0x100000000);
}
