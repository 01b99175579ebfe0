import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { PacketdrillSyntaxError, definesFromArgs, parseScript } from '../../src/tools/packetdrill/parser.js';
import type { Event, Expr } from '../../src/tools/packetdrill/ast.js';

// A git repository of google/packetdrill (a clone or a bare copy): its scripts are not part of
// this project, so the corpus test reads them from there when PACKETDRILL_REPO names one.
const UPSTREAM = process.env.PACKETDRILL_REPO ?? '';

function one(src: string): Event {
  const s = parseScript(src);
  assert.equal(s.events.length, 1);
  return s.events[0]!;
}

function syscallOf(src: string) {
  const e = one(src);
  assert.equal(e.kind, 'syscall');
  if (e.kind !== 'syscall') throw new Error('unreachable');
  return e.syscall;
}

function packetOf(src: string) {
  const e = one(src);
  if (e.kind !== 'packet') throw new Error('not a packet');
  return e.packet;
}

function rejects(src: string, re: RegExp, defines?: Map<string, string>): PacketdrillSyntaxError {
  try {
    parseScript(src, { file: 't.pkt', defines });
  } catch (e) {
    assert.ok(e instanceof PacketdrillSyntaxError, `not a syntax error: ${String(e)}`);
    assert.match(e.message, re);
    return e;
  }
  assert.fail(`accepted: ${src}`);
}

const int = (v: number | bigint, hex = false): Expr => ({ kind: 'int', value: BigInt(v), hex });
const word = (name: string): Expr => ({ kind: 'word', name });

test('options, init and cleanup commands, times', () => {
  const s = parseScript(
    [
      '// header',
      '--tolerance_usecs=7000',
      '--ip_version=ipv6',
      '--local_ip=fd::1',
      '--remote_ip=192.0.2.1',
      '--strict_segments',
      '--define=CC="reno"',
      '`../common/defaults.sh`',
      '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
      '+.1 close(3) = 0',
      '1.5 `echo hi`',
      '*  > . 1:1(0) ack 1',
      '2~3 > . 1:1(0) ack 1',
      '+0.1~+0.25 > . 1:1(0) ack 1 <...>',
      '/* c comment */ +0 %{ assert tcpi_rto == 1 }%',
      '`cleanup`',
    ].join('\n'),
  );
  assert.deepEqual(
    s.options.map((o) => [o.name, o.value]),
    [
      ['tolerance_usecs', '7000'],
      ['ip_version', 'ipv6'],
      ['local_ip', 'fd::1'],
      ['remote_ip', '192.0.2.1'],
      ['strict_segments', null],
      ['define', 'CC="reno"'],
    ],
  );
  assert.equal(s.initCommand, '../common/defaults.sh');
  assert.equal(s.cleanupCommand, 'cleanup');
  assert.deepEqual(
    s.events.map((e) => e.time),
    [
      { kind: 'absolute', usecs: 0 },
      { kind: 'relative', usecs: 100000 },
      { kind: 'absolute', usecs: 1500000 },
      { kind: 'any' },
      { kind: 'absolute-range', usecs: 2000000, endUsecs: 3000000 },
      { kind: 'relative-range', usecs: 100000, endUsecs: 250000 },
      { kind: 'relative', usecs: 0 },
    ],
  );
  const cmd = s.events[2]!;
  assert.equal(cmd.kind === 'command' && cmd.command, 'echo hi');
  const code = s.events[6]!;
  assert.equal(code.kind === 'code' && code.code, 'assert tcpi_rto == 1');
  assert.deepEqual(code.pos, { line: 15, column: 17 });
});

