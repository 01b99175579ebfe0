// The places a node:net behaviour check runs: real node:net over the kernel's 127.0.0.1 (the
// oracle), usernet's node:net on one host over its loopback, and on two hosts over a link.

import realNet from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../../src/index.js';
import { Timer } from '../../src/kernel/time.js';

/** What a check sees of a node:net module (both are used through node:net's types). */
export type NetLike = typeof realNet;

export interface Env {
  readonly name: string;
  /** The module clients use. */
  readonly net: NetLike;
  /** The module servers use (another host's in the two-host place). */
  readonly serverNet: NetLike;
  /** The address servers listen on and clients connect to. */
  readonly serverHost: string;
  /** The address a client's connection comes from, as the server sees it. */
  readonly clientHost: string;
  /** Wait `ms` on the place's clock (real time for node:net, the world clock for usernet). */
  sleep(ms: number): Promise<void>;
  /** Milliseconds on the place's clock. */
  now(): number;
  /** A fresh AF_UNIX path usable by `net` (client and server on the same machine). */
  unixPath(): string;
  /** Replace this place's addresses (HOST), a port (PORT) and paths (PATH) in a string. */
  mask(s: string, port?: number): string;
  dispose(): void;
}

function masker(env: { serverHost: string; clientHost: string }, paths: string[]) {
  return (s: string, port?: number): string => {
    let r = s;
    for (const p of paths) r = r.split(p).join('PATH');
    if (port !== undefined) r = r.split(`:${port}`).join(':PORT');
    // One word for both: over real loopback they are the same address.
    return r.split(env.serverHost).join('HOST').split(env.clientHost).join('HOST');
  };
}

export function nodeEnv(): Env {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-net-'));
  const paths: string[] = [];
  const base = { serverHost: '127.0.0.1', clientHost: '127.0.0.1' };
  return {
    name: 'node:net',
    net: realNet,
    serverNet: realNet,
    ...base,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    now: () => performance.now(),
    unixPath: () => {
      const p = join(dir, `s${paths.length}.sock`);
      paths.push(p);
      return p;
    },
    mask: masker(base, paths),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function worldEnv(name: string, twoHosts: boolean): Env {
  const world = new World({ seed: 11 });
  const a = world.addHost('a');
  let b = a;
  if (twoHosts) {
    b = world.addHost('b');
    world.link(a, b, { delay: '1ms' });
    a.ip('addr add 10.0.0.1/24 dev eth0');
    b.ip('addr add 10.0.0.2/24 dev eth0');
  }
  const paths: string[] = [];
  const base = twoHosts
    ? { serverHost: '10.0.0.2', clientHost: '10.0.0.1' }
    : { serverHost: '127.0.0.1', clientHost: '127.0.0.1' };
  return {
    name,
    net: a.net as unknown as NetLike,
    serverNet: b.net as unknown as NetLike,
    ...base,
    sleep: (ms) =>
      new Promise((r) => {
        world.clock.mod_timer(new Timer(() => r()), world.clock.now() + ms * 1e6);
      }),
    now: () => world.now(),
    unixPath: () => {
      const p = `/tmp/s${paths.length}.sock`;
      paths.push(p);
      return p;
    },
    mask: masker(base, paths),
    dispose: () => world.stop(),
  };
}

export const usernetLoopbackEnv = (): Env => worldEnv('usernet, one host', false);
export const usernetLinkEnv = (): Env => worldEnv('usernet, two hosts', true);

/** Run `fn` in `env`, failing (instead of hanging) after `ms` of wall time. */
export async function runIn<T>(env: Env, fn: (env: Env) => Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${env.name}: no result after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([fn(env), guard]);
  } finally {
    clearTimeout(timer);
    env.dispose();
  }
}
