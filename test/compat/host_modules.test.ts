// host.net and host.dgram: one node:net and one node:dgram module per host, made on first use.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { World } from '../../src/index.js';

test('host.net and host.dgram are made once per host and talk over its stack', async () => {
  const w = new World({ seed: 1 });
  const h = w.addHost('h');
  const g = w.addHost('g');
  assert.equal(h.net, h.net);
  assert.equal(h.dgram, h.dgram);
  assert.notEqual(h.net, g.net);

  const sock = h.dgram.createSocket('udp4');
  sock.bind(5000, '127.0.0.1');
  await once(sock, 'listening');
  const sender = h.dgram.createSocket('udp4');
  sender.send('over lo', 5000, '127.0.0.1');
  const [msg, rinfo] = (await once(sock, 'message')) as [Buffer, { address: string }];
  assert.equal(msg.toString(), 'over lo');
  assert.equal(rinfo.address, '127.0.0.1');
  sock.close();
  sender.close();

  const server = h.net.createServer((s) => s.end('hi'));
  server.listen(80, '127.0.0.1');
  await once(server, 'listening');
  const c = h.net.connect(80, '127.0.0.1');
  const [data] = (await once(c, 'data')) as [Buffer];
  assert.equal(data.toString(), 'hi');
  c.destroy();
  server.close();
  w.stop();
});
