// Bad input on a live connection: 20,000 segments with a valid checksum but random flags (no
// RST), random sequence and acknowledgement numbers (some near the live ones), random header
// lengths and random option bytes, none carrying data. The kernel must count and drop or answer
// them without an exception, and the connection must still carry data both ways afterwards.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { csum_partial, csum_tcpudp_magic, ip_fast_csum } from '../../src/wire/checksum.js';
import {
  pair,
  listenOn,
  connectPair,
  writeAll,
  readN,
  pattern,
  state,
  injectIp,
  ipNum,
  settle,
  haltWorlds,
  mib,
} from './scenario_helpers.js';

afterEach(haltWorlds);

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

test('20,000 random segments on a live connection: no exception, and the stream still works', async () => {
  const { w, b, ta, tb, link } = pair(77);
  const l = listenOn(tb, '10.0.0.2', 7000);
  const { c, s } = await connectPair(ta, tb, l, '10.0.0.2', 7000);
  const sport = (ta.getsockname(c) as { port: number }).port;
  const r = rng(0xc0ffee);
  const src = ipNum('10.0.0.1');
  const dst = ipNum('10.0.0.2');
  for (let i = 0; i < 20_000; i++) {
    const doff = 5 + (r() % 11);
    const tlen = doff * 4;
    const pkt = new Uint8Array(20 + tlen);
    const t = 20;
    pkt[t] = sport >>> 8;
    pkt[t + 1] = sport & 255;
    pkt[t + 2] = 7000 >>> 8;
    pkt[t + 3] = 7000 & 255;
    for (let k = 4; k < tlen; k++) pkt[t + k] = r() & 255;
    pkt[t + 12] = (doff << 4) | (r() & 1);
    pkt[t + 13] &= ~0x04; // never RST: an exact-sequence RST may legitimately end the connection
    pkt[t + 13] &= ~0x01; // never FIN, for the same reason at rcv_nxt
    pkt[t + 16] = pkt[t + 17] = 0;
    const ck = csum_tcpudp_magic(src, dst, tlen, 6, csum_partial(pkt, t, tlen, 0));
    pkt[t + 16] = ck >>> 8;
    pkt[t + 17] = ck & 255;
    pkt[0] = 0x45;
    pkt[2] = pkt.length >>> 8;
    pkt[3] = pkt.length & 255;
    pkt[8] = 64;
    pkt[9] = 6;
    for (let k = 0; k < 4; k++) {
      pkt[12 + k] = (src >>> (24 - 8 * k)) & 255;
      pkt[16 + k] = (dst >>> (24 - 8 * k)) & 255;
    }
    const ic = ip_fast_csum(pkt, 0, 5);
    pkt[10] = ic >>> 8;
    pkt[11] = ic & 255;
    injectIp(link.b, pkt);
    if (i % 500 === 499) await settle(w);
  }
  await settle(w);
  assert.equal(state(tb, s), 'ESTABLISHED');
  assert.equal(state(ta, c), 'ESTABLISHED');
  assert.ok(mib(b, 'Tcp', 'InSegs') >= 20_000);
  // The stream still carries data, byte for byte, both ways.
  const up = pattern(300_000, 3);
  const down = pattern(200_000, 4);
  const [gotB, gotA] = await Promise.all([
    readN(tb, s, up.length),
    readN(ta, c, down.length),
    writeAll(ta, c, up),
    writeAll(tb, s, down),
  ]);
  assert.ok(Buffer.from(gotB).equals(Buffer.from(up)));
  assert.ok(Buffer.from(gotA).equals(Buffer.from(down)));
});
