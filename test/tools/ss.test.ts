import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prandom } from '../../src/kernel/random.js';
import { ssDatagram, type SsOptions, type SsProcess } from '../../src/tools/ss.js';

const HEADER =
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ';

/** One line of /proc/net/udp as udp4_format_sock() prints it. */
function procLine(
  sl: number,
  laddr: number,
  lport: number,
  raddr: number,
  rport: number,
  st: number,
  tx: number,
  rx: number,
  ino: number,
): string {
  const hex = (v: number, n: number) => (v >>> 0).toString(16).toUpperCase().padStart(n, '0');
  // Addresses are printed as the in-memory (network order) u32 read on a little-endian host.
  const le = (a: number) =>
    ((a & 0xff) << 24) | (((a >>> 8) & 0xff) << 16) | (((a >>> 16) & 0xff) << 8) | (a >>> 24);
  return (
    `${String(sl).padStart(5)}: ${hex(le(laddr), 8)}:${hex(lport, 4)} ${hex(le(raddr), 8)}:${hex(rport, 4)} ` +
    `${hex(st, 2)} ${hex(tx, 8)}:${hex(rx, 8)} 00:00000000 00000000 ${String(0).padStart(5)} ${String(0).padStart(8)} ` +
    `${ino} 2 0000000000000000 0        `
  );
}

const ip = (s: string) => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);

test('ss -uanp: states, queues, right-aligned addresses and users, laid out as ss does', () => {
  const udp = [
    HEADER,
    procLine(6215, ip('127.0.0.1'), 53, ip('127.0.0.1'), 5000, 1, 0, 0, 154142),
    procLine(11162, ip('127.0.0.1'), 5000, 0, 0, 7, 0, 2496, 154141),
    procLine(13394, ip('127.0.0.1'), 40000, 0, 0, 7, 0, 0, 154143),
    '',
  ].join('\n');
  const procs: SsProcess[] = [
    { pid: 4242, comm: 'my server', fds: [{ fd: 4, ino: 154142 }] },
    { pid: 17, comm: 'node', fds: [{ fd: 3, ino: 154141 }] },
  ];
  assert.equal(
    ssDatagram({ udp }, { udp: true, all: true, processes: true }, procs),
    [
      'State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess                             ',
      'ESTAB  0      0          127.0.0.1:53       127.0.0.1:5000 users:(("my server",pid=4242,fd=4))',
      'UNCONN 2496   0          127.0.0.1:5000       0.0.0.0:*    users:(("node",pid=17,fd=3))       ',
      'UNCONN 0      0          127.0.0.1:40000      0.0.0.0:*                                       ',
      '',
    ].join('\n'),
  );
  // Without -a only connected sockets, and with a single state there is no State column.
  assert.equal(
    ssDatagram({ udp }, { udp: true }),
    [
      'Recv-Q Send-Q Local Address:Port Peer Address:PortProcess',
      '0      0          127.0.0.1:53      127.0.0.1:5000       ',
      '',
    ].join('\n'),
  );
  // A socket held by two fds lists both users, the last-read first.
  const two = ssDatagram({ udp }, { udp: true, processes: true }, [
    {
      pid: 9,
      comm: 'a',
      fds: [
        { fd: 3, ino: 154142 },
        { fd: 7, ino: 154142 },
      ],
    },
  ]);
  assert.match(two, /users:\(\("a",pid=9,fd=7\),\("a",pid=9,fd=3\)\)/);
});

function ssMissing(): string | false {
  return spawnSync('ss', ['-V']).status === 0 ? false : 'ss (iproute2) is not installed';
}

/** The real ss over a /proc of our own (its PROC_ROOT path: /proc/net/udp, /proc/net/raw, /proc/<pid>/fd). */
function realSs(dir: string, udp: string, raw: string, procs: SsProcess[], flags: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'net'), { recursive: true });
  writeFileSync(join(dir, 'net', 'udp'), udp);
  writeFileSync(join(dir, 'net', 'raw'), raw);
  for (const p of procs) {
    mkdirSync(join(dir, String(p.pid), 'fd'), { recursive: true });
    writeFileSync(join(dir, String(p.pid), 'stat'), `${p.pid} (${p.comm}) S 1 1 1 0 -1\n`);
    for (const { fd, ino } of p.fds)
      symlinkSync(`socket:[${ino}]`, join(dir, String(p.pid), 'fd', String(fd)));
  }
  const r = spawnSync('ss', [flags], { encoding: 'utf8', env: { ...process.env, PROC_ROOT: dir } });
  if (r.status !== 0) throw new Error(`ss ${flags}: ${r.status} ${r.stderr}`);
  return r.stdout;
}

