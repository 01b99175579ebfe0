// The quickstart (`npm start`): node:http on one host, undici downloads on another, through a
// router and a 20 Mbit/s, 40 ms, 1% loss path, in virtual time. Run as the README runs it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo } from '../../src/cli/demo.js';

test('quickstart: 1, 10 and 50 MiB arrive intact over the lossy path, with a capture', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-demo-'));
  try {
    const lines: string[] = [];
    const progress: string[] = [];
    const pcap = join(dir, 'quickstart.pcap');
    const r = await runDemo((l) => lines.push(l), { pcap, progress: (l) => progress.push(l) });
    assert.deepEqual(
      r.transfers.map((t) => [t.bytes, t.sha256ok]),
      [
        [1 << 20, true],
        [10 << 20, true],
        [50 << 20, true],
      ],
    );
    for (const t of r.transfers) {
      // Below the 20 Mbit/s bottleneck, above nothing: a 1% loss path costs TCP most of it.
      assert.ok(t.goodputMbit > 0.5 && t.goodputMbit < 20, `goodput ${t.goodputMbit}`);
    }
    assert.ok(r.transfers[2].retransmitted > 0, '1% loss makes the server retransmit');
    assert.ok(r.virtualSeconds > 20, 'the 50 MiB alone needs 21 s at 20 Mbit/s');
    assert.ok(progress.length > 10, 'a progress line about every simulated second');
    assert.ok(
      lines.some((l) => /^\s+ESTAB .*10\.0\.2\.2:80\s+10\.0\.1\.2:\d+/.test(l)),
      'ss shows the connection',
    );
    assert.ok(
      lines.some((l) => /\bts sack cubic wscale:/.test(l)),
      'ss -o -i shows the negotiated options',
    );
    assert.ok(lines.some((l) => /^virtual time [\d.]+ s, real time [\d.]+ s$/.test(l)));
    assert.ok(statSync(pcap).size > 24 + 1000 * 16, 'the capture holds the transfer');
    assert.ok(r.frames > 40_000);
    // Wireshark reads every frame back (CI installs tshark; elsewhere the count above stands).
    if (spawnSync('tshark', ['-v']).status === 0) {
      const io = execFileSync('tshark', ['-r', pcap, '-q', '-z', 'io,stat,0'], { encoding: 'utf8' });
      assert.match(io, new RegExp(`\\|\\s*${r.frames}\\s*\\|`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
