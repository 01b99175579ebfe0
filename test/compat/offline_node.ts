// Run a piece of real Node where name resolution cannot leave the machine: a child process in
// new user, network and mount namespaces whose /etc/nsswitch.conf says `hosts: files`. A name
// that is not in /etc/hosts then fails with getaddrinfo's EAI_NONAME (ENOTFOUND) at once,
// without a query to this machine's DNS server — the oracle for usernet's ENOTFOUND.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let available: boolean | undefined;

/** Whether `unshare -rnm` with a bind mount works here (it does not in every container). */
export function offlineNodeAvailable(): boolean {
  if (available === undefined) {
    try {
      execFileSync('unshare', ['-rnm', 'sh', '-c', 'mount --bind /dev/null /dev/null'], {
        stdio: 'ignore',
        timeout: 10_000,
      });
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

export const offlineSkip =
  'needs unshare -rnm (user, network and mount namespaces) to resolve names without the network';

/**
 * Evaluate `code` (an ES module body whose last act is printing one JSON line) in an isolated
 * Node; its parsed output.
 */
export async function offlineNode(code: string): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-offline-'));
  try {
    const nsswitch = join(dir, 'nsswitch.conf');
    const script = join(dir, 'main.mjs');
    writeFileSync(nsswitch, 'hosts: files\n');
    writeFileSync(script, code);
    const cmd = `mount --bind ${nsswitch} /etc/nsswitch.conf && exec ${process.execPath} ${script}`;
    const child = spawn('unshare', ['-rnm', 'sh', '-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill(), 20_000);
    const code_ = await new Promise<number | null>((r) => child.on('close', r));
    clearTimeout(timer);
    if (code_ !== 0) throw new Error(`isolated node exited with ${code_}: ${err}`);
    return JSON.parse(out.trim().split('\n').pop() as string);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
