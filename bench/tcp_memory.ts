// usernet's side of tcp-memory, run by bench/tcp.ts in a node of its own:
//
//   node --expose-gc [--max-old-space-size=MiB] dist/bench/tcp_memory.js N [PER_PORT]
//
// Opens N TCP connections on one host's loopback (both ends in the world: 2N sockets, each
// established and idle, each an fd of a task), and prints one JSON object: how much the V8 heap
// plus ArrayBuffer memory grew, measured after full collections before and after.

import { World, AF_INET, SOCK_STREAM, RLIMIT_NOFILE, type Task } from '../src/index.js';

/**
 * Connections per listening port: the ephemeral range (32768–60999) holds about 14 000 ports of
 * the parity connect() tries first, and a port may serve several destinations, so spreading the
 * connections over ports of 10 000 each keeps connect() from searching the whole range.
 */
const DEFAULT_PER_PORT = 10_000;

/**
 * Let a world's timers run out (its virtual clock moves on whenever the process is idle): a world
 * with timers pending is still referenced from the event loop, so it is neither garbage yet nor
 * idle. Gives up after `maxTurns` event-loop turns; returns the timers still pending.
 */
async function settle(world: World, maxTurns = 100_000): Promise<number> {
  for (let i = 0; i < maxTurns && world.clock.pendingTimers() > 0; i++)
    await new Promise<void>((resolve) => setImmediate(resolve));
  return world.clock.pendingTimers();
}

function listenOn(t: Task, port: number): number {
  const lfd = t.socket(AF_INET, SOCK_STREAM, 0);
  t.bind(lfd, { family: AF_INET, addr: '127.0.0.1', port });
  t.listen(lfd, 65535);
  return lfd;
}

/** `n` established connections on one host's loopback; the world and fds are returned so they stay alive. */
async function establish(n: number, perPort: number): Promise<{ world: World; fds: number[] }> {
  const world = new World({ seed: 1 });
  const host = world.addHost('bench');
  host.sysctl.write('net.core.somaxconn', 65535);
  const nofile = n + 1024;
  if (nofile > 1048576) host.sysctl.write('fs.nr_open', nofile);
  const client = host.spawn({ comm: 'client' });
  const server = host.spawn({ comm: 'server' });
  for (const t of [client, server]) t.setrlimit(RLIMIT_NOFILE, { cur: nofile, max: nofile });
  const lfds: number[] = [];
  for (let p = 0; p * perPort < n; p++) lfds.push(listenOn(server, 6000 + p));
  const fds: number[] = [];
  const BATCH = 1000;
  for (let i = 0; i < n; i += BATCH) {
    const m = Math.min(BATCH, n - i);
    const connects: Promise<void>[] = [];
    for (let j = i; j < i + m; j++) {
      const fd = client.socket(AF_INET, SOCK_STREAM, 0);
      fds.push(fd);
      const port = 6000 + Math.floor(j / perPort);
      connects.push(client.connect(fd, { family: AF_INET, addr: '127.0.0.1', port }));
    }
    await Promise.all(connects);
    for (let j = i; j < i + m; j++) fds.push((await server.accept(lfds[Math.floor(j / perPort)])).fd);
  }
  return { world, fds };
}

/** V8's heap plus ArrayBuffer memory (skb heads live there) after full collections. */
function heapAfterGc(gc: () => void): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const n = Number(process.argv[2]);
  const perPort = Number(process.argv[3] ?? DEFAULT_PER_PORT);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(perPort) || perPort < 1)
    throw new Error('usage: node --expose-gc dist/bench/tcp_memory.js N [PER_PORT]');
  // Compile the code paths first (compiled code is on the heap too), in a world thrown away once
  // its timers have run out (until then its clock keeps it alive, and it would be freed during
  // the measurement, hiding as much of the measured world); then one connection in another
  // world, so that whatever the last world leaves referenced from module scope (the last call's
  // arguments) is a small world, not the big one.
  const warm = await establish(Math.min(n, 2000), perPort);
  if ((await settle(warm.world)) > 0) throw new Error('the warm-up world still has timers pending');
  const small = await establish(1, perPort);
  await settle(small.world);
  const before = heapAfterGc(gc);
  const kept = await establish(n, perPort);
  // Idle: the handshake's timers (delayed ACKs…) have run out.
  const pending = await settle(kept.world);
  const after = heapAfterGc(gc);
  if (kept.fds.length !== 2 * n) throw new Error(`${kept.fds.length} sockets, expected ${2 * n}`);
  process.stdout.write(
    JSON.stringify({ connections: n, bytes: after - before, sockets: kept.fds.length, pending }) + '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`tcp_memory: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
