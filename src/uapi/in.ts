// The IPv4 user ABI (include/uapi/linux/in.h, linux/icmp.h, linux/errqueue.h, linux/udp.h):
// protocol numbers, SOL_IP/SOL_UDP/SOL_RAW options, struct sockaddr_in and the control message
// payloads, with Linux's x86_64 values and layouts.

// IP protocols (include/uapi/linux/in.h).
export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_IGMP = 2;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_EGP = 8;
export const IPPROTO_PUP = 12;
export const IPPROTO_UDP = 17;
export const IPPROTO_IDP = 22;
export const IPPROTO_TP = 29;
export const IPPROTO_DCCP = 33;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_RSVP = 46;
export const IPPROTO_GRE = 47;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_MTP = 92;
export const IPPROTO_BEETPH = 94;
export const IPPROTO_ENCAP = 98;
export const IPPROTO_PIM = 103;
export const IPPROTO_COMP = 108;
export const IPPROTO_L2TP = 115;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;
export const IPPROTO_MPLS = 137;
export const IPPROTO_ETHERNET = 143;
export const IPPROTO_RAW = 255;
export const IPPROTO_MPTCP = 262;
export const IPPROTO_MAX = 263;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;

// SOL_IP options.
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_HDRINCL = 3;
export const IP_OPTIONS = 4;
export const IP_ROUTER_ALERT = 5;
export const IP_RECVOPTS = 6;
export const IP_RETOPTS = 7;
export const IP_PKTINFO = 8;
export const IP_PKTOPTIONS = 9;
export const IP_MTU_DISCOVER = 10;
export const IP_RECVERR = 11;
export const IP_RECVTTL = 12;
export const IP_RECVTOS = 13;
export const IP_MTU = 14;
export const IP_FREEBIND = 15;
export const IP_IPSEC_POLICY = 16;
export const IP_XFRM_POLICY = 17;
export const IP_PASSSEC = 18;
export const IP_TRANSPARENT = 19;
export const IP_RECVRETOPTS = IP_RETOPTS;
export const IP_ORIGDSTADDR = 20;
export const IP_RECVORIGDSTADDR = IP_ORIGDSTADDR;
export const IP_MINTTL = 21;
export const IP_NODEFRAG = 22;
export const IP_CHECKSUM = 23;
export const IP_BIND_ADDRESS_NO_PORT = 24;
export const IP_RECVFRAGSIZE = 25;
export const IP_RECVERR_RFC4884 = 26;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;
export const IP_UNBLOCK_SOURCE = 37;
export const IP_BLOCK_SOURCE = 38;
export const IP_ADD_SOURCE_MEMBERSHIP = 39;
export const IP_DROP_SOURCE_MEMBERSHIP = 40;
export const IP_MSFILTER = 41;
export const IP_MULTICAST_ALL = 49;
export const IP_UNICAST_IF = 50;
export const IP_LOCAL_PORT_RANGE = 51;
export const IP_PROTOCOL = 52;

/** IP_MTU_DISCOVER values. */
export const IP_PMTUDISC_DONT = 0;
export const IP_PMTUDISC_WANT = 1;
export const IP_PMTUDISC_DO = 2;
export const IP_PMTUDISC_PROBE = 3;
export const IP_PMTUDISC_INTERFACE = 4;
export const IP_PMTUDISC_OMIT = 5;

// SOL_UDP options (include/uapi/linux/udp.h).
export const UDP_CORK = 1;
export const UDP_ENCAP = 100;
export const UDP_NO_CHECK6_TX = 101;
export const UDP_NO_CHECK6_RX = 102;
export const UDP_SEGMENT = 103;
export const UDP_GRO = 104;

// SOL_RAW options (include/uapi/linux/icmp.h).
export const ICMP_FILTER = 1;

// Special addresses, host byte order.
export const INADDR_ANY = 0;
export const INADDR_BROADCAST = 0xffffffff;
export const INADDR_NONE = 0xffffffff;
export const INADDR_LOOPBACK = 0x7f000001;

// ICMP types and codes (include/uapi/linux/icmp.h).
export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;
export const ICMP_TIMESTAMP = 13;
export const ICMP_TIMESTAMPREPLY = 14;
export const ICMP_INFO_REQUEST = 15;
export const ICMP_INFO_REPLY = 16;
export const ICMP_ADDRESS = 17;
export const ICMP_ADDRESSREPLY = 18;
export const NR_ICMP_TYPES = 18;
export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROT_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const ICMP_SR_FAILED = 5;
export const ICMP_NET_UNKNOWN = 6;
export const ICMP_HOST_UNKNOWN = 7;
export const ICMP_HOST_ISOLATED = 8;
export const ICMP_NET_ANO = 9;
export const ICMP_HOST_ANO = 10;
export const ICMP_NET_UNR_TOS = 11;
export const ICMP_HOST_UNR_TOS = 12;
export const ICMP_PKT_FILTERED = 13;
export const ICMP_PREC_VIOLATION = 14;
export const ICMP_PREC_CUTOFF = 15;
export const NR_ICMP_UNREACH = 15;
export const ICMP_EXC_TTL = 0;
export const ICMP_EXC_FRAGTIME = 1;

