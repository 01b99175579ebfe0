// The host-socket gateway (slirp's idea, with usernet's own stack on the gateway side): a
// virtual host reaches the machine it runs on, and the networks that machine reaches, through
// real node:net and node:dgram sockets — no root and no external tool. The gateway is a hidden
// host linked to the virtual one; packets arriving on its device are looked at before its stack
// sees them (the device's rx_handler), so that a connection is only accepted once its real
// counterpart is up. Everything else — ARP, ping, TCP and UDP themselves, IP fragments — is the
// gateway host's ordinary kernel.

import { Host } from '../host.js';
import type { World } from '../world.js';
import { RealClock } from '../real_clock.js';
import { createLink, type Link, type LinkOptions } from '../link.js';
import { Timer } from '../../kernel/time.js';
import { netdev_state, dev_queue_xmit } from '../../net/core/dev.js';
import { kfree_skb, netdev_alloc_skb, type SkBuff } from '../../net/core/skbuff.js';
import type { NetDevice } from '../../net/core/netdevice.js';
import { ETH_P_IP } from '../../wire/ethernet.js';
import {
  ip4FromString,
  ip4ToString,
  isSyn,
  readIp4,
  IPPROTO_TCP,
  IPPROTO_UDP,
  type Ip4Summary,
} from './packets.js';
import { __udp4_lib_lookup } from '../../net/ipv4/udp.js';
import type { GatewayCore, GatewayStats } from './core.js';
import { TcpRelay } from './tcp_relay.js';
import { UdpRelay } from './udp_relay.js';

export interface GatewayOptions {
  /** Name of the gateway's hidden host (default `<host>-gw`). */
  name?: string;
  /** The virtual host's address with its prefix (default '10.0.2.15/24', as qemu's user network). */
  address?: string;
  /** The gateway's address in the same network (default '10.0.2.2'). */
  gateway?: string;
  /** Where connections to the gateway's own address go on the real machine (default '127.0.0.1'). */
  hostLoopback?: string;
  /** Only the gateway's own address may be reached (slirp's restrict=on); default false. */
  restrict?: boolean;
  /** Add a default route via the gateway on the virtual host (default true). */
  defaultRoute?: boolean;
  /** Impairments and MTU of the link between the virtual host and the gateway. */
  link?: LinkOptions;
  /** Real milliseconds after which an idle UDP flow is closed (default 60 000). */
  udpIdleMs?: number;
}

/** What `gateway.forward()` takes: a real port to open and the virtual server it leads to. */
export interface ForwardOptions {
  protocol?: 'tcp' | 'udp';
  /** Real address to listen on (default '127.0.0.1'). */
  host?: string;
  /** Real port (default 0: any free port). */
  port?: number;
  /** Virtual server's address (default the virtual host's). */
  guestAddress?: string;
  guestPort: number;
}

export class Gateway implements GatewayCore {
  /** The gateway's hidden host. */
  readonly host: Host;
  /** The link between the virtual host (`link.a`) and the gateway (`link.b`). */
  readonly link: Link;
  readonly stats: GatewayStats = {
    tcpConnections: 0,
    tcpRefused: 0,
    tcpFailed: 0,
    udpFlows: 0,
    udpErrors: 0,
    forwardedConnections: 0,
    forwardRefused: 0,
    forwardedDatagrams: 0,
  };
  closed = false;
  /** The virtual host's address and the gateway's. */
  readonly address: string;
  readonly gatewayAddress: string;
  private readonly gwAddr: number;
  private readonly netAddr: number;
  private readonly netMask: number;
  private readonly hostLoopback: string;
  private readonly restrict: boolean;
  private readonly dev: NetDevice;
  private readonly tcp: TcpRelay;
  private readonly udp: UdpRelay;
  private readonly local = new Set<number>();

