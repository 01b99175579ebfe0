import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ARP_ETH_IP_LEN,
  ARPHRD_ETHER,
  ARPOP_REPLY,
  ARPOP_REQUEST,
  ArpPacket,
  ArpRepr,
} from '../../src/wire/arp.js';
import { ETH_HLEN, ETH_P_IP, MAC_BROADCAST } from '../../src/wire/ethernet.js';
import { FC, frame, hex, ip, toHex } from './fixtures.js';

test('the ARP request Linux broadcast for 10.0.0.9', () => {
  const f = frame('arp_request');
  const arp = new ArpPacket(f, ETH_HLEN);
  assert.equal(arp.check(), null);
  assert.equal(arp.hardwareType, ARPHRD_ETHER);
  assert.equal(arp.protocolType, ETH_P_IP);
  assert.equal(arp.hardwareLen, 6);
  assert.equal(arp.protocolLen, 4);
  assert.equal(arp.operation, ARPOP_REQUEST);
  assert.deepEqual(ArpRepr.parse(arp), {
    operation: ARPOP_REQUEST,
    senderHw: 0x020000000001,
    senderIp: ip('10.0.0.1'),
    targetHw: 0,
    targetIp: ip('10.0.0.9'),
  });
});

test('emit builds byte for byte the request and the reply Linux sent', () => {
  for (const name of ['arp_request', 'arp_reply'] as const) {
    const f = frame(name);
    const repr = ArpRepr.parse(new ArpPacket(f, ETH_HLEN)) as ArpRepr;
    const out = new Uint8Array(ArpRepr.bufferLen(repr));
    assert.equal(ArpRepr.emit(repr, out, 0), ARP_ETH_IP_LEN);
    assert.equal(toHex(out), toHex(f.subarray(ETH_HLEN, ETH_HLEN + ARP_ETH_IP_LEN)), name);
  }
  // The reply answers the request we sent from 10.0.0.2: target is our sender.
  const reply = ArpRepr.parse(new ArpPacket(frame('arp_reply'), ETH_HLEN)) as ArpRepr;
  assert.equal(reply.operation, ARPOP_REPLY);
  assert.equal(reply.senderIp, ip('10.0.0.1'));
  assert.equal(reply.targetHw, 0x020000000002);
  assert.equal(reply.targetIp, ip('10.0.0.2'));
});

test('setters write the fields in place', () => {
  const b = new Uint8Array(ARP_ETH_IP_LEN);
  const arp = new ArpPacket(b);
  arp.hardwareType = ARPHRD_ETHER;
  arp.protocolType = ETH_P_IP;
  arp.hardwareLen = 6;
  arp.protocolLen = 4;
  arp.operation = ARPOP_REPLY;
  arp.senderHw = MAC_BROADCAST;
  arp.senderIp = ip('1.2.3.4');
  arp.targetHw = 0x0a0b0c0d0e0f;
  arp.targetIp = ip('5.6.7.8');
  assert.equal(toHex(b), '0001080006040002ffffffffffff010203040a0b0c0d0e0f05060708');
  assert.equal(arp.check(), null);
});

test('every error: short, address lengths, hardware, protocol, operation', () => {
  const good = frame('arp_request').subarray(ETH_HLEN);
  const mutate = (at: number, v: number): Uint8Array => {
    const b = good.slice();
    b[at] = v;
    return b;
  };
  const chk = (b: Uint8Array): string | null => ArpPacket.check(b, 0, b.length);
  assert.equal(chk(good), null);
  assert.equal(chk(good.subarray(0, 27)), 'truncated');
  assert.equal(chk(hex('0001080006040001')), 'truncated');
  assert.equal(chk(mutate(4, 8)), 'bad-address-len');
  assert.equal(chk(mutate(5, 16)), 'bad-address-len');
  assert.equal(chk(mutate(1, 6)), null, 'ARPHRD_IEEE802 is accepted as Ethernet');
  assert.equal(chk(mutate(1, 2)), 'bad-hardware');
  assert.equal(chk(mutate(2, 0x86)), 'bad-protocol');
  assert.equal(chk(mutate(7, 3)), 'bad-operation');
  assert.equal(ArpRepr.parse(new ArpPacket(mutate(7, 0))), 'bad-operation');
});

test('parse → emit → parse is the identity on reprs', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(ARPOP_REQUEST, ARPOP_REPLY),
      fc.integer({ min: 0, max: MAC_BROADCAST }),
      fc.nat(0xffffffff),
      fc.integer({ min: 0, max: MAC_BROADCAST }),
      fc.nat(0xffffffff),
      (operation, senderHw, senderIp, targetHw, targetIp) => {
        const repr: ArpRepr = { operation, senderHw, senderIp, targetHw, targetIp };
        const buf = new Uint8Array(ARP_ETH_IP_LEN + 2);
        ArpRepr.emit(repr, buf, 2);
        assert.deepEqual(ArpRepr.parse(new ArpPacket(buf, 2)), repr);
      },
    ),
    FC,
  );
});
