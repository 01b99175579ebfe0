import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ip_compute_csum } from '../../src/wire/checksum.js';
import { ETH_HLEN } from '../../src/wire/ethernet.js';
import {
  INADDR_LOOPBACK,
  INET_ECN_CE,
  INET_ECN_ECT_0,
  INET_ECN_ECT_1,
  INET_ECN_NOT_ECT,
  IP_DF,
  IP_MF,
  IPOPT_END,
  IPOPT_LSRR,
  IPOPT_NOOP,
  IPOPT_RA,
  IPOPT_RR,
  IPOPT_TIMESTAMP,
  IPOPT_TS_PRESPEC,
  IPOPT_TS_TSANDADDR,
  IPOPT_TS_TSONLY,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_ERROR_MIB,
  Ipv4Packet,
  Ipv4Repr,
  in_aton,
  ipOptionsCompile,
  ipOptionsInit,
  ipv4Format,
  ipv4IsLbcast,
  ipv4IsLinkLocal,
  ipv4IsLocalMulticast,
  ipv4IsLoopback,
  ipv4IsMulticast,
  ipv4IsZeronet,
  ipv4OptionsList,
  ipv4OptRecordRoute,
  ipv4OptRouterAlert,
  ipv4OptSourceRoute,
  ipv4OptTimestamp,
  ipv4Parse,
  type Ipv4Error,
} from '../../src/wire/ipv4.js';
import { FC, frame, hex, ip, linux, toHex } from './fixtures.js';

test('constants have Linux values', () => {
  assert.equal(IPPROTO_ICMP, 1);
  assert.equal(IPPROTO_TCP, 6);
  assert.equal(IPPROTO_UDP, 17);
  assert.equal(IP_DF, 0x4000);
  assert.equal(IP_MF, 0x2000);
  assert.equal(IPOPT_RR, 7);
  assert.equal(IPOPT_TIMESTAMP, 68);
  assert.equal(IPOPT_LSRR, 131);
  assert.equal(IPOPT_RA, 148);
});

test('dotted quads parse as inet_pton does and format back', () => {
  assert.equal(ipv4Parse('127.0.0.1'), INADDR_LOOPBACK);
  assert.equal(ipv4Parse('255.255.255.255'), 0xffffffff);
  assert.equal(ipv4Parse('0.0.0.0'), 0);
  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '01.2.3.4',
    '1..2.3',
    '1.2.3.4 ',
    'a.b.c.d',
    '1.2.3.',
  ]) {
    assert.equal(ipv4Parse(bad), null, bad);
  }
  assert.equal(ipv4Format(0x0a000001), '10.0.0.1');
  assert.equal(ipv4Format(0xffffffff), '255.255.255.255');
  fc.assert(
    fc.property(fc.nat(0xffffffff), (a) => {
      assert.equal(ipv4Parse(ipv4Format(a)), a);
    }),
    FC,
  );
});

test('in_aton follows net/core/utils.c, garbage in garbage out', () => {
  assert.equal(in_aton('127.0.0.1'), 0x7f000001);
  assert.equal(in_aton('10.1'), 0x0a010000);
  assert.equal(in_aton('1.2.3.4.5'), 0x01020304);
  assert.equal(in_aton('1.2.3.4\n'), 0x01020304);
  assert.equal(in_aton(''), 0);
  // 256 in the first field spills into the next byte; the 32-bit shift drops the top.
  assert.equal(in_aton('256.1.1.1'), 0x00010101);
  // Letters are taken as digits: 'a' - '0' = 49.
  assert.equal(in_aton('a.b'), 0x31320000);
});

