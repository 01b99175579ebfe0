// `ss` for TCP sockets: -tan as the real ss prints it from our /proc/net/tcp (differential),
// listeners with their accept queue and backlog, -o timers, -e details and the -i summary of
// tcp_info, its keys in the order iproute2 prints them (checked against `ss -tanoi` on this
// machine's kernel when a network namespace can be made).

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AF_INET, SOCK_STREAM, SOL_SOCKET, SO_KEEPALIVE } from '../../src/uapi/socket.js';
import { fmtG, printMsTimer } from '../../src/tools/ss.js';
import { processesOf } from '../../src/tools/ss.js';
import type { Host } from '../../src/index.js';
import { at, payload, sin, twoHosts, writeAll, stopWorlds } from './tcp_helpers.js';

test('print_ms_timer and %g as ss formats them', () => {
  assert.equal(printMsTimer(200), '200ms');
  assert.equal(printMsTimer(1500), '1.500ms');
  assert.equal(printMsTimer(59995), '59sec');
  assert.equal(printMsTimer(60000), '1min');
  assert.equal(printMsTimer(90000), '1min30sec');
  assert.equal(printMsTimer(7199000), '119min');
  assert.equal(printMsTimer(0), '');
  assert.equal(fmtG(204), '204');
  assert.equal(fmtG(0.022), '0.022');
  assert.equal(fmtG(0.0125), '0.0125');
  assert.equal(fmtG(1 / 3), '0.333333');
  assert.equal(fmtG(1234567), '1.23457e+06');
  assert.equal(fmtG(0.00001), '1e-05');
});

/** The keys of an -i line, in the order tcp_stats_print() prints them. */
const INFO_ORDER = [
  'ts',
  'sack',
  'ecn',
  'ecnseen',
  'fastopen',
  'CONG',
  'wscale',
  'rto',
  'backoff',
  'rtt',
  'ato',
  'qack',
  'bidir',
  'mss',
  'pmtu',
  'rcvmss',
  'advmss',
  'cwnd',
  'ssthresh',
  'bytes_sent',
  'bytes_retrans',
  'bytes_acked',
  'bytes_received',
  'segs_out',
  'segs_in',
  'data_segs_out',
  'data_segs_in',
  'bbr',
  'send',
  'lastsnd',
  'lastrcv',
  'lastack',
  'pacing_rate',
  'delivery_rate',
  'delivered',
  'delivered_ce',
  'app_limited',
  'busy',
  'rwnd_limited',
  'sndbuf_limited',
  'unacked',
  'retrans',
  'lost',
  'sacked',
  'dsack_dups',
  'fackets',
  'reordering',
  'reord_seen',
  'rcv_rtt',
  'rcv_space',
  'rcv_ssthresh',
  'notsent',
  'minrtt',
  'rcv_ooopack',
  'snd_wnd',
];

