// lib/siphash.c: the keyed hashes the network stack draws its secrets through (sequence numbers,
// timestamp offsets, ephemeral ports, syncookies, IP IDs).
//
// SipHash-2-4 (siphash_*) is a 64-bit ARX function; JavaScript has no u64 arithmetic without
// BigInt, so each 64-bit lane is kept as two u32 halves (hi, lo) and the round is spelled out on
// them: an add carries out of the low half, rol64 by n < 32 trades bits between the halves and
// rol64 by 32 swaps them. A call allocates nothing (the 64-bit results are BigInts only in the
// convenience forms; the *_u32 forms return the low half as a number).
//
// hsiphash_* is the kernel's 32-bit-machine flavour: HalfSipHash-1-3 over u32 lanes with a
// 64-bit key (two u32), returning u32. (On 64-bit machines Linux substitutes SipHash-1-3 with a
// 128-bit key; the 32-bit one is the one whose state fits JavaScript's integers.)
//
// Keys are Uint32Arrays laid out as the key struct sits in little-endian memory:
// siphash_key_t { u64 key[2] } → [key[0] lo, key[0] hi, key[1] lo, key[1] hi];
// hsiphash_key_t { u32 key[2] } → [key[0], key[1]].

/** siphash_key_t: four u32, the little-endian image of { u64 key[2] }. */
export type SiphashKey = Uint32Array;
/** hsiphash_key_t on a 32-bit kernel: { u32 key[2] }. */
export type HsiphashKey = Uint32Array;

/** Bytes in a siphash_key_t / hsiphash_key_t (for get_random_bytes-style filling). */
export const SIPHASH_KEY_LEN = 16;
export const HSIPHASH_KEY_LEN = 8;

// ---------------------------------------------------------------------------------------------
// SipHash-2-4, 64-bit lanes as (hi, lo) u32 pairs.
//
// The state stays in locals of one function: u32 values above 2^31 are not small integers to V8,
// and storing them in module variables would box each one. Message words go through a typed
// scratch array instead, as (lo, hi) pairs.

/** Message words for sipcore(): word i is (msg[2i] lo, msg[2i + 1] hi). Grows for long input. */
let msg = new Uint32Array(8);
/** out[0]: high half of the last full siphash result (the low half is returned). */
const out = new Uint32Array(1);

/**
 * PREAMBLE(len); `nwords` × (v3 ^= m; SIPROUND; SIPROUND; v0 ^= m); POSTAMBLE with
 * b = len << 56 | (tail_hi, tail_lo). Returns the low half of (v0 ^ v1) ^ (v2 ^ v3), the high
 * half in out[0].
 */
