// usernet's own packetdrill scripts (test/packetdrill/scripts/<area>/*.pkt): each pins down one
// TCP behaviour of Linux, passes with the real packetdrill against the kernel (see
// docs/conformance.md), and must pass here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import { parseScript } from '../../src/tools/packetdrill/parser.js';
import { runScript } from '../../src/tools/packetdrill/runtime.js';

// dist/test/packetdrill → the sources' test/packetdrill/scripts.
const ROOT = fileURLToPath(new URL('../../../test/packetdrill/scripts/', import.meta.url));

function scripts(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...scripts(p));
    else if (e.name.endsWith('.pkt')) out.push(p);
  }
  return out.sort();
}

const files = scripts(ROOT);

const AREAS = [
  'handshake',
  'close',
  'time_wait',
  'listen',
  'data',
  'rcv_window',
  'urgent',
  'rto',
  'fast_retransmit',
  'keepalive',
  'user_timeout',
  'zero_window',
  'mss',
  'tcp_info',
  'rfc5961',
  'sockopt',
  'ecn',
  'cubic',
  'pacing',
];

test('the script set covers every area', () => {
  const areas = new Set(files.map((f) => relative(ROOT, f).split('/')[0]));
  assert.ok(files.length >= 60, `${files.length} scripts`);
  for (const a of AREAS) assert.ok(areas.has(a), `no script in ${a}/`);
});

for (const file of files) {
  const name = relative(ROOT, file);
  test(`packetdrill ${name}`, async () => {
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^\/\/ \S/, 'a header comment says what the script pins down');
    const r = await runScript(parseScript(text, { file: name }), { file: name });
    assert.deepEqual(r.errors, []);
    assert.equal(r.ok, true);
  });
}
