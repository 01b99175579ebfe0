// A small iproute2: `ip addr`, `ip link`, `ip route`, `ip neigh` commands and views on a host,
// reading like the real tool (ip-address(8), ip-link(8), ip-route(8), ip-neighbour(8)) and
// printing what it prints. Errors
// throw an IprouteError — a SyscallError with Linux's errno and iproute2's message.

import type { Net } from '../net/core/net_namespace.js';
import type { NetDevice } from '../net/core/netdevice.js';
import { dev_close, dev_get_by_name, dev_open, dev_set_mtu, netdev_state } from '../net/core/dev.js';
import * as E from '../uapi/errno.js';
import { strerror } from '../uapi/errno.js';
import {
  IFF_BROADCAST,
  IFF_LOOPBACK,
  IFF_LOWER_UP,
  IFF_MULTICAST,
  IFF_NOARP,
  IFF_POINTOPOINT,
  IFF_RUNNING,
  IFF_UP,
} from '../uapi/if.js';
import { format_mac } from '../net/ethernet/eth.js';
import {
  IFA_F_SECONDARY,
  in_dev_get,
  inet_del_ifa,
  inet_ifa_find,
  inet_insert_ifa,
} from '../net/ipv4/devinet.js';
import {
  type FibAlias,
  type FibConfig,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTN_ANYCAST,
  RTN_BLACKHOLE,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_NAT,
  RTN_PROHIBIT,
  RTN_THROW,
  RTN_UNICAST,
  RTN_UNREACHABLE,
  RTPROT_BOOT,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_SITE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  fib_net,
  fib_table_delete,
  fib_table_insert,
} from '../net/ipv4/fib.js';
import { RTCF_BROADCAST, RTCF_LOCAL, ip_route_output } from '../net/ipv4/route.js';
import { arp_neigh_add, arp_neigh_del, arp_neigh_get, arp_tbl } from '../net/ipv4/arp.js';
import {
  NUD_DELAY,
  NUD_FAILED,
  NUD_INCOMPLETE,
  NUD_NOARP,
  NUD_NONE,
  NUD_PERMANENT,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
  NUD_VALID,
  type Neighbour,
} from '../net/core/neighbour.js';
import { SyscallError } from './errors.js';

/** A failed `ip` command: errno as the kernel answered, message as iproute2 prints it. */
export class IprouteError extends SyscallError {
  constructor(errno: number, message: string) {
    super(errno, 'ip');
    this.message = message;
  }
}

function rtnl_error(err: number): never {
  throw new IprouteError(-err, `RTNETLINK answers: ${strerror(-err)}`);
}

function usage(what: string): never {
  throw new IprouteError(E.EINVAL, `Error: ${what}`);
}

/** Parse a dotted quad (inet_pton), or throw as iproute2's get_addr does. */
export function parseAddr(s: string | undefined, what = 'address'): number {
  const m = s !== undefined ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s) : null;
  if (!m) usage(`an inet ${what} is expected rather than "${s ?? ''}".`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) usage(`an inet ${what} is expected rather than "${s}".`);
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** Parse "a.b.c.d[/len]" ("default" and "any" are 0/0). */
export function parsePrefix(s: string | undefined, defaultLen = 32): { addr: number; plen: number } {
  if (s === 'default' || s === 'any' || s === 'all') return { addr: 0, plen: 0 };
  if (s === undefined) usage('an inet prefix is expected.');
  const [a, l] = s.split('/');
  const addr = parseAddr(a, 'prefix');
  let plen = defaultLen;
  if (l !== undefined) {
    if (!/^\d+$/.test(l) || Number(l) > 32) usage(`an inet prefix is expected rather than "${s}".`);
    plen = Number(l);
  }
  return { addr, plen };
}

