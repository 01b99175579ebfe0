import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ETH_HLEN } from '../../src/wire/ethernet.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import {
  TCP_ERROR_MIB,
  TCP_HLEN,
  TCPHDR_ACK,
  TCPHDR_AE,
  TCPHDR_CWR,
  TCPHDR_ECE,
  TCPHDR_FIN,
  TCPHDR_PSH,
  TCPHDR_RST,
  TCPHDR_SYN,
  TCPHDR_URG,
  TcpPacket,
  TcpRepr,
  emitTcpOptions,
  parseTcpOptions,
  tcpOptionsLen,
  type TcpOption,
  type TcpReprParse,
} from '../../src/wire/tcp.js';
import { FC, hex, ip, toHex } from './fixtures.js';

// Segments captured from Linux by test/wire/fixtures/tcp_capture.py (see its header).
const linux = JSON.parse(
  readFileSync(new URL('../../../test/wire/fixtures/tcp_linux.json', import.meta.url), 'utf8'),
) as Record<string, string>;

function seg(name: string): { ip: Ipv4Packet; tcp: TcpPacket } {
  const f = hex(linux[name]!);
  const p = new Ipv4Packet(f, ETH_HLEN);
  return { ip: p, tcp: new TcpPacket(f, p.payloadOff, p.payloadLen) };
}

function parsed(name: string): TcpReprParse & { ip: Ipv4Packet; tcp: TcpPacket } {
  const { ip: p, tcp } = seg(name);
  const r = TcpRepr.parse(tcp, p.src, p.dst);
  assert.equal(typeof r, 'object', `${name}: ${String(r)}`);
  return { ...(r as TcpReprParse), ip: p, tcp };
}

/** Build a segment from a repr and its data as the stack would: data first, header in front. */
function build(repr: TcpRepr, data: Uint8Array, src: number, dst: number): Uint8Array {
  const hlen = TcpRepr.headerLen(repr);
  const b = new Uint8Array(hlen + data.length);
  b.set(data, hlen);
  assert.equal(TcpRepr.emit(repr, b, 0, src, dst), hlen);
  return b;
}

const bytesOf = (t: TcpPacket): string => toHex(t.buf.subarray(t.off, t.off + t.len));
const LOCAL = ip('10.0.0.1');
const PEER = ip('10.0.0.2');

test('every segment Linux sent verifies and is rebuilt byte for byte from its repr', () => {
  const kernel = Object.keys(linux).filter((k) => !k.endsWith('_injected'));
  assert.ok(kernel.length >= 12);
  for (const name of [...kernel, 'synack_injected', 'fo_synack_injected', 'closed_syn_injected']) {
    const { repr, faults, ip: p, tcp } = parsed(name);
    assert.deepEqual(faults, [], name);
    assert.equal(tcp.verifyChecksum(p.src, p.dst), true, name);
    const again = build(repr, tcp.payload(), p.src, p.dst);
    assert.equal(toHex(again), bytesOf(tcp), name);
  }
});

test("Linux's SYN: MSS, SACK-permitted, timestamps, NOP, window scale 10", () => {
  const { repr, tcp } = parsed('syn');
  assert.equal(repr.srcPort, 40000);
  assert.equal(repr.dstPort, 5000);
  assert.equal(repr.flags, TCPHDR_SYN);
  assert.equal(repr.ackSeq, 0);
  assert.equal(repr.window, 64240);
  assert.equal(tcp.headerLen, 40);
  assert.equal(tcp.segLen, 1);
  const ts = repr.options[2];
  assert.ok(ts?.kind === 'timestamp');
  assert.equal(ts.ecr, 0);
  assert.deepEqual(repr.options, [
    { kind: 'mss', mss: 1460 },
    { kind: 'sack-permitted' },
    { kind: 'timestamp', val: ts.val, ecr: 0 },
    { kind: 'nop' },
    { kind: 'wscale', shift: 10 },
  ]);
});

test('the ACK and data segments: NOP NOP timestamps, PSH, the data', () => {
  const syn = parsed('syn').repr;
  const ack = parsed('ack');
  assert.equal(ack.repr.flags, TCPHDR_ACK);
  assert.equal(ack.repr.seq, (syn.seq + 1) >>> 0);
  assert.equal(ack.repr.ackSeq, 1000001);
  assert.deepEqual(
    ack.repr.options.map((o) => o.kind),
    ['nop', 'nop', 'timestamp'],
  );
  const data = parsed('data');
  assert.equal(data.repr.flags, TCPHDR_PSH | TCPHDR_ACK);
  assert.equal(data.repr.payloadLen, 10);
  assert.equal(new TextDecoder().decode(data.tcp.payload()), 'hello, tcp');
});

