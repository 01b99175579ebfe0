// ARP for IPv4 over Ethernet (RFC 826; include/uapi/linux/if_arp.h). The fixed-offset accessors
// below assume 6-byte hardware and 4-byte protocol addresses, which check() verifies first, as
// arp_rcv() and arp_process() do before they look at an address.

import { get16, get32, get48, get8, put16, put32, put48, put8, ByteView } from './bytes.js';
import { ETH_ALEN, ETH_P_IP } from './ethernet.js';

// Hardware types (ARPHRD_*).
export const ARPHRD_ETHER = 1;
export const ARPHRD_IEEE802 = 6;

// Operations (ARPOP_*).
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
export const ARPOP_RREQUEST = 3;
export const ARPOP_RREPLY = 4;
export const ARPOP_InREQUEST = 8;
export const ARPOP_InREPLY = 9;
export const ARPOP_NAK = 10;

/** The fixed part: hardware type, protocol type, the two lengths, the operation. */
export const ARP_FIXED_LEN = 8;
/** An Ethernet/IPv4 ARP packet: the fixed part and two (MAC, IPv4) pairs. */
export const ARP_ETH_IP_LEN = 28;

/**
 * Why a packet is not an Ethernet/IPv4 request or reply. Linux drops all of them silently:
 * arp_rcv() for a short packet or the wrong address lengths, arp_process() for the rest.
 */
export type ArpError = 'truncated' | 'bad-address-len' | 'bad-hardware' | 'bad-protocol' | 'bad-operation';

export class ArpPacket extends ByteView {
  /** arp_rcv() then the first tests of arp_process(), in their order. */
  static check(buf: Uint8Array, off: number, len: number): ArpError | null {
    // arp_hdr_len(dev): room for two pairs of the device's address length and IPv4, whatever
    // lengths the packet declares.
    if (off < 0 || off + len > buf.length || len < ARP_ETH_IP_LEN) return 'truncated';
    if (buf[off + 4] !== ETH_ALEN || buf[off + 5] !== 4) return 'bad-address-len';
    const hrd = get16(buf, off);
    if (hrd !== ARPHRD_ETHER && hrd !== ARPHRD_IEEE802) return 'bad-hardware';
    if (get16(buf, off + 2) !== ETH_P_IP) return 'bad-protocol';
    const op = get16(buf, off + 6);
    if (op !== ARPOP_REQUEST && op !== ARPOP_REPLY) return 'bad-operation';
    return null;
  }

  check(): ArpError | null {
    return ArpPacket.check(this.buf, this.off, this.len);
  }

  get hardwareType(): number {
    return get16(this.buf, this.off);
  }
  set hardwareType(v: number) {
    put16(this.buf, this.off, v);
  }

  get protocolType(): number {
    return get16(this.buf, this.off + 2);
  }
  set protocolType(v: number) {
    put16(this.buf, this.off + 2, v);
  }

  get hardwareLen(): number {
    return get8(this.buf, this.off + 4);
  }
  set hardwareLen(v: number) {
    put8(this.buf, this.off + 4, v);
  }

  get protocolLen(): number {
    return get8(this.buf, this.off + 5);
  }
  set protocolLen(v: number) {
    put8(this.buf, this.off + 5, v);
  }

  get operation(): number {
    return get16(this.buf, this.off + 6);
  }
  set operation(v: number) {
    put16(this.buf, this.off + 6, v);
  }

  /** Sender hardware address (sha). */
  get senderHw(): number {
    return get48(this.buf, this.off + 8);
  }
  set senderHw(mac: number) {
    put48(this.buf, this.off + 8, mac);
  }

  /** Sender protocol address (spa). */
  get senderIp(): number {
    return get32(this.buf, this.off + 14);
  }
  set senderIp(a: number) {
    put32(this.buf, this.off + 14, a);
  }

  /** Target hardware address (tha); zero in a request. */
  get targetHw(): number {
    return get48(this.buf, this.off + 18);
  }
  set targetHw(mac: number) {
    put48(this.buf, this.off + 18, mac);
  }

  /** Target protocol address (tpa). */
  get targetIp(): number {
    return get32(this.buf, this.off + 24);
  }
  set targetIp(a: number) {
    put32(this.buf, this.off + 24, a);
  }
}

/** An Ethernet/IPv4 ARP request or reply. */
export interface ArpRepr {
  operation: number;
  senderHw: number;
  senderIp: number;
  targetHw: number;
  targetIp: number;
}

export const ArpRepr = {
  parse(p: ArpPacket, out?: ArpRepr): ArpRepr | ArpError {
    const err = p.check();
    if (err) return err;
    const r = out ?? { operation: 0, senderHw: 0, senderIp: 0, targetHw: 0, targetIp: 0 };
    r.operation = p.operation;
    r.senderHw = p.senderHw;
    r.senderIp = p.senderIp;
    r.targetHw = p.targetHw;
    r.targetIp = p.targetIp;
    return r;
  },

  bufferLen(_repr?: ArpRepr): number {
    return ARP_ETH_IP_LEN;
  },

  /** arp_create(): write the packet at `off`; returns the bytes written. */
  emit(repr: ArpRepr, buf: Uint8Array, off: number): number {
    put16(buf, off, ARPHRD_ETHER);
    put16(buf, off + 2, ETH_P_IP);
    buf[off + 4] = ETH_ALEN;
    buf[off + 5] = 4;
    put16(buf, off + 6, repr.operation);
    put48(buf, off + 8, repr.senderHw);
    put32(buf, off + 14, repr.senderIp);
    put48(buf, off + 18, repr.targetHw);
    put32(buf, off + 24, repr.targetIp);
    return ARP_ETH_IP_LEN;
  },
};
