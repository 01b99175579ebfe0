// The shape of the retransmit queue as SACKs arrive (tcp_shift_skb_data, tcp_shifted_skb,
// tcp_tso_acked): a newly SACKed segment next to a SACKed skb is merged into it, so a SACKed
// run is one skb counting several segments; a cumulative ACK ending inside such an skb trims
// the segments it covers. The counters count segments, not skbs, all along.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  pair,
  listenOn,
  connectPair,
  settle,
  sleep,
  mib,
  injectIp,
  forgeIp,
  haltWorlds,
} from './scenario_helpers.js';
import { inet_ehash_all } from '../../src/net/ipv4/inet_hashtables.js';
import { TcpSock, TCP_SKB_CB, tcp_skb_pcount, TCPCB_SACKED_ACKED } from '../../src/net/ipv4/tcp_sock.js';
import { TCPHDR_ACK } from '../../src/wire/tcp.js';

afterEach(haltWorlds);

/** The rtx queue as [offset from `base` in segments, segments, SACKed] per skb. */
function shape(tp: TcpSock, base: number, mss: number): [number, number, boolean][] {
  const out: [number, number, boolean][] = [];
  for (let skb = tp.tcp_rtx_queue.peek(); skb; skb = skb.next) {
    const cb = TCP_SKB_CB(skb);
    out.push([((cb.seq - base) >>> 0) / mss, tcp_skb_pcount(skb), (cb.sacked & TCPCB_SACKED_ACKED) !== 0]);
  }
  return out;
}

test('SACKed segments merge into the SACKed skb before them; a cumulative ACK inside one trims it', async () => {
  const { w, a, ta, tb, link } = pair(11, { delay: 10 });
  // Plain headers (no timestamps) so that forged ACKs need no echo; a reordering degree high
  // enough that RACK marks nothing lost while the SACKs arrive.
  a.sysctl.write('net.ipv4.tcp_timestamps', 0);
  a.sysctl.write('net.ipv4.tcp_reordering', 10);
  const l = listenOn(tb, '10.0.0.2', 80);
  const { c } = await connectPair(ta, tb, l, '10.0.0.2', 80);
  const tp = inet_ehash_all(a.netns).find((e): e is TcpSock => e instanceof TcpSock && e.inet_dport === 80);
  assert.ok(tp, 'the client sock');
  link.set({ partition: true }, 'b->a'); // only forged ACKs come back
  const mss = tp.mss_cache;
  const una = tp.snd_una;
  assert.equal(await ta.write(c, new Uint8Array(8 * mss)), 8 * mss);
  // The SACKs come one round trip later (and all at that instant, before any timer).
  await sleep(w, 20);
  assert.equal(tp.packets_out, 8);
  const seg = (n: number): number => (una + n * mss) >>> 0;
  const sack = (ack: number, blocks: [number, number][]): void => {
    const pkt = forgeIp({
      src: '10.0.0.2',
      dst: '10.0.0.1',
      sport: 80,
      dport: tp.inet_sport,
      seq: tp.rcv_nxt,
      ack: seg(ack),
      flags: TCPHDR_ACK,
      win: 65535,
      options: [{ kind: 'sack', blocks: blocks.map(([s, e]) => ({ left: seg(s), right: seg(e) })) }],
    });
    injectIp(link.a, pkt);
  };
  const counters = (): number[] => [
    mib(a, 'TcpExt', 'TCPSackShifted'),
    mib(a, 'TcpExt', 'TCPSackMerged'),
    mib(a, 'TcpExt', 'TCPSackShiftFallback'),
  ];
  const one = (n: number): [number, number, boolean] => [n, 1, false];

  // Nothing SACKed before 3: tagged where it is.
  sack(0, [[3, 4]]);
  await settle(w);
  assert.deepEqual(shape(tp, una, mss), [
    one(0),
    one(1),
    one(2),
    [3, 1, true],
    one(4),
    one(5),
    one(6),
    one(7),
  ]);
  assert.deepEqual(counters(), [0, 0, 1]);

  // 4 and 5 merge into the skb at 3.
  sack(0, [[3, 6]]);
  await settle(w);
  assert.deepEqual(shape(tp, una, mss), [one(0), one(1), one(2), [3, 3, true], one(6), one(7)]);
  assert.deepEqual(counters(), [0, 2, 1]);
  assert.deepEqual([tp.packets_out, tp.sacked_out], [8, 3]);

  // 7 has an unSACKed skb before it; filling the hole at 6 then merges 6 and 7.
  sack(0, [
    [3, 6],
    [7, 8],
  ]);
  await settle(w);
  assert.deepEqual(counters(), [0, 2, 2]);
  sack(0, [[3, 8]]);
  await settle(w);
  assert.deepEqual(shape(tp, una, mss), [one(0), one(1), one(2), [3, 5, true]]);
  assert.deepEqual(counters(), [0, 4, 2]);
  assert.deepEqual([tp.packets_out, tp.sacked_out, tp.lost_out], [8, 5, 0]);

  // A cumulative ACK ending one segment into the merged skb trims that segment off it.
  sack(4, [[4, 8]]);
  await settle(w);
  assert.deepEqual(shape(tp, una, mss), [[4, 4, true]]);
  assert.deepEqual([tp.packets_out, tp.sacked_out], [4, 4]);
  sack(8, []);
  await settle(w);
  assert.deepEqual(shape(tp, una, mss), []);
  assert.deepEqual([tp.packets_out, tp.sacked_out, tp.lost_out, tp.retrans_out], [0, 0, 0, 0]);
});
