// What the gateway's relays use of the gateway: its host, address mapping, and the ways to put
// packets back into the virtual network.

import type { Host } from '../host.js';
import type { SkBuff } from '../../net/core/skbuff.js';
import type { Ip4Summary } from './packets.js';

export interface GatewayStats {
  /** Outbound TCP connections relayed to the real network. */
  tcpConnections: number;
  /** Outbound TCP connections the real side refused (answered with a RST). */
  tcpRefused: number;
  /** Outbound TCP connections that failed otherwise (answered with ICMP unreachable). */
  tcpFailed: number;
  /** Outbound UDP flows opened. */
  udpFlows: number;
  /** Outbound UDP datagrams that could not be sent on the real network. */
  udpErrors: number;
  /** Real connections to a forwarded port, relayed into the virtual network. */
  forwardedConnections: number;
  /** Real connections to a forwarded port refused by the virtual side (reset). */
  forwardRefused: number;
  /** Real datagrams to a forwarded UDP port relayed into the virtual network. */
  forwardedDatagrams: number;
}

export interface GatewayCore {
  /** The gateway's own host (its kernel terminates the virtual side of every relay). */
  readonly host: Host;
  readonly stats: GatewayStats;
  readonly closed: boolean;
  /** The real address a virtual destination maps to, or null when it may not be reached. */
  realAddress(daddr: number): string | null;
  /** Whether a UDP socket of the gateway host would receive this datagram. */
  hasUdpSocket(p: Ip4Summary): boolean;
  /** Make a virtual destination address local on the gateway host. */
  makeLocal(daddr: number): void;
  /** Deliver a held packet to the gateway host's IPv4 layer (bypassing the interception). */
  reinject(skb: SkBuff): void;
  /** Send a complete Ethernet frame from the gateway's device into the virtual network. */
  sendToGuest(frame: Uint8Array): void;
  /** The gateway device's MAC. */
  mac(): Uint8Array;
  /** The source MAC of a received frame. */
  macOf(skb: SkBuff): Uint8Array;
}
