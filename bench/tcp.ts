// TCP benchmarks: bulk throughput (one host's loopback, and two hosts over a veth link at MTU
// 1500), connection rate, 1-byte request/response, all against node:net over this machine's
// loopback (127.0.0.1); and the memory an idle established socket costs, against what the
// kernel of this machine spends on the same number of sockets (its slab caches).
//
// usernet runs on the World's virtual clock, and each sample is timed in wall time plus the
// virtual time that passed while it ran. Wall time alone is the stack's CPU cost (the virtual
// clock stands still while anything is runnable, so no timer wait costs wall time); the virtual
// time that did pass is what a real clock would have waited for (a retransmission timeout, a
// delayed ACK), so it is charged to usernet and reported, never hidden.

import * as net from 'node:net';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { World, AF_INET, SOCK_STREAM, RLIMIT_NOFILE, type Task } from '../src/index.js';
import { now, type BenchConfig, type Benchmark, type SampleResult } from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 64 * KiB;
const PORT = 5001;

/** The bytes of a stream at position p: (p mod CHUNK) mod 251, so chunk and segment edges show. */
function pattern(): Uint8Array {
  const b = new Uint8Array(CHUNK);
  for (let i = 0; i < CHUNK; i++) b[i] = i % 251;
  return b;
}

/** The pattern twice over: any stretch of up to CHUNK bytes of the stream is one slice of it. */
const expected = Buffer.concat([pattern(), pattern()]);

/** Check that `buf[0, n)` are the stream's bytes from offset `pos` (a native compare, CHUNK at a time). */
function checkBytes(buf: Uint8Array, n: number, pos: number, what: string): void {
  for (let done = 0; done < n;) {
    const len = Math.min(n - done, CHUNK);
    const at = (pos + done) % CHUNK;
    if (Buffer.compare(buf.subarray(done, done + len), expected.subarray(at, at + len)) !== 0) {
      throw new Error(`${what}: wrong bytes in the ${len} at stream offset ${pos + done}`);
    }
    done += len;
  }
}

// ——— usernet —————————————————————————————————————————————————————————————————

type Path = 'loopback' | 'veth';

/**
 * Start timing a usernet sample: returns a function giving the seconds it took (wall time plus
 * the virtual time that passed) and the virtual milliseconds in it.
 */
function startTiming(world: World): () => { secs: number; waitedMs: number } {
  const t0 = now();
  const v0 = world.now();
  return () => {
    const waitedMs = world.now() - v0;
    return { secs: (now() - t0 + waitedMs) / 1000, waitedMs };
  };
}

interface UsernetWorld {
  world: World;
  client: Task;
  server: Task;
  /** Where the server listens. */
  addr: string;
}

/**
 * A client and a server task: on one host (both on 127.0.0.1, over `lo`), or on two hosts
 * joined by `world.link` at MTU 1500 (10.0.0.1 → 10.0.0.2 over eth0).
 */
function usernetWorld(path: Path): UsernetWorld {
  const world = new World({ seed: 1 });
  if (path === 'loopback') {
    const host = world.addHost('bench');
    return {
      world,
      client: host.spawn({ comm: 'client' }),
      server: host.spawn({ comm: 'server' }),
      addr: '127.0.0.1',
    };
  }
  const a = world.addHost('a');
  const b = world.addHost('b');
  world.link(a, b, { mtu: 1500 });
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  return {
    world,
    client: a.spawn({ comm: 'client' }),
    server: b.spawn({ comm: 'server' }),
    addr: '10.0.0.2',
  };
}

function listenOn(t: Task, addr: string, port: number, backlog: number): number {
  const lfd = t.socket(AF_INET, SOCK_STREAM, 0);
  t.bind(lfd, { family: AF_INET, addr, port });
  t.listen(lfd, backlog);
  return lfd;
}

/** One established connection: `cfd` in the client task, `sfd` in the server task. */
async function usernetConnection(
  path: Path,
): Promise<UsernetWorld & { cfd: number; sfd: number; lfd: number }> {
  const w = usernetWorld(path);
  const lfd = listenOn(w.server, w.addr, PORT, 16);
  const cfd = w.client.socket(AF_INET, SOCK_STREAM, 0);
  const accepted = w.server.accept(lfd);
  await w.client.connect(cfd, { family: AF_INET, addr: w.addr, port: PORT });
  const { fd: sfd } = await accepted;
  return { ...w, cfd, sfd, lfd };
}

