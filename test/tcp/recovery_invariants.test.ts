// The loss-recovery scoreboard stays consistent under random faults: seeded transfers over links
// that lose, duplicate and reorder (both directions; with SACK and RACK, without SACK, without
// RACK), with the sender's counters checked every
// millisecond of world time — never negative, SACKed plus lost never more than what is out, the
// time-ordered list holding only what is out — and all back to zero, in the Open state, once
// everything is acknowledged.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { haltWorlds, listenOn, connectPair, writeAll, pair, sleep } from './scenario_helpers.js';
import { inet_ehash_all } from '../../src/net/ipv4/inet_hashtables.js';
import { TcpSock, tcp_left_out, type TsortedAnchor } from '../../src/net/ipv4/tcp_sock.js';
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

function check(tp: TcpSock, where: string): void {
  const ctx = `${where}: packets_out ${tp.packets_out} sacked ${tp.sacked_out} lost ${tp.lost_out} retrans ${tp.retrans_out}`;
  assert.ok(tp.sacked_out >= 0 && tp.lost_out >= 0 && tp.retrans_out >= 0 && tp.packets_out >= 0, ctx);
  assert.ok(tcp_left_out(tp) <= tp.packets_out, ctx);
  assert.ok(tp.retrans_out <= tp.packets_out, ctx);
  assert.ok(tsortedLength(tp) <= tp.packets_out, `${ctx} tsorted ${tsortedLength(tp)}`);
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
});
