// lib/siphash.c against the reference vectors: the SipHash paper's (github.com/veorq/SipHash)
// 64 SipHash-2-4 outputs and the kernel's HalfSipHash-1-3 outputs for a 32-bit build, both as
// lib/siphash_kunit.c checks them (key bytes 00..0f / 00..07, message bytes 00..len-1).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  hsiphash,
  hsiphash_1u32,
  hsiphash_2u32,
  hsiphash_3u32,
  hsiphash_4u32,
  siphash,
  siphash_1u32,
  siphash_1u32_u32,
  siphash_2u32,
  siphash_2u32_u32,
  siphash_3u32,
  siphash_3u32_u32,
  siphash_4u32,
  siphash_4u32_u32,
  siphash_u32,
} from '../../src/kernel/siphash.js';

/** { 0x0706050403020100, 0x0f0e0d0c0b0a0908 } as four little-endian u32. */
const test_key_siphash = Uint32Array.of(0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c);
/** { 0x03020100, 0x07060504 }. */
const test_key_hsiphash = Uint32Array.of(0x03020100, 0x07060504);

const test_vectors_siphash: bigint[] = [
  0x726fdb47dd0e0e31n,
  0x74f839c593dc67fdn,
  0x0d6c8009d9a94f5an,
  0x85676696d7fb7e2dn,
  0xcf2794e0277187b7n,
  0x18765564cd99a68dn,
  0xcbc9466e58fee3cen,
  0xab0200f58b01d137n,
  0x93f5f5799a932462n,
  0x9e0082df0ba9e4b0n,
  0x7a5dbbc594ddb9f3n,
  0xf4b32f46226bada7n,
  0x751e8fbc860ee5fbn,
  0x14ea5627c0843d90n,
  0xf723ca908e7af2een,
  0xa129ca6149be45e5n,
  0x3f2acc7f57c29bdbn,
  0x699ae9f52cbe4794n,
  0x4bc1b3f0968dd39cn,
  0xbb6dc91da77961bdn,
  0xbed65cf21aa2ee98n,
  0xd0f2cbb02e3b67c7n,
  0x93536795e3a33e88n,
  0xa80c038ccd5ccec8n,
  0xb8ad50c6f649af94n,
  0xbce192de8a85b8ean,
  0x17d835b85bbb15f3n,
  0x2f2e6163076bcfadn,
  0xde4daaaca71dc9a5n,
  0xa6a2506687956571n,
  0xad87a3535c49ef28n,
  0x32d892fad841c342n,
  0x7127512f72f27ccen,
  0xa7f32346f95978e3n,
  0x12e0b01abb051238n,
  0x15e034d40fa197aen,
  0x314dffbe0815a3b4n,
  0x027990f029623981n,
  0xcadcd4e59ef40c4dn,
  0x9abfd8766a33735cn,
  0x0e3ea96b5304a7d0n,
  0xad0c42d6fc585992n,
  0x187306c89bc215a9n,
  0xd4a60abcf3792b95n,
  0xf935451de4f21df2n,
  0xa9538f0419755787n,
  0xdb9acddff56ca510n,
  0xd06c98cd5c0975ebn,
  0xe612a3cb9ecba951n,
  0xc766e62cfcadaf96n,
  0xee64435a9752fe72n,
  0xa192d576b245165an,
  0x0a8787bf8ecb74b2n,
  0x81b3e73d20b49b6fn,
  0x7fa8220ba3b2ecean,
  0x245731c13ca42499n,
  0xb78dbfaf3a8d83bdn,
  0xea1ad565322a1a0bn,
  0x60e61c23a3795013n,
  0x6606d7e446282b93n,
  0x6ca4ecb15c5f91e1n,
  0x9f626da15c9625f3n,
  0xe51b38608ef25f57n,
  0x958a324ceb064572n,
];

const test_vectors_hsiphash: number[] = [
  0x5814c896, 0xe7e864ca, 0xbc4b0e30, 0x01539939, 0x7e059ea6, 0x88e3d89b, 0xa0080b65, 0x9d38d9d6, 0x577999b1,
  0xc839caed, 0xe4fa32cf, 0x959246ee, 0x6b28096c, 0x66dd9cd6, 0x16658a7c, 0xd0257b04, 0x8b31d501, 0x2b1cd04b,
  0x06712339, 0x522aca67, 0x911bb605, 0x90a65f0e, 0xf826ef7b, 0x62512deb, 0x57150ad7, 0x5d473507, 0x1ec47442,
  0xab64afd3, 0x0a4100d0, 0x6d2ce652, 0x2331b6a3, 0x08d8791a, 0xbc6dda8d, 0xe0f6c934, 0xb0652033, 0x9b9851cc,
  0x7c46fb7f, 0x732ba8cb, 0xf142997a, 0xfcc9aa1b, 0x05327eb2, 0xe110131c, 0xf9e5e7c0, 0xa7d708a6, 0x11795ab1,
  0x65671619, 0x9f5fff91, 0xd89c5267, 0x007783eb, 0x95766243, 0xab639262, 0x9c7e1390, 0xc368dda6, 0x38ddc455,
  0xfa13d379, 0x979ea4e8, 0x53ecd77e, 0x2ee80657, 0x33dbb66a, 0xae3f0577, 0x88b4c4cc, 0x3e7f480b, 0x74c1ebf8,
  0x87178304,
];