test('differential: the real ss and ours print the same tables', { skip: ssMissing() }, () => {
  const rnd = new Prandom(77);
  const pick = <T>(a: readonly T[]): T => a[rnd.get_random_u32_below(a.length)];
  const addrs = ['0.0.0.0', '127.0.0.1', '10.0.0.1', '192.168.100.254', '255.255.255.255'].map(ip);
  const root = mkdtempSync(join(tmpdir(), 'usernet-ss-'));
  try {
    for (let round = 0; round < 30; round++) {
      const n = rnd.get_random_u32_below(8);
      let ino = 1000 + round * 100;
      const udp = [HEADER];
      const raw = [HEADER];
      const inos: number[] = [];
      for (let i = 0; i < n; i++) {
        const connected = rnd.get_random_u32_below(2) === 1;
        const isRaw = rnd.get_random_u32_below(4) === 0;
        const lport = isRaw ? pick([1, 17, 255]) : pick([0, 53, 68, 5000, 33434, 65535]);
        const line = procLine(
          rnd.get_random_u32_below(65536),
          pick(addrs),
          lport,
          connected ? pick(addrs) : 0,
          connected ? pick([1, 53, 40000]) : 0,
          connected ? 1 : 7,
          pick([0, 0, 768, 212992]),
          pick([0, 0, 2304, 1000000]),
          ++ino,
        );
        (isRaw ? raw : udp).push(line);
        inos.push(ino);
      }
      const procs: SsProcess[] = [];
      for (const [pid, comm] of [
        [1, 'init'],
        [345, 'node'],
        [20000, 'a-very-long-process-name'],
      ] as const) {
        let fd = 2;
        const fds = inos
          .filter(() => rnd.get_random_u32_below(3) === 0)
          .map((i) => ({ fd: (fd += 1 + rnd.get_random_u32_below(3)), ino: i }));
        // ss lists several users of one socket in /proc's directory order, which a plain
        // directory does not keep: one fd per socket here (the order is tested above).
        const taken = new Set(procs.flatMap((p) => p.fds.map((f) => f.ino)));
        procs.push({ pid, comm: comm.slice(0, 15), fds: fds.filter((f) => !taken.has(f.ino)) });
      }
      const flags = pick(['-uanp', '-uan', '-ulnp', '-unp', '-uanpH', '-wanp', '-uwanp', '-uwn', '-uwlnp']);
      const opts: SsOptions = {
        udp: flags.includes('u'),
        raw: flags.includes('w'),
        all: flags.includes('a'),
        listening: flags.includes('l'),
        processes: flags.includes('p'),
        noHeader: flags.includes('H'),
      };
      const u = udp.join('\n') + '\n';
      const w = raw.join('\n') + '\n';
      assert.equal(
        ssDatagram({ udp: u, raw: w }, opts, procs),
        realSs(join(root, 'p'), u, w, procs, flags),
        `round ${round}: ss ${flags}\n${u}${w}`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('host.ss(): the host UDP and raw sockets with the processes holding them', async () => {
  const { World, AF_INET, SOCK_DGRAM, SOCK_RAW } = await import('../../src/index.js');
  const world = new World({ seed: 3 });
  const h = world.addHost('h');
  const srv = h.spawn({ comm: 'server' });
  const a = srv.socket(AF_INET, SOCK_DGRAM, 0);
  srv.bind(a, { family: AF_INET, port: 5000, addr: '127.0.0.1' });
  const cli = h.spawn({ comm: 'client' });
  const b = cli.socket(AF_INET, SOCK_DGRAM, 0);
  await cli.connect(b, { family: AF_INET, port: 5000, addr: '127.0.0.1' });
  const r = cli.socket(AF_INET, SOCK_RAW, 17);
  const all = h.ss('-uanp');
  const lines = all.split('\n');
  assert.match(lines[0], /^State\s+Recv-Q Send-Q Local Address:Port\s+Peer Address:Port\s*Process/);
  assert.match(all, /UNCONN 0\s+0\s+127\.0\.0\.1:5000\s+0\.0\.0\.0:\*\s+users:\(\("server",pid=\d+,fd=0\)\)/);
  assert.match(
    all,
    /ESTAB\s+0\s+0\s+127\.0\.0\.1:\d+\s+127\.0\.0\.1:5000\s+users:\(\("client",pid=\d+,fd=0\)\)/,
  );
  assert.equal(h.ss('-un').split('\n').length, 3, 'without -a: the connected socket only');
  assert.match(
    h.ss('-wanp'),
    /UNCONN 0\s+0\s+0\.0\.0\.0:17\s+0\.0\.0\.0:\*\s+users:\(\("client",pid=\d+,fd=1\)\)/,
  );
  assert.match(h.ss('-uwanp').split('\n')[0], /^Netid State/);
  cli.close(r);
  assert.doesNotMatch(h.ss('-wanp'), /client/);
  assert.throws(() => h.ss('-x'), /unsupported option -x/);
});
