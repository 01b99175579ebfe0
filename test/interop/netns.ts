// The interop suite's Linux side: a network namespace of its own holding the TAP device that a
// usernet host is bridged to, commands run inside it, and removal afterwards. Traffic goes only
// between the namespace and the usernet host (and socat's relay over 127.0.0.1).

import { spawn, spawnSync } from 'node:child_process';
import { World, tapUnavailable, type TapBridge, type Host } from '../../src/index.js';

/** Why the interop tests cannot run here, or null. */
export function interopUnavailable(...tools: string[]): string | null {
  const why = tapUnavailable();
  if (why) return why.message;
  for (const t of ['ip', ...tools]) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) return `${t} is not installed`;
  }
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return 'ip netns does not work here';
  return null;
}

/** The Linux side's address on the TAP, and the usernet host's. */
export const LINUX_ADDR = '10.77.0.1';
export const USERNET_ADDR = '10.77.0.2';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let serial = 0;

export class Netns {
  readonly name = `usernet-t${process.pid}-${serial++}`;

  constructor() {
    const r = spawnSync('ip', ['netns', 'add', this.name], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip netns add ${this.name}: ${r.stderr}`);
    spawnSync('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
  }

  /**
   * Run a shell command inside the namespace, without blocking the event loop (the bridge's
   * relay runs on it). `input` is written to its stdin; it is killed after `timeoutMs`.
   */
  run(
    cmd: string,
    opts: { input?: Uint8Array; timeoutMs?: number; binary?: false } = {},
  ): Promise<RunResult> {
    return this.runRaw(cmd, opts).then((r) => ({
      code: r.code,
      stdout: r.stdout.toString(),
      stderr: r.stderr,
    }));
  }

  /** As run(), with stdout as bytes. */
  runRaw(
    cmd: string,
    opts: { input?: Uint8Array; timeoutMs?: number } = {},
  ): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    return new Promise((resolve) => {
      const p = spawn('ip', ['netns', 'exec', this.name, 'sh', '-c', cmd], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let err = '';
      p.stdout.on('data', (c: Buffer) => out.push(c));
      p.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
      p.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: Buffer.concat(out), stderr: err });
      });
      p.stdin.on('error', () => {});
      p.stdin.end(opts.input);
    });
  }

  /** Start a long-running command inside the namespace; kill() it when done. */
  start(cmd: string): { kill(): void; exited: Promise<RunResult> } {
    const p = spawn('ip', ['netns', 'exec', this.name, 'sh', '-c', `exec ${cmd}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<RunResult>((resolve) =>
      p.on('close', (code) => resolve({ code, stdout: out, stderr: err })),
    );
    return { kill: () => void p.kill('SIGTERM'), exited };
  }

  remove(): void {
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

export interface Bridged {
  world: World;
  host: Host;
  tap: TapBridge;
  ns: Netns;
  close(): Promise<void>;
}

/** A real-clock world with host `u` bridged to a TAP in a new namespace, both sides addressed. */
export async function bridged(opts: { mtu?: number } = {}): Promise<Bridged> {
  const ns = new Netns();
  const world = new World({ clock: 'real', seed: 5 });
  const host = world.addHost('u');
  try {
    const tap = await world.tap(host, { netns: ns.name, linuxAddress: `${LINUX_ADDR}/24`, mtu: opts.mtu });
    host.ip(`addr add ${USERNET_ADDR}/24 dev ${tap.dev.name}`);
    return {
      world,
      host,
      tap,
      ns,
      close: async () => {
        await tap.close();
        world.stop();
        ns.remove();
      },
    };
  } catch (err) {
    world.stop();
    ns.remove();
    throw err;
  }
}
