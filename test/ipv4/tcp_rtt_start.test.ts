import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, AF_INET, SOCK_STREAM, SOL_TCP, TCP_INFO } from '../../src/index.js';

// A handshake in the very first instant of a world still gives both ends an RTT sample: the
// client from its SYN, the server from its SYN-ACK (tcp_synack_rtt_meas). A send time of 0
// must not read as "never sent".
test('a handshake at time 0 measures the RTT on both ends', async () => {
  const w = new World({ seed: 4 });
  const a = w.addHost('a');
  const b = w.addHost('b');
  const link = w.link(a, b, { delay: '10ms' });
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  // Without timestamps, the samples come from the send times alone.
  a.sysctl.write('net.ipv4.tcp_timestamps', 0);
  b.sysctl.write('net.ipv4.tcp_timestamps', 0);
  // Known neighbours: the SYN leaves at time 0 exactly.
  const mac = (m: Uint8Array) => [...m.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
  a.ip(`neigh add 10.0.0.2 lladdr ${mac(link.b.dev_addr)} dev eth0 nud permanent`);
  b.ip(`neigh add 10.0.0.1 lladdr ${mac(link.a.dev_addr)} dev eth0 nud permanent`);
  const ta = a.spawn();
  const tb = b.spawn();
  const l = tb.socket(AF_INET, SOCK_STREAM);
  tb.bind(l, { family: AF_INET, addr: '10.0.0.2', port: 80 });
  tb.listen(l, 1);
  const c = ta.socket(AF_INET, SOCK_STREAM);
  const acc = tb.accept(l);
  await ta.connect(c, { family: AF_INET, addr: '10.0.0.2', port: 80 });
  const { fd } = await acc;
  const rtt = (t: typeof ta, s: number) => {
    const v = new DataView(t.getsockoptRaw(s, SOL_TCP, TCP_INFO, 104).buffer);
    return { rtt: v.getUint32(68, true), rto: v.getUint32(8, true) };
  };
  const client = rtt(ta, c);
  const server = rtt(tb, fd);
  assert.ok(client.rtt >= 20000 && client.rtt < 21000, `client rtt ${client.rtt}`);
  assert.ok(server.rtt >= 20000 && server.rtt < 21000, `server rtt ${server.rtt}`);
  // RTO = srtt + max(4 * rttvar, rto_min): about 200 + 20 ms, in jiffies — not the 3 s fallback.
  assert.ok(client.rto < 300000, `client rto ${client.rto}`);
  assert.ok(server.rto < 300000, `server rto ${server.rto}`);
  w.stop();
});
