import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ETH_HLEN } from '../../src/wire/ethernet.js';
import {
  ICMP_DEST_UNREACH,
  ICMP_ECHO,
  ICMP_ECHOREPLY,
  ICMP_ERROR_MIB,
  ICMP_EXC_TTL,
  ICMP_FRAG_NEEDED,
  ICMP_HLEN,
  ICMP_PARAMETERPROB,
  ICMP_PORT_UNREACH,
  ICMP_REDIR_HOST,
  ICMP_REDIRECT,
  ICMP_TIME_EXCEEDED,
  ICMP_TIMESTAMP,
  IcmpPacket,
  IcmpRepr,
  icmpErrorQuoteLen,
  icmpIsError,
} from '../../src/wire/icmp.js';
import { IPPROTO_UDP, Ipv4Packet } from '../../src/wire/ipv4.js';
import { FC, frame, hex, ip, linux, toHex } from './fixtures.js';

/** The ICMP message inside a captured frame. */
function icmpOf(f: Uint8Array): IcmpPacket {
  const p = new Ipv4Packet(f, ETH_HLEN);
  return new IcmpPacket(f, p.payloadOff, p.payloadLen);
}

function emitted(repr: IcmpRepr): Uint8Array {
  const out = new Uint8Array(IcmpRepr.bufferLen(repr));
  assert.equal(IcmpRepr.emit(repr, out, 0), out.length);
  return out;
}

const bytes = (p: IcmpPacket): string => toHex(p.buf.subarray(p.off, p.off + p.len));

test('constants have Linux values', () => {
  assert.deepEqual(
    [ICMP_ECHOREPLY, ICMP_DEST_UNREACH, ICMP_REDIRECT, ICMP_ECHO, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB],
    [0, 3, 5, 8, 11, 12],
  );
  assert.equal(ICMP_FRAG_NEEDED, 4);
  assert.equal(ICMP_HLEN, 8);
  assert.ok(icmpIsError(ICMP_DEST_UNREACH) && !icmpIsError(ICMP_ECHO) && !icmpIsError(ICMP_TIMESTAMP));
});

test('echo request and reply: Linux’s bytes from a repr typed by hand, checksum included', () => {
  const data = new TextEncoder().encode('usernet ping 0123');
  const req = icmpOf(frame('lo_echo_request'));
  assert.equal(req.check(), null);
  assert.equal(req.type, ICMP_ECHO);
  assert.equal(req.ident, 0x4d2);
  assert.equal(req.seq, 7);
  assert.deepEqual(IcmpRepr.parse(req), { kind: 'echo-request', ident: 0x4d2, seq: 7, data });
  // An odd number of bytes (25): the last one is padded for the sum.
  assert.equal(toHex(emitted({ kind: 'echo-request', ident: 0x4d2, seq: 7, data })), bytes(req));
  const rep = icmpOf(frame('lo_echo_reply'));
  assert.equal(toHex(emitted({ kind: 'echo-reply', ident: 0x4d2, seq: 7, data })), bytes(rep));
  // The kernel's reply to the request we sent on veth.
  const vrep = icmpOf(frame('veth_echo_reply'));
  const abc = new TextEncoder().encode('abcdefghijklmnopqrstuvwxyz');
  assert.deepEqual(IcmpRepr.parse(vrep), { kind: 'echo-reply', ident: 0xbeef, seq: 3, data: abc });
  assert.equal(toHex(emitted({ kind: 'echo-reply', ident: 0xbeef, seq: 3, data: abc })), bytes(vrep));
});

test('port unreachable quotes the datagram: on veth the whole of it', () => {
  const m = icmpOf(frame('veth_port_unreach'));
  const r = IcmpRepr.parse(m);
  assert.ok(typeof r === 'object' && r.kind === 'dest-unreach');
  assert.equal(r.code, ICMP_PORT_UNREACH);
  assert.equal(r.nextHopMtu, 0);
  const q = new Ipv4Packet(r.data);
  assert.equal(q.check(), null);
  assert.equal(q.src, ip('10.0.0.2'));
  assert.equal(q.dst, ip('10.0.0.1'));
  assert.equal(q.protocol, IPPROTO_UDP);
  assert.equal(q.ident, 0x0202);
  assert.equal(toHex(emitted(r)), bytes(m));
  assert.equal(icmpErrorQuoteLen(q.totalLen, 1500), r.data.length);
  const lo = IcmpRepr.parse(icmpOf(frame('lo_port_unreach')));
  assert.ok(typeof lo === 'object' && lo.kind === 'dest-unreach' && lo.code === ICMP_PORT_UNREACH);
  assert.equal(toHex(emitted(lo)), bytes(icmpOf(frame('lo_port_unreach'))));
});