test('address classes', () => {
  assert.ok(ipv4IsMulticast(ip('224.0.0.1')) && ipv4IsMulticast(ip('239.255.255.255')));
  assert.ok(!ipv4IsMulticast(ip('240.0.0.1')) && !ipv4IsMulticast(ip('223.255.255.255')));
  assert.ok(ipv4IsLocalMulticast(ip('224.0.0.251')) && !ipv4IsLocalMulticast(ip('224.0.1.1')));
  assert.ok(ipv4IsLoopback(ip('127.1.2.3')) && !ipv4IsLoopback(ip('128.0.0.1')));
  assert.ok(ipv4IsLbcast(0xffffffff) && !ipv4IsLbcast(ip('10.255.255.255')));
  assert.ok(ipv4IsZeronet(ip('0.1.2.3')) && !ipv4IsZeronet(ip('1.0.0.0')));
  assert.ok(ipv4IsLinkLocal(ip('169.254.1.1')) && !ipv4IsLinkLocal(ip('169.253.1.1')));
});

test('the header of an echo request Linux sent on lo, field by field', () => {
  // 45 00 002d c470 4000 40 01 785d 7f000001 7f000001 (ident and checksum from the capture)
  const f = frame('lo_echo_request');
  const p = new Ipv4Packet(f, ETH_HLEN);
  assert.equal(p.check(), null);
  assert.equal(p.version, 4);
  assert.equal(p.ihl, 5);
  assert.equal(p.headerLen, 20);
  assert.equal(p.tos, 0);
  assert.equal(p.dscp, 0);
  assert.equal(p.ecn, 0);
  assert.equal(p.totalLen, f.length - ETH_HLEN);
  assert.equal(p.ident, (f[18] << 8) | f[19]);
  assert.equal(p.fragOff, IP_DF);
  assert.equal(p.dontFrag, true);
  assert.equal(p.moreFrags, false);
  assert.equal(p.fragOffset, 0);
  assert.equal(p.isFragment(), false);
  assert.equal(p.ttl, 64);
  assert.equal(p.protocol, IPPROTO_ICMP);
  assert.equal(p.checksum, (f[24] << 8) | f[25]);
  assert.equal(p.verifyChecksum(), true);
  assert.equal(p.src, INADDR_LOOPBACK);
  assert.equal(p.dst, INADDR_LOOPBACK);
  assert.equal(p.optionsLen, 0);
  assert.equal(p.payloadOff, ETH_HLEN + 20);
  assert.equal(p.payloadLen, 25);
  const pl = p.payload();
  assert.equal(pl.buffer, f.buffer);
  assert.equal(pl[0], 8);
});

test('ICMP errors from Linux carry TOS 0xc0 (IPTOS_PREC_INTERNETCONTROL)', () => {
  const p = new Ipv4Packet(frame('veth_port_unreach'), ETH_HLEN);
  assert.equal(p.tos, 0xc0);
  assert.equal(p.dscp, 0x30);
  assert.equal(p.ecn, 0);
  assert.equal(p.dontFrag, false);
});

test('fragments Linux made of a 2056-byte UDP datagram: MF, offsets, lengths', () => {
  const [a, b] = linux.veth_udp_fragments.map((h) => new Ipv4Packet(hex(h), ETH_HLEN));
  assert.equal(a.check(), null);
  assert.equal(b.check(), null);
  assert.equal(a.ident, b.ident);
  assert.equal(a.moreFrags, true);
  assert.equal(a.fragOffset, 0);
  assert.equal(a.isFragment(), true);
  assert.equal(b.moreFrags, false);
  assert.equal(b.fragOffset, a.payloadLen);
  assert.equal(b.isFragment(), true);
  assert.equal(a.payloadLen + b.payloadLen, 8 + 2048);
  assert.equal(a.totalLen, 1500);
});

const CAPTURED_IPV4 = [
  'lo_echo_request',
  'lo_echo_reply',
  'lo_udp_partial',
  'lo_port_unreach',
  'veth_udp_full',
  'veth_echo_reply',
  'veth_port_unreach',
  'frag_needed',
  'time_exceeded',
  'redirect',
] as const;

