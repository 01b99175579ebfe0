import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World } from '../../src/sim/world.js';
import {
  CommandError,
  DEFAULTS_SH,
  runCommand,
  shellWords,
  type CommandContext,
} from '../../src/tools/packetdrill/commands.js';
import { parseScript } from '../../src/tools/packetdrill/parser.js';
import { runScript } from '../../src/tools/packetdrill/runtime.js';
import { dev_get_by_name } from '../../src/net/core/dev.js';
import { FqSchedData } from '../../src/net/sched/sch_fq.js';

function ctx(): CommandContext {
  const w = new World({ seed: 1 });
  const host = w.addHost('h');
  w.link(host, w.addHost('peer'));
  host.ip('ip addr add 192.168.0.1/16 dev eth0');
  return { host, log: { missingSysctls: [], notes: [] }, nstat: { last: null } };
}

test('shell words: quotes, lists, pipes, redirections, comments', () => {
  assert.deepEqual(shellWords('sysctl -q net.ipv4.tcp_rmem="4096 540000 15728640" > /dev/null 2>&1 # x'), [
    'sysctl',
    '-q',
    'net.ipv4.tcp_rmem=4096 540000 15728640',
    '>',
    '/dev/null',
  ]);
  // Standard output to a file is kept (echo writes through it); 2> and <, dropped.
  assert.deepEqual(shellWords('echo 3 >/sys/module/m/parameters/p 2>/dev/null'), [
    'echo',
    '3',
    '>',
    '/sys/module/m/parameters/p',
  ]);
  assert.deepEqual(shellWords('echo 3 1>> f < g'), ['echo', '3', '>>', 'f']);
  assert.deepEqual(shellWords('a &> /dev/null || b ; nstat | grep X'), [
    'a',
    '||',
    'b',
    ';',
    'nstat',
    '|',
    'grep',
    'X',
  ]);
});

test('sysctl and set_sysctls.py write the host table; unknown names fail the command', () => {
  const c = ctx();
  runCommand('sysctl -q net.ipv4.ip_default_ttl=33', c);
  assert.equal(c.host.sysctl.read('net.ipv4.ip_default_ttl'), 33);
  runCommand(
    '../common/set_sysctls.py /proc/sys/net/ipv4/ip_default_ttl=44 \\\n /proc/sys/net/core/somaxconn=7',
    c,
  );
  assert.equal(c.host.sysctl.read('net.ipv4.ip_default_ttl'), 44);
  assert.equal(c.host.sysctl.read('net.core.somaxconn'), 7);
  assert.throws(
    () => runCommand('sysctl -q net.ipv4.no_such_thing=1', c),
    (e: unknown) => {
      assert.ok(e instanceof CommandError);
      assert.equal(e.message, 'sysctl: cannot set net.ipv4.no_such_thing=1 (not a sysctl of this host)');
      return true;
    },
  );
  // -e ignores unknown keys (and records them).
  runCommand('sysctl -e -q net.ipv4.other_thing=2', c);
  assert.ok(c.log.missingSysctls.includes('net.ipv4.other_thing=2 (not a sysctl of this host)'));
  // A list: the second command runs only when the first fails.
  assert.equal(runCommand('sysctl -q net.ipv4.tcp_x=1 &> /dev/null || true', c), 0);
});

test('defaults.sh: every value it sets, the ones the host lacks collected, not fatal', () => {
  const c = ctx();
  assert.equal(runCommand('../../common/defaults.sh', c), 0);
  assert.equal(DEFAULTS_SH.length, 23);
  const known = new Set(c.host.sysctl.names());
  const missing = c.log.missingSysctls.map((m) => m.split('=')[0]!);
  for (const [name, value] of DEFAULTS_SH) {
    if (!known.has(name)) assert.ok(missing.includes(name), `${name} not reported`);
    else if (!missing.includes(name) && /^\d+$/.test(value))
      assert.equal(c.host.sysctl.read(name), Number(value));
  }
  assert.ok(missing.every((n) => DEFAULTS_SH.some(([d]) => d === n)));
  // The table of this host has no such entry: reported with the value and why.
  runCommand('sysctl -e -q net.ipv4.tcp_no_such_thing="1 2 3"', c);
  assert.ok(c.log.missingSysctls.includes('net.ipv4.tcp_no_such_thing=1 2 3 (not a sysctl of this host)'));
});