test('fragmentation needed carries the next-hop MTU and at most 576 bytes in all', () => {
  const f = frame('frag_needed');
  const m = icmpOf(f);
  assert.equal(m.type, ICMP_DEST_UNREACH);
  assert.equal(m.code, ICMP_FRAG_NEEDED);
  assert.equal(m.nextHopMtu, 1280);
  assert.equal(m.rest, 1280);
  const r = IcmpRepr.parse(m);
  assert.ok(typeof r === 'object' && r.kind === 'dest-unreach');
  assert.equal(r.nextHopMtu, 1280);
  assert.equal(new Ipv4Packet(f, ETH_HLEN).totalLen, 576);
  assert.equal(r.data.length, 576 - 20 - 8);
  assert.equal(icmpErrorQuoteLen(1400, 1500), r.data.length);
  assert.equal(icmpErrorQuoteLen(33, 1500), 33);
  assert.equal(icmpErrorQuoteLen(1400, 1280, 8), 540);
  assert.equal(icmpErrorQuoteLen(100, 68), 40);
  assert.equal(icmpErrorQuoteLen(100, 20), -1);
  // The quote is cut short of the datagram's total length: checked as a quote, not a datagram.
  const q = new Ipv4Packet(r.data);
  assert.equal(q.check(), 'short-packet');
  assert.equal(q.totalLen, 1400);
  assert.equal(q.dontFrag, true);
  assert.equal(toHex(emitted(r)), bytes(m));
});

test('time exceeded and redirect, as Linux sent them', () => {
  const te = icmpOf(frame('time_exceeded'));
  const r1 = IcmpRepr.parse(te);
  assert.ok(typeof r1 === 'object' && r1.kind === 'time-exceeded');
  assert.equal(r1.code, ICMP_EXC_TTL);
  assert.equal(new Ipv4Packet(r1.data).ttl, 1);
  assert.equal(toHex(emitted(r1)), bytes(te));
  const rd = icmpOf(frame('redirect'));
  const r2 = IcmpRepr.parse(rd);
  assert.ok(typeof r2 === 'object' && r2.kind === 'redirect');
  assert.equal(r2.code, ICMP_REDIR_HOST);
  assert.equal(r2.gateway, ip('10.0.0.3'));
  assert.equal(rd.gateway, ip('10.0.0.3'));
  // Linux quotes the datagram as forwarded, its TTL already decremented.
  assert.equal(new Ipv4Packet(r2.data).ttl, 63);
  assert.equal(toHex(emitted(r2)), bytes(rd));
});

test('parameter problem carries the pointer in its first byte', () => {
  const c = linux.options.find((o) => o.reply && o.inHdrErrors && o.options.startsWith('07070300'));
  assert.ok(c && c.reply);
  const m = icmpOf(hex(c.reply));
  assert.equal(m.pointer, 22);
  const r = IcmpRepr.parse(m);
  assert.deepEqual(typeof r === 'object' && r.kind === 'param-problem' ? [r.code, r.pointer] : null, [0, 22]);
  assert.equal(toHex(emitted(r as IcmpRepr)), bytes(m));
});

test('setters write in place; the checksum covers the whole message', () => {
  const b = new Uint8Array(12);
  const m = new IcmpPacket(b);
  m.type = ICMP_ECHO;
  m.code = 0;
  m.ident = 0x1234;
  m.seq = 0x5678;
  b.set([1, 2, 3, 4], 8);
  m.fillChecksum();
  assert.equal(m.verifyChecksum(), true);
  assert.equal(m.check(), null);
  assert.equal(toHex(b.subarray(4, 8)), '12345678');
  m.rest = 0xdeadbeef;
  assert.equal(m.check(), 'bad-checksum');
  assert.equal(m.check(false), null);
  m.pointer = 7;
  assert.equal(b[4], 7);
  m.nextHopMtu = 1500;
  assert.equal(toHex(b.subarray(6, 8)), '05dc');
  m.gateway = ip('192.0.2.1');
  assert.equal(toHex(b.subarray(4, 8)), 'c0000201');
  m.checksum = 0xabcd;
  assert.equal(toHex(b.subarray(2, 4)), 'abcd');
  assert.equal(m.payloadLen, 4);
  assert.equal(m.reset(b, 4, 8).payloadLen, 0);
});