test('emit builds byte for byte the headers Linux built, checksums included', () => {
  const frames = [...CAPTURED_IPV4.map((n) => frame(n)), ...linux.veth_udp_fragments.map(hex)];
  for (const f of frames) {
    const repr = Ipv4Repr.parse(new Ipv4Packet(f, ETH_HLEN));
    assert.equal(typeof repr, 'object');
    const r = repr as Ipv4Repr;
    const out = new Uint8Array(Ipv4Repr.headerLen(r));
    assert.equal(Ipv4Repr.emit(r, out, 0), 20);
    assert.equal(toHex(out), toHex(f.subarray(ETH_HLEN, ETH_HLEN + 20)));
    assert.equal(Ipv4Repr.bufferLen(r), f.length - ETH_HLEN);
  }
});

test('a header written from a repr typed by hand matches the one Linux sent', () => {
  const f = frame('veth_udp_full');
  const p = new Ipv4Packet(f, ETH_HLEN);
  const repr: Ipv4Repr = {
    src: ip('10.0.0.1'),
    dst: ip('10.0.0.2'),
    protocol: IPPROTO_UDP,
    payloadLen: 8 + 11,
    ttl: 64,
    tos: 0,
    ident: p.ident,
    dontFrag: true,
    moreFrags: false,
    fragOffset: 0,
    options: new Uint8Array(0),
  };
  const out = new Uint8Array(20);
  Ipv4Repr.emit(repr, out, 0);
  assert.equal(toHex(out), toHex(f.subarray(ETH_HLEN, ETH_HLEN + 20)));
  // Without the checksum the field stays 0.
  Ipv4Repr.emit(repr, out, 0, false);
  assert.equal(new Ipv4Packet(out).checksum, 0);
});

test('options are padded with End of Options to a multiple of four and covered by the checksum', () => {
  const repr: Ipv4Repr = {
    ...Ipv4Repr.empty(),
    src: ip('10.0.0.2'),
    dst: ip('10.0.0.1'),
    protocol: IPPROTO_UDP,
    payloadLen: 0,
    options: ipv4OptRecordRoute(1),
  };
  assert.equal(Ipv4Repr.headerLen(repr), 28);
  const out = new Uint8Array(30).fill(0xee);
  assert.equal(Ipv4Repr.emit(repr, out, 0), 28);
  assert.equal(toHex(out.subarray(20, 28)), '0707040000000000');
  assert.equal(out[28], 0xee);
  const p = new Ipv4Packet(out, 0, 28);
  assert.equal(p.ihl, 7);
  assert.equal(p.check(), null);
  assert.equal(toHex(p.options()), '0707040000000000');
  const back = Ipv4Repr.parse(p) as Ipv4Repr;
  assert.equal(toHex(back.options), '0707040000000000');
  // More than 40 bytes of options are cut to 40.
  const long = { ...repr, options: new Uint8Array(44).fill(IPOPT_NOOP) };
  assert.equal(Ipv4Repr.headerLen(long), 60);
  const big = new Uint8Array(64);
  assert.equal(Ipv4Repr.emit(long, big, 0), 60);
  assert.equal(new Ipv4Packet(big).check(), null);
});

test('setters write the fields in place; reset re-points the view', () => {
  const b = new Uint8Array(40);
  const p = new Ipv4Packet(b, 10, 20);
  p.version = 4;
  p.ihl = 5;
  p.dscp = 46;
  p.ecn = INET_ECN_ECT_0;
  assert.equal(p.tos, 0xba);
  p.totalLen = 20;
  p.ident = 0xabcd;
  p.dontFrag = true;
  p.fragOffset = 1480;
  assert.equal(p.fragOff, IP_DF | 185);
  p.moreFrags = true;
  p.dontFrag = false;
  assert.equal(p.fragOff, IP_MF | 185);
  p.ttl = 1;
  p.protocol = IPPROTO_TCP;
  p.src = ip('192.0.2.1');
  p.dst = ip('198.51.100.2');
  p.fillChecksum();
  assert.equal(
    toHex(b.subarray(10, 30)),
    '45ba0014abcd20b90106' + toHex(b.subarray(20, 22)) + 'c0000201c6336402',
  );
  assert.equal(p.check(), null);
  p.tos = 0;
  assert.equal(p.check(), 'bad-checksum');
  const other = new Uint8Array(20);
  assert.equal(p.reset(other).check(), 'bad-version');
  assert.equal(p.off, 0);
});

