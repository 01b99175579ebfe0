// struct iov_iter over user buffers (include/linux/uio.h): the position of a copy that may be
// resumed, so a call that blocks half-way continues where it stopped.

/** UIO_MAXIOV: the most iovecs one call takes (import_iovec: EINVAL, EMSGSIZE for msghdrs). */
export const UIO_MAXIOV = 1024;

/** Copies up to this many bytes go byte by byte: cheaper than making a subarray view for set(). */
const SMALL_COPY = 64;

export class IovIter {
  /** Index of the current segment. */
  idx = 0;
  /** Offset inside the current segment. */
  off = 0;
  /** Bytes left. */
  count: number;
  /** Bytes the iterator started with: `total - count` is what a resumed call already moved. */
  readonly total: number;

  constructor(public readonly iov: readonly Uint8Array[]) {
    let n = 0;
    for (const b of iov) n += b.length;
    this.count = n;
    this.total = n;
  }

  /** copy_to_iter(): copy up to `len` bytes of `src` from `srcOff` into the user buffers. */
  copy_to_iter(src: Uint8Array, srcOff: number, len: number): number {
    let done = 0;
    while (done < len && this.idx < this.iov.length) {
      const seg = this.iov[this.idx];
      const n = Math.min(len - done, seg.length - this.off);
      if (n <= SMALL_COPY) {
        const d = this.off;
        const o = srcOff + done;
        for (let k = 0; k < n; k++) seg[d + k] = src[o + k];
      } else seg.set(src.subarray(srcOff + done, srcOff + done + n), this.off);
      done += n;
      this.advanceBy(n);
    }
    return done;
  }

  /** copy_from_iter(): copy up to `len` user bytes into `dst` at `dstOff`. */
  copy_from_iter(dst: Uint8Array, dstOff: number, len: number): number {
    let done = 0;
    while (done < len && this.idx < this.iov.length) {
      const seg = this.iov[this.idx];
      const n = Math.min(len - done, seg.length - this.off);
      if (n <= SMALL_COPY) {
        const o = this.off;
        const d = dstOff + done;
        for (let k = 0; k < n; k++) dst[d + k] = seg[o + k];
      } else dst.set(seg.subarray(this.off, this.off + n), dstOff + done);
      done += n;
      this.advanceBy(n);
    }
    return done;
  }

  /** iov_iter_advance(). */
  advance(len: number): void {
    while (len > 0 && this.idx < this.iov.length) {
      const n = Math.min(len, this.iov[this.idx].length - this.off);
      len -= n;
      this.advanceBy(n);
    }
  }

  private advanceBy(n: number): void {
    this.off += n;
    this.count -= n;
    while (this.idx < this.iov.length && this.off >= this.iov[this.idx].length) {
      this.idx++;
      this.off = 0;
    }
  }
}
