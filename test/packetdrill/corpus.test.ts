// The upstream scripts the project must pass (conformance/packetdrill-sets.md), run when
// PACKETDRILL_REPO names a google/packetdrill git repository (a clone or a bare copy). Each
// script's outcome is printed as a diagnostic; the interpreter's own tests (Set S with a
// `// Failure:` line) are checked against it once the host has TCP sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseScript } from '../../src/tools/packetdrill/parser.js';
import { runScript } from '../../src/tools/packetdrill/runtime.js';
import { PSP_DEFINES, upstreamDefines } from '../../src/tools/packetdrill/defines.js';
import { World } from '../../src/sim/world.js';
import { AF_INET, SOCK_STREAM } from '../../src/uapi/socket.js';

const UPSTREAM = process.env.PACKETDRILL_REPO ?? '';

const SET_L = [
  'blocking',
  'close',
  'shutdown',
  'ts_recent',
  'validate',
  'nagle',
  'mss',
  'user_timeout',
  'ioctl',
  'inq',
  'notsent_lowat',
  'epoll',
  'tcp_info',
].map((d) => `gtests/net/tcp/${d}/`);
const SET_S = 'gtests/net/packetdrill/tests/';

function hasTcp(): boolean {
  const w = new World({ seed: 1 });
  try {
    w.addHost('h').spawn().socket(AF_INET, SOCK_STREAM, 0);
    return true;
  } catch {
    return false;
  }
}

function repo(): { files: string[]; show: (f: string) => string } | null {
  if (!UPSTREAM || !existsSync(UPSTREAM)) return null;
  const git = (...args: string[]): string =>
    execFileSync('git', ['-C', UPSTREAM, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return {
    files: git('ls-tree', '-r', '--name-only', 'HEAD')
      .split('\n')
      .filter((f) => f.endsWith('.pkt')),
    show: (f) => git('show', `HEAD:${f}`),
  };
}

async function runFile(show: (f: string) => string, f: string) {
  const text = show(f);
  const name = f.split('/').slice(-2).join('/');
  try {
    return { text, name, r: await runScript(parseScript(text, { file: name }), { file: name }) };
  } catch (e) {
    return {
      text,
      name,
      r: { ok: false, errors: [`crash: ${String(e)}`], missingSysctls: [], notes: [], output: [] },
    };
  }
}

test('Set L: connection lifecycle and the socket API', async (t) => {
  const r = repo();
  if (!r) {
    t.skip('PACKETDRILL_REPO does not name a google/packetdrill git repository');
    return;
  }
  const files = r.files.filter((f) => SET_L.some((d) => f.startsWith(d)));
  assert.equal(files.length, 38);
  let passed = 0;
  for (const f of files) {
    const { name, r: res } = await runFile(r.show, f);
    if (res.ok) passed++;
    t.diagnostic(`${res.ok ? 'PASS' : 'FAIL'} ${name}${res.ok ? '' : `: ${res.errors[0]}`}`);
    // Whatever happens, it is reported as a script error, never as a crash of the runner.
    for (const e of res.errors) assert.doesNotMatch(e, /^crash:/);
  }
  t.diagnostic(`Set L: ${passed}/${files.length} passed`);
});

test('Set S: the interpreter tests pass or fail as their Failure lines say', async (t) => {
  const r = repo();
  if (!r) {
    t.skip('PACKETDRILL_REPO does not name a google/packetdrill git repository');
    return;
  }
  const files = r.files.filter((f) => f.startsWith(SET_S));
  assert.equal(files.length, 5);
  const tcp = hasTcp();
  for (const f of files) {
    const { text, name, r: res } = await runFile(r.show, f);
    const failure = /\/\/ Failure: (.*)/.exec(text)?.[1]?.trim() ?? null;
    const as = failure === null ? res.ok : !res.ok && new RegExp(failure).test(res.errors.join('\n'));
    t.diagnostic(
      `${as ? 'as expected' : 'NOT as expected'}: ${name}${res.ok ? ' passed' : `: ${res.errors[0]}`}`,
    );
    // The three scripts with a Failure line test the interpreter itself; the two fast
    // retransmit ones test the kernel, and are reported.
    if (tcp && failure !== null) assert.ok(as, `${name}: ${res.errors.join('; ')}`);
  }
  if (!tcp) t.diagnostic('the host has no TCP sockets yet: outcomes printed, not checked');
});

test('every upstream script parses', (t) => {
  const r = repo();
  if (!r) {
    t.skip('PACKETDRILL_REPO does not name a google/packetdrill git repository');
    return;
  }
  const files = r.files.filter((f) => f.startsWith('gtests/net/'));
  const failures: string[] = [];
  for (const f of files) {
    // The definitions packetdrill's run_all.py passes in ipv4 mode; the PSP scripts take MSS.
    const defines = upstreamDefines('ipv4', f.startsWith('gtests/net/psp/') ? PSP_DEFINES : []);
    try {
      parseScript(r.show(f), { file: f, defines });
    } catch (e) {
      failures.push(`${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  t.diagnostic(`parsed ${files.length - failures.length}/${files.length}`);
  assert.deepEqual(failures, []);
  assert.equal(files.length, 177);
});
