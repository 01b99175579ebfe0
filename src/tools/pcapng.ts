// pcapng capture files (draft-ietf-opsawg-pcapng): a Section Header Block, one Interface
// Description Block per captured interface (with its name and timestamp resolution), then one
// Enhanced Packet Block per packet (with the direction it travelled in epb_flags). Written
// little-endian with no host details, so the same packets always give the same bytes.

import { DEFAULT_SNAPLEN, LINKTYPE_ETHERNET, type TimestampResolution } from './pcap.js';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
export const BT_SPB = 0x00000003;
export const BT_EPB = 0x00000006;
export const BT_ISB = 0x00000005;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

// Option codes.
export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const SHB_HARDWARE = 2;
export const SHB_OS = 3;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
export const IF_DESCRIPTION = 3;
export const IF_TSRESOL = 9;
export const EPB_FLAGS = 2;

/** epb_flags bits 0-1: the direction of the packet. */
export const EPB_DIR_UNKNOWN = 0;
export const EPB_DIR_INBOUND = 1;
export const EPB_DIR_OUTBOUND = 2;
/** epb_flags bits 2-4: how an inbound packet was addressed. */
export const EPB_RECEPTION_UNICAST = 1 << 2;
export const EPB_RECEPTION_MULTICAST = 2 << 2;
export const EPB_RECEPTION_BROADCAST = 3 << 2;
export const EPB_RECEPTION_PROMISCUOUS = 4 << 2;

export interface PcapngInterface {
  /** if_name: the interface name (as `ip link` shows it). */
  name: string;
  /** if_description, if any. */
  description?: string;
  linktype?: number;
  snaplen?: number;
}

export interface PcapngPacket {
  /** Index of the interface (order of the interfaces given to the writer). */
  ifIndex: number;
  /** Timestamp in nanoseconds since the epoch of the file. */
  tsNs: number;
  data: Uint8Array;
  origLen: number;
  /** epb_flags; 0 writes no option. */
  flags?: number;
}

export interface PcapngOptions {
  /** 'ns' (default: if_tsresol = 9) or 'us' (the pcapng default resolution, no option written). */
  resolution?: TimestampResolution;
  /** shb_userappl (default "usernet"). */
  application?: string;
  /** Seconds added to every timestamp (default 0). */
  epochSec?: number;
}

const enc = new TextEncoder();

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Options as bytes: each code, length and value padded to 32 bits, then opt_endofopt. */
function encodeOptions(opts: [number, Uint8Array][]): Uint8Array {
  if (opts.length === 0) return new Uint8Array(0);
  let len = 4;
  for (const [, v] of opts) len += 4 + pad4(v.length);
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  let off = 0;
  for (const [code, v] of opts) {
    dv.setUint16(off, code, true);
    dv.setUint16(off + 2, v.length, true);
    out.set(v, off + 4);
    off += 4 + pad4(v.length);
  }
  // opt_endofopt: code 0, length 0 (already zero).
  return out;
}

/** A block: type, total length, body, total length again. */
function block(type: number, body: Uint8Array): Uint8Array {
  const total = 12 + body.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(4, total, true);
  out.set(body, 8);
  dv.setUint32(total - 4, total, true);
  return out;
}

/** Builds a pcapng section block by block; `toBuffer()` gives the file. */
export class PcapngWriter {
  private readonly chunks: Uint8Array[] = [];
  private readonly snaplens: number[] = [];
  private readonly ns: boolean;
  private readonly epochNs: bigint;

