import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPcap, writePcap, LINKTYPE_ETHERNET, PCAP_MAGIC_NSEC } from '../../src/tools/pcap.js';
import {
  readPcapng,
  writePcapng,
  EPB_DIR_INBOUND,
  EPB_DIR_OUTBOUND,
  EPB_RECEPTION_BROADCAST,
} from '../../src/tools/pcapng.js';

const pkt = (n: number, len: number) => Uint8Array.from({ length: len }, (_, i) => (n + i) & 0xff);

test('pcap: the file header is the classic little-endian one (µs magic, v2.4, snaplen, LINKTYPE_ETHERNET)', () => {
  const b = writePcap([]);
  assert.deepEqual(
    Array.from(b),
    [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0],
  );
});

test('pcap: records carry seconds, microseconds, caplen and origlen; the reader gets them back', () => {
  const b = writePcap(
    [
      { tsNs: 1_500_123_456, data: pkt(1, 60), origLen: 60 },
      { tsNs: 2_000_000_999, data: pkt(2, 42), origLen: 42 },
    ],
    { epochSec: 0 },
  );
  assert.equal(b.length, 24 + 16 + 60 + 16 + 42);
  assert.equal(b.readUInt32LE(24), 1);
  assert.equal(b.readUInt32LE(28), 500_123); // µs, truncated
  assert.equal(b.readUInt32LE(32), 60);
  assert.equal(b.readUInt32LE(36), 60);
  const f = readPcap(b);
  assert.equal(f.linktype, LINKTYPE_ETHERNET);
  assert.equal(f.resolution, 'us');
  assert.equal(f.packets.length, 2);
  assert.equal(f.packets[0].tsNs, 1_500_123_000);
  assert.deepEqual(f.packets[1].data, pkt(2, 42));
});

test('pcap: nanosecond files use the 0xa1b23c4d magic and keep every nanosecond', () => {
  const b = writePcap([{ tsNs: 3_000_000_007, data: pkt(0, 20), origLen: 20 }], { resolution: 'ns' });
  assert.equal(b.readUInt32LE(0), PCAP_MAGIC_NSEC);
  assert.equal(b.readUInt32LE(28), 7);
  const f = readPcap(b);
  assert.equal(f.resolution, 'ns');
  assert.equal(f.packets[0].tsNs, 3_000_000_007);
});

test('pcap: the snap length cuts what is stored, not the original length', () => {
  const b = writePcap([{ tsNs: 0, data: pkt(0, 100), origLen: 100 }], { snaplen: 64 });
  const f = readPcap(b);
  assert.equal(f.snaplen, 64);
  assert.equal(f.packets[0].data.length, 64);
  assert.equal(f.packets[0].origLen, 100);
});

test('pcap: a truncated file is refused by the reader', () => {
  const b = writePcap([{ tsNs: 0, data: pkt(0, 50), origLen: 50 }]);
  assert.throws(() => readPcap(b.subarray(0, b.length - 1)), /truncated/);
  assert.throws(() => readPcap(new Uint8Array(24)), /magic/);
});

test('pcapng: SHB, IDBs with if_name and if_tsresol=9, EPBs padded to 32 bits with epb_flags', () => {
  const b = writePcapng(
    [{ name: 'eth0' }, { name: 'lo', description: 'loopback' }],
    [
      { ifIndex: 0, tsNs: 1_000_000_001, data: pkt(5, 43), origLen: 43, flags: EPB_DIR_OUTBOUND },
      {
        ifIndex: 1,
        tsNs: 7,
        data: pkt(6, 42),
        origLen: 42,
        flags: EPB_DIR_INBOUND | EPB_RECEPTION_BROADCAST,
      },
    ],
  );
  assert.equal(b.readUInt32LE(0), 0x0a0d0d0a);
  assert.equal(b.readUInt32LE(8), 0x1a2b3c4d);
  // Every block is a multiple of 4 and its trailing length matches.
  let off = 0;
  const types: number[] = [];
  while (off < b.length) {
    const len = b.readUInt32LE(off + 4);
    assert.equal(len % 4, 0);
    assert.equal(b.readUInt32LE(off + len - 4), len);
    types.push(b.readUInt32LE(off));
    off += len;
  }
  assert.equal(off, b.length);
  assert.deepEqual(types, [0x0a0d0d0a, 1, 1, 6, 6]);
  const f = readPcapng(b);
  assert.equal(f.application, 'usernet');
  assert.deepEqual(
    f.interfaces.map((i) => [i.name, i.description, i.linktype, i.tsresol, i.snaplen]),
    [
      ['eth0', null, 1, 9, 262144],
      ['lo', 'loopback', 1, 9, 262144],
    ],
  );
  assert.equal(f.packets[0].tsNs, 1_000_000_001);
  assert.equal(f.packets[0].flags, EPB_DIR_OUTBOUND);
  assert.deepEqual(f.packets[0].data, pkt(5, 43));
  assert.equal(f.packets[1].ifIndex, 1);
  assert.equal(f.packets[1].flags, EPB_DIR_INBOUND | EPB_RECEPTION_BROADCAST);
});

test('pcapng: microsecond resolution writes no if_tsresol and µs timestamps', () => {
  const b = writePcapng(
    [{ name: 'x' }],
    [{ ifIndex: 0, tsNs: 2_000_123_456, data: pkt(0, 10), origLen: 10 }],
    {
      resolution: 'us',
    },
  );
  const f = readPcapng(b);
  assert.equal(f.interfaces[0].tsresol, 6);
  assert.equal(f.packets[0].tsNs, 2_000_123_000);
  assert.equal(f.packets[0].flags, 0);
});

test('pcapng: a damaged file is refused by the reader', () => {
  const b = writePcapng([{ name: 'x' }], [{ ifIndex: 0, tsNs: 0, data: pkt(0, 10), origLen: 10 }]);
  assert.throws(() => readPcapng(b.subarray(0, b.length - 4)), /length/);
  const c = Buffer.from(b);
  c.writeUInt32LE(3, c.length - 44 + 8); // the EPB (44 bytes) names interface 3, which is not there
  assert.throws(() => readPcapng(c), /unknown interface 3/);
});
