// struct sk_buff and struct sk_buff_head (include/linux/skbuff.h): a view into a byte buffer
// with headroom (head ≤ data ≤ tail ≤ end), queued on intrusive doubly linked lists.

import type { Sock } from './sock.js';
import type { NetDevice } from './netdevice.js';
import type { TsortedAnchor } from '../ipv4/tcp_sock.js';

/** skb->pkt_type (include/uapi/linux/if_packet.h). */
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;
export const PACKET_LOOPBACK = 5;

/** skb->ip_summed. */
export const CHECKSUM_NONE = 0;
export const CHECKSUM_UNNECESSARY = 1;
export const CHECKSUM_COMPLETE = 2;
export const CHECKSUM_PARTIAL = 3;

/** struct skb_shared_info, as far as sharing goes: how many skbs point at one head. */
export class SkbSharedInfo {
  dataref = 1;
}

/** SKB_DATA_ALIGN(sizeof(struct sk_buff)) and SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), x86_64. */
export const SKB_HEAD_OVERHEAD = 256;
export const SKB_SHINFO_SIZE = 320;
export const PAGE_SIZE = 4096;
/** SKB_MAX_HEAD(0): the largest linear part that fits one page with its shared info. */
export const SKB_MAX_HEAD0 = PAGE_SIZE - SKB_SHINFO_SIZE;

/** SKB_TRUESIZE(X). */
export function SKB_TRUESIZE(size: number): number {
  return size + SKB_HEAD_OVERHEAD + SKB_SHINFO_SIZE;
}

/** kmalloc_size_roundup() for the sizes an skb head takes (the kmalloc-512 … power-of-two caches). */
export function kmalloc_size_roundup(size: number): number {
  if (size <= 512) return 512;
  let s = 1024;
  while (s < size) s *= 2;
  return s;
}

/**
 * The truesize __alloc_skb() gives a head of `header_len` bytes plus `data_len` bytes in page
 * fragments (alloc_skb_with_frags): the head is rounded to its kmalloc cache, the fragments to pages.
 */
export function skb_truesize_for(header_len: number, data_len: number): number {
  const osize = kmalloc_size_roundup(SKB_DATA_ALIGN(header_len) + SKB_SHINFO_SIZE);
  const pages = Math.ceil(data_len / PAGE_SIZE);
  return SKB_TRUESIZE(osize - SKB_SHINFO_SIZE) + pages * PAGE_SIZE;
}

export function SKB_DATA_ALIGN(size: number): number {
  return (size + 63) & ~63;
}

export class SkBuff {
  next: SkBuff | null = null;
  prev: SkBuff | null = null;
  /** Queue the skb is on. */
  list: SkBuffHead | null = null;
  sk: Sock | null = null;
  /** Bytes charged to the owning socket's memory. */
  truesize: number;
  destructor: ((skb: SkBuff) => void) | null = null;
  /** Protocol-private control block (the kernel's skb->cb[48]). */
  cb: unknown = null;
  /** The device the packet arrived on or leaves by. */
  dev: NetDevice | null = null;
  /** The device it first came in on, before any stacking (skb->skb_iif). */
  skb_iif = 0;
  /** Link-level protocol (ETH_P_*), host order. */
  protocol = 0;
  pkt_type = PACKET_HOST;
  ip_summed = CHECKSUM_NONE;
  /** Header offsets into `head`; -1 when unset. */
  mac_header = -1;
  network_header = -1;
  transport_header = -1;
  /**
   * Arrival time on the world clock (ns), or on the way out the earliest departure time its
   * sender asks for (TCP's EDT stamp; 0: as soon as possible).
   */
  tstamp = 0;
  /** qdisc_skb_cb: when a queue discipline will let the packet go (ns), and its band. */
  tc_time_to_send = 0;
  tc_band = 0;
  mark = 0;
  priority = 0;
  /** The route the packet follows (skb_dst), set by the network layer. */
  dst: unknown = null;
  /** Shared head accounting, present once the skb has been cloned. */
  shinfo: SkbSharedInfo | null = null;
  /** skb->cloned: the head is shared; write to it only after skb_unshare. */
  cloned = false;

  // skb->cb as TCP uses it (struct tcp_skb_cb, read through TCP_SKB_CB; the fields are described
  // on TcpSkbCb). Declared here, as skb->cb is part of every sk_buff, so that every skb has one
  // shape from birth: fields added later, in a different order on each path (sent, received,
  // control skbs), gave V8 several shapes to tell apart on every access, and past the object's
  // in-object room, a separate property store per skb.
  seq = 0;
  end_seq = 0;
  tcp_flags = 0;
  sacked = 0;
  ack_seq = 0;
  tcp_tstamp = 0;
  ip_dsfield = 0;
  tcp_gso_segs = 0;
  tcp_gso_size = 0;
  eor = 0;
  tw_isn = 0;
  tx_delivered = 0;
  tx_order = 0;
  tso_end = 0;
  tsorted_next: TsortedAnchor | null = null;
  tsorted_prev: TsortedAnchor | null = null;

