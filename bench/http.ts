// node:http keep-alive requests per second, 1 KiB response bodies: between two usernet hosts
// (host.net under node:http, a veth at MTU 1500, virtual time) against node:http over the
// kernel's 127.0.0.1, in the same run. The same http module does the parsing on both sides, so
// the ratio is the cost of the transport under it.

import http from 'node:http';
import type { AddressInfo, Socket as NodeSocket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { World } from '../src/index.js';
import type { Benchmark, BenchConfig, SampleResult } from './harness.js';

const BODY = Buffer.alloc(1024, 0x61);
const CLIENTS = 8;
const PORT = 8080;

function handler(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length });
  res.end(BODY);
}

/** `total` GETs from CLIENTS loops sharing a keep-alive agent of CLIENTS sockets. */
async function drive(
  agent: http.Agent,
  host: string,
  port: number,
  total: number,
  verify: boolean,
): Promise<void> {
  let left = total;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.get({ host, port, path: '/', agent }, (res) => {
        let n = 0;
        res.on('data', (d: Buffer) => {
          n += d.length;
          if (verify && d.some((b) => b !== 0x61)) reject(new Error('http: wrong body byte'));
        });
        res.on('end', () => (n === BODY.length ? resolve() : reject(new Error(`http: body of ${n} bytes`))));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  const loop = async (): Promise<void> => {
    while (left > 0) {
      left--;
      await one();
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, loop));
}

async function usernetHttp(total: number, verify: boolean): Promise<SampleResult> {
  const world = new World({ seed: 1 });
  const a = world.addHost('a');
  const b = world.addHost('b');
  world.link(a, b, { mtu: 1500 });
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  const server = http.createServer(handler);
  const listener = b.net.createServer((s) => server.emit('connection', s));
  listener.listen(PORT, '10.0.0.2');
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  agent.createConnection = (o) =>
    a.net.connect({ host: o.host ?? '10.0.0.2', port: Number(o.port) }) as unknown as NodeSocket;
  const t0 = performance.now();
  const v0 = world.now();
  await drive(agent, '10.0.0.2', PORT, total, verify);
  const waitedMs = world.now() - v0;
  const secs = (performance.now() - t0 + waitedMs) / 1000;
  agent.destroy();
  listener.close();
  world.stop();
  return { value: total / secs, waitedMs };
}

async function kernelHttp(total: number, verify: boolean): Promise<number> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const t0 = performance.now();
  await drive(agent, '127.0.0.1', port, total, verify);
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return total / secs;
}

export function httpBenchmarks(cfg: BenchConfig): Benchmark[] {
  const total = cfg.quick ? 500 : 20_000;
  return [
    {
      name: 'http-keepalive',
      unit: 'requests/s',
      higherIsBetter: true,
      target: 1.5,
      describe: `${total} node:http GETs of 1 KiB bodies, ${CLIENTS} keep-alive connections; usernet: two hosts over a veth (MTU 1500)`,
      usernet: { name: 'usernet', sample: (verify) => usernetHttp(total, verify) },
      reference: { name: 'node:http lo', sample: (verify) => kernelHttp(total, verify) },
    },
  ];
}