async function usernetBulk(path: Path, total: number, verify: boolean): Promise<SampleResult> {
  const { world, client, server, cfd, sfd, lfd } = await usernetConnection(path);
  const src = pattern();
  const writer = async (): Promise<void> => {
    let left = total;
    while (left > 0) {
      const n = await client.write(cfd, left >= CHUNK ? src : src.subarray(0, left));
      if (n <= 0) throw new Error(`usernet write returned ${n}`);
      left -= n;
    }
  };
  const reader = async (): Promise<void> => {
    const buf = new Uint8Array(CHUNK);
    let got = 0;
    while (got < total) {
      const n = await server.read(sfd, buf);
      if (n <= 0) throw new Error(`usernet read returned ${n} after ${got} of ${total} bytes`);
      if (verify) checkBytes(buf, n, got, `usernet ${path}`);
      got += n;
    }
    if (got !== total) throw new Error(`usernet: read ${got} bytes, expected ${total}`);
  };
  const stop = startTiming(world);
  await Promise.all([writer(), reader()]);
  const { secs, waitedMs } = stop();
  client.close(cfd);
  server.close(sfd);
  server.close(lfd);
  return { value: (total * 8) / 1e9 / secs, waitedMs };
}

async function usernetPingPong(trips: number, verify: boolean): Promise<SampleResult> {
  const { world, client, server, cfd, sfd, lfd } = await usernetConnection('loopback');
  const echo = async (): Promise<void> => {
    const buf = new Uint8Array(1);
    for (let i = 0; i < trips; i++) {
      const n = await server.read(sfd, buf);
      if (n !== 1) throw new Error(`usernet echo read returned ${n}`);
      if ((await server.write(sfd, buf)) !== 1) throw new Error('usernet echo write failed');
    }
  };
  const ping = async (): Promise<void> => {
    const out = new Uint8Array(1);
    const back = new Uint8Array(1);
    for (let i = 0; i < trips; i++) {
      out[0] = i & 0xff;
      if ((await client.write(cfd, out)) !== 1) throw new Error('usernet ping write failed');
      const n = await client.read(cfd, back);
      if (n !== 1) throw new Error(`usernet ping read returned ${n}`);
      if (verify && back[0] !== out[0]) throw new Error(`usernet ping ${i}: echoed the wrong byte`);
    }
  };
  const stop = startTiming(world);
  await Promise.all([echo(), ping()]);
  const { secs, waitedMs } = stop();
  client.close(cfd);
  server.close(sfd);
  server.close(lfd);
  return { value: trips / secs, waitedMs };
}

/**
 * `total` connections to one listener on 127.0.0.1, `inflight` at a time: socket, connect, write
 * one byte, read the echo, close. The server accepts, reads the byte, writes it back, reads the
 * end of the stream and closes. Done when every server side has closed.
 */
async function usernetConnRate(total: number, inflight: number, verify: boolean): Promise<SampleResult> {
  const { world, client, server, addr } = usernetWorld('loopback');
  for (const t of [client, server]) t.setrlimit(RLIMIT_NOFILE, { cur: 65536, max: 65536 });
  const lfd = listenOn(server, addr, PORT, 4096);
  const dest = { family: AF_INET, addr, port: PORT } as const;
  const serve = async (fd: number): Promise<void> => {
    const b = new Uint8Array(1);
    let n = await server.read(fd, b);
    if (n !== 1) throw new Error(`usernet server read returned ${n}`);
    if ((await server.write(fd, b)) !== 1) throw new Error('usernet server write failed');
    n = await server.read(fd, b);
    if (n !== 0) throw new Error(`usernet server: ${n} bytes where the end of the stream was expected`);
    server.close(fd);
  };
  const acceptor = async (): Promise<void> => {
    const handlers: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const { fd } = await server.accept(lfd);
      handlers.push(serve(fd));
    }
    await Promise.all(handlers);
  };
  let started = 0;
  const worker = async (): Promise<void> => {
    const out = new Uint8Array(1);
    const back = new Uint8Array(1);
    while (started < total) {
      out[0] = started++ & 0xff;
      const fd = client.socket(AF_INET, SOCK_STREAM, 0);
      await client.connect(fd, dest);
      if ((await client.write(fd, out)) !== 1) throw new Error('usernet client write failed');
      const n = await client.read(fd, back);
      if (n !== 1) throw new Error(`usernet client read returned ${n}`);
      if (verify && back[0] !== out[0]) throw new Error('usernet client: echoed the wrong byte');
      client.close(fd);
    }
  };
  const stop = startTiming(world);
  const workers: Promise<void>[] = [acceptor()];
  for (let i = 0; i < inflight; i++) workers.push(worker());
  await Promise.all(workers);
  const { secs, waitedMs } = stop();
  server.close(lfd);
  return { value: total / secs, waitedMs };
}

