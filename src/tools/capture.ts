// Packet capture on any device, as tcpdump/dumpcap do through an AF_PACKET socket: a tap on the
// device's ptype_all list (NetDevice.taps) sees every frame the device transmits
// (dev_queue_xmit_nit) and receives (__netif_receive_skb), stamped with the world clock. Virtual
// time makes the files deterministic: the same seed and program give the same bytes.

import { writeFileSync } from 'node:fs';
import type { NetDevice, NetdevTap } from '../net/core/netdevice.js';
import {
  PACKET_BROADCAST,
  PACKET_HOST,
  PACKET_MULTICAST,
  PACKET_OTHERHOST,
  CHECKSUM_PARTIAL,
  type SkBuff,
} from '../net/core/skbuff.js';
import { csum_finish_partial, csum_partial, csum_tcpudp_magic } from '../wire/checksum.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../uapi/in.js';
import { ARPHRD_ETHER, ARPHRD_LOOPBACK, ETH_HLEN, IFF_LOOPBACK } from '../uapi/if.js';
import {
  DEFAULT_SNAPLEN,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  writePcap,
  type TimestampResolution,
} from './pcap.js';
import {
  EPB_DIR_INBOUND,
  EPB_DIR_OUTBOUND,
  EPB_RECEPTION_BROADCAST,
  EPB_RECEPTION_MULTICAST,
  EPB_RECEPTION_PROMISCUOUS,
  EPB_RECEPTION_UNICAST,
  writePcapng,
} from './pcapng.js';

export interface CaptureOptions {
  /** Bytes kept of each frame (tcpdump -s; default 262144). */
  snaplen?: number;
  /** Which frames to keep (tcpdump -Q; default 'both'). */
  direction?: 'both' | 'in' | 'out';
  /** Keep at most this many frames (default: no limit); later ones are counted in `dropped`. */
  limit?: number;
}

export interface CaptureInterface {
  dev: NetDevice;
  /** if_name in pcapng files. */
  name: string;
  linktype: number;
}

export interface CapturedFrame {
  /** Index into Capture.interfaces. */
  ifIndex: number;
  /** World clock time, nanoseconds. */
  tsNs: number;
  /** The frame from its link-layer header, cut to the snap length. */
  data: Uint8Array;
  /** The frame's full length. */
  origLen: number;
  outgoing: boolean;
  /** skb->pkt_type as the receiving device classified it (PACKET_*). */
  pktType: number;
}

export interface WriteOptions {
  /** Timestamp resolution: pcap defaults to 'us' (tcpdump's format), pcapng to 'ns'. */
  resolution?: TimestampResolution;
  /** Seconds added to every timestamp (default 0: the world starts at the epoch). */
  epochSec?: number;
}

/** The link type a device's frames are written with (dumpcap's mapping of ARPHRD_*). */
export function linktypeOf(dev: NetDevice): number {
  if (dev.type === ARPHRD_ETHER || dev.type === ARPHRD_LOOPBACK) return LINKTYPE_ETHERNET;
  return dev.hard_header_len === ETH_HLEN ? LINKTYPE_ETHERNET : LINKTYPE_RAW;
}

/**
 * A UDP datagram or TCP segment sent through lo leaves its checksum to the device
 * (CHECKSUM_PARTIAL): a UDP datagram carries only the pseudo-header sum, and a TCP segment here
 * carries zero where Linux's carries the pseudo-header sum. A capture shows the finished
 * checksum, as a NIC would put it on the wire, so that readers validating checksums see a
 * correct packet. (tcpdump on Linux's lo shows the partial value instead: see
 * docs/differences.md.)
 */
function finish_l4_checksum(f: Uint8Array): void {
  if (f.length < 14 + 20 || ((f[12] << 8) | f[13]) !== 0x0800) return;
  const ihl = (f[14] & 15) * 4;
  const totLen = (f[16] << 8) | f[17];
  const l4 = 14 + ihl;
  const proto = f[23];
  // A fragment holds part of a datagram: only a whole one can be summed.
  if (((f[20] << 8) | f[21]) & 0x3fff) return;
  if (14 + totLen > f.length || totLen < ihl) return;
  const len = 14 + totLen - l4;
  if (proto === IPPROTO_UDP && len >= 8) {
    csum_finish_partial(f, l4, len, 6);
  } else if (proto === IPPROTO_TCP && len >= 20) {
    // Sum from scratch (pseudo-header included): whatever the field holds is replaced.
    f[l4 + 16] = 0;
    f[l4 + 17] = 0;
    const saddr = ((f[26] << 24) | (f[27] << 16) | (f[28] << 8) | f[29]) >>> 0;
    const daddr = ((f[30] << 24) | (f[31] << 16) | (f[32] << 8) | f[33]) >>> 0;
    const c = csum_tcpudp_magic(saddr, daddr, len, IPPROTO_TCP, csum_partial(f, l4, len, 0));
    f[l4 + 16] = c >>> 8;
    f[l4 + 17] = c & 0xff;
  }
}

