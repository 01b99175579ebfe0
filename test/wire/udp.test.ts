import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { csum_partial, csum_tcpudp_magic } from '../../src/wire/checksum.js';
import { ETH_HLEN } from '../../src/wire/ethernet.js';
import { IPPROTO_UDP, Ipv4Packet } from '../../src/wire/ipv4.js';
import { UDP_ERROR_MIB, UDP_HLEN, UdpPacket, UdpRepr, type UdpChecksumMode } from '../../src/wire/udp.js';
import { FC, frame, hex, ip, linux, toHex } from './fixtures.js';

function udpOf(f: Uint8Array, at = ETH_HLEN): { ip: Ipv4Packet; udp: UdpPacket } {
  const p = new Ipv4Packet(f, at);
  return { ip: p, udp: new UdpPacket(f, p.payloadOff, p.payloadLen) };
}

/** A datagram built the way the stack builds one: data first, then the header in front of it. */
function build(
  repr: UdpRepr,
  data: Uint8Array,
  src: number,
  dst: number,
  mode?: UdpChecksumMode,
): Uint8Array {
  const b = new Uint8Array(UdpRepr.bufferLen(repr));
  b.set(data, UDP_HLEN);
  assert.equal(UdpRepr.emit(repr, b, 0, src, dst, mode), UDP_HLEN);
  return b;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

test('a datagram Linux checksummed in software: same bytes from a repr typed by hand', () => {
  const f = frame('veth_udp_full');
  const { ip: p, udp } = udpOf(f);
  assert.equal(udp.check(p.src, p.dst), null);
  assert.equal(udp.srcPort, 40001);
  assert.equal(udp.dstPort, 7);
  assert.equal(udp.length, 8 + 11);
  assert.deepEqual(udp.payload(), text('hello, wire'));
  assert.deepEqual(UdpRepr.parse(udp, p.src, p.dst), { srcPort: 40001, dstPort: 7, payloadLen: 11 });
  const b = build({ srcPort: 40001, dstPort: 7, payloadLen: 11 }, text('hello, wire'), p.src, p.dst);
  assert.equal(toHex(b), toHex(udp.buf.subarray(udp.off, udp.off + udp.len)));
  assert.equal(udp.checksum, 0x1c95);
});

test('on lo Linux leaves the checksum partial: emit "partial" gives the same bytes', () => {
  const f = frame('lo_udp_partial');
  const { ip: p, udp } = udpOf(f);
  const b = build(
    { srcPort: 40000, dstPort: 9, payloadLen: 14 },
    text('hello, usernet'),
    p.src,
    p.dst,
    'partial',
  );
  assert.equal(toHex(b), toHex(udp.buf.subarray(udp.off, udp.off + udp.len)));
  // Such a datagram does not verify: the receiver must trust the loopback and not check.
  assert.equal(udp.check(p.src, p.dst), 'bad-checksum');
  assert.equal(udp.check(), null);
  assert.equal(typeof UdpRepr.parse(udp), 'object');
});

test('the UDP checksum of a fragmented datagram covers all of it', () => {
  const [a, b] = linux.veth_udp_fragments.map((h) => new Ipv4Packet(hex(h), ETH_HLEN));
  const whole = new Uint8Array(a.payloadLen + b.payloadLen);
  whole.set(a.payload(), 0);
  whole.set(b.payload(), b.fragOffset);
  const udp = new UdpPacket(whole);
  assert.equal(udp.length, whole.length);
  assert.equal(udp.check(a.src, a.dst), null);
  assert.equal(udp.verifyChecksum(a.src, a.dst), true);
  // The first fragment alone is short of the length its header states.
  assert.equal(new UdpPacket(a.payload()).check(), 'bad-length');
});

test('checksums computed by the capture script verify (the datagrams it sent)', () => {
  for (const c of linux.options) {
    const sent = hex(c.sent);
    const { ip: p, udp } = udpOf(sent, 0);
    assert.equal(udp.check(p.src, p.dst), null);
  }
  // And the one Linux quoted back in its port unreachable.
  const q = new Ipv4Packet(frame('veth_port_unreach'), ETH_HLEN).payload().subarray(8);
  const { ip: qp, udp } = udpOf(q, 0);
  assert.equal(udp.check(qp.src, qp.dst), null);
  assert.deepEqual(udp.payload(), text('knock'));
});

test('no checksum: 0 means none over IPv4, and a computed 0 is sent as 0xffff', () => {
  const src = ip('10.0.0.1');
  const dst = ip('10.0.0.2');
  const none = build({ srcPort: 1, dstPort: 2, payloadLen: 3 }, text('abc'), src, dst, 'none');
  assert.equal(new UdpPacket(none).checksum, 0);
  assert.equal(new UdpPacket(none).check(src, dst), null);
  assert.equal(new UdpPacket(none).verifyChecksum(src, dst), true);
  // Find two data bytes that make the checksum compute to 0.
  const data = new Uint8Array(2);
  const repr = { srcPort: 1234, dstPort: 5678, payloadLen: 2 };
  const probe = build(repr, data, src, dst);
  probe[6] = probe[7] = 0;
  const s = csum_tcpudp_magic(src, dst, 10, IPPROTO_UDP, csum_partial(probe, 0, 10, 0));
  // Adding s to the data makes the sum all ones: checksum 0.
  data[0] = s >>> 8;
  data[1] = s & 0xff;
  const zero = build(repr, data, src, dst);
  assert.equal(new UdpPacket(zero).checksum, 0xffff);
  assert.equal(new UdpPacket(zero).check(src, dst), null);
});

test('every error: truncated, bad length both ways, bad checksum', () => {
  const src = ip('192.0.2.1');
  const dst = ip('192.0.2.2');
  const good = build({ srcPort: 7, dstPort: 7, payloadLen: 4 }, text('ping'), src, dst);
  assert.equal(UdpPacket.check(good, 0, good.length, src, dst), null);
  assert.equal(UdpPacket.check(good, 0, 7), 'truncated');
  assert.equal(UdpPacket.check(good, 4, good.length), 'truncated');
  // The IP payload is shorter than the length field: short_packet.
  assert.equal(UdpPacket.check(good, 0, 11), 'bad-length');
  const low = good.slice();
  new UdpPacket(low).length = 7;
  assert.equal(UdpPacket.check(low, 0, low.length), 'bad-length');
  // More bytes than the length field: the rest is not part of the datagram.
  const padded = new Uint8Array(good.length + 5).fill(0xaa);
  padded.set(good);
  const pp = new UdpPacket(padded);
  assert.equal(pp.check(src, dst), null);
  assert.equal(pp.payloadLen, 4);
  const bad = good.slice();
  bad[9] ^= 0x20;
  assert.equal(UdpPacket.check(bad, 0, bad.length, src, dst), 'bad-checksum');
  assert.equal(UdpPacket.check(bad, 0, bad.length), null);
  assert.equal(UdpRepr.parse(new UdpPacket(bad), src, dst), 'bad-checksum');
  // A different pseudo-header is a different checksum.
  assert.equal(UdpPacket.check(good, 0, good.length, src, ip('192.0.2.3')), 'bad-checksum');
  assert.equal(UDP_ERROR_MIB['bad-length'], 'InErrors');
});

test('setters write in place; fillChecksum per mode', () => {
  const b = new Uint8Array(12);
  const u = new UdpPacket(b);
  u.srcPort = 53;
  u.dstPort = 33000;
  u.length = 12;
  b.set(text('abcd'), 8);
  u.fillChecksum(1, 2);
  assert.equal(u.verifyChecksum(1, 2), true);
  u.fillChecksum(1, 2, 'none');
  assert.equal(u.checksum, 0);
  u.checksum = 0x1234;
  assert.equal(toHex(b.subarray(0, 8)), '003580e8000c1234');
  assert.equal(u.reset(b, 2, 10).srcPort, 0x80e8);
});

test('parse → emit → parse is the identity on reprs, and the checksum verifies', () => {
  fc.assert(
    fc.property(
      fc.nat(0xffff),
      fc.nat(0xffff),
      fc.uint8Array({ maxLength: 100 }),
      fc.nat(0xffffffff),
      fc.nat(0xffffffff),
      (srcPort, dstPort, data, src, dst) => {
        const repr: UdpRepr = { srcPort, dstPort, payloadLen: data.length };
        const b = build(repr, data, src, dst);
        const u = new UdpPacket(b);
        assert.deepEqual(UdpRepr.parse(u, src, dst), repr);
        assert.notEqual(u.checksum, 0);
        assert.deepEqual(u.payload(), data);
      },
    ),
    FC,
  );
});
