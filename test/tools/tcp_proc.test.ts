// /proc/net/tcp as tcp4_seq_show prints it: the header, one line per listener, request sock,
// connection and TIME_WAIT sock, each padded to 149 columns, times in clock_t (1/100 s). The
// layout is compared with the real kernel's on this machine when a network namespace can be made.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { AF_INET, SOCK_STREAM, SOL_SOCKET, SO_KEEPALIVE } from '../../src/uapi/socket.js';
import { at, payload, sin, twoHosts, writeAll, stopWorlds } from './tcp_helpers.js';

const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

interface ProcTcpLine {
  sl: number;
  local: string;
  rem: string;
  st: number;
  tx: number;
  rx: number;
  tr: number;
  when: number;
  retrnsmt: number;
  uid: number;
  timeout: number;
  inode: number;
  rest: string[];
}

/** One line of /proc/net/tcp, with the fixed-width fields checked as Linux's format has them. */
function parseLine(line: string): ProcTcpLine {
  assert.equal(line.length, 149, `line not padded to 149 columns: ${JSON.stringify(line)}`);
  const m =
    /^( {0,3}\d+): ([0-9A-F]{8}:[0-9A-F]{4}) ([0-9A-F]{8}:[0-9A-F]{4}) ([0-9A-F]{2}) ([0-9A-F]{8}):([0-9A-F]{8}) ([0-9A-F]{2}):([0-9A-F]{8}) ([0-9A-F]{8}) ([ \d]{5}) ([ \d-]{8}) (\d+) (.*?) *$/.exec(
      line,
    );
  assert.ok(m, `not a /proc/net/tcp line: ${JSON.stringify(line)}`);
  assert.equal(m[1].length, 4, 'sl is %4d');
  return {
    sl: Number(m[1]),
    local: m[2],
    rem: m[3],
    st: parseInt(m[4], 16),
    tx: parseInt(m[5], 16),
    rx: parseInt(m[6], 16),
    tr: parseInt(m[7], 16),
    when: parseInt(m[8], 16),
    retrnsmt: parseInt(m[9], 16),
    uid: Number(m[10]),
    timeout: Number(m[11]),
    inode: Number(m[12]),
    rest: m[13].split(' '),
  };
}

function parse(text: string): ProcTcpLine[] {
  assert.ok(text.endsWith('\n'));
  const lines = text.slice(0, -1).split('\n');
  assert.equal(lines[0], HEADER.padEnd(149));
  const out = lines.slice(1).map(parseLine);
  out.forEach((l, i) => assert.equal(l.sl, i, 'sl counts the lines'));
  return out;
}

const hexAddr = (ip: string, port: number): string =>
  ip
    .split('.')
    .reverse()
    .map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'))
    .join('') +
  ':' +
  port.toString(16).toUpperCase().padStart(4, '0');

