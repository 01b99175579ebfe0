// The loss-recovery scoreboard stays consistent under random faults: seeded transfers over links
// that lose, duplicate and reorder (both directions; with SACK and RACK, without SACK, without
// RACK), with the sender's counters checked every
// millisecond of world time — never negative, SACKed plus lost never more than what is out, the
// time-ordered list holding only what is out, and (with SACK) each count equal to the segments
// the retransmit queue's skbs carry with that mark, SACKed runs merged into multi-segment skbs
// (tcp_shift_skb_data) included — and all back to zero, in the Open state, once everything is
// acknowledged.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { haltWorlds, listenOn, connectPair, writeAll, pair, sleep } from './scenario_helpers.js';
import { inet_ehash_all } from '../../src/net/ipv4/inet_hashtables.js';
import {
  TcpSock,
  tcp_left_out,
  tcp_is_sack,
  tcp_skb_pcount,
  TCP_SKB_CB,
  TCPCB_SACKED_ACKED,
  TCPCB_SACKED_RETRANS,
  TCPCB_LOST,
  type TsortedAnchor,
} from '../../src/net/ipv4/tcp_sock.js';
import { TCPHDR_SYN, TCPHDR_FIN } from '../../src/uapi/tcp.js';
import { Timer } from '../../src/kernel/time.js';
import { TCP_CA_Open } from '../../src/uapi/tcp.js';

afterEach(haltWorlds);

const PORT = 5002;
const SEEDS = 40;
const SIZE = 200_000;

/** Entries on tp->tsorted_sent_queue (bounded: a broken list must not loop forever). */
function tsortedLength(tp: TcpSock): number {
  const head = tp.tsorted_sent_queue;
  if (!head) return 0;
  let n = 0;
  for (let a: TsortedAnchor | null = head.tsorted_next; a && a !== head; a = a.tsorted_next) {
    if (++n > 1_000_000) throw new Error('tsorted list does not end');
  }
  return n;
}

/** Multi-segment skbs seen on a retransmit queue (merged SACKed runs). */
let multiSegmentSkbs = 0;

/**
 * The counters recomputed from the retransmit queue: segments out, and those SACKed, lost and
 * retransmitted; the skbs must tile the sequence space, each as many segments as its size says.
 */
function recount(tp: TcpSock, ctx: string): [number, number, number, number] {
  let packets = 0;
  let sacked = 0;
  let lost = 0;
  let retrans = 0;
  let seq = tp.snd_una;
  for (let skb = tp.tcp_rtx_queue.peek(); skb; skb = skb.next) {
    const cb = TCP_SKB_CB(skb);
    const pcount = tcp_skb_pcount(skb);
    const ctl = (cb.tcp_flags & TCPHDR_SYN ? 1 : 0) + (cb.tcp_flags & TCPHDR_FIN ? 1 : 0);
    assert.equal((cb.end_seq - cb.seq) >>> 0, skb.len + ctl, `${ctx}: skb length`);
    // The head may have been acknowledged in part; every later skb starts where the last ended.
    if (skb !== tp.tcp_rtx_queue.peek()) assert.equal(cb.seq, seq, `${ctx}: skbs tile the sequence space`);
    seq = cb.end_seq;
    if (pcount > 1) {
      multiSegmentSkbs++;
      assert.equal(pcount, Math.ceil(skb.len / cb.tcp_gso_size), `${ctx}: segments of a ${skb.len}-byte skb`);
    }
    packets += pcount;
    if (cb.sacked & TCPCB_SACKED_ACKED) sacked += pcount;
    if (cb.sacked & TCPCB_LOST) lost += pcount;
    if (cb.sacked & TCPCB_SACKED_RETRANS) retrans += pcount;
  }
  return [packets, sacked, lost, retrans];
}

