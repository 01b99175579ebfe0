// The transfers run the same way through each bridge to the machine (passt, the host
// gateway): bulk both ways hash verified with goodput, HTTP GET both ways, UDP both ways.
// `toMachine` is the address that leads, from the usernet host, to the machine's loopback;
// the forward functions give the machine's 127.0.0.1 port that leads to a usernet port.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Host } from '../../src/index.js';

export interface BridgeEnv {
  name: string;
  host: Host;
  toMachine: string;
  /** The machine port that leads to usernet TCP port `guestPort`. */
  forwardTcp(guestPort: number): Promise<number>;
  forwardUdp(guestPort: number): Promise<number>;
}

const MiB = 1 << 20;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const mbit = (bytes: number, ms: number): string => ((bytes * 8) / ms / 1000).toFixed(0);

function listening(server: net.Server | http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}

/**
 * The receiving end of a bulk transfer: read an 8-byte length and that many bytes, answer with
 * their SHA-256 and close. The sender closes after the answer, so neither side half-closes
 * first (the passt of Debian 12, 2023-03-09, never sends its FIN to a guest that half-closed
 * first and then hears the machine side close).
 */
function bulkReceiver(s: Duplex): void {
  const hash = createHash('sha256');
  let want = -1;
  let got = 0;
  let head = Buffer.alloc(0);
  s.on('data', (c: Buffer) => {
    if (want < 0) {
      head = Buffer.concat([head, c]);
      if (head.length < 8) return;
      want = Number(head.readBigUInt64BE(0));
      c = head.subarray(8);
    }
    hash.update(c);
    got += c.length;
    if (got === want) s.end(hash.digest('hex'));
  });
  s.on('error', () => s.destroy());
}

/** Send `data` length-prefixed on a connected stream; resolve with the answer read to the end. */
function bulkSend(s: Duplex, data: Buffer): Promise<string> {
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(data.length));
  s.write(len);
  s.write(data);
  return readAll(s).then((b) => {
    s.end();
    return b.toString();
  });
}

/** Bulk both ways: usernet → a real server on 127.0.0.1, a real client → a usernet server. */
export async function bulk(env: BridgeEnv, size: number): Promise<string> {
  const data = randomBytes(size);
  // usernet → machine.
  const sink = net.createServer(bulkReceiver);
  const port = await listening(sink);
  let t0 = performance.now();
  const reply = await new Promise<string>((resolve, reject) => {
    const s = env.host.net.connect({ host: env.toMachine, port }, () =>
      bulkSend(s, data).then(resolve, reject),
    );
    s.on('error', reject);
  });
  const up = performance.now() - t0;
  sink.close();
  assert.equal(reply, sha(data), 'usernet -> machine');
  // machine → usernet.
  const guestPort = 7001;
  const server = env.host.net.createServer(bulkReceiver);
  server.listen(guestPort);
  const fwd = await env.forwardTcp(guestPort);
  t0 = performance.now();
  const back = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: fwd }, () => bulkSend(s, data).then(resolve, reject));
    s.on('error', reject);
  });
  const down = performance.now() - t0;
  server.close();
  assert.equal(back, sha(data), 'machine -> usernet');
  return `${env.name}: usernet -> machine ${mbit(size, up)} Mbit/s; machine -> usernet ${mbit(size, down)} Mbit/s (${size / MiB} MiB each, hash verified)`;
}

/** HTTP GET both ways: usernet GETs from real node:http; curl GETs from usernet node:http. */
export async function httpBothWays(env: BridgeEnv, size: number): Promise<void> {
  const body = randomBytes(size);
  const real = http.createServer((_req, res) => {
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  const port = await listening(real);
  try {
    const got = await new Promise<Buffer>((resolve, reject) => {
      const s = env.host.net.connect({ host: env.toMachine, port }, () =>
        s.write(`GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`),
      );
      readAll(s).then(resolve, reject);
    });
    const split = got.indexOf('\r\n\r\n');
    assert.match(got.subarray(0, split).toString(), /^HTTP\/1.1 200 OK/);
    assert.equal(sha(got.subarray(split + 4)), sha(body));
  } finally {
    real.close();
  }
  // The other way, with a real HTTP client (node:http) through the forwarded port.
  const guestPort = 7080;
  const server = env.host.net.createServer((s) => {
    s.once('data', () => {
      s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`);
      s.end(body);
    });
  });
  server.listen(guestPort);
  const fwd = await env.forwardTcp(guestPort);
  try {
    const res = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: fwd, path: '/' }, (r) =>
          readAll(r).then((b) => resolve({ status: r.statusCode ?? 0, body: b }), reject),
        )
        .on('error', reject);
    });
    assert.equal(res.status, 200);
    assert.equal(sha(res.body), sha(body));
  } finally {
    server.close();
  }
}

/** UDP both ways: usernet → a real echo socket; a real socket → a usernet echo socket. */
export async function udpBothWays(env: BridgeEnv): Promise<void> {
  const sizes = [1, 512, 1400, 8000];
  const echo = dgram.createSocket('udp4');
  echo.on('message', (m, from) => echo.send(m, from.port, from.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
  const port = echo.address().port;
  const u = env.host.dgram.createSocket('udp4');
  try {
    for (const n of sizes) {
      const m = randomBytes(n);
      const got = await new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no UDP echo of ${n} bytes`)), 5000);
        u.once('message', (b: Buffer) => {
          clearTimeout(timer);
          resolve(b);
        });
        u.send(m, port, env.toMachine);
      });
      assert.equal(sha(got), sha(m), `${n} bytes usernet -> machine -> usernet`);
    }
  } finally {
    u.close();
    echo.close();
  }
  // machine → usernet.
  const guestPort = 7053;
  const s = env.host.dgram.createSocket('udp4');
  s.on('message', (m: Buffer, from: { port: number; address: string }) => s.send(m, from.port, from.address));
  await new Promise<void>((r) => s.bind(guestPort, () => r()));
  const fwd = await env.forwardUdp(guestPort);
  const c = dgram.createSocket('udp4');
  try {
    for (const n of sizes) {
      const m = randomBytes(n);
      const got = await new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no UDP echo of ${n} bytes from usernet`)), 5000);
        c.once('message', (b) => {
          clearTimeout(timer);
          resolve(b);
        });
        c.send(m, fwd, '127.0.0.1');
      });
      assert.equal(sha(got), sha(m), `${n} bytes machine -> usernet -> machine`);
    }
  } finally {
    c.close();
    s.close();
  }
}
