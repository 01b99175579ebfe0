// node:net over usernet: a Server and Sockets on two hosts of a World, in virtual time, and
// node:http running unchanged on top of them.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { createHash } from 'node:crypto';
import { World, type Host } from '../../src/index.js';
import type { Link, LinkOptions } from '../../src/sim/link.js';
import { SIOCINQ, SIOCOUTQ } from '../../src/uapi/socket.js';
import { SOL_SOCKET, SOL_TCP, SO_KEEPALIVE } from '../../src/uapi/socket.js';
import { TCP_KEEPIDLE, TCP_NODELAY } from '../../src/uapi/tcp.js';
import { BlockList, SocketAddress } from 'node:net';
import type { NodeNet, Socket, NetError } from '../../src/compat/node/net.js';

const worlds: World[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.stop();
});

interface Pair {
  world: World;
  link: Link;
  a: Host;
  b: Host;
  netA: NodeNet;
  netB: NodeNet;
}

/** Hosts a (10.0.0.1) and b (10.0.0.2) on one link. */
function pair(seed: number, linkOpts?: LinkOptions): Pair {
  const world = new World({ seed });
  worlds.push(world);
  const a = world.addHost('a');
  const b = world.addHost('b');
  const link = world.link(a, b, linkOpts);
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  return { world, link, a, b, netA: a.net, netB: b.net };
}

function collect(s: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return once(s, 'end').then(() => Buffer.concat(parts));
}

/** Deterministic bytes: a counter run through a small LCG. */
function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

test('echo server and client over two hosts', async () => {
  const { world, netA, netB } = pair(1, { delay: '5ms' });
  const server = netB.createServer((s) => {
    assert.equal(s.remoteAddress, '10.0.0.1');
    assert.equal(s.localAddress, '10.0.0.2');
    assert.equal(s.localPort, 7000);
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end());
  });
  const listening = once(server, 'listening');
  assert.equal(server.listen(7000, '0.0.0.0'), server);
  await listening;
  assert.equal(server.listening, true);
  assert.deepEqual(server.address(), { address: '0.0.0.0', family: 'IPv4', port: 7000 });

  const t0 = world.now();
  const accepted = once(server, 'connection');
  const c = netA.connect({ port: 7000, host: '10.0.0.2' });
  assert.equal(c.connecting, true);
  assert.equal(c.pending, true);
  assert.equal(c.readyState, 'opening');
  const events: string[] = [];
  c.on('connect', () => events.push('connect'));
  c.on('ready', () => events.push('ready'));
  await once(c, 'connect');
  // The handshake took one round trip over a 5 ms link, in virtual time.
  assert.ok(world.now() - t0 >= 10, `connect after ${world.now() - t0} ms`);
  assert.deepEqual(events, ['connect', 'ready']);
  assert.equal(c.connecting, false);
  assert.equal(c.pending, false);
  assert.equal(c.readyState, 'open');
  assert.equal(c.remoteAddress, '10.0.0.2');
  assert.equal(c.remotePort, 7000);
  assert.equal(c.remoteFamily, 'IPv4');
  assert.equal(c.localAddress, '10.0.0.1');
  assert.ok(c.localPort! >= 32768, `ephemeral port ${c.localPort}`);
  assert.deepEqual(c.address(), { address: '10.0.0.1', family: 'IPv4', port: c.localPort });
  await accepted;
  const n = await new Promise<number>((res) => server.getConnections((_e, k) => res(k)));
  assert.equal(n, 1);

  const msg = pattern(100_000, 3);
  const got = collect(c);
  c.write(msg.subarray(0, 50_000));
  c.end(msg.subarray(50_000));
  const echoed = await got;
  assert.ok(echoed.equals(msg), 'echoed bytes differ');
  const [hadError] = (await once(c, 'close')) as [boolean];
  assert.equal(hadError, false);
  assert.equal(c.bytesRead, msg.length);
  assert.equal(c.bytesWritten, msg.length);
  assert.equal(c.readyState, 'closed');

  let closed = false;
  server.close(() => (closed = true));
  await once(server, 'close');
  assert.equal(closed, true);
  assert.equal(server.address(), null);
});