test('SACK blocks as Linux orders them, and a D-SACK block first', () => {
  const rcv = 1000001;
  const sack = (name: string) => {
    const o = parsed(name).repr.options.find((x) => x.kind === 'sack');
    assert.ok(o?.kind === 'sack');
    return o.blocks.map((b) => [b.left - rcv, b.right - rcv]);
  };
  assert.deepEqual(sack('sack1'), [[100, 200]]);
  assert.deepEqual(sack('sack2'), [
    [300, 400],
    [100, 200],
  ]);
  // After 0..100 arrived twice (the cumulative ACK is now 200): the duplicate reported first
  // (RFC 2883), then what is still out of order.
  assert.deepEqual(sack('dsack'), [
    [0, 100],
    [300, 400],
  ]);
  assert.equal(parsed('dsack').tcp.headerLen, 52);
});

test('URG with the urgent pointer, FIN, RST-ACK to a closed port', () => {
  const u = parsed('urg');
  assert.equal(u.repr.flags, TCPHDR_URG | TCPHDR_PSH | TCPHDR_ACK);
  assert.equal(u.repr.urgentPtr, 1);
  assert.equal(u.repr.payloadLen, 1);
  const f = parsed('fin');
  assert.equal(f.repr.flags, TCPHDR_FIN | TCPHDR_ACK);
  assert.equal(f.tcp.segLen, 1);
  const r = parsed('rst');
  assert.equal(r.repr.flags, TCPHDR_RST | TCPHDR_ACK);
  assert.equal(r.repr.seq, 0);
  assert.equal(r.repr.ackSeq, 556);
  assert.equal(r.repr.window, 0);
  assert.deepEqual(r.repr.options, []);
});

test('TCP-MD5: kind 19 with a 16-byte digest, first in the SYN', () => {
  const { repr } = parsed('md5_syn');
  assert.equal(repr.options[0]?.kind, 'nop');
  assert.equal(repr.options[1]?.kind, 'nop');
  const md5 = repr.options[2];
  assert.ok(md5?.kind === 'md5');
  assert.equal(md5.digest.length, 16);
  assert.deepEqual(
    repr.options.slice(3).map((o) => o.kind),
    ['mss', 'nop', 'nop', 'sack-permitted', 'nop', 'wscale'],
  );
});

test('Fast Open: a cookie request, the SYN-ACK giving one, the SYN carrying it and data', () => {
  const fo = (name: string) => parsed(name).repr.options.find((o) => o.kind === 'fastopen');
  const req = fo('fo_request_syn');
  assert.ok(req?.kind === 'fastopen');
  assert.equal(req.cookie.length, 0);
  const given = fo('fo_synack_injected');
  assert.ok(given?.kind === 'fastopen');
  assert.equal(toHex(given.cookie), '0123456789abcdef');
  const { repr, tcp } = parsed('fo_syn_data');
  const used = repr.options.find((o) => o.kind === 'fastopen');
  assert.ok(used?.kind === 'fastopen');
  assert.equal(toHex(used.cookie), '0123456789abcdef');
  assert.equal(repr.flags, TCPHDR_SYN);
  assert.equal(new TextDecoder().decode(tcp.payload()), 'fast open');
});

test('an ECN-setup SYN carries ECE and CWR', () => {
  const { repr, tcp } = parsed('ecn_syn');
  assert.equal(repr.flags, TCPHDR_SYN | TCPHDR_ECE | TCPHDR_CWR);
  assert.equal(tcp.ece && tcp.cwr && tcp.syn && !tcp.ae, true);
});

test('flag accessors: each of the nine bits alone, AE in the 13th byte', () => {
  const b = new Uint8Array(TCP_HLEN);
  const t = new TcpPacket(b);
  t.dataOffset = 5;
  const bits: [keyof TcpPacket & string, number][] = [
    ['fin', TCPHDR_FIN],
    ['syn', TCPHDR_SYN],
    ['rst', TCPHDR_RST],
    ['psh', TCPHDR_PSH],
    ['ack', TCPHDR_ACK],
    ['urg', TCPHDR_URG],
    ['ece', TCPHDR_ECE],
    ['cwr', TCPHDR_CWR],
    ['ae', TCPHDR_AE],
  ];
  for (const [name, bit] of bits) {
    (t as unknown as Record<string, boolean>)[name] = true;
    assert.equal(t.flags, bit, name);
    (t as unknown as Record<string, boolean>)[name] = false;
    assert.equal(t.flags, 0);
  }
  t.ae = true;
  assert.equal(b[12], 0x51);
  t.reserved = 7;
  assert.equal(b[12], 0x5f);
  assert.equal(t.ae, true);
  assert.equal(t.dataOffset, 5);
});

