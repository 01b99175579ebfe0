import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { bridged, interopUnavailable, LINUX_ADDR, USERNET_ADDR, type Bridged } from './netns.js';

const skip = interopUnavailable('socat', 'sha256sum', 'tc') ?? false;
const MiB = 1 << 20;
// 256 MiB each way, with and without netem (USERNET_INTEROP_BULK_MIB / _NETEM_MIB for less).
const SIZE = Number(process.env.USERNET_INTEROP_BULK_MIB ?? 256) * MiB;
const NETEM_SIZE = Number(process.env.USERNET_INTEROP_NETEM_MIB ?? 256) * MiB;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const mbit = (bytes: number, ms: number): string => ((bytes * 8) / ms / 1000).toFixed(0);

/** Linux sends `data` with socat to a usernet server; resolves with the elapsed ms. */
async function linuxToUsernet(b: Bridged, data: Buffer, port: number): Promise<number> {
  const h = createHash('sha256');
  let n = 0;
  const received = new Promise<void>((resolve, reject) => {
    const server = b.host.net.createServer((s) => {
      s.on('data', (c: Buffer) => {
        h.update(c);
        n += c.length;
      });
      s.on('end', () => {
        s.end();
        server.close();
        resolve();
      });
      s.on('error', reject);
    });
    server.listen(port);
  });
  const t0 = performance.now();
  const r = await b.ns.run(`socat -u STDIN TCP:${USERNET_ADDR}:${port}`, { input: data, timeoutMs: 150_000 });
  assert.equal(r.code, 0, r.stderr);
  await received;
  const ms = performance.now() - t0;
  assert.equal(n, data.length);
  assert.equal(h.digest('hex'), sha(data));
  return ms;
}

/** A usernet client sends `data` to socat listening on Linux; resolves with the elapsed ms. */
async function usernetToLinux(b: Bridged, data: Buffer, port: number): Promise<number> {
  const sink = b.ns.start(
    `sh -c 'socat -u TCP-LISTEN:${port},bind=${LINUX_ADDR},reuseaddr STDOUT | sha256sum'`,
  );
  for (let i = 0; i < 100; i++) {
    const r = await b.ns.run(`ss -Hltn 'sport = :${port}'`);
    if (r.stdout.trim()) break;
    await new Promise((r) => setTimeout(r, 30));
  }
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const s = b.host.net.connect({ host: LINUX_ADDR, port }, () => {
      let off = 0;
      const pump = (): void => {
        while (off < data.length) {
          const chunk = data.subarray(off, off + MiB);
          off += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
    s.on('error', reject);
    s.on('close', () => resolve());
    s.resume();
  });
  const out = await sink.exited;
  const ms = performance.now() - t0;
  assert.equal(out.stdout.split(' ')[0], sha(data), out.stderr);
  return ms;
}

test(
  `interop: TCP bulk with socat, ${SIZE / MiB} MiB each way, hash verified`,
  { skip, timeout: 300_000 },
  async () => {
    const b = await bridged();
    try {
      const data = randomBytes(SIZE);
      const up = await linuxToUsernet(b, data, 9000);
      const down = await usernetToLinux(b, data, 9001);
      console.log(
        `# Linux -> usernet: ${mbit(SIZE, up)} Mbit/s; usernet -> Linux: ${mbit(SIZE, down)} Mbit/s`,
      );
      assert.equal(b.tap.stats.dropped, 0);
    } finally {
      await b.close();
    }
  },
);

/** Linux's TcpRetransSegs in the namespace (/proc/net/snmp is per network namespace). */
async function linuxRetrans(b: Bridged): Promise<number> {
  const r = await b.ns.run(
    `awk '/^Tcp:/ { n++; if (n == 1) for (i = 1; i <= NF; i++) if ($i == "RetransSegs") c = i; if (n == 2) print $c }' /proc/net/snmp`,
  );
  return Number(r.stdout.trim());
}

function usernetRetrans(b: Bridged): number {
  const m = /(\d+) segments retransmitted/.exec(b.host.netstat({ tcp: true }));
  return m ? Number(m[1]) : 0;
}

test(
  `interop: TCP bulk with netem delay 20ms loss 1% on the frames Linux sends, ${NETEM_SIZE / MiB} MiB each way`,
  { skip, timeout: 300_000 },
  async () => {
    const b = await bridged();
    try {
      // Real `tc netem` on Linux's TAP where the kernel has sch_netem; otherwise the same
      // impairment on the same frames from usernet's side of the bridge: its own netem, on an
      // ifb the frames from Linux pass through before usernet receives them (docs/bridges.md).
      const tc = await b.ns.run(`tc qdisc add dev ${b.tap.linuxName} root netem delay 20ms loss 1%`);
      let where = "tc netem on Linux's TAP";
      if (tc.code !== 0) {
        b.tap.impair({ delay: '20ms', loss: '1%' }, 'in');
        where = `usernet netem on the frames from Linux (no sch_netem here: ${tc.stderr.trim()})`;
      }
      const data = randomBytes(NETEM_SIZE);
      const r0 = [await linuxRetrans(b), usernetRetrans(b)];
      const up = await linuxToUsernet(b, data, 9000);
      const r1 = [await linuxRetrans(b), usernetRetrans(b)];
      const down = await usernetToLinux(b, data, 9001);
      const r2 = [await linuxRetrans(b), usernetRetrans(b)];
      const cc = (await b.ns.run('sysctl -n net.ipv4.tcp_congestion_control')).stdout.trim();
      // With the machine's default BBR, Linux keeps its rate through random loss; CUBIC would not.
      console.log(`# netem via ${where}; Linux's congestion control: ${cc}`);
      console.log(
        `# netem: Linux -> usernet: ${mbit(NETEM_SIZE, up)} Mbit/s, retransmitted by Linux ${r1[0]! - r0[0]!}, by usernet ${r1[1]! - r0[1]!}`,
      );
      console.log(
        `# netem: usernet -> Linux: ${mbit(NETEM_SIZE, down)} Mbit/s, retransmitted by usernet ${r2[1]! - r1[1]!}, by Linux ${r2[0]! - r1[0]!}`,
      );
      // Linux's data segments cross the lossy direction: it must have retransmitted some.
      assert.ok(r1[0]! - r0[0]! > 0, 'Linux retransmitted nothing through 1% loss');
      // Every frame from Linux waited about 20 ms: a handshake's round trip shows it.
      const rtt = await b.ns.run(`ping -c 3 -i 0.2 -q ${USERNET_ADDR}`);
      const avg = Number(/= [\d.]+\/([\d.]+)\//.exec(rtt.stdout)?.[1]);
      console.log(`# netem: ping RTT avg ${avg} ms`);
      assert.ok(avg >= 19, `RTT ${avg} ms through 20 ms of delay`);
    } finally {
      await b.close();
    }
  },
);