test('TCP packet lines and every option', () => {
  const p = packetOf('+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7,TS val 100 ecr 0,eol>');
  assert.equal(p.protocol, 'tcp');
  if (p.protocol !== 'tcp') return;
  assert.equal(p.direction, 'inbound');
  assert.equal(p.flags, 'S');
  assert.deepEqual(p.seq, { start: 0, end: 0, length: 0 });
  assert.equal(p.window, 32792);
  assert.equal(p.ack, null);
  assert.deepEqual(p.options, [
    { kind: 'mss', value: 1000 },
    { kind: 'sackOK' },
    { kind: 'nop' },
    { kind: 'nop' },
    { kind: 'nop' },
    { kind: 'wscale', shift: 7 },
    { kind: 'timestamp', val: 100, ecr: 0 },
    { kind: 'eol' },
  ]);
  const q = packetOf('+0 > [ect0] P. 1:1001(1000) ack 1 urg 3 <nop,nop,sack 1:2 5:9>');
  if (q.protocol !== 'tcp') throw new Error('tcp');
  assert.equal(q.flags, 'P.');
  assert.deepEqual(q.ip, { tos: { kind: 'ecn', ecn: 'ect0' }, flowLabel: null, ttl: null });
  assert.equal(q.window, null);
  assert.equal(q.urg, 3);
  assert.deepEqual(q.options![2], {
    kind: 'sack',
    blocks: [
      { left: 1, right: 2 },
      { left: 5, right: 9 },
    ],
  });
  const r = packetOf('+0 > SEW 0:0(0) <FO 0123456789abcdef,FOEXP,md5 00ff>');
  if (r.protocol !== 'tcp') throw new Error('tcp');
  assert.equal(r.flags, 'SEW');
  assert.deepEqual(
    r.options!.map((o) =>
      'cookie' in o
        ? [o.kind, Buffer.from(o.cookie).toString('hex')]
        : o.kind === 'md5'
          ? [o.kind, Buffer.from(o.digest).toString('hex')]
          : [o.kind],
    ),
    [
      ['fastopen', '0123456789abcdef'],
      ['fastopen-exp', ''],
      ['md5', '00ff'],
    ],
  );
  const a = packetOf('+0 > .5 1:1(0) ack 1 <ECN e1b 1 ceb 0 e0b 2,nop>');
  if (a.protocol !== 'tcp') throw new Error('tcp');
  assert.equal(a.flags, '.5');
  assert.deepEqual(a.options![0], { kind: 'accecn', order: 'e1b', e1b: 1, ceb: 0, e0b: 2 });
  const n = packetOf('+0 < - 1:1(0) win 10');
  assert.equal(n.protocol === 'tcp' && n.flags, '');
  const o = packetOf('+0 > (tos 0x10, flowlabel 0x12345) encap psp spi 7 1000 > 2000 F. 1:1(0) ack 2 <...>');
  if (o.protocol !== 'tcp') throw new Error('tcp');
  assert.deepEqual(o.ports, { src: 1000, dst: 2000 });
  assert.deepEqual(o.ip, { tos: { kind: 'tos', value: 0x10 }, flowLabel: 0x12345, ttl: null });
  assert.deepEqual(o.psp, { spi: 7n });
  assert.equal(o.options, null);
});

test('encapsulation layers', () => {
  const p = packetOf(
    '+0 > ipv4 (ttl 9) 1.2.3.4 > 5.6.7.8: gre flags [key present, checksum present] sum 0 off 0 key=5 seq 0: ' +
      'mpls (label 1, tc 0, ttl 3) (label 2, tc 1, [S], ttl 4): ipv6 1::2 > 3::4: . 1:1(0) ack 1',
  );
  assert.equal(p.outer.length, 4);
  assert.deepEqual(p.outer[0], {
    kind: 'ipv4',
    ip: { tos: null, flowLabel: null, ttl: 9 },
    src: '1.2.3.4',
    dst: '5.6.7.8',
  });
  assert.deepEqual(p.outer[1], {
    kind: 'gre',
    header: { flags: ['key', 'checksum'], sum: 0n, off: 0n, key: 5n, seq: 0n },
  });
  assert.deepEqual(p.outer[2], {
    kind: 'mpls',
    stack: [
      { label: 1, trafficClass: 0, bottomOfStack: false, ttl: 3 },
      { label: 2, trafficClass: 1, bottomOfStack: true, ttl: 4 },
    ],
  });
  assert.deepEqual(p.outer[3], { kind: 'ipv6', ip: null, src: '1::2', dst: '3::4' });
});

