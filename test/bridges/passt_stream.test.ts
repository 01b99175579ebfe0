import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World, PasstBridge } from '../../src/index.js';

// The passt bridge's side of qemu's stream protocol, against a peer played by the test (no passt
// needed): frames go out length-prefixed, a frame split across reads is put back together, a
// runt is counted and dropped, and a length no frame can have ends the stream: the bridge goes
// down and sockets see ENETUNREACH.

const PEER_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x01]);

function arpRequest(targetIp: number[]): Buffer {
  const f = Buffer.alloc(42);
  f.fill(0xff, 0, 6);
  PEER_MAC.copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14); // Ethernet
  f.writeUInt16BE(0x0800, 16); // IPv4
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20); // request
  PEER_MAC.copy(f, 22);
  Buffer.from([10, 0, 2, 2]).copy(f, 28);
  Buffer.from(targetIp).copy(f, 38);
  return f;
}

const framed = (f: Buffer): Buffer => {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(f.length);
  return Buffer.concat([h, f]);
};

async function peer(): Promise<{
  path: string;
  conn: Promise<net.Socket>;
  frames: Buffer[];
  next(): Promise<Buffer>;
  close(): void;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-stream-'));
  const path = join(dir, 's.sock');
  const frames: Buffer[] = [];
  let waiting: ((b: Buffer) => void) | null = null;
  let acc = Buffer.alloc(0);
  let resolveConn!: (s: net.Socket) => void;
  const conn = new Promise<net.Socket>((r) => (resolveConn = r));
  const server = net.createServer((s) => {
    resolveConn(s);
    s.on('data', (c: Buffer) => {
      acc = Buffer.concat([acc, c]);
      while (acc.length >= 4 && acc.length >= 4 + acc.readUInt32BE(0)) {
        const f = acc.subarray(4, 4 + acc.readUInt32BE(0));
        acc = acc.subarray(4 + f.length);
        if (waiting) {
          const w = waiting;
          waiting = null;
          w(f);
        } else frames.push(f);
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  return {
    path,
    conn,
    frames,
    next: () =>
      frames.length ? Promise.resolve(frames.shift()!) : new Promise<Buffer>((r) => (waiting = r)),
    close: () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test(
  'passt stream: ARP answered through length-prefixed frames, split or whole; runts dropped',
  { timeout: 10_000 },
  async () => {
    const p = await peer();
    const world = new World({ clock: 'real', seed: 4 });
    const host = world.addHost('vm');
    const bridge = await PasstBridge.attach(world, host, p.path);
    try {
      host.ip(`addr add 10.0.2.15/24 dev ${bridge.dev.name}`);
      const s = await p.conn;
      // A whole frame in one write.
      s.write(framed(arpRequest([10, 0, 2, 15])));
      let reply = await p.next();
      assert.equal(reply.readUInt16BE(12), 0x0806);
      assert.equal(reply.readUInt16BE(20), 2, 'an ARP reply');
      assert.deepEqual([...reply.subarray(0, 6)], [...PEER_MAC]);
      assert.deepEqual([...reply.subarray(28, 32)], [10, 0, 2, 15]);
      // The same frame a byte at a time.
      const bytes = framed(arpRequest([10, 0, 2, 15]));
      for (const b of bytes) {
        s.write(Buffer.from([b]));
        await new Promise((r) => setImmediate(r));
      }
      reply = await p.next();
      assert.equal(reply.readUInt16BE(20), 2);
      // A runt (shorter than an Ethernet header) is counted and dropped; the stream goes on.
      s.write(framed(Buffer.alloc(6)));
      s.write(framed(arpRequest([10, 0, 2, 15])));
      reply = await p.next();
      assert.equal(reply.readUInt16BE(20), 2);
      assert.equal(bridge.counts.dropped, 1);
      assert.equal(bridge.counts.in, 3);
      assert.equal(bridge.downReason, null);
    } finally {
      await bridge.close();
      world.stop();
      p.close();
    }
  },
);

test(
  'passt stream: an impossible frame length takes the device down; sockets get ENETUNREACH',
  { timeout: 10_000 },
  async () => {
    const p = await peer();
    const world = new World({ clock: 'real', seed: 4 });
    const host = world.addHost('vm');
    const bridge = await PasstBridge.attach(world, host, p.path);
    try {
      host.ip(`addr add 10.0.2.15/24 dev ${bridge.dev.name}`);
      host.ip(`route add default via 10.0.2.2 dev ${bridge.dev.name}`);
      const s = await p.conn;
      const down = new Promise<Error>((r) => bridge.once('down', r));
      const bad = Buffer.alloc(8);
      bad.writeUInt32BE(1 << 20);
      s.write(bad);
      assert.match((await down).message, /bad frame length 1048576/);
      assert.equal(bridge.dev.stats.rx_length_errors, 1);
      assert.equal(bridge.dev.flags & 1, 0, 'IFF_UP cleared');
      const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
        const c = host.net.connect({ host: '10.0.2.2', port: 80 });
        c.on('error', resolve);
        c.on('connect', () => resolve(new Error('connected') as NodeJS.ErrnoException));
      });
      assert.equal(err.code, 'ENETUNREACH');
    } finally {
      await bridge.close();
      world.stop();
      p.close();
    }
  },
);

test(
  'passt stream: the peer closing the socket is reported as the bridge going down',
  { timeout: 10_000 },
  async () => {
    const p = await peer();
    const world = new World({ clock: 'real', seed: 4 });
    const host = world.addHost('vm');
    const bridge = await PasstBridge.attach(world, host, p.path);
    try {
      const down = new Promise<Error>((r) => bridge.once('down', r));
      (await p.conn).destroy();
      assert.match((await down).message, /passt: the stream socket closed/);
      assert.equal(bridge.dev.carrier, false);
    } finally {
      await bridge.close();
      world.stop();
      p.close();
    }
  },
);
