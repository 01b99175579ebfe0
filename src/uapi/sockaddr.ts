// Socket addresses as user space passes them: raw bytes in Linux's layout (struct sockaddr_un,
// x86_64, little-endian sa_family), and a typed form for the TypeScript API.

import { AF_INET, AF_UNIX, SIZEOF_SA_FAMILY, UNIX_PATH_MAX } from './socket.js';
import { decodeSockaddrIn, encodeSockaddrIn, SIZEOF_SOCKADDR_IN, type SockaddrIn } from './in.js';

export type { SockaddrIn } from './in.js';

/** struct sockaddr_un in typed form: an abstract name starts with '\0'; unnamed is ''. */
export interface SockaddrUn {
  /** AF_UNIX. */
  family: number;
  path: string;
  /** The address length Linux reports (getsockname's *addrlen). */
  addrlen?: number;
}

/** A family this build does not decode: the raw bytes. */
export interface SockaddrRaw {
  family: number;
  bytes: Uint8Array;
  addrlen?: number;
}

export type Sockaddr = SockaddrUn | SockaddrRaw | SockaddrIn;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Encode a typed address to the bytes a C program would pass (addrlen = result length). */
export function encodeSockaddr(addr: Sockaddr): Uint8Array {
  if ('port' in addr) return encodeSockaddrIn(addr);
  if ('path' in addr) {
    const path = utf8.encode(addr.path);
    // A filesystem path gets its NUL terminator counted, as SUN_LEN + 1 would; an abstract
    // name is exactly its bytes.
    const abstract = path.length > 0 && path[0] === 0;
    const len = SIZEOF_SA_FAMILY + path.length + (abstract || path.length === 0 ? 0 : 1);
    const b = new Uint8Array(Math.min(len, SIZEOF_SA_FAMILY + UNIX_PATH_MAX + 1));
    b[0] = addr.family & 0xff;
    b[1] = addr.family >> 8;
    b.set(path.subarray(0, b.length - SIZEOF_SA_FAMILY), SIZEOF_SA_FAMILY);
    return b;
  }
  const b = new Uint8Array(SIZEOF_SA_FAMILY + addr.bytes.length);
  b[0] = addr.family & 0xff;
  b[1] = addr.family >> 8;
  b.set(addr.bytes, SIZEOF_SA_FAMILY);
  return b;
}

/** Decode `len` bytes of a kernel-filled address. */
export function decodeSockaddr(b: Uint8Array, len: number): Sockaddr {
  const n = Math.min(len, b.length);
  const family = n >= 2 ? b[0] | (b[1] << 8) : 0;
  if (family === AF_UNIX) {
    let path = b.subarray(SIZEOF_SA_FAMILY, n);
    // A filesystem name ends at its NUL; an abstract name keeps every byte.
    if (path.length && path[0] !== 0) {
      const z = path.indexOf(0);
      if (z >= 0) path = path.subarray(0, z);
    }
    return { family: AF_UNIX, path: utf8d.decode(path), addrlen: len };
  }
  // struct sockaddr_in: port and address (a short length leaves the rest as zeros).
  if (family === AF_INET && len <= SIZEOF_SOCKADDR_IN) return decodeSockaddrIn(b, len);
  return { family, bytes: b.slice(SIZEOF_SA_FAMILY, n), addrlen: len };
}
