import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CSUM_MANGLED_0,
  csum_add,
  csum_block_add,
  csum_finish_partial,
  csum_fold,
  csum_fold16,
  csum_partial,
  csum_partial_copy,
  csum_replace2,
  csum_replace4,
  csum_sub,
  csum_tcpudp_magic,
  csum_tcpudp_nofold,
  csum_update16,
  csum_update32,
  ip_compute_csum,
  ip_fast_csum,
} from '../../src/wire/checksum.js';
import { Ipv4Packet, IPPROTO_UDP } from '../../src/wire/ipv4.js';
import { UdpPacket } from '../../src/wire/udp.js';
import { FC, frame, hex } from './fixtures.js';

/** RFC 1071 as written: sum the words, add the carries back, complement. */
function refSum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (i + 1 < b.length ? b[i + 1] : 0);
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

test('RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d', () => {
  const b = hex('0001f203f4f5f6f7');
  assert.equal(csum_partial(b, 0, b.length, 0), 0xddf2);
  assert.equal(ip_compute_csum(b, 0, b.length), 0x220d);
  // The checksum stored after the data makes the whole verify to 0.
  const withSum = hex('0001f203f4f5f6f7220d');
  assert.equal(ip_compute_csum(withSum, 0, withSum.length), 0);
});

test('an odd trailing byte is the high byte of a zero-padded word', () => {
  assert.equal(csum_partial(hex('01'), 0, 1, 0), 0x0100);
  assert.equal(csum_partial(hex('ffff01'), 0, 3, 0), 0x0100);
  // Bytes past the end of the buffer count as zeros, as padding would.
  assert.equal(csum_partial(hex('0102'), 0, 10, 0), 0x0102);
  assert.equal(csum_partial(hex(''), 0, 0, 0), 0);
  assert.equal(csum_fold(0), 0xffff);
});

test('folding keeps the value modulo 0xffff and never yields +0 for a positive sum', () => {
  assert.equal(csum_fold16(0x1fffe), 0xffff);
  assert.equal(csum_fold16(0x10000), 1);
  assert.equal(csum_fold16(2 ** 48 + 5), 6);
  assert.equal(csum_fold16(2 ** 40 + 5), 0x105);
  fc.assert(
    fc.property(fc.maxSafeNat(), (n) => {
      const f = csum_fold16(n);
      assert.ok(f >= 0 && f <= 0xffff);
      assert.equal(f % 0xffff, n % 0xffff);
      if (n > 0) assert.ok(f > 0);
    }),
    FC,
  );
});

test('csum_partial equals the plain RFC 1071 sum, at any offset, initial sum and size', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(0xffffffff), fc.nat(7), (data, initial, pad) => {
      const buf = new Uint8Array(pad + data.length);
      buf.set(data, pad);
      assert.equal(csum_partial(buf, pad, data.length, initial), csum_fold16(refSum(data) + initial));
    }),
    FC,
  );
  // Longer than one 1 MiB block of the two-lane sum, and of odd length.
  const big = new Uint8Array(2_500_001).fill(0xff);
  big[12345] = 0x12;
  assert.equal(csum_partial(big, 0, big.length, 0), refSum(big));
  // Past 2^20 32-bit words (the word sum's block), with a view that starts off a 4-byte boundary.
  const huge = new Uint8Array(new ArrayBuffer(4_500_008), 3, 4_500_003).fill(0xfe);
  huge[4_000_001] = 0x01;
  assert.equal(csum_partial(huge, 1, huge.length - 1, 0), refSum(huge.subarray(1)));
});