test('ip, ethtool, tc, nstat and the restore script; anything else is refused', () => {
  const c = ctx();
  runCommand('ip route change 192.0.2.1 via 192.168.0.2 dev tun0 mtu lock 1400', c);
  assert.match(c.host.ip('ip route show'), /192\.0\.2\.1 via 192\.168\.0\.2 dev eth0 mtu 1400/);
  assert.throws(
    () => runCommand('ip route change 192.0.2.1 via 192.168.0.2 dev tun0 advmss 1460', c),
    /advmss/,
  );
  runCommand('ip tcp_metrics flush all > /dev/null 2>&1', c);
  runCommand('ethtool -K tun0 tso off gso off', c);
  runCommand('tc qdisc add dev tun0 root pfifo', c);
  // fq, with tc's options, becomes eth0's root qdisc; a change keeps it and its flows.
  runCommand('tc qdisc replace dev tun0 root fq', c);
  const fq = dev_get_by_name(c.host.netns, 'eth0')!.qdisc;
  assert.ok(fq instanceof FqSchedData);
  runCommand('tc qdisc change dev tun0 root fq flow_limit 20 maxrate 8mbit nopacing', c);
  assert.equal(dev_get_by_name(c.host.netns, 'eth0')!.qdisc, fq);
  assert.deepEqual([fq.flow_plimit, fq.flow_max_rate, fq.rate_enable], [20, 1_000_000, false]);
  assert.throws(() => runCommand('tc qdisc replace dev tun0 root fq flows 9', c), /unknown parameter/);
  assert.throws(() => runCommand('tc qdisc replace dev tun0 root fq quantum 0', c), /Invalid argument/);
  runCommand('tc qdisc del dev tun0 root', c);
  assert.ok(!(dev_get_by_name(c.host.netns, 'eth0')!.qdisc instanceof FqSchedData));
  assert.throws(() => runCommand('tc qdisc replace dev tun0 root cake', c), /unsupported qdisc setup/);
  runCommand('/tmp/sysctl_restore_${PPID}.sh', c);
  assert.equal(runCommand('nstat > /dev/null', c), 0);
  assert.equal(runCommand('nstat | grep TcpExtOutOfWindowIcmps > /dev/null', c), 1);
  assert.throws(() => runCommand('modprobe tcp_bbr', c), /unsupported command: `modprobe tcp_bbr`/);
  assert.throws(() => runCommand('ip -6 route change 2001:DB8::1 via fd3d::1 dev tun0', c), /no IPv6/);
});

test('a script: defaults.sh runs as its init command, an unknown command fails its line', async () => {
  const r = await runScript(
    parseScript(
      [
        '`../common/defaults.sh`',
        '0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3',
        '+0 `sysctl -q net.ipv4.ip_default_ttl=9`',
        '+0 `frobnicate`',
        '',
      ].join('\n'),
    ),
    { file: 't.pkt' },
  );
  assert.equal(r.ok, false);
  assert.deepEqual(r.errors, [
    't.pkt:4: error executing `frobnicate` command: unsupported command: `frobnicate`',
  ]);
  assert.ok(r.missingSysctls.length > 0);
});

test('a code block needs a TCP socket under test; its assertion fails at the end with its line', async () => {
  const r = await runScript(
    parseScript(
      ['0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3', '+0 %{ assert tcpi_state == 1 }%', ''].join('\n'),
    ),
    { file: 't.pkt' },
  );
  assert.equal(r.ok, false);
  assert.match(r.errors[0]!, /^t\.pkt:2: runtime error in code: can't find getsockopt to get TCP info/);
  const r2 = await runScript(parseScript('0 %{ print(1) }%\n'), { file: 't.pkt' });
  assert.deepEqual(r2.errors, ['t.pkt:1: runtime error in code: no socket to use for code']);
});

test('echo into /sys/module writes the host kernel module parameter, with its checks', () => {
  const c = ctx();
  const path = '/sys/module/tcp_cubic/parameters/hystart_detect';
  assert.equal(c.host.sysfs.read(path), '3');
  assert.equal(runCommand(`echo 1 > ${path}`, c), 0);
  assert.equal(c.host.sysfs.read(path), '1');
  // Garbage is refused (as bash reports `echo: write error: Invalid argument`), status 1.
  assert.throws(
    () => runCommand(`echo fast > ${path}`, c),
    (e: unknown) =>
      e instanceof CommandError && e.status === 1 && /write error: Invalid argument/.test(e.message),
  );
  assert.equal(c.host.sysfs.read(path), '1');
  // A read-only parameter, and one that does not exist.
  assert.throws(
    () => runCommand('echo 50 > /sys/module/tcp_cubic/parameters/bic_scale', c),
    (e: unknown) => e instanceof CommandError && /Permission denied/.test(e.message),
  );
  assert.throws(
    () => runCommand('echo 1 > /sys/module/tcp_cubic/parameters/no_such', c),
    (e: unknown) => e instanceof CommandError && /No such file/.test(e.message),
  );
  // A failed write in a list lets `||` run.
  assert.equal(runCommand(`echo x > ${path} || true`, c), 0);
  // echo into /proc/sys is a sysctl write; without a file (or to /dev/null) it does nothing.
  assert.equal(runCommand('echo 31 > /proc/sys/net/ipv4/ip_default_ttl', c), 0);
  assert.equal(c.host.sysctl.read('net.ipv4.ip_default_ttl'), 31);
  assert.equal(runCommand('echo hello > /dev/null; echo hello', c), 0);
  assert.throws(() => runCommand('echo 1 > /tmp/somewhere', c), CommandError);
});
