// TCP through the gateway. Outbound: a SYN from the virtual network is held while the gateway
// opens the matching real connection; once that is up, a listener on the gateway host takes the
// held SYN and the accepted socket is spliced to the real one. A refused real connection is
// answered with a RST and any other failure with an ICMP unreachable, so the virtual client sees
// what it would see on a real network (slirp delays its SYN-ACK in the same way). Inbound: a
// real server on the machine whose connections are opened to a server in the virtual network.

import * as realNet from 'node:net';
import type { SkBuff } from '../../net/core/skbuff.js';
import { kfree_skb } from '../../net/core/skbuff.js';
import type { Server as HostServer, Socket as HostSocket } from '../../compat/node/net.js';
import { buildIcmpUnreach, buildRstForSyn, ip4FromString, ip4ToString, type Ip4Summary } from './packets.js';
import { splice, type StreamSocket } from './splice.js';
import type { GatewayCore } from './core.js';

/** ICMP_NET_UNREACH, ICMP_HOST_UNREACH (RFC 792). */
const ICMP_NET_UNREACH = 0;
const ICMP_HOST_UNREACH = 1;

const key = (saddr: number, sport: number, daddr: number, dport: number): string =>
  `${saddr}:${sport}>${daddr}:${dport}`;

export class TcpRelay {
  /** Connections whose real side is being opened: the held SYN. */
  private readonly pending = new Map<string, SkBuff>();
  /** Real connections up, waiting for the gateway host to accept the virtual side. */
  private readonly ready = new Map<string, realNet.Socket>();
  /** Connections spliced and open. */
  private readonly live = new Set<string>();
  /** Listeners on the gateway host, by "addr:port", once listening. */
  private readonly listeners = new Map<string, HostServer | Promise<HostServer>>();
  private readonly servers = new Set<realNet.Server>();
  private readonly sockets = new Set<realNet.Socket>();

  constructor(private readonly gw: GatewayCore) {}

  /** A SYN arrived on the gateway's device: true when taken (held or dropped), false to pass it on. */
  onSyn(skb: SkBuff, p: Ip4Summary): boolean {
    const k = key(p.saddr, p.sport, p.daddr, p.dport);
    // Retransmitted SYNs of a connection the stack already knows go to the stack.
    if (this.ready.has(k) || this.live.has(k)) return false;
    if (this.pending.has(k)) {
      kfree_skb(skb);
      return true;
    }
    const target = this.gw.realAddress(p.daddr);
    if (target === null) {
      this.gw.stats.tcpFailed++;
      this.gw.sendToGuest(
        buildIcmpUnreach(skb.head, skb.data, ICMP_HOST_UNREACH, p.daddr, this.gw.macOf(skb), this.gw.mac()),
      );
      kfree_skb(skb);
      return true;
    }
    this.pending.set(k, skb);
    const real = realNet.connect({ host: target, port: p.dport, allowHalfOpen: true });
    this.sockets.add(real);
    real.once('close', () => this.sockets.delete(real));
    const onError = (err: NodeJS.ErrnoException): void => {
      this.pending.delete(k);
      if (err.code === 'ECONNREFUSED') {
        this.gw.stats.tcpRefused++;
        this.gw.sendToGuest(buildRstForSyn(p, this.gw.macOf(skb), this.gw.mac()));
      } else {
        this.gw.stats.tcpFailed++;
        const code = err.code === 'ENETUNREACH' ? ICMP_NET_UNREACH : ICMP_HOST_UNREACH;
        this.gw.sendToGuest(
          buildIcmpUnreach(skb.head, skb.data, code, p.daddr, this.gw.macOf(skb), this.gw.mac()),
        );
      }
      kfree_skb(skb);
    };
    real.once('error', onError);
    real.once('connect', () => {
      real.off('error', onError);
      // Until spliced, an error only closes the real side; the virtual side is reset at accept.
      real.on('error', () => {});
      this.listen(p.daddr, p.dport).then(
        () => {
          this.pending.delete(k);
          if (this.gw.closed) return void kfree_skb(skb);
          this.ready.set(k, real);
          this.gw.reinject(skb);
        },
        () => {
          this.pending.delete(k);
          real.destroy();
          kfree_skb(skb);
        },
      );
    });
    return true;
  }

  /** A listener on the gateway host for addr:port (made once, kept for later connections). */
  private listen(daddr: number, dport: number): Promise<HostServer> {
    const lk = `${daddr}:${dport}`;
    const have = this.listeners.get(lk);
    if (have) return Promise.resolve(have);
    this.gw.makeLocal(daddr);
    const server = this.gw.host.net.createServer({ allowHalfOpen: true }, (s) => this.accepted(s));
    const p = new Promise<HostServer>((resolve, reject) => {
      server.once('error', reject);
      server.listen(dport, ip4ToString(daddr), 1024, () => {
        server.off('error', reject);
        this.listeners.set(lk, server);
        resolve(server);
      });
    });
    this.listeners.set(lk, p);
    p.catch(() => this.listeners.delete(lk));
    return p;
  }

  private accepted(s: HostSocket): void {
    const k = key(
      ip4FromString(s.remoteAddress ?? '0.0.0.0'),
      s.remotePort ?? 0,
      ip4FromString(s.localAddress ?? '0.0.0.0'),
      s.localPort ?? 0,
    );
    const real = this.ready.get(k);
    if (!real) {
      s.on('error', () => {});
      s.resetAndDestroy();
      return;
    }
    this.ready.delete(k);
    if (real.destroyed) {
      s.on('error', () => {});
      s.resetAndDestroy();
      return;
    }
    this.live.add(k);
    this.gw.stats.tcpConnections++;
    splice(s as unknown as StreamSocket, real, () => this.live.delete(k));
  }

  /**
   * Forward a real port into the virtual network: a real server on host:port whose connections
   * are opened from the gateway to guestAddress:guestPort. A refused virtual connection resets
   * the real one. Resolves with the real port (useful with port 0).
   */
  forward(host: string, port: number, guestAddress: string, guestPort: number): Promise<number> {
    const server = realNet.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (real) => {
      this.sockets.add(real);
      real.once('close', () => this.sockets.delete(real));
      real.on('error', () => {});
      const v = this.gw.host.net.connect({ host: guestAddress, port: guestPort, allowHalfOpen: true });
      let connected = false;
      v.on('error', () => {
        if (!connected) {
          this.gw.stats.forwardRefused++;
          if (!real.destroyed) real.resetAndDestroy();
        }
      });
      v.once('connect', () => {
        connected = true;
        this.gw.stats.forwardedConnections++;
        splice(v as unknown as StreamSocket, real);
        real.resume();
      });
    });
    this.servers.add(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as realNet.AddressInfo).port);
      });
    });
  }

  close(): void {
    for (const s of this.servers) s.close();
    for (const s of this.sockets) s.destroy();
    for (const skb of this.pending.values()) kfree_skb(skb);
    this.pending.clear();
    for (const l of this.listeners.values()) if (!(l instanceof Promise)) l.close();
    this.listeners.clear();
  }
}