const lo32 = (v: bigint): number => Number(v & 0xffffffffn);

test('siphash over byte strings of every length 0..63 matches the reference vectors', () => {
  const input = new Uint8Array(64);
  for (let i = 0; i < 64; i++) input[i] = i;
  // Unaligned too: the same bytes one position into a larger buffer.
  const shifted = new Uint8Array(65);
  shifted.set(input, 1);
  const unaligned = shifted.subarray(1);
  for (let len = 0; len < 64; len++) {
    assert.equal(siphash(input, len, test_key_siphash), test_vectors_siphash[len], `len ${len}`);
    assert.equal(siphash(unaligned, len, test_key_siphash), test_vectors_siphash[len], `unaligned ${len}`);
    assert.equal(siphash_u32(input, len, test_key_siphash), lo32(test_vectors_siphash[len]), `u32 ${len}`);
  }
});

test('hsiphash over byte strings of every length 0..63 matches the 32-bit kernel vectors', () => {
  const input = new Uint8Array(64);
  for (let i = 0; i < 64; i++) input[i] = i;
  for (let len = 0; len < 64; len++)
    assert.equal(hsiphash(input, len, test_key_hsiphash), test_vectors_hsiphash[len], `len ${len}`);
});

test('siphash_Nu32 hash the words in the kernel order (siphash_kunit.c)', () => {
  const k = test_key_siphash;
  assert.equal(siphash_1u32(0x03020100, k), test_vectors_siphash[4]);
  assert.equal(siphash_2u32(0x03020100, 0x07060504, k), test_vectors_siphash[8]);
  assert.equal(siphash_3u32(0x03020100, 0x07060504, 0x0b0a0908, k), test_vectors_siphash[12]);
  assert.equal(siphash_4u32(0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c, k), test_vectors_siphash[16]);
  assert.equal(siphash_1u32_u32(0x03020100, k), lo32(test_vectors_siphash[4]));
  assert.equal(siphash_2u32_u32(0x03020100, 0x07060504, k), lo32(test_vectors_siphash[8]));
  assert.equal(siphash_3u32_u32(0x03020100, 0x07060504, 0x0b0a0908, k), lo32(test_vectors_siphash[12]));
  assert.equal(
    siphash_4u32_u32(0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c, k),
    lo32(test_vectors_siphash[16]),
  );
});

test('hsiphash_Nu32 hash the words in the kernel order (siphash_kunit.c)', () => {
  const k = test_key_hsiphash;
  assert.equal(hsiphash_1u32(0x03020100, k), test_vectors_hsiphash[4]);
  assert.equal(hsiphash_2u32(0x03020100, 0x07060504, k), test_vectors_hsiphash[8]);
  assert.equal(hsiphash_3u32(0x03020100, 0x07060504, 0x0b0a0908, k), test_vectors_hsiphash[12]);
  assert.equal(hsiphash_4u32(0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c, k), test_vectors_hsiphash[16]);
});

test('word helpers agree with the byte form for arbitrary words and keys', () => {
  // Little-endian bytes of the words, hashed by the generic function, must give the same result.
  const key = Uint32Array.of(0xdeadbeef, 0x80000001, 0xffffffff, 0x01234567);
  const hkey = Uint32Array.of(0xfedcba98, 0x7fffffff);
  const words = [0xffffffff, 0x80000000, 0x00000001, 0xc0a80101];
  const bytes = new Uint8Array(16);
  const dv = new DataView(bytes.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  const [a, b, c, d] = words;
  assert.equal(siphash_1u32(a, key), siphash(bytes, 4, key));
  assert.equal(siphash_2u32(a, b, key), siphash(bytes, 8, key));
  assert.equal(siphash_3u32(a, b, c, key), siphash(bytes, 12, key));
  assert.equal(siphash_4u32(a, b, c, d, key), siphash(bytes, 16, key));
  assert.equal(hsiphash_1u32(a, hkey), hsiphash(bytes, 4, hkey));
  assert.equal(hsiphash_2u32(a, b, hkey), hsiphash(bytes, 8, hkey));
  assert.equal(hsiphash_3u32(a, b, c, hkey), hsiphash(bytes, 12, hkey));
  assert.equal(hsiphash_4u32(a, b, c, d, hkey), hsiphash(bytes, 16, hkey));
  // Signed-looking inputs (negative int32) are the same u32.
  assert.equal(siphash_3u32_u32(-1, -2147483648, 1, key), siphash_3u32_u32(a, b, c, key));
  assert.equal(hsiphash_2u32(-1, -2147483648, hkey), hsiphash_2u32(a, b, hkey));
});