test('every error code ip_rcv_core() has, in its order', () => {
  const good = frame('veth_udp_full').slice(ETH_HLEN);
  const n = good.length;
  const chk = (b: Uint8Array, len = b.length, csum = true): Ipv4Error | null =>
    Ipv4Packet.check(b, 0, len, csum);
  const edit = (f: (p: Ipv4Packet) => void, fix = true): Uint8Array => {
    const b = good.slice();
    const p = new Ipv4Packet(b);
    f(p);
    if (fix) p.fillChecksum();
    return b;
  };
  assert.equal(chk(good), null);
  assert.equal(chk(good, 19), 'truncated');
  assert.equal(chk(new Uint8Array(0)), 'truncated');
  assert.equal(
    chk(
      edit((p) => (p.version = 6)),
      n,
    ),
    'bad-version',
  );
  assert.equal(chk(edit((p) => (p.ihl = 4))), 'bad-ihl');
  assert.equal(chk(edit((p) => (p.ihl = 0))), 'bad-ihl');
  // IHL 15 wants 60 bytes of header; 20 are there.
  assert.equal(
    chk(
      edit((p) => (p.ihl = 15)),
      20,
    ),
    'truncated',
  );
  assert.equal(chk(edit((p) => (p.ttl = 1), false)), 'bad-checksum');
  assert.equal(
    chk(
      edit((p) => (p.ttl = 1), false),
      n,
      false,
    ),
    null,
  );
  assert.equal(chk(edit((p) => (p.totalLen = n + 1))), 'short-packet');
  assert.equal(chk(edit((p) => (p.totalLen = 19))), 'bad-length');
  // A length past the buffer is never trusted.
  assert.equal(Ipv4Packet.check(good, 0, n + 10), 'truncated');
  // Link-layer padding after the datagram is fine, and not part of the payload.
  const padded = new Uint8Array(n + 6);
  padded.set(good);
  const pp = new Ipv4Packet(padded);
  assert.equal(pp.check(), null);
  assert.equal(pp.payloadLen, n - 20);
  // Options Linux rejects make the repr 'bad-options'.
  const withOpts = new Uint8Array(28);
  Ipv4Repr.emit({ ...Ipv4Repr.empty(), options: hex('07020400') }, withOpts, 0);
  assert.equal(Ipv4Packet.check(withOpts, 0, 24), null);
  assert.equal(Ipv4Repr.parse(new Ipv4Packet(withOpts, 0, 24)), 'bad-options');
  for (const [b, e] of [
    [good.subarray(0, 10), 'truncated'],
    [edit((p) => (p.version = 5)), 'bad-version'],
    [edit((p) => (p.ihl = 3)), 'bad-ihl'],
    [edit((p) => (p.tos = 1), false), 'bad-checksum'],
    [edit((p) => (p.totalLen = 0xffff)), 'short-packet'],
    [edit((p) => (p.totalLen = 0)), 'bad-length'],
  ] as const) {
    assert.equal(Ipv4Repr.parse(new Ipv4Packet(b)), e);
  }
  assert.equal(IPV4_ERROR_MIB['short-packet'], 'InTruncatedPkts');
  assert.equal(IPV4_ERROR_MIB['bad-checksum'], 'InCsumErrors');
});

test('ECN CE marking patches the checksum (IP_ECN_set_ce)', () => {
  const f = frame('veth_udp_full').slice(ETH_HLEN);
  for (const ecn of [INET_ECN_NOT_ECT, INET_ECN_ECT_1, INET_ECN_ECT_0, INET_ECN_CE]) {
    const p = new Ipv4Packet(f.slice());
    p.ecn = ecn;
    p.dscp = 10;
    p.fillChecksum();
    const marked = p.setEcnCe();
    assert.equal(marked, ecn !== INET_ECN_NOT_ECT);
    assert.equal(p.ecn, ecn === INET_ECN_NOT_ECT ? INET_ECN_NOT_ECT : INET_ECN_CE);
    assert.equal(p.dscp, 10);
    assert.equal(p.verifyChecksum(), true);
  }
});

