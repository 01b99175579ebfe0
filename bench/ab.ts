// Paired A/B of two builds of usernet in one process: TCP bulk throughput (or 1-byte ping-pong)
// on tree A and on tree B, round after round, in alternating order.
//
//   node dist/bench/ab.js [--rounds N] [--mib M] [--path loopback|veth] [--workload bulk|pingpong|connect] <treeA> <treeB>
//
// A tree is a checkout with a built dist/ (its dist/src/index.js is imported). Timings on a
// shared or virtual machine swing by tens of percent from one process to the next, so comparing
// two separate runs says little; two trees loaded in one process see the same conditions, and the
// ratio of each pair of consecutive samples (B/A) cancels most of the drift. Two runs of the same
// tree give ratios of about 1.00 ± 0.03: run it a few times before believing a smaller change.

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

type Usernet = typeof import('../src/index.js');
type Path = 'loopback' | 'veth';
type Workload = 'bulk' | 'pingpong' | 'connect';

const CHUNK = 64 * 1024;
const PORT = 5001;

/** One connection between a client task and a server task, on `lo` or across a veth link. */
async function connection(m: Usernet, path: Path) {
  const world = new m.World({ seed: 1 });
  let client, server, addr: string;
  if (path === 'loopback') {
    const h = world.addHost('ab');
    client = h.spawn({ comm: 'client' });
    server = h.spawn({ comm: 'server' });
    addr = '127.0.0.1';
  } else {
    const a = world.addHost('a');
    const b = world.addHost('b');
    world.link(a, b, { mtu: 1500 });
    a.ip('addr add 10.0.0.1/24 dev eth0');
    b.ip('addr add 10.0.0.2/24 dev eth0');
    client = a.spawn({ comm: 'client' });
    server = b.spawn({ comm: 'server' });
    addr = '10.0.0.2';
  }
  const lfd = server.socket(m.AF_INET, m.SOCK_STREAM, 0);
  server.bind(lfd, { family: m.AF_INET, addr, port: PORT });
  server.listen(lfd, 16);
  const cfd = client.socket(m.AF_INET, m.SOCK_STREAM, 0);
  const accepted = server.accept(lfd);
  await client.connect(cfd, { family: m.AF_INET, addr, port: PORT });
  const { fd: sfd } = await accepted;
  const close = (): void => {
    client.close(cfd);
    server.close(sfd);
    server.close(lfd);
  };
  return { client, server, cfd, sfd, close };
}

/** `total` bytes from client to server, 64 KiB writes and reads: Gbit/s of wall time. */
async function bulk(m: Usernet, path: Path, total: number): Promise<number> {
  const { client, server, cfd, sfd, close } = await connection(m, path);
  const src = new Uint8Array(CHUNK);
  const t0 = performance.now();
  await Promise.all([
    (async () => {
      for (let left = total; left > 0;) {
        const n = await client.write(cfd, left >= CHUNK ? src : src.subarray(0, left));
        if (n <= 0) throw new Error(`write returned ${n}`);
        left -= n;
      }
    })(),
    (async () => {
      const buf = new Uint8Array(CHUNK);
      for (let got = 0; got < total;) {
        const n = await server.read(sfd, buf);
        if (n <= 0) throw new Error(`read returned ${n} after ${got} bytes`);
        got += n;
      }
    })(),
  ]);
  const secs = (performance.now() - t0) / 1000;
  close();
  return (total * 8) / 1e9 / secs;
}

/** `trips` round trips of one byte: round trips per second. */
async function pingpong(m: Usernet, path: Path, trips: number): Promise<number> {
  const { client, server, cfd, sfd, close } = await connection(m, path);
  const a = new Uint8Array(1);
  const b = new Uint8Array(1);
  const t0 = performance.now();
  await Promise.all([
    (async () => {
      for (let i = 0; i < trips; i++) {
        if ((await server.read(sfd, b)) !== 1 || (await server.write(sfd, b)) !== 1)
          throw new Error('echo failed');
      }
    })(),
    (async () => {
      for (let i = 0; i < trips; i++) {
        if ((await client.write(cfd, a)) !== 1 || (await client.read(cfd, a)) !== 1)
          throw new Error('ping failed');
      }
    })(),
  ]);
  const secs = (performance.now() - t0) / 1000;
  close();
  return trips / secs;
}

/**
 * `total` connections over `lo`, 16 at a time, each connect, one byte echoed, close (as
 * tcp-connect-rate): connections per second of wall time plus any virtual time that passed.
 */