  constructor(world: World, guest: Host, opts: GatewayOptions = {}) {
    if (!(world.clock instanceof RealClock)) {
      throw new Error("gateway: the world must follow wall time: new World({ clock: 'real' })");
    }
    const [addr, plenText] = (opts.address ?? '10.0.2.15/24').split('/');
    const plen = Number(plenText ?? 24);
    this.address = addr!;
    this.gatewayAddress = opts.gateway ?? '10.0.2.2';
    this.gwAddr = ip4FromString(this.gatewayAddress);
    this.netMask = plen === 0 ? 0 : (~0 << (32 - plen)) >>> 0;
    this.netAddr = (ip4FromString(this.address) & this.netMask) >>> 0;
    this.hostLoopback = opts.hostLoopback ?? '127.0.0.1';
    this.restrict = opts.restrict ?? false;
    this.host = new Host(opts.name ?? `${guest.name}-gw`, world.clock, world.random.fork());
    this.link = createLink(guest, this.host, opts.link);
    this.dev = this.link.b;
    guest.ip(`addr add ${this.address}/${plen} dev ${this.link.a.name}`);
    this.host.ip(`addr add ${this.gatewayAddress}/${plen} dev ${this.dev.name}`);
    this.local.add(this.gwAddr);
    if (opts.defaultRoute ?? true) guest.ip(`route add default via ${this.gatewayAddress}`);
    this.tcp = new TcpRelay(this);
    this.udp = new UdpRelay(this, opts.udpIdleMs ?? 60_000);
    this.dev.rx_handler = (skb) => this.intercept(skb);
  }

  /** The virtual host's device on the link. */
  get guestDevice(): NetDevice {
    return this.link.a;
  }

  /**
   * Open a real port that leads into the virtual network (TCP by default). Resolves with the
   * real port, the one given or the one the system chose for port 0.
   */
  forward(opts: ForwardOptions): Promise<number> {
    const relay = (opts.protocol ?? 'tcp') === 'udp' ? this.udp : this.tcp;
    return relay.forward(
      opts.host ?? '127.0.0.1',
      opts.port ?? 0,
      opts.guestAddress ?? this.address,
      opts.guestPort,
    );
  }

  /** Close every real socket and server the gateway opened; the link stays. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dev.rx_handler = null;
    this.tcp.close();
    this.udp.close();
  }

  /** The device's rx_handler: relayed TCP SYNs and UDP datagrams are taken, the rest passes. */
  private intercept(skb: SkBuff): boolean {
    if (skb.protocol !== ETH_P_IP) return false;
    const p = readIp4(skb.head, skb.data, skb.len);
    if (!p || p.thoff < 0) return false;
    const d = p.daddr;
    // Broadcast, multicast and the virtual network's other addresses are not relayed.
    if (
      d >>> 28 >= 14 ||
      (d !== this.gwAddr && ((d & this.netMask) >>> 0 === this.netAddr || d === 0xffffffff))
    )
      return false;
    if (p.protocol === IPPROTO_TCP) return isSyn(p) ? this.tcp.onSyn(skb, p) : false;
    if (p.protocol === IPPROTO_UDP) return this.udp.onDatagram(skb, p);
    return false;
  }

  realAddress(daddr: number): string | null {
    if (daddr === this.gwAddr) return this.hostLoopback;
    if (this.restrict) return null;
    return ip4ToString(daddr);
  }

  hasUdpSocket(p: Ip4Summary): boolean {
    return __udp4_lib_lookup(this.host.netns, p.saddr, p.sport, p.daddr, p.dport, this.dev.ifindex) !== null;
  }

  makeLocal(daddr: number): void {
    if (this.local.has(daddr)) return;
    this.local.add(daddr);
    this.host.ip(`route add local ${ip4ToString(daddr)}/32 dev lo`);
  }

  reinject(skb: SkBuff): void {
    const clock = this.host.clock;
    const t = new Timer(() => {
      const list = netdev_state(this.host.netns).ptype_base.get(ETH_P_IP);
      if (this.closed || !list?.length) return void kfree_skb(skb);
      list[0]!.func(skb, this.dev, list[0]!, this.dev);
    });
    clock.mod_timer(t, clock.now());
  }

  sendToGuest(frame: Uint8Array): void {
    if (this.closed) return;
    const skb = netdev_alloc_skb(0, frame.length);
    skb.head.set(frame, skb.put(frame.length));
    skb.mac_header = skb.data;
    skb.network_header = skb.data + 14;
    skb.dev = this.dev;
    skb.protocol = ETH_P_IP;
    // Sent from a timer, as the kernel would send it: the receive softirq follows at once.
    const clock = this.host.clock;
    clock.mod_timer(new Timer(() => void dev_queue_xmit(skb)), clock.now());
  }

  mac(): Uint8Array {
    return this.dev.dev_addr;
  }

  macOf(skb: SkBuff): Uint8Array {
    return skb.head.slice(skb.mac_header + 6, skb.mac_header + 12);
  }
}