test('half-close: allowHalfOpen keeps the other direction open', async () => {
  const { netA, netB } = pair(2, { delay: '1ms' });
  const server = netB.createServer({ allowHalfOpen: true }, (s) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => {
      // The client sent FIN; this side can still write, for as long as it likes.
      assert.equal(s.readyState, 'writeOnly');
      s.write('got ' + Buffer.concat(parts).toString());
      s.write(', and more after your FIN');
      s.end();
    });
  });
  server.listen({ port: 7001 });
  await once(server, 'listening');

  const c = netA.createConnection({ port: 7001, host: '10.0.0.2', allowHalfOpen: true });
  await once(c, 'connect');
  const got = collect(c);
  c.end('question');
  await once(c, 'finish');
  assert.equal(c.readyState, 'readOnly');
  assert.equal((await got).toString(), 'got question, and more after your FIN');
  await once(c, 'close');
  server.close();
  await once(server, 'close');
});

test('without allowHalfOpen, the end of the peer ends this side too', async () => {
  const { netA, netB } = pair(3);
  const server = netB.createServer((s) => {
    s.resume();
    // Still writable inside 'end'; Node ends the socket right after.
    s.on('end', () => s.write('last words'));
  });
  server.listen(7002, '10.0.0.2');
  await once(server, 'listening');
  const serverSock = once(server, 'connection');
  const c = netA.connect(7002, '10.0.0.2');
  await once(c, 'connect');
  const [s] = (await serverSock) as [Socket];
  const got = collect(c);
  c.end();
  assert.equal((await got).toString(), 'last words');
  await once(s, 'close');
  assert.equal(s.writableEnded, true);
  await once(c, 'close');
  server.close();
  await once(server, 'close');
});

test('ECONNREFUSED has Node error shape', async () => {
  const { netA } = pair(4, { delay: '2ms' });
  const c = netA.connect(7999, '10.0.0.2');
  const [err] = (await once(c, 'error')) as [NetError];
  assert.equal(err.code, 'ECONNREFUSED');
  assert.equal(err.errno, -111);
  assert.equal(err.syscall, 'connect');
  assert.equal(err.address, '10.0.0.2');
  assert.equal(err.port, 7999);
  assert.equal(err.message, 'connect ECONNREFUSED 10.0.0.2:7999');
  const [hadError] = (await once(c, 'close')) as [boolean];
  assert.equal(hadError, true);
  assert.equal(c.destroyed, true);
});

test('EADDRINUSE has Node error shape; close() on a stopped server reports it', async () => {
  const { netB } = pair(5);
  const s1 = netB.createServer();
  s1.listen(7003);
  await once(s1, 'listening');
  const s2 = netB.createServer();
  s2.listen(7003);
  const [err] = (await once(s2, 'error')) as [NetError];
  assert.equal(err.code, 'EADDRINUSE');
  assert.equal(err.errno, -98);
  assert.equal(err.syscall, 'listen');
  assert.equal(err.address, '0.0.0.0');
  assert.equal(err.port, 7003);
  assert.equal(err.message, 'listen EADDRINUSE: address already in use 0.0.0.0:7003');
  assert.equal(s2.listening, false);
  const notRunning = await new Promise<Error | undefined>((res) => s2.close(res));
  assert.equal((notRunning as NetError).code, 'ERR_SERVER_NOT_RUNNING');
  s1.close();
  await once(s1, 'close');
  // The port is free again.
  const s3 = netB.createServer().listen(7003);
  await once(s3, 'listening');
  s3.close();
});

test('a name that does not resolve fails with ENOTFOUND; localhost is loopback', async () => {
  const { netA } = pair(6);
  const c = netA.connect(80, 'example.invalid');
  const [err] = (await once(c, 'error')) as [NetError];
  assert.equal(err.code, 'ENOTFOUND');
  assert.equal(err.syscall, 'getaddrinfo');
  const server = netA.createServer((s) => s.end('local'));
  server.listen(7004, 'localhost');
  await once(server, 'listening');
  assert.deepEqual(server.address(), { address: '127.0.0.1', family: 'IPv4', port: 7004 });
  const c2 = netA.connect(7004);
  assert.equal((await collect(c2)).toString(), 'local');
  await once(c2, 'close');
  server.close();
});

