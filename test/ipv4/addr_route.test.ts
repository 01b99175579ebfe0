// Addresses, connected routes, the FIB (longest prefix match, gateways, metrics), source
// address selection, address types and the iproute2-like views, checked against what Linux
// prints for the same configuration.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newWorld, link, addr } from './helpers.js';
import { ip_route_output, type Rtable } from '../../src/net/ipv4/route.js';
import { inet_addr_type, inet_select_addr } from '../../src/net/ipv4/devinet.js';
import {
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_UNICAST,
  RT_SCOPE_UNIVERSE,
} from '../../src/net/ipv4/fib.js';
import { IprouteError } from '../../src/sim/iproute.js';
import * as E from '../../src/uapi/errno.js';

function route(h: ReturnType<ReturnType<typeof newWorld>['addHost']>, dst: string, saddr = 0, oif = 0) {
  const fl = { daddr: addr(dst), saddr, tos: 0, oif };
  const rt = ip_route_output(h.netns, fl);
  return { rt, fl };
}

test('lo comes up with 127.0.0.1/8, and all of 127.0.0.0/8 is local', () => {
  const w = newWorld();
  const a = w.addHost('a');
  assert.equal(
    a.ip('ip route show table local'),
    'local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 \n' +
      'local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 \n' +
      'broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 \n',
  );
  assert.equal(inet_addr_type(a.netns, addr('127.0.0.1')), RTN_LOCAL);
  assert.equal(inet_addr_type(a.netns, addr('127.1.2.3')), RTN_LOCAL);
  assert.equal(inet_addr_type(a.netns, addr('127.255.255.255')), RTN_BROADCAST);
  assert.equal(inet_addr_type(a.netns, addr('255.255.255.255')), RTN_BROADCAST);
  assert.equal(inet_addr_type(a.netns, addr('0.0.0.0')), RTN_BROADCAST);
  assert.equal(inet_addr_type(a.netns, addr('224.0.0.1')), RTN_MULTICAST);
  assert.equal(inet_addr_type(a.netns, addr('8.8.8.8')), RTN_UNICAST);
  const { rt, fl } = route(a, '127.9.9.9');
  assert.equal(typeof rt, 'object');
  assert.equal((rt as Rtable).dev.name, 'lo');
  assert.equal((rt as Rtable).rt_type, RTN_LOCAL);
  // A local route without an explicit source answers from the destination itself.
  assert.equal(fl.saddr, addr('127.0.0.1'));
  assert.match(
    a.ip('ip addr'),
    /inet 127\.0\.0\.1\/8 scope host lo\n {7}valid_lft forever preferred_lft forever\n/,
  );
});

test('adding an address adds the connected, local and broadcast routes as Linux does', () => {
  const w = newWorld();
  const a = w.addHost('a');
  const b = w.addHost('b');
  link(a, 'v0', b, 'v1');
  a.ip('ip addr add 10.0.0.1/24 dev v0');
  assert.equal(a.ip('ip route'), '10.0.0.0/24 dev v0 proto kernel scope link src 10.0.0.1 \n');
  assert.equal(
    a.ip('ip route show table local'),
    'local 10.0.0.1 dev v0 proto kernel scope host src 10.0.0.1 \n' +
      'broadcast 10.0.0.255 dev v0 proto kernel scope link src 10.0.0.1 \n' +
      'local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 \n' +
      'local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 \n' +
      'broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 \n',
  );
  assert.equal(inet_addr_type(a.netns, addr('10.0.0.1')), RTN_LOCAL);
  assert.equal(inet_addr_type(a.netns, addr('10.0.0.255')), RTN_BROADCAST);
  assert.equal(inet_addr_type(a.netns, addr('10.0.0.2')), RTN_UNICAST);
  // The same address again: "Error: ipv4: Address already assigned." (EEXIST).
  assert.throws(
    () => a.ip('ip addr add 10.0.0.1/24 dev v0'),
    (e: unknown) =>
      e instanceof IprouteError &&
      e.errno === E.EEXIST &&
      e.message === 'Error: ipv4: Address already assigned.',
  );
  // Deleting it takes its routes away.
  a.ip('ip addr del 10.0.0.1/24 dev v0');
  assert.equal(a.ip('ip route'), '');
  assert.equal(inet_addr_type(a.netns, addr('10.0.0.1')), RTN_UNICAST);
  assert.throws(
    () => a.ip('ip addr del 10.0.0.1/24 dev v0'),
    (e: unknown) => (e as IprouteError).errno === E.EADDRNOTAVAIL,
  );
  assert.throws(
    () => a.ip('ip addr add 10.0.0.1/24 dev nope'),
    (e: unknown) => (e as IprouteError).errno === E.ENODEV,
  );
});