/** Where the options of a captured frame (from 10.0.0.2) start, and how long they are. */
function optionsOf(f: Uint8Array, at = ETH_HLEN): { off: number; len: number } {
  const p = new Ipv4Packet(f, at);
  return { off: p.optionsOff, len: p.optionsLen };
}

test('option errors: the pointer Linux answers with in its parameter problem, case by case', () => {
  assert.ok(linux.options.length >= 30);
  const opt = ipOptionsInit();
  for (const c of linux.options) {
    const sent = hex(c.sent);
    const o = optionsOf(sent, 0);
    const pointer = ipOptionsCompile(sent, o.off, o.len, opt, 'packet');
    const reply = c.reply ? hex(c.reply) : null;
    const outer = reply ? new Ipv4Packet(reply, ETH_HLEN) : null;
    const icmp = outer ? reply!.subarray(outer.payloadOff) : null;
    if (c.inHdrErrors) {
      // Rejected: Linux answered 12/0 with the pointer (or could not echo, and said nothing).
      assert.notEqual(pointer, 0, c.options);
      if (icmp) {
        assert.equal(icmp[0], 12, c.options);
        assert.equal(icmp[4], pointer, c.options);
      }
    } else {
      assert.equal(pointer, 0, c.options);
      if (icmp) assert.notEqual(icmp[0], 12, c.options);
    }
    // The repr agrees.
    const r = Ipv4Repr.parse(new Ipv4Packet(sent));
    assert.equal(r === 'bad-options', pointer !== 0, c.options);
  }
});

test('accepted options: the bytes Linux rewrote (record route, timestamps, overflow, blanking)', () => {
  const us = ip('10.0.0.1');
  const ctxFor = (time: number) => ({
    stamp: { specDst: us, time },
    isRemoteUnicast: (a: number) => a !== us,
  });
  let compared = 0;
  for (const c of linux.options) {
    if (!c.reply || c.inHdrErrors) continue;
    const reply = hex(c.reply);
    const outer = new Ipv4Packet(reply, ETH_HLEN);
    const icmp = reply.subarray(outer.payloadOff);
    if (icmp[0] !== 3) continue;
    // The port unreachable quotes the datagram as the kernel left it after compiling options.
    const quoted = icmp.subarray(8);
    const q = optionsOf(quoted, 0);
    const sent = hex(c.sent);
    const s = optionsOf(sent, 0);
    // The time is Linux's clock: find where we write it (it differs between two runs) and use
    // the value Linux wrote there.
    const a = sent.slice();
    const b = sent.slice();
    const opt = ipOptionsInit();
    assert.equal(ipOptionsCompile(a, s.off, s.len, opt, 'packet', ctxFor(0)), 0);
    const changedA = opt.isChanged;
    assert.equal(ipOptionsCompile(b, s.off, s.len, opt, 'packet', ctxFor(0xffffffff)), 0);
    let time = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) time = ((time << 8) | quoted[i]) >>> 0;
    }
    const mine = sent.slice();
    ipOptionsCompile(mine, s.off, s.len, opt, 'packet', ctxFor(time));
    assert.equal(
      toHex(mine.subarray(s.off, s.off + s.len)),
      toHex(quoted.subarray(q.off, q.off + q.len)),
      c.options,
    );
    // isChanged says exactly whether bytes changed.
    assert.equal(changedA, toHex(mine) !== c.sent, c.options);
    // Read only, nothing is written, and the same is learnt.
    const ro = sent.slice();
    const opt2 = ipOptionsInit();
    ipOptionsCompile(ro, s.off, s.len, opt2, 'packet', { isRemoteUnicast: (x: number) => x !== us });
    assert.equal(toHex(ro), c.sent);
    assert.deepEqual(opt2, opt);
    compared++;
  }
  assert.ok(compared >= 10, `compared ${compared}`);
});

