import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { bridged, interopUnavailable, LINUX_ADDR, USERNET_ADDR } from './netns.js';
import { tsharkCheck } from '../tools/tshark.js';

const skip = interopUnavailable('tshark', 'socat', 'ping') ?? false;

test(
  'interop: tshark reads a capture on the TAP with no malformed packets and no bad checksums',
  { skip, timeout: 60_000 },
  async () => {
    const b = await bridged();
    const file = `/tmp/${b.ns.name}.pcapng`;
    const cap = b.ns.start(`tshark -i ${b.tap.linuxName} -w ${file} -q`);
    try {
      // tshark says where it captures once it does.
      for (let i = 0; i < 200; i++) {
        const r = await b.ns.run(`test -s ${file}`);
        if (r.code === 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      // ARP, ICMP with fragments, TCP both ways (handshake, bulk, FIN), UDP.
      const ping = await b.ns.run(`ping -c 2 -i 0.05 -s 3000 ${USERNET_ADDR}`);
      assert.equal(ping.code, 0, ping.stdout);
      const got = new Promise<number>((resolve) => {
        const server = b.host.net.createServer((s) => {
          let n = 0;
          s.on('data', (c: Buffer) => (n += c.length));
          s.on('end', () => {
            s.end('done');
            server.close();
            resolve(n);
          });
        });
        server.listen(9100);
      });
      const up = await b.ns.run(`socat -u STDIN TCP:${USERNET_ADDR}:9100`, { input: randomBytes(2 << 20) });
      assert.equal(up.code, 0, up.stderr);
      assert.equal(await got, 2 << 20);
      const udp = b.host.dgram.createSocket('udp4');
      await new Promise<void>((r) => udp.send(Buffer.alloc(5000, 7), 9999, LINUX_ADDR, () => r()));
      udp.close();
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      cap.kill();
      await cap.exited;
    }
    try {
      const report = tsharkCheck(file);
      assert.ok(report.frames.length > 100, `${report.frames.length} frames captured`);
      assert.deepEqual(report.problems, []);
    } finally {
      await b.ns.run(`rm -f ${file}`);
      await b.close();
    }
  },
);