test('options round trip: every kind, unknown kinds kept raw', () => {
  const all: TcpOption[] = [
    { kind: 'mss', mss: 1460 },
    { kind: 'nop' },
    { kind: 'wscale', shift: 14 },
    { kind: 'sack-permitted' },
    { kind: 'sack', blocks: [{ left: 1, right: 0xffffffff }] },
    { kind: 'timestamp', val: 0xdeadbeef, ecr: 7 },
    { kind: 'md5', digest: new Uint8Array(16).fill(0xab) },
    { kind: 'fastopen', cookie: hex('0011223344556677') },
    { kind: 'fastopen-exp', cookie: hex('aabbccdd') },
    { kind: 'unknown', type: 30, data: hex('0102') },
    { kind: 'eol' },
  ];
  const n = tcpOptionsLen(all);
  const b = new Uint8Array(n);
  assert.equal(emitTcpOptions(all, b, 0), n);
  const back = parseTcpOptions(b, 0, n);
  assert.deepEqual(back.faults, []);
  assert.equal(back.consumed, n);
  assert.deepEqual(back.options, all);
  // The experimental kind with its magic, as written on the wire.
  const exp = toHex(b).indexOf('fe08f989aabbccdd');
  assert.ok(exp > 0);
  // Kind 254 without the Fast Open magic is somebody else's: raw, no fault.
  const other = parseTcpOptions(hex('fe061234abcd'), 0, 6);
  assert.deepEqual(other.options, [{ kind: 'unknown', type: 254, data: hex('1234abcd') }]);
  assert.deepEqual(other.faults, []);
});

test('malformed options are reported, never thrown', () => {
  // A length byte missing at the end.
  let r = parseTcpOptions(hex('010102'), 0, 3);
  assert.deepEqual(r.options, [{ kind: 'nop' }, { kind: 'nop' }]);
  assert.deepEqual(r.faults, [{ reason: 'truncated', at: 2, type: 2 }]);
  // An option running past the end.
  r = parseTcpOptions(hex('080a0000'), 0, 4);
  assert.deepEqual(r.faults, [{ reason: 'truncated', at: 0, type: 8 }]);
  assert.deepEqual(r.options, []);
  // A length below 2 stops the walk.
  r = parseTcpOptions(hex('0201ffff'), 0, 4);
  assert.deepEqual(r.faults, [{ reason: 'bad-length', at: 0, type: 2 }]);
  assert.equal(r.consumed, 0);
  // Known kinds with impossible lengths: kept raw, reported, the walk goes on.
  r = parseTcpOptions(hex('020305' + '0302' + '050600000000' + '01'), 0, 12);
  assert.deepEqual(r.options, [
    { kind: 'unknown', type: 2, data: hex('05') },
    { kind: 'unknown', type: 3, data: hex('') },
    { kind: 'unknown', type: 5, data: hex('00000000') },
    { kind: 'nop' },
  ]);
  assert.deepEqual(
    r.faults.map((f) => [f.reason, f.at, f.type]),
    [
      ['bad-length', 0, 2],
      ['bad-length', 3, 3],
      ['bad-length', 5, 5],
    ],
  );
  // Bytes after EOL are padding and not parsed.
  r = parseTcpOptions(hex('0000ff'), 0, 3);
  assert.deepEqual(r.options, [{ kind: 'eol' }]);
  assert.deepEqual(r.faults, []);
});

test('header checks: truncated, data offset, checksum; MIB names', () => {
  const { tcp, ip: p } = seg('data');
  const bytes = tcp.buf.slice(tcp.off, tcp.off + tcp.len);
  assert.equal(TcpPacket.check(bytes, 0, 19), 'truncated');
  assert.equal(TcpPacket.check(bytes, 0, bytes.length, p.src, p.dst), null);
  const bad = bytes.slice();
  bad[12] = 0x40; // 4 words
  assert.equal(TcpPacket.check(bad, 0, bad.length), 'bad-offset');
  bad[12] = 0xf0; // 60 bytes, more than the segment has
  assert.equal(TcpPacket.check(bad, 0, bad.length), 'bad-offset');
  const flipped = bytes.slice();
  flipped[flipped.length - 1] ^= 1;
  assert.equal(TcpPacket.check(flipped, 0, flipped.length, p.src, p.dst), 'bad-checksum');
  assert.equal(TcpPacket.check(flipped, 0, flipped.length), null);
  assert.equal(TcpRepr.parse(new TcpPacket(flipped), p.src, p.dst), 'bad-checksum');
  assert.equal(TCP_ERROR_MIB['bad-checksum'], 'InCsumErrors');
  // A view over garbage never throws.
  const v = new TcpPacket(new Uint8Array(3));
  assert.equal(v.check(), 'truncated');
  assert.equal(v.payloadLen, 0);
  assert.deepEqual(v.parseOptions().options, []);
});