test('csum_partial of long data read a word at a time: any alignment of view and offset', () => {
  // Long runs are summed through a 32-bit view of their aligned middle; the view's own offset in
  // its buffer and the offset into it both move which bytes fall outside the middle and in which
  // lane, and a sum of zeros must stay +0 while any other folds into [1, 0xffff].
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 100, maxLength: 3000 }),
      fc.nat(7),
      fc.nat(9),
      fc.nat(0xffffffff),
      fc.constantFrom('random', 'zeros', 'ones'),
      (data, viewOff, pad, initial, fill) => {
        if (fill === 'zeros') data.fill(0);
        if (fill === 'ones') data.fill(0xff);
        const buf = new Uint8Array(
          new ArrayBuffer(viewOff + pad + data.length + 8),
          viewOff,
          pad + data.length,
        );
        buf.set(data, pad);
        assert.equal(csum_partial(buf, pad, data.length, initial), csum_fold16(refSum(data) + initial));
        assert.equal(csum_partial(buf, pad, data.length, 0), refSum(data));
        // Bytes asked for past the end of the view count as zeros.
        assert.equal(csum_partial(buf, pad, data.length + 5, 0), refSum(data));
      },
    ),
    FC,
  );
});

test('blocks summed separately combine with csum_block_add, odd offsets included', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), (data, at) => {
      const cut = at % (data.length + 1);
      const a = csum_partial(data, 0, cut, 0);
      const b = csum_partial(data, cut, data.length - cut, 0);
      assert.equal(csum_block_add(a, b, cut), csum_partial(data, 0, data.length, 0));
    }),
    FC,
  );
});

test('csum_partial_copy copies and sums in one pass', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(0xffff), (data, initial) => {
      const dst = new Uint8Array(data.length + 3);
      const s = csum_partial_copy(data, 0, dst, 3, data.length, initial);
      assert.deepEqual(dst.subarray(3), data);
      assert.equal(s, csum_partial(data, 0, data.length, initial));
    }),
    FC,
  );
});

test('csum_add and csum_sub are inverse in one’s complement', () => {
  fc.assert(
    fc.property(fc.nat(0xffff), fc.integer({ min: 1, max: 0xffff }), (a, b) => {
      assert.equal(csum_fold16(csum_sub(csum_add(a, b), b)) % 0xffff, a % 0xffff);
    }),
    FC,
  );
});

test('the IPv4 pseudo-header: Linux leaves exactly its folded sum in a partial UDP checksum', () => {
  // A UDP datagram captured on lo, where udp4_hwcsum() stores ~csum_tcpudp_magic(...).
  const f = frame('lo_udp_partial');
  const ipv4 = new Ipv4Packet(f, 14);
  const udp = new UdpPacket(f, ipv4.payloadOff, ipv4.payloadLen);
  assert.equal(udp.checksum, csum_fold16(csum_tcpudp_nofold(ipv4.src, ipv4.dst, udp.length, IPPROTO_UDP, 0)));
  assert.equal(udp.checksum, 0xfe29);
  // Finishing it as skb_checksum_help() would gives a checksum that verifies.
  assert.equal(udp.verifyChecksum(ipv4.src, ipv4.dst), false);
  csum_finish_partial(f, udp.off, udp.length, 6);
  assert.equal(udp.verifyChecksum(ipv4.src, ipv4.dst), true);
  assert.equal(
    csum_tcpudp_magic(ipv4.src, ipv4.dst, udp.length, IPPROTO_UDP, csum_partial(f, udp.off, udp.length, 0)),
    0,
  );
});

test('a finished checksum that computes to 0 is sent as all ones', () => {
  // Choose data so that the whole sums to 0xffff: the checksum is then 0, sent as 0xffff.
  const b = new Uint8Array(10);
  b[0] = 0xff;
  b[1] = 0xff;
  csum_finish_partial(b, 0, b.length, 6);
  assert.equal((b[6] << 8) | b[7], CSUM_MANGLED_0);
});

/** An IPv4 header with a correct checksum from arbitrary fields. */
const arbHeader = fc
  .record({
    ihl: fc.integer({ min: 5, max: 15 }),
    rest: fc.uint8Array({ minLength: 60, maxLength: 60 }),
  })
  .map(({ ihl, rest }) => {
    const h = rest.slice(0, ihl * 4);
    h[0] = 0x40 | ihl;
    h[10] = h[11] = 0;
    const c = ip_compute_csum(h, 0, h.length);
    h[10] = c >>> 8;
    h[11] = c & 0xff;
    return h;
  });

