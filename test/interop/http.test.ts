import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { bridged, interopUnavailable, LINUX_ADDR, USERNET_ADDR } from './netns.js';

const skip = interopUnavailable('curl', 'python3', 'sha256sum') ?? false;
const MiB = 1 << 20;

/** A deterministic body: block i holds the bytes of sha256(i), over and over. */
function body(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let off = 0, i = 0; off < size; off += 32, i++)
    createHash('sha256').update(String(i)).digest().copy(b, off);
  return b;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('interop: curl on Linux GETs 50 MiB from node:http running on usernet', { skip }, async () => {
  const b = await bridged();
  const data = body(50 * MiB);
  const http = createServer((_req, res) => {
    res.setHeader('content-length', data.length);
    res.end(data);
  });
  const server = b.host.net.createServer((s) => http.emit('connection', s)).listen(80);
  try {
    const t0 = performance.now();
    const r = await b.ns.run(`curl -sS --max-time 100 http://${USERNET_ADDR}/ | sha256sum`, {
      timeoutMs: 110_000,
    });
    const s = (performance.now() - t0) / 1000;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split(' ')[0], sha(data));
    console.log(`# curl: 50 MiB in ${s.toFixed(2)} s (${((50 * 8 * 1.048576) / s).toFixed(0)} Mbit/s)`);
  } finally {
    server.close();
    await b.close();
  }
});

test(
  'interop: a usernet client GETs 16 MiB from python3 -m http.server in the namespace',
  { skip },
  async () => {
    const b = await bridged();
    const dir = `/tmp/${b.ns.name}-www`;
    const data = body(16 * MiB);
    await b.ns.run(`mkdir -p ${dir} && cat > ${dir}/blob`, { input: data });
    const srv = b.ns.start(`python3 -m http.server 8000 --bind ${LINUX_ADDR} --directory ${dir}`);
    try {
      // Wait for the server to listen.
      for (let i = 0; i < 100; i++) {
        const r = await b.ns.run(
          `python3 -c "import socket; socket.create_connection(('${LINUX_ADDR}', 8000), 1)"`,
        );
        if (r.code === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const got = await new Promise<Buffer>((resolve, reject) => {
        const s = b.host.net.connect({ host: LINUX_ADDR, port: 8000 }, () =>
          s.write(`GET /blob HTTP/1.0\r\nHost: ${LINUX_ADDR}\r\n\r\n`),
        );
        const parts: Buffer[] = [];
        s.on('data', (c: Buffer) => parts.push(c));
        s.on('end', () => resolve(Buffer.concat(parts)));
        s.on('error', reject);
      });
      const split = got.indexOf('\r\n\r\n');
      assert.match(got.subarray(0, split).toString(), /^HTTP\/1.0 200 OK/);
      assert.equal(sha(got.subarray(split + 4)), sha(data));
    } finally {
      srv.kill();
      await srv.exited;
      await b.ns.run(`rm -rf ${dir}`);
      await b.close();
    }
  },
);
