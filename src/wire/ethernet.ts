// Ethernet II framing (IEEE 802.3 §3.1.1 with the DIX type field; include/uapi/linux/if_ether.h).
// A MAC address is a 48-bit number (0x0200_0000_0001 = 02:00:00:00:00:01): exact in a double,
// compared with ===, usable as a map key, and read or written without allocating.

import { get16, get48, put16, put48, ByteView } from './bytes.js';

export const ETH_ALEN = 6;
/** Header length: destination, source, type. */
export const ETH_HLEN = 14;
/** Minimum frame length without the FCS; shorter frames are padded by the sender. */
export const ETH_ZLEN = 60;
export const ETH_DATA_LEN = 1500;
export const ETH_FRAME_LEN = 1514;

// Ethertypes (if_ether.h). Values below ETH_P_802_3_MIN are 802.3 lengths, not types.
export const ETH_P_LOOP = 0x0060;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_8021AD = 0x88a8;
export const ETH_P_802_3_MIN = 0x0600;
export const ETH_P_ALL = 0x0003;

/** ff:ff:ff:ff:ff:ff. */
export const MAC_BROADCAST = 0xffffffffffff;
export const MAC_ZERO = 0;

/** The individual/group bit: the low bit of the first octet (IEEE 802 §8.2). */
export function macIsMulticast(mac: number): boolean {
  return (Math.floor(mac / 0x10000000000) & 1) === 1;
}

export function macIsBroadcast(mac: number): boolean {
  return mac === MAC_BROADCAST;
}

/** is_valid_ether_addr(): not a group address and not all zeros. */
export function macIsUnicast(mac: number): boolean {
  return mac !== 0 && !macIsMulticast(mac);
}

/** The universal/local bit: the second-lowest bit of the first octet. */
export function macIsLocallyAdministered(mac: number): boolean {
  return (Math.floor(mac / 0x10000000000) & 2) === 2;
}

/** ip_eth_mc_map(): the MAC an IPv4 multicast group maps to (RFC 1112 §6.4, 01:00:5e + low 23 bits). */
export function macFromIpv4Multicast(group: number): number {
  return 0x01005e000000 + (group & 0x7fffff);
}

const HEX = /^[0-9a-fA-F]{1,2}$/;

/** Parse "aa:bb:cc:dd:ee:ff" (or with '-'); null when it is not six hex octets. */
export function macParse(s: string): number | null {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6) return null;
  let v = 0;
  for (const p of parts) {
    if (!HEX.test(p)) return null;
    v = v * 256 + parseInt(p, 16);
  }
  return v;
}

/** "aa:bb:cc:dd:ee:ff", lower case, as ip link prints it. */
export function macFormat(mac: number): string {
  let s = '';
  for (let shift = 40; shift >= 0; shift -= 8) {
    const octet = Math.floor(mac / 2 ** shift) & 0xff;
    s += (shift === 40 ? '' : ':') + (octet < 16 ? '0' : '') + octet.toString(16);
  }
  return s;
}

export function macRead(buf: Uint8Array, off: number): number {
  return get48(buf, off);
}

export function macWrite(buf: Uint8Array, off: number, mac: number): void {
  put48(buf, off, mac);
}

export type EthernetError = 'truncated';

/** A checked view of an Ethernet II header at `off` in `buf`; `len` bytes of frame are there. */
export class EthernetFrame extends ByteView {
  /** Whether `len` bytes at `off` hold an Ethernet header (eth_type_trans pulls ETH_HLEN). */
  static check(buf: Uint8Array, off: number, len: number): EthernetError | null {
    if (len < ETH_HLEN || off < 0 || off + len > buf.length) return 'truncated';
    return null;
  }

  check(): EthernetError | null {
    return EthernetFrame.check(this.buf, this.off, this.len);
  }

  get dst(): number {
    return get48(this.buf, this.off);
  }
  set dst(mac: number) {
    put48(this.buf, this.off, mac);
  }

  get src(): number {
    return get48(this.buf, this.off + 6);
  }
  set src(mac: number) {
    put48(this.buf, this.off + 6, mac);
  }

  get ethertype(): number {
    return get16(this.buf, this.off + 12);
  }
  set ethertype(t: number) {
    put16(this.buf, this.off + 12, t);
  }

  get headerLen(): number {
    return ETH_HLEN;
  }

  /** Offset in `buf` of the payload. */
  get payloadOff(): number {
    return this.off + ETH_HLEN;
  }

  get payloadLen(): number {
    return Math.max(0, this.len - ETH_HLEN);
  }

  /** The payload, as a view sharing the bytes. */
  payload(): Uint8Array {
    return this.buf.subarray(this.off + ETH_HLEN, this.off + Math.max(ETH_HLEN, this.len));
  }
}

/** The fields of an Ethernet II header. */
export interface EthernetRepr {
  dst: number;
  src: number;
  ethertype: number;
}

export const EthernetRepr = {
  parse(frame: EthernetFrame, out?: EthernetRepr): EthernetRepr | EthernetError {
    const err = frame.check();
    if (err) return err;
    const r = out ?? { dst: 0, src: 0, ethertype: 0 };
    r.dst = frame.dst;
    r.src = frame.src;
    r.ethertype = frame.ethertype;
    return r;
  },

  headerLen(_repr?: EthernetRepr): number {
    return ETH_HLEN;
  },

  /** Write the header at `off`; returns the bytes written. */
  emit(repr: EthernetRepr, buf: Uint8Array, off: number): number {
    put48(buf, off, repr.dst);
    put48(buf, off + 6, repr.src);
    put16(buf, off + 12, repr.ethertype);
    return ETH_HLEN;
  },
};