  /** `truesize`: when the caller knows it (a clone, a sized allocation), not computed twice. */
  constructor(
    public head: Uint8Array,
    public data: number,
    public tail: number,
    truesize = skb_truesize_for(head.length, 0),
  ) {
    this.truesize = truesize;
  }

  get end(): number {
    return this.head.length;
  }

  /** Bytes of data (skb->len). */
  get len(): number {
    return this.tail - this.data;
  }

  /** The data as a view (no copy). */
  bytes(): Uint8Array {
    return this.head.subarray(this.data, this.tail);
  }

  /** skb_put(): extend the data at the tail; returns the offset of the new room. */
  put(len: number): number {
    const at = this.tail;
    this.tail += len;
    return at;
  }

  /** skb_pull(): drop `len` bytes from the front. */
  pull(len: number): void {
    this.data += len;
  }

  /** skb_push(): grow the data into the headroom. */
  push(len: number): number {
    this.data -= len;
    return this.data;
  }

  /** skb_reserve(): make headroom in an empty skb. */
  reserve(len: number): void {
    this.data += len;
    this.tail += len;
  }

  /** skb_headroom(). */
  headroom(): number {
    return this.data;
  }

  /** skb_tailroom(). */
  tailroom(): number {
    return this.head.length - this.tail;
  }

  /** skb_trim(): cut the data to `len` bytes. */
  trim(len: number): void {
    if (len < this.len) this.tail = this.data + len;
  }

  reset_mac_header(): void {
    this.mac_header = this.data;
  }
  reset_network_header(): void {
    this.network_header = this.data;
  }
  reset_transport_header(): void {
    this.transport_header = this.data;
  }
  set_transport_header(off: number): void {
    this.transport_header = this.data + off;
  }
}

/** skb_clone(): a second skb over the same bytes (the head is shared, not copied). */
export function skb_clone(skb: SkBuff): SkBuff {
  const n = new SkBuff(skb.head, skb.data, skb.tail, skb.truesize);
  if (!skb.shinfo) skb.shinfo = new SkbSharedInfo();
  skb.shinfo.dataref++;
  n.shinfo = skb.shinfo;
  n.cloned = skb.cloned = true;
  n.dev = skb.dev;
  n.skb_iif = skb.skb_iif;
  n.protocol = skb.protocol;
  n.pkt_type = skb.pkt_type;
  n.ip_summed = skb.ip_summed;
  n.mac_header = skb.mac_header;
  n.network_header = skb.network_header;
  n.transport_header = skb.transport_header;
  n.tstamp = skb.tstamp;
  n.mark = skb.mark;
  n.priority = skb.priority;
  n.dst = skb.dst;
  return n;
}

/** skb_copy(): a private copy of head and data (same headroom). */
export function skb_copy(skb: SkBuff): SkBuff {
  const head = head_alloc(skb.head.length);
  head.set(skb.head.subarray(0, skb.tail));
  const n = skb_clone(skb);
  // Undo the sharing skb_clone set up: the copy owns its own head.
  if (--skb.shinfo!.dataref === 1) skb.cloned = false;
  n.head = head;
  n.shinfo = null;
  n.cloned = false;
  return n;
}

/** skb_unshare(): make the head private before writing to it. */
export function skb_unshare(skb: SkBuff): SkBuff {
  if (!skb.cloned || !skb.shinfo || skb.shinfo.dataref === 1) {
    skb.cloned = false;
    return skb;
  }
  const n = skb_copy(skb);
  n.sk = skb.sk;
  n.destructor = skb.destructor;
  skb.destructor = null;
  kfree_skb(skb);
  return n;
}

/** skb_headers_offset_update-free alloc for the network path: `size` bytes with `headroom` reserved. */
export function netdev_alloc_skb(headroom: number, size: number): SkBuff {
  const skb = new SkBuff(head_alloc(headroom + size), 0, 0);
  skb.reserve(headroom);
  return skb;
}

/**
 * An empty skb of `size` bytes whose recycled head is not cleared: for a caller that writes every
 * byte it exposes (TCP copies the payload in and writes each header in full), as the kernel's
 * skb data is never cleared either.
 */
export function alloc_skb_nozero(size: number): SkBuff {
  return new SkBuff(head_alloc(size, false), 0, 0);
}

/** alloc_skb(size): an empty skb with `size` bytes of room. */
export function alloc_skb(size: number): SkBuff {
  return new SkBuff(head_alloc(size), 0, 0);
}

// The skb head cache (kmem_cache for skb data): heads of 1 KiB and up come from per-power-of-two
// free lists of ArrayBuffers, so a bulk transfer neither zeroes nor garbage-collects its buffers.
const HEAD_CACHE_MIN = 1024;
/**
 * How many free heads of 2^order bytes the cache keeps: 1 MiB of each size, and at least 32. A
 * window of datagrams in flight (hundreds of 2 KiB heads) must fit, or every packet would
 * allocate a fresh buffer and drop a freed one.
 */
function head_cache_depth(order: number): number {
  return Math.max(32, (1 << 20) >>> order);
}
const headCache: ArrayBuffer[][] = [];

