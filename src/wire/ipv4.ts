// IPv4 (RFC 791; include/uapi/linux/ip.h, include/uapi/linux/in.h). Addresses are unsigned 32-bit
// numbers in host order: 127.0.0.1 is 0x7f000001, written to the wire most significant byte
// first.

import { EMPTY_BYTES, get16, get32, get8, put16, put32, put8, ByteView } from './bytes.js';
import { csum_partial, csum_fold, csum_replace2, ip_fast_csum } from './checksum.js';

// Protocol numbers (IPPROTO_*, include/uapi/linux/in.h and in6.h).
export {
  IPPROTO_IP,
  IPPROTO_ICMP,
  IPPROTO_IGMP,
  IPPROTO_IPIP,
  IPPROTO_TCP,
  IPPROTO_EGP,
  IPPROTO_PUP,
  IPPROTO_UDP,
  IPPROTO_IDP,
  IPPROTO_TP,
  IPPROTO_DCCP,
  IPPROTO_IPV6,
  IPPROTO_ROUTING,
  IPPROTO_FRAGMENT,
  IPPROTO_RSVP,
  IPPROTO_GRE,
  IPPROTO_ESP,
  IPPROTO_AH,
  IPPROTO_ICMPV6,
  IPPROTO_NONE,
  IPPROTO_DSTOPTS,
  IPPROTO_MTP,
  IPPROTO_BEETPH,
  IPPROTO_ENCAP,
  IPPROTO_PIM,
  IPPROTO_COMP,
  IPPROTO_L2TP,
  IPPROTO_SCTP,
  IPPROTO_UDPLITE,
  IPPROTO_MPLS,
  IPPROTO_ETHERNET,
  IPPROTO_RAW,
  IPPROTO_MPTCP,
  IPPROTO_MAX,
} from '../uapi/in.js';

// Header constants (include/uapi/linux/ip.h, include/net/ip.h).
export const IPVERSION = 4;
/** sizeof(struct iphdr): the header without options. */
export const IPV4_HLEN = 20;
/** IHL is 4 bits of 32-bit words. */
export const IPV4_MAX_HLEN = 60;
export const MAX_IPOPTLEN = 40;
export const IPDEFTTL = 64;
export const MAXTTL = 255;
/** The largest datagram the total length field can describe. */
export const IP_MAX_MTU = 0xffff;

// frag_off bits (RFC 791 §3.1 "Flags", "Fragment Offset").
/** The reserved bit, Linux's "congestion" flag (RFC 3514 in jest); receivers ignore it. */
export const IP_CE = 0x8000;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFSET = 0x1fff;

// The TOS byte: DSCP in the high six bits (RFC 2474 §3), ECN in the low two (RFC 3168 §5).
export const INET_ECN_MASK = 0x03;
export const INET_ECN_NOT_ECT = 0;
export const INET_ECN_ECT_1 = 1;
export const INET_ECN_ECT_0 = 2;
export const INET_ECN_CE = 3;
export const INET_DSCP_MASK = 0xfc;
export const IPTOS_TOS_MASK = 0x1e;
export const IPTOS_PREC_MASK = 0xe0;

// Options (RFC 791 §3.1, include/uapi/linux/ip.h).
export const IPOPT_COPY = 0x80;
export const IPOPT_CLASS_MASK = 0x60;
export const IPOPT_NUMBER_MASK = 0x1f;
export const IPOPT_END = 0;
export const IPOPT_NOOP = 1;
export const IPOPT_RR = 7;
export const IPOPT_TIMESTAMP = 68;
export const IPOPT_SEC = 130;
export const IPOPT_LSRR = 131;
export const IPOPT_CIPSO = 134;
export const IPOPT_SID = 136;
export const IPOPT_SSRR = 137;
export const IPOPT_RA = 148;
/** The smallest pointer value: the first slot of a route option (RFC 791 "Loose Source …"). */
export const IPOPT_MINOFF = 4;
export const IPOPT_TS_TSONLY = 0;
export const IPOPT_TS_TSANDADDR = 1;
export const IPOPT_TS_PRESPEC = 3;