async function connectRate(m: Usernet, total: number): Promise<number> {
  const world = new m.World({ seed: 1 });
  const h = world.addHost('ab');
  const client = h.spawn({ comm: 'client' });
  const server = h.spawn({ comm: 'server' });
  for (const t of [client, server]) t.setrlimit(m.RLIMIT_NOFILE, { cur: 65536, max: 65536 });
  const dest = { family: m.AF_INET, addr: '127.0.0.1', port: PORT } as const;
  const lfd = server.socket(m.AF_INET, m.SOCK_STREAM, 0);
  server.bind(lfd, dest);
  server.listen(lfd, 4096);
  const serve = async (fd: number): Promise<void> => {
    const b = new Uint8Array(1);
    if ((await server.read(fd, b)) !== 1 || (await server.write(fd, b)) !== 1) throw new Error('echo failed');
    if ((await server.read(fd, b)) !== 0) throw new Error('no end of stream');
    server.close(fd);
  };
  const acceptor = async (): Promise<void> => {
    const handlers: Promise<void>[] = [];
    for (let i = 0; i < total; i++) handlers.push(serve((await server.accept(lfd)).fd));
    await Promise.all(handlers);
  };
  let started = 0;
  const worker = async (): Promise<void> => {
    const b = new Uint8Array(1);
    while (started++ < total) {
      const fd = client.socket(m.AF_INET, m.SOCK_STREAM, 0);
      await client.connect(fd, dest);
      if ((await client.write(fd, b)) !== 1 || (await client.read(fd, b)) !== 1)
        throw new Error('ping failed');
      client.close(fd);
    }
  };
  const v0 = world.now();
  const t0 = performance.now();
  await Promise.all([acceptor(), ...Array.from({ length: 16 }, worker)]);
  const secs = (performance.now() - t0 + world.now() - v0) / 1000;
  server.close(lfd);
  return total / secs;
}

function median(v: number[]): number {
  const s = [...v].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function usage(msg: string): never {
  console.error(`${msg}
usage: node dist/bench/ab.js [--rounds N] [--mib M] [--path loopback|veth] [--workload bulk|pingpong|connect] <treeA> <treeB>`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let rounds = 12;
  let mib = 256;
  let path: Path = 'loopback';
  let workload: Workload = 'bulk';
  const trees: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (): string => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--rounds') rounds = Number(val());
    else if (a === '--mib') mib = Number(val());
    else if (a === '--path') path = val() as Path;
    else if (a === '--workload') workload = val() as Workload;
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else trees.push(a);
  }
  if (trees.length !== 2) usage('two trees are needed');
  if (!(rounds >= 1) || !(mib > 0)) usage('--rounds and --mib take positive numbers');
  if (path !== 'loopback' && path !== 'veth') usage(`--path: loopback or veth, not ${path}`);
  if (workload !== 'bulk' && workload !== 'pingpong' && workload !== 'connect')
    usage(`--workload: bulk, pingpong or connect, not ${workload}`);
  const mods: Usernet[] = [];
  for (const t of trees)
    mods.push((await import(pathToFileURL(resolve(t, 'dist/src/index.js')).href)) as Usernet);
  // Ping-pong: 20 000 round trips per MiB asked for would be slow; 50 000 per sample is what
  // tcp-pingpong uses.
  // Connections: 5 000 per sample over lo (--path does not apply).
  const sample =
    workload === 'bulk'
      ? (m: Usernet) => bulk(m, path, Math.floor(mib * 1024 * 1024))
      : workload === 'pingpong'
        ? (m: Usernet) => pingpong(m, path, 50_000)
        : (m: Usernet) => connectRate(m, 5_000);
  const unit = { bulk: 'Gbit/s', pingpong: 'round trips/s', connect: 'connections/s' }[workload];
  // Warm-up: both trees compile their paths before anything is timed.
  for (let i = 0; i < 3; i++) {
    await sample(mods[0]);
    await sample(mods[1]);
  }
  const va: number[] = [];
  const vb: number[] = [];
  const ratio: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which tree goes first, so neither always runs on the heap the other left.
    const aFirst = (i & 1) === 0;
    const x = await sample(mods[aFirst ? 0 : 1]);
    const y = await sample(mods[aFirst ? 1 : 0]);
    const a = aFirst ? x : y;
    const b = aFirst ? y : x;
    va.push(a);
    vb.push(b);
    ratio.push(b / a);
  }
  const f = (v: number): string => (workload === 'bulk' ? v.toFixed(2) : v.toFixed(0));
  const over = workload === 'connect' ? 'lo' : path;
  console.log(`${workload} over ${over}, ${rounds} pairs${workload === 'bulk' ? ` of ${mib} MiB` : ''}`);
  console.log(`A ${trees[0]}: median ${f(median(va))} ${unit}`);
  console.log(`B ${trees[1]}: median ${f(median(vb))} ${unit}`);
  console.log(
    `B/A per pair: median ${median(ratio).toFixed(3)} [${Math.min(...ratio).toFixed(2)}, ${Math.max(...ratio).toFixed(2)}]`,
  );
}

await main(process.argv.slice(2));
