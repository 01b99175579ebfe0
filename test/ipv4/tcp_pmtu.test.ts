import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { World, AF_INET, SOCK_STREAM, SOL_TCP, TCP_MAXSEG } from '../../src/index.js';
import { snmp_get } from '../../src/net/ipv4/snmp.js';

// a — r — b, with the r—b hop at MTU 1000: a's full-sized segments carry DF, r answers
// "fragmentation needed" with the next-hop MTU, and a's connection lowers its MSS to fit
// (RFC 1191, tcp_v4_mtu_reduced) and resends what was too big; every byte arrives.
test('TCP path MTU discovery: an ICMP frag-needed lowers the MSS and the data still gets through', async () => {
  const w = new World({ seed: 3 });
  const a = w.addHost('a');
  const r = w.addHost('r');
  const b = w.addHost('b');
  w.link(a, r, { delay: '1ms' });
  w.link(r, b, { delay: '1ms' });
  a.ip('addr add 10.0.1.2/24 dev eth0');
  a.ip('route add default via 10.0.1.1');
  r.ip('addr add 10.0.1.1/24 dev eth0');
  r.ip('addr add 10.0.2.1/24 dev eth1');
  r.ip('link set eth1 mtu 1000');
  r.sysctl.write('net.ipv4.ip_forward', 1);
  b.ip('addr add 10.0.2.2/24 dev eth0');
  b.ip('link set eth0 mtu 1000');
  b.ip('route add default via 10.0.2.1');
  const tb = b.spawn();
  const ta = a.spawn();
  const l = tb.socket(AF_INET, SOCK_STREAM);
  tb.bind(l, { family: AF_INET, addr: '0.0.0.0', port: 80 });
  tb.listen(l, 4);
  const c = ta.socket(AF_INET, SOCK_STREAM);
  const acc = tb.accept(l);
  await ta.connect(c, { family: AF_INET, addr: '10.0.2.2', port: 80 });
  const { fd } = await acc;
  // b's MTU is 1000 too, so its MSS option already tells a what fits.
  assert.equal(ta.getsockopt(c, SOL_TCP, TCP_MAXSEG), 948, 'a learns 1000 - 40 - 12 from the MSS option');
  // Now raise b's interface MTU only (the router hop stays at 1000): new connections from a
  // get MSS 1448 and must learn the path MTU from the router.
  b.ip('link set eth0 mtu 1500');
  const c2 = ta.socket(AF_INET, SOCK_STREAM);
  const acc2 = tb.accept(l);
  await ta.connect(c2, { family: AF_INET, addr: '10.0.2.2', port: 80 });
  const { fd: fd2 } = await acc2;
  assert.equal(ta.getsockopt(c2, SOL_TCP, TCP_MAXSEG), 1448);
  const data = new Uint8Array(200_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
  const sendP = (async () => {
    let off = 0;
    while (off < data.length) off += await ta.send(c2, data.subarray(off));
    ta.shutdown(c2, 1);
  })();
  const h = createHash('sha256');
  const buf = new Uint8Array(65536);
  let got = 0;
  for (;;) {
    const n = await tb.recv(fd2, buf);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    got += n;
  }
  await sendP;
  assert.equal(got, data.length);
  assert.equal(h.digest('hex'), createHash('sha256').update(data).digest('hex'));
  assert.equal(ta.getsockopt(c2, SOL_TCP, TCP_MAXSEG), 1000 - 40 - 12, 'the MSS now fits the path');
  assert.ok(snmp_get(r.netns, 'Icmp', 'OutDestUnreachs') >= 1, 'the router said so');
  for (const [t, f] of [
    [ta, c],
    [ta, c2],
    [tb, fd],
    [tb, fd2],
    [tb, l],
  ] as const)
    t.close(f);
});
