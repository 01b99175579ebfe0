// Whatever arrives, no parser throws, and what a check accepts stays inside the bytes it was
// given (DESIGN.md, "Bad input"). Inputs are random bytes and Linux's own packets with bytes
// changed, cut short or extended.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ArpPacket, ArpRepr } from '../../src/wire/arp.js';
import { ETH_HLEN, ETH_P_ARP, ETH_P_IP, EthernetFrame, EthernetRepr } from '../../src/wire/ethernet.js';
import { IcmpPacket, IcmpRepr } from '../../src/wire/icmp.js';
import {
  IPPROTO_ICMP,
  IPPROTO_UDP,
  Ipv4Packet,
  Ipv4Repr,
  ipOptionsCompile,
  ipOptionsInit,
  ipv4OptionsList,
} from '../../src/wire/ipv4.js';
import { UdpPacket, UdpRepr } from '../../src/wire/udp.js';
import { FC, hex, linux } from './fixtures.js';

const captured: Uint8Array[] = [
  ...Object.entries(linux)
    .filter(([, v]) => typeof v === 'string')
    .map(([, v]) => hex(v as string)),
  ...linux.veth_udp_fragments.map(hex),
  // The datagrams with options, behind an Ethernet header.
  ...linux.options.map((c) => {
    const d = hex(c.sent);
    const f = new Uint8Array(ETH_HLEN + d.length);
    f[12] = 0x08;
    f.set(d, ETH_HLEN);
    return f;
  }),
];

/** A captured frame with some bytes replaced, then cut or extended. */
const mutated = fc
  .record({
    base: fc.constantFrom(...captured),
    edits: fc.array(fc.record({ at: fc.nat(), value: fc.nat(255) }), { maxLength: 6 }),
    resize: fc.integer({ min: -80, max: 16 }),
  })
  .map(({ base, edits, resize }) => {
    const b = new Uint8Array(Math.max(0, base.length + resize));
    b.set(base.subarray(0, b.length));
    for (const e of edits) if (b.length) b[e.at % b.length] = e.value;
    return b;
  });

const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 120 }), mutated);

// One view per layer, re-pointed for every packet, as the stack keeps them.
const eth = new EthernetFrame();
const arp = new ArpPacket();
const ip4 = new Ipv4Packet();
const icmp = new IcmpPacket();
const udp = new UdpPacket();
const opt = ipOptionsInit();

/** Everything a receive path could do with the bytes; returns how far it got. */
function receive(b: Uint8Array): string {
  eth.reset(b);
  if (eth.check()) return 'eth';
  EthernetRepr.parse(eth);
  if (eth.ethertype === ETH_P_ARP) {
    arp.reset(b, eth.payloadOff, eth.payloadLen);
    const e = arp.check();
    ArpRepr.parse(arp);
    return e ? 'arp-bad' : 'arp';
  }
  if (eth.ethertype !== ETH_P_IP) return 'other';
  ip4.reset(b, eth.payloadOff, eth.payloadLen);
  ip4.check(false);
  const e = ip4.check();
  // Getters on an unchecked view read garbage, never throw.
  void (ip4.src + ip4.dst + ip4.totalLen + ip4.fragOffset + ip4.payload().length + ip4.options().length);
  const r = Ipv4Repr.parse(ip4);
  if (e || typeof r === 'string') return 'ip-bad';
  assert.ok(ip4.payloadOff + ip4.payloadLen <= b.length);
  assert.ok(ip4.payloadOff >= ip4.off + 20);
  ipv4OptionsList(b, ip4.optionsOff, ip4.optionsLen);
  if (ip4.protocol === IPPROTO_ICMP) {
    icmp.reset(b, ip4.payloadOff, ip4.payloadLen);
    const ie = icmp.check();
    const ir = IcmpRepr.parse(icmp, false);
    IcmpRepr.parse(icmp);
    if (!ie)
      assert.ok(
        typeof ir !== 'string' || ir === 'bad-quote',
        'checked messages parse unless their quote is short',
      );
    return ie ? 'icmp-bad' : 'icmp';
  }
  if (ip4.protocol === IPPROTO_UDP) {
    udp.reset(b, ip4.payloadOff, ip4.payloadLen);
    const ue = udp.check(ip4.src, ip4.dst);
    const ur = UdpRepr.parse(udp);
    if (!ue) {
      assert.notEqual(typeof ur, 'string');
      assert.ok(udp.payloadOff + udp.payloadLen <= ip4.payloadOff + ip4.payloadLen);
    }
    return ue ? 'udp-bad' : 'udp';
  }
  return 'ip';
}

test('no bytes make any parser throw, at any layer', () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(anyBytes, (b) => {
      seen.add(receive(b));
    }),
    { ...FC, numRuns: 3000 },
  );
  // The mutations reach every layer, in good and bad shape.
  for (const k of ['eth', 'arp', 'arp-bad', 'ip-bad', 'icmp', 'icmp-bad', 'udp', 'udp-bad']) {
    assert.ok(seen.has(k), `never reached ${k}: ${[...seen].join(' ')}`);
  }
});

test('checks at any offset and length never throw and refuse lengths past the buffer', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 80 }),
      fc.integer({ min: -4, max: 100 }),
      fc.integer({ min: -4, max: 100 }),
      (b, off, len) => {
        const past = off < 0 || off + len > b.length;
        const results = [
          EthernetFrame.check(b, off, len),
          ArpPacket.check(b, off, len),
          Ipv4Packet.check(b, off, len),
          Ipv4Packet.check(b, off, len, false),
          IcmpPacket.check(b, off, len),
          IcmpPacket.check(b, off, len, false),
          UdpPacket.check(b, off, len),
          UdpPacket.check(b, off, len, 1, 2),
        ];
        if (past) for (const r of results) assert.equal(r, 'truncated');
      },
    ),
    { ...FC, numRuns: 1000 },
  );
});

test('option compiling never throws and writes only inside the options', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 40 }),
        // Mostly well-formed: option types Linux knows with plausible lengths and pointers.
        fc
          .array(
            fc.tuple(
              fc.constantFrom(0, 1, 7, 68, 130, 131, 134, 136, 137, 148, 153),
              fc.nat(12),
              fc.nat(12),
              fc.nat(255),
            ),
            { maxLength: 6 },
          )
          .map((opts) =>
            Uint8Array.from(
              opts.flatMap(([t, l, p, f]) => [t, l, p, f, 10, 0, 0, 1, 0, 0, 0, 0].slice(0, Math.max(1, l))),
            ).slice(0, 40),
          ),
      ),
      fc.constantFrom('packet' as const, 'user' as const),
      fc.boolean(),
      fc.boolean(),
      (opts, source, capNetRaw, stamp) => {
        const b = new Uint8Array(opts.length + 8).fill(0xa5);
        b.set(opts, 4);
        const ctx = {
          capNetRaw,
          stamp: stamp ? { specDst: 0x0a000001, time: 0x01020304 } : undefined,
          isRemoteUnicast: (a: number) => a === 0x0a000009,
        };
        const r = ipOptionsCompile(b, 4, opts.length, opt, source, ctx);
        assert.ok(r === 0 || (r >= 20 && r < 20 + opts.length), `pointer ${r}`);
        for (const i of [0, 1, 2, 3, b.length - 4, b.length - 3, b.length - 2, b.length - 1]) {
          assert.equal(b[i], 0xa5);
        }
        if (source === 'packet' && !stamp) assert.deepEqual(b.subarray(4, 4 + opts.length), opts);
        ipv4OptionsList(b, 4, opts.length);
      },
    ),
    { ...FC, numRuns: 2000 },
  );
});
