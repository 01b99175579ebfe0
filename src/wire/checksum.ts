// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of
// the data taken as big-endian 16-bit words. The functions keep the kernel's names
// (include/net/checksum.h, arch/x86/include/asm/checksum_64.h) because the stack calls them at
// the same places the kernel does.
//
// A partial sum ("wsum") here is a non-negative integer; every function returns it folded to
// [0, 0xffff] with the end-around carry, which is congruent modulo 0xffff with the 32-bit value
// the kernel carries, so sums from different calls combine exactly as the kernel's do. The sum of
// no data (or of zeros) is 0, the one's complement +0; the fold of any non-zero data is in
// [1, 0xffff]. Nothing here allocates but the 32-bit view csum_partial reads long data through.

/** The checksum a UDP sender transmits when the computed one is 0 (RFC 768: all ones). */
export const CSUM_MANGLED_0 = 0xffff;

/**
 * Fold to 16 bits with end-around carry (RFC 1071 §4.1). Accepts any non-negative integer that
 * is exact in a double: 2^32 ≡ 2^16 ≡ 1 (mod 0xffff), so the high part is added back.
 */
export function csum_fold16(s: number): number {
  while (s > 0xffffffff) s = (s % 0x100000000) + Math.floor(s / 0x100000000);
  s = (s >>> 16) + (s & 0xffff);
  return (s >>> 16) + (s & 0xffff);
}

/** Whether this machine stores a Uint32Array element little-endian (the usual case). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Below this many bytes, the byte lanes of csum_partial beat making a 32-bit view of the buffer.
 */
const CSUM_WORDS_MIN = 128;

/**
 * csum_partial(): add the bytes [off, off + len) to the running sum `sum`, the first byte being
 * the high byte of a word; an odd trailing byte is padded with a zero byte (RFC 1071 §4.1).
 * Bytes past the end of `buf` count as zeros, as the padding would.
 */
export function csum_partial(buf: Uint8Array, off: number, len: number, sum: number): number {
  const end = Math.min(off + len, buf.length);
  if (end - off >= CSUM_WORDS_MIN) return csum_partial_words(buf, off, end, sum);
  return csum_partial_bytes(buf, off, end, sum);
}

/** csum_partial over [i, end) a byte at a time, in two lanes (high and low bytes of the words). */
function csum_partial_bytes(buf: Uint8Array, i: number, end: number, sum: number): number {
  let acc = sum;
  // The high bytes of the words and the low bytes are summed in two lanes, 16 bytes a round:
  // fewer operations than assembling each word, and a round adds at most 8 * 255 to a lane, so
  // a block of 1 MiB keeps both lanes small integers. The lanes meet as hi * 256 + lo.
  while (end - i >= 16) {
    const stop = Math.min(end - 15, i + 0x100000);
    let hi = 0;
    let lo = 0;
    do {
      hi +=
        buf[i] + buf[i + 2] + buf[i + 4] + buf[i + 6] + buf[i + 8] + buf[i + 10] + buf[i + 12] + buf[i + 14];
      lo +=
        buf[i + 1] +
        buf[i + 3] +
        buf[i + 5] +
        buf[i + 7] +
        buf[i + 9] +
        buf[i + 11] +
        buf[i + 13] +
        buf[i + 15];
      i += 16;
    } while (i < stop);
    acc += hi * 256 + lo;
  }
  let tail = 0;
  while (i + 1 < end) {
    tail += (buf[i] << 8) | buf[i + 1];
    i += 2;
  }
  if (i < end) tail += buf[i] << 8;
  return csum_fold16(acc + tail);
}

/**
 * csum_partial over [off, end) four bytes at a time, through a 32-bit view of the aligned middle
 * (as the kernel's do_csum reads words, not bytes). A 32-bit word is two 16-bit words and
 * 2^16 ≡ 1 (mod 0xffff), so summing the 32-bit values sums the 16-bit words. Read in the
 * machine's order they come out byte-swapped (RFC 1071 §2(B): the sum of swapped words is the
 * swapped sum), and a middle starting an odd number of bytes into the data has its bytes in the
 * other lane, which swaps them once more (as csum_block_add does).
 */
