// Loss recovery on a World in virtual time: one loss, several losses in a window, a lost tail,
// reordering, a spurious retransmission timeout and lost ACKs. Chosen segments are dropped,
// held back or delayed at a device; each test checks the counters TCP_INFO and the MIB show and
// that every byte arrives.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  haltWorlds,
  info,
  listenOn,
  connectPair,
  writeAll,
  readAll,
  mib,
  pair,
  sleep,
  type Pair,
} from './scenario_helpers.js';
import type { NetDevice, NetDeviceOps } from '../../src/net/core/netdevice.js';
import type { SkBuff } from '../../src/net/core/skbuff.js';
import { kfree_skb } from '../../src/net/core/skbuff.js';
import { TCP_CA_Open, TCP_CA_CWR, TCP_CA_Recovery } from '../../src/uapi/tcp.js';
import { SOL_SOCKET, SO_RCVBUF } from '../../src/uapi/socket.js';
import { Timer } from '../../src/kernel/time.js';

afterEach(haltWorlds);

const ETH_HLEN = 14;

/** What a frame carries, for the filters below (TCP over IPv4 only). */
interface Seg {
  seq: number;
  /** Payload bytes. */
  len: number;
  syn: boolean;
  /** Sequence relative to the sender's ISN + 1 (the first data byte is 0). */
  rel: number;
}

/** 'release': pass this frame, then send the held ones after it. */
type Verdict = 'pass' | 'drop' | 'hold' | 'release';

/**
 * Put a filter on a device's transmit: each TCP frame is passed, dropped, or held until a
 * 'release' verdict or release() sends the held ones, in order. The sender's ISN is learnt from
 * its SYN.
 */
function filter(dev: NetDevice, decide: (s: Seg) => Verdict) {
  const orig = dev.netdev_ops.ndo_start_xmit;
  const held: SkBuff[] = [];
  let isn = 0;
  const ops: NetDeviceOps = {
    ...dev.netdev_ops,
    ndo_start_xmit(skb: SkBuff, d: NetDevice): number {
      const h = skb.head;
      const ip = skb.data + ETH_HLEN;
      if (h[ip + 9] !== 6) return orig(skb, d);
      const ihl = (h[ip] & 15) * 4;
      const totlen = (h[ip + 2] << 8) | h[ip + 3];
      const th = ip + ihl;
      const doff = (h[th + 12] >>> 4) * 4;
      const seq = ((h[th + 4] << 24) | (h[th + 5] << 16) | (h[th + 6] << 8) | h[th + 7]) >>> 0;
      const syn = (h[th + 13] & 2) !== 0;
      if (syn) isn = seq;
      const s: Seg = { seq, len: totlen - ihl - doff, syn, rel: (seq - isn - 1) >>> 0 };
      const v = decide(s);
      if (v === 'drop') {
        kfree_skb(skb);
        return 0;
      }
      if (v === 'hold') {
        held.push(skb);
        return 0;
      }
      const r = orig(skb, d);
      if (v === 'release') for (const h of held.splice(0)) orig(h, d);
      return r;
    },
  };
  dev.netdev_ops = ops;
  return {
    release(): void {
      for (const skb of held.splice(0)) orig(skb, dev);
    },
  };
}

const PORT = 5001;
const MSS = 1448;

/**
 * a sends `size` bytes to b over a link whose ACK path (b->a) is delayed 10 ms; a's frames go
 * out at once (no queue), so a filter on a's device sees each segment as TCP sends it.
 */
async function transfer(p: Pair, size: number, during?: (c: number) => void) {
  const lfd = listenOn(p.tb, '10.0.0.2', PORT);
  const { c, s } = await connectPair(p.ta, p.tb, lfd, '10.0.0.2', PORT);
  during?.(c);
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7 + (i >>> 8)) & 255;
  const rd = readAll(p.tb, s);
  await writeAll(p.ta, c, data);
  p.ta.shutdown(c, 1);
  const got = await rd;
  assert.equal(got.length, size);
  assert.ok(Buffer.from(got).equals(Buffer.from(data)), 'the bytes arrive intact and in order');
  // The last ACKs reach the sender.
  await sleep(p.w, 100);
  return { c, s };
}