test('/proc/net/route and ip route match Linux for gateways, metrics and mtu', () => {
  const w = newWorld();
  const a = w.addHost('a');
  const b = w.addHost('b');
  link(a, 'v0', b, 'v1');
  a.ip('ip addr add 10.0.0.1/24 dev v0');
  a.ip('ip route add default via 10.0.0.254');
  a.ip('ip route add 10.5.0.0/16 via 10.0.0.3 dev v0 mtu 1400');
  // Captured from Linux 6.x with the same commands.
  const pad = (s: string): string => s.padEnd(127, ' ') + '\n';
  assert.equal(
    a.procNetRoute(),
    pad('Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT') +
      pad('v0\t00000000\tFE00000A\t0003\t0\t0\t0\t00000000\t0\t0\t0') +
      pad('v0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0') +
      pad('v0\t0000050A\t0300000A\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0'),
  );
  assert.equal(
    a.ip('ip route'),
    'default via 10.0.0.254 dev v0 \n' +
      '10.0.0.0/24 dev v0 proto kernel scope link src 10.0.0.1 \n' +
      '10.5.0.0/16 via 10.0.0.3 dev v0 mtu 1400 \n',
  );
  // Errors as iproute2 reports them.
  assert.throws(
    () => a.ip('ip route add 10.5.0.0/16 via 10.0.0.3'),
    (e: unknown) =>
      e instanceof IprouteError && e.errno === E.EEXIST && e.message === 'RTNETLINK answers: File exists',
  );
  assert.throws(
    () => a.ip('ip route del 10.9.0.0/16'),
    (e: unknown) =>
      e instanceof IprouteError && e.errno === E.ESRCH && e.message === 'RTNETLINK answers: No such process',
  );
  assert.throws(
    () => a.ip('ip route add 10.7.0.0/16 via 10.9.9.9'),
    (e: unknown) => e instanceof IprouteError && e.message === 'Error: Nexthop has invalid gateway.',
  );
  assert.throws(
    () => a.ip('ip route add 10.7.0.1/16 via 10.0.0.9'),
    (e: unknown) => (e as IprouteError).errno === E.EINVAL,
  );
  // A host route sets RTF_HOST; an unreachable route RTF_REJECT with no device.
  a.ip('ip route add 10.6.0.7 via 10.0.0.9');
  a.ip('ip route add unreachable 10.8.0.0/16');
  assert.match(a.procNetRoute(), /\nv0\t0700060A\t0900000A\t0007\t/);
  assert.match(a.procNetRoute(), /\n\*\t0000080A\t00000000\t0201\t/);
  assert.match(a.ip('ip route'), /\nunreachable 10\.8\.0\.0\/16 \n/);
  a.ip('ip route del 10.5.0.0/16');
  assert.doesNotMatch(a.ip('ip route'), /10\.5\.0\.0/);
});