function csum_partial_words(buf: Uint8Array, off: number, end: number, sum: number): number {
  let i = off;
  const base = buf.byteOffset;
  // The bytes before the first 4-byte boundary, each in its lane.
  let edge = 0;
  while ((base + i) & 3) {
    edge += (i - off) & 1 ? buf[i] : buf[i] << 8;
    i++;
  }
  const n = (end - i) >>> 2;
  const w = new Uint32Array(buf.buffer, base + i, n);
  let mid = 0;
  for (let k = 0; k < n;) {
    // 2^20 words at most between folds: the two sums stay exact in a double.
    const stop = Math.min(n, k + 0x100000);
    let a = 0;
    let b = 0;
    for (; k + 4 <= stop; k += 4) {
      a += w[k] + w[k + 1];
      b += w[k + 2] + w[k + 3];
    }
    for (; k < stop; k++) a += w[k];
    mid = csum_fold16(mid + a + b);
  }
  let swaps = (i - off) & 1;
  if (LITTLE_ENDIAN) swaps ^= 1;
  if (swaps) mid = ((mid & 0xff) << 8) | (mid >>> 8);
  i += n << 2;
  // The bytes after the last whole word.
  for (; i < end; i++) edge += (i - off) & 1 ? buf[i] : buf[i] << 8;
  return csum_fold16(sum + edge + mid);
}

/**
 * csum_partial_copy_nocheck() / csum_and_copy_from_user(): copy `len` bytes and sum them in the
 * same pass, so user data is touched once on its way into a packet.
 */
export function csum_partial_copy(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  len: number,
  sum: number,
): number {
  let acc = sum > 0xffff ? csum_fold16(sum) : sum;
  let i = 0;
  let n = 0;
  while (i + 1 < len) {
    const hi = src[srcOff + i];
    const lo = src[srcOff + i + 1];
    dst[dstOff + i] = hi;
    dst[dstOff + i + 1] = lo;
    acc += (hi << 8) | lo;
    i += 2;
    if (++n === 16384) {
      acc = (acc >>> 16) + (acc & 0xffff);
      n = 0;
    }
  }
  if (i < len) {
    const hi = src[srcOff + i];
    dst[dstOff + i] = hi;
    acc += hi << 8;
  }
  return csum_fold16(acc);
}

/** csum_fold(): the final checksum, the complement of the folded sum. */
export function csum_fold(sum: number): number {
  return ~csum_fold16(sum) & 0xffff;
}

/** csum_add(): one's complement addition of two partial sums. */
export function csum_add(a: number, b: number): number {
  return csum_fold16(a + b);
}

/** csum_sub(): one's complement subtraction, the addition of the complement. */
export function csum_sub(a: number, b: number): number {
  return csum_fold16(a + (~csum_fold16(b) & 0xffff));
}

/**
 * csum_block_add(): combine the sum of a block that starts `offset` bytes into the data. A block
 * at an odd offset had its bytes summed in the other lane, so its sum is byte-swapped
 * (RFC 1071 §2(B), byte-order independence).
 */
export function csum_block_add(sum: number, sum2: number, offset: number): number {
  let s2 = csum_fold16(sum2);
  if (offset & 1) s2 = ((s2 & 0xff) << 8) | (s2 >>> 8);
  return csum_fold16(sum + s2);
}

/**
 * csum_tcpudp_nofold(): add the IPv4 pseudo-header (RFC 768, RFC 793 §3.1: source, destination,
 * zero, protocol, transport length) to `sum`. Addresses are unsigned 32-bit numbers.
 */
