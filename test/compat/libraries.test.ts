// Real libraries over usernet, unmodified: undici's fetch through an Agent whose connect uses
// the host's node:net, and a ws WebSocket pair that lives through a partition of the link —
// healed in time, the messages queued meanwhile arrive in order; left partitioned, TCP gives up
// after tcp_retries2 and ws sees the error and the abnormal close it would see on a real
// network. Everything in virtual time: the fifteen minutes of retransmissions take milliseconds.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { Socket as NodeSocket } from 'node:net';
import { createHash } from 'node:crypto';
import { Agent, fetch } from 'undici';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { World, type Host } from '../../src/index.js';
import type { Link } from '../../src/sim/link.js';
import type { NodeNet, Socket } from '../../src/compat/node/net.js';

const worlds: World[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.stop();
});

function pair(
  seed: number,
  opts: Parameters<World['link']>[2],
): { world: World; link: Link; a: Host; b: Host; netA: NodeNet; netB: NodeNet } {
  const world = new World({ seed });
  worlds.push(world);
  const a = world.addHost('a');
  const b = world.addHost('b');
  const link = world.link(a, b, opts);
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  return { world, link, a, b, netA: a.net, netB: b.net };
}

/** An http.Server fed by a usernet listener on `port`. */
function httpOn(net: NodeNet, port: number, handler?: http.RequestListener): http.Server {
  const server = http.createServer(handler);
  net.createServer((s: Socket) => server.emit('connection', s)).listen(port);
  return server;
}

test('undici fetch through an Agent connecting with host.net: JSON, a 4 MiB body over a lossy link, POST, ECONNREFUSED', async () => {
  const { world, netA, netB, b } = pair(11, { delay: '10ms', loss: '1%' });
  const big = Buffer.alloc(4 << 20, 0);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  httpOn(netB, 8080, (req, res) => {
    if (req.url === '/json') return void res.end(JSON.stringify({ host: b.name, at: world.now() }));
    if (req.url === '/big') return void res.end(big);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => res.end(`${req.method} ${body.length}`));
  });
  const agent = new Agent({
    connect: (o, cb) => {
      const s = netA.connect({ host: o.hostname, port: Number(o.port) });
      s.once('connect', () => cb(null, s as unknown as NodeSocket));
      s.once('error', (e: Error) => cb(e, null));
    },
  });
  try {
    const j = (await (await fetch('http://10.0.0.2:8080/json', { dispatcher: agent })).json()) as {
      host: string;
      at: number;
    };
    assert.equal(j.host, 'b');
    assert.ok(j.at >= 20, 'a handshake and a request over 10 ms each way');
    const bigRes = await fetch('http://10.0.0.2:8080/big', { dispatcher: agent });
    const got = Buffer.from(await bigRes.arrayBuffer());
    assert.equal(
      createHash('sha256').update(got).digest('hex'),
      createHash('sha256').update(big).digest('hex'),
    );
    const post = await fetch('http://10.0.0.2:8080/echo', {
      method: 'POST',
      body: 'x'.repeat(100_000),
      dispatcher: agent,
    });
    assert.equal(await post.text(), 'POST 100000');
    await assert.rejects(
      fetch('http://10.0.0.2:8099/', { dispatcher: agent }),
      (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'ECONNREFUSED',
    );
  } finally {
    await agent.close();
  }
});

/** A ws server on b:8081 and a client on a; resolves with both ends open. */
async function wsPair(
  p: ReturnType<typeof pair>,
): Promise<{ client: WebSocket; server: WebSocket; tcp: Socket }> {
  const wss = new WebSocketServer({ noServer: true });
  const httpServer = httpOn(p.netB, 8081);
  httpServer.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws)),
  );
  const serverSide = once(wss, 'connection') as Promise<[WebSocket]>;
  let tcp: Socket | undefined;
  const client = new WebSocket('ws://10.0.0.2:8081/chat', {
    createConnection: () => (tcp = p.netA.connect({ host: '10.0.0.2', port: 8081 })) as unknown as NodeSocket,
  });
  await once(client, 'open');
  const [server] = await serverSide;
  return { client, server, tcp: tcp! };
}

function messages(ws: WebSocket): string[] {
  const got: string[] = [];
  ws.on('message', (d: RawData) => got.push(d.toString()));
  return got;
}

test('ws: messages sent during a partition arrive in order once it heals', async () => {
  const p = pair(12, { delay: '20ms' });
  const { client, server } = await wsPair(p);
  const atServer = messages(server);
  const atClient = messages(client);
  client.send('before');
  server.send('hello');
  await p.world.sleep(100);
  assert.deepEqual(atServer, ['before']);
  assert.deepEqual(atClient, ['hello']);

  p.link.set({ partition: true });
  for (let i = 0; i < 20; i++) client.send(`during ${i}`);
  await p.world.sleep(10_000);
  assert.deepEqual(atServer, ['before'], 'nothing crosses a partition');
  assert.equal(client.readyState, WebSocket.OPEN, '10 s of retransmissions is no error yet');

  p.link.set({ partition: false });
  // The next retransmission (exponential backoff: within ~16 s) gets through.
  await p.world.sleep(20_000);
  assert.deepEqual(atServer, ['before', ...Array.from({ length: 20 }, (_, i) => `during ${i}`)]);
  server.send('after');
  await p.world.sleep(100);
  assert.deepEqual(atClient, ['hello', 'after']);
  client.close(1000, 'bye');
  const [code, reason] = (await once(server, 'close')) as [number, Buffer];
  assert.equal(code, 1000);
  assert.equal(reason.toString(), 'bye');
});

test('ws: a partition that never heals ends in EHOSTUNREACH and close 1006 after tcp_retries2', async () => {
  const p = pair(13, { delay: '20ms' });
  const { client, tcp } = await wsPair(p);
  // ws keeps socket errors to itself (no 'error' on the WebSocket), as it does over node:net.
  const errors: string[] = [];
  client.on('error', (e: Error) => errors.push(`ws: ${e.message}`));
  tcp.on('error', (e: Error & { code?: string }) => errors.push(`socket: ${e.code}`));
  const closed = once(client, 'close') as Promise<[number, Buffer]>;
  const t0 = p.world.now();
  p.link.set({ partition: true });
  client.send('into the void');
  const [code] = await closed;
  const waited = (p.world.now() - t0) / 1000;
  // Not ETIMEDOUT: the partition also starves ARP, the neighbour fails, and the kernel's own
  // ICMP host-unreachable becomes the socket's soft error, which tcp_write_err reports when
  // the retries run out — what Linux reports on a LAN whose peer vanished.
  assert.deepEqual(errors, ['socket: EHOSTUNREACH']);
  assert.equal(code, 1006, 'an abnormal closure: no close frame');
  // tcp_retries2 = 15 with RTO from 200 ms doubling to 120 s: about 924.6 s, as Linux.
  assert.ok(waited > 900 && waited < 1000, `gave up after ${waited} s`);
});