test('what compiling a received packet learns', () => {
  const opt = ipOptionsInit();
  const b = new Uint8Array(40);
  b.set(ipv4OptRecordRoute(2), 0);
  b[11] = IPOPT_NOOP;
  b.set(ipv4OptTimestamp(IPOPT_TS_TSANDADDR, 2), 12);
  b.set(ipv4OptRouterAlert(), 32);
  b.set([IPOPT_NOOP, IPOPT_END], 36);
  assert.equal(ipOptionsCompile(b, 0, 40, opt), 0);
  assert.deepEqual(opt, {
    ...ipOptionsInit(),
    optlen: 40,
    rr: 20,
    rrNeedaddr: true,
    ts: 32,
    tsNeedtime: true,
    tsNeedaddr: true,
    routerAlert: 52,
    isChanged: true,
  });
  const sr = ipv4OptSourceRoute(true, [ip('10.0.0.3')]);
  assert.equal(ipOptionsCompile(sr, 0, sr.length, opt), 0);
  assert.equal(opt.srr, 20);
  assert.equal(opt.isStrictroute, true);
  assert.equal(opt.faddr, 0);
  // A router alert with a non-zero value is accepted but not a router alert for us.
  const ra = hex('94040001');
  assert.equal(ipOptionsCompile(ra, 0, 4, opt), 0);
  assert.equal(opt.routerAlert, 0);
  // A prespecified entry for a remote address is not ours to stamp.
  const ts = ipv4OptTimestamp(IPOPT_TS_PRESPEC, 1, [ip('10.0.0.9')]);
  assert.equal(ipOptionsCompile(ts, 0, ts.length, opt, 'packet', { isRemoteUnicast: () => true }), 0);
  assert.equal(opt.tsNeedtime, false);
  assert.equal(ipOptionsCompile(ts, 0, ts.length, opt, 'packet'), 0);
  assert.equal(opt.tsNeedtime, true);
});

test('IP_OPTIONS from a user: accepted or EINVAL as Linux decided, with CAP_NET_RAW', () => {
  assert.ok(linux.user_options.length >= 15);
  for (const c of linux.user_options) {
    // ip_options_get() pads the user's bytes with End of Options to a multiple of four.
    const raw = hex(c.options);
    const b = new Uint8Array((raw.length + 3) & ~3);
    b.set(raw);
    const opt = ipOptionsInit();
    const r = ipOptionsCompile(b, 0, b.length, opt, 'user', { capNetRaw: true });
    assert.equal(r === 0 ? 'ok' : 'EINVAL', c.result, c.options);
    // Without route, record route or timestamp, nothing is undone by getsockopt: the compiled
    // bytes are what Linux kept (a blanked tail included).
    if (r === 0 && !opt.srr && !opt.rr && !opt.ts) assert.equal(toHex(b), c.getsockopt, c.options);
  }
});

test('IP_OPTIONS from a user: first hop, pointers advanced, CAP_NET_RAW', () => {
  const opt = ipOptionsInit();
  const lsrr = ipv4OptSourceRoute(false, [ip('10.0.0.3'), ip('10.0.0.4'), ip('10.0.0.5')]);
  assert.equal(ipOptionsCompile(lsrr, 0, lsrr.length, opt, 'user'), 0);
  assert.equal(opt.faddr, ip('10.0.0.3'));
  assert.equal(opt.srr, 20);
  // The route moved down by one hop; its last slot keeps its old bytes (Linux's memmove).
  assert.equal(toHex(lsrr), '830f04' + '0a000004' + '0a000005' + '0a000005');
  const rr = ipv4OptRecordRoute(2);
  assert.equal(ipOptionsCompile(rr, 0, rr.length, opt, 'user'), 0);
  assert.equal(rr[2], 8, 'the first slot is left for the sender');
  assert.equal(opt.rrNeedaddr, true);
  const ts = ipv4OptTimestamp(IPOPT_TS_TSONLY, 2);
  assert.equal(ipOptionsCompile(ts, 0, ts.length, opt, 'user'), 0);
  assert.equal(ts[2], 9);
  // Security, unknown options and unknown timestamp flags need CAP_NET_RAW.
  const sec = hex('820b000000000000000000' + '00');
  assert.equal(ipOptionsCompile(sec.slice(), 0, 12, opt, 'user'), 20);
  assert.equal(ipOptionsCompile(sec.slice(), 0, 12, opt, 'user', { capNetRaw: true }), 0);
  const flag2 = hex('44080502000000' + '00');
  assert.equal(ipOptionsCompile(flag2.slice(), 0, 8, opt, 'user'), 23);
  assert.equal(ipOptionsCompile(flag2.slice(), 0, 8, opt, 'user', { capNetRaw: true }), 0);
  assert.equal(ipOptionsCompile(flag2.slice(), 0, 8, opt, 'packet'), 0);
  const cipso = hex('8606000000000000');
  assert.equal(ipOptionsCompile(cipso, 0, 8, opt, 'user'), 20);
  assert.equal(ipOptionsCompile(cipso, 0, 8, opt, 'user', { capNetRaw: true }), 21);
  // A user's source route must start at pointer 4 and hold whole addresses.
  assert.equal(ipOptionsCompile(hex('8307050a000001' + '00'), 0, 8, opt, 'packet'), 0);
  assert.equal(ipOptionsCompile(hex('8307050a000001' + '00'), 0, 8, opt, 'user'), 21);
});

