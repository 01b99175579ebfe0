// The quickstart: a laptop and a server on two networks joined by a router; the server's uplink
// is a 20 Mbit/s, 40 ms round-trip path that loses 1% of packets. The server runs node:http, the
// laptop downloads 1, 10 and 50 MiB through undici — unmodified libraries over usernet's
// sockets, in virtual time. At the end: the kernel's view of the connection (ss -ti), per
// transfer goodput and retransmissions, virtual against real time, and a capture to open in
// Wireshark.

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { Socket as NodeSocket } from 'node:net';
import { Agent, request } from 'undici';
import { World } from '../sim/world.js';
import type { Host } from '../sim/host.js';
import type { Socket } from '../compat/node/net.js';

export interface DemoOptions {
  /** Where the capture goes (default quickstart.pcap in the working directory). */
  pcap?: string;
  /** Sizes downloaded, in bytes (default 1, 10 and 50 MiB). */
  sizes?: number[];
  /** Seed of the world (default 42). */
  seed?: number;
  /** Progress of the running transfer, called every `progressEveryMs` of simulated time. */
  progress?: (line: string) => void;
  /** Simulated milliseconds between progress calls (default 1000). */
  progressEveryMs?: number;
}

export interface TransferReport {
  bytes: number;
  seconds: number;
  goodputMbit: number;
  retransmitted: number;
  sha256ok: boolean;
}

export interface DemoReport {
  transfers: TransferReport[];
  virtualSeconds: number;
  realSeconds: number;
  pcap: string;
  frames: number;
}

const MiB = 1 << 20;

/** The server's body for a size: a deterministic pattern, so both ends can hash it. */
function block(i: number): Buffer {
  const b = Buffer.allocUnsafe(64 * 1024);
  for (let j = 0; j < b.length; j += 4) b.writeUInt32LE((i * 2654435761 + j) >>> 0, j);
  return b;
}

function retransSegs(h: Host): number {
  return Number(/(\d+) segments retransmitted/.exec(h.netstat({ tcp: true }))?.[1] ?? 0);
}

function serve(server: Host, hashes: Map<number, string>): void {
  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const size = Number(/^\/bytes\/(\d+)$/.exec(req.url ?? '')?.[1] ?? NaN);
    if (!Number.isSafeInteger(size)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    const hash = createHash('sha256');
    let sent = 0;
    let i = 0;
    // Write while the socket takes it; wait for 'drain' when usernet's send buffer is full.
    const pump = (): void => {
      while (sent < size) {
        const chunk = block(i++).subarray(0, Math.min(64 * 1024, size - sent));
        sent += chunk.length;
        hash.update(chunk);
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      hashes.set(size, hash.digest('hex'));
      res.end();
    };
    pump();
  });
  server.net.createServer((s: Socket) => http.emit('connection', s)).listen(80, '0.0.0.0');
}

export async function runDemo(print: (line: string) => void, opts: DemoOptions = {}): Promise<DemoReport> {
  const started = performance.now();
  const sizes = opts.sizes ?? [1 * MiB, 10 * MiB, 50 * MiB];
  const pcapPath = opts.pcap ?? 'quickstart.pcap';
  const world = new World({ seed: opts.seed ?? 42 });
  const laptop = world.addHost('laptop');
  const router = world.addHost('router');
  const server = world.addHost('server');
  world.link(laptop, router);
  world.link(router, server, { rate: '20mbit', delay: '20ms', loss: '1%' }); // 40 ms round trip
  laptop.ip('addr add 10.0.1.2/24 dev eth0');
  laptop.ip('route add default via 10.0.1.1');
  router.ip('addr add 10.0.1.1/24 dev eth0');
  router.ip('addr add 10.0.2.1/24 dev eth1');
  router.sysctl.write('net.ipv4.ip_forward', 1);
  server.ip('addr add 10.0.2.2/24 dev eth0');
  server.ip('route add default via 10.0.2.1');
  // Headers are enough to follow TCP in Wireshark, and keep the file small.
  const capture = world.capture(['router:eth1'], { snaplen: 128 });

  print('laptop 10.0.1.2 -- router -- server 10.0.2.2: 20 Mbit/s, 40 ms RTT, 1% loss (each way)');
  const hashes = new Map<number, string>();
  serve(server, hashes);

  const agent = new Agent({
    keepAliveTimeout: 600_000,
    connect: (o, cb) => {
      const s = laptop.net.connect({ host: o.hostname, port: Number(o.port) || 80 });
      // undici takes any net.Socket-shaped duplex.
      s.once('connect', () => cb(null, s as unknown as NodeSocket));
      s.once('error', (e: Error) => cb(e, null));
    },
  });

  const transfers: TransferReport[] = [];
  await world.run(async () => {
    for (const size of sizes) {
      const t0 = world.now();
      const r0 = retransSegs(server);
      const res = await request(`http://10.0.2.2/bytes/${size}`, { dispatcher: agent });
      const hash = createHash('sha256');
      let got = 0;
      let shown = t0;
      for await (const chunk of res.body) {
        hash.update(chunk as Buffer);
        got += (chunk as Buffer).length;
        if (opts.progress && world.now() - shown >= (opts.progressEveryMs ?? 1000)) {
          shown = world.now();
          const pct = ((got / size) * 100).toFixed(0).padStart(3);
          const rate = ((got * 8) / ((world.now() - t0) * 1000)).toFixed(1);
          opts.progress(
            `  ${(size / MiB).toFixed(0)} MiB: ${pct}%  ${rate} Mbit/s  t=${(world.now() / 1000).toFixed(1)} s`,
          );
        }
      }
      const seconds = (world.now() - t0) / 1000;
      transfers.push({
        bytes: got,
        seconds,
        goodputMbit: (got * 8) / seconds / 1e6,
        retransmitted: retransSegs(server) - r0,
        sha256ok: res.statusCode === 200 && got === size && hash.digest('hex') === hashes.get(size),
      });
    }
  });

  print('');
  print('server$ ss -tnoi   (the connection, as the server kernel sees it)');
  for (const line of server.ss('-tnoi').trimEnd().split('\n')) print('  ' + line);
  print('');
  print('transfer      time     goodput      retransmitted  sha256');
  for (const t of transfers) {
    print(
      `${((t.bytes / MiB).toFixed(0) + ' MiB').padEnd(12)}${(t.seconds.toFixed(2) + ' s').padStart(8)}` +
        `${(t.goodputMbit.toFixed(2) + ' Mbit/s').padStart(14)}${String(t.retransmitted).padStart(13)}   ` +
        (t.sha256ok ? 'ok' : 'MISMATCH'),
    );
  }
  await agent.close();
  capture.write(pcapPath);
  const frames = capture.frames.length;
  world.stop();
  const realSeconds = (performance.now() - started) / 1000;
  const virtualSeconds = world.now() / 1000;
  print('');
  print(`virtual time ${virtualSeconds.toFixed(1)} s, real time ${realSeconds.toFixed(1)} s`);
  print(`wrote ${pcapPath} (${frames} frames seen on the router's side of the slow link):`);
  print(`  wireshark ${pcapPath}     or     tshark -r ${pcapPath} -q -z io,stat,1`);
  return { transfers, virtualSeconds, realSeconds, pcap: pcapPath, frames };
}