test('/proc/net/tcp: listener, SYN_RECV, SYN_SENT, established with queues, TIME_WAIT', async () => {
  const { w, a, b, ta } = twoHosts(3, { delay: '50ms' });
  const tb = b.spawn({ uid: 1000, comm: 'server' });
  // ARP first, so that the handshake below is timed by the link alone.
  await a.ping('10.0.0.2', { count: 1 });
  await at(w, 1000, () => {});

  const lfd = tb.socket(AF_INET, SOCK_STREAM, 0);
  tb.bind(lfd, sin('0.0.0.0', 5000));
  tb.listen(lfd, 8);
  const cfd = ta.socket(AF_INET, SOCK_STREAM, 0);
  const connected = ta.connect(cfd, sin('10.0.0.2', 5000));

  // The SYN reached b 25 ms ago; its SYN-ACK is on the wire.
  await at(w, 75, () => {
    const [listener, req] = parse(b.procNetTcp());
    assert.equal(listener.local, hexAddr('0.0.0.0', 5000));
    assert.equal(listener.rem, '00000000:0000');
    assert.equal(listener.st, 0x0a);
    assert.deepEqual([listener.tx, listener.rx, listener.tr, listener.when], [0, 0, 0, 0]);
    assert.equal(listener.uid, 1000);
    assert.ok(listener.inode > 0);
    // rto (clock_t), ato, quick/pingpong, cwnd, fastopen max_qlen
    assert.deepEqual(listener.rest.slice(2), ['100', '0', '0', '10', '0']);
    assert.equal(req.local, hexAddr('10.0.0.2', 5000));
    assert.equal(req.rem.slice(0, 8), hexAddr('10.0.0.1', 0).slice(0, 8));
    assert.equal(req.st, 0x03, 'a request sock is SYN_RECV');
    assert.equal(req.tr, 1);
    // The SYN-ACK timer: 1 s from when it was sent, 25 ms ago.
    assert.equal(req.when, 97);
    assert.deepEqual([req.uid, req.inode, req.rest], [1000, 0, ['0', '0000000000000000']]);

    const [syn] = parse(a.procNetTcp());
    assert.equal(syn.st, 0x02, 'SYN_SENT');
    assert.equal(syn.tr, 1);
    assert.equal(syn.when, 92);
    assert.equal(syn.rest[2], '100', 'TCP_TIMEOUT_INIT, in clock_t');
  });
  await connected;
  const { fd: sfd } = await tb.accept(lfd);

  // 3000 bytes in flight for 50 ms: a's send queue and retransmit timer, then b's receive queue.
  const data = payload(3000);
  await writeAll(ta, cfd, data);
  await at(w, 10, () => {
    const [conn] = parse(a.procNetTcp());
    assert.equal(conn.st, 0x01);
    assert.equal(conn.tx, 3000);
    assert.equal(conn.tr, 1, 'retransmit timer');
    assert.ok(conn.when > 0 && conn.when <= 100, `RTO in clock_t: ${conn.when}`);
    assert.equal(conn.rest[conn.rest.length - 1], '-1', 'initial slow start: ssthresh -1');
  });
  await at(w, 100, () => {
    const lines = parse(b.procNetTcp());
    const child = lines.find((l) => l.st === 0x01)!;
    assert.equal(child.rx, 3000);
    assert.equal(child.tx, 0);
    assert.equal(child.local, hexAddr('10.0.0.2', 5000));
    assert.ok(child.inode > 0, 'accepted: the socket inode');
    const [conn] = parse(a.procNetTcp());
    assert.equal(conn.tx, 0, 'acknowledged');
  });

  // SO_KEEPALIVE: the sk_timer, tr 2, two hours away (7200 s = 720000 clock_t).
  ta.setsockopt(cfd, SOL_SOCKET, SO_KEEPALIVE, 1);
  await at(w, 0, () => {
    const [conn] = parse(a.procNetTcp());
    assert.equal(conn.tr, 2);
    assert.equal(conn.when, 720000);
  });

  // a closes first, b 100 ms later: a ends in TIME_WAIT, b's sock is gone.
  // (b reads what it was sent first: closing with unread data would reset the connection.)
  let got = 0;
  while (got < data.length) got += await tb.read(sfd, new Uint8Array(4096));
  ta.close(cfd);
  await at(w, 100, () => tb.close(sfd));
  await at(w, 100, () => {
    const [tw] = parse(a.procNetTcp());
    assert.equal(tw.st, 0x06);
    assert.equal(tw.tr, 3);
    // 60 s from b's FIN, which arrived 50 ms ago (0x176B, give or take the jiffy it fell in, is
    // what Linux shows at that age).
    assert.ok(tw.when >= 5994 && tw.when <= 5995, `tm->when ${tw.when}`);
    assert.deepEqual([tw.retrnsmt, tw.uid, tw.timeout, tw.inode], [0, 0, 0, 0]);
    assert.deepEqual(tw.rest, ['3', '0000000000000000']);
    // b: the listener, and its sock in LAST_ACK until a's ACK of its FIN lands.
    const rest = parse(b.procNetTcp());
    assert.equal(rest[0].st, 0x0a);
    assert.ok(rest.slice(1).every((l) => l.st === 0x09));
  });
});

/** The token layout of a line: field count and the width of each fixed-width field. */
function shape(line: string): string {
  const t = line.trim().split(/\s+/);
  return `${line.length} ${t.length} ${t
    .slice(1, 7)
    .map((x) => x.length)
    .join(',')} sl=${/^ *\d+:/.exec(line)?.[0].length}`;
}

const PY = `
import socket, time, subprocess
subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
l = socket.socket(); l.bind(('127.0.0.1', 5000)); l.listen(8)
c = socket.socket(); c.connect(('127.0.0.1', 5000)); s, _ = l.accept()
c.send(b'x' * 1000); time.sleep(0.05)
t = socket.socket(); t.connect(('127.0.0.1', 5000)); u, _ = l.accept()
t.close(); time.sleep(0.02); u.close(); time.sleep(0.02)
print(open('/proc/net/tcp').read(), end='')
`;

afterEach(stopWorlds);

function linuxProcNetTcp(): string | null {
  const r = spawnSync('unshare', ['-n', 'python3', '-c', PY], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
}

const linux = process.platform === 'linux' ? linuxProcNetTcp() : null;

test(
  "/proc/net/tcp: the same layout as this machine's kernel prints",
  { skip: linux === null ? 'needs `unshare -n` (root) and python3 to ask the kernel' : false },
  async () => {
    const theirs = linux!.slice(0, -1).split('\n');
    const { w, a } = twoHosts(4);
    const t = a.spawn();
    await at(w, 1000, () => {});
    const l = t.socket(AF_INET, SOCK_STREAM, 0);
    t.bind(l, sin('127.0.0.1', 5000));
    t.listen(l, 8);
    const c = t.socket(AF_INET, SOCK_STREAM, 0);
    await t.connect(c, sin('127.0.0.1', 5000));
    await t.accept(l);
    await t.write(c, new Uint8Array(1000));
    const c2 = t.socket(AF_INET, SOCK_STREAM, 0);
    await t.connect(c2, sin('127.0.0.1', 5000));
    const { fd: u } = await t.accept(l);
    t.close(c2);
    await at(w, 20, () => t.close(u));
    const ours = await at(w, 20, () => a.procNetTcp().slice(0, -1).split('\n'));
    assert.equal(ours[0], theirs[0], 'header');
    // One line of each kind from each side: listener (0A), established (01), TIME_WAIT (06).
    for (const st of ['0A', '01', '06']) {
      const pick = (ls: string[]) => ls.slice(1).find((l) => l.slice(34, 36) === st);
      const mine = pick(ours);
      const real = pick(theirs);
      assert.ok(mine && real, `state ${st} on both sides`);
      assert.equal(shape(mine), shape(real), `layout of a ${st} line:\n${mine}\n${real}`);
    }
  },
);