/** The keys of an -i line ("reno", "bbr", "cubic" stand as CONG). */
function infoKeys(line: string): string[] {
  return line
    .trim()
    .split(/\s+/)
    .filter((t) => !/^\d/.test(t))
    .map((t) => (/^(reno|cubic|bbr|dctcp|vegas|westwood|htcp)$/.test(t) ? 'CONG' : t.replace(/[:(].*$/, '')));
}

function assertOrdered(keys: string[], what: string): void {
  let last = -1;
  for (const k of keys) {
    const i = INFO_ORDER.indexOf(k);
    assert.ok(i >= 0, `${what}: unknown key ${k}`);
    assert.ok(i > last, `${what}: ${k} out of order in ${keys.join(' ')}`);
    last = i;
  }
}

/** A connection with a listener of backlog `backlog` on b, and one connection not yet accepted. */
async function scene(backlog: number) {
  const s = twoHosts(9, { delay: '5ms' });
  const { w, a, ta, tb } = s;
  await a.ping('10.0.0.2', { count: 1 });
  await at(w, 1000, () => {});
  const l = tb.socket(AF_INET, SOCK_STREAM, 0);
  tb.bind(l, sin('0.0.0.0', 5000));
  tb.listen(l, backlog);
  const c = ta.socket(AF_INET, SOCK_STREAM, 0);
  await ta.connect(c, sin('10.0.0.2', 5000));
  const { fd: sfd } = await tb.accept(l);
  const c2 = ta.socket(AF_INET, SOCK_STREAM, 0);
  await ta.connect(c2, sin('10.0.0.2', 5000));
  await at(w, 20, () => {});
  return { ...s, l, c, c2, sfd };
}

test('ss -tan: a listener shows its accept queue as Recv-Q and its backlog as Send-Q', async () => {
  const { w, b } = await scene(16);
  const out = await at(w, 0, () => b.ss('-tan'));
  assert.equal(
    out,
    [
      'State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process',
      'LISTEN 1      16           0.0.0.0:5000      0.0.0.0:*           ',
      'ESTAB  0      0           10.0.0.2:5000     10.0.0.1:37708       ',
      'ESTAB  0      0           10.0.0.2:5000     10.0.0.1:37716       ',
      '',
    ].join('\n'),
  );
  // -l: listeners only (and unbound ones, which inet_diag does not list).
  assert.equal(
    await at(w, 0, () => b.ss('-tln')),
    [
      'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess',
      'LISTEN 1      16           0.0.0.0:5000      0.0.0.0:*          ',
      '',
    ].join('\n'),
  );
});

function ssMissing(): string | false {
  return spawnSync('ss', ['-V']).status === 0 ? false : 'ss (iproute2) is not installed';
}

/** The real ss over a /proc of our own: /proc/net/tcp and the tasks' fds (its PROC_ROOT path). */
function realSs(h: Host, flags: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-ss-tcp-'));
  try {
    mkdirSync(join(dir, 'net'), { recursive: true });
    writeFileSync(join(dir, 'net', 'tcp'), h.procNetTcp());
    for (const p of processesOf(h.tasks)) {
      mkdirSync(join(dir, String(p.pid), 'fd'), { recursive: true });
      writeFileSync(join(dir, String(p.pid), 'stat'), `${p.pid} (${p.comm}) S 1 1 1 0 -1\n`);
      for (const { fd, ino } of p.fds)
        symlinkSync(`socket:[${ino}]`, join(dir, String(p.pid), 'fd', String(fd)));
    }
    const r = spawnSync('ss', [flags], { encoding: 'utf8', env: { ...process.env, PROC_ROOT: dir } });
    if (r.status !== 0) throw new Error(`ss ${flags}: ${r.status} ${r.stderr}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test(
  'differential: the real ss over our /proc/net/tcp prints what ours prints',
  { skip: ssMissing() },
  async () => {
    // Backlog 0: ss reading /proc shows a listener's Send-Q as 0, netlink as the backlog.
    const { w, a, b, ta, tb, c, c2, sfd } = await scene(0);
    // Data both ways, some unread; a keepalive; a connection closing.
    await writeAll(ta, c, payload(5000));
    await writeAll(tb, sfd, payload(700, 2));
    ta.setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, 1);
    // The connection never accepted closes: FIN-WAIT-2 on a, CLOSE-WAIT on b.
    ta.close(c2);
    await at(w, 30, () => {
      for (const h of [a, b]) {
        for (const flags of ['-tan', '-tn', '-tanp', '-tlnp', '-tanH']) {
          assert.equal(h.ss(flags), realSs(h, flags), `${h.name}: ss ${flags}`);
        }
      }
    });
  },
);

test('ss -tanoie: timers, details and the tcp_info summary', async () => {
  const { w, a, b, ta, c } = await scene(16);
  ta.setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, 1);
  const out = await at(w, 0, () => a.ss('-tanoie'));
  const lines = out.split('\n');
  assert.match(lines[0], /^State +Recv-Q +Send-Q +Local Address:Port +Peer Address:Port *Process *$/);
  assert.match(
    lines[1],
    /^ESTAB +0 +0 +10\.0\.0\.1:\d+ +10\.0\.0\.2:5000 +timer:\(keepalive,120min,0\) ino:\d+ sk:1001 <-> *$/,
  );
  assert.match(
    lines[2],
    /^\t ts sack \w+ wscale:\d+,\d+ rto:\d+ rtt:[\d.]+\/[\d.]+ mss:1448 pmtu:1500 rcvmss:536 advmss:1448 cwnd:10 /,
  );
  assertOrdered(infoKeys(lines[2]), 'ESTAB');
  assert.match(lines[3], /^ESTAB +0 +0 +10\.0\.0\.1:\d+ +10\.0\.0\.2:5000 +ino:\d+ sk:1002 <-> *$/);

  // Data in flight: the retransmit timer, "on"; the peer has unread bytes in Recv-Q.
  await writeAll(ta, c, payload(3000));
  const on = await at(w, 1, () => a.ss('-tanoi'));
  assert.match(
    on,
    /ESTAB +0 +3000 +10\.0\.0\.1:\d+ +10\.0\.0\.2:5000 +timer:\(on,\d+ms,0\)\n\t ts sack \w+ /,
  );
  const peer = await at(w, 20, () => b.ss('-tanoi'));
  assert.match(peer, /^LISTEN +1 +16 +0\.0\.0\.0:5000 +0\.0\.0\.0:\* *\n\t \w+ cwnd:10 unacked:1 *\n/m);
  assert.match(peer, /ESTAB +3000 +0 +10\.0\.0\.2:5000 /);
  for (const l of peer.split('\n').filter((x) => x.startsWith('\t '))) assertOrdered(infoKeys(l), 'peer');

  // Closed while the peer keeps its end open: once the FIN is acknowledged, the orphan waits in
  // FIN-WAIT-2 as a timewait sock (timer 3, no tcp_info), as inet_twsk_diag_fill reports it.
  ta.close(c);
  const tw = await at(w, 100, () => a.ss('-tanoi'));
  assert.match(tw, /FIN-WAIT-2 +0 +0 +10\.0\.0\.1:\d+ +10\.0\.0\.2:5000 +timer:\(timewait,59sec,0\)\n\t *\n/);
});

const PY = `
import socket, time, subprocess
subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
l = socket.socket(); l.bind(('127.0.0.1', 5000)); l.listen(8)
c = socket.socket(); c.connect(('127.0.0.1', 5000)); s, _ = l.accept()
c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
c.send(b'x' * 1000); s.send(b'y' * 100); time.sleep(0.05)
print(subprocess.run(['ss', '-tanoi'], capture_output=True, text=True).stdout, end='')
`;

afterEach(stopWorlds);

const linux = (() => {
  if (process.platform !== 'linux' || ssMissing()) return null;
  const r = spawnSync('unshare', ['-n', 'python3', '-c', PY], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
})();

test(
  "ss -tanoi: the kernel's own summary lines follow the key order this test holds ours to",
  { skip: linux === null ? 'needs `unshare -n` (root), python3 and ss to ask the kernel' : false },
  () => {
    const infos = linux!.split('\n').filter((l) => l.startsWith('\t '));
    assert.ok(infos.length >= 3);
    for (const l of infos) assertOrdered(infoKeys(l), `linux: ${l.trim()}`);
    // The connection lines carry the same fields as ours.
    assert.match(
      linux!,
      /ESTAB +\d+ +0 +127\.0\.0\.1:\d+ +127\.0\.0\.1:5000 +timer:\(keepalive,\d+min,0\)\n\t ts sack \w+ wscale:\d+,\d+ rto:\d+ rtt:/,
    );
    assert.match(linux!, /LISTEN +0 +8 +127\.0\.0\.1:5000 +0\.0\.0\.0:\* *\n\t \w+ cwnd:10 *\n/);
  },
);
