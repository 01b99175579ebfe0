// Shared pieces of the TCP scenario tests: two hosts on a link (ARP on, configured with `ip`),
// sleeping on the world clock, TCP_INFO and the hash tables as views of a socket's state,
// captured segments decoded, and hand-made segments put on a host's wire.

import assert from 'node:assert/strict';
import { World, SyscallError, type Host, type Task } from '../../src/index.js';
import { AF_INET, SOCK_STREAM, SOL_TCP } from '../../src/uapi/socket.js';
import type { SockaddrIn } from '../../src/uapi/in.js';
import { TCP_INFO } from '../../src/uapi/tcp.js';
import type { Link, LinkOptions } from '../../src/sim/link.js';
import { Timer } from '../../src/kernel/time.js';
import { snmp_get } from '../../src/net/ipv4/snmp.js';
import { decodeTcpInfo, TCP_INFO_LEN, type TcpInfo } from '../../src/tools/packetdrill/tcp_info.js';
import { inet_ehash_all, inet_listeners, tcp_hashinfo } from '../../src/net/ipv4/inet_hashtables.js';
import { TcpSock, RequestSock } from '../../src/net/ipv4/tcp_sock.js';
import { InetTimewaitSock } from '../../src/net/ipv4/inet_timewait_sock.js';
import type { Capture } from '../../src/tools/capture.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { netdev_alloc_skb } from '../../src/net/core/skbuff.js';
import { eth_type_trans } from '../../src/net/ethernet/eth.js';
import { netif_rx } from '../../src/net/core/dev.js';
import { TcpRepr, type TcpOption } from '../../src/wire/tcp.js';
import { ip_fast_csum } from '../../src/wire/checksum.js';

export const ETH_P_IP = 0x0800;

/** Names of the TCP states (include/net/tcp_states.h), index = state. */
export const STATE = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
];

export function sin(addr: string, port: number): SockaddrIn {
  return { family: AF_INET, addr, port };
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export interface Pair {
  w: World;
  a: Host;
  b: Host;
  link: Link;
  ta: Task;
  tb: Task;
}

const worlds: World[] = [];

/** A World on the virtual clock, stopped by haltWorlds() when the test ends. */
export function newWorld(seed: number): World {
  const w = new World({ seed });
  worlds.push(w);
  return w;
}

/**
 * Stop the clocks of the worlds made since the last call (register with `afterEach`): a test
 * that ends — or fails — with timers still armed (a blocked writer, a keepalive, a TIME_WAIT)
 * must not leave virtual time running on in the background.
 */
export function haltWorlds(): void {
  for (const w of worlds.splice(0)) {
    // The virtual clock schedules its next turn from kick(); with kick a no-op it stops after
    // the turn already queued, if any.
    (w.clock as unknown as { kick: () => void }).kick = () => {};
  }
}

export function macText(m: Uint8Array): string {
  return [...m.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * a 10.0.0.1/24 — b 10.0.0.2/24 on one link, a task on each. Each knows the other's MAC
 * (a permanent neighbour entry), so no ARP exchange shifts the timing of the first segments;
 * `arp: true` leaves resolution to ARP.
 */
export function pair(seed = 1, opts: LinkOptions = {}, arp = false): Pair {
  const w = newWorld(seed);
  const a = w.addHost('a');
  const b = w.addHost('b');
  const link = w.link(a, b, opts);
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  b.ip('ip addr add 10.0.0.2/24 dev eth0');
  if (!arp) {
    a.ip(`ip neigh add 10.0.0.2 lladdr ${macText(link.b.dev_addr)} dev eth0 nud permanent`);
    b.ip(`ip neigh add 10.0.0.1 lladdr ${macText(link.a.dev_addr)} dev eth0 nud permanent`);
  }
  return { w, a, b, link, ta: a.spawn({ comm: 'a' }), tb: b.spawn({ comm: 'b' }) };
}

/** Sleep `ms` of world time (the virtual clock jumps there when nothing else is runnable). */
export function sleep(w: World, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = new Timer(() => resolve());
    w.clock.mod_timer(t, w.clock.now() + Math.round(ms * 1e6));
  });
}

/** Let what is due at the current instant run (pending jobs, timers at now), time standing still. */
export async function settle(w: World, turns = 50): Promise<void> {
  // A guard timer at this instant keeps the virtual clock from jumping while we look.
  const guard = new Timer(() => {});
  for (let i = 0; i < turns; i++) {
    w.clock.mod_timer(guard, w.clock.now());
    await new Promise<void>((r) => setImmediate(r));
    if (w.clock.nextExpiry() > w.clock.now()) break;
  }
  w.clock.del_timer(guard);
}

/** The errno code a promise rejects with, or 'OK' with its value. */
export async function outcome<T>(p: Promise<T>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof SyscallError) return e.code;
    throw e;
  }
}