function delayedAcks(seed: number): Pair {
  const p = pair(seed);
  p.link.set({ delay: '10ms' }, 'b->a');
  return p;
}

test('one lost segment: SACK recovery retransmits it once, with no timeout', async () => {
  const p = delayedAcks(1);
  let dropped = false;
  let atRetransmit: ReturnType<typeof info> | null = null;
  let c = -1;
  filter(p.link.a, (s) => {
    if (s.len && s.rel === 40 * MSS) {
      if (!dropped) {
        dropped = true;
        return 'drop';
      }
      atRetransmit ??= info(p.ta, c);
    }
    return 'pass';
  });
  await transfer(p, 300_000, (fd) => (c = fd));
  assert.ok(atRetransmit, 'the segment went again');
  const r = atRetransmit as ReturnType<typeof info>;
  assert.equal(r.tcpi_ca_state, TCP_CA_Recovery);
  assert.equal(r.tcpi_lost, 1);
  assert.ok(r.tcpi_sacked >= 1, `SACKed beyond the hole: ${r.tcpi_sacked}`);
  const end = info(p.ta, c);
  assert.equal(end.tcpi_total_retrans, 1);
  assert.equal(end.tcpi_ca_state, TCP_CA_Open);
  assert.equal(end.tcpi_lost, 0);
  assert.equal(end.tcpi_retrans, 0);
  assert.equal(end.tcpi_sacked, 0);
  assert.equal(mib(p.a, 'TcpExt', 'TCPSackRecovery'), 1);
  assert.equal(mib(p.a, 'TcpExt', 'TCPTimeouts'), 0);
});

test('three losses in one window: one recovery episode repairs all of them', async () => {
  const p = delayedAcks(2);
  const lose = new Set([30, 33, 37].map((i) => i * MSS));
  let c = -1;
  filter(p.link.a, (s) => {
    if (s.len && lose.has(s.rel)) {
      lose.delete(s.rel);
      return 'drop';
    }
    return 'pass';
  });
  await transfer(p, 300_000, (fd) => (c = fd));
  const end = info(p.ta, c);
  assert.equal(end.tcpi_total_retrans, 3);
  assert.equal(end.tcpi_ca_state, TCP_CA_Open);
  assert.equal(mib(p.a, 'TcpExt', 'TCPSackRecovery'), 1);
  assert.equal(mib(p.a, 'TcpExt', 'TCPTimeouts'), 0);
  assert.equal(mib(p.a, 'TcpExt', 'TCPLostRetransmit'), 0);
});

test('a lost tail is repaired by the loss probe, not by the retransmission timer', async () => {
  const p = delayedAcks(3);
  const size = 100 * MSS;
  const lose = new Set([98 * MSS, 99 * MSS]);
  let c = -1;
  filter(p.link.a, (s) => {
    if (s.len && lose.has(s.rel)) {
      lose.delete(s.rel);
      return 'drop';
    }
    return 'pass';
  });
  await transfer(p, size, (fd) => (c = fd));
  const end = info(p.ta, c);
  assert.equal(end.tcpi_total_retrans, 2);
  assert.ok(mib(p.a, 'TcpExt', 'TCPLossProbes') >= 1);
  assert.equal(mib(p.a, 'TcpExt', 'TCPTimeouts'), 0);
  assert.equal(end.tcpi_ca_state, TCP_CA_Open);
});

