// The same seed gives the same run, down to the byte of a capture taken on several devices:
// ping through a router and UDP (fragmented too) over a lossy, jittery, reordering link.
// A different seed gives a different capture. tshark reads the capture without complaint.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AF_INET, SOCK_DGRAM } from '../../src/uapi/socket.js';
import { readPcapng } from '../../src/tools/pcapng.js';
import { tsharkCheck, tsharkMissing } from '../tools/tshark.js';
import { routed, runFor, sin, payload, mib } from './helpers.js';

interface Outcome {
  pcapng: Buffer;
  pcap: Buffer;
  ping: string;
  udpReceived: number;
  lost: number;
}

async function scenario(seed: number): Promise<Outcome> {
  const { w, a, r, c, l1 } = routed(
    seed,
    { delay: '4ms', jitter: '2ms', loss: '5%', reorder: { probability: 0.25, gap: 5 } },
    { delay: '1ms' },
  );
  const cap = w.capture(['a:eth0', 'r:eth0', 'r:eth1', 'c:eth0']);
  const sink = c.spawn({ comm: 'sink' });
  const sfd = sink.socket(AF_INET, SOCK_DGRAM, 0);
  sink.bind(sfd, sin('0.0.0.0', 9000));
  let udpReceived = 0;
  void (async () => {
    const buf = new Uint8Array(65536);
    for (;;) {
      await sink.recvfrom(sfd, buf);
      udpReceived++;
    }
  })();
  const pinging = a.ping('10.0.2.2', { count: 10, interval: 0.2 });
  const t = a.spawn({ comm: 'source' });
  const fd = t.socket(AF_INET, SOCK_DGRAM, 0);
  for (let i = 0; i < 60; i++) {
    const n = (i * 997) % 6000;
    await t.sendto(fd, payload(n, i), 0, sin('10.0.2.2', 9000));
    await t.poll([], 7);
  }
  const res = await pinging;
  // Let the reassembly of lost datagrams time out (and its ICMP go back) inside the capture.
  await runFor(w, 40_000);
  cap.stop();
  assert.equal(mib(r, 'Ip', 'InHdrErrors'), 0);
  return {
    pcapng: cap.toPcapng(),
    pcap: cap.toPcap(),
    ping: res.output,
    udpReceived,
    lost: l1.stats('a->b')!.netem.loss + l1.stats('b->a')!.netem.loss,
  };
}

test('same seed, byte-identical pcapng and pcap from four devices; another seed differs', async () => {
  const one = await scenario(1234);
  const two = await scenario(1234);
  const other = await scenario(4321);
  assert.ok(one.lost > 0, 'the link lost frames');
  assert.ok(one.udpReceived > 0 && one.udpReceived < 60, `${one.udpReceived} of 60 datagrams arrived`);
  const f = readPcapng(one.pcapng);
  assert.deepEqual(
    f.interfaces.map((i) => i.name),
    ['a:eth0', 'r:eth0', 'r:eth1', 'c:eth0'],
  );
  assert.ok(f.packets.length > 200, `${f.packets.length} frames`);
  assert.equal(one.ping, two.ping);
  assert.equal(one.udpReceived, two.udpReceived);
  assert.ok(one.pcapng.equals(two.pcapng), 'pcapng files are byte-identical');
  assert.ok(one.pcap.equals(two.pcap), 'pcap files are byte-identical');
  assert.ok(!one.pcapng.equals(other.pcapng), 'another seed, another capture');
  assert.ok(!one.pcap.equals(other.pcap));
});

test(
  'tshark reads the capture: no malformed packets, no checksum errors',
  { skip: tsharkMissing() ?? false },
  async () => {
    const { pcapng } = await scenario(1234);
    const dir = mkdtempSync(join(tmpdir(), 'usernet-scenario-'));
    try {
      const file = join(dir, 'router.pcapng');
      writeFileSync(file, pcapng);
      const r = tsharkCheck(file);
      assert.equal(r.stderr, '');
      assert.equal(r.frames.length, readPcapng(pcapng).packets.length);
      assert.deepEqual(r.problems, []);
      const protos = new Set(r.frames.map((x) => x.protocols));
      for (const p of [
        'eth:ethertype:arp',
        // echo requests and replies
        'eth:ethertype:ip:icmp:data',
        'eth:ethertype:ip:udp:data',
        // fragments tshark holds for reassembly
        'eth:ethertype:ip:data',
        // an ICMP error quoting a UDP datagram (fragment reassembly time exceeded)
        'eth:ethertype:ip:icmp:ip:udp:data',
      ])
        assert.ok(protos.has(p), `${p} in ${[...protos].join(' ')}`);
      assert.deepEqual([...new Set(r.frames.map((x) => x.interfaceName))].sort(), [
        'a:eth0',
        'c:eth0',
        'r:eth0',
        'r:eth1',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