function check(tp: TcpSock, where: string): void {
  const ctx = `${where}: packets_out ${tp.packets_out} sacked ${tp.sacked_out} lost ${tp.lost_out} retrans ${tp.retrans_out}`;
  assert.ok(tp.sacked_out >= 0 && tp.lost_out >= 0 && tp.retrans_out >= 0 && tp.packets_out >= 0, ctx);
  assert.ok(tcp_left_out(tp) <= tp.packets_out, ctx);
  assert.ok(tp.retrans_out <= tp.packets_out, ctx);
  assert.ok(tsortedLength(tp) <= tp.packets_out, `${ctx} tsorted ${tsortedLength(tp)}`);
  const counted = recount(tp, ctx);
  // Without SACK, sacked_out counts duplicate ACKs, not marked segments.
  if (tcp_is_sack(tp))
    assert.deepEqual([tp.packets_out, tp.sacked_out, tp.lost_out, tp.retrans_out], counted, ctx);
  else
    assert.deepEqual(
      [tp.packets_out, tp.lost_out, tp.retrans_out],
      [counted[0], counted[2], counted[3]],
      ctx,
    );
}

test(`scoreboard invariants over ${SEEDS} seeded lossy, duplicating, reordering transfers`, async () => {
  let recoveries = 0;
  let checks = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const p = pair(seed, { delay: '5ms', jitter: '4ms', loss: seed % 2 ? 0.03 : 0.1, duplicate: 0.01 });
    // Some runs without SACK (NewReno's duplicate-ACK counting), some without RACK (RFC 6675).
    if (seed % 3 === 0) p.b.sysctl.write('net.ipv4.tcp_sack', 0);
    if (seed % 5 === 0) p.a.sysctl.write('net.ipv4.tcp_recovery', 0);
    const lfd = listenOn(p.tb, '10.0.0.2', PORT);
    const { c, s } = await connectPair(p.ta, p.tb, lfd, '10.0.0.2', PORT);
    const tp = inet_ehash_all(p.a.netns).find(
      (e): e is TcpSock => e instanceof TcpSock && e.inet_dport === PORT,
    );
    assert.ok(tp, 'the client sock');
    // Every millisecond of world time while the transfer runs.
    let failure: unknown = null;
    const tick = new Timer(() => {
      checks++;
      try {
        check(tp, `seed ${seed} at ${p.w.clock.now() / 1e6} ms`);
      } catch (e) {
        failure ??= e;
      }
      p.w.clock.mod_timer(tick, p.w.clock.now() + 1e6);
    });
    p.w.clock.mod_timer(tick, p.w.clock.now() + 1e6);
    const data = new Uint8Array(SIZE);
    for (let i = 0; i < SIZE; i++) data[i] = (i * 13 + seed) & 255;
    const got = new Uint8Array(SIZE);
    const reader = (async () => {
      let off = 0;
      while (off < SIZE) {
        const n = await p.tb.read(s, got.subarray(off));
        assert.ok(n > 0);
        off += n;
      }
    })();
    await writeAll(p.ta, c, data);
    await reader;
    assert.ok(Buffer.from(got).equals(Buffer.from(data)), `seed ${seed}: bytes intact`);
    // Wait (bounded) for the last ACKs.
    for (let i = 0; i < 200 && tp.packets_out; i++) await sleep(p.w, 50);
    p.w.clock.del_timer(tick);
    if (failure) throw failure;
    assert.equal(tp.packets_out, 0, `seed ${seed}: all acknowledged`);
    assert.deepEqual(
      [tp.sacked_out, tp.lost_out, tp.retrans_out, tsortedLength(tp)],
      [0, 0, 0, 0],
      `seed ${seed}: counters back to zero`,
    );
    // NewReno holds Recovery until data above high_seq is acknowledged (RFC 6582): with everything
    // acknowledged exactly at high_seq, it stays there, as on Linux.
    if (seed % 3 !== 0 || tp.snd_una !== tp.high_seq)
      assert.equal(tp.icsk_ca_state, TCP_CA_Open, `seed ${seed}: Open`);
    recoveries += tp.total_retrans;
    haltWorlds();
  }
  assert.ok(recoveries > SEEDS, `the faults caused retransmissions (${recoveries})`);
  assert.ok(checks > SEEDS * 50, `the counters were checked along the way (${checks} times)`);
  assert.ok(
    multiSegmentSkbs > 0,
    `SACKed runs were merged into multi-segment skbs (${multiSegmentSkbs} seen)`,
  );
});
