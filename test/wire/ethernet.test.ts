import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ETH_HLEN,
  ETH_P_ARP,
  ETH_P_IP,
  ETH_P_IPV6,
  EthernetFrame,
  EthernetRepr,
  MAC_BROADCAST,
  macFormat,
  macFromIpv4Multicast,
  macIsBroadcast,
  macIsLocallyAdministered,
  macIsMulticast,
  macIsUnicast,
  macParse,
  macRead,
  macWrite,
} from '../../src/wire/ethernet.js';
import { FC, frame, ip, toHex } from './fixtures.js';

test('constants have Linux values', () => {
  assert.equal(ETH_HLEN, 14);
  assert.equal(ETH_P_IP, 0x0800);
  assert.equal(ETH_P_ARP, 0x0806);
  assert.equal(ETH_P_IPV6, 0x86dd);
});

test('MAC addresses parse and format as "aa:bb:cc:dd:ee:ff"', () => {
  assert.equal(macParse('02:00:00:00:00:01'), 0x020000000001);
  assert.equal(macParse('FF-FF-FF-FF-FF-FF'), MAC_BROADCAST);
  assert.equal(macParse('0:1:2:3:4:5'), 0x000102030405);
  for (const bad of [
    '',
    '02:00:00:00:00',
    '02:00:00:00:00:01:02',
    '02:00:00:00:00:0g',
    '02:00:00:00:00:100',
  ]) {
    assert.equal(macParse(bad), null, bad);
  }
  assert.equal(macFormat(0x020000000001), '02:00:00:00:00:01');
  assert.equal(macFormat(MAC_BROADCAST), 'ff:ff:ff:ff:ff:ff');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: MAC_BROADCAST }), (mac) => {
      assert.equal(macParse(macFormat(mac)), mac);
      const b = new Uint8Array(8);
      macWrite(b, 1, mac);
      assert.equal(macRead(b, 1), mac);
      assert.equal(b[0], 0);
      assert.equal(b[7], 0);
    }),
    FC,
  );
});

test('broadcast, multicast, unicast and locally administered addresses', () => {
  assert.ok(macIsBroadcast(MAC_BROADCAST));
  assert.ok(macIsMulticast(MAC_BROADCAST));
  assert.ok(macIsMulticast(macParse('01:00:5e:00:00:01')!));
  assert.ok(macIsMulticast(macParse('33:33:00:00:00:01')!));
  assert.ok(!macIsMulticast(macParse('02:00:00:00:00:01')!));
  assert.ok(macIsUnicast(macParse('02:00:00:00:00:01')!));
  assert.ok(!macIsUnicast(0));
  assert.ok(!macIsUnicast(MAC_BROADCAST));
  assert.ok(macIsLocallyAdministered(macParse('02:00:00:00:00:01')!));
  assert.ok(!macIsLocallyAdministered(macParse('00:16:3e:00:00:01')!));
  // RFC 1112 §6.4: 224.128.1.2 → 01:00:5e:00:01:02 (the 24th bit is dropped).
  assert.equal(macFormat(macFromIpv4Multicast(ip('224.128.1.2'))), '01:00:5e:00:01:02');
  assert.equal(macFormat(macFromIpv4Multicast(ip('239.255.255.250'))), '01:00:5e:7f:ff:fa');
});

test('a frame Linux sent on veth: addresses, type, payload without copying', () => {
  const f = frame('veth_udp_full');
  const eth = new EthernetFrame(f);
  assert.equal(eth.check(), null);
  assert.equal(macFormat(eth.dst), '02:00:00:00:00:02');
  assert.equal(macFormat(eth.src), '02:00:00:00:00:01');
  assert.equal(eth.ethertype, ETH_P_IP);
  assert.equal(eth.payloadOff, 14);
  assert.equal(eth.payloadLen, f.length - 14);
  const p = eth.payload();
  assert.equal(p.buffer, f.buffer);
  assert.equal(p.byteOffset, f.byteOffset + 14);
  const r = EthernetRepr.parse(eth);
  assert.deepEqual(r, { dst: 0x020000000002, src: 0x020000000001, ethertype: ETH_P_IP });
  const out = new Uint8Array(14);
  assert.equal(EthernetRepr.emit(r as EthernetRepr, out, 0), 14);
  assert.equal(toHex(out), toHex(f.subarray(0, 14)));
});

test('the ARP broadcast Linux sent: the destination is ff:ff:ff:ff:ff:ff', () => {
  const eth = new EthernetFrame(frame('arp_request'));
  assert.ok(macIsBroadcast(eth.dst));
  assert.equal(eth.ethertype, ETH_P_ARP);
});

test('setters write in place and the view can be re-pointed', () => {
  const a = new Uint8Array(20);
  const b = new Uint8Array(30);
  const eth = new EthernetFrame(a);
  eth.dst = MAC_BROADCAST;
  eth.src = 0x020000000001;
  eth.ethertype = ETH_P_ARP;
  assert.equal(toHex(a.subarray(0, 14)), 'ffffffffffff0200000000010806');
  eth.reset(b, 10, 20);
  eth.ethertype = ETH_P_IPV6;
  assert.equal(b[22], 0x86);
  assert.equal(b[23], 0xdd);
  assert.equal(eth.payload().length, 6);
});

test('fewer than 14 bytes is truncated, and so is a length past the buffer', () => {
  assert.equal(EthernetFrame.check(new Uint8Array(13), 0, 13), 'truncated');
  assert.equal(EthernetFrame.check(new Uint8Array(14), 0, 14), null);
  assert.equal(EthernetFrame.check(new Uint8Array(14), 1, 14), 'truncated');
  assert.equal(EthernetRepr.parse(new EthernetFrame(new Uint8Array(5))), 'truncated');
});

test('parse → emit → parse is the identity on reprs', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: MAC_BROADCAST }),
      fc.integer({ min: 0, max: MAC_BROADCAST }),
      fc.nat(0xffff),
      (dst, src, ethertype) => {
        const repr: EthernetRepr = { dst, src, ethertype };
        const buf = new Uint8Array(EthernetRepr.headerLen(repr) + 3);
        EthernetRepr.emit(repr, buf, 3);
        assert.deepEqual(EthernetRepr.parse(new EthernetFrame(buf, 3)), repr);
      },
    ),
    FC,
  );
});