export function errCode(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    if (e instanceof SyscallError) return e.code;
    throw e;
  }
}

/** TCP_INFO of a socket, decoded. */
export function info(t: Task, fd: number): TcpInfo {
  return decodeTcpInfo(t.getsockoptRaw(fd, SOL_TCP, TCP_INFO, TCP_INFO_LEN)) as TcpInfo;
}

/** tcpi_state of a socket, by name. */
export function state(t: Task, fd: number): string {
  return STATE[info(t, fd).tcpi_state] ?? '?';
}

function ip(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
function hostPort(addr: number, port: number): string {
  return `${ip(addr)}:${port}`;
}

export interface TableEntry {
  state: string;
  local: string;
  remote: string;
}

/**
 * What the host's TCP hash tables hold (what /proc/net/tcp lists): the established hash (full
 * socks, request socks, TIME_WAIT socks) and the listeners, as "STATE local remote".
 */
export function tcpTable(h: Host): TableEntry[] {
  const out: TableEntry[] = [];
  for (const l of inet_listeners(h.netns))
    out.push({ state: 'LISTEN', local: hostPort(l.inet_rcv_saddr, l.inet_num), remote: '0.0.0.0:0' });
  for (const e of inet_ehash_all(h.netns)) {
    if (e instanceof TcpSock)
      out.push({
        state: STATE[e.sk_state] ?? '?',
        local: hostPort(e.inet_rcv_saddr, e.inet_num),
        remote: hostPort(e.inet_daddr, e.inet_dport),
      });
    else if (e instanceof RequestSock)
      out.push({
        state: 'NEW_SYN_RECV',
        local: hostPort(e.ir_loc_addr, e.ir_num),
        remote: hostPort(e.ir_rmt_addr, e.ir_rmt_port),
      });
    else if (e instanceof InetTimewaitSock)
      out.push({
        state: e.tw_substate === 6 ? 'TIME_WAIT' : 'FIN_WAIT2',
        local: hostPort(e.tw_rcv_saddr, e.tw_num),
        remote: hostPort(e.tw_daddr, e.tw_dport),
      });
  }
  return out;
}

/** The table as sorted "STATE local remote" lines. */
export function tableLines(h: Host): string[] {
  return tcpTable(h)
    .map((e) => `${e.state} ${e.local} ${e.remote}`)
    .sort();
}

/** Ports held in the bind hash (bhash). */
export function boundPorts(h: Host): number[] {
  return [...tcp_hashinfo(h.netns).bhash.keys()].sort((x, y) => x - y);
}

export function mib(h: Host, table: string, name: string): number {
  return snmp_get(h.netns, table, name);
}

/** A listener on `addr:port` with `backlog`. */
export function listenOn(t: Task, addr: string, port: number, backlog = 128): number {
  const fd = t.socket(AF_INET, SOCK_STREAM, 0);
  t.bind(fd, sin(addr, port));
  t.listen(fd, backlog);
  return fd;
}

/** Connect a new socket from `tc` to `addr:port`, accept it on `ts`'s listener `lfd`. */
export async function connectPair(
  tc: Task,
  ts: Task,
  lfd: number,
  addr: string,
  port: number,
): Promise<{ c: number; s: number }> {
  const c = tc.socket(AF_INET, SOCK_STREAM, 0);
  const acc = ts.accept(lfd);
  await tc.connect(c, sin(addr, port));
  const { fd: s } = await acc;
  return { c, s };
}

/** Write all of `data` (the kernel may take it in pieces). */
export async function writeAll(t: Task, fd: number, data: Uint8Array, chunk = 1 << 20): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = await t.write(fd, data.subarray(off, Math.min(data.length, off + chunk)));
    assert.ok(n > 0, `write returned ${n}`);
    off += n;
  }
}