export function csum_tcpudp_nofold(
  saddr: number,
  daddr: number,
  len: number,
  proto: number,
  sum: number,
): number {
  return csum_fold16(
    sum + (saddr >>> 16) + (saddr & 0xffff) + (daddr >>> 16) + (daddr & 0xffff) + proto + len,
  );
}

/** csum_tcpudp_magic(): the transport checksum from the pseudo-header and the sum of the segment. */
export function csum_tcpudp_magic(
  saddr: number,
  daddr: number,
  len: number,
  proto: number,
  sum: number,
): number {
  return csum_fold(csum_tcpudp_nofold(saddr, daddr, len, proto, sum));
}

/**
 * ip_fast_csum(): the checksum of an IPv4 header of `ihl` words; 0 when the stored one is right.
 * Every packet is summed here twice (ip_send_check, ip_rcv), so the header's 10 to 30 words are
 * added in one plain loop: their sum stays below 2^21, and two folds bring it to 16 bits.
 */
export function ip_fast_csum(buf: Uint8Array, off: number, ihl: number): number {
  const end = off + ihl * 4;
  if (ihl > 15 || end > buf.length) return csum_fold(csum_partial(buf, off, ihl * 4, 0));
  let s = 0;
  for (let i = off; i < end; i += 2) s += (buf[i] << 8) | buf[i + 1];
  s = (s >>> 16) + (s & 0xffff);
  s = (s >>> 16) + (s & 0xffff);
  return ~s & 0xffff;
}

/** ip_compute_csum(): the Internet checksum of a byte range (ICMP, RFC 792). */
export function ip_compute_csum(buf: Uint8Array, off: number, len: number): number {
  return csum_fold(csum_partial(buf, off, len, 0));
}

/**
 * The checksum after one 16-bit word of the data changed from `from` to `to`, by RFC 1624 eqn. 3,
 * HC' = ~(~HC + ~m + m'). It equals a full recomputation whenever the data is not all zeros
 * (RFC 1624 §3: only all-zero data sums to +0), which holds for every header that has a version
 * or a port in it.
 */
export function csum_update16(check: number, from: number, to: number): number {
  return ~csum_fold16((~check & 0xffff) + (~from & 0xffff) + (to & 0xffff)) & 0xffff;
}

/** As csum_update16 for a 32-bit field (an address): two words change at once. */
export function csum_update32(check: number, from: number, to: number): number {
  const nf = ~from;
  return (
    ~csum_fold16(
      (~check & 0xffff) + ((nf >>> 16) & 0xffff) + (nf & 0xffff) + ((to >>> 16) & 0xffff) + (to & 0xffff),
    ) & 0xffff
  );
}

/** csum_replace2(): update the checksum stored at `checkOff` for a 16-bit field change. */
export function csum_replace2(buf: Uint8Array, checkOff: number, from: number, to: number): void {
  const c = csum_update16((buf[checkOff] << 8) | buf[checkOff + 1], from, to);
  buf[checkOff] = c >>> 8;
  buf[checkOff + 1] = c;
}

/** csum_replace4(): update the checksum stored at `checkOff` for a 32-bit field change (NAT). */
export function csum_replace4(buf: Uint8Array, checkOff: number, from: number, to: number): void {
  const c = csum_update32((buf[checkOff] << 8) | buf[checkOff + 1], from, to);
  buf[checkOff] = c >>> 8;
  buf[checkOff + 1] = c;
}

/**
 * Finish a checksum left partial (CHECKSUM_PARTIAL), as skb_checksum_help() or a NIC does: the
 * field at `start + csumOffset` holds the folded pseudo-header sum; sum [start, start + len)
 * over it and store the result, 0 sent as all ones.
 */
export function csum_finish_partial(buf: Uint8Array, start: number, len: number, csumOffset: number): void {
  const c = csum_fold(csum_partial(buf, start, len, 0)) || CSUM_MANGLED_0;
  buf[start + csumOffset] = c >>> 8;
  buf[start + csumOffset + 1] = c;
}
