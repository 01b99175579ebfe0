import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bridged, interopUnavailable, USERNET_ADDR } from './netns.js';

const skip = interopUnavailable('python3') ?? false;

const CLIENT = `
import socket, sys
ok = 0
for i in range(1000):
    s = socket.create_connection(('${USERNET_ADDR}', 7070), 5)
    msg = b'hello %d' % i
    s.sendall(msg)
    got = b''
    while True:
        c = s.recv(100)
        if not c:
            break
        got += c
    s.close()
    if got == msg.upper():
        ok += 1
print(ok)
`;

test(
  'interop: 1,000 short connections from Linux to a usernet server',
  { skip, timeout: 120_000 },
  async () => {
    const b = await bridged();
    let accepted = 0;
    const server = b.host.net
      .createServer((s) => {
        accepted++;
        s.on('data', (c: Buffer) => s.end(c.toString().toUpperCase()));
        s.on('error', () => {});
      })
      .listen(7070);
    try {
      const t0 = performance.now();
      const r = await b.ns.run('python3 -', { input: Buffer.from(CLIENT), timeoutMs: 110_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), '1000');
      assert.equal(accepted, 1000);
      console.log(`# 1,000 connections in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    } finally {
      server.close();
      await b.close();
    }
  },
);
