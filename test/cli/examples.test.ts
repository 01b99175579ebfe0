// The programs in examples/ run to completion and do what their comments say; `usernet run`
// runs them (TypeScript included), reports usage errors and stalled runs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseRunArgs, runWorldScript } from '../../src/cli/run.js';
import { findRoot } from '../../conformance/run.js';

const root = findRoot();
const example = (name: string) => join(root, 'dist', 'examples', `${name}.js`);
const quiet = async <T>(f: () => Promise<T>): Promise<T> => {
  const log = console.log;
  console.log = () => {};
  try {
    return await f();
  } finally {
    console.log = log;
  }
};

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) =>
    execFile(
      process.execPath,
      [join(root, 'dist', 'src', 'cli', 'main.js'), ...args],
      { cwd: root },
      (e, out, err) => done({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }),
    ),
  );
}

test('echo over a lossy link: every byte comes back, with retransmissions', async () => {
  const r = (await quiet(() =>
    runWorldScript({ script: example('echo-over-lossy-link'), seed: 1, clock: 'virtual' }),
  )) as {
    bytes: number;
    same: boolean;
    retransmitted: number;
  };
  assert.equal(r.bytes, 1 << 20);
  assert.equal(r.same, true);
  assert.ok(r.retransmitted > 0, 'a 5% loss link makes TCP retransmit');
});

test('UDP broadcast: EACCES without SO_BROADCAST, then every other host hears it', async () => {
  const r = (await quiet(() =>
    runWorldScript({ script: example('udp-broadcast'), seed: 1, clock: 'virtual' }),
  )) as {
    refused: string;
    lines: string[];
  };
  assert.equal(r.refused, 'EACCES');
  assert.deepEqual(
    r.lines.map((l) => l.replace(/:\d+$/, '')),
    ['alpha', 'beta', 'gamma'].map((h) => `${h} heard "beacon is at 10.0.0.1" from 10.0.0.1`),
  );
});

test('AF_UNIX fd passing: the worker answers through the passed, still-bound socket', async () => {
  const r = (await quiet(() =>
    runWorldScript({ script: example('unix-fd-passing'), seed: 1, clock: 'virtual' }),
  )) as {
    port: number;
    reply: string;
  };
  assert.equal(r.port, 5353);
  assert.equal(r.reply, 'answer');
});

test('HTTP over a partition: timeouts while partitioned, replies before and after', async () => {
  const r = (await quiet(() =>
    runWorldScript({ script: example('http-over-partition'), seed: 1, clock: 'virtual' }),
  )) as {
    log: string[];
    served: number;
  };
  const rows = r.log.map((l) => ({ t: Number(/^t=([\d.]+) s/.exec(l)?.[1]), ok: /reply \d+/.test(l), l }));
  for (const row of rows) {
    if (row.t < 5 || row.t >= 13) assert.ok(row.ok, `outside the partition: ${row.l}`);
    else if (!row.ok) assert.match(row.l, /timed out after 2 s/);
  }
  assert.ok(rows.filter((x) => !x.ok).length >= 3, 'requests time out while partitioned');
  assert.equal(r.served, rows.filter((x) => x.ok).length);
});

test('usernet run: a TypeScript script, usage errors, a stalled script', async () => {
  const ts = await cli('run', '--seed', '3', resolve(root, 'examples', 'udp-broadcast.ts'));
  assert.equal(ts.code, 0, ts.err);
  assert.match(ts.out, /gamma heard "beacon is at 10\.0\.0\.1"/);

  assert.equal(typeof parseRunArgs([]), 'string');
  assert.equal(typeof parseRunArgs(['--seed', 'x', 'a.js']), 'string');
  assert.equal(typeof parseRunArgs(['--clock', 'fast', 'a.js']), 'string');
  assert.deepEqual(parseRunArgs(['--seed', '9', 'a.js']), { script: 'a.js', seed: 9, clock: 'virtual' });
  const usage = await cli('run');
  assert.equal(usage.code, 2);
  assert.match(usage.err, /no script given/);
  const missing = await cli('run', '/nonexistent/x.js');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no such file/);
  const help = await cli('run', '--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /^usage: usernet run/);
  const unknown = await cli('frobnicate');
  assert.equal(unknown.code, 2);

  const dir = mkdtempSync(join(tmpdir(), 'usernet-run-'));
  try {
    const stalled = join(dir, 'stalled.mjs');
    writeFileSync(stalled, 'export default () => new Promise(() => {});\n');
    const r = await cli('run', stalled);
    assert.equal(r.code, 1);
    assert.match(r.err, /world\.run stalled/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