test('options listed for tools', () => {
  const b = hex('0107070400000000' + '940400000000');
  const list = ipv4OptionsList(b, 0, b.length);
  assert.ok(list);
  assert.deepEqual(
    list.map((o) => [o.type, o.offset, toHex(o.data)]),
    [
      [IPOPT_NOOP, 0, ''],
      [IPOPT_RR, 1, '0400000000'],
      [IPOPT_RA, 8, '0000'],
    ],
  );
  // End of Options ends the list, whatever follows.
  const c = hex('94040000' + '00ff');
  assert.deepEqual(
    ipv4OptionsList(c, 0, c.length)!.map((o) => o.type),
    [IPOPT_RA],
  );
  assert.equal(ipv4OptionsList(hex('07'), 0, 1), null);
  assert.equal(ipv4OptionsList(hex('0709040000'), 0, 5), null);
  assert.equal(ipv4OptionsList(hex('0701'), 0, 2), null);
});

const arbRepr = fc.record({
  src: fc.nat(0xffffffff),
  dst: fc.nat(0xffffffff),
  protocol: fc.nat(255),
  payloadLen: fc.nat(64),
  ttl: fc.nat(255),
  tos: fc.nat(255),
  ident: fc.nat(0xffff),
  dontFrag: fc.boolean(),
  moreFrags: fc.boolean(),
  fragOffset: fc.nat(IP_MF - 1).map((n) => n * 8),
  options: fc.constantFrom(
    new Uint8Array(0),
    ipv4OptRecordRoute(3),
    ipv4OptRouterAlert(),
    ipv4OptTimestamp(IPOPT_TS_TSONLY, 4),
    Uint8Array.of(IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP),
  ),
});

test('parse → emit → parse is the identity on reprs', () => {
  fc.assert(
    fc.property(arbRepr, fc.nat(5), (repr, at) => {
      const buf = new Uint8Array(at + Ipv4Repr.bufferLen(repr));
      const hlen = Ipv4Repr.emit(repr, buf, at);
      const p = new Ipv4Packet(buf, at);
      assert.equal(p.check(), null);
      const back = Ipv4Repr.parse(p) as Ipv4Repr;
      // Options come back padded with End of Options to a multiple of four.
      const padded = new Uint8Array((repr.options.length + 3) & ~3);
      padded.set(repr.options);
      assert.deepEqual({ ...back, options: toHex(back.options) }, { ...repr, options: toHex(padded) });
      // emit again: the same bytes.
      const again = new Uint8Array(buf.length);
      Ipv4Repr.emit(back, again, at);
      assert.equal(toHex(again.subarray(at, at + hlen)), toHex(buf.subarray(at, at + hlen)));
      assert.equal(ip_compute_csum(buf, at, hlen), 0);
    }),
    FC,
  );
});