// Special addresses (include/uapi/linux/in.h).
export const INADDR_ANY = 0;
export const INADDR_BROADCAST = 0xffffffff;
export const INADDR_NONE = 0xffffffff;
export const INADDR_LOOPBACK = 0x7f000001;
export const INADDR_ALLHOSTS_GROUP = 0xe0000001;

// Address classes (include/linux/in.h ipv4_is_*).
export function ipv4IsMulticast(a: number): boolean {
  return (a & 0xf0000000) >>> 0 === 0xe0000000;
}
export function ipv4IsLocalMulticast(a: number): boolean {
  return (a & 0xffffff00) >>> 0 === 0xe0000000;
}
export function ipv4IsLoopback(a: number): boolean {
  return a >>> 24 === 127;
}
/** The limited broadcast 255.255.255.255. */
export function ipv4IsLbcast(a: number): boolean {
  return a >>> 0 === INADDR_BROADCAST;
}
/** 0.0.0.0/8, "this network" (RFC 1122 §3.2.1.3). */
export function ipv4IsZeronet(a: number): boolean {
  return a >>> 24 === 0;
}
/** 169.254.0.0/16 (RFC 3927). */
export function ipv4IsLinkLocal(a: number): boolean {
  return a >>> 16 === 0xa9fe;
}

/** "a.b.c.d". */
export function ipv4Format(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/**
 * inet_pton(AF_INET): exactly four decimal octets, no leading zeros, nothing else; null
 * otherwise. This is what a user's address string means in a call.
 */
export function ipv4Parse(s: string): number | null {
  let v = 0;
  let octets = 0;
  let cur = -1;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && cur === 0) return null;
      cur = (cur < 0 ? 0 : cur) * 10 + (c - 0x30);
      if (cur > 255) return null;
      digits++;
    } else if (c === 0x2e) {
      if (digits === 0 || octets === 4) return null;
      v = v * 256 + cur;
      octets++;
      cur = -1;
      digits = 0;
    } else return null;
  }
  return octets === 4 ? v : null;
}

/**
 * in_aton() (net/core/utils.c) to the letter: up to four fields separated by '.', each summed
 * as decimal digits without any check, stopping at the end or a newline. It is what the kernel
 * uses for addresses given on its command line and in sysctls, and garbage gives garbage.
 */
export function in_aton(s: string): number {
  const bytes = new TextEncoder().encode(s);
  let p = 0;
  const at = (i: number): number => (i < bytes.length ? bytes[i] : 0);
  let l = 0;
  for (let i = 0; i < 4; i++) {
    l = (l << 8) >>> 0;
    if (at(p) !== 0) {
      let val = 0;
      while (at(p) !== 0 && at(p) !== 0x2e && at(p) !== 0x0a) {
        val = (Math.imul(val, 10) + (at(p) - 0x30)) >>> 0;
        p++;
      }
      l = (l | val) >>> 0;
      if (at(p) !== 0) p++;
    }
  }
  return l;
}

/**
 * Why a buffer is not an IPv4 datagram ip_rcv() would accept, and the MIB counter Linux bumps
 * for it (IPV4_ERROR_MIB).
 */
export type Ipv4Error =
  'truncated' | 'bad-version' | 'bad-ihl' | 'bad-checksum' | 'bad-length' | 'short-packet' | 'bad-options';

/** The /proc/net/snmp Ip: counter for each error (ip_rcv_core(), ip_rcv_options()). */
export const IPV4_ERROR_MIB: Readonly<Record<Ipv4Error, string>> = {
  truncated: 'InHdrErrors',
  'bad-version': 'InHdrErrors',
  'bad-ihl': 'InHdrErrors',
  'bad-checksum': 'InCsumErrors',
  'bad-length': 'InHdrErrors',
  'short-packet': 'InTruncatedPkts',
  'bad-options': 'InHdrErrors',
};

