// The net.ipv4 sysctls of the IPv4 core, at Linux's defaults and with Linux's validation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newWorld } from './helpers.js';
import {
  inet_get_local_port_range,
  inet_get_ping_group_range,
  set_local_port_range,
  set_ping_group_range,
} from '../../src/net/ipv4/ipv4_init.js';
import * as E from '../../src/uapi/errno.js';

test('defaults are Linux defaults', () => {
  const a = newWorld().addHost('a');
  const expect: [string, number][] = [
    ['net.ipv4.ip_forward', 0],
    ['net.ipv4.ip_default_ttl', 64],
    ['net.ipv4.ipfrag_high_thresh', 4194304],
    ['net.ipv4.ipfrag_low_thresh', 3145728],
    ['net.ipv4.ipfrag_time', 30],
    ['net.ipv4.ip_unprivileged_port_start', 1024],
    ['net.ipv4.ip_nonlocal_bind', 0],
    ['net.ipv4.ip_no_pmtu_disc', 0],
    ['net.ipv4.route.mtu_expires', 600],
    ['net.ipv4.route.min_pmtu', 552],
  ];
  for (const [n, v] of expect) assert.equal(a.sysctl.read(n), v, n);
  assert.deepEqual(inet_get_local_port_range(a.netns), [32768, 60999]);
  assert.deepEqual(inet_get_ping_group_range(a.netns), [1, 0]);
});

test('validation: port range, frag thresholds, ip_forward spreads to every device', () => {
  const a = newWorld().addHost('a');
  // Linux: "500 2000" straddles ip_unprivileged_port_start, "2000 1000" is reversed.
  assert.equal(set_local_port_range(a.netns, 500, 2000), -E.EINVAL);
  assert.equal(set_local_port_range(a.netns, 2000, 1000), -E.EINVAL);
  assert.equal(set_local_port_range(a.netns, 1024, 2000), 0);
  assert.deepEqual(inet_get_local_port_range(a.netns), [1024, 2000]);
  assert.equal(set_ping_group_range(a.netns, 0, 2147483648), -E.EINVAL);
  assert.equal(set_ping_group_range(a.netns, 0, 2147483647), 0);
  assert.deepEqual(inet_get_ping_group_range(a.netns), [0, 2147483647]);
  // Reversed: nobody ("1 0"), as Linux stores it.
  assert.equal(set_ping_group_range(a.netns, 5, 2), 0);
  assert.deepEqual(inet_get_ping_group_range(a.netns), [1, 0]);
  // The high threshold may not go below the low one (and the reverse).
  assert.throws(() => a.sysctl.write('net.ipv4.ipfrag_high_thresh', 100), { code: 'EINVAL' });
  assert.throws(() => a.sysctl.write('net.ipv4.ipfrag_low_thresh', 5000000), { code: 'EINVAL' });
  a.sysctl.write('net.ipv4.ipfrag_low_thresh', 0);
  a.sysctl.write('net.ipv4.ipfrag_high_thresh', 100);
  assert.equal(a.sysctl.read('net.ipv4.ipfrag_high_thresh'), 100);
  a.sysctl.write('net.ipv4.ip_forward', 1);
  assert.equal(a.sysctl.read('net.ipv4.conf.all.forwarding'), 1);
  assert.equal(a.sysctl.read('net.ipv4.conf.default.forwarding'), 1);
  a.sysctl.write('net.ipv4.conf.all.forwarding', 0);
  assert.equal(a.sysctl.read('net.ipv4.ip_forward'), 0);
});