test('partial checksum mode leaves the pseudo-header sum, as on loopback', () => {
  const repr: TcpRepr = {
    srcPort: 1,
    dstPort: 2,
    seq: 3,
    ackSeq: 0,
    flags: TCPHDR_SYN,
    window: 100,
    urgentPtr: 0,
    options: [{ kind: 'mss', mss: 536 }],
    reserved: 0,
    payloadLen: 0,
  };
  const b = new Uint8Array(24);
  TcpRepr.emit(repr, b, 0, LOCAL, PEER, 'partial');
  const t = new TcpPacket(b);
  assert.equal(t.verifyChecksum(LOCAL, PEER), false);
  t.fillChecksum(LOCAL, PEER);
  assert.equal(t.verifyChecksum(LOCAL, PEER), true);
  // Too many options: refused, nothing written.
  const big = { ...repr, options: Array.from({ length: 41 }, (): TcpOption => ({ kind: 'nop' })) };
  assert.equal(TcpRepr.emit(big, new Uint8Array(80), 0, LOCAL, PEER), -1);
});

test('property: emit then parse gives the repr back, and the checksum verifies', () => {
  const opt = fc.oneof(
    fc.constant<TcpOption>({ kind: 'nop' }),
    fc.integer({ min: 0, max: 0xffff }).map((mss): TcpOption => ({ kind: 'mss', mss })),
    fc.integer({ min: 0, max: 255 }).map((shift): TcpOption => ({ kind: 'wscale', shift })),
    fc.constant<TcpOption>({ kind: 'sack-permitted' }),
    fc
      .tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }))
      .map(([val, ecr]): TcpOption => ({ kind: 'timestamp', val, ecr })),
    fc
      .array(fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })), {
        minLength: 1,
        maxLength: 3,
      })
      .map((bl): TcpOption => ({ kind: 'sack', blocks: bl.map(([left, right]) => ({ left, right })) })),
    fc.uint8Array({ maxLength: 16 }).map((cookie): TcpOption => ({ kind: 'fastopen', cookie })),
  );
  fc.assert(
    fc.property(
      fc.record({
        srcPort: fc.nat({ max: 0xffff }),
        dstPort: fc.nat({ max: 0xffff }),
        seq: fc.nat({ max: 0xffffffff }),
        ackSeq: fc.nat({ max: 0xffffffff }),
        flags: fc.nat({ max: 0x1ff }),
        window: fc.nat({ max: 0xffff }),
        urgentPtr: fc.nat({ max: 0xffff }),
        options: fc.array(opt, { maxLength: 6 }),
        reserved: fc.nat({ max: 7 }),
      }),
      fc.uint8Array({ maxLength: 64 }),
      (r, data) => {
        // Pad to a word with NOPs in front, as Linux lays options out.
        const pad = (4 - (tcpOptionsLen(r.options) % 4)) % 4;
        const repr: TcpRepr = {
          ...r,
          options: [...Array.from({ length: pad }, (): TcpOption => ({ kind: 'nop' })), ...r.options],
          payloadLen: data.length,
        };
        if (TcpRepr.headerLen(repr) > 60) return;
        const b = build(repr, data, LOCAL, PEER);
        const back = TcpRepr.parse(new TcpPacket(b), LOCAL, PEER);
        assert.equal(typeof back, 'object');
        assert.deepEqual((back as TcpReprParse).repr, repr);
        assert.deepEqual((back as TcpReprParse).faults, []);
      },
    ),
    FC,
  );
});

test('property: random option bytes never throw and account for every byte or a fault', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      const r = parseTcpOptions(b, 0, b.length);
      const stoppedEarly = r.consumed < b.length;
      const endedAtEol = r.options.at(-1)?.kind === 'eol';
      assert.ok(!stoppedEarly || endedAtEol || r.faults.length > 0);
    }),
    FC,
  );
});