/** A view of an IPv4 header at `off` in `buf`, with `len` bytes of datagram (or more) there. */
export class Ipv4Packet extends ByteView {
  /**
   * ip_rcv_core()'s tests in its order: a whole minimal header, version 4 and IHL ≥ 5, the whole
   * header with its options, the header checksum (skipped with verifyChecksum false), then the
   * total length against the bytes received and against the header. Bytes after the total
   * length are link padding and are allowed (pskb_trim_rcsum drops them).
   */
  static check(buf: Uint8Array, off: number, len: number, verifyChecksum = true): Ipv4Error | null {
    if (off < 0 || off + len > buf.length || len < IPV4_HLEN) return 'truncated';
    const vihl = buf[off];
    if (vihl >>> 4 !== IPVERSION) return 'bad-version';
    const ihl = vihl & 0x0f;
    if (ihl < 5) return 'bad-ihl';
    if (len < ihl * 4) return 'truncated';
    if (verifyChecksum && ip_fast_csum(buf, off, ihl) !== 0) return 'bad-checksum';
    const tot = get16(buf, off + 2);
    if (tot > len) return 'short-packet';
    if (tot < ihl * 4) return 'bad-length';
    return null;
  }

  check(verifyChecksum = true): Ipv4Error | null {
    return Ipv4Packet.check(this.buf, this.off, this.len, verifyChecksum);
  }

  get version(): number {
    return get8(this.buf, this.off) >>> 4;
  }
  set version(v: number) {
    this.buf[this.off] = ((v & 0x0f) << 4) | (this.buf[this.off] & 0x0f);
  }

  /** Header length in 32-bit words. */
  get ihl(): number {
    return get8(this.buf, this.off) & 0x0f;
  }
  set ihl(v: number) {
    this.buf[this.off] = (this.buf[this.off] & 0xf0) | (v & 0x0f);
  }

  /** Header length in bytes. */
  get headerLen(): number {
    return (get8(this.buf, this.off) & 0x0f) * 4;
  }

  get tos(): number {
    return get8(this.buf, this.off + 1);
  }
  set tos(v: number) {
    put8(this.buf, this.off + 1, v);
  }

  get dscp(): number {
    return get8(this.buf, this.off + 1) >>> 2;
  }
  set dscp(v: number) {
    this.buf[this.off + 1] = ((v & 0x3f) << 2) | (this.buf[this.off + 1] & INET_ECN_MASK);
  }

  get ecn(): number {
    return get8(this.buf, this.off + 1) & INET_ECN_MASK;
  }
  set ecn(v: number) {
    this.buf[this.off + 1] = (this.buf[this.off + 1] & INET_DSCP_MASK) | (v & INET_ECN_MASK);
  }

  get totalLen(): number {
    return get16(this.buf, this.off + 2);
  }
  set totalLen(v: number) {
    put16(this.buf, this.off + 2, v);
  }

  get ident(): number {
    return get16(this.buf, this.off + 4);
  }
  set ident(v: number) {
    put16(this.buf, this.off + 4, v);
  }

  /** The whole flags + offset word (the kernel's frag_off, host order): IP_DF | IP_MF | IP_OFFSET. */
  get fragOff(): number {
    return get16(this.buf, this.off + 6);
  }
  set fragOff(v: number) {
    put16(this.buf, this.off + 6, v);
  }

  get dontFrag(): boolean {
    return (get8(this.buf, this.off + 6) & 0x40) !== 0;
  }
  set dontFrag(v: boolean) {
    this.buf[this.off + 6] = v ? this.buf[this.off + 6] | 0x40 : this.buf[this.off + 6] & ~0x40;
  }

  get moreFrags(): boolean {
    return (get8(this.buf, this.off + 6) & 0x20) !== 0;
  }
  set moreFrags(v: boolean) {
    this.buf[this.off + 6] = v ? this.buf[this.off + 6] | 0x20 : this.buf[this.off + 6] & ~0x20;
  }

