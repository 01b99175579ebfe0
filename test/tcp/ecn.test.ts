// ECN end to end (RFC 3168) on a World in virtual time: a link queue that marks CE where it
// would drop (netem's `ecn`), two hosts that negotiated ECN, and a sender that reduces its window
// on the echoed ECE without losing a segment; without ECN the same queue drops and TCP
// retransmits. Also the IP side: a queue's CE mark keeps the IPv4 checksum right, and IP_TOS on
// a TCP socket leaves the ECN bits to TCP.

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
import { alloc_skb } from '../../src/net/core/skbuff.js';
import { INET_ECN_set_ce } from '../../src/net/ipv4/inet_ecn.js';
import { ip_fast_csum } from '../../src/wire/checksum.js';
import { IPPROTO_IP, IP_TOS } from '../../src/uapi/in.js';
import { AF_INET, SOCK_STREAM } from '../../src/uapi/socket.js';

afterEach(haltWorlds);

const PORT = 5001;
const TCPI_OPT_ECN = 8;
const TCPI_OPT_ECN_SEEN = 16;

/** a sends `size` bytes to b; the a->b queue loses 3% of what it carries from the first data on. */
async function transfer(p: Pair, size: number, ecn: boolean) {
  p.a.sysctl.write('net.ipv4.tcp_ecn', ecn ? 1 : 0);
  p.link.set({ delay: '5ms' }, 'both');
  const lfd = listenOn(p.tb, '10.0.0.2', PORT);
  const { c, s } = await connectPair(p.ta, p.tb, lfd, '10.0.0.2', PORT);
  p.link.set({ loss: '3%', ecn: true, seed: 11 }, 'a->b');
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 13 + (i >>> 9)) & 255;
  const rd = readAll(p.tb, s);
  await writeAll(p.ta, c, data);
  // The FIN is Not-ECT: let it through unharmed, the comparison is about the data.
  await sleep(p.w, 2000);
  p.link.set({ loss: 0 }, 'a->b');
  p.ta.shutdown(c, 1);
  const got = await rd;
  assert.equal(got.length, size);
  assert.ok(Buffer.from(got).equals(Buffer.from(data)), 'the bytes arrive intact and in order');
  await sleep(p.w, 100);
  return { c, s };
}

test('a CE-marking queue: the ECN sender reduces its window on ECE and retransmits nothing', async () => {
  const p = pair(3);
  const { c, s } = await transfer(p, 400_000, true);
  const marked = p.link.stats('a->b')!.netem.ecn_marked;
  assert.ok(marked > 0, 'the queue marked segments CE');
  const snd = info(p.ta, c);
  assert.ok(snd.tcpi_options & TCPI_OPT_ECN, 'ECN negotiated');
  assert.equal(snd.tcpi_total_retrans, 0);
  assert.ok(snd.tcpi_delivered_ce > 0, `delivered_ce ${snd.tcpi_delivered_ce}`);
  assert.ok(snd.tcpi_snd_ssthresh < 0x7fffffff, 'the window was reduced (CWR)');
  assert.equal(mib(p.a, 'TcpExt', 'TCPTimeouts'), 0);
  assert.ok(mib(p.a, 'TcpExt', 'TCPDeliveredCE') > 0);
  const rcv = info(p.tb, s);
  assert.ok(rcv.tcpi_options & TCPI_OPT_ECN_SEEN, 'the receiver saw ECT');
  assert.equal(mib(p.b, 'IpExt', 'InCEPkts'), marked);
  assert.ok(mib(p.b, 'IpExt', 'InECT0Pkts') > 100);
  // ss -tio shows the negotiated ECN (and, on the receiver, that ECT was seen).
  assert.match(p.a.ss('-tnoi'), / sack ecn cubic /);
  assert.match(p.b.ss('-tnoi'), / sack ecn ecnseen cubic /);
});

test('the same queue without ECN drops: the sender retransmits', async () => {
  const p = pair(3);
  const { c } = await transfer(p, 400_000, false);
  assert.equal(p.link.stats('a->b')!.netem.ecn_marked, 0);
  const snd = info(p.ta, c);
  assert.equal(snd.tcpi_options & TCPI_OPT_ECN, 0);
  assert.ok(snd.tcpi_total_retrans > 0, 'losses were repaired by retransmission');
  assert.equal(snd.tcpi_delivered_ce, 0);
  assert.equal(mib(p.b, 'IpExt', 'InCEPkts'), 0);
});

test('INET_ECN_set_ce: ECT(0) and ECT(1) become CE with a valid checksum; Not-ECT is refused', () => {
  for (const [tos, ok] of [
    [0x02, true],
    [0x01, true],
    [0xb9, true],
    [0x03, true],
    [0x00, false],
    [0xb8, false],
  ] as const) {
    const skb = alloc_skb(64);
    const o = skb.put(20);
    const h = skb.head;
    h.set([0x45, tos, 0, 20, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], o);
    const c = ip_fast_csum(h, o, 5);
    h[o + 10] = c >>> 8;
    h[o + 11] = c & 0xff;
    skb.network_header = o;
    skb.protocol = 0x0800;
    assert.equal(INET_ECN_set_ce(skb), ok, `tos 0x${tos.toString(16)}`);
    assert.equal(h[o + 1], ok ? tos | 3 : tos);
    assert.equal(ip_fast_csum(h, o, 5), 0, `checksum after marking tos 0x${tos.toString(16)}`);
  }
});

test('IP_TOS on a TCP socket keeps the ECN bits TCP sets; a UDP socket takes them', () => {
  const p = pair(1);
  const t = p.ta;
  const fd = t.socket(AF_INET, SOCK_STREAM, 0);
  t.setsockopt(fd, IPPROTO_IP, IP_TOS, 0xb9);
  assert.equal(t.getsockopt(fd, IPPROTO_IP, IP_TOS), 0xb8);
  const u = t.socket(AF_INET, 2, 0);
  t.setsockopt(u, IPPROTO_IP, IP_TOS, 0xb9);
  assert.equal(t.getsockopt(u, IPPROTO_IP, IP_TOS), 0xb9);
});
