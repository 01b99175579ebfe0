import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../../src/index.js';
import { Prandom } from '../../src/kernel/random.js';
import {
  net_mib,
  netstat_seq_show,
  snmp_seq_show,
  ICMP_MIB_INMSGS,
  IPSTATS_MIB_INPKTS,
  IPSTATS_MIB_INHDRERRORS,
  UDP_MIB_NOPORTS,
} from '../../src/net/ipv4/snmp.js';
import { netstatS, netstatStatistics } from '../../src/tools/netstat.js';

test('netstat -s: sentences per counter, optional ones only when non-zero, ICMP histograms', () => {
  const h = new World().addHost('h');
  const m = net_mib(h.netns);
  m.ip_statistics[IPSTATS_MIB_INPKTS] = 12;
  m.ip_statistics[IPSTATS_MIB_INHDRERRORS] = 3;
  m.icmp_statistics[ICMP_MIB_INMSGS] = 2;
  m.icmpmsg_statistics[8] = 2; // InType8: echo requests
  m.icmpmsg_statistics[256 + 0] = 2; // OutType0: echo replies
  m.udp_statistics[UDP_MIB_NOPORTS] = 5;
  const s = netstatS(h.netns);
  assert.match(
    s,
    /^Ip:\n {4}Forwarding: 2\n {4}12 total packets received\n {4}3 with invalid headers\n {4}0 forwarded\n/,
  );
  assert.doesNotMatch(s, /with invalid addresses/, 'opt_number counters are hidden at zero');
  assert.match(
    s,
    /Icmp:\n {4}2 ICMP messages received\n {4}0 input ICMP message failed\n {4}ICMP input histogram:\n {8}echo requests: 2\n/,
  );
  assert.match(s, /ICMP output histogram:\n {8}echo replies: 2\nIcmpMsg:\n {8}InType8: 2\n {8}OutType0: 2\n/);
  assert.match(s, /Udp:\n {4}0 packets received\n {4}5 packets to unknown port received\n/);
  assert.match(s, /\nUdpLite:\nTcpExt:\n {4}0 packet headers predicted\nIpExt:\n/);
  assert.match(s, /\nMPTcpExt:\n$/);
  // -su: only the Udp table of the known ones; the tables netstat does not know still show.
  const su = netstatS(h.netns, { udp: true });
  assert.doesNotMatch(su, /^Ip:|^Tcp:|total packets received/m);
  assert.match(su, /^Udp:\n {4}0 packets received\n/m);
  assert.match(su, /^IcmpMsg:$/m);
});

test('netstat -s: unknown names print as "Name: value" only when non-zero', () => {
  const s = netstatStatistics('Udp: InDatagrams Brand New\nUdp: 1 0 7\n');
  assert.equal(s, 'Udp:\n    1 packets received\n    New: 7\n');
});

function canRunRealNetstat(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (a private mount namespace)';
  for (const cmd of ['unshare', 'netstat']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) return `${cmd} is not installed`;
  }
  return false;
}

/** The real `netstat -s<flags>` reading our text, through a /proc of our own in a private mount namespace. */
function realNetstat(dir: string, snmp: string, netstat: string, flags: string): string {
  mkdirSync(join(dir, 'net'), { recursive: true });
  writeFileSync(join(dir, 'net', 'snmp'), snmp);
  writeFileSync(join(dir, 'net', 'netstat'), netstat);
  const r = spawnSync(
    'unshare',
    ['-m', 'sh', '-c', `mount --bind "${dir}" /proc && exec netstat -s${flags}`],
    {
      encoding: 'utf8',
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    },
  );
  if (r.status !== 0) throw new Error(`netstat: ${r.status} ${r.stderr}`);
  return r.stdout;
}

test(
  'differential: the real netstat -s and ours print the same for random counters',
  { skip: canRunRealNetstat() },
  () => {
    const h = new World().addHost('h');
    const m = net_mib(h.netns);
    const rnd = new Prandom(2026);
    const dir = mkdtempSync(join(tmpdir(), 'usernet-netstat-'));
    try {
      for (let round = 0; round < 24; round++) {
        // Half the counters zero, the rest small or large, so both opt_number branches show.
        for (const arr of [
          m.ip_statistics,
          m.icmp_statistics,
          m.icmpmsg_statistics,
          m.tcp_statistics,
          m.udp_statistics,
          m.udplite_statistics,
          m.net_statistics,
          m.mptcp_statistics,
        ]) {
          for (let i = 0; i < arr.length; i++) {
            const r = rnd.get_random_u32_below(4);
            arr[i] = r < 2 ? 0 : r === 2 ? rnd.get_random_u32_below(10) : rnd.get_random_u32();
          }
        }
        const snmp = snmp_seq_show(h.netns);
        const netstat = netstat_seq_show(h.netns);
        const flags = ['', 't', 'u', 'w', 'tu'][round % 5];
        const ours = netstatStatistics(snmp, netstat, {
          tcp: flags.includes('t'),
          udp: flags.includes('u'),
          raw: flags.includes('w'),
        });
        assert.equal(ours, realNetstat(dir, snmp, netstat, flags), `round ${round}, netstat -s${flags}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('host.netstat() is netstat -s of the host', () => {
  const h = new World().addHost('h');
  net_mib(h.netns).udp_statistics[UDP_MIB_NOPORTS] = 2;
  assert.equal(h.netstat(), netstatS(h.netns));
  assert.match(
    h.netstat({ udp: true }),
    /^Udp:\n {4}0 packets received\n {4}2 packets to unknown port received\n/m,
  );
});