  /** The fragment offset in bytes (the field counts 8-byte units). */
  get fragOffset(): number {
    return (get16(this.buf, this.off + 6) & IP_OFFSET) * 8;
  }
  set fragOffset(bytes: number) {
    const w = (get16(this.buf, this.off + 6) & ~IP_OFFSET) | ((bytes >>> 3) & IP_OFFSET);
    put16(this.buf, this.off + 6, w);
  }

  /** ip_is_fragment(): more fragments follow or this one is not the first. */
  isFragment(): boolean {
    return (get16(this.buf, this.off + 6) & (IP_MF | IP_OFFSET)) !== 0;
  }

  get ttl(): number {
    return get8(this.buf, this.off + 8);
  }
  set ttl(v: number) {
    put8(this.buf, this.off + 8, v);
  }

  get protocol(): number {
    return get8(this.buf, this.off + 9);
  }
  set protocol(v: number) {
    put8(this.buf, this.off + 9, v);
  }

  get checksum(): number {
    return get16(this.buf, this.off + 10);
  }
  set checksum(v: number) {
    put16(this.buf, this.off + 10, v);
  }

  get src(): number {
    return get32(this.buf, this.off + 12);
  }
  set src(a: number) {
    put32(this.buf, this.off + 12, a);
  }

  get dst(): number {
    return get32(this.buf, this.off + 16);
  }
  set dst(a: number) {
    put32(this.buf, this.off + 16, a);
  }

  /** Offset in `buf` of the options, and their length (IHL * 4 - 20). */
  get optionsOff(): number {
    return this.off + IPV4_HLEN;
  }
  get optionsLen(): number {
    return Math.max(0, this.headerLen - IPV4_HLEN);
  }
  options(): Uint8Array {
    return this.buf.subarray(this.off + IPV4_HLEN, this.off + IPV4_HLEN + this.optionsLen);
  }

  /** Offset in `buf` of the payload. */
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  /** Payload bytes per the total length, never past the bytes the view has. */
  get payloadLen(): number {
    return Math.max(0, Math.min(this.totalLen, this.len) - this.headerLen);
  }
  payload(): Uint8Array {
    const start = this.off + this.headerLen;
    return this.buf.subarray(start, start + this.payloadLen);
  }

  /** Whether the stored header checksum is right. */
  verifyChecksum(): boolean {
    return ip_fast_csum(this.buf, this.off, this.ihl) === 0;
  }

  /** ip_send_check(): compute and store the header checksum. */
  fillChecksum(): void {
    put16(this.buf, this.off + 10, 0);
    put16(this.buf, this.off + 10, csum_fold(csum_partial(this.buf, this.off, this.headerLen, 0)));
  }

  /**
   * ip_decrease_ttl(): TTL minus one, the checksum patched rather than recomputed. The TTL is the
   * high byte of its word, so the sum drops by 0x0100 and the checksum rises by it, with the
   * end-around carry (RFC 1141, RFC 1624 §4). Returns the new TTL. The TTL must be at least 1,
   * as in ip_forward(), which answers time exceeded first: 0 → 255 is not a subtraction.
   */
  decreaseTtl(): number {
    const o = this.off;
    let check = get16(this.buf, o + 10) + 0x0100;
    check = (check + (check >= 0xffff ? 1 : 0)) & 0xffff;
    put16(this.buf, o + 10, check);
    const ttl = (this.buf[o + 8] - 1) & 0xff;
    this.buf[o + 8] = ttl;
    return ttl;
  }

  /**
   * IP_ECN_set_ce(): mark Congestion Experienced on an ECN-capable datagram, patching the
   * checksum (RFC 3168 §6.1.1.1). True when CE is set afterwards; a Not-ECT datagram is left
   * alone and gets false, as a router must drop it instead.
   */
  setEcnCe(): boolean {
    const o = this.off;
    const ecn = this.buf[o + 1] & INET_ECN_MASK;
    if (ecn === INET_ECN_CE) return true;
    if (ecn === INET_ECN_NOT_ECT) return false;
    const before = get16(this.buf, o);
    this.buf[o + 1] |= INET_ECN_CE;
    csum_replace2(this.buf, o + 10, before, get16(this.buf, o));
    return true;
  }
}