function sipcore(key: SiphashKey, len: number, nwords: number, tail_hi: number, tail_lo: number): number {
  // Lanes are held as int32 (V8 keeps those unboxed); only the carry test reads them unsigned.
  const k0l = key[0] | 0,
    k0h = key[1] | 0,
    k1l = key[2] | 0,
    k1h = key[3] | 0;
  let v0h = 0x736f6d65 ^ k0h,
    v0l = 0x70736575 ^ k0l,
    v1h = 0x646f7261 ^ k1h,
    v1l = 0x6e646f6d ^ k1l,
    v2h = 0x6c796765 ^ k0h,
    v2l = 0x6e657261 ^ k0l,
    v3h = 0x74656462 ^ k1h,
    v3l = 0x79746573 ^ k1l;
  const bh = ((len & 0xff) << 24) | tail_hi,
    bl = tail_lo | 0;
  let mh = 0,
    ml = 0,
    t = 0;
  // Phases: each message word (2 rounds), then b (2 rounds), then v2 ^= 0xff (4 rounds).
  for (let phase = 0; phase <= nwords + 1; phase++) {
    let rounds = 2;
    if (phase < nwords) {
      ml = msg[2 * phase] | 0;
      mh = msg[2 * phase + 1] | 0;
    } else if (phase === nwords) {
      ml = bl;
      mh = bh;
    } else {
      v2l ^= 0xff;
      rounds = 4;
    }
    if (rounds === 2) {
      v3h ^= mh;
      v3l ^= ml;
    }
    for (let r = 0; r < rounds; r++) {
      // SIPROUND. A 64-bit add: the low halves' sum carries when it wraps below an addend.
      // v0 += v1; v1 = rol64(v1, 13); v1 ^= v0; v0 = rol64(v0, 32);
      t = (v0l + v1l) | 0;
      v0h = (v0h + v1h + (t >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
      v0l = t;
      t = v1h;
      v1h = ((v1h << 13) | (v1l >>> 19)) ^ v0h;
      v1l = ((v1l << 13) | (t >>> 19)) ^ v0l;
      t = v0h;
      v0h = v0l;
      v0l = t;
      // v2 += v3; v3 = rol64(v3, 16); v3 ^= v2;
      t = (v2l + v3l) | 0;
      v2h = (v2h + v3h + (t >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
      v2l = t;
      t = v3h;
      v3h = ((v3h << 16) | (v3l >>> 16)) ^ v2h;
      v3l = ((v3l << 16) | (t >>> 16)) ^ v2l;
      // v0 += v3; v3 = rol64(v3, 21); v3 ^= v0;
      t = (v0l + v3l) | 0;
      v0h = (v0h + v3h + (t >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
      v0l = t;
      t = v3h;
      v3h = ((v3h << 21) | (v3l >>> 11)) ^ v0h;
      v3l = ((v3l << 21) | (t >>> 11)) ^ v0l;
      // v2 += v1; v1 = rol64(v1, 17); v1 ^= v2; v2 = rol64(v2, 32);
      t = (v2l + v1l) | 0;
      v2h = (v2h + v1h + (t >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
      v2l = t;
      t = v1h;
      v1h = ((v1h << 17) | (v1l >>> 15)) ^ v2h;
      v1l = ((v1l << 17) | (t >>> 15)) ^ v2l;
      t = v2h;
      v2h = v2l;
      v2l = t;
    }
    if (rounds === 2) {
      v0h ^= mh;
      v0l ^= ml;
    }
  }
  out[0] = v0h ^ v1h ^ v2h ^ v3h;
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}

function to_u64(lo: number): bigint {
  return (BigInt(out[0]) << 32n) | BigInt(lo);
}

function le32(data: Uint8Array, i: number): number {
  return (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) >>> 0;
}

function siphash_bytes(data: Uint8Array, len: number, key: SiphashKey): number {
  const end = len - (len & 7);
  const nwords = end >>> 3;
  if (msg.length < 2 * nwords) msg = new Uint32Array(2 * nwords);
  for (let w = 0; w < nwords; w++) {
    msg[2 * w] = le32(data, 8 * w);
    msg[2 * w + 1] = le32(data, 8 * w + 4);
  }
  // The tail bytes, little-endian, below len << 56.
  let th = 0,
    tl = 0;
  for (let i = end; i < len; i++) {
    const shift = (i - end) * 8;
    if (shift < 32) tl |= data[i] << shift;
    else th |= data[i] << (shift - 32);
  }
  return sipcore(key, len, nwords, th, tl);
}

/** siphash(data, len, key): SipHash-2-4 of the first `len` bytes of `data`, as a u64. */
export function siphash(data: Uint8Array, len: number, key: SiphashKey): bigint {
  return to_u64(siphash_bytes(data, len, key));
}

/** (u32)siphash(data, len, key): the low 32 bits, without BigInt. */
export function siphash_u32(data: Uint8Array, len: number, key: SiphashKey): number {
  return siphash_bytes(data, len, key);
}

function siphash_1u32_lo(first: number, key: SiphashKey): number {
  return sipcore(key, 4, 0, 0, first);
}

/** siphash_1u32(first, key). */
export function siphash_1u32(first: number, key: SiphashKey): bigint {
  return to_u64(siphash_1u32_lo(first, key));
}

/** (u32)siphash_1u32(first, key). */
export function siphash_1u32_u32(first: number, key: SiphashKey): number {
  return siphash_1u32_lo(first, key);
}

// include/linux/siphash.h: siphash_2u32(a, b) is siphash_1u64((u64)b << 32 | a).
function siphash_2u32_lo(first: number, second: number, key: SiphashKey): number {
  msg[0] = first;
  msg[1] = second;
  return sipcore(key, 8, 1, 0, 0);
}

/** siphash_2u32(first, second, key) = siphash_1u64((u64)second << 32 | first). */
export function siphash_2u32(first: number, second: number, key: SiphashKey): bigint {
  return to_u64(siphash_2u32_lo(first, second, key));
}

/** (u32)siphash_2u32(first, second, key). */
export function siphash_2u32_u32(first: number, second: number, key: SiphashKey): number {
  return siphash_2u32_lo(first, second, key);
}

function siphash_3u32_lo(first: number, second: number, third: number, key: SiphashKey): number {
  msg[0] = first;
  msg[1] = second;
  return sipcore(key, 12, 1, 0, third);
}

/** siphash_3u32(first, second, third, key): combined = (u64)second << 32 | first, then third in b. */
export function siphash_3u32(first: number, second: number, third: number, key: SiphashKey): bigint {
  return to_u64(siphash_3u32_lo(first, second, third, key));
}

/** (u32)siphash_3u32(...): what secure_tcp_seq() and secure_ipv4_port_ephemeral() keep. */
export function siphash_3u32_u32(first: number, second: number, third: number, key: SiphashKey): number {
  return siphash_3u32_lo(first, second, third, key);
}

// include/linux/siphash.h: siphash_4u32(a, b, c, d) is siphash_2u64(b << 32 | a, d << 32 | c).
function siphash_4u32_lo(
  first: number,
  second: number,
  third: number,
  forth: number,
  key: SiphashKey,
): number {
  msg[0] = first;
  msg[1] = second;
  msg[2] = third;
  msg[3] = forth;
  return sipcore(key, 16, 2, 0, 0);
}

/** siphash_4u32(first, second, third, forth, key). */
export function siphash_4u32(
  first: number,
  second: number,
  third: number,
  forth: number,
  key: SiphashKey,
): bigint {
  return to_u64(siphash_4u32_lo(first, second, third, forth, key));
}

/** (u32)siphash_4u32(...): what cookie_hash() keeps. */
export function siphash_4u32_u32(
  first: number,
  second: number,
  third: number,
  forth: number,
  key: SiphashKey,
): number {
  return siphash_4u32_lo(first, second, third, forth, key);
}

// ---------------------------------------------------------------------------------------------
// hsiphash: HalfSipHash-1-3 over u32 lanes (lib/siphash.c, BITS_PER_LONG == 32).

/** Message words for hsipcore(). Grows for long input. */
let hmsg = new Uint32Array(4);

/** HPREAMBLE(len); `nwords` × (v3 ^= m; HSIPROUND; v0 ^= m); HPOSTAMBLE with b = len << 24 | tail. */
function hsipcore(key: HsiphashKey, len: number, nwords: number, tail: number): number {
  const k0 = key[0],
    k1 = key[1];
  let v0 = k0 | 0,
    v1 = k1 | 0,
    v2 = 0x6c796765 ^ k0,
    v3 = 0x74656462 ^ k1;
  const b = ((len & 0xff) << 24) | tail;
  let m = 0;
  // Phases: each message word (1 round), then b (1 round), then v2 ^= 0xff (3 rounds).
  for (let phase = 0; phase <= nwords + 1; phase++) {
    let rounds = 1;
    if (phase < nwords) m = hmsg[phase] | 0;
    else if (phase === nwords) m = b;
    else {
      v2 ^= 0xff;
      rounds = 3;
    }
    if (rounds === 1) v3 ^= m;
    for (let r = 0; r < rounds; r++) {
      // HSIPROUND, in int32: adds wrap with | 0.
      v0 = (v0 + v1) | 0;
      v1 = ((v1 << 5) | (v1 >>> 27)) ^ v0;
      v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0;
      v3 = ((v3 << 8) | (v3 >>> 24)) ^ v2;
      v0 = (v0 + v3) | 0;
      v3 = ((v3 << 7) | (v3 >>> 25)) ^ v0;
      v2 = (v2 + v1) | 0;
      v1 = ((v1 << 13) | (v1 >>> 19)) ^ v2;
      v2 = (v2 << 16) | (v2 >>> 16);
    }
    if (rounds === 1) v0 ^= m;
  }
  return (v1 ^ v3) >>> 0;
}

/** hsiphash(data, len, key): HalfSipHash-1-3 of the first `len` bytes of `data`. */
export function hsiphash(data: Uint8Array, len: number, key: HsiphashKey): number {
  const end = len - (len & 3);
  const nwords = end >>> 2;
  if (hmsg.length < nwords) hmsg = new Uint32Array(nwords);
  for (let w = 0; w < nwords; w++) hmsg[w] = le32(data, 4 * w);
  let tail = 0;
  for (let i = end; i < len; i++) tail |= data[i] << ((i - end) * 8);
  return hsipcore(key, len, nwords, tail);
}

/** hsiphash_1u32(first, key). */
export function hsiphash_1u32(first: number, key: HsiphashKey): number {
  hmsg[0] = first;
  return hsipcore(key, 4, 1, 0);
}

/** hsiphash_2u32(first, second, key). */
export function hsiphash_2u32(first: number, second: number, key: HsiphashKey): number {
  hmsg[0] = first;
  hmsg[1] = second;
  return hsipcore(key, 8, 2, 0);
}

/** hsiphash_3u32(first, second, third, key). */
export function hsiphash_3u32(first: number, second: number, third: number, key: HsiphashKey): number {
  hmsg[0] = first;
  hmsg[1] = second;
  hmsg[2] = third;
  return hsipcore(key, 12, 3, 0);
}

/** hsiphash_4u32(first, second, third, forth, key). */
export function hsiphash_4u32(
  first: number,
  second: number,
  third: number,
  forth: number,
  key: HsiphashKey,
): number {
  hmsg[0] = first;
  hmsg[1] = second;
  hmsg[2] = third;
  hmsg[3] = forth;
  return hsipcore(key, 16, 4, 0);
}
