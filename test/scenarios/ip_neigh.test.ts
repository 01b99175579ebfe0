// `ip neigh` in host.ip(): show, add, replace, change, del and flush on the ARP table, printing
// and failing as iproute2 6.1 does on Linux (the texts below are what `ip neigh` printed in a
// network namespace for the same commands).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, type Host } from '../../src/index.js';
import { IprouteError } from '../../src/sim/iproute.js';
import { runFor } from './helpers.js';

function pair(): { w: World; a: Host; b: Host; amac: string; bmac: string } {
  const w = new World({ seed: 5 });
  const a = w.addHost('a');
  const b = w.addHost('b');
  const l = w.link(a, b);
  w.link(a, w.addHost('c'));
  a.ip('ip addr add 10.0.1.1/24 dev eth0');
  a.ip('ip addr add 10.0.2.1/24 dev eth1');
  b.ip('ip addr add 10.0.1.2/24 dev eth0');
  const mac = (d: Uint8Array): string => [...d].map((x) => x.toString(16).padStart(2, '0')).join(':');
  return { w, a, b, amac: mac(l.a.dev_addr), bmac: mac(l.b.dev_addr) };
}

function fails(h: Host, cmd: string, errno: string, message: string): void {
  assert.throws(
    () => h.ip(cmd),
    (e: unknown) => e instanceof IprouteError && e.code === errno && e.message === message,
    cmd,
  );
}

test('ip neigh add: permanent by default; show with and without a device', () => {
  const { a } = pair();
  assert.equal(a.ip('ip neigh'), '');
  assert.equal(a.ip('ip neigh add 10.0.1.50 lladdr 02:00:00:00:00:50 dev eth0'), '');
  a.ip('ip neigh add 10.0.1.52 lladdr 02:00:00:00:00:52 dev eth0 nud reachable');
  a.ip('ip neigh add 10.0.1.53 lladdr 2:0:0:0:0:53 dev eth0 nud stale');
  a.ip('ip neigh add 10.0.2.9 lladdr 02:00:00:00:00:09 dev eth1');
  const all = a.ip('ip neigh show').split('\n').filter(Boolean).sort();
  assert.deepEqual(all, [
    '10.0.1.50 dev eth0 lladdr 02:00:00:00:00:50 PERMANENT ',
    '10.0.1.52 dev eth0 lladdr 02:00:00:00:00:52 REACHABLE ',
    '10.0.1.53 dev eth0 lladdr 02:00:00:00:00:53 STALE ',
    '10.0.2.9 dev eth1 lladdr 02:00:00:00:00:09 PERMANENT ',
  ]);
  assert.equal(a.ip('ip neigh'), a.ip('ip neigh show'));
  assert.equal(a.ip('ip n list'), a.ip('ip neigh show'));
  // Filtered by device, the device is not repeated.
  assert.equal(a.ip('ip neigh show dev eth1'), '10.0.2.9 lladdr 02:00:00:00:00:09 PERMANENT \n');
  // By address (with or without "to"), and by state.
  assert.equal(a.ip('ip neigh show 10.0.1.50'), '10.0.1.50 dev eth0 lladdr 02:00:00:00:00:50 PERMANENT \n');
  assert.equal(a.ip('ip neigh show to 10.0.1.50'), a.ip('ip neigh show 10.0.1.50'));
  assert.equal(a.ip('ip neigh show dev eth0 nud stale'), '10.0.1.53 lladdr 02:00:00:00:00:53 STALE \n');
  assert.equal(a.ip('ip neigh show nud permanent').split('\n').filter(Boolean).length, 2);
  assert.equal(a.ip('ip neigh show 10.0.2.0/24'), '10.0.2.9 dev eth1 lladdr 02:00:00:00:00:09 PERMANENT \n');
  // host.ipNeigh() shows the same table.
  assert.equal(a.ipNeigh('eth1'), '10.0.2.9 dev eth1 lladdr 02:00:00:00:00:09 PERMANENT \n');
});

