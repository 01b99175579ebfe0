// Helpers for the UDP, raw and ping socket tests: hosts with IPv4 up, two hosts on a link with
// addresses, and running the world until the current instant is quiet.

import { World, type Host, type Task } from '../../src/index.js';
import { AF_INET } from '../../src/uapi/socket.js';
import type { SockaddrIn } from '../../src/uapi/in.js';
import { ipv4_init } from '../../src/net/ipv4/ipv4_init.js';
import { inet_insert_ifa } from '../../src/net/ipv4/devinet.js';
import { IFF_NOARP } from '../../src/uapi/if.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import type { LinkOptions, Link } from '../../src/sim/link.js';
import { snmp_get } from '../../src/net/ipv4/snmp.js';

/** A host with IPv4 booted (the Host boots it too once the IPv4 core is wired in; twice is harmless). */
export function host(w: World, name: string): Host {
  const h = w.addHost(name);
  ipv4_init(h.netns);
  return h;
}

export function sin(addr: string, port: number): SockaddrIn {
  return { family: AF_INET, addr, port };
}

/** Let everything due at the current instant run (loopback delivery, ICMP answers). */
export async function settle(w: World, turns = 20): Promise<void> {
  for (let i = 0; i < turns && w.clock.nextExpiry() <= w.clock.now(); i++)
    await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

/** Run virtual time until nothing is pending (or `ms` of virtual time have passed). */
export async function runFor(w: World, ms: number): Promise<void> {
  const end = w.clock.now() + ms * 1e6;
  while (w.clock.nextExpiry() <= end) await new Promise((r) => setImmediate(r));
}

/**
 * Two hosts on a link, a = 10.0.0.1/24 on its end, b = 10.0.0.2/24. The ends resolve no
 * neighbours (NOARP, each end's broadcast MAC is the peer's), so the test needs no ARP.
 */
export function twoHosts(
  seed = 1,
  opts: LinkOptions = {},
): { w: World; a: Host; b: Host; link: Link; da: NetDevice; db: NetDevice } {
  const w = new World({ seed });
  const a = host(w, 'a');
  const b = host(w, 'b');
  const link = w.link(a, b, opts);
  const da = link.a;
  const db = link.b;
  for (const [d, peer] of [
    [da, db],
    [db, da],
  ] as const) {
    d.flags |= IFF_NOARP;
    d.broadcast = peer.dev_addr.slice();
  }
  assertOk(inet_insert_ifa(da, { local: 0x0a000001, prefixlen: 24, broadcast: 0x0a0000ff }));
  assertOk(inet_insert_ifa(db, { local: 0x0a000002, prefixlen: 24, broadcast: 0x0a0000ff }));
  return { w, a, b, link, da, db };
}

function assertOk(r: number): void {
  if (r < 0) throw new Error(`inet_insert_ifa: ${r}`);
}

export function mib(h: Host, table: string, name: string): number {
  return snmp_get(h.netns, table, name);
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Receive one datagram without blocking: its text and source, or the errno code. */
export async function recvText(
  t: Task,
  fd: number,
  size = 2048,
): Promise<{ text: string; from: string } | string> {
  const buf = new Uint8Array(size);
  try {
    const r = await t.recvfrom(fd, buf, 0x40 /* MSG_DONTWAIT */);
    const a = r.addr as SockaddrIn | null;
    return { text: dec(buf.subarray(0, Math.min(r.n, size))), from: a ? `${a.addr}:${a.port}` : '' };
  } catch (e) {
    return (e as { code: string }).code;
  }
}

/** A deterministic byte pattern. */
export function pattern(n: number, seed = 7): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