test('backpressure: write() returns false when the send buffer is full, then drain', async () => {
  const { netA, netB } = pair(7, { delay: '10ms' });
  const server = netB.createServer({ pauseOnConnect: true });
  server.listen(7005);
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const c = netA.connect({ port: 7005, host: '10.0.0.2', noDelay: true });
  await once(c, 'connect');
  const [s] = (await accepted) as [Socket];

  // Write until usernet's buffers (the client's send buffer, the server's receive buffer) are
  // full: write() turns false and 'drain' stops coming; the idle timeout tells us it stopped.
  const chunk = 16 * 1024;
  const data = pattern(8 * 1024 * 1024, 9);
  let sent = 0;
  let falses = 0;
  c.setTimeout(1000);
  for (;;) {
    if (c.write(data.subarray(sent, sent + chunk))) {
      sent += chunk;
      continue;
    }
    sent += chunk;
    falses++;
    const [which] = await Promise.race([
      once(c, 'drain').then(() => ['drain']),
      once(c, 'timeout').then(() => ['timeout']),
    ]);
    if (which === 'timeout') break;
    assert.ok(sent < data.length, 'the buffers never filled');
  }
  assert.ok(falses >= 1);
  assert.ok(c.writableLength > 0, 'a write is waiting');
  const outq = netA.task.ioctl(c.fd, SIOCOUTQ);
  const inq = netB.task.ioctl(s.fd, SIOCINQ);
  assert.ok(outq > 64 * 1024, `client send queue ${outq}`);
  assert.ok(inq > 64 * 1024, `server receive queue ${inq}`);
  assert.equal(c.bytesWritten, sent);
  c.setTimeout(0);

  // Read on the server: the client's queue empties and 'drain' fires.
  const got = collect(s);
  s.resume();
  await once(c, 'drain');
  c.end(data.subarray(sent));
  const all = await got;
  assert.equal(all.length, data.length);
  assert.ok(all.equals(data), 'received bytes differ');
  await once(c, 'close');
  server.close();
});

test('setTimeout fires on an idle socket, in virtual time', async () => {
  const { world, netA, netB } = pair(8);
  const server = netB.createServer((s) => s.resume());
  server.listen(7006);
  await once(server, 'listening');
  const c = netA.connect(7006, '10.0.0.2');
  await once(c, 'connect');
  const t0 = world.now();
  let fired = 0;
  c.setTimeout(30_000, () => fired++);
  assert.equal(c.timeout, 30_000);
  await once(c, 'timeout');
  assert.equal(fired, 1);
  const dt = world.now() - t0;
  assert.ok(dt >= 30_000 && dt < 30_010, `timeout after ${dt} ms`);
  c.destroy();
  await once(c, 'close');
  server.close();
});

/** An http.Agent whose connections are usernet sockets of `net`. */
class UsernetAgent extends http.Agent {
  readonly made: Socket[] = [];
  constructor(
    private readonly net: NodeNet,
    opts: http.AgentOptions,
  ) {
    super(opts);
  }
  override createConnection(opts: http.ClientRequestArgs): Duplex {
    const s = this.net.createConnection({ port: Number(opts.port), host: opts.host ?? undefined });
    this.made.push(s);
    return s;
  }
}