// Small heads (below HEAD_CACHE_MIN) are carved from a shared fragment buffer, as
// napi_alloc_frag / page_frag_alloc carve them from a page: each `new Uint8Array(n)` of its own
// would allocate and track a separate backing store (V8 keeps only typed arrays of 64 bytes or
// less on its heap), which costs more than the packet's trip through the stack. A carved head is
// a view of its own size, zero like a fresh one (the buffer is never reused: it is garbage once
// every head carved from it is), and never goes back to the head cache (head_free only takes
// heads of HEAD_CACHE_MIN and up).
const FRAG_BUF_SIZE = 32 * 1024;
let fragBuf = new ArrayBuffer(FRAG_BUF_SIZE);
let fragOff = 0;

function head_alloc(size: number, zero = true): Uint8Array {
  if (size < HEAD_CACHE_MIN) {
    if (size === 0) return new Uint8Array(0);
    // 8-byte aligned, as a kmalloc'd head is.
    const need = (size + 7) & ~7;
    if (fragOff + need > FRAG_BUF_SIZE) {
      fragBuf = new ArrayBuffer(FRAG_BUF_SIZE);
      fragOff = 0;
    }
    const h = new Uint8Array(fragBuf, fragOff, size);
    fragOff += need;
    return h;
  }
  const order = 32 - Math.clz32(size - 1);
  const free = headCache[order];
  if (free && free.length) {
    // A recycled head starts zeroed, like a fresh one: nothing of an earlier packet shows.
    const h = new Uint8Array(free.pop()!, 0, size);
    if (zero) h.fill(0);
    return h;
  }
  return new Uint8Array(new ArrayBuffer(1 << order), 0, size);
}

function head_free(head: Uint8Array): void {
  const ab = head.buffer as ArrayBuffer;
  const len = ab.byteLength;
  if (len < HEAD_CACHE_MIN || (len & (len - 1)) !== 0) return;
  const order = 31 - Math.clz32(len);
  const free = (headCache[order] ??= []);
  if (free.length < head_cache_depth(order)) free.push(ab);
}

const EMPTY_HEAD = new Uint8Array(0);

/** alloc_skb_with_frags(): room for `header_len + data_len` bytes, charged as Linux charges it. */
export function alloc_skb_with_frags(header_len: number, data_len: number, zero = true): SkBuff {
  return new SkBuff(head_alloc(header_len + data_len, zero), 0, 0, skb_truesize_for(header_len, data_len));
}

/** skb_orphan(): detach the skb from its socket, returning the memory it was charged. */
export function skb_orphan(skb: SkBuff): void {
  if (skb.destructor) {
    const d = skb.destructor;
    skb.destructor = null;
    d(skb);
  }
  skb.sk = null;
}

/** kfree_skb() / consume_skb(): run the destructor, which uncharges the owner. */
export function kfree_skb(skb: SkBuff): void {
  if (skb.destructor) {
    const d = skb.destructor;
    skb.destructor = null;
    d(skb);
  }
  skb.sk = null;
  skb.dst = null;
  // A shared head goes back to the pool with its last user only.
  const shared = skb.shinfo !== null && --skb.shinfo.dataref > 0;
  if (!shared && skb.head.length >= HEAD_CACHE_MIN) head_free(skb.head);
  skb.shinfo = null;
  if (skb.head.length >= HEAD_CACHE_MIN) {
    skb.head = EMPTY_HEAD;
    skb.data = skb.tail = 0;
  }
}
export const consume_skb = kfree_skb;

export class SkBuffHead {
  first: SkBuff | null = null;
  last: SkBuff | null = null;
  qlen = 0;

  /** skb_queue_tail(). */
  tail(skb: SkBuff): void {
    skb.list = this;
    skb.next = null;
    skb.prev = this.last;
    if (this.last) this.last.next = skb;
    else this.first = skb;
    this.last = skb;
    this.qlen++;
  }

  /** skb_queue_head(). */
  head(skb: SkBuff): void {
    skb.list = this;
    skb.prev = null;
    skb.next = this.first;
    if (this.first) this.first.prev = skb;
    else this.last = skb;
    this.first = skb;
    this.qlen++;
  }

  /** skb_peek(). */
  peek(): SkBuff | null {
    return this.first;
  }

  /** skb_peek_tail(). */
  peek_tail(): SkBuff | null {
    return this.last;
  }

  /** skb_dequeue(). */
  dequeue(): SkBuff | null {
    const skb = this.first;
    if (skb) this.unlink(skb);
    return skb;
  }

  /** skb_unlink(). */
  unlink(skb: SkBuff): void {
    if (skb.prev) skb.prev.next = skb.next;
    else this.first = skb.next;
    if (skb.next) skb.next.prev = skb.prev;
    else this.last = skb.prev;
    skb.next = skb.prev = null;
    skb.list = null;
    this.qlen--;
  }

  empty(): boolean {
    return this.qlen === 0;
  }

  /** skb_queue_purge(). */
  purge(): void {
    let skb: SkBuff | null;
    while ((skb = this.dequeue())) kfree_skb(skb);
  }

  *[Symbol.iterator](): Generator<SkBuff> {
    for (let s = this.first; s; s = s.next) yield s;
  }
}