/**
 * What ip_options_compile() learns from the options (struct ip_options): positions are byte
 * offsets from the start of the IP header, 0 for absent.
 */
export interface IpOptions {
  /** Bytes of options (IHL * 4 - 20). */
  optlen: number;
  /** The loose or strict source route option. */
  srr: number;
  isStrictroute: boolean;
  /** Record route, and whether it had room for an address. */
  rr: number;
  rrNeedaddr: boolean;
  /** Timestamp, and whether a time (and an address) are recorded in it. */
  ts: number;
  tsNeedtime: boolean;
  tsNeedaddr: boolean;
  /** Router alert with value 0 (RFC 2113 §2.1: "router shall examine packet"). */
  routerAlert: number;
  cipso: number;
  /** From a user's options: the first hop of the source route, removed from the list. */
  faddr: number;
  /** Option bytes were rewritten (or, read only, would have been): the checksum is stale. */
  isChanged: boolean;
}

export function ipOptionsInit(out?: IpOptions): IpOptions {
  const o = out ?? ({} as IpOptions);
  o.optlen = 0;
  o.srr = 0;
  o.isStrictroute = false;
  o.rr = 0;
  o.rrNeedaddr = false;
  o.ts = 0;
  o.tsNeedtime = false;
  o.tsNeedaddr = false;
  o.routerAlert = 0;
  o.cipso = 0;
  o.faddr = 0;
  o.isChanged = false;
  return o;
}

/** What ipOptionsCompile may need from the host. Keep one per caller: it is read, not kept. */
export interface IpOptionsContext {
  /** The caller has CAP_NET_RAW (user options only). */
  capNetRaw?: boolean;
  /**
   * For a received packet: the route is known, so write what Linux writes — our address
   * (spec_dst, from the route) into record route and address timestamps, and the time
   * (inet_current_timestamp(): ms since midnight UT) into timestamps.
   */
  stamp?: { specDst: number; time: number };
  /**
   * inet_addr_type(addr) == RTN_UNICAST: a remote unicast address, which a prespecified
   * timestamp entry is not ours to fill. Absent, every listed address counts as ours.
   */
  isRemoteUnicast?: (addr: number) => boolean;
}

/**
 * __ip_options_compile() (net/ipv4/ip_options.c): walk `optlen` bytes of options at `optOff`,
 * fill `opt`, and return 0, or, for malformed options, the parameter problem pointer Linux
 * answers with (ICMP type 12 code 0, RFC 792, and ip_rcv_options() counts InHdrErrors): the
 * offset from the start of the IP header of the offending byte. Options start 20 bytes into the
 * header, so a pointer is never 0.
 *
 * source 'packet' is a received datagram (the kernel's skb != NULL). Without ctx.stamp the bytes
 * are only read; with it they are rewritten as Linux rewrites them once the route is known:
 * record route and timestamp pointers advanced over the slot filled, a full timestamp's
 * overflow count bumped, bytes after End of Options blanked.
 *
 * source 'user' is IP_OPTIONS from setsockopt (skb == NULL), compiled in the caller's copy as
 * Linux compiles its private one: security, CIPSO, unknown options and unknown timestamp flags
 * need CAP_NET_RAW; a source route must start with its pointer at 4, its first hop goes to faddr
 * and the rest of the route moves down; record route and timestamp pointers are advanced over
 * the slot each datagram's own address and time will fill (ip_options_build()).
 *
 * CIPSO is validated as by a kernel with no CIPSO domain of interpretation configured:
 * cipso_v4_validate() then rejects every option, at its length byte if shorter than 8, else at
 * its DOI.
 */
