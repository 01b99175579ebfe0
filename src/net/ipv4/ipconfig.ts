// Automatic IPv4 configuration by DHCP (net/ipv4/ipconfig.c, the kernel's own boot-time client:
// ic_dhcp_init_options, ic_bootp_send_if, ic_bootp_recv, ic_do_bootp_ext, ic_setup_if,
// ic_setup_routes). Like ipconfig.c it needs no socket and no address: it builds the Ethernet,
// IP and UDP headers itself, broadcasts from 0.0.0.0, and takes the replies with a packet
// handler of its own on the device (dev_add_pack), before any address or route exists.
// DISCOVER → OFFER → REQUEST → ACK (RFC 2131 §3.1); the ACK's address, netmask, router, MTU and
// name servers are applied and kept (/proc/net/pnp). Replies that are not for this exchange, or
// are malformed, are counted and dropped.

import type { Net } from '../core/net_namespace.js';
import type { NetDevice } from '../core/netdevice.js';
import { kfree_skb, netdev_alloc_skb, type SkBuff } from '../core/skbuff.js';
import { dev_add_pack, dev_queue_xmit, dev_remove_pack, dev_set_mtu, type PacketType } from '../core/dev.js';
import { Timer, NSEC_PER_MSEC } from '../../kernel/time.js';
import { ip_fast_csum } from '../../wire/checksum.js';
import * as E from '../../uapi/errno.js';
import { ETH_HLEN, ETH_P_IP, IFF_UP } from '../../uapi/if.js';
import { inet_insert_ifa } from './devinet.js';
import { NLM_F_CREATE, RTPROT_BOOT, RT_TABLE_MAIN, fib_table_insert } from './fib.js';

const IPPROTO_UDP = 17;
const BOOTP_REQUEST = 1;
const BOOTP_REPLY = 2;
/** DHCP message types (option 53). */
const DHCPDISCOVER = 1;
const DHCPOFFER = 2;
const DHCPREQUEST = 3;
const DHCPACK = 5;
const DHCPNAK = 6;
/** The magic cookie in front of the options (RFC 1497). */
const ic_bootp_cookie = [99, 130, 83, 99];
/** struct bootp_pkt: 236 bytes of fixed fields, then the 312-byte option area (exten). */
const BOOTP_FIXED = 236;
const BOOTP_EXTEN = 312;
const IP_HLEN = 20;
const UDP_HLEN = 8;

/** CONF_SEND_RETRIES, CONF_BASE_TIMEO (2 s), ×7/4 per retry up to CONF_TIMEOUT_MAX (2 min). */
const CONF_SEND_RETRIES = 6;
const CONF_BASE_TIMEO = 2000;
const CONF_TIMEOUT_MAX = 120_000;

/** What DHCP gave (ic_myaddr, ic_netmask, ic_gateway, ic_servaddr, ic_nameservers, …). */
export interface IcConfig {
  addr: number;
  prefixlen: number;
  router: number;
  server: number;
  nameservers: number[];
  domain: string;
  mtu: number;
  /** Lease time in seconds (0: none given). */
  lease: number;
}

/** Counters of one exchange. */
export interface IcStats {
  sent: number;
  /** Replies taken (OFFER, ACK, NAK of this exchange). */
  received: number;
  /** Frames that were not a well-formed reply to this exchange. */
  dropped: number;
}

export type IcDone = (err: number, conf: IcConfig | null) => void;

/** One client exchange on one device. */
export class IcDhcp {
  state: 'discover' | 'request' | 'bound' | 'failed' = 'discover';
  readonly stats: IcStats = { sent: 0, received: 0, dropped: 0 };
  conf: IcConfig | null = null;
  xid: number;
  private offer: { yiaddr: number; server: number } | null = null;
  private retries = 0;
  private timeout = CONF_BASE_TIMEO;
  private readonly timer: Timer;
  private readonly pt: PacketType;

  constructor(
    readonly dev: NetDevice,
    private readonly done: IcDone,
    private readonly max_retries = CONF_SEND_RETRIES,
  ) {
    this.xid = dev.nd_net.kernel.prandom.get_random_u32();
    this.timer = new Timer(() => this.expire());
    this.pt = { type: ETH_P_IP, dev, func: (skb) => this.recv(skb) };
    dev_add_pack(dev.nd_net, this.pt);
  }