test('reordering: a segment overtaken by six is not retransmitted, and tcpi_reordering grows', async () => {
  const p = delayedAcks(4);
  let c = -1;
  // First a small reordering (one segment overtaken by one), then a deep one (by six).
  const sent = new Set<number>();
  let releaseAfter = -1;
  filter(p.link.a, (s) => {
    if (!s.len) return 'pass';
    const i = s.rel / MSS;
    const first = !sent.has(i);
    sent.add(i);
    if (first && (i === 20 || i === 60)) {
      releaseAfter = i + (i === 20 ? 1 : 6);
      return 'hold';
    }
    return i === releaseAfter ? 'release' : 'pass';
  });
  await transfer(p, 300_000, (fd) => (c = fd));
  const end = info(p.ta, c);
  assert.equal(end.tcpi_total_retrans, 0, 'no spurious retransmission');
  assert.ok(end.tcpi_reordering > 3, `tcpi_reordering ${end.tcpi_reordering}`);
  assert.ok(end.tcpi_reord_seen >= 2, `tcpi_reord_seen ${end.tcpi_reord_seen}`);
  assert.equal(mib(p.a, 'TcpExt', 'TCPSackRecovery'), 0);
  assert.ok(mib(p.a, 'TcpExt', 'TCPSACKReorder') >= 2);
});

test('a spurious timeout (ACKs held past the RTO) is undone when the original ACKs arrive', async () => {
  const p = delayedAcks(5);
  let c = -1;
  let acks = 0;
  let holding = false;
  const f = filter(p.link.b, (s) => {
    if (s.len || s.syn) return 'pass';
    acks++;
    // Hold b's ACKs from the 30th on for 400 ms: a's RTO (about 200 ms) fires meanwhile.
    if (acks === 30) {
      holding = true;
      void sleep(p.w, 400).then(() => {
        holding = false;
        f.release();
      });
    }
    return holding ? 'hold' : 'pass';
  });
  await transfer(p, 400_000, (fd) => (c = fd));
  const end = info(p.ta, c);
  assert.ok(end.tcpi_total_rto >= 1, 'the timer fired');
  assert.ok(mib(p.a, 'TcpExt', 'TCPLossUndo') >= 1, 'and the loss state was undone');
  assert.equal(end.tcpi_ca_state, TCP_CA_Open);
  assert.equal(end.tcpi_lost, 0);
  // The undo restored the window: it did not stay at the one segment the timeout left.
  assert.ok(end.tcpi_snd_cwnd > 2, `cwnd ${end.tcpi_snd_cwnd}`);
});

test('lost ACKs: later cumulative ACKs cover them; nothing is retransmitted', async () => {
  const p = delayedAcks(6);
  let c = -1;
  let acks = 0;
  filter(p.link.b, (s) => {
    if (s.len || s.syn) return 'pass';
    acks++;
    // Every third ACK of the first 60, and five in a row; the ACKs of the tail all arrive.
    return (acks <= 60 && acks % 3 === 0) || (acks > 40 && acks < 46) ? 'drop' : 'pass';
  });
  await transfer(p, 300_000, (fd) => (c = fd));
  const end = info(p.ta, c);
  assert.equal(end.tcpi_total_retrans, 0);
  assert.equal(end.tcpi_ca_state, TCP_CA_Open);
  assert.equal(mib(p.a, 'TcpExt', 'TCPTimeouts'), 0);
});

test('without RACK (tcp_recovery=0), RFC 6675 dupthresh marks the hole lost: one fast retransmit', async () => {
  const p = delayedAcks(7);
  p.a.sysctl.write('net.ipv4.tcp_recovery', 0);
  const lose = new Set([25, 26].map((i) => i * MSS));
  let c = -1;
  filter(p.link.a, (s) => {
    if (s.len && lose.has(s.rel)) {
      lose.delete(s.rel);
      return 'drop';
    }
    return 'pass';
  });
  await transfer(p, 300_000, (fd) => (c = fd));
  const end = info(p.ta, c);
  assert.equal(end.tcpi_total_retrans, 2);
  assert.equal(end.tcpi_ca_state, TCP_CA_Open);
  assert.equal(mib(p.a, 'TcpExt', 'TCPSackRecovery'), 1);
  assert.equal(mib(p.a, 'TcpExt', 'TCPTimeouts'), 0);
});