export function ipOptionsCompile(
  buf: Uint8Array,
  optOff: number,
  optlen: number,
  opt: IpOptions,
  source: 'packet' | 'user' = 'packet',
  ctx?: IpOptionsContext,
): number {
  const fromUser = source === 'user';
  const stamp = fromUser ? undefined : ctx?.stamp;
  const write = fromUser || stamp !== undefined;
  const capNetRaw = ctx?.capNetRaw === true;
  // Pointers count from the IP header, IPV4_HLEN bytes before the options.
  const base = IPV4_HLEN - optOff;
  ipOptionsInit(opt);
  opt.optlen = optlen;
  let p = optOff;
  let l = optlen;
  while (l > 0) {
    const type = buf[p];
    if (type === IPOPT_END) {
      for (p++, l--; l > 0; p++, l--) {
        if (buf[p] !== IPOPT_END) {
          if (write) buf[p] = IPOPT_END;
          opt.isChanged = true;
        }
      }
      break;
    }
    if (type === IPOPT_NOOP) {
      l--;
      p++;
      continue;
    }
    if (l < 2) return p + base;
    const len = buf[p + 1];
    if (len < 2 || len > l) return p + base;
    switch (type) {
      case IPOPT_SSRR:
      case IPOPT_LSRR: {
        if (len < 3) return p + 1 + base;
        if (buf[p + 2] < 4) return p + 2 + base;
        // RFC 1812 §5.2.4.1: a datagram may carry only one source route.
        if (opt.srr) return p + base;
        if (fromUser) {
          if (buf[p + 2] !== 4 || len < 7 || (len - 3) & 3) return p + 1 + base;
          opt.faddr = get32(buf, p + 3);
          if (len > 7) buf.copyWithin(p + 3, p + 7, p + len);
        }
        opt.isStrictroute = type === IPOPT_SSRR;
        opt.srr = p + base;
        break;
      }
      case IPOPT_RR: {
        if (opt.rr) return p + base;
        if (len < 3) return p + 1 + base;
        const rp = buf[p + 2];
        if (rp < 4) return p + 2 + base;
        if (rp <= len) {
          if (rp + 3 > len) return p + 2 + base;
          if (!fromUser) {
            if (stamp) put32(buf, p + rp - 1, stamp.specDst);
            opt.isChanged = true;
          }
          if (write) buf[p + 2] = rp + 4;
          opt.rrNeedaddr = true;
        }
        opt.rr = p + base;
        break;
      }
      case IPOPT_TIMESTAMP: {
        if (opt.ts) return p + base;
        if (len < 4) return p + 1 + base;
        const tp = buf[p + 2];
        if (tp < 5) return p + 2 + base;
        const flag = buf[p + 3] & 0x0f;
        if (tp <= len) {
          if (tp + 3 > len) return p + 2 + base;
          // Where the time goes, when a received packet gets one.
          let timeAt = -1;
          let advance = 0;
          switch (flag) {
            case IPOPT_TS_TSONLY:
              timeAt = p + tp - 1;
              opt.tsNeedtime = true;
              advance = 4;
              break;
            case IPOPT_TS_TSANDADDR:
              if (tp + 7 > len) return p + 2 + base;
              if (stamp) put32(buf, p + tp - 1, stamp.specDst);
              timeAt = p + tp + 3;
              opt.tsNeedaddr = true;
              opt.tsNeedtime = true;
              advance = 8;
              break;
            case IPOPT_TS_PRESPEC:
              if (tp + 7 > len) return p + 2 + base;
              if (ctx?.isRemoteUnicast?.(get32(buf, p + tp - 1))) break;
              timeAt = p + tp + 3;
              opt.tsNeedtime = true;
              advance = 8;
              break;
            default:
              if (fromUser && !capNetRaw) return p + 3 + base;
              break;
          }
          if (!fromUser && timeAt >= 0) {
            if (stamp) put32(buf, timeAt, stamp.time);
            opt.isChanged = true;
          }
          if (write && advance) buf[p + 2] = tp + advance;
        } else if (flag !== IPOPT_TS_PRESPEC) {
          // The option is full: RFC 791 has the overflow count (high nibble) incremented, and a
          // count that would wrap is an error.
          const overflow = buf[p + 3] >>> 4;
          if (overflow === 15) return p + 3 + base;
          if (!fromUser) {
            if (write) buf[p + 3] = flag | ((overflow + 1) << 4);
            opt.isChanged = true;
          }
        }
        opt.ts = p + base;
        break;
      }
      case IPOPT_RA:
        if (len < 4) return p + 1 + base;
        if (buf[p + 2] === 0 && buf[p + 3] === 0) opt.routerAlert = p + base;
        break;
      case IPOPT_CIPSO:
        if ((fromUser && !capNetRaw) || opt.cipso) return p + base;
        opt.cipso = p + base;
        return p + (len < 8 ? 1 : 2) + base;
      default:
        // IPOPT_SEC, IPOPT_SID and unknown options pass through a router untouched.
        if (fromUser && !capNetRaw) return p + base;
        break;
    }
    l -= len;
    p += len;
  }
  return 0;
}