test('UDP and ICMP packets', () => {
  const u = packetOf('+0 < udp 53 > 1024 (100)');
  assert.deepEqual(u, {
    protocol: 'udp',
    direction: 'inbound',
    outer: [],
    ip: null,
    ports: { src: 53, dst: 1024 },
    length: 100,
  });
  const i = packetOf('+0 < icmp unreachable frag_needed mtu 840 [0:1000(1000)]');
  assert.deepEqual(i, {
    protocol: 'icmp',
    direction: 'inbound',
    outer: [],
    ip: null,
    ports: null,
    type: 'unreachable',
    code: 'frag_needed',
    mtu: 840,
    echoId: null,
    echoed: { protocol: 'tcp', seq: { start: 0, end: 1000, length: 1000 } },
  });
  const e = packetOf('+0 > icmp echo_request id 7 [udp (20)]');
  assert.equal(e.protocol === 'icmp' && e.echoId, 7);
  assert.deepEqual(e.protocol === 'icmp' && e.echoed, { protocol: 'udp', length: 20 });
  const d = parseScript('+0 < icmp unreachable CODE', { defines: new Map([['CODE', 'host_unreachable']]) });
  const ev = d.events[0]!;
  assert.equal(ev.kind === 'packet' && ev.packet.protocol === 'icmp' && ev.packet.code, 'host_unreachable');
});

test('system call arguments and results', () => {
  let s = syscallOf('+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0');
  assert.deepEqual(s.args[3], { kind: 'linger', onoff: 1n, linger: 0n });
  s = syscallOf('+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)');
  assert.deepEqual(s.args, [int(3), { kind: 'ellipsis' }, { kind: 'ellipsis' }]);
  assert.deepEqual(s.result, int(-1));
  assert.deepEqual(s.errno, { name: 'EINPROGRESS', text: 'Operation now in progress' });
  s = syscallOf('+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK|0x10) = 0 (flags ok)');
  assert.deepEqual(s.args[2], {
    kind: 'binary',
    op: '|',
    lhs: word('O_RDWR'),
    rhs: { kind: 'binary', op: '|', lhs: word('O_NONBLOCK'), rhs: int(16, true) },
  });
  assert.equal(s.note, 'flags ok');
  s = syscallOf('+0 ...0.5 read(4, ..., 1000) = 1000');
  assert.equal(s.endUsecs, 500000);
  s = syscallOf('+0 getsockopt(3, SOL_TCP, TCP_INFO, {tcpi_state=8, tcpi_x=[1,2]}, [4]) = 0');
  assert.deepEqual(s.args[3], {
    kind: 'struct',
    items: [
      { kind: 'binary', op: '=', lhs: word('tcpi_state'), rhs: int(8) },
      { kind: 'binary', op: '=', lhs: word('tcpi_x'), rhs: { kind: 'array', items: [int(1), int(2)] } },
    ],
  });
  s = syscallOf('+0 write(3, "ab" "c", 3) = 3');
  assert.equal(s.args[1]!.kind, 'binary');
  s = syscallOf('+0 f("abc"..., inet_addr("1.2.3.4"), inet6_addr("::1"), [], htons_x) = 0');
  assert.deepEqual(s.args.slice(0, 4), [
    { kind: 'string', value: 'abc', ellipsis: true },
    { kind: 'inet_addr', address: '1.2.3.4' },
    { kind: 'inet6_addr', address: '::1' },
    { kind: 'array', items: [] },
  ]);
  s = syscallOf(
    '+0 bind(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("10.0.0.1")}, 16) = 0',
  );
  assert.deepEqual(s.args[1], { kind: 'sockaddr', family: 'AF_INET', port: 8080, address: '10.0.0.1' });
  s = syscallOf(
    '+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=MSG_ERRQUEUE, msg_control=[' +
      '{cmsg_level=SOL_IP, cmsg_type=IP_RECVERR, cmsg_data={ee_errno=0, ee_origin=1, ee_type=0, ee_code=2, ee_info=0, ee_data=3}},' +
      '{cmsg_level=SOL_SOCKET, cmsg_type=SCM_TIMESTAMPING, cmsg_data={scm_sec=1, scm_nsec=2}}]}, MSG_ERRQUEUE) = 0',
  );
  const m = s.args[1]!;
  assert.equal(m.kind, 'msghdr');
  if (m.kind !== 'msghdr') return;
  assert.equal(m.iovlen, 1n);
  assert.deepEqual(m.iov, { kind: 'array', items: [{ kind: 'iovec', len: 0n }] });
  assert.deepEqual(m.flags, word('MSG_ERRQUEUE'));
  assert.equal(m.control.kind === 'array' && m.control.items.length, 2);
  s = syscallOf('+0 poll([{fd=4, events=POLLIN, revents=POLLIN|POLLOUT}, {fd=5, events=0}], 2, 0) = 1');
  const arr = s.args[0]!;
  assert.ok(arr.kind === 'array' && arr.items[1]!.kind === 'pollfd');
  assert.deepEqual(arr.kind === 'array' && arr.items[1], {
    kind: 'pollfd',
    fd: int(5),
    events: int(0),
    revents: int(0),
  });
  s = syscallOf('+0 epoll_wait(5, {events=EPOLLIN, u64=123}, 1, 0) = 1');
  assert.deepEqual(s.args[1], {
    kind: 'epoll_event',
    events: word('EPOLLIN'),
    field: 'u64',
    value: int(123),
  });
  s = syscallOf('+0 f({}, {(label 1, tc 0, [S], ttl 2)}, {flags 0 sum 0 off 0 key 0 seq 0}) = 0');
  assert.deepEqual(s.args[0], { kind: 'mpls_stack', stack: [] });
  assert.equal(s.args[2]!.kind, 'gre');
});

