import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { World } from '../../src/index.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function realWorld(): { world: World; guest: ReturnType<World['addHost']> } {
  const world = new World({ clock: 'real', seed: 3 });
  return { world, guest: world.addHost('guest') };
}

/** Listen on 127.0.0.1:0 and resolve with the port. */
function listening(server: net.Server | http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

/** Read a usernet or real stream to its end. */
function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}

test('gateway: a virtual client GETs a 4 MiB body from a real node:http server on 127.0.0.1', async () => {
  const body = randomBytes(4 << 20);
  const server = http.createServer((_req, res) => {
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  const port = await listening(server);
  const { world, guest } = realWorld();
  const gw = world.gateway(guest);
  try {
    const got = await new Promise<Buffer>((resolve, reject) => {
      const s = guest.net.connect({ host: '10.0.2.2', port }, () => {
        s.write(`GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      });
      readAll(s).then(resolve, reject);
    });
    const split = got.indexOf('\r\n\r\n');
    assert.match(got.subarray(0, split).toString(), /^HTTP\/1.1 200 OK/);
    const got_body = got.subarray(split + 4);
    assert.equal(got_body.length, body.length);
    assert.equal(sha(got_body), sha(body));
    assert.equal(gw.stats.tcpConnections, 1);
  } finally {
    server.close();
    world.stop();
  }
});

test('gateway: a refused real connection is a RST, so the virtual connect fails with ECONNREFUSED', async () => {
  // A port nothing listens on: bind one, note it, close it.
  const probe = net.createServer();
  const port = await listening(probe);
  await new Promise((r) => probe.close(r));
  const { world, guest } = realWorld();
  const gw = world.gateway(guest);
  try {
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const s = guest.net.connect({ host: '10.0.2.2', port });
      s.on('error', resolve);
      s.on('connect', () => resolve(new Error('connected') as NodeJS.ErrnoException));
    });
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(gw.stats.tcpRefused, 1);
    assert.equal(gw.stats.tcpConnections, 0);
  } finally {
    world.stop();
  }
});

test('gateway: a real node:net client reaches a virtual server through a forwarded port, both halves closing', async () => {
  const { world, guest } = realWorld();
  const gw = world.gateway(guest);
  const upload = randomBytes(1 << 20);
  const served = new Promise<Buffer>((resolve) => {
    const srv = guest.net.createServer({ allowHalfOpen: true }, (s) => {
      readAll(s).then((b) => {
        // The client's FIN arrived; answer with the hash, then close our half.
        s.end(sha(b));
        resolve(b);
      });
    });
    srv.listen(8080);
  });
  try {
    const port = await gw.forward({ guestPort: 8080 });
    const c = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    await new Promise((r) => c.once('connect', r));
    c.end(upload);
    const reply = await readAll(c);
    assert.equal(reply.toString(), sha(upload));
    assert.equal(sha(await served), sha(upload));
    assert.equal(gw.stats.forwardedConnections, 1);

    // Nothing listens on the virtual side of a second forward: the real client is reset.
    const port2 = await gw.forward({ guestPort: 8081 });
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      const d = net.connect({ host: '127.0.0.1', port: port2 });
      d.on('error', resolve);
      d.on('close', () => resolve(null));
      d.resume();
    });
    assert.equal(err?.code, 'ECONNRESET');
    assert.equal(gw.stats.forwardRefused, 1);
  } finally {
    world.stop();
  }
});

test('gateway: UDP both ways, with datagrams that need IP fragmentation on the virtual link', async () => {
  const { world, guest } = realWorld();
  const gw = world.gateway(guest);
  // A real echo server on 127.0.0.1.
  const echo = dgram.createSocket('udp4');
  echo.on('message', (m, from) => echo.send(m, from.port, from.address));
  const echoPort = await new Promise<number>((r) => echo.bind(0, '127.0.0.1', () => r(echo.address().port)));
  try {
    const v = guest.dgram.createSocket('udp4');
    const sizes = [1, 1472, 1473, 4000, 30000];
    for (const n of sizes) {
      const msg = randomBytes(n);
      const reply = await new Promise<Buffer>((resolve) => {
        v.once('message', resolve);
        v.send(msg, echoPort, '10.0.2.2');
      });
      assert.equal(sha(reply), sha(msg), `${n}-byte datagram echoed intact`);
    }
    v.close();
    assert.equal(gw.stats.udpFlows, 1);

    // Real -> virtual: a forwarded UDP port to a virtual echo server.
    const vs = guest.dgram.createSocket('udp4');
    vs.on('message', (m, from) => vs.send(m, from.port, from.address));
    await new Promise<void>((r) => vs.bind(5353, () => r()));
    const port = await gw.forward({ protocol: 'udp', guestPort: 5353 });
    const c = dgram.createSocket('udp4');
    for (const n of [10, 3000]) {
      const msg = randomBytes(n);
      const reply = await new Promise<Buffer>((resolve) => {
        c.once('message', resolve);
        c.send(msg, port, '127.0.0.1');
      });
      assert.equal(sha(reply), sha(msg));
    }
    c.close();
    vs.close();
    assert.equal(gw.stats.forwardedDatagrams, 2);
  } finally {
    echo.close();
    world.stop();
  }
});

test('gateway: the virtual host pings the gateway; a virtual-time world is refused', async () => {
  const { world, guest } = realWorld();
  world.gateway(guest);
  try {
    const r = await guest.ping('10.0.2.2', { count: 2, interval: 0.05 });
    assert.match(r.output, /2 packets transmitted, 2 received, 0% packet loss/);
  } finally {
    world.stop();
  }
  const v = new World();
  assert.throws(() => v.gateway(v.addHost('g')), /clock: 'real'/);
});

test('gateway: a reset from the real server reaches the virtual client as ECONNRESET', async () => {
  const server = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
  const port = await listening(server);
  const { world, guest } = realWorld();
  world.gateway(guest);
  try {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      const s = guest.net.connect({ host: '10.0.2.2', port }, () => s.write('hello'));
      s.on('error', resolve);
      s.on('close', () => resolve(null));
      s.resume();
    });
    assert.equal(err?.code, 'ECONNRESET');
  } finally {
    server.close();
    world.stop();
  }
});
