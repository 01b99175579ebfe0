// UDP through the gateway. Outbound: the first datagram to an address and port the gateway has
// no socket for is held while a socket on the gateway host binds there; each virtual source
// then gets a real node:dgram socket of its own (a NAT mapping), idle flows closing after a
// while. Inbound: a real socket on the machine whose datagrams are sent from the gateway to a
// virtual address and port, replies going back to the real sender.

import * as realDgram from 'node:dgram';
import type { SkBuff } from '../../net/core/skbuff.js';
import { kfree_skb } from '../../net/core/skbuff.js';
import type { DgramSocket } from '../../compat/node/dgram.js';
import { ip4ToString, type Ip4Summary } from './packets.js';
import type { GatewayCore } from './core.js';

/** Datagrams held per binding while its socket is made; more are dropped. */
const HOLD_MAX = 64;

interface Binding {
  socket: DgramSocket;
  /** Held datagrams, or null once bound. */
  held: SkBuff[] | null;
}

interface Flow {
  real: realDgram.Socket;
  idle: ReturnType<typeof setTimeout>;
}

export class UdpRelay {
  private readonly bindings = new Map<string, Binding>();
  private readonly flows = new Map<string, Flow>();
  private readonly forwards = new Set<realDgram.Socket>();
  private readonly forwardSockets = new Set<DgramSocket>();

  constructor(
    private readonly gw: GatewayCore,
    private readonly idleMs: number,
  ) {}

  /** A UDP datagram (or its first fragment) arrived: true when taken, false to pass it on. */
  onDatagram(skb: SkBuff, p: Ip4Summary): boolean {
    const bk = `${p.daddr}:${p.dport}`;
    const b = this.bindings.get(bk);
    // A socket of the gateway host takes it: a relay binding, or the gateway's side of a forward.
    if (!b && this.gw.hasUdpSocket(p)) return false;
    if (b && !b.held) return false;
    if (b) {
      if (b.held!.length < HOLD_MAX) b.held!.push(skb);
      else kfree_skb(skb);
      return true;
    }
    const target = this.gw.realAddress(p.daddr);
    if (target === null) return false;
    this.gw.makeLocal(p.daddr);
    const socket = this.gw.host.dgram.createSocket('udp4');
    const nb: Binding = { socket, held: [skb] };
    this.bindings.set(bk, nb);
    socket.on('error', () => {
      for (const s of nb.held ?? []) kfree_skb(s);
      this.bindings.delete(bk);
      socket.close();
    });
    socket.on('message', (msg, rinfo) => this.outbound(socket, bk, target, p.dport, msg, rinfo));
    socket.bind(p.dport, ip4ToString(p.daddr), () => {
      const held = nb.held ?? [];
      nb.held = null;
      for (const s of held) this.gw.reinject(s);
    });
    return true;
  }

  /** A datagram from the virtual network to the real target, through the sender's flow. */
  private outbound(
    socket: DgramSocket,
    bk: string,
    target: string,
    port: number,
    msg: Uint8Array,
    rinfo: { address: string; port: number },
  ): void {
    const fk = `${rinfo.address}:${rinfo.port}>${bk}`;
    let flow = this.flows.get(fk);
    if (!flow) {
      const real = realDgram.createSocket('udp4');
      const f: Flow = { real, idle: setTimeout(() => {}, 0) };
      const expire = (): void => {
        this.flows.delete(fk);
        real.close();
      };
      f.idle = setTimeout(expire, this.idleMs).unref();
      real.on('error', () => this.gw.stats.udpErrors++);
      real.on('message', (reply, from) => {
        // Endpoint-dependent filtering: only the target's replies come back in.
        if (from.address !== target || from.port !== port) return;
        f.idle.refresh();
        socket.send(reply, rinfo.port, rinfo.address);
      });
      this.flows.set(fk, (flow = f));
      this.gw.stats.udpFlows++;
    }
    flow.idle.refresh();
    flow.real.send(msg, port, target, (err) => {
      if (err) this.gw.stats.udpErrors++;
    });
  }

  /**
   * Forward a real UDP port into the virtual network: datagrams to host:port are sent from the
   * gateway to guestAddress:guestPort, one gateway socket per real sender, and the replies to
   * that socket go back to the sender. Resolves with the real port.
   */
  forward(host: string, port: number, guestAddress: string, guestPort: number): Promise<number> {
    const real = realDgram.createSocket('udp4');
    this.forwards.add(real);
    const peers = new Map<string, DgramSocket>();
    real.on('message', (msg, from) => {
      const pk = `${from.address}:${from.port}`;
      let v = peers.get(pk);
      if (!v) {
        const s = this.gw.host.dgram.createSocket('udp4');
        this.forwardSockets.add(s);
        s.on('error', () => {});
        s.on('message', (reply) => real.send(reply, from.port, from.address));
        peers.set(pk, (v = s));
      }
      this.gw.stats.forwardedDatagrams++;
      v.send(msg, guestPort, guestAddress);
    });
    return new Promise((resolve, reject) => {
      real.once('error', reject);
      real.bind(port, host, () => {
        real.off('error', reject);
        real.on('error', () => {});
        resolve(real.address().port);
      });
    });
  }

  close(): void {
    for (const f of this.flows.values()) {
      clearTimeout(f.idle);
      f.real.close();
    }
    this.flows.clear();
    for (const b of this.bindings.values()) {
      for (const s of b.held ?? []) kfree_skb(s);
      b.socket.close();
    }
    this.bindings.clear();
    for (const r of this.forwards) r.close();
    this.forwards.clear();
    for (const s of this.forwardSockets) s.close();
    this.forwardSockets.clear();
  }
}