/** Read until end of file; the bytes. */
export async function readAll(t: Task, fd: number, max = 1 << 30): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(256 * 1024);
  for (;;) {
    const n = await t.read(fd, buf);
    if (n === 0) break;
    parts.push(buf.slice(0, n));
    total += n;
    if (total > max) throw new Error(`read more than ${max} bytes`);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Read exactly `n` bytes (fails on an early end of file). */
export async function readN(t: Task, fd: number, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const r = await t.read(fd, out.subarray(off));
    if (r === 0) throw new Error(`EOF after ${off} of ${n} bytes`);
    off += r;
  }
  return out;
}

/** A deterministic byte pattern (xorshift). */
export function pattern(n: number, seed = 7): Uint8Array {
  const b = new Uint8Array(n);
  let x = (seed * 0x9e3779b1) >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x;
    b[i + 1] = x >>> 8;
    b[i + 2] = x >>> 16;
    b[i + 3] = x >>> 24;
  }
  for (; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x;
  }
  return b;
}

// ——— segments on the wire ——————————————————————————————————————————————————————————————

export interface Seg {
  tNs: number;
  /** Seen leaving (true) or arriving at (false) the captured device. */
  out: boolean;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  len: number;
  /** "S", "S.", ".", "P.", "F.", "R", "R." as tcpdump prints them. */
  f: string;
  /** The IPv4 packet. */
  ip: Uint8Array;
  /** The timestamp option's TSval and TSecr, when present. */
  ts: { val: number; ecr: number } | null;
}

function tsOption(d: Uint8Array, t: number, doff: number): { val: number; ecr: number } | null {
  let i = t + 20;
  const end = t + doff;
  while (i < end) {
    const k = d[i];
    if (k === 0) break;
    if (k === 1) {
      i++;
      continue;
    }
    const len = d[i + 1];
    if (len < 2) break;
    if (k === 8 && len === 10) {
      const g = (o: number): number => ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
      return { val: g(i + 2), ecr: g(i + 6) };
    }
    i += len;
  }
  return null;
}

export function flagText(flags: number): string {
  let s = '';
  if (flags & 0x02) s += 'S';
  if (flags & 0x01) s += 'F';
  if (flags & 0x04) s += 'R';
  if (flags & 0x08) s += 'P';
  if (flags & 0x10) s += '.';
  return s;
}

/** The TCP segments of a capture (Ethernet frames with IPv4), decoded. */
export function segments(c: Capture): Seg[] {
  const out: Seg[] = [];
  for (const fr of c.frames) {
    const d = fr.data;
    if (d.length < 34 || ((d[12] << 8) | d[13]) !== ETH_P_IP || d[23] !== 6) continue;
    const ihl = (d[14] & 15) * 4;
    const tot = (d[16] << 8) | d[17];
    const t = 14 + ihl;
    const doff = (d[t + 12] >>> 4) * 4;
    const g16 = (o: number): number => (d[o] << 8) | d[o + 1];
    const g32 = (o: number): number => ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
    out.push({
      tNs: fr.tsNs,
      out: fr.outgoing,
      src: ip(g32(26)),
      dst: ip(g32(30)),
      sport: g16(t),
      dport: g16(t + 2),
      seq: g32(t + 4),
      ack: g32(t + 8),
      flags: d[t + 13],
      win: g16(t + 14),
      len: tot - ihl - doff,
      f: flagText(d[t + 13]),
      ip: d.subarray(14, 14 + tot),
      ts: tsOption(d, t, doff),
    });
  }
  return out;
}