export function formatAddr(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

function scopeName(s: number): string {
  switch (s) {
    case RT_SCOPE_UNIVERSE:
      return 'global';
    case RT_SCOPE_SITE:
      return 'site';
    case RT_SCOPE_LINK:
      return 'link';
    case RT_SCOPE_HOST:
      return 'host';
    case RT_SCOPE_NOWHERE:
      return 'nowhere';
    default:
      return String(s);
  }
}

function parseScope(s: string | undefined): number {
  switch (s) {
    case 'global':
    case 'universe':
      return RT_SCOPE_UNIVERSE;
    case 'site':
      return RT_SCOPE_SITE;
    case 'link':
      return RT_SCOPE_LINK;
    case 'host':
      return RT_SCOPE_HOST;
    case 'nowhere':
      return RT_SCOPE_NOWHERE;
  }
  if (s !== undefined && /^\d+$/.test(s) && Number(s) < 256) return Number(s);
  usage(`argument "${s ?? ''}" is wrong: invalid scope value.`);
}

const rtnTypes: Record<string, number> = {
  unicast: RTN_UNICAST,
  local: RTN_LOCAL,
  broadcast: RTN_BROADCAST,
  anycast: RTN_ANYCAST,
  multicast: RTN_MULTICAST,
  blackhole: RTN_BLACKHOLE,
  unreachable: RTN_UNREACHABLE,
  prohibit: RTN_PROHIBIT,
  throw: RTN_THROW,
  nat: RTN_NAT,
};
const rtnNames: string[] = [];
for (const [k, v] of Object.entries(rtnTypes)) rtnNames[v] = k;

const protoNames: Record<number, string> = { 1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static' };

function getDev(net: Net, name: string | undefined): NetDevice {
  const dev = name !== undefined ? dev_get_by_name(net, name) : null;
  if (!dev) throw new IprouteError(E.ENODEV, `Cannot find device "${name ?? ''}"`);
  return dev;
}

function tableId(s: string | undefined): number {
  if (s === 'main' || s === '254') return RT_TABLE_MAIN;
  if (s === 'local' || s === '255') return RT_TABLE_LOCAL;
  usage(`argument "${s ?? ''}" is wrong: table id value is invalid`);
}

/** Split a command line into words (no quoting needed for ip's grammar). */
function words(cmd: string): string[] {
  const w = cmd.trim().split(/\s+/).filter(Boolean);
  if (w[0] === 'ip') w.shift();
  return w;
}

function matches(word: string | undefined, full: string): boolean {
  return word !== undefined && word.length > 0 && full.startsWith(word);
}

/**
 * Run one `ip` command against the namespace. Configuration commands return ''; views return
 * their text. Unknown syntax throws IprouteError(EINVAL).
 */
export function ip(net: Net, cmd: string): string {
  const w = words(cmd);
  let stats = false;
  while (w[0]?.startsWith('-')) {
    const opt = w.shift()!;
    if (opt === '-s' || opt === '-stats' || opt === '-statistics') stats = true;
    else if (opt === '-4') continue;
    else usage(`Option "${opt}" is unknown, try "ip -help".`);
  }
  const obj = w.shift();
  if (obj === undefined) usage('ip: missing object');
  if (matches(obj, 'address') || obj === 'a' || obj === 'addr') return ipAddr(net, w);
  if (matches(obj, 'link') || obj === 'l') return ipLink(net, w, stats);
  if (matches(obj, 'route') || obj === 'r' || obj === 'ro') return ipRoute(net, w);
  if (matches(obj, 'neighbour') || matches(obj, 'neighbor') || obj === 'n') return ipNeigh(net, w);
  usage(`Object "${obj}" is unknown, try "ip help".`);
}

// ---- ip addr ----

function ipAddr(net: Net, w: string[]): string {
  const verb = w.shift();
  if (verb === undefined || matches(verb, 'show') || matches(verb, 'list')) {
    let only: NetDevice | null = null;
    if (w[0] === 'dev') w.shift();
    if (w[0] !== undefined) only = getDev(net, w[0]);
    return showAddrs(net, only);
  }
  if (verb === 'add' || verb === 'del' || verb === 'delete' || verb === 'change' || verb === 'replace') {
    let local: { addr: number; plen: number } | null = null;
    let dev: NetDevice | null = null;
    let brd: string | null = null;
    let scope: number | undefined;
    let label: string | undefined;
    let peer: { addr: number; plen: number } | null = null;
    let noprefixroute = false;
    let explicitLen = false;
    while (w.length) {
      const k = w.shift()!;
      if (k === 'dev') dev = getDev(net, w.shift());
      else if (k === 'brd' || k === 'broadcast') brd = w.shift() ?? usage('brd needs an address');
      else if (k === 'scope') scope = parseScope(w.shift());
      else if (k === 'label') label = w.shift();
      else if (k === 'peer' || k === 'remote') peer = parsePrefix(w.shift());
      else if (k === 'noprefixroute') noprefixroute = true;
      else if (k === 'local') {
        explicitLen = (w[0] ?? '').includes('/');
        local = parsePrefix(w.shift());
      } else if (local === null) {
        explicitLen = k.includes('/');
        local = parsePrefix(k);
      } else usage(`either "local" is duplicate, or "${k}" is garbage.`);
    }
    if (!dev) usage('Not enough information: "dev" argument is required.');
    if (!local) usage('Not enough information: local address is required.');
    const plen = peer ? peer.plen : local.plen;
    if (verb === 'add' || verb === 'change' || verb === 'replace') {
      // iproute2 gives 127/8 addresses host scope unless told otherwise.
      if (scope === undefined) scope = local.addr >>> 24 === 127 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
      let broadcast = 0;
      if (brd === '+' || brd === '-') {
        const mask = plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
        broadcast = brd === '+' ? (local.addr | ~mask) >>> 0 : (local.addr & mask) >>> 0;
      } else if (brd !== null) broadcast = parseAddr(brd);
      if (verb !== 'add') {
        const old = inet_ifa_find(dev, local.addr, plen);
        if (old) inet_del_ifa(old.ifa_dev, old);
      }
      const err = inet_insert_ifa(dev, {
        local: local.addr,
        prefixlen: plen,
        address: peer ? peer.addr : local.addr,
        broadcast,
        scope,
        label,
        flags: noprefixroute ? 0x200 : 0,
      });
      if (err === -E.EEXIST) throw new IprouteError(E.EEXIST, 'Error: ipv4: Address already assigned.');
      if (err) rtnl_error(err);
      return '';
    }
    // Without a prefix length iproute2 deletes by address alone (a wildcard deletion).
    const ifa = inet_ifa_find(dev, local.addr, explicitLen || peer ? plen : -1);
    if (!ifa) throw new IprouteError(E.EADDRNOTAVAIL, 'Error: ipv4: Address not found.');
    inet_del_ifa(ifa.ifa_dev, ifa);
    return '';
  }
  if (verb === 'flush') {
    if (w[0] === 'dev') w.shift();
    const dev = getDev(net, w.shift());
    const in_dev = in_dev_get(dev);
    if (in_dev) while (in_dev.ifa_list.length) inet_del_ifa(in_dev, in_dev.ifa_list[0]);
    return '';
  }
  usage(`Command "${verb}" is unknown, try "ip address help".`);
}

/** print_link_flags(): the <…> list, in iproute2's order. */
function linkFlags(dev: NetDevice): string {
  const f = dev.flags;
  const out: string[] = [];
  if (f & IFF_UP && !(f & IFF_RUNNING)) out.push('NO-CARRIER');
  if (f & IFF_LOOPBACK) out.push('LOOPBACK');
  if (f & IFF_BROADCAST) out.push('BROADCAST');
  if (f & IFF_POINTOPOINT) out.push('POINTOPOINT');
  if (f & IFF_MULTICAST) out.push('MULTICAST');
  if (f & IFF_NOARP) out.push('NOARP');
  if (f & IFF_UP) out.push('UP');
  if (f & IFF_LOWER_UP) out.push('LOWER_UP');
  return `<${out.join(',')}>`;
}

function operState(dev: NetDevice): string {
  if (!(dev.flags & IFF_UP)) return 'DOWN';
  if (dev.flags & IFF_LOOPBACK) return 'UNKNOWN';
  return dev.carrier ? 'UP' : 'LOWERLAYERDOWN';
}

/** The "name@peer" of a veth end: the peer's name in the same namespace, else if<index>. */
function linkName(dev: NetDevice): string {
  const peer = (dev.priv as { peer?: NetDevice | null } | null)?.peer;
  if (!peer) return dev.name;
  return peer.nd_net === dev.nd_net ? `${dev.name}@${peer.name}` : `${dev.name}@if${peer.ifindex}`;
}

function linkHeader(dev: NetDevice, mode: boolean): string {
  const up = (dev.flags & IFF_UP) !== 0;
  const qdisc = dev.qdisc ? (up ? dev.qdisc.id : 'noop') : 'noqueue';
  const lt = dev.flags & IFF_LOOPBACK ? 'loopback' : 'ether';
  return (
    `${dev.ifindex}: ${linkName(dev)}: ${linkFlags(dev)} mtu ${dev.mtu} qdisc ${qdisc} state ${operState(dev)}` +
    `${mode ? ' mode DEFAULT' : ''} group default qlen ${dev.tx_queue_len}\n` +
    `    link/${lt} ${format_mac(dev.dev_addr)} brd ${format_mac(dev.broadcast)}\n`
  );
}

function showAddrs(net: Net, only: NetDevice | null): string {
  let out = '';
  for (const dev of netdev_state(net).dev_base) {
    if (only && dev !== only) continue;
    out += linkHeader(dev, false);
    const in_dev = in_dev_get(dev);
    if (!in_dev) continue;
    for (const ifa of in_dev.ifa_list) {
      let s = `    inet ${formatAddr(ifa.ifa_local)}`;
      if (ifa.ifa_address !== ifa.ifa_local) s += ` peer ${formatAddr(ifa.ifa_address)}`;
      s += `/${ifa.ifa_prefixlen}`;
      if (ifa.ifa_broadcast) s += ` brd ${formatAddr(ifa.ifa_broadcast)}`;
      s += ` scope ${scopeName(ifa.ifa_scope)}`;
      if (ifa.ifa_flags & IFA_F_SECONDARY) s += ' secondary';
      if (ifa.ifa_flags & 0x200) s += ' noprefixroute';
      s += ` ${ifa.ifa_label}\n       valid_lft forever preferred_lft forever\n`;
      out += s;
    }
  }
  return out;
}

// ---- ip link ----

function ipLink(net: Net, w: string[], stats: boolean): string {
  const verb = w.shift();
  if (verb === undefined || matches(verb, 'show') || matches(verb, 'list')) {
    if (w[0] === 'dev') w.shift();
    const only = w[0] !== undefined ? getDev(net, w[0]) : null;
    let out = '';
    for (const dev of netdev_state(net).dev_base) {
      if (only && dev !== only) continue;
      out += linkHeader(dev, true);
      if (stats) out += linkStats(dev);
    }
    return out;
  }
  if (verb === 'set') {
    if (w[0] === 'dev') w.shift();
    const dev = getDev(net, w.shift());
    while (w.length) {
      const k = w.shift()!;
      if (k === 'up') {
        const err = dev_open(dev);
        if (err) rtnl_error(err);
      } else if (k === 'down') dev_close(dev);
      else if (k === 'mtu') {
        const v = w.shift();
        if (v === undefined || !/^\d+$/.test(v)) usage(`Invalid "mtu" value "${v ?? ''}"`);
        const err = dev_set_mtu(dev, Number(v));
        if (err) {
          const msg =
            Number(v) < dev.min_mtu
              ? `Error: mtu less than device minimum.`
              : Number(v) > dev.max_mtu
                ? `Error: mtu greater than device maximum.`
                : `RTNETLINK answers: ${strerror(-err)}`;
          throw new IprouteError(-err, msg);
        }
      } else if (k === 'arp') {
        const v = w.shift();
        if (v === 'off') dev.flags |= IFF_NOARP;
        else if (v === 'on') dev.flags &= ~IFF_NOARP;
        else usage(`argument "${v ?? ''}" is wrong: "arp" must be "on" or "off"`);
      } else if (k === 'txqueuelen' || k === 'qlen') {
        const v = w.shift();
        if (v === undefined || !/^\d+$/.test(v)) usage(`Invalid "txqueuelen" value "${v ?? ''}"`);
        dev.tx_queue_len = Number(v);
      } else usage(`either "dev" is duplicate, or "${k}" is a garbage.`);
    }
    return '';
  }
  usage(`Command "${verb}" is unknown, try "ip link help".`);
}

/** print_link_stats64(): the RX/TX blocks of `ip -s link`, columns sized as iproute2 sizes them. */
function linkStats(dev: NetDevice): string {
  const s = dev.stats;
  const cols = [10, 7, 6, 7, 7, 7, 10];
  const rx = [s.rx_bytes, s.rx_packets, s.rx_errors, s.rx_dropped, s.rx_missed_errors, s.multicast];
  const tx = [s.tx_bytes, s.tx_packets, s.tx_errors, s.tx_dropped, s.tx_carrier_errors, s.collisions];
  for (const v of [rx, tx])
    for (let i = 0; i < v.length; i++) cols[i] = Math.max(cols[i], String(v[i]).length);
  const head = (dir: string, names: string[]): string =>
    `    ${dir}: ${'bytes'.padStart(cols[0] - 4)} ` +
    names.map((n, i) => n.padStart(cols[i + 1])).join(' ') +
    ` ${''.padStart(cols[6])}\n`;
  const nums = (v: number[]): string =>
    '    ' + v.map((n, i) => String(n).padStart(cols[i]) + ' ').join('') + '\n';
  return (
    head('RX', ['packets', 'errors', 'dropped', 'missed', 'mcast']) +
    nums(rx) +
    head('TX', ['packets', 'errors', 'dropped', 'carrier', 'collsns']) +
    nums(tx)
  );
}

// ---- ip route ----

/** print_route() for one FIB entry. */
export function formatRoute(fa: FibAlias, withTable = false): string {
  let s = '';
  if (fa.fa_type !== RTN_UNICAST) s += `${rtnNames[fa.fa_type] ?? fa.fa_type} `;
  s +=
    fa.fa_plen === 0
      ? 'default'
      : fa.fa_plen === 32
        ? formatAddr(fa.fa_dst)
        : `${formatAddr(fa.fa_dst)}/${fa.fa_plen}`;
  if (withTable && fa.tb_id === RT_TABLE_LOCAL) s += ' table local';
  if (fa.fa_tos) s += ` tos 0x${fa.fa_tos.toString(16).padStart(2, '0')}`;
  if (fa.nh_gw) s += ` via ${formatAddr(fa.nh_gw)}`;
  if (fa.nh_dev) s += ` dev ${fa.nh_dev.name}`;
  if (fa.fib_protocol !== RTPROT_BOOT) s += ` proto ${protoNames[fa.fib_protocol] ?? fa.fib_protocol}`;
  if (fa.fib_scope !== RT_SCOPE_UNIVERSE) s += ` scope ${scopeName(fa.fib_scope)}`;
  if (fa.fib_prefsrc) s += ` src ${formatAddr(fa.fib_prefsrc)}`;
  if (fa.fib_priority) s += ` metric ${fa.fib_priority}`;
  if (fa.nh_flags & 4) s += ' onlink';
  if (fa.nh_dev && !fa.nh_dev.carrier && fa.nh_dev.flags & IFF_UP) s += ' linkdown';
  if (fa.fib_mtu) s += ` mtu ${fa.fib_mtu}`;
  return s + ' \n';
}

function ipRoute(net: Net, w: string[]): string {
  const verb = w.shift();
  if (verb === undefined || matches(verb, 'show') || matches(verb, 'list')) {
    let table: number | 'all' = RT_TABLE_MAIN;
    while (w.length) {
      const k = w.shift()!;
      if (k === 'table') {
        const t = w.shift();
        table = t === 'all' ? 'all' : tableId(t);
      } else usage(`"${k}" is not supported by this ip route show.`);
    }
    const f = fib_net(net);
    let out = '';
    if (table === 'all' || table === RT_TABLE_MAIN)
      for (const fa of f.fib_main.dump()) out += formatRoute(fa);
    if (table === 'all' || table === RT_TABLE_LOCAL)
      for (const fa of f.fib_local.dump()) out += formatRoute(fa, table === 'all');
    return out;
  }
  if (verb === 'get') {
    const dst = parseAddr(w.shift());
    let oif = 0;
    let saddr = 0;
    while (w.length) {
      const k = w.shift()!;
      if (k === 'oif' || k === 'dev') oif = getDev(net, w.shift()).ifindex;
      else if (k === 'from' || k === 'src') saddr = parseAddr(w.shift());
      else usage(`"${k}" is not supported by this ip route get.`);
    }
    const fl = { daddr: dst, saddr, tos: 0, oif };
    const rt = ip_route_output(net, fl);
    if (typeof rt === 'number') rtnl_error(rt);
    let s = '';
    if (rt.rt_flags & RTCF_BROADCAST) s += 'broadcast ';
    else if (rt.rt_flags & RTCF_LOCAL) s += 'local ';
    s += formatAddr(dst);
    if (rt.rt_gw4) s += ` via ${formatAddr(rt.rt_gw4)}`;
    s += ` dev ${rt.dev.name} src ${formatAddr(fl.saddr)} uid 0 \n`;
    const cflags = rt.rt_flags & RTCF_BROADCAST ? '<local,brd>' : rt.rt_flags & RTCF_LOCAL ? '<local>' : '';
    s += `    cache ${cflags ? cflags + ' ' : ''}`;
    if (rt.rt_pmtu)
      s += `expires ${Math.max(0, Math.ceil((rt.expires - net.kernel.clock.now()) / 1e9))}sec mtu ${rt.rt_pmtu} `;
    return s + '\n';
  }
  if (
    verb === 'add' ||
    verb === 'del' ||
    verb === 'delete' ||
    verb === 'replace' ||
    verb === 'append' ||
    verb === 'change'
  ) {
    const del = verb === 'del' || verb === 'delete';
    const cfg: FibConfig = { dst: 0, plen: -1 };
    let type: number | undefined;
    let scope: number | undefined;
    let table: number | undefined;
    while (w.length) {
      const k = w.shift()!;
      if (k === 'via') {
        if (w[0] === 'inet') w.shift();
        cfg.gw = parseAddr(w.shift(), 'address');
      } else if (k === 'dev' || k === 'oif') cfg.dev = getDev(net, w.shift());
      else if (k === 'src') cfg.prefsrc = parseAddr(w.shift());
      else if (k === 'metric' || k === 'priority' || k === 'preference') {
        const v = w.shift();
        if (v === undefined || !/^\d+$/.test(v))
          usage(`argument "${v ?? ''}" is wrong: "metric" value is invalid`);
        cfg.priority = Number(v);
      } else if (k === 'mtu') {
        let v = w.shift();
        if (v === 'lock') v = w.shift();
        if (v === undefined || !/^\d+$/.test(v))
          usage(`argument "${v ?? ''}" is wrong: "mtu" value is invalid`);
        cfg.mtu = Number(v);
      } else if (k === 'table') table = tableId(w.shift());
      else if (k === 'scope') scope = parseScope(w.shift());
      else if (k === 'proto' || k === 'protocol') {
        const v = w.shift();
        const n = Object.entries(protoNames).find(([, name]) => name === v)?.[0] ?? v;
        if (n === undefined || !/^\d+$/.test(n))
          usage(`argument "${v ?? ''}" is wrong: "protocol" value is invalid`);
        cfg.protocol = Number(n);
      } else if (k === 'onlink') cfg.onlink = true;
      else if (k === 'tos' || k === 'dsfield') cfg.tos = parseInt(w.shift() ?? '', 16) || 0;
      else if (rtnTypes[k] !== undefined && cfg.plen < 0 && type === undefined) type = rtnTypes[k];
      else if (cfg.plen < 0) {
        if (k === 'to') continue;
        const p = parsePrefix(k);
        cfg.dst = p.addr;
        cfg.plen = p.plen;
      } else usage(`either "to" is duplicate, or "${k}" is a garbage.`);
    }
    if (cfg.plen < 0) usage('need at least a destination address');
    const mask = cfg.plen === 0 ? 0 : (0xffffffff << (32 - cfg.plen)) >>> 0;
    if ((cfg.dst & ~mask) >>> 0)
      throw new IprouteError(E.EINVAL, 'Error: Invalid prefix for given prefix length.');
    if (del) {
      cfg.type = type ?? 0;
      cfg.scope = scope ?? RT_SCOPE_NOWHERE;
      cfg.table = table ?? (type === RTN_LOCAL || type === RTN_BROADCAST ? RT_TABLE_LOCAL : RT_TABLE_MAIN);
      const err = fib_table_delete(net, cfg);
      if (err) rtnl_error(err);
      return '';
    }
    cfg.type = type ?? RTN_UNICAST;
    cfg.protocol ??= RTPROT_BOOT;
    // iproute2's default scope: host for local, link for broadcast and for unicast without a gateway.
    if (scope === undefined) {
      if (cfg.type === RTN_LOCAL || cfg.type === RTN_NAT) scope = RT_SCOPE_HOST;
      else if (cfg.type === RTN_BROADCAST || cfg.type === RTN_MULTICAST || cfg.type === RTN_ANYCAST)
        scope = RT_SCOPE_LINK;
      else if (cfg.type === RTN_UNICAST && !cfg.gw) scope = RT_SCOPE_LINK;
      else scope = RT_SCOPE_UNIVERSE;
    }
    cfg.scope = scope;
    cfg.table =
      table ??
      (cfg.type === RTN_LOCAL ||
      cfg.type === RTN_BROADCAST ||
      cfg.type === RTN_NAT ||
      cfg.type === RTN_ANYCAST
        ? RT_TABLE_LOCAL
        : RT_TABLE_MAIN);
    const flags =
      verb === 'add'
        ? NLM_F_CREATE | NLM_F_EXCL
        : verb === 'append'
          ? NLM_F_CREATE | NLM_F_APPEND
          : verb === 'change'
            ? NLM_F_REPLACE
            : NLM_F_CREATE | NLM_F_REPLACE;
    const err = fib_table_insert(net, cfg, flags);
    if (err === -E.ENETUNREACH || (err === -E.EINVAL && cfg.gw))
      throw new IprouteError(-err, 'Error: Nexthop has invalid gateway.');
    if (err) rtnl_error(err);
    return '';
  }
  if (verb === 'flush') {
    let table = RT_TABLE_MAIN;
    let dev: NetDevice | null = null;
    while (w.length) {
      const k = w.shift()!;
      if (k === 'table') table = tableId(w.shift());
      else if (k === 'dev') dev = getDev(net, w.shift());
    }
    const f = fib_net(net);
    const tb = table === RT_TABLE_LOCAL ? f.fib_local : f.fib_main;
    tb.flush((fa) => !dev || fa.nh_dev === dev);
    f.rt_genid++;
    return '';
  }
  usage(`Command "${verb}" is unknown, try "ip route help".`);
}

// ---- ip neigh ----

/** nud_state_a2n(): iproute2's state names, in the order print_neigh_state() prints them. */
const nudNames: [string, number][] = [
  ['incomplete', NUD_INCOMPLETE],
  ['reachable', NUD_REACHABLE],
  ['stale', NUD_STALE],
  ['delay', NUD_DELAY],
  ['probe', NUD_PROBE],
  ['failed', NUD_FAILED],
  ['noarp', NUD_NOARP],
  ['permanent', NUD_PERMANENT],
  ['none', NUD_NONE],
];

/** A MAC as iproute2's ll_addr_a2n reads it: colon-separated hex bytes. */
function parseLladdr(s: string | undefined, dev: NetDevice | null): Uint8Array {
  const parts = (s ?? '').split(':');
  if (!s || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p)))
    throw new IprouteError(E.EINVAL, `"${s ?? ''}" is invalid lladdr.`);
  const b = Uint8Array.from(parts.map((p) => parseInt(p, 16)));
  if (dev && dev.addr_len && b.length !== dev.addr_len)
    throw new IprouteError(E.EINVAL, 'Error: Invalid link address.');
  return b;
}

