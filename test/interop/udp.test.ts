import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { bridged, interopUnavailable, LINUX_ADDR, USERNET_ADDR } from './netns.js';

const skip = interopUnavailable('socat', 'sha256sum') ?? false;
const SIZES = [1, 1472, 1473, 4000, 20000, 60000];
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test(
  'interop: UDP both ways with socat, datagrams fragmented by each side',
  { skip, timeout: 60_000 },
  async () => {
    const b = await bridged();
    try {
      // usernet -> Linux: socat echoes each datagram back (Linux reassembles ours, fragments its own).
      const echo = b.ns.start(`socat -b 65536 UDP-RECVFROM:7000,bind=${LINUX_ADDR},fork PIPE`);
      await new Promise((r) => setTimeout(r, 300));
      const sock = b.host.dgram.createSocket('udp4');
      for (const n of SIZES) {
        const msg = randomBytes(n);
        const reply = await new Promise<Buffer>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`no echo of ${n} bytes`)), 5000);
          sock.once('message', (m: Buffer) => {
            clearTimeout(t);
            resolve(m);
          });
          sock.send(msg, 7000, LINUX_ADDR);
        });
        assert.equal(sha(reply), sha(msg), `${n} bytes`);
      }
      sock.close();
      echo.kill();
      await echo.exited;

      // Linux -> usernet: socat sends one datagram per size to a usernet echo server.
      const server = b.host.dgram.createSocket('udp4');
      server.on('message', (m: Buffer, from) => server.send(m, from.port, from.address));
      await new Promise<void>((r) => server.bind(7001, () => r()));
      for (const n of SIZES) {
        const msg = randomBytes(n);
        const r = await b.ns.runRaw(`socat -b 65536 -t 2 -T 3 - UDP:${USERNET_ADDR}:7001`, {
          input: msg,
          timeoutMs: 10_000,
        });
        assert.equal(sha(r.stdout), sha(msg), `${n} bytes echoed to Linux: ${r.stderr}`);
      }
      server.close();
      const snmp = b.host.procNetSnmp();
      const ip = snmp.split('\n').filter((l) => l.startsWith('Ip:'));
      const row = (name: string): number => Number(ip[1]!.split(' ')[ip[0]!.split(' ').indexOf(name)]);
      assert.ok(row('ReasmOKs') >= 8, 'usernet reassembled Linux fragments');
      assert.ok(row('FragCreates') >= 8, 'usernet fragmented its own');
    } finally {
      await b.close();
    }
  },
);
