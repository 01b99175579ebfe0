// TCP captures read back by tshark with checksum validation on: a transfer between two hosts
// (checksums computed by the stack) and one over lo (checksums left partial, finished by the
// capture) dissect with no malformed packet, no bad checksum and, on a clean transfer, no TCP
// analysis flag (retransmission, duplicate ACK, zero window, out of order…).

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../../src/index.js';
import type { Task } from '../../src/index.js';
import type { Capture } from '../../src/tools/capture.js';
import { AF_INET, SOCK_STREAM } from '../../src/uapi/socket.js';
import { tsharkCheck, tsharkMissing } from './tshark.js';
import { at, payload, readAll, sin, twoHosts, writeAll, stopWorlds } from './tcp_helpers.js';

afterEach(stopWorlds);

const skip = tsharkMissing() ?? false;

/** Client sends `n` bytes and closes; the server reads them all and closes. */
async function transfer(w: World, tc: Task, ts: Task, addr: string, n: number): Promise<Uint8Array> {
  await at(w, 100, () => {});
  const l = ts.socket(AF_INET, SOCK_STREAM, 0);
  ts.bind(l, sin(addr, 8080));
  ts.listen(l, 8);
  const c = tc.socket(AF_INET, SOCK_STREAM, 0);
  await tc.connect(c, sin(addr, 8080));
  const { fd } = await ts.accept(l);
  const data = payload(n, 7);
  const [, got] = await Promise.all([
    writeAll(tc, c, data).then(() => tc.close(c)),
    readAll(ts, fd).then((b) => {
      ts.close(fd);
      return b;
    }),
  ]);
  assert.deepEqual(got, data, 'every byte arrived');
  ts.close(l);
  await at(w, 1000, () => {});
  return got;
}

/** Frames tshark flags with a TCP analysis note other than window updates. */
function analysisFlags(file: string): string[] {
  const r = spawnSync(
    'tshark',
    [
      '-r',
      file,
      '-n',
      '-o',
      'tcp.check_checksum:TRUE',
      '-Y',
      'tcp.analysis.flags && !tcp.analysis.window_update',
      '-T',
      'fields',
      '-e',
      'frame.number',
      '-e',
      '_ws.expert.message',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

function check(cap: Capture, name: string, minFrames: number): void {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-tcp-tshark-'));
  try {
    for (const file of [join(dir, `${name}.pcap`), join(dir, `${name}.pcapng`)]) {
      cap.write(file);
      const rep = tsharkCheck(file);
      assert.deepEqual(rep.problems, [], `${file}: tshark complains`);
      assert.equal(rep.stderr, '');
      const tcp = rep.frames.filter((f) => f.protocols.includes(':tcp'));
      assert.ok(tcp.length >= minFrames, `${tcp.length} TCP frames`);
      assert.deepEqual(analysisFlags(file), [], 'no TCP analysis warnings on a clean transfer');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test(
  'tshark: a TCP transfer between two hosts, checksums valid, no analysis warnings',
  { skip },
  async () => {
    const { w, a, ta, tb } = twoHosts(11, { delay: '2ms' });
    // One end only: a capture of both would hold every frame twice.
    const cap = a.capture('eth0');
    await transfer(w, ta, tb, '10.0.0.2', 300_000);
    cap.stop();
    check(cap, 'veth', 200);
  },
);

test('tshark: a TCP transfer over lo, partial checksums finished by the capture', { skip }, async () => {
  const w = new World({ seed: 12 });
  const h = w.addHost('h');
  const cap = h.capture('lo');
  await transfer(w, h.spawn(), h.spawn(), '127.0.0.1', 300_000);
  cap.stop();
  check(cap, 'lo', 8);
});
