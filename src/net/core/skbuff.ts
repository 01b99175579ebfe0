// struct sk_buff and struct sk_buff_head (include/linux/skbuff.h): a view into a byte buffer
// with headroom (head ≤ data ≤ tail ≤ end), queued on intrusive doubly linked lists.

import type { Sock } from './sock.js';

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

  constructor(
    public head: Uint8Array,
    public data: number,
    public tail: number,
  ) {
    this.truesize = skb_truesize_for(head.length, 0);
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
}

/** alloc_skb(size): an empty skb with `size` bytes of room. */
export function alloc_skb(size: number): SkBuff {
  return new SkBuff(new Uint8Array(size), 0, 0);
}

// The skb head cache (kmem_cache for skb data): heads of 4 KiB and up come from per-power-of-two
// free lists of ArrayBuffers, so a bulk transfer neither zeroes nor garbage-collects its buffers.
const HEAD_CACHE_MIN = 4096;
const HEAD_CACHE_DEPTH = 32;
const headCache: ArrayBuffer[][] = [];

function head_alloc(size: number): Uint8Array {
  if (size < HEAD_CACHE_MIN) return new Uint8Array(size);
  const order = 32 - Math.clz32(size - 1);
  const free = headCache[order];
  const ab = free && free.length ? free.pop()! : new ArrayBuffer(1 << order);
  const h = new Uint8Array(ab, 0, size);
  if (free && ab.byteLength) h.fill(0);
  return h;
}

function head_free(head: Uint8Array): void {
  const ab = head.buffer as ArrayBuffer;
  const len = ab.byteLength;
  if (len < HEAD_CACHE_MIN || (len & (len - 1)) !== 0) return;
  const order = 31 - Math.clz32(len);
  const free = (headCache[order] ??= []);
  if (free.length < HEAD_CACHE_DEPTH) free.push(ab);
}

const EMPTY_HEAD = new Uint8Array(0);

/** alloc_skb_with_frags(): room for `header_len + data_len` bytes, charged as Linux charges it. */
export function alloc_skb_with_frags(header_len: number, data_len: number): SkBuff {
  const skb = new SkBuff(head_alloc(header_len + data_len), 0, 0);
  skb.truesize = skb_truesize_for(header_len, data_len);
  return skb;
}

/** kfree_skb() / consume_skb(): run the destructor, which uncharges the owner. */
export function kfree_skb(skb: SkBuff): void {
  if (skb.destructor) {
    const d = skb.destructor;
    skb.destructor = null;
    d(skb);
  }
  skb.sk = null;
  if (skb.head.length >= HEAD_CACHE_MIN) {
    head_free(skb.head);
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