test('ip neigh: NOARP entries only with "nud all"; an entry with no state prints no state', () => {
  const { a } = pair();
  a.ip('ip neigh add 10.0.1.54 lladdr 02:00:00:00:00:54 dev eth0 nud noarp');
  a.ip('ip neigh add 10.0.1.55 lladdr 02:00:00:00:00:55 dev eth0 nud failed');
  a.ip('ip neigh add 10.0.1.57 dev eth0 nud incomplete');
  a.ip('ip neigh add 10.0.1.56 lladdr 02:00:00:00:00:56 dev eth0 nud none');
  assert.deepEqual(a.ip('ip neigh show dev eth0').split('\n').filter(Boolean).sort(), [
    '10.0.1.55 FAILED ',
    '10.0.1.57 INCOMPLETE ',
  ]);
  assert.deepEqual(a.ip('ip neigh show nud all dev eth0').split('\n').filter(Boolean).sort(), [
    '10.0.1.54 lladdr 02:00:00:00:00:54 NOARP ',
    '10.0.1.55 FAILED ',
    '10.0.1.56 ',
    '10.0.1.57 INCOMPLETE ',
  ]);
  assert.equal(a.ip('ip neigh show nud noarp'), '10.0.1.54 dev eth0 lladdr 02:00:00:00:00:54 NOARP \n');
});

test('ip neigh replace, change and del; the errors iproute2 prints', () => {
  const { a } = pair();
  a.ip('ip neigh add 10.0.1.51 lladdr 02:00:00:00:00:51 dev eth0 nud permanent');
  fails(
    a,
    'ip neigh add 10.0.1.51 lladdr 02:00:00:00:00:51 dev eth0',
    'EEXIST',
    'RTNETLINK answers: File exists',
  );
  a.ip('ip neigh replace 10.0.1.51 lladdr 02:00:00:00:00:aa dev eth0 nud reachable');
  assert.equal(a.ip('ip neigh show dev eth0'), '10.0.1.51 lladdr 02:00:00:00:00:aa REACHABLE \n');
  a.ip('ip neigh change 10.0.1.51 lladdr 02:00:00:00:00:bb dev eth0');
  assert.equal(a.ip('ip neigh show dev eth0'), '10.0.1.51 lladdr 02:00:00:00:00:bb PERMANENT \n');
  fails(
    a,
    'ip neigh change 10.0.1.99 lladdr 02:00:00:00:00:aa dev eth0',
    'ENOENT',
    'RTNETLINK answers: No such file or directory',
  );
  a.ip('ip neigh replace 10.0.1.98 lladdr 02:00:00:00:00:98 dev eth0');
  assert.match(
    a.ip('ip neigh show 10.0.1.98'),
    /^10\.0\.1\.98 dev eth0 lladdr 02:00:00:00:00:98 PERMANENT \n$/,
  );
  fails(a, 'ip neigh del 10.0.1.99 dev eth0', 'ENOENT', 'RTNETLINK answers: No such file or directory');
  assert.equal(a.ip('ip neigh del 10.0.1.98 dev eth0'), '');
  assert.equal(a.ip('ip neigh show 10.0.1.98'), '');
  fails(a, 'ip neigh del 10.0.1.51', 'EINVAL', 'Device and destination are required arguments.');
  fails(
    a,
    'ip neigh add 10.0.1.60 lladdr 02:00:00:00:00:60',
    'EINVAL',
    'Device and destination are required arguments.',
  );
  fails(a, 'ip neigh add 10.0.1.60 lladdr zz dev eth0', 'EINVAL', '"zz" is invalid lladdr.');
  fails(a, 'ip neigh add 10.0.1.60 lladdr 02:00:00:00:00:60 dev eth9', 'ENODEV', 'Cannot find device "eth9"');
  fails(a, 'ip neigh add 10.0.1.60 dev eth0 nud noarp', 'EINVAL', 'Error: No link layer address given.');
  fails(
    a,
    'ip neigh add 10.0.1.58 dev eth0 nud bogus',
    'EINVAL',
    'Error: argument "bogus" is wrong: nud state is bad',
  );
  fails(a, 'ip neigh flush', 'EINVAL', 'Flush requires arguments.');
  fails(a, 'ip neigh bogus', 'EINVAL', 'Command "bogus" is unknown, try "ip neigh help".');
});