test('longest prefix match, default route, unreachable routes and metrics', () => {
  const w = newWorld();
  const a = w.addHost('a');
  const b = w.addHost('b');
  const c = w.addHost('c');
  link(a, 'eth0', b, 'eth0');
  link(a, 'eth1', c, 'eth0');
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  a.ip('ip addr add 192.168.1.1/24 dev eth1');
  // No route at all yet for 8.8.8.8.
  assert.equal(route(a, '8.8.8.8').rt, -E.ENETUNREACH);
  a.ip('ip route add default via 10.0.0.254');
  a.ip('ip route add 172.16.0.0/12 via 192.168.1.254');
  a.ip('ip route add 172.16.5.0/24 via 10.0.0.5');
  a.ip('ip route add 172.16.5.128/25 dev eth1');
  const cases: [string, string, number][] = [
    ['8.8.8.8', 'eth0', addr('10.0.0.254')],
    ['172.20.0.1', 'eth1', addr('192.168.1.254')],
    ['172.16.5.1', 'eth0', addr('10.0.0.5')],
    ['172.16.5.200', 'eth1', 0],
    ['10.0.0.77', 'eth0', 0],
    ['192.168.1.9', 'eth1', 0],
  ];
  for (const [dst, dev, gw] of cases) {
    const { rt, fl } = route(a, dst);
    assert.equal(typeof rt, 'object', dst);
    assert.equal((rt as Rtable).dev.name, dev, dst);
    assert.equal((rt as Rtable).rt_gw4, gw, dst);
    // Source selection: the address of the outgoing interface.
    assert.equal(fl.saddr, dev === 'eth0' ? addr('10.0.0.1') : addr('192.168.1.1'), dst);
  }
  // A lower metric wins among routes of the same prefix.
  a.ip('ip route add 9.9.9.0/24 via 10.0.0.7 metric 100');
  a.ip('ip route add 9.9.9.0/24 via 192.168.1.7 metric 50');
  assert.equal((route(a, '9.9.9.9').rt as Rtable).rt_gw4, addr('192.168.1.7'));
  a.ip('ip route del 9.9.9.0/24 metric 50');
  assert.equal((route(a, '9.9.9.9').rt as Rtable).rt_gw4, addr('10.0.0.7'));
  // Unreachable, prohibit and blackhole routes answer their errors.
  a.ip('ip route add unreachable 5.0.0.0/8');
  a.ip('ip route add prohibit 6.0.0.0/8');
  a.ip('ip route add blackhole 7.0.0.0/8');
  assert.equal(route(a, '5.1.1.1').rt, -E.EHOSTUNREACH);
  assert.equal(route(a, '6.1.1.1').rt, -E.EACCES);
  assert.equal(route(a, '7.1.1.1').rt, -E.EINVAL);
  // An oif narrows the choice; with no route through it the destination is assumed on-link.
  const r = route(a, '8.8.8.8', 0, 3);
  assert.equal((r.rt as Rtable).dev.name, 'eth1');
  assert.equal((r.rt as Rtable).rt_gw4, 0);
  assert.equal(route(a, '8.8.8.8', 0, 99).rt, -E.ENODEV);
  // A source that is not ours is EINVAL.
  assert.equal(route(a, '8.8.8.8', addr('10.0.0.99')).rt, -E.EINVAL);
  const withSrc = route(a, '8.8.8.8', addr('192.168.1.1'));
  assert.equal(withSrc.fl.saddr, addr('192.168.1.1'));
  assert.equal((withSrc.rt as Rtable).dev.name, 'eth0');
});

test('source selection: prefsrc, secondary addresses, the subnet of the gateway', () => {
  const w = newWorld();
  const a = w.addHost('a');
  const b = w.addHost('b');
  const [eth0] = link(a, 'eth0', b, 'eth0');
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  a.ip('ip addr add 10.0.0.2/24 dev eth0');
  a.ip('ip addr add 10.1.0.1/16 dev eth0');
  assert.match(a.ip('ip addr show eth0'), /inet 10\.0\.0\.2\/24 scope global secondary eth0/);
  // Secondary addresses are never chosen; a primary in the destination's subnet is.
  assert.equal(inet_select_addr(eth0, addr('10.1.2.3'), RT_SCOPE_UNIVERSE), addr('10.1.0.1'));
  assert.equal(inet_select_addr(eth0, addr('10.0.0.9'), RT_SCOPE_UNIVERSE), addr('10.0.0.1'));
  assert.equal(route(a, '10.1.9.9').fl.saddr, addr('10.1.0.1'));
  a.ip('ip route add 20.0.0.0/8 via 10.1.0.254');
  assert.equal(route(a, '20.1.1.1').fl.saddr, addr('10.1.0.1'));
  a.ip('ip route add 30.0.0.0/8 via 10.0.0.254 src 10.1.0.1');
  assert.equal(route(a, '30.1.1.1').fl.saddr, addr('10.1.0.1'));
  assert.match(a.ip('ip route'), /30\.0\.0\.0\/8 via 10\.0\.0\.254 dev eth0 src 10\.1\.0\.1 \n/);
  // A preferred source that is not ours is refused.
  assert.throws(
    () => a.ip('ip route add 31.0.0.0/8 via 10.0.0.254 src 10.9.9.9'),
    (e: unknown) => (e as IprouteError).errno === E.EINVAL,
  );
  // Deleting the primary deletes the subnet's secondaries too (promote_secondaries=0).
  a.ip('ip addr del 10.0.0.1/24 dev eth0');
  assert.doesNotMatch(a.ip('ip addr show eth0'), /10\.0\.0\.2/);
  // Routes that preferred a deleted source go with it: 30/8 used 10.1.0.1, still there.
  assert.match(a.ip('ip route'), /30\.0\.0\.0\/8/);
  a.ip('ip addr del 10.1.0.1/16 dev eth0');
  // As Linux: the gateway route stays (its gateway now unreachable), the src one goes.
  assert.equal(a.ip('ip route'), '20.0.0.0/8 via 10.1.0.254 dev eth0 \n');
});