test('definitions: -D arguments and --define lines', () => {
  const defs = definesFromArgs([
    '--ip_version=ipv4',
    '-D',
    'TFO_COOKIE=3021b9d889017eeb',
    '-DN=5',
    '--define=STR="x"',
  ]);
  assert.deepEqual(
    [...defs],
    [
      ['TFO_COOKIE', '3021b9d889017eeb'],
      ['N', '5'],
      ['STR', '"x"'],
    ],
  );
  const s = parseScript(
    '--define=W=wscale_is_keyword\n+0 < S 0:0(0) win N <FO TFO_COOKIE>\n+0 write(3, STR, W) = 0x10',
    { defines: defs },
  );
  const p = s.events[0]!;
  assert.equal(p.kind === 'packet' && p.packet.protocol === 'tcp' && p.packet.window, 5);
  const c = s.events[1]!;
  assert.deepEqual(c.kind === 'syscall' && c.syscall.args.slice(1), [
    { kind: 'string', value: 'x', ellipsis: false },
    word('wscale_is_keyword'),
  ]);
  assert.throws(() => definesFromArgs(['-D', '=x']));
});

test('errors carry file:line:column and a clear message', () => {
  const e = rejects('0 socket(..., SOCK_STREAM) = 3\n+0 < S 0:0(0) <mss 1000>', /window must be specified/);
  assert.equal(e.file, 't.pkt');
  assert.deepEqual(e.pos, { line: 2, column: 4 });
  assert.match(e.message, /^t\.pkt:2:4: /);
  rejects('', /expected an event/);
  rejects('--mss=1000', /expected an event/);
  rejects('+0 < S 0:1(0) win 1', /inconsistent TCP sequence numbers/);
  rejects('+0 < S 0:0(0) win 70000', /TCP window value out of range/);
  rejects('+0 < S 0:0(0) win 1 <mss 70000>', /mss value out of range/);
  rejects('+0 < S 0:0(0) win 1 <...>', /<\.\.\.> for TCP options can only be used with outbound/);
  rejects('* close(3) = 0', /<star> can only be used with outbound/);
  rejects('1~2 < . 1:1(0) win 1', /time range can only be used with outbound/);
  rejects('2~1 > . 1:1(0)', /time range is backwards/);
  rejects('-1 close(3) = 0', /negative time/);
  rejects('+0 > SX 0:0(0)', /Invalid TCP flag: 'X'/);
  rejects('+0 > E1 0:0(0)', /Conflicting TCP flag/);
  rejects('+0 > S 0:0(0) <FO abc>', /odd number of digits/);
  rejects('+0 > S 0:0(0) <FO zz>', /not a valid hex string/);
  rejects('+0 > S 0:0(0) <md5 00112233445566778899aabbccddeeff00>', /MD5 digest longer than 16 bytes/);
  rejects(
    '+0 > S 0:0(0) <TS val 1 ecr 2,TS val 1 ecr 2,TS val 1 ecr 2,TS val 1 ecr 2,TS val 1 ecr 2>',
    /option list too long/,
  );
  rejects('+0 < [ect01] . 1:1(0) win 1', /\[ect01\] can only be used with outbound/);
  rejects('+0 < [ect0] udp (10)', /ECN can only be used with TCP/);
  rejects('+0 close(3) = -1 EBADF', /expected '\('/);
  rejects('+0 close(3) = 0\n+0 "', /t\.pkt:2:4: unterminated string/);
  rejects('+0 %{ x', /unterminated %\{ code block/);
  rejects('/* x', /unterminated \/\* comment/);
  rejects(
    '+0 bind(3, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("1.2.3")}, 16) = 0',
    /invalid IPv4/,
  );
  rejects('+0 f({fd=1, events=2) = 0', /expected '\}' to close the '\{' at 1:6/);
  rejects('+0 f(close) = 0 extra', /expected '\('/);
  rejects('+0 f(fd) = 0', /expected an expression but found keyword 'fd'/);
  rejects('+0 f(\u0001) = 0', /unexpected character/);
});

test('bad input never throws anything but a syntax error', () => {
  const pieces = [
    '+0',
    '0',
    '.1',
    '<',
    '>',
    'S',
    '.',
    '0:0(0)',
    'win',
    '1',
    '<mss',
    ',',
    'nop>',
    '(',
    ')',
    '=',
    '[',
    ']',
    '{',
    '}',
    'fd',
    '=',
    '...',
    '"s"',
    '`c`',
    '%{',
    '}%',
    'x',
    '|',
    'icmp',
    'udp',
    '\n',
    '~',
    '*',
    '-',
    'ack',
    'TS',
    'val',
    'ecr',
    '/*',
    '*/',
    '//',
    'gre',
    'mpls',
    ':',
  ];
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...pieces), { maxLength: 30 }),
      fc.string({ maxLength: 30 }),
      (parts, junk) => {
        for (const src of [parts.join(' '), junk, parts.join('')]) {
          try {
            parseScript(src);
          } catch (e) {
            if (!(e instanceof PacketdrillSyntaxError)) throw e;
          }
        }
      },
    ),
    { numRuns: 2000 },
  );
});