test('node:http over usernet: keep-alive, a chunked 5 MiB download and a 5 MiB upload over a lossy, delayed link', async () => {
  const { world, b, netA, netB } = pair(11, { delay: '15ms', jitter: '2ms', loss: 0.01 });
  const size = 5 * 1024 * 1024;
  const down = pattern(size, 42);
  const up = pattern(size, 43);
  const hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

  const httpServer = http.createServer((req, res) => {
    if (req.url === '/chunked') {
      // No content-length: node:http sends it chunked, one chunk per write.
      let off = 0;
      const more = (): void => {
        while (off < down.length) {
          const piece = down.subarray(off, off + 100_000);
          off += piece.length;
          if (!res.write(piece)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    } else if (req.url === '/upload') {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      req.on('end', () => res.end(`${n} ${h.digest('hex')}`));
    } else {
      res.end(`hello ${req.method} ${req.url} from ${req.socket.remoteAddress}`);
    }
  });
  const server = netB.createServer((s) => httpServer.emit('connection', s));
  server.listen(80);
  await once(server, 'listening');
  const agent = new UsernetAgent(netA, { keepAlive: true, maxSockets: 1 });

  const request = (
    method: string,
    path: string,
    body?: Buffer,
  ): Promise<{ res: http.IncomingMessage; data: Buffer }> =>
    new Promise((resolve, reject) => {
      // 'b' is resolved through the world's hosts table.
      const req = http.request({ host: 'b', port: 80, method, path, agent }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ res, data: Buffer.concat(parts) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  const t0 = world.now();
  const first = await request('GET', '/chunked');
  assert.equal(first.res.statusCode, 200);
  assert.equal(first.res.headers['transfer-encoding'], 'chunked');
  assert.equal(first.data.length, size);
  assert.equal(hex(first.data), hex(down));

  const second = await request('POST', '/upload', up);
  assert.equal(second.data.toString(), `${size} ${hex(up)}`);

  const third = await request('GET', '/small');
  assert.equal(third.data.toString(), 'hello GET /small from 10.0.0.1');
  // All three went over one connection (keep-alive).
  assert.equal(agent.made.length, 1);
  assert.ok(agent.made[0].bytesRead > size && agent.made[0].bytesWritten > size);
  // Loss made the stack retransmit; it all ran in virtual time.
  const elapsed = world.now() - t0;
  assert.ok(elapsed > 100, `took ${elapsed} virtual ms`);
  const retrans = /(\d+) segments retransmitted/.exec(b.netstat({ tcp: true }));
  assert.ok(retrans && Number(retrans[1]) > 0, 'no retransmissions: was the link lossy?');

  agent.destroy();
  await once(agent.made[0], 'close');
  server.close();
  httpServer.close();
});

test('keepAlive: probes on the world clock; a silent peer ends the connection with ETIMEDOUT', async () => {
  const { world, link, netA, netB } = pair(12, { delay: '1ms' });
  const server = netB.createServer((s) => {
    s.resume();
    s.on('error', () => {});
  });
  server.listen(7010);
  await once(server, 'listening');
  const c = netA.connect({
    port: 7010,
    host: '10.0.0.2',
    keepAlive: true,
    keepAliveInitialDelay: 60_000,
    noDelay: true,
  });
  await once(c, 'connect');
  // As libuv: SO_KEEPALIVE, and TCP_KEEPIDLE in whole seconds.
  const t = netA.task;
  assert.equal(t.getsockopt(c.fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  assert.equal(t.getsockopt(c.fd, SOL_TCP, TCP_KEEPIDLE), 60);
  assert.equal(t.getsockopt(c.fd, SOL_TCP, TCP_NODELAY), 1);
  assert.equal(c.setNoDelay(false), c);
  assert.equal(t.getsockopt(c.fd, SOL_TCP, TCP_NODELAY), 0);
  c.setNoDelay();
  assert.equal(t.getsockopt(c.fd, SOL_TCP, TCP_NODELAY), 1);

  // The peer goes silent: 60 s idle, then tcp_keepalive_probes (9) unanswered probes
  // tcp_keepalive_intvl (75 s) apart, and the kernel gives up.
  link.partition();
  const t0 = world.now();
  const wall = performance.now();
  const [err] = (await once(c, 'error')) as [NetError];
  assert.equal(err.code, 'ETIMEDOUT');
  assert.equal(err.syscall, 'read');
  assert.equal(err.errno, -110);
  const elapsed = world.now() - t0;
  assert.ok(
    elapsed >= 60_000 + 9 * 75_000 && elapsed < 60_000 + 9 * 75_000 + 1000,
    `gave up after ${elapsed} ms`,
  );
  assert.ok(performance.now() - wall < 5000, 'virtual time, not wall time');
  await once(c, 'close');
  server.close();
});

test('BlockList, SocketAddress and Stream are there; ref and unref are no-ops', () => {
  const { netA } = pair(13);
  assert.equal(netA.BlockList, BlockList);
  assert.equal(netA.SocketAddress, SocketAddress);
  assert.equal(netA.Stream, netA.Socket);
  const bl = new netA.BlockList();
  bl.addSubnet('10.0.0.0', 24);
  assert.equal(bl.check('10.0.0.9'), true);
  const s = new netA.Socket();
  assert.equal(s.ref(), s);
  assert.equal(s.unref(), s);
  s.destroy();
});

test('a connect to a peer that does not answer ARP: EHOSTUNREACH after the neighbour probes', async () => {
  const { world, link, netA } = pair(14, { delay: '1ms' });
  link.partition();
  const t0 = world.now();
  const c = netA.connect({ port: 7000, host: '10.0.0.2', timeout: 1000 });
  const log: string[] = [];
  c.on('timeout', () => log.push(`timeout ${c.connecting} ${world.now() - t0}`));
  const [err] = (await once(c, 'error')) as [NetError];
  // mcast_solicit (3) ARP requests, retrans_time (1 s) apart.
  assert.equal(world.now() - t0, 3000);
  assert.equal(err.code, 'EHOSTUNREACH');
  assert.equal(err.message, 'connect EHOSTUNREACH 10.0.0.2:7000');
  // The idle timeout fires while connecting, once (nothing moved to re-arm it, as in Node), and
  // does not end the attempt.
  assert.deepEqual(log, ['timeout true 1000']);
  await once(c, 'close');
});

test('a connect to a silent peer: ETIMEDOUT after the SYN retries, in virtual time', async () => {
  const { world, link, a, netA } = pair(14, { delay: '1ms' });
  const mac = [...link.b.dev_addr].map((x) => x.toString(16).padStart(2, '0')).join(':');
  a.ip(`neigh add 10.0.0.2 lladdr ${mac} dev eth0 nud permanent`);
  link.partition();
  const t0 = world.now();
  const c = netA.connect(7000, '10.0.0.2');
  const [err] = (await once(c, 'error')) as [NetError];
  // tcp_syn_retries = 6 after tcp_syn_linear_timeouts = 4 (Linux 6.18): given up at 131 s.
  assert.equal(world.now() - t0, 131_000);
  assert.equal(err.code, 'ETIMEDOUT');
  assert.equal(err.syscall, 'connect');
  assert.equal(err.message, 'connect ETIMEDOUT 10.0.0.2:7000');
  await once(c, 'close');
});

test('a hundred clients at once, each echoed in full; getConnections follows', async () => {
  const { netA, netB } = pair(15, { delay: '2ms', loss: 0.005 });
  const server = netB.createServer((s) => s.pipe(s));
  server.listen(7011, '10.0.0.2', 200);
  await once(server, 'listening');
  const count = (): Promise<number> => new Promise((r) => server.getConnections((_e, n) => r(n)));
  const clients = Array.from({ length: 100 }, (_, i) => {
    const c = netA.connect(7011, '10.0.0.2');
    const data = pattern(10_000 + i * 97, i + 1);
    const got = collect(c);
    c.on('connect', () => c.write(data));
    return { c, data, got };
  });
  await Promise.all(clients.map(({ c }) => once(c, 'connect')));
  // All accepted before any ends.
  for (let i = 0; i < 20 && (await count()) < 100; i++) await new Promise((r) => setImmediate(r));
  assert.equal(await count(), 100);
  for (const { c } of clients) c.end();
  const results = await Promise.all(clients.map(({ got }) => got));
  results.forEach((r, i) => assert.ok(r.equals(clients[i].data), `client ${i} got other bytes`));
  await Promise.all(clients.map(({ c }) => (c.closed ? null : once(c, 'close'))));
  server.close();
  await once(server, 'close');
  assert.equal(await count(), 0);
});

test('the listen backlog reaches the kernel (ss shows it as Send-Q)', async () => {
  const { b, netB } = pair(16);
  const server = netB.createServer();
  server.listen(7012, '10.0.0.2', 37);
  await once(server, 'listening');
  assert.match(b.ss('-tln'), /LISTEN\s+0\s+37\s+10\.0\.0\.2:7012/);
  const other = netB.createServer().listen({ port: 7013 });
  await once(other, 'listening');
  // Node's default backlog is 511.
  assert.match(b.ss('-tln'), /LISTEN\s+0\s+511\s+0\.0\.0\.0:7013/);
  server.close();
  other.close();
});

test('the same seed gives the same run, event for event and instant for instant', async () => {
  const run = async (seed: number): Promise<string[]> => {
    const { world, netA, netB } = pair(seed, { delay: '5ms', jitter: '3ms', loss: 0.03 });
    const log: string[] = [];
    const at = (what: string): number => log.push(`${world.now().toFixed(3)} ${what}`);
    const server = netB.createServer((s) => {
      at(`accept ${s.remotePort}`);
      s.on('data', (d: Buffer) => {
        at(`server data ${d.length}`);
        s.write(d);
      });
      s.on('end', () => s.end());
    });
    server.listen(7020);
    await once(server, 'listening');
    const clients = [0, 1, 2].map((i) => {
      const c = netA.connect(7020, 'b');
      c.on('connect', () => {
        at(`client ${i} connect ${c.localPort}`);
        c.end(pattern(200_000, i));
      });
      c.on('data', (d: Buffer) => at(`client ${i} data ${d.length}`));
      return once(c, 'close').then(() => at(`client ${i} close`));
    });
    await Promise.all(clients);
    server.close();
    await once(server, 'close');
    return log;
  };
  const first = await run(21);
  assert.ok(first.length > 20);
  assert.deepEqual(await run(21), first);
  assert.notDeepEqual(await run(22), first);
});

test('pauseOnConnect leaves the data in the kernel until resume()', async () => {
  const { world, netA, netB } = pair(17, { delay: '1ms' });
  const server = netB.createServer({ pauseOnConnect: true });
  server.listen(7021);
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const c = netA.connect(7021, '10.0.0.2');
  await once(c, 'connect');
  const [s] = (await accepted) as [Socket];
  c.write(pattern(1000, 5));
  const t0 = world.now();
  // Let the segment arrive (one link delay), then look at the server's receive queue.
  while (netB.task.ioctl(s.fd, SIOCINQ) < 1000 && world.now() - t0 < 100)
    await new Promise((r) => setImmediate(r));
  assert.equal(netB.task.ioctl(s.fd, SIOCINQ), 1000);
  assert.equal(s.readableLength, 0);
  assert.equal(s.bytesRead, 0);
  const got = collect(s);
  s.resume();
  c.end();
  assert.ok((await got).equals(pattern(1000, 5)));
  assert.equal(s.bytesRead, 1000);
  server.close();
});

test('on a real-clock world the same module runs in wall time', async () => {
  const world = new World({ seed: 18, clock: 'real' });
  worlds.push(world);
  const a = world.addHost('a');
  const b = world.addHost('b');
  world.link(a, b, { delay: '10ms' });
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  const server = b.net.createServer((s) => s.pipe(s));
  server.listen(7022);
  await once(server, 'listening');
  const t0 = performance.now();
  const c = a.net.connect(7022, 'b');
  const got = collect(c);
  await once(c, 'connect');
  c.end('over real time');
  assert.equal((await got).toString(), 'over real time');
  // ARP, the handshake and the echo: at least three round trips of 20 ms.
  assert.ok(performance.now() - t0 >= 55, `took ${performance.now() - t0} ms`);
  await once(c, 'close');
  server.close();
});
