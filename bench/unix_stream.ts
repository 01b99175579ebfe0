// AF_UNIX SOCK_STREAM benchmarks: bulk throughput and 1-byte ping-pong, usernet against node:net
// over a real Unix domain socket of this machine's kernel.

import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  World,
  AF_UNIX,
  SOCK_STREAM,
  SOL_SOCKET,
  SCM_RIGHTS,
  type SockaddrUn,
  type Task,
} from '../src/index.js';
import { now, type BenchConfig, type Benchmark } from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 64 * KiB;

/** The bytes of a stream at position p: (p mod CHUNK) mod 251, so chunk and page edges show. */
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

/**
 * Hand `fd` of task `from` to task `to` over SCM_RIGHTS (a parent giving one end of a socketpair
 * to a worker), through a connection on an abstract name. Returns the fd in `to`.
 */
async function handOff(from: Task, to: Task, fd: number): Promise<number> {
  const addr: SockaddrUn = { family: AF_UNIX, path: '\0usernet-bench-handoff' };
  const lfd = to.socket(AF_UNIX, SOCK_STREAM, 0);
  to.bind(lfd, addr);
  to.listen(lfd, 1);
  const cfd = from.socket(AF_UNIX, SOCK_STREAM, 0);
  const accepted = to.accept(lfd);
  await from.connect(cfd, addr);
  const { fd: afd } = await accepted;
  await from.sendmsg(cfd, {
    iov: [new Uint8Array([1])],
    control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [fd] }],
  });
  const r = await to.recvmsg(afd, { iov: [new Uint8Array(1)], controllen: 64 });
  const got = r.control[0]?.fds?.[0];
  if (got === undefined) throw new Error('fd hand-off: no SCM_RIGHTS received');
  from.close(fd);
  from.close(cfd);
  to.close(afd);
  to.close(lfd);
  return got;
}

/** Two processes on one host, joined by a socketpair: `a` belongs to `p`, `b` to `q`. */
async function usernetPair(): Promise<{ p: Task; q: Task; a: number; b: number }> {
  const world = new World({ seed: 1 });
  const host = world.addHost('bench');
  const p = host.spawn({ uid: 1000, comm: 'writer' });
  const q = host.spawn({ uid: 1000, comm: 'reader' });
  const [a, b0] = p.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const b = await handOff(p, q, b0);
  return { p, q, a, b };
}

async function usernetThroughput(total: number, verify: boolean): Promise<number> {
  const { p, q, a, b } = await usernetPair();
  const src = pattern();
  const writer = async (): Promise<void> => {
    let left = total;
    while (left > 0) {
      const n = await p.write(a, left >= CHUNK ? src : src.subarray(0, left));
      if (n <= 0) throw new Error(`usernet write returned ${n}`);
      left -= n;
    }
  };
  const reader = async (): Promise<void> => {
    const buf = new Uint8Array(CHUNK);
    let got = 0;
    while (got < total) {
      const n = await q.read(b, buf);
      if (n <= 0) throw new Error(`usernet read returned ${n} after ${got} of ${total} bytes`);
      if (verify) checkBytes(buf, n, got, 'usernet');
      got += n;
    }
    if (got !== total) throw new Error(`usernet: read ${got} bytes, expected ${total}`);
  };
  const t0 = now();
  await Promise.all([writer(), reader()]);
  const secs = (now() - t0) / 1000;
  p.close(a);
  q.close(b);
  return total / 1e6 / secs;
}

async function usernetPingPong(trips: number, verify: boolean): Promise<number> {
  const world = new World({ seed: 1 });
  const host = world.addHost('bench');
  const server = host.spawn({ uid: 0, comm: 'server' });
  const client = host.spawn({ uid: 0, comm: 'client' });
  const addr: SockaddrUn = { family: AF_UNIX, path: '/tmp/pingpong.sock' };
  const lfd = server.socket(AF_UNIX, SOCK_STREAM, 0);
  server.bind(lfd, addr);
  server.listen(lfd, 1);
  const cfd = client.socket(AF_UNIX, SOCK_STREAM, 0);
  const accepted = server.accept(lfd);
  await client.connect(cfd, addr);
  const { fd: sfd } = await accepted;

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
  const t0 = now();
  await Promise.all([echo(), ping()]);
  const secs = (now() - t0) / 1000;
  client.close(cfd);
  server.close(sfd);
  server.close(lfd);
  return trips / secs;
}

// ——— node:net over a real Unix domain socket —————————————————————————————————————

interface RealPair {
  client: net.Socket;
  server: net.Socket;
  close(): Promise<void>;
}

/** Temporary directories still in use; removed at exit even when a sample failed half-way. */
const liveDirs = new Set<string>();
process.on('exit', () => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

/** A node:net server on a fresh temporary path and one client connected to it. */
async function realPair(): Promise<RealPair> {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-bench-'));
  liveDirs.add(dir);
  const path = join(dir, 'bench.sock');
  const srv = net.createServer();
  const cleanup = (): void => {
    rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  };
  try {
    const accepted = new Promise<net.Socket>((resolve, reject) => {
      srv.once('connection', resolve);
      srv.once('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(path, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    const client = net.createConnection(path);
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
        await new Promise<void>((resolve) => srv.close(() => resolve()));
        cleanup();
      },
    };
  } catch (err) {
    srv.close();
    cleanup();
    throw err;
  }
}

async function realThroughput(total: number, verify: boolean): Promise<number> {
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
    return total / 1e6 / secs;
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

// ——— the benchmarks ———————————————————————————————————————————————————————————————

export function unixStreamBenchmarks(cfg: BenchConfig): Benchmark[] {
  const total = (cfg.quick ? 4 : 256) * MiB;
  const trips = cfg.quick ? 2_000 : 50_000;
  return [
    {
      name: 'unix-stream-throughput',
      unit: 'MB/s',
      higherIsBetter: true,
      target: 2,
      describe: `${total / MiB} MiB through an AF_UNIX SOCK_STREAM pair, 64 KiB writes, 64 KiB reads`,
      usernet: { name: 'usernet', sample: (verify) => usernetThroughput(total, verify) },
      reference: { name: 'node:net unix', sample: (verify) => realThroughput(total, verify) },
    },
    {
      name: 'unix-stream-pingpong',
      unit: 'round trips/s',
      higherIsBetter: true,
      target: 2,
      describe: `${trips} 1-byte request/response round trips on a connected AF_UNIX SOCK_STREAM pair`,
      usernet: { name: 'usernet', sample: (verify) => usernetPingPong(trips, verify) },
      reference: { name: 'node:net unix', sample: (verify) => realPingPong(trips, verify) },
    },
  ];
}