/** The definitions packetdrill's upstream harness (run_all.py) passes for IPv4; MSS is used by the PSP scripts. */
const UPSTREAM_DEFINES = new Map([
  ['TFO_COOKIE', '3021b9d889017eeb'],
  ['CODE', 'host_unreachable'],
  ['CMSG_LEVEL_IP', 'SOL_IP'],
  ['CMSG_TYPE_RECVERR', 'IP_RECVERR'],
  ['MSS', '1420'],
]);

test('upstream packetdrill corpus parses', (t) => {
  if (!UPSTREAM || !existsSync(UPSTREAM)) {
    t.skip('PACKETDRILL_REPO does not name a google/packetdrill git repository: corpus not parsed');
    return;
  }
  const git = (...args: string[]): string =>
    execFileSync('git', ['-C', UPSTREAM, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const files = git('ls-tree', '-r', '--name-only', 'HEAD')
    .split('\n')
    .filter((f) => f.endsWith('.pkt'));
  const failures: string[] = [];
  let events = 0;
  for (const f of files) {
    try {
      events += parseScript(git('show', `HEAD:${f}`), { file: f, defines: UPSTREAM_DEFINES }).events.length;
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
    }
  }
  t.diagnostic(
    `parsed ${files.length - failures.length}/${files.length} upstream scripts (${events} events)`,
  );
  assert.deepEqual(failures, []);
  assert.ok(files.length >= 177, `expected at least 177 scripts, found ${files.length}`);
});