test('link down removes the routes of the device; up brings the connected ones back', () => {
  const w = newWorld();
  const a = w.addHost('a');
  const b = w.addHost('b');
  link(a, 'eth0', b, 'eth0');
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  a.ip('ip route add default via 10.0.0.254');
  a.ip('ip link set eth0 down');
  assert.equal(a.ip('ip route'), '');
  // Local addresses keep their host-scope routes; the broadcast route goes (as Linux).
  assert.match(
    a.ip('ip route show table local'),
    /^local 10\.0\.0\.1 dev eth0 proto kernel scope host src 10\.0\.0\.1 \nlocal 127/,
  );
  assert.equal(route(a, '8.8.8.8').rt, -E.ENETUNREACH);
  assert.equal((route(a, '10.0.0.1').rt as Rtable).dev.name, 'lo');
  assert.match(a.ip('ip addr show eth0'), /<BROADCAST,MULTICAST,NOARP> mtu 1500 qdisc noqueue state DOWN/);
  a.ip('ip link set eth0 up');
  // The connected route returns; the static default route does not (as in Linux).
  assert.equal(a.ip('ip route'), '10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 \n');
  // An address added while down has only its local route until the device comes up.
  a.ip('ip link set eth0 down');
  a.ip('ip addr add 10.2.0.1/16 dev eth0');
  assert.equal(inet_addr_type(a.netns, addr('10.2.0.1')), RTN_LOCAL);
  assert.equal(a.ip('ip route'), '');
  a.ip('ip link set eth0 up');
  assert.match(a.ip('ip route'), /10\.2\.0\.0\/16 dev eth0 proto kernel scope link src 10\.2\.0\.1/);
  a.ip('ip link set eth0 mtu 1400');
  assert.equal((route(a, '10.2.3.4').rt as Rtable).dev.mtu, 1400);
  assert.throws(
    () => a.ip('ip link set eth0 mtu 20'),
    (e: unknown) => (e as IprouteError).errno === E.EINVAL,
  );
});

test('ip -s link prints the counters in iproute2 layout', () => {
  const w = newWorld();
  const a = w.addHost('a');
  a.lo.stats.rx_bytes = 12345678901;
  assert.equal(
    a.ip('ip -s link show lo'),
    `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen ${a.lo.tx_queue_len}\n` +
      '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n' +
      '    RX:   bytes packets errors dropped  missed   mcast           \n' +
      '    12345678901       0      0       0       0       0 \n' +
      '    TX:   bytes packets errors dropped carrier collsns           \n' +
      '              0       0      0       0       0       0 \n',
  );
});

test('ip route get shows the route and source a packet would take', () => {
  const w = newWorld();
  const a = w.addHost('a');
  const b = w.addHost('b');
  link(a, 'eth0', b, 'eth0');
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  a.ip('ip route add default via 10.0.0.254');
  assert.equal(
    a.ip('ip route get 1.2.3.4'),
    '1.2.3.4 via 10.0.0.254 dev eth0 src 10.0.0.1 uid 0 \n    cache \n',
  );
  assert.equal(
    a.ip('ip route get 127.0.0.1'),
    'local 127.0.0.1 dev lo src 127.0.0.1 uid 0 \n    cache <local> \n',
  );
  assert.equal(
    a.ip('ip route get 10.0.0.1'),
    'local 10.0.0.1 dev lo src 10.0.0.1 uid 0 \n    cache <local> \n',
  );
});