// ——— node:net over this machine's loopback (127.0.0.1) ——————————————————————————

/** A node:net server on 127.0.0.1 (a port the kernel picks). */
async function realServer(
  onConnection?: (s: net.Socket) => void,
): Promise<{ srv: net.Server; port: number }> {
  const srv = net.createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      srv.off('error', reject);
      resolve();
    });
  });
  return { srv, port: (srv.address() as net.AddressInfo).port };
}

function closeServer(srv: net.Server): Promise<void> {
  return new Promise<void>((resolve) => srv.close(() => resolve()));
}

/** A server and one client connected to it. */
async function realPair(): Promise<{ client: net.Socket; server: net.Socket; close(): Promise<void> }> {
  const { srv, port } = await realServer();
  try {
    const accepted = new Promise<net.Socket>((resolve, reject) => {
      srv.once('connection', resolve);
      srv.once('error', reject);
    });
    const client = net.createConnection(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    const server = await accepted;
    return {
      client,
      server,
      close: async () => {
        client.destroy();
        server.destroy();
        await closeServer(srv);
      },
    };
  } catch (err) {
    srv.close();
    throw err;
  }
}

async function realBulk(total: number, verify: boolean): Promise<number> {
  const pair = await realPair();
  try {
    const src = Buffer.from(pattern());
    const done = new Promise<void>((resolve, reject) => {
      let got = 0;
      pair.server.on('data', (chunk: Buffer) => {
        if (verify) checkBytes(chunk, chunk.length, got, 'node:net');
        got += chunk.length;
        if (got === total) resolve();
        else if (got > total) reject(new Error(`node:net: read ${got} bytes, expected ${total}`));
      });
      pair.server.once('error', reject);
      pair.server.once('end', () => reject(new Error(`node:net: end after ${got} of ${total} bytes`)));
      pair.client.once('error', reject);
    });
    let left = total;
    const pump = (): void => {
      while (left > 0) {
        const c = left >= CHUNK ? src : src.subarray(0, left);
        left -= c.length;
        // Respect backpressure: stop when the socket's buffer is full, carry on at 'drain'.
        if (!pair.client.write(c)) {
          pair.client.once('drain', pump);
          return;
        }
      }
    };
    const t0 = now();
    pump();
    await done;
    const secs = (now() - t0) / 1000;
    return (total * 8) / 1e9 / secs;
  } finally {
    await pair.close();
  }
}

async function realPingPong(trips: number, verify: boolean): Promise<number> {
  const pair = await realPair();
  try {
    pair.server.on('data', (chunk: Buffer) => pair.server.write(chunk));
    const out = Buffer.alloc(1);
    const done = new Promise<void>((resolve, reject) => {
      let i = 0;
      pair.client.on('data', (chunk: Buffer) => {
        if (chunk.length !== 1) {
          reject(new Error(`node:net ping ${i}: ${chunk.length} bytes back`));
          return;
        }
        if (verify && chunk[0] !== (i & 0xff)) {
          reject(new Error(`node:net ping ${i}: echoed the wrong byte`));
          return;
        }
        if (++i === trips) {
          resolve();
          return;
        }
        out[0] = i & 0xff;
        pair.client.write(Buffer.from(out));
      });
      pair.client.once('error', reject);
      pair.server.once('error', reject);
    });
    const t0 = now();
    out[0] = 0;
    pair.client.write(Buffer.from(out));
    await done;
    const secs = (now() - t0) / 1000;
    return trips / secs;
  } finally {
    await pair.close();
  }
}

/**
 * The same as usernetConnRate over node:net: the client writes a byte on 'connect', destroys the
 * socket (close(2)) when the echo arrives; the server echoes and closes at the end of the stream
 * (node's default without allowHalfOpen). Done when every server socket has closed.
 */
async function realConnRate(total: number, inflight: number, verify: boolean): Promise<number> {
  let closed = 0;
  let fail: (err: Error) => void = () => {};
  let finish: () => void = () => {};
  const { srv, port } = await realServer((s) => {
    s.on('data', (d: Buffer) => s.write(d));
    s.on('error', (err) => fail(err));
    s.on('close', () => {
      if (++closed === total) finish();
    });
  });
  try {
    let started = 0;
    const t0 = now();
    await new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
      const one = (): void => {
        const byte = started++ & 0xff;
        const s = net.createConnection(port, '127.0.0.1');
        s.once('connect', () => s.write(Buffer.from([byte])));
        s.once('data', (d: Buffer) => {
          if (d.length !== 1 || (verify && d[0] !== byte)) {
            reject(new Error(`node:net: ${d.length} bytes echoed, or the wrong byte`));
            return;
          }
          s.destroy();
          if (started < total) one();
        });
        s.on('error', reject);
      };
      for (let i = 0; i < inflight && started < total; i++) one();
    });
    const secs = (now() - t0) / 1000;
    return total / secs;
  } finally {
    await closeServer(srv);
  }
}