export function ipNum(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export interface Forge {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  win?: number;
  options?: TcpOption[];
  data?: Uint8Array;
}

/** An IPv4 packet carrying the TCP segment described, checksums right. */
export function forgeIp(f: Forge): Uint8Array {
  const data = f.data ?? new Uint8Array(0);
  const repr = {
    srcPort: f.sport,
    dstPort: f.dport,
    seq: f.seq >>> 0,
    ackSeq: (f.ack ?? 0) >>> 0,
    flags: f.flags,
    window: f.win ?? 65535,
    urgentPtr: 0,
    options: f.options ?? [],
    reserved: 0,
    payloadLen: data.length,
  };
  const hl = TcpRepr.headerLen(repr);
  const pkt = new Uint8Array(20 + hl + data.length);
  pkt.set(data, 20 + hl);
  const src = ipNum(f.src);
  const dst = ipNum(f.dst);
  TcpRepr.emit(repr, pkt, 20, src, dst, 'full');
  pkt[0] = 0x45;
  pkt[2] = pkt.length >>> 8;
  pkt[3] = pkt.length & 255;
  pkt[6] = 0x40; // DF
  pkt[8] = 64;
  pkt[9] = 6;
  for (let i = 0; i < 4; i++) {
    pkt[12 + i] = (src >>> (24 - 8 * i)) & 255;
    pkt[16 + i] = (dst >>> (24 - 8 * i)) & 255;
  }
  const c = ip_fast_csum(pkt, 0, 5);
  pkt[10] = c >>> 8;
  pkt[11] = c & 255;
  return pkt;
}

/** An ICMP error from `src` to `dst` (type, code) quoting the IP header and 8 bytes of `orig`. */
export function forgeIcmpError(
  src: string,
  dst: string,
  type: number,
  code: number,
  orig: Uint8Array,
): Uint8Array {
  const quote = orig.subarray(0, (orig[0] & 15) * 4 + 8);
  const pkt = new Uint8Array(20 + 8 + quote.length);
  pkt[0] = 0x45;
  pkt[2] = pkt.length >>> 8;
  pkt[3] = pkt.length & 255;
  pkt[8] = 64;
  pkt[9] = 1;
  const s = ipNum(src);
  const d = ipNum(dst);
  for (let i = 0; i < 4; i++) {
    pkt[12 + i] = (s >>> (24 - 8 * i)) & 255;
    pkt[16 + i] = (d >>> (24 - 8 * i)) & 255;
  }
  let c = ip_fast_csum(pkt, 0, 5);
  pkt[10] = c >>> 8;
  pkt[11] = c & 255;
  pkt[20] = type;
  pkt[21] = code;
  pkt.set(quote, 28);
  let sum = 0;
  for (let i = 20; i < pkt.length; i += 2) sum += (pkt[i] << 8) | (pkt[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  c = ~sum & 0xffff;
  pkt[22] = c >>> 8;
  pkt[23] = c & 255;
  return pkt;
}

/**
 * Hand an IPv4 packet to `dev` as if it had just arrived on the wire (what a tun device or the
 * packetdrill runtime does: netif_rx), from the MAC `srcMac` (default: the device's own peer
 * address is not needed — the frame is addressed to the device).
 */
export function injectIp(dev: NetDevice, pkt: Uint8Array, srcMac?: Uint8Array): void {
  const skb = netdev_alloc_skb(14, pkt.length);
  skb.head.set(pkt, skb.put(pkt.length));
  skb.dev = dev;
  const smac = srcMac ?? new Uint8Array([0x02, 0, 0, 0, 0, 0x99]);
  dev.header_ops!.create(skb, dev, ETH_P_IP, dev.dev_addr, smac);
  const proto = eth_type_trans(skb, dev);
  if (proto < 0) throw new Error('cannot frame an inbound packet');
  skb.protocol = proto;
  netif_rx(skb);
}

/** Wait (in world time, polling every `stepMs`) until `cond()` holds, at most `maxMs`. */
export async function until(w: World, cond: () => boolean, maxMs: number, stepMs = 10): Promise<boolean> {
  const end = w.now() + maxMs;
  while (!cond()) {
    if (w.now() >= end) return false;
    await sleep(w, stepMs);
  }
  return true;
}