test('ip neigh flush: by device, by prefix, or all; permanent and NOARP entries stay', () => {
  const { a } = pair();
  a.ip('ip neigh add 10.0.1.51 lladdr 02:00:00:00:00:51 dev eth0');
  a.ip('ip neigh add 10.0.1.52 lladdr 02:00:00:00:00:52 dev eth0 nud reachable');
  a.ip('ip neigh add 10.0.1.53 lladdr 02:00:00:00:00:53 dev eth0 nud stale');
  a.ip('ip neigh add 10.0.1.54 lladdr 02:00:00:00:00:54 dev eth0 nud noarp');
  a.ip('ip neigh add 10.0.2.2 lladdr 02:00:00:00:02:02 dev eth1 nud reachable');
  a.ip('ip neigh add 10.0.2.3 lladdr 02:00:00:00:02:03 dev eth1 nud reachable');
  assert.equal(a.ip('ip neigh flush dev eth0'), '');
  assert.deepEqual(a.ip('ip neigh show nud all dev eth0').split('\n').filter(Boolean).sort(), [
    '10.0.1.51 lladdr 02:00:00:00:00:51 PERMANENT ',
    '10.0.1.54 lladdr 02:00:00:00:00:54 NOARP ',
  ]);
  assert.equal(a.ip('ip neigh show dev eth1').split('\n').filter(Boolean).length, 2);
  a.ip('ip neigh flush to 10.0.2.3');
  assert.equal(a.ip('ip neigh show dev eth1'), '10.0.2.2 lladdr 02:00:00:00:02:02 REACHABLE \n');
  a.ip('ip neigh flush all');
  assert.equal(a.ip('ip neigh'), '10.0.1.51 dev eth0 lladdr 02:00:00:00:00:51 PERMANENT \n');
  // "nud permanent" flushes those too.
  a.ip('ip neigh flush dev eth0 nud permanent');
  assert.equal(a.ip('ip neigh'), '');
});

test('ip neigh follows resolution: INCOMPLETE, then FAILED; learnt entries REACHABLE then STALE', async () => {
  const { w, a, b, bmac } = pair();
  const p = a.ping('10.0.1.77', { count: 1, timeout: 1 });
  await runFor(w, 10);
  assert.equal(a.ip('ip neigh show dev eth0'), '10.0.1.77 INCOMPLETE \n');
  await p;
  await runFor(w, 5000);
  assert.equal(a.ip('ip neigh show dev eth0'), '10.0.1.77 FAILED \n');
  a.ip('ip neigh flush dev eth0');
  assert.equal((await a.ping('10.0.1.2', { count: 1 })).received, 1);
  assert.equal(a.ip('ip neigh show dev eth0'), `10.0.1.2 lladdr ${bmac} REACHABLE \n`);
  // b learnt a from its request.
  assert.match(b.ip('ip neigh'), /^10\.0\.1\.1 dev eth0 lladdr [0-9a-f:]{17} (STALE|REACHABLE|DELAY) \n$/);
  await runFor(w, 120_000);
  assert.equal(a.ip('ip neigh show dev eth0'), `10.0.1.2 lladdr ${bmac} STALE \n`);
});

test('a permanent entry is used as is: no ARP on the wire, and a wrong one black-holes traffic', async () => {
  const { w, a, bmac } = pair();
  a.ip(`ip neigh add 10.0.1.2 lladdr ${bmac} dev eth0`);
  const cap = a.capture('eth0');
  assert.equal((await a.ping('10.0.1.2', { count: 1 })).received, 1);
  cap.stop();
  // a asked for nobody; b, which knows nothing of a, asked for it and a answered.
  const arp = (op: number, out: boolean): number =>
    cap.frames.filter(
      (f) => f.outgoing === out && f.data[12] === 0x08 && f.data[13] === 0x06 && f.data[21] === op,
    ).length;
  assert.equal(arp(1, true), 0, 'a sent no ARP request');
  assert.equal(arp(1, false), 1, 'b asked for a');
  assert.equal(arp(2, true), 1, 'a answered');
  a.ip('ip neigh replace 10.0.1.2 lladdr 02:00:00:00:00:01 dev eth0');
  const r = await a.ping('10.0.1.2', { count: 1, timeout: 1 });
  assert.equal(r.received, 0, 'frames to a MAC nobody has');
  assert.equal(a.ip('ip neigh show dev eth0'), '10.0.1.2 lladdr 02:00:00:00:00:01 PERMANENT \n');
  a.ip('ip neigh del 10.0.1.2 dev eth0');
  assert.equal((await a.ping('10.0.1.2', { count: 1 })).received, 1, 'resolved again by ARP');
  await runFor(w, 10);
});