  /** Send the current message and arm the retransmission timer. */
  send(): void {
    const type = this.state === 'request' ? DHCPREQUEST : DHCPDISCOVER;
    if (ic_bootp_send_if(this.dev, this.xid, type, this.offer)) this.stats.sent++;
    const clock = this.dev.nd_net.kernel.clock;
    clock.mod_timer(this.timer, clock.now() + this.timeout * NSEC_PER_MSEC);
  }

  private expire(): void {
    if (this.state === 'bound' || this.state === 'failed') return;
    if (++this.retries > this.max_retries) return this.finish(-E.ETIMEDOUT, null);
    this.timeout = Math.min(Math.floor((this.timeout * 7) / 4), CONF_TIMEOUT_MAX);
    this.send();
  }

  private finish(err: number, conf: IcConfig | null): void {
    this.state = err ? 'failed' : 'bound';
    this.conf = conf;
    this.dev.nd_net.kernel.clock.del_timer(this.timer);
    dev_remove_pack(this.dev.nd_net, this.pt);
    this.done(err, conf);
  }

  /** Stop waiting (the caller gives up): ECANCELED. */
  cancel(): void {
    if (this.state === 'discover' || this.state === 'request') this.finish(-E.ECANCELED, null);
  }

  /** ic_bootp_recv(): take a reply to this exchange, drop anything else. */
  private recv(skb: SkBuff): number {
    if (this.state === 'bound' || this.state === 'failed') {
      kfree_skb(skb);
      return 0;
    }
    const r = ic_bootp_parse(skb.head, skb.data, skb.len, this.xid, this.dev.dev_addr);
    kfree_skb(skb);
    if (r === null) return 0;
    if (r === 'bad') {
      this.stats.dropped++;
      return 0;
    }
    this.stats.received++;
    if (r.type === DHCPOFFER && this.state === 'discover' && r.conf.server && r.conf.addr) {
      this.offer = { yiaddr: r.conf.addr, server: r.conf.server };
      this.state = 'request';
      this.retries = 0;
      this.timeout = CONF_BASE_TIMEO;
      this.send();
    } else if (r.type === DHCPACK && this.state === 'request' && r.conf.server === this.offer!.server) {
      const err = ic_setup_if(this.dev, r.conf);
      ic_pnp_store(this.dev.nd_net, r.conf);
      this.finish(err, err ? null : r.conf);
    } else if (r.type === DHCPNAK && this.state === 'request') {
      // RFC 2131 §3.1.5: start again.
      this.offer = null;
      this.state = 'discover';
      this.send();
    } else {
      // A reply of this exchange that does not fit its state (a second OFFER, a stray ACK).
      this.stats.received--;
      this.stats.dropped++;
    }
    return 0;
  }
}

/**
 * ic_dhcp(): configure `dev` by DHCP. `done` is called with 0 and what was applied, or a
 * negative errno (-ETIMEDOUT after the retries, -ENETDOWN for a device that is down).
 */
export function ic_dhcp(dev: NetDevice, done: IcDone, retries = CONF_SEND_RETRIES): IcDhcp | number {
  if (!(dev.flags & IFF_UP)) return -E.ENETDOWN;
  if (dev.addr_len !== 6) return -E.EOPNOTSUPP;
  const ic = new IcDhcp(dev, done, retries);
  ic.send();
  return ic;
}