/** print_neigh(): "ADDR [dev DEV] [lladdr MAC] STATE… " — dev is left out when filtering by it. */
function formatNeigh(n: Neighbour, showDev: boolean): string {
  let s = `${formatAddr(n.primary_key)} `;
  if (showDev) s += `dev ${n.dev.name} `;
  // neigh_fill_info(): the link-layer address goes out only while it is valid.
  if (n.nud_state & NUD_VALID) s += `lladdr ${format_mac(n.ha)} `;
  for (const [name, bit] of nudNames) if (bit && n.nud_state & bit) s += `${name.toUpperCase()} `;
  return s + '\n';
}

/**
 * `ip neigh` (ip-neighbour(8)) on the ARP table: show / flush with dev, to and nud filters;
 * add, replace, change and del with Linux's answers (EEXIST, ENOENT, no link-layer address).
 */
function ipNeigh(net: Net, w: string[]): string {
  const verb = w.shift();
  const flush = verb === 'flush';
  if (verb === undefined || matches(verb, 'show') || matches(verb, 'list') || flush) {
    if (flush && w.length === 0) throw new IprouteError(E.EINVAL, 'Flush requires arguments.');
    let dev: NetDevice | null = null;
    let to: { addr: number; plen: number } | null = null;
    // do_show_or_flush(): a flush leaves PERMANENT and NOARP entries alone; a show hides NOARP.
    let state = flush ? ~(NUD_PERMANENT | NUD_NOARP) : 0xff & ~NUD_NOARP;
    let stateGiven = false;
    while (w.length) {
      const k = w.shift()!;
      if (k === 'dev') dev = getDev(net, w.shift());
      else if (k === 'nud') {
        const v = w.shift();
        if (!stateGiven) {
          stateGiven = true;
          state = 0;
        }
        let bit = nudNames.find(([name]) => name === v)?.[1];
        if (bit === undefined) {
          if (v !== 'all') usage(`argument "${v ?? ''}" is wrong: nud state is bad`);
          bit = flush ? ~NUD_NOARP : ~0;
        }
        state |= bit === 0 ? 0x100 : bit;
      } else if (k === 'to') to = parsePrefix(w.shift());
      else if (to === null) to = parsePrefix(k);
      else usage(`either "to" is duplicate, or "${k}" is a garbage.`);
    }
    const picked: Neighbour[] = [];
    for (const n of arp_tbl(net)) {
      if (dev && n.dev !== dev) continue;
      if (to && to.plen) {
        const mask = (0xffffffff << (32 - to.plen)) >>> 0;
        if (((n.primary_key ^ to.addr) & mask) >>> 0) continue;
      }
      if (n.nud_state ? !(state & n.nud_state) : !(state & 0x100)) continue;
      picked.push(n);
    }
    if (flush) {
      // iproute2 sends RTM_DELNEIGH for each entry it dumped.
      for (const n of picked) arp_neigh_del(n.dev, n.primary_key);
      return '';
    }
    return picked.map((n) => formatNeigh(n, dev === null)).join('');
  }
  if (
    verb === 'add' ||
    verb === 'replace' ||
    verb === 'change' ||
    verb === 'chg' ||
    verb === 'del' ||
    verb === 'delete'
  ) {
    let dev: NetDevice | null = null;
    let dst: number | null = null;
    let lladdr: string | undefined;
    let state = NUD_PERMANENT;
    while (w.length) {
      const k = w.shift()!;
      if (k === 'dev') dev = getDev(net, w.shift());
      else if (k === 'lladdr') lladdr = w.shift();
      else if (k === 'nud') {
        const v = w.shift();
        const bit = nudNames.find(([name]) => name === v)?.[1];
        if (bit === undefined) usage(`argument "${v ?? ''}" is wrong: nud state is bad`);
        state = bit;
      } else if (k === 'to') dst = parseAddr(w.shift());
      else if (dst === null) dst = parseAddr(k);
      else usage(`either "to" is duplicate, or "${k}" is a garbage.`);
    }
    if (dst === null || !dev)
      throw new IprouteError(E.EINVAL, 'Device and destination are required arguments.');
    const ha = lladdr !== undefined ? parseLladdr(lladdr, dev) : null;
    const existing = arp_neigh_get(dev, dst);
    if (verb === 'del' || verb === 'delete') {
      const err = arp_neigh_del(dev, dst);
      if (err) rtnl_error(err);
      return '';
    }
    // neigh_add(): NLM_F_EXCL for add, NLM_F_CREATE missing for change.
    if (verb === 'add' && existing) rtnl_error(-E.EEXIST);
    if ((verb === 'change' || verb === 'chg') && !existing) rtnl_error(-E.ENOENT);
    if (!ha && state & NUD_VALID && !(existing && existing.nud_state & NUD_VALID) && dev.addr_len)
      throw new IprouteError(E.EINVAL, 'Error: No link layer address given.');
    const err = arp_neigh_add(dev, dst, ha, state);
    if (err) rtnl_error(err);
    return '';
  }
  throw new IprouteError(E.EINVAL, `Command "${verb}" is unknown, try "ip neigh help".`);
}
