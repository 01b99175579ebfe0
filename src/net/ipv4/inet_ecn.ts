// The ECN field of the IP header (include/net/inet_ecn.h, RFC 3168 §5): its code points, the
// socket's sending code point kept in the low two bits of inet->tos, and CE marking by a queue.

import type { SkBuff } from '../core/skbuff.js';
import { ETH_P_IP } from '../../uapi/if.js';

export const INET_ECN_NOT_ECT = 0;
export const INET_ECN_ECT_1 = 1;
export const INET_ECN_ECT_0 = 2;
export const INET_ECN_CE = 3;
export const INET_ECN_MASK = 3;

/** The part of a socket INET_ECN_xmit() changes: inet_sk(sk)->tos. */
interface TosHolder {
  tos: number;
}

/** INET_ECN_is_ce(). */
export function INET_ECN_is_ce(dsfield: number): boolean {
  return (dsfield & INET_ECN_MASK) === INET_ECN_CE;
}

/** INET_ECN_is_not_ect(). */
export function INET_ECN_is_not_ect(dsfield: number): boolean {
  return (dsfield & INET_ECN_MASK) === INET_ECN_NOT_ECT;
}

/** INET_ECN_is_capable(): ECT(0), ECT(1) or CE. */
export function INET_ECN_is_capable(dsfield: number): boolean {
  return (dsfield & INET_ECN_MASK) !== INET_ECN_NOT_ECT;
}

/** INET_ECN_xmit(): what the socket sends from now on carries ECT(0). */
export function INET_ECN_xmit(sk: TosHolder): void {
  sk.tos = (sk.tos & ~INET_ECN_MASK) | INET_ECN_ECT_0;
}

/** INET_ECN_dontxmit(): what the socket sends from now on is Not-ECT. */
export function INET_ECN_dontxmit(sk: TosHolder): void {
  sk.tos &= ~INET_ECN_MASK;
}

/**
 * INET_ECN_set_ce() (IP_ECN_set_ce for IPv4): a congested queue marks an ECN-capable IPv4 packet
 * CE instead of dropping it, updating the header checksum incrementally (RFC 1624). Returns
 * false for a Not-ECT packet (the queue must drop it) and for anything but IPv4.
 */
export function INET_ECN_set_ce(skb: SkBuff): boolean {
  const h = skb.head;
  const nh = skb.network_header;
  if (skb.protocol !== ETH_P_IP || nh < 0 || nh + 20 > skb.tail) return false;
  const tos = h[nh + 1]!;
  // (tos + 1) & 3: Not-ECT → 01, ECT(1) → 10, ECT(0) → 11, CE → 00.
  const ecn = (tos + 1) & INET_ECN_MASK;
  if (!(ecn & 2)) return ecn === 0;
  // The tos byte grows by 2 (ECT(1)) or 1 (ECT(0)): the checksum gets 0xfffd or 0xfffe added
  // (csum16_add, with the end-around carry).
  let check = ((h[nh + 10]! << 8) | h[nh + 11]!) + 0xfffb + ecn;
  check = (check & 0xffff) + (check >>> 16);
  h[nh + 10] = (check >>> 8) & 0xff;
  h[nh + 11] = check & 0xff;
  h[nh + 1] = tos | INET_ECN_CE;
  return true;
}