test('RFC 1624 incremental update of a 16-bit field equals a full recomputation', () => {
  fc.assert(
    fc.property(arbHeader, fc.nat(), fc.nat(0xffff), (h, at, to) => {
      // Any word but the checksum itself (offset 10).
      let w = (at % (h.length / 2)) * 2;
      if (w === 10) w = 12;
      const from = (h[w] << 8) | h[w + 1];
      const inc = h.slice();
      csum_replace2(inc, 10, from, to);
      inc[w] = to >>> 8;
      inc[w + 1] = to & 0xff;
      assert.equal(ip_fast_csum(inc, 0, inc.length / 4), 0);
      const full = inc.slice();
      full[10] = full[11] = 0;
      assert.equal((inc[10] << 8) | inc[11], ip_compute_csum(full, 0, full.length));
      assert.equal(csum_update16((h[10] << 8) | h[11], from, to), (inc[10] << 8) | inc[11]);
    }),
    FC,
  );
});

test('RFC 1624 incremental update of a 32-bit field (an address) equals a full recomputation', () => {
  fc.assert(
    fc.property(arbHeader, fc.boolean(), fc.nat(0xffffffff), (h, source, to) => {
      const at = source ? 12 : 16;
      const from = ((h[at] << 24) | (h[at + 1] << 16) | (h[at + 2] << 8) | h[at + 3]) >>> 0;
      const inc = h.slice();
      csum_replace4(inc, 10, from, to);
      inc[at] = to >>> 24;
      inc[at + 1] = (to >>> 16) & 0xff;
      inc[at + 2] = (to >>> 8) & 0xff;
      inc[at + 3] = to & 0xff;
      const full = inc.slice();
      full[10] = full[11] = 0;
      assert.equal((inc[10] << 8) | inc[11], ip_compute_csum(full, 0, full.length));
      assert.equal(csum_update32((h[10] << 8) | h[11], from, to), (inc[10] << 8) | inc[11]);
    }),
    FC,
  );
});

test('TTL decrement patches the checksum to what a full recomputation gives', () => {
  fc.assert(
    fc.property(arbHeader, (h) => {
      // ip_forward() never decrements a TTL of 0 (it sends time exceeded for TTL ≤ 1 first).
      fc.pre(h[8] > 0);
      const p = new Ipv4Packet(h.slice());
      const ttl = p.ttl;
      assert.equal(p.decreaseTtl(), (ttl - 1) & 0xff);
      const full = p.buf.slice();
      full[10] = full[11] = 0;
      assert.equal(p.checksum, ip_compute_csum(full, 0, full.length));
      assert.equal(p.verifyChecksum(), true);
    }),
    FC,
  );
  // The carry case: a checksum of 0xfeff + 0x0100 reaches 0xffff, stored as 0x0000.
  const h = hex('45000014000000004011000000000000' + '00000000');
  const sum = csum_partial(h, 0, 20, 0);
  // Pick the source address so that the header's checksum is 0xfeff.
  const want = (0x0100 - sum + 0xffff) % 0xffff;
  h[12] = want >>> 8;
  h[13] = want & 0xff;
  const p = new Ipv4Packet(h);
  p.fillChecksum();
  assert.equal(p.checksum, 0xfeff);
  p.decreaseTtl();
  assert.equal(p.checksum, 0x0000);
  assert.equal(p.verifyChecksum(), true);
  assert.equal(p.ttl, 0x3f);
});

test('ip_fast_csum equals the folded csum_partial of the header, for every IHL, offset and byte', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 15 }),
      fc.nat(9),
      fc.uint8Array({ minLength: 60 + 9, maxLength: 80 }),
      (ihl, off, buf) => {
        assert.equal(ip_fast_csum(buf, off, ihl), csum_fold(csum_partial(buf, off, ihl * 4, 0)));
      },
    ),
    { numRuns: 2000 },
  );
  // All ones: the largest sum a header can reach, and a header whose stored checksum is right.
  const ones = new Uint8Array(60).fill(0xff);
  assert.equal(ip_fast_csum(ones, 0, 15), csum_fold(csum_partial(ones, 0, 60, 0)));
  const h = Uint8Array.from([
    0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7,
  ]);
  assert.equal(ip_fast_csum(h, 0, 5), 0);
});