// ——— memory per idle established socket ——————————————————————————————————————————

/** Connections per listening port (see bench/tcp_memory.ts); the kernel's side uses the same. */
const CONNS_PER_PORT = 10_000;

/**
 * usernet's side, in a fresh node with --expose-gc (bench/tcp_memory.ts): a heap of its own, so
 * nothing the suite did before is counted, and a heap limit big enough for the connections.
 */
async function usernetMemory(n: number): Promise<SampleResult> {
  // About 4 KiB per socket today, two sockets per connection, and room to spare.
  const heapMiB = Math.max(4096, Math.ceil((n * 2 * 4 * KiB * 2) / MiB));
  const script = fileURLToPath(new URL('./tcp_memory.js', import.meta.url));
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ['--expose-gc', `--max-old-space-size=${heapMiB}`, script, String(n), String(CONNS_PER_PORT)],
      { maxBuffer: MiB },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    ),
  );
  const r = JSON.parse(out) as { connections: number; bytes: number };
  return {
    value: r.bytes / (2 * r.connections),
    note: `${r.connections} connections = ${2 * r.connections} sockets, idle (no timer pending); V8 heap + ArrayBuffers after gc grew by ${(r.bytes / MiB).toFixed(1)} MiB`,
  };
}

/**
 * The kernel's side, asked with Python's socket module (the project's oracle): open `n`
 * connections on 127.0.0.1 and read /proc/slabinfo before and after. Each process holds both ends
 * of up to CONNS_PER_PORT connections (fewer where RLIMIT_NOFILE cannot be raised), so as many
 * processes are forked as that takes. Prints one JSON object.
 */
const KERNEL_MEMORY_PY = String.raw`
import json, os, resource, socket, sys
n, per = int(sys.argv[1]), int(sys.argv[2])
def slab():
    out = {}
    with open('/proc/slabinfo') as f:
        for line in f.readlines()[2:]:
            p = line.split()
            out[p[0]] = (int(p[1]), int(p[3]))
    return out
try:
    slab()
except OSError as e:
    print(json.dumps({'error': '/proc/slabinfo is not readable here (%s): the kernel reference needs root' % e.strerror}))
    sys.exit(0)
nr_open = int(open('/proc/sys/fs/nr_open').read())
want = min(2 * n + 256, nr_open)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
except (ValueError, OSError):
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
# Each process holds both ends of its share of the connections; as many processes as the fd
# limit needs, forked (and waiting) before the first reading so that only sockets are counted.
share = min(n, (limit - 256) // 2, per)
workers = []
for w in range((n + share - 1) // share):
    m = min(share, n - w * share)
    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go_w); os.close(done_r)
        # The other workers' pipe ends came with the fork: close them, or a worker would never
        # see the end of its own pipe when the parent closes it.
        for _, other_go, other_done, _ in workers:
            os.close(other_go); os.close(other_done)
        if os.read(go_r, 1) != b'1':
            os._exit(1)
        l = socket.socket()
        l.bind(('127.0.0.1', 0))
        l.listen(4096)
        socks = []
        for i in range(m):
            c = socket.socket()
            c.connect(l.getsockname())
            a, _ = l.accept()
            socks.append(c); socks.append(a)
        os.write(done_w, b'1')
        os.read(go_r, 1)
        os._exit(0)
    os.close(go_r); os.close(done_w)
    workers.append((pid, go_w, done_r, m))
before = slab()
for _, go_w, _, _ in workers:
    os.write(go_w, b'1')
for _, _, done_r, _ in workers:
    if os.read(done_r, 1) != b'1':
        print(json.dumps({'error': 'a worker failed to open its connections'}))
        sys.exit(0)
after = slab()
for pid, go_w, _, _ in workers:
    os.close(go_w)
    os.waitpid(pid, 0)
deltas = {k: (after[k][0] - before.get(k, (0, 0))[0]) * after[k][1] for k in after}
total = sum(deltas.values())
top = sorted(((v, k) for k, v in deltas.items() if v > 0), reverse=True)[:6]
print(json.dumps({'connections': n, 'processes': len(workers), 'bytes': total,
                  'tcp_objsize': after.get('TCP', (0, 0))[1],
                  'top': [[k, round(v / (2 * n))] for v, k in top]}))
`;