/** One option as found in a header: its type byte and the bytes after type and length. */
export interface Ipv4Option {
  type: number;
  /** Offset of the option from the start of the options. */
  offset: number;
  data: Uint8Array;
}

/**
 * Split options into a list (for tools and tests; the receive path uses ipOptionsCompile). Stops
 * at End of Options; null when a length byte is missing or runs past the end.
 */
export function ipv4OptionsList(buf: Uint8Array, off: number, len: number): Ipv4Option[] | null {
  const out: Ipv4Option[] = [];
  let i = 0;
  while (i < len) {
    const type = buf[off + i];
    if (type === IPOPT_END) break;
    if (type === IPOPT_NOOP) {
      out.push({ type, offset: i, data: EMPTY_BYTES });
      i++;
      continue;
    }
    if (i + 1 >= len) return null;
    const olen = buf[off + i + 1];
    if (olen < 2 || i + olen > len) return null;
    out.push({ type, offset: i, data: buf.subarray(off + i + 2, off + i + olen) });
    i += olen;
  }
  return out;
}

/** A record route option with room for `slots` addresses (RFC 791 "Record Route"). */
export function ipv4OptRecordRoute(slots: number): Uint8Array {
  const o = new Uint8Array(3 + 4 * slots);
  o[0] = IPOPT_RR;
  o[1] = o.length;
  o[2] = IPOPT_MINOFF;
  return o;
}

/** A loose or strict source route through `hops` (RFC 791 "Loose/Strict Source and Record Route"). */
export function ipv4OptSourceRoute(strict: boolean, hops: readonly number[]): Uint8Array {
  const o = new Uint8Array(3 + 4 * hops.length);
  o[0] = strict ? IPOPT_SSRR : IPOPT_LSRR;
  o[1] = o.length;
  o[2] = IPOPT_MINOFF;
  hops.forEach((a, i) => put32(o, 3 + 4 * i, a));
  return o;
}

/** An empty timestamp option of `slots` entries with `flag` (IPOPT_TS_*). */
export function ipv4OptTimestamp(flag: number, slots: number, prespec: readonly number[] = []): Uint8Array {
  const entry = flag === IPOPT_TS_TSONLY ? 4 : 8;
  const o = new Uint8Array(4 + entry * slots);
  o[0] = IPOPT_TIMESTAMP;
  o[1] = o.length;
  o[2] = 5;
  o[3] = flag & 0x0f;
  prespec.forEach((a, i) => put32(o, 4 + 8 * i, a));
  return o;
}

/** Router alert, value 0 (RFC 2113). */
export function ipv4OptRouterAlert(): Uint8Array {
  return Uint8Array.of(IPOPT_RA, 4, 0, 0);
}