  constructor(opts: PcapngOptions = {}) {
    this.ns = (opts.resolution ?? 'ns') === 'ns';
    this.epochNs = BigInt(opts.epochSec ?? 0) * 1_000_000_000n;
    const options = encodeOptions([[SHB_USERAPPL, enc.encode(opts.application ?? 'usernet')]]);
    const body = new Uint8Array(16 + options.length);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, BYTE_ORDER_MAGIC, true);
    dv.setUint16(4, 1, true); // major version
    dv.setUint16(6, 0, true); // minor version
    dv.setBigInt64(8, -1n, true); // section length: not given
    body.set(options, 16);
    this.chunks.push(block(BT_SHB, body));
  }

  /** Add an Interface Description Block; returns the interface's index for addPacket. */
  addInterface(iface: PcapngInterface): number {
    const opts: [number, Uint8Array][] = [[IF_NAME, enc.encode(iface.name)]];
    if (iface.description !== undefined) opts.push([IF_DESCRIPTION, enc.encode(iface.description)]);
    if (this.ns) opts.push([IF_TSRESOL, Uint8Array.of(9)]);
    const options = encodeOptions(opts);
    const body = new Uint8Array(8 + options.length);
    const dv = new DataView(body.buffer);
    const snaplen = iface.snaplen ?? DEFAULT_SNAPLEN;
    dv.setUint16(0, iface.linktype ?? LINKTYPE_ETHERNET, true);
    dv.setUint32(4, snaplen, true);
    body.set(options, 8);
    this.chunks.push(block(BT_IDB, body));
    this.snaplens.push(snaplen);
    return this.snaplens.length - 1;
  }

  /** Add an Enhanced Packet Block on interface `p.ifIndex`. */
  addPacket(p: PcapngPacket): void {
    const snaplen = this.snaplens[p.ifIndex];
    if (snaplen === undefined) throw new RangeError(`pcapng: no interface ${p.ifIndex}`);
    const caplen = Math.min(p.data.length, snaplen || p.data.length);
    const options = p.flags ? encodeOptions([[EPB_FLAGS, u32le(p.flags)]]) : new Uint8Array(0);
    const body = new Uint8Array(20 + pad4(caplen) + options.length);
    const dv = new DataView(body.buffer);
    const ns = BigInt(Math.round(p.tsNs)) + this.epochNs;
    const ts = this.ns ? ns : ns / 1000n;
    dv.setUint32(0, p.ifIndex, true);
    dv.setUint32(4, Number(ts >> 32n), true);
    dv.setUint32(8, Number(ts & 0xffffffffn), true);
    dv.setUint32(12, caplen, true);
    dv.setUint32(16, Math.max(p.origLen, caplen), true);
    body.set(p.data.subarray(0, caplen), 20);
    body.set(options, 20 + pad4(caplen));
    this.chunks.push(block(BT_EPB, body));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

/** Write a pcapng file: the interfaces, then the packets. */
export function writePcapng(
  interfaces: PcapngInterface[],
  packets: Iterable<PcapngPacket>,
  opts: PcapngOptions = {},
): Buffer {
  const w = new PcapngWriter(opts);
  for (const i of interfaces) w.addInterface(i);
  for (const p of packets) w.addPacket(p);
  return w.toBuffer();
}

export interface PcapngFileInterface {
  name: string | null;
  description: string | null;
  linktype: number;
  snaplen: number;
  /** if_tsresol exponent (10^-tsresol s units); 6 when absent. */
  tsresol: number;
}

export interface PcapngFile {
  application: string | null;
  interfaces: PcapngFileInterface[];
  packets: Required<PcapngPacket>[];
}

const dec = new TextDecoder();

/** Read options from `off` to `end`, calling `fn(code, value)` for each. */
function readOptions(
  dv: DataView,
  b: Uint8Array,
  off: number,
  end: number,
  fn: (c: number, v: Uint8Array) => void,
) {
  while (off + 4 <= end) {
    const code = dv.getUint16(off, true);
    const len = dv.getUint16(off + 2, true);
    if (code === OPT_ENDOFOPT) return;
    if (off + 4 + len > end) throw new Error('pcapng: option runs past its block');
    fn(code, b.subarray(off + 4, off + 4 + len));
    off += 4 + pad4(len);
  }
}

/**
 * Read a little-endian pcapng file (as written here, by dumpcap on x86, …): its interfaces and
 * Enhanced Packet Blocks, with timestamps converted to nanoseconds. Throws on a damaged file.
 */
export function readPcapng(buf: Uint8Array): PcapngFile {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const file: PcapngFile = { application: null, interfaces: [], packets: [] };
  let off = 0;
  while (off < buf.length) {
    if (off + 12 > buf.length) throw new Error('pcapng: truncated block header');
    const type = dv.getUint32(off, true);
    const total = dv.getUint32(off + 4, true);
    if (total < 12 || total % 4 !== 0 || off + total > buf.length)
      throw new Error('pcapng: bad block length');
    if (dv.getUint32(off + total - 4, true) !== total) throw new Error('pcapng: block lengths differ');
    const body = off + 8;
    const end = off + total - 4;
    if (type === BT_SHB) {
      if (dv.getUint32(body, true) !== BYTE_ORDER_MAGIC) throw new Error('pcapng: not little-endian');
      file.interfaces = [];
      readOptions(dv, buf, body + 16, end, (c, v) => {
        if (c === SHB_USERAPPL) file.application = dec.decode(v);
      });
    } else if (type === BT_IDB) {
      const i: PcapngFileInterface = {
        name: null,
        description: null,
        linktype: dv.getUint16(body, true),
        snaplen: dv.getUint32(body + 4, true),
        tsresol: 6,
      };
      readOptions(dv, buf, body + 8, end, (c, v) => {
        if (c === IF_NAME) i.name = dec.decode(v);
        else if (c === IF_DESCRIPTION) i.description = dec.decode(v);
        else if (c === IF_TSRESOL) {
          if (v[0] & 0x80) throw new Error('pcapng: power-of-two if_tsresol not supported');
          i.tsresol = v[0];
        }
      });
      file.interfaces.push(i);
    } else if (type === BT_EPB) {
      const ifIndex = dv.getUint32(body, true);
      const iface = file.interfaces[ifIndex];
      if (!iface) throw new Error(`pcapng: packet on unknown interface ${ifIndex}`);
      const ts = (BigInt(dv.getUint32(body + 4, true)) << 32n) | BigInt(dv.getUint32(body + 8, true));
      const caplen = dv.getUint32(body + 12, true);
      if (body + 20 + caplen > end) throw new Error('pcapng: packet runs past its block');
      let flags = 0;
      readOptions(dv, buf, body + 20 + pad4(caplen), end, (c, v) => {
        if (c === EPB_FLAGS && v.length === 4)
          flags = new DataView(v.buffer, v.byteOffset, 4).getUint32(0, true);
      });
      const tsNs =
        iface.tsresol >= 9 ? ts / 10n ** BigInt(iface.tsresol - 9) : ts * 10n ** BigInt(9 - iface.tsresol);
      file.packets.push({
        ifIndex,
        tsNs: Number(tsNs),
        data: new Uint8Array(buf.subarray(body + 20, body + 20 + caplen)),
        origLen: dv.getUint32(body + 16, true),
        flags,
      });
    }
    off += total;
  }
  return file;
}
