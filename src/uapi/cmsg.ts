// Control messages (ancillary data) in Linux's x86_64 layout: struct cmsghdr is
// { size_t cmsg_len; int cmsg_level; int cmsg_type; } followed by data aligned to 8 bytes.

export const CMSG_HDR_LEN = 16;
const ALIGN = 8;

export function CMSG_ALIGN(len: number): number {
  return (len + ALIGN - 1) & ~(ALIGN - 1);
}
export function CMSG_LEN(len: number): number {
  return CMSG_HDR_LEN + len;
}
export function CMSG_SPACE(len: number): number {
  return CMSG_HDR_LEN + CMSG_ALIGN(len);
}

/** struct ucred. */
export interface Ucred {
  pid: number;
  uid: number;
  gid: number;
}

/** One control message: the raw data, and the decoded form for the SOL_SOCKET types. */
export interface Cmsg {
  level: number;
  type: number;
  data?: Uint8Array;
  /** SCM_RIGHTS: the fds. */
  fds?: number[];
  /** SCM_CREDENTIALS. */
  cred?: Ucred;
}

/** Walk a control buffer (CMSG_FIRSTHDR / CMSG_NXTHDR); stops at a malformed header. */
export function* cmsgs(
  buf: Uint8Array,
  len: number,
): Generator<{ level: number; type: number; data: Uint8Array }> {
  const dv = new DataView(buf.buffer, buf.byteOffset, Math.min(len, buf.length));
  let off = 0;
  while (off + CMSG_HDR_LEN <= dv.byteLength) {
    const clen = Number(dv.getBigUint64(off, true));
    if (clen < CMSG_HDR_LEN || off + clen > dv.byteLength) return;
    yield {
      level: dv.getInt32(off + 8, true),
      type: dv.getInt32(off + 12, true),
      data: buf.subarray(off + CMSG_HDR_LEN, off + clen),
    };
    off += CMSG_ALIGN(clen);
  }
}

/** Build a control buffer from messages (what a C program fills before sendmsg). */
export function encodeCmsgs(list: readonly { level: number; type: number; data: Uint8Array }[]): Uint8Array {
  let size = 0;
  for (const c of list) size += CMSG_SPACE(c.data.length);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let off = 0;
  for (const c of list) {
    dv.setBigUint64(off, BigInt(CMSG_LEN(c.data.length)), true);
    dv.setInt32(off + 8, c.level, true);
    dv.setInt32(off + 12, c.type, true);
    out.set(c.data, off + CMSG_HDR_LEN);
    off += CMSG_SPACE(c.data.length);
  }
  return out;
}

export function encodeInts(v: readonly number[]): Uint8Array {
  const b = new Uint8Array(v.length * 4);
  const dv = new DataView(b.buffer);
  v.forEach((x, i) => dv.setInt32(i * 4, x, true));
  return b;
}

export function decodeInts(b: Uint8Array): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const out: number[] = [];
  for (let i = 0; i + 4 <= b.length; i += 4) out.push(dv.getInt32(i, true));
  return out;
}

export function encodeUcred(c: Ucred): Uint8Array {
  return encodeInts([c.pid, c.uid, c.gid]);
}

export function decodeUcred(b: Uint8Array): Ucred {
  const [pid, uid, gid] = decodeInts(b);
  return { pid, uid, gid };
}