/** The fields of an IPv4 header. */
export interface Ipv4Repr {
  src: number;
  dst: number;
  protocol: number;
  /** Bytes after the header (total length minus header length). */
  payloadLen: number;
  ttl: number;
  /** The whole TOS byte: DSCP << 2 | ECN. */
  tos: number;
  ident: number;
  dontFrag: boolean;
  moreFrags: boolean;
  /** In bytes, a multiple of 8. */
  fragOffset: number;
  /** Raw option bytes; emit pads them with End of Options to a multiple of four. */
  options: Uint8Array;
}

const scratchOpts = ipOptionsInit();

export const Ipv4Repr = {
  /**
   * The header of a datagram ip_rcv() accepts: check() with the checksum verified, and options
   * that ip_options_compile() accepts for a received packet.
   */
  parse(p: Ipv4Packet, out?: Ipv4Repr): Ipv4Repr | Ipv4Error {
    const err = p.check(true);
    if (err) return err;
    const optlen = p.optionsLen;
    if (optlen > 0 && ipOptionsCompile(p.buf, p.optionsOff, optlen, scratchOpts, 'packet') !== 0) {
      return 'bad-options';
    }
    const r = out ?? Ipv4Repr.empty();
    r.src = p.src;
    r.dst = p.dst;
    r.protocol = p.protocol;
    r.payloadLen = p.totalLen - p.headerLen;
    r.ttl = p.ttl;
    r.tos = p.tos;
    r.ident = p.ident;
    r.dontFrag = p.dontFrag;
    r.moreFrags = p.moreFrags;
    r.fragOffset = p.fragOffset;
    r.options = optlen > 0 ? p.options() : EMPTY_BYTES;
    return r;
  },

  empty(): Ipv4Repr {
    return {
      src: 0,
      dst: 0,
      protocol: 0,
      payloadLen: 0,
      ttl: IPDEFTTL,
      tos: 0,
      ident: 0,
      dontFrag: false,
      moreFrags: false,
      fragOffset: 0,
      options: EMPTY_BYTES,
    };
  },

  headerLen(repr: Ipv4Repr): number {
    return IPV4_HLEN + ((Math.min(repr.options.length, MAX_IPOPTLEN) + 3) & ~3);
  },

  bufferLen(repr: Ipv4Repr): number {
    return Ipv4Repr.headerLen(repr) + repr.payloadLen;
  },

  /**
   * Write the header at `off` (ip_build_and_send_pkt / __ip_queue_xmit, then ip_send_check());
   * the payload is expected after it. Options beyond MAX_IPOPTLEN are cut off (setsockopt
   * refuses them earlier). With fillChecksum false the checksum field is left 0. Returns the
   * header length.
   */
  emit(repr: Ipv4Repr, buf: Uint8Array, off: number, fillChecksum = true): number {
    const hlen = Ipv4Repr.headerLen(repr);
    buf[off] = (IPVERSION << 4) | (hlen >>> 2);
    buf[off + 1] = repr.tos;
    put16(buf, off + 2, hlen + repr.payloadLen);
    put16(buf, off + 4, repr.ident);
    put16(
      buf,
      off + 6,
      (repr.dontFrag ? IP_DF : 0) | (repr.moreFrags ? IP_MF : 0) | ((repr.fragOffset >>> 3) & IP_OFFSET),
    );
    buf[off + 8] = repr.ttl;
    buf[off + 9] = repr.protocol;
    put16(buf, off + 10, 0);
    put32(buf, off + 12, repr.src);
    put32(buf, off + 16, repr.dst);
    const olen = Math.min(repr.options.length, MAX_IPOPTLEN);
    if (olen > 0) {
      buf.set(olen === repr.options.length ? repr.options : repr.options.subarray(0, olen), off + IPV4_HLEN);
      buf.fill(IPOPT_END, off + IPV4_HLEN + olen, off + hlen);
    }
    if (fillChecksum) put16(buf, off + 10, csum_fold(csum_partial(buf, off, hlen, 0)));
    return hlen;
  },
};