/** ic_bootp_send_if() with ic_dhcp_init_options(): one broadcast BOOTREQUEST. */
function ic_bootp_send_if(
  dev: NetDevice,
  xid: number,
  type: number,
  offer: { yiaddr: number; server: number } | null,
): boolean {
  const len = ETH_HLEN + IP_HLEN + UDP_HLEN + BOOTP_FIXED + BOOTP_EXTEN;
  const skb = netdev_alloc_skb(0, len);
  const off = skb.put(len);
  const b = skb.head;
  b.fill(0, off, off + len);
  // Ethernet: broadcast from our address.
  b.fill(0xff, off, off + 6);
  b.set(dev.dev_addr, off + 6);
  b[off + 12] = 0x08;
  b[off + 13] = 0x00;
  // IP: 0.0.0.0 → 255.255.255.255, DF, TTL 64, UDP.
  const ip = off + ETH_HLEN;
  const ipLen = IP_HLEN + UDP_HLEN + BOOTP_FIXED + BOOTP_EXTEN;
  b[ip] = 0x45;
  b[ip + 2] = ipLen >> 8;
  b[ip + 3] = ipLen & 0xff;
  b[ip + 6] = 0x40;
  b[ip + 8] = 64;
  b[ip + 9] = IPPROTO_UDP;
  b.fill(0xff, ip + 16, ip + 20);
  const sum = ip_fast_csum(b, ip, 5);
  b[ip + 10] = sum >> 8;
  b[ip + 11] = sum & 0xff;
  // UDP 68 → 67, no checksum (as ipconfig.c sends it).
  const udp = ip + IP_HLEN;
  b[udp + 1] = 68;
  b[udp + 3] = 67;
  const udpLen = UDP_HLEN + BOOTP_FIXED + BOOTP_EXTEN;
  b[udp + 4] = udpLen >> 8;
  b[udp + 5] = udpLen & 0xff;
  // BOOTP.
  const p = udp + UDP_HLEN;
  b[p] = BOOTP_REQUEST;
  b[p + 1] = 1; // htype: Ethernet
  b[p + 2] = 6; // hlen
  put32(b, p + 4, xid);
  b.set(dev.dev_addr, p + 28); // chaddr
  let o = p + BOOTP_FIXED;
  b.set(ic_bootp_cookie, o);
  o += 4;
  b[o++] = 53;
  b[o++] = 1;
  b[o++] = type;
  if (offer) {
    b[o++] = 54;
    b[o++] = 4;
    put32(b, o, offer.server);
    o += 4;
    b[o++] = 50;
    b[o++] = 4;
    put32(b, o, offer.yiaddr);
    o += 4;
  }
  // Parameter request list: netmask, router, DNS, domain, interface MTU, lease.
  const req = [1, 3, 6, 15, 26, 51];
  b[o++] = 55;
  b[o++] = req.length;
  for (const r of req) b[o++] = r;
  // Maximum message size: what fits this device.
  b[o++] = 57;
  b[o++] = 2;
  const mms = Math.min(dev.mtu, 0xffff);
  b[o++] = mms >> 8;
  b[o++] = mms & 0xff;
  b[o] = 255;
  skb.dev = dev;
  skb.protocol = ETH_P_IP;
  return dev_queue_xmit(skb) >= 0;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function get32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * The checks of ic_bootp_recv() and the option walk of ic_do_bootp_ext(). null: not a BOOTP
 * reply at all (other IP traffic); 'bad': addressed to the client port but malformed or not
 * for this exchange.
 */
export function ic_bootp_parse(
  b: Uint8Array,
  off: number,
  len: number,
  xid: number,
  chaddr: Uint8Array,
): { type: number; conf: IcConfig } | 'bad' | null {
  if (len < IP_HLEN + UDP_HLEN) return null;
  const ihl = (b[off]! & 0x0f) * 4;
  if (b[off]! >> 4 !== 4 || b[off + 9] !== IPPROTO_UDP) return null;
  if (ihl < IP_HLEN || len < ihl + UDP_HLEN) return null;
  const udp = off + ihl;
  if (((b[udp + 2]! << 8) | b[udp + 3]!) !== 68 || ((b[udp]! << 8) | b[udp + 1]!) !== 67) return null;
  // From here on it is meant for the client: anything wrong is a bad reply.
  if (ihl !== IP_HLEN) return 'bad';
  if ((((b[off + 6]! << 8) | b[off + 7]!) & 0x3fff) !== 0) return 'bad'; // a fragment
  if (ip_fast_csum(b, off, 5) !== 0) return 'bad';
  const totLen = (b[off + 2]! << 8) | b[off + 3]!;
  if (totLen > len || totLen < IP_HLEN + UDP_HLEN) return 'bad';
  const udpLen = (b[udp + 4]! << 8) | b[udp + 5]!;
  if (udpLen < UDP_HLEN + BOOTP_FIXED + 4 || udpLen > totLen - IP_HLEN) return 'bad';
  const p = udp + UDP_HLEN;
  const end = udp + udpLen;
  if (b[p] !== BOOTP_REPLY || get32(b, p + 4) !== xid) return 'bad';
  for (let i = 0; i < 6; i++) if (b[p + 28 + i] !== chaddr[i]) return 'bad';
  let o = p + BOOTP_FIXED;
  for (let i = 0; i < 4; i++) if (b[o + i] !== ic_bootp_cookie[i]) return 'bad';
  o += 4;
  const conf: IcConfig = {
    addr: get32(b, p + 16),
    prefixlen: 0,
    router: 0,
    server: 0,
    nameservers: [],
    domain: '',
    mtu: 0,
    lease: 0,
  };
  let type = 0;
  let mask = -1;
  while (o < end) {
    const code = b[o++]!;
    if (code === 255) break;
    if (code === 0) continue;
    if (o >= end) return 'bad';
    const n = b[o++]!;
    if (o + n > end) return 'bad';
    switch (code) {
      case 53:
        if (n >= 1) type = b[o]!;
        break;
      case 1:
        if (n >= 4) mask = get32(b, o);
        break;
      case 3:
        if (n >= 4) conf.router = get32(b, o);
        break;
      case 6:
        for (let i = 0; i + 4 <= n && conf.nameservers.length < 3; i += 4)
          conf.nameservers.push(get32(b, o + i));
        break;
      case 15:
        conf.domain = String.fromCharCode(...b.subarray(o, o + n));
        break;
      case 26:
        if (n >= 2) conf.mtu = (b[o]! << 8) | b[o + 1]!;
        break;
      case 51:
        if (n >= 4) conf.lease = get32(b, o);
        break;
      case 54:
        if (n >= 4) conf.server = get32(b, o);
        break;
    }
    o += n;
  }
  if (type === 0) return 'bad';
  if (mask !== -1) {
    // A netmask must be contiguous ones.
    const inv = ~mask >>> 0;
    if ((inv & (inv + 1)) !== 0) return 'bad';
    conf.prefixlen = Math.clz32(inv);
  } else {
    // ic_defaults(): the classful mask.
    const a = conf.addr >>> 24;
    conf.prefixlen = a < 128 ? 8 : a < 192 ? 16 : 24;
  }
  return { type, conf };
}

/** ic_setup_if() + ic_setup_routes(): the address with its prefix, the MTU, the default route. */
function ic_setup_if(dev: NetDevice, conf: IcConfig): number {
  if (conf.mtu >= 68 && conf.mtu !== dev.mtu) dev_set_mtu(dev, conf.mtu);
  let err = inet_insert_ifa(dev, { local: conf.addr, prefixlen: conf.prefixlen });
  if (err && err !== -E.EEXIST) return err;
  if (conf.router) {
    err = fib_table_insert(
      dev.nd_net,
      { dst: 0, plen: 0, gw: conf.router, dev, table: RT_TABLE_MAIN, protocol: RTPROT_BOOT },
      NLM_F_CREATE,
    );
    if (err && err !== -E.EEXIST) return err;
  }
  return 0;
}

/** What /proc/net/pnp shows: the last configuration DHCP gave, per namespace. */
const pnp = new WeakMap<Net, IcConfig>();

function ic_pnp_store(net: Net, conf: IcConfig): void {
  pnp.set(net, conf);
}

const ntoa = (a: number): string => `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;

/** pnp_seq_show(): /proc/net/pnp, the resolv.conf-like file ipconfig.c leaves. */
export function pnp_seq_show(net: Net): string {
  const c = pnp.get(net);
  if (!c) return '';
  let s = '#PROTO: DHCP\n';
  if (c.domain) s += `domain ${c.domain}\n`;
  for (const ns of c.nameservers) s += `nameserver ${ntoa(ns)}\n`;
  if (c.server) s += `bootserver ${ntoa(c.server)}\n`;
  return s;
}
