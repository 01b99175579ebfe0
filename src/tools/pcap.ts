// Classic libpcap capture files (https://www.tcpdump.org/manpages/pcap-savefile.5.html and
// draft-ietf-opsawg-pcap): a 24-byte file header, then one 16-byte record header per packet.
// Written little-endian, so a file depends only on the packets and their timestamps.

/** LINKTYPE_ETHERNET: Ethernet II frames (what tcpdump writes for Ethernet devices and for `lo`). */
export const LINKTYPE_ETHERNET = 1;
/** LINKTYPE_RAW: bare IPv4/IPv6 packets, for devices without a link-layer header. */
export const LINKTYPE_RAW = 101;

/** Magic of a file with microsecond timestamps. */
export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
/** Magic of a file with nanosecond timestamps. */
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;
/** tcpdump's default snapshot length (MAXIMUM_SNAPLEN). */
export const DEFAULT_SNAPLEN = 262144;

export type TimestampResolution = 'us' | 'ns';

/** One captured packet, as the writers take it and the readers return it. */
export interface PcapPacket {
  /** Timestamp in nanoseconds since the epoch of the file. */
  tsNs: number;
  /** The captured bytes (at most snaplen). */
  data: Uint8Array;
  /** The length of the packet on the wire (≥ data.length). */
  origLen: number;
}

export interface PcapOptions {
  linktype?: number;
  snaplen?: number;
  /** 'us' (the classic 0xa1b2c3d4 magic, tcpdump's default) or 'ns' (0xa1b23c4d). */
  resolution?: TimestampResolution;
  /** Seconds added to every timestamp (default 0: virtual time starts at the epoch). */
  epochSec?: number;
}

/** Write a classic pcap file holding `packets`. */
export function writePcap(packets: Iterable<PcapPacket>, opts: PcapOptions = {}): Buffer {
  const snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
  const ns = (opts.resolution ?? 'us') === 'ns';
  const epochSec = opts.epochSec ?? 0;
  const list = Array.from(packets);
  let size = PCAP_FILE_HEADER_LEN;
  for (const p of list) size += PCAP_RECORD_HEADER_LEN + Math.min(p.data.length, snaplen);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(ns ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, 0);
  out.writeUInt16LE(PCAP_VERSION_MAJOR, 4);
  out.writeUInt16LE(PCAP_VERSION_MINOR, 6);
  out.writeInt32LE(0, 8); // thiszone: timestamps are UTC
  out.writeUInt32LE(0, 12); // sigfigs
  out.writeUInt32LE(snaplen, 16);
  out.writeUInt32LE(opts.linktype ?? LINKTYPE_ETHERNET, 20);
  let off = PCAP_FILE_HEADER_LEN;
  for (const p of list) {
    const caplen = Math.min(p.data.length, snaplen);
    const sec = Math.floor(p.tsNs / 1e9);
    const frac = p.tsNs - sec * 1e9;
    out.writeUInt32LE((sec + epochSec) >>> 0, off);
    out.writeUInt32LE(ns ? frac : Math.floor(frac / 1e3), off + 4);
    out.writeUInt32LE(caplen, off + 8);
    out.writeUInt32LE(Math.max(p.origLen, caplen), off + 12);
    out.set(p.data.subarray(0, caplen), off + PCAP_RECORD_HEADER_LEN);
    off += PCAP_RECORD_HEADER_LEN + caplen;
  }
  return out;
}

export interface PcapFile {
  linktype: number;
  snaplen: number;
  resolution: TimestampResolution;
  packets: PcapPacket[];
}

/** Read a classic pcap file (either byte order, either resolution). Throws on a damaged file. */
export function readPcap(buf: Uint8Array): PcapFile {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < PCAP_FILE_HEADER_LEN) throw new Error('pcap: file shorter than its header');
  let le = true;
  let magic = b.readUInt32LE(0);
  if (magic !== PCAP_MAGIC_USEC && magic !== PCAP_MAGIC_NSEC) {
    le = false;
    magic = b.readUInt32BE(0);
    if (magic !== PCAP_MAGIC_USEC && magic !== PCAP_MAGIC_NSEC) throw new Error('pcap: bad magic');
  }
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const ns = magic === PCAP_MAGIC_NSEC;
  const file: PcapFile = {
    linktype: u32(20) & 0xffff,
    snaplen: u32(16),
    resolution: ns ? 'ns' : 'us',
    packets: [],
  };
  let off = PCAP_FILE_HEADER_LEN;
  while (off < b.length) {
    if (off + PCAP_RECORD_HEADER_LEN > b.length) throw new Error('pcap: truncated record header');
    const caplen = u32(off + 8);
    const end = off + PCAP_RECORD_HEADER_LEN + caplen;
    if (end > b.length) throw new Error('pcap: truncated packet');
    file.packets.push({
      tsNs: u32(off) * 1e9 + u32(off + 4) * (ns ? 1 : 1e3),
      data: new Uint8Array(b.subarray(off + PCAP_RECORD_HEADER_LEN, end)),
      origLen: u32(off + 12),
    });
    off = end;
  }
  return file;
}