interface KernelMemory {
  error?: string;
  connections: number;
  processes: number;
  bytes: number;
  tcp_objsize: number;
  top: [string, number][];
}

async function kernelMemory(n: number): Promise<SampleResult> {
  if (process.platform !== 'linux')
    return { value: NaN, note: 'not measured: this is not Linux (no /proc/slabinfo)' };
  let out: string;
  try {
    out = await new Promise<string>((resolve, reject) =>
      execFile(
        'python3',
        ['-c', KERNEL_MEMORY_PY, String(n), String(CONNS_PER_PORT)],
        { maxBuffer: MiB, timeout: 600_000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
  } catch (err) {
    return {
      value: NaN,
      note: `not measured: python3 could not run the probe (${(err as Error).message.split('\n')[0]})`,
    };
  }
  const r = JSON.parse(out) as KernelMemory;
  if (r.error) return { value: NaN, note: `not measured: ${r.error}` };
  const per = r.bytes / (2 * r.connections);
  return {
    value: per,
    note:
      `${r.connections} connections = ${2 * r.connections} kernel sockets (${r.processes} processes): slab caches grew ` +
      `${(r.bytes / MiB).toFixed(1)} MiB; per socket ${r.top.map(([k, v]) => `${k} ${v}`).join(', ')} B ` +
      `(the TCP object alone is ${r.tcp_objsize} B; idle sockets hold no buffers: ss -tm skmem r0 t0)`,
  };
}

// ——— the benchmarks ———————————————————————————————————————————————————————————————

export function tcpBenchmarks(cfg: BenchConfig): Benchmark[] {
  const loTotal = (cfg.quick ? 8 : 256) * MiB;
  const vethTotal = (cfg.quick ? 2 : 64) * MiB;
  const trips = cfg.quick ? 2_000 : 50_000;
  const conns = cfg.quick ? 1_000 : 10_000;
  const inflight = 64;
  const memConns = cfg.connections ?? (cfg.quick ? 2_000 : 100_000);
  return [
    {
      name: 'tcp-loopback-bulk',
      unit: 'Gbit/s',
      higherIsBetter: true,
      target: 1.5,
      describe: `${loTotal / MiB} MiB over one TCP connection on 127.0.0.1 of one host (lo, MTU 65536), 64 KiB writes, 64 KiB reads`,
      usernet: { name: 'usernet', sample: (verify) => usernetBulk('loopback', loTotal, verify) },
      reference: { name: 'node:net lo', sample: (verify) => realBulk(loTotal, verify) },
    },
    {
      name: 'tcp-veth-bulk',
      unit: 'Gbit/s',
      higherIsBetter: true,
      target: null,
      describe: `${vethTotal / MiB} MiB over one TCP connection from 10.0.0.1 to 10.0.0.2, two hosts joined by world.link (veth, MTU 1500), 64 KiB writes and reads; reference: 127.0.0.1`,
      usernet: { name: 'usernet', sample: (verify) => usernetBulk('veth', vethTotal, verify) },
      reference: { name: 'node:net lo', sample: (verify) => realBulk(loTotal, verify) },
    },
    {
      name: 'tcp-connect-rate',
      unit: 'connections/s',
      higherIsBetter: true,
      target: 10,
      describe: `${conns} connections to 127.0.0.1, ${inflight} in flight: connect, 1-byte echo, close (the server closes at EOF)`,
      usernet: { name: 'usernet', sample: (verify) => usernetConnRate(conns, inflight, verify) },
      reference: { name: 'node:net lo', sample: (verify) => realConnRate(conns, inflight, verify) },
    },
    {
      name: 'tcp-pingpong',
      unit: 'round trips/s',
      higherIsBetter: true,
      target: 5,
      describe: `${trips} 1-byte request/response round trips on one TCP connection on 127.0.0.1`,
      usernet: { name: 'usernet', sample: (verify) => usernetPingPong(trips, verify) },
      reference: { name: 'node:net lo', sample: (verify) => realPingPong(trips, verify) },
    },
    {
      name: 'tcp-memory',
      unit: 'bytes/socket',
      higherIsBetter: false,
      target: null,
      goal: { max: 2 * KiB },
      describe: `heap per idle established TCP socket, ${memConns} connections on 127.0.0.1 (both ends counted); reference: the kernel's slab caches for as many sockets`,
      rounds: cfg.quick ? 1 : 3,
      warmup: 0,
      timeoutMs: Math.max(120_000, memConns * 2),
      usernet: { name: 'usernet', sample: () => usernetMemory(memConns) },
      reference: { name: 'kernel slab', sample: () => kernelMemory(memConns) },
    },
  ];
}
