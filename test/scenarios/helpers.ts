// Shared pieces of the scenario tests: worlds built the way a user builds them (World.link,
// World.bridge, host.ip), running virtual time, and deterministic payloads.

import { World, type Host } from '../../src/index.js';
import { AF_INET } from '../../src/uapi/socket.js';
import type { SockaddrIn } from '../../src/uapi/in.js';
import type { Link, LinkOptions } from '../../src/sim/link.js';
import { snmp_get } from '../../src/net/ipv4/snmp.js';

export function sin(addr: string, port: number): SockaddrIn {
  return { family: AF_INET, addr, port };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Run virtual time until nothing is pending, or until `ms` more of virtual time have passed. */
export async function runFor(w: World, ms: number): Promise<void> {
  const end = w.clock.now() + ms * 1e6;
  while (w.clock.nextExpiry() <= end) await tick();
  await tick();
}

/** Let what is due at the current instant run. */
export async function settle(w: World, turns = 20): Promise<void> {
  for (let i = 0; i < turns && w.clock.nextExpiry() <= w.clock.now(); i++) await tick();
  await tick();
}

export function mib(h: Host, table: string, name: string): number {
  return snmp_get(h.netns, table, name);
}

export interface Routed {
  w: World;
  a: Host;
  r: Host;
  c: Host;
  /** a — r */
  l1: Link;
  /** r — c */
  l2: Link;
}

/**
 * Three hosts through a router, configured with `ip` as one would on Linux:
 * a 10.0.1.2/24 — (eth0) r (eth1) — 10.0.2.2/24 c, default routes via the router, ARP on.
 */
export function routed(seed = 1, o1: LinkOptions = {}, o2: LinkOptions = {}): Routed {
  const w = new World({ seed });
  const a = w.addHost('a');
  const r = w.addHost('r');
  const c = w.addHost('c');
  const l1 = w.link(a, r, o1);
  const l2 = w.link(r, c, o2);
  a.ip('ip addr add 10.0.1.2/24 dev eth0');
  a.ip('ip route add default via 10.0.1.1');
  r.ip('ip addr add 10.0.1.1/24 dev eth0');
  r.ip('ip addr add 10.0.2.1/24 dev eth1');
  r.sysctl.write('net.ipv4.ip_forward', 1);
  c.ip('ip addr add 10.0.2.2/24 dev eth0');
  c.ip('ip route add default via 10.0.2.1');
  return { w, a, r, c, l1, l2 };
}

/**
 * The payload of datagram `seq` of `size` bytes: every byte a function of size, seq and its
 * position, so a datagram can be checked on its own (no byte moved, lost or taken from another).
 */
export function payload(size: number, seq: number): Uint8Array {
  const b = new Uint8Array(size);
  let x = (Math.imul(size + 1, 0x9e3779b1) ^ Math.imul(seq + 1, 0x85ebca6b)) >>> 0;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
