// Shared pieces of the TCP tool tests: two hosts on a link, or one host's loopback, and a way to
// look at a host at an exact instant of virtual time.

import { World, type Host, type Task } from '../../src/index.js';
import { Timer } from '../../src/kernel/time.js';
import { AF_INET } from '../../src/uapi/socket.js';
import type { SockaddrIn } from '../../src/uapi/in.js';
import type { Link, LinkOptions } from '../../src/sim/link.js';

export function sin(addr: string, port: number): SockaddrIn {
  return { family: AF_INET, addr, port };
}

/** Run `fn` once `ms` of virtual time have passed from now, and wait for it. */
export function at<T>(w: World, ms: number, fn: () => T): Promise<T> {
  return new Promise((res, rej) =>
    w.clock.mod_timer(
      new Timer(() => {
        try {
          res(fn());
        } catch (e) {
          rej(e instanceof Error ? e : new Error(String(e)));
        }
      }),
      w.clock.now() + ms * 1e6,
    ),
  );
}

export interface TwoHosts {
  w: World;
  a: Host;
  b: Host;
  link: Link;
  ta: Task;
  tb: Task;
}

const worlds: World[] = [];

/** Stop every world made here (their keepalive and TIME_WAIT timers would run on). */
export function stopWorlds(): void {
  for (const w of worlds.splice(0)) w.stop();
}

/** a (10.0.0.1) and b (10.0.0.2) on one link. */
export function twoHosts(seed: number, opts?: LinkOptions): TwoHosts {
  const w = new World({ seed });
  worlds.push(w);
  const a = w.addHost('a');
  const b = w.addHost('b');
  const link = w.link(a, b, opts);
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  return { w, a, b, link, ta: a.spawn({ comm: 'client' }), tb: b.spawn({ comm: 'server' }) };
}

/** Deterministic bytes. */
export function payload(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Read until EOF; returns every byte. */
export async function readAll(t: Task, fd: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await t.read(fd, buf);
    if (n === 0) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Write all of `data`. */
export async function writeAll(t: Task, fd: number, data: Uint8Array): Promise<void> {
  let o = 0;
  while (o < data.length) o += await t.write(fd, data.subarray(o));
}