test('local congestion: the sender qdisc dropping segments puts the sender in CWR, with nothing to retransmit', async () => {
  const p = pair(8);
  // A slow link with a short queue on a's side: segments beyond it are dropped before they leave.
  p.link.set({ rate: '20mbit', limit: 8 }, 'a->b');
  let c = -1;
  let sawCwr = false;
  const watch = new Timer(() => {
    if (c >= 0 && info(p.ta, c).tcpi_ca_state === TCP_CA_CWR) sawCwr = true;
    p.w.clock.mod_timer(watch, p.w.clock.now() + 1e5);
  });
  p.w.clock.mod_timer(watch, p.w.clock.now() + 1e5);
  await transfer(p, 500_000, (fd) => (c = fd));
  p.w.clock.del_timer(watch);
  const end = info(p.ta, c);
  assert.ok(sawCwr, 'CWR was entered');
  assert.ok((p.link.stats('a->b')?.netem.limit ?? 0) > 0, 'the queue dropped segments');
  assert.ok(end.tcpi_snd_ssthresh < 0x7fffffff, `ssthresh ${end.tcpi_snd_ssthresh}`);
  assert.equal(end.tcpi_total_retrans, 0, 'a segment the qdisc refused was not sent, so not lost');
  assert.equal(end.tcpi_ca_state, TCP_CA_Open);
});

test('reordering learnt: the first deep reordering costs one spurious retransmission, undone; the next costs none', async () => {
  const p = delayedAcks(9);
  let c = -1;
  const sent = new Set<number>();
  let releaseAfter = -1;
  filter(p.link.a, (s) => {
    if (!s.len) return 'pass';
    const i = s.rel / MSS;
    const first = !sent.has(i);
    sent.add(i);
    // Segments 20 and 120 are each overtaken by six.
    if (first && (i === 20 || i === 120)) {
      releaseAfter = i + 6;
      return 'hold';
    }
    return i === releaseAfter ? 'release' : 'pass';
  });
  await transfer(p, 300_000, (fd) => (c = fd));
  const end = info(p.ta, c);
  assert.equal(end.tcpi_total_retrans, 1, 'only the first reordering was taken for a loss');
  const undos = ['TCPFullUndo', 'TCPPartialUndo', 'TCPDSACKUndo'].reduce(
    (n, m) => n + mib(p.a, 'TcpExt', m),
    0,
  );
  assert.ok(undos >= 1, 'and that recovery was undone');
  assert.equal(end.tcpi_dsack_dups, 1, 'the receiver reported the duplicate');
  assert.ok(end.tcpi_reordering > 3, `tcpi_reordering ${end.tcpi_reordering}`);
  assert.equal(end.tcpi_ca_state, TCP_CA_Open);
});

test('a receiver over its buffer prunes out-of-order data to take the in-order segment it offered room for', async () => {
  // The first segment of a window is held back while the rest arrive ahead of it, and the
  // receiver's buffer has been cut (SO_RCVBUF after accept): out-of-order data fills it. When
  // the first segment comes, tcp_prune_queue → tcp_prune_ofo_queue frees queued out-of-order
  // data, highest first, and takes it (OfoPruned), as Linux does. Refusing it, with the buffer
  // full of data that cannot be delivered before it, stalled the connection: the transfer fails.
  const p = delayedAcks(3);
  let held = false;
  filter(p.link.a, (seg) => {
    if (seg.len && seg.rel === 0 && !held) {
      held = true;
      return 'hold';
    }
    return seg.len && seg.rel === 9 * MSS ? 'release' : 'pass';
  });
  const lfd = listenOn(p.tb, '10.0.0.2', PORT);
  const { c, s } = await connectPair(p.ta, p.tb, lfd, '10.0.0.2', PORT);
  p.tb.setsockopt(s, SOL_SOCKET, SO_RCVBUF, 2048);
  const size = 100_000;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 13 + (i >>> 9)) & 255;
  const rd = readAll(p.tb, s);
  await writeAll(p.ta, c, data);
  p.ta.shutdown(c, 1);
  const got = await rd;
  assert.ok(Buffer.from(got).equals(Buffer.from(data)), 'the bytes arrive intact and in order');
  assert.ok(held, 'the first segment was held back');
  assert.ok(mib(p.b, 'TcpExt', 'OfoPruned') >= 1, 'out-of-order data was pruned');
  assert.ok(mib(p.b, 'TcpExt', 'PruneCalled') >= 1);
  // Later segments may still find the receive queue itself full (nothing left to prune there).
});