/** A running capture on one or more devices. */
export class Capture {
  readonly interfaces: CaptureInterface[] = [];
  readonly frames: CapturedFrame[] = [];
  /** Frames seen after the limit was reached. */
  dropped = 0;
  private readonly taps: NetdevTap[] = [];
  private readonly snaplen: number;
  private readonly wantIn: boolean;
  private readonly wantOut: boolean;
  private readonly limit: number;
  private stopped = false;

  constructor(opts: CaptureOptions = {}) {
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    const dir = opts.direction ?? 'both';
    this.wantIn = dir !== 'out';
    this.wantOut = dir !== 'in';
    this.limit = opts.limit ?? Number.POSITIVE_INFINITY;
  }

  /** Start capturing on `dev`, named `name` in pcapng files (default: the device name). */
  attach(dev: NetDevice, name: string = dev.name): this {
    if (this.stopped) throw new Error('capture: stopped');
    if (this.interfaces.some((i) => i.dev === dev)) return this;
    const ifIndex = this.interfaces.length;
    this.interfaces.push({ dev, name, linktype: linktypeOf(dev) });
    // libpcap drops what lo sends: each looped-back frame is seen once, as it comes back in.
    const loopback = (dev.flags & IFF_LOOPBACK) !== 0;
    const tap: NetdevTap = (skb, d, outgoing) => {
      if (outgoing ? !this.wantOut || loopback : !this.wantIn) return;
      this.record(ifIndex, skb, d, outgoing);
    };
    this.taps.push(tap);
    dev.taps.push(tap);
    return this;
  }

  private record(ifIndex: number, skb: SkBuff, dev: NetDevice, outgoing: boolean): void {
    if (this.frames.length >= this.limit) {
      this.dropped++;
      return;
    }
    // Sent frames start at skb->data (the driver's view); received ones at the MAC header that
    // eth_type_trans pulled.
    const start = !outgoing && skb.mac_header >= 0 && skb.mac_header <= skb.data ? skb.mac_header : skb.data;
    const origLen = skb.tail - start;
    const caplen = Math.min(origLen, this.snaplen);
    // A copy: the skb's bytes are reused or rewritten once it moves on.
    const data = skb.head.slice(start, start + caplen);
    if (skb.ip_summed === CHECKSUM_PARTIAL && caplen === origLen) finish_l4_checksum(data);
    this.frames.push({
      ifIndex,
      tsNs: dev.nd_net.kernel.clock.now(),
      data,
      origLen,
      outgoing,
      pktType: skb.pkt_type,
    });
  }

  /** Stop capturing (the frames stay). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.interfaces.forEach((iface, i) => {
      const at = iface.dev.taps.indexOf(this.taps[i]);
      if (at >= 0) iface.dev.taps.splice(at, 1);
    });
  }

  get running(): boolean {
    return !this.stopped;
  }

  /** Forget the frames captured so far. */
  clear(): void {
    this.frames.length = 0;
    this.dropped = 0;
  }

  /** A classic pcap file (all interfaces must share one link type). */
  toPcap(opts: WriteOptions = {}): Buffer {
    const types = new Set(this.interfaces.map((i) => i.linktype));
    if (types.size > 1) throw new Error('capture: devices of different link types need pcapng');
    return writePcap(this.frames, {
      linktype: this.interfaces[0]?.linktype ?? LINKTYPE_ETHERNET,
      snaplen: this.snaplen,
      resolution: opts.resolution ?? 'us',
      epochSec: opts.epochSec,
    });
  }

  /** A pcapng file: one interface block per device, direction flags on every packet. */
  toPcapng(opts: WriteOptions = {}): Buffer {
    return writePcapng(
      this.interfaces.map((i) => ({ name: i.name, linktype: i.linktype, snaplen: this.snaplen })),
      this.frames.map((f) => ({
        ifIndex: f.ifIndex,
        tsNs: f.tsNs,
        data: f.data,
        origLen: f.origLen,
        flags: f.outgoing ? EPB_DIR_OUTBOUND : EPB_DIR_INBOUND | reception(f.pktType),
      })),
      { resolution: opts.resolution ?? 'ns', epochSec: opts.epochSec },
    );
  }

  /** Write a classic pcap file to `path`. */
  writePcap(path: string, opts?: WriteOptions): void {
    writeFileSync(path, this.toPcap(opts));
  }

  /** Write a pcapng file to `path`. */
  writePcapng(path: string, opts?: WriteOptions): void {
    writeFileSync(path, this.toPcapng(opts));
  }

  /** Write to `path`: pcapng when it ends in .pcapng, classic pcap otherwise. */
  write(path: string, opts?: WriteOptions): void {
    if (path.endsWith('.pcapng')) this.writePcapng(path, opts);
    else this.writePcap(path, opts);
  }
}

/** epb_flags reception type of an inbound frame, from skb->pkt_type. */
function reception(pktType: number): number {
  switch (pktType) {
    case PACKET_HOST:
      return EPB_RECEPTION_UNICAST;
    case PACKET_BROADCAST:
      return EPB_RECEPTION_BROADCAST;
    case PACKET_MULTICAST:
      return EPB_RECEPTION_MULTICAST;
    case PACKET_OTHERHOST:
      return EPB_RECEPTION_PROMISCUOUS;
    default:
      return 0;
  }
}