// struct sock_extended_err (include/uapi/linux/errqueue.h).
export const SO_EE_ORIGIN_NONE = 0;
export const SO_EE_ORIGIN_LOCAL = 1;
export const SO_EE_ORIGIN_ICMP = 2;
export const SO_EE_ORIGIN_ICMP6 = 3;
export const SO_EE_ORIGIN_TXSTATUS = 4;
export const SIZEOF_SOCK_EXTENDED_ERR = 16;

// Sizes of the structures, x86_64.
export const SIZEOF_SOCKADDR_IN = 16;
export const SIZEOF_IN_PKTINFO = 12;
export const SIZEOF_IP_MREQN = 12;

/** The largest UDP payload in one IPv4 datagram: 65535 − 20 − 8. */
export const UDP_MAX_PAYLOAD = 65507;

/** struct sockaddr_in, typed: `addr` in dotted quad, `port` in host order. */
export interface SockaddrIn {
  /** AF_INET. */
  family: number;
  addr: string;
  port: number;
  /** The address length Linux reports. */
  addrlen?: number;
}

/** inet_aton()-like: a dotted quad to a host-order number, or -1 when malformed. */
export function inet_aton(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4) return -1;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return -1;
    const n = Number(p);
    if (n > 255) return -1;
    v = v * 256 + n;
  }
  return v;
}

/** inet_ntoa(): a host-order number to a dotted quad. */
export function inet_ntoa(a: number): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Write a struct sockaddr_in (16 bytes) into `b` at `off`. */
export function put_sockaddr_in(
  b: Uint8Array,
  off: number,
  family: number,
  addr: number,
  port: number,
): void {
  b[off] = family & 0xff;
  b[off + 1] = (family >> 8) & 0xff;
  b[off + 2] = (port >> 8) & 0xff;
  b[off + 3] = port & 0xff;
  b[off + 4] = (addr >>> 24) & 0xff;
  b[off + 5] = (addr >>> 16) & 0xff;
  b[off + 6] = (addr >>> 8) & 0xff;
  b[off + 7] = addr & 0xff;
  b.fill(0, off + 8, off + 16);
}

/** Encode a typed AF_INET address to the 16 bytes a C program passes. */
export function encodeSockaddrIn(a: SockaddrIn): Uint8Array {
  const b = new Uint8Array(SIZEOF_SOCKADDR_IN);
  const addr = inet_aton(a.addr);
  put_sockaddr_in(b, 0, a.family, addr < 0 ? 0 : addr, a.port);
  return b;
}

/** Read sin_port (host order) and sin_addr (host-order number) from raw bytes. */
export function sockaddr_in_port(b: Uint8Array, off = 0): number {
  return (b[off + 2] << 8) | b[off + 3];
}
export function sockaddr_in_addr(b: Uint8Array, off = 0): number {
  return ((b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7]) >>> 0;
}

/** Decode a kernel-filled AF_INET address. */
export function decodeSockaddrIn(b: Uint8Array, len: number): SockaddrIn {
  const family = b[0] | (b[1] << 8);
  const n = Math.min(len, b.length);
  const port = n >= 4 ? sockaddr_in_port(b) : 0;
  const addr = n >= 8 ? sockaddr_in_addr(b) : 0;
  return { family, addr: inet_ntoa(addr), port, addrlen: len };
}

/** struct in_pktinfo { int ipi_ifindex; struct in_addr ipi_spec_dst, ipi_addr; }. */
export interface InPktinfo {
  ifindex: number;
  spec_dst: string;
  addr: string;
}

export function decodeInPktinfo(b: Uint8Array): InPktinfo {
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  return {
    ifindex: dv.getInt32(0, true),
    spec_dst: inet_ntoa(dv.getUint32(4, false)),
    addr: inet_ntoa(dv.getUint32(8, false)),
  };
}

/** struct sock_extended_err, with the offender address that follows it (SO_EE_OFFENDER). */
export interface SockExtendedErr {
  ee_errno: number;
  ee_origin: number;
  ee_type: number;
  ee_code: number;
  ee_info: number;
  ee_data: number;
  offender: SockaddrIn | null;
}

export function decodeSockExtendedErr(b: Uint8Array): SockExtendedErr {
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const fam = b.length >= 18 ? b[16] | (b[17] << 8) : 0;
  return {
    ee_errno: dv.getUint32(0, true),
    ee_origin: b[4],
    ee_type: b[5],
    ee_code: b[6],
    ee_info: dv.getUint32(8, true),
    ee_data: dv.getUint32(12, true),
    offender: fam ? decodeSockaddrIn(b.subarray(16), 16) : null,
  };
}