test('every error: truncated, bad checksum, unknown type, short quote', () => {
  const withSum = (b: Uint8Array): Uint8Array => {
    new IcmpPacket(b).fillChecksum();
    return b;
  };
  // Linux verifies the checksum over what arrived before it looks for a header.
  assert.equal(IcmpPacket.check(hex('0800f7ff'), 0, 4), 'truncated');
  assert.equal(IcmpPacket.check(hex('0800f7fe'), 0, 4), 'bad-checksum');
  assert.equal(IcmpPacket.check(hex(''), 0, 0), 'bad-checksum');
  assert.equal(IcmpPacket.check(hex('0800'), 0, 2, false), 'truncated');
  assert.equal(IcmpPacket.check(new Uint8Array(8), 0, 9, false), 'truncated');
  const echo = withSum(hex('0800000000010002'));
  assert.equal(IcmpPacket.check(echo, 0, 8), null);
  echo[7] ^= 1;
  assert.equal(IcmpPacket.check(echo, 0, 8), 'bad-checksum');
  assert.equal(IcmpRepr.parse(new IcmpPacket(echo)), 'bad-checksum');
  assert.equal(IcmpRepr.parse(new IcmpPacket(withSum(hex('1300000000000000')))), 'bad-type');
  assert.equal(typeof IcmpRepr.parse(new IcmpPacket(withSum(hex('1200000000000000')))), 'object');
  // Errors need the quoted IP header (IHL ≥ 5) and 8 bytes after it.
  const quote = new Ipv4Packet(frame('veth_port_unreach'), ETH_HLEN);
  const good = quote.payload().slice();
  assert.equal(typeof IcmpRepr.parse(new IcmpPacket(good)), 'object');
  const cut = withSum(good.slice(0, 8 + 27));
  assert.equal(IcmpRepr.parse(new IcmpPacket(cut)), 'bad-quote');
  const short = withSum(good.slice(0, 8 + 19));
  assert.equal(IcmpRepr.parse(new IcmpPacket(short)), 'bad-quote');
  const ihl4 = good.slice();
  ihl4[8] = 0x44;
  assert.equal(IcmpRepr.parse(new IcmpPacket(withSum(ihl4))), 'bad-quote');
  const ihl6 = good.slice(0, 8 + 28);
  ihl6[8] = 0x46;
  assert.equal(IcmpRepr.parse(new IcmpPacket(withSum(ihl6))), 'bad-quote');
  assert.equal(ICMP_ERROR_MIB['bad-checksum'], 'InCsumErrors');
});

const quoted = new Ipv4Packet(frame('veth_port_unreach'), ETH_HLEN).payload().slice(8);
const arbData = fc.uint8Array({ maxLength: 40 });
// fc.record() makes objects without a prototype; spread them into ordinary ones.
const arbIcmp: fc.Arbitrary<IcmpRepr> = fc
  .oneof(
    fc.record({
      kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const),
      ident: fc.nat(0xffff),
      seq: fc.nat(0xffff),
      data: arbData,
    }),
    fc.record({ code: fc.nat(15), mtu: fc.nat(0xffff) }).map(({ code, mtu }) => ({
      kind: 'dest-unreach' as const,
      code,
      nextHopMtu: code === ICMP_FRAG_NEEDED ? mtu : 0,
      data: quoted,
    })),
    fc.constant({ kind: 'source-quench' as const, data: quoted }),
    fc.record({
      kind: fc.constant('redirect' as const),
      code: fc.nat(3),
      gateway: fc.nat(0xffffffff),
      data: fc.constant(quoted),
    }),
    fc.record({ kind: fc.constant('time-exceeded' as const), code: fc.nat(1), data: fc.constant(quoted) }),
    fc.record({
      kind: fc.constant('param-problem' as const),
      code: fc.nat(2),
      pointer: fc.nat(255),
      data: fc.constant(quoted),
    }),
    fc.record({
      kind: fc.constant('other' as const),
      type: fc.constantFrom(1, 2, 6, 7, 9, 10, 13, 14, 15, 16, 17, 18),
      code: fc.nat(255),
      rest: fc.nat(0xffffffff),
      data: arbData,
    }),
  )
  .map((r) => ({ ...r }) as IcmpRepr);

test('parse → emit → parse is the identity on reprs', () => {
  fc.assert(
    fc.property(arbIcmp, fc.nat(3), (repr, at) => {
      const buf = new Uint8Array(at + IcmpRepr.bufferLen(repr));
      IcmpRepr.emit(repr, buf, at);
      const back = IcmpRepr.parse(new IcmpPacket(buf, at));
      assert.deepEqual(back, repr);
      // Without a checksum the message only parses unverified.
      IcmpRepr.emit(repr, buf, at, false);
      assert.deepEqual(IcmpRepr.parse(new IcmpPacket(buf, at), false), repr);
    }),
    FC,
  );
});
