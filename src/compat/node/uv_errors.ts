// System call errors as Node reports them: libuv's messages (uv_strerror, the text in "listen
// EADDRINUSE: address already in use", worded apart from strerror(3)), by Linux errno, and the
// error objects node:net builds from them.

import { SyscallError } from '../../sim/errors.js';
import { errnoByName, errnoCode, strerror, EINVAL } from '../../uapi/errno.js';

const uvText: Record<number, string> = {
  1: 'operation not permitted', // EPERM
  2: 'no such file or directory', // ENOENT
  3: 'no such process', // ESRCH
  4: 'interrupted system call', // EINTR
  5: 'i/o error', // EIO
  6: 'no such device or address', // ENXIO
  7: 'argument list too long', // E2BIG
  9: 'bad file descriptor', // EBADF
  11: 'resource temporarily unavailable', // EAGAIN
  12: 'not enough memory', // ENOMEM
  13: 'permission denied', // EACCES
  14: 'bad address in system call argument', // EFAULT
  16: 'resource busy or locked', // EBUSY
  17: 'file already exists', // EEXIST
  18: 'cross-device link not permitted', // EXDEV
  19: 'no such device', // ENODEV
  20: 'not a directory', // ENOTDIR
  21: 'illegal operation on a directory', // EISDIR
  22: 'invalid argument', // EINVAL
  23: 'file table overflow', // ENFILE
  24: 'too many open files', // EMFILE
  25: 'inappropriate ioctl for device', // ENOTTY
  26: 'text file is busy', // ETXTBSY
  27: 'file too large', // EFBIG
  28: 'no space left on device', // ENOSPC
  29: 'invalid seek', // ESPIPE
  30: 'read-only file system', // EROFS
  31: 'too many links', // EMLINK
  32: 'broken pipe', // EPIPE
  34: 'result too large', // ERANGE
  36: 'name too long', // ENAMETOOLONG
  38: 'function not implemented', // ENOSYS
  39: 'directory not empty', // ENOTEMPTY
  40: 'too many symbolic links encountered', // ELOOP
  49: 'protocol driver not attached', // EUNATCH
  61: 'no data available', // ENODATA
  64: 'machine is not on the network', // ENONET
  71: 'protocol error', // EPROTO
  75: 'value too large for defined data type', // EOVERFLOW
  84: 'illegal byte sequence', // EILSEQ
  88: 'socket operation on non-socket', // ENOTSOCK
  89: 'destination address required', // EDESTADDRREQ
  90: 'message too long', // EMSGSIZE
  91: 'protocol wrong type for socket', // EPROTOTYPE
  92: 'protocol not available', // ENOPROTOOPT
  93: 'protocol not supported', // EPROTONOSUPPORT
  94: 'socket type not supported', // ESOCKTNOSUPPORT
  95: 'operation not supported on socket', // ENOTSUP
  97: 'address family not supported', // EAFNOSUPPORT
  98: 'address already in use', // EADDRINUSE
  99: 'address not available', // EADDRNOTAVAIL
  100: 'network is down', // ENETDOWN
  101: 'network is unreachable', // ENETUNREACH
  103: 'software caused connection abort', // ECONNABORTED
  104: 'connection reset by peer', // ECONNRESET
  105: 'no buffer space available', // ENOBUFS
  106: 'socket is already connected', // EISCONN
  107: 'socket is not connected', // ENOTCONN
  108: 'cannot send after transport endpoint shutdown', // ESHUTDOWN
  110: 'connection timed out', // ETIMEDOUT
  111: 'connection refused', // ECONNREFUSED
  112: 'host is down', // EHOSTDOWN
  113: 'host is unreachable', // EHOSTUNREACH
  114: 'connection already in progress', // EALREADY
  121: 'remote I/O error', // EREMOTEIO
  125: 'operation canceled', // ECANCELED
};

/** uv_strerror for a Linux errno; strerror(3)'s text, lower-cased, for one libuv does not name. */
export function uvErrorMessage(errno: number, fallback: string): string {
  return uvText[errno] ?? fallback.charAt(0).toLowerCase() + fallback.slice(1);
}

/** The error objects node:net produces: code, errno (negative, as libuv's), syscall, address, port. */
export interface NetError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
  hostname?: string;
  localAddress?: string;
  localPort?: number;
}

function uvMessage(errno: number): string {
  return uvErrorMessage(errno, strerror(errno));
}

/**
 * Node's exceptionWithHostPort (connect: "connect ECONNREFUSED 10.0.0.2:80") and
 * uvExceptionWithHostPort (listen: "listen EADDRINUSE: address already in use 0.0.0.0:80").
 */
export function netError(
  errno: number,
  syscall: string,
  address?: string,
  port?: number,
  withText = false,
  local?: { address: string; port: number },
): NetError {
  const code = errnoCode(errno);
  let details = '';
  if (port && port > 0) details = ` ${address}:${port}`;
  else if (address) details = ` ${address}`;
  // afterConnect names the local end when the caller bound it (localAddress and localPort).
  if (local) details += ` - Local (${local.address}:${local.port})`;
  const text = withText ? `: ${uvMessage(errno)}` : '';
  const err = new Error(`${syscall} ${code}${text}${details}`) as NetError;
  err.errno = -errno;
  err.code = code;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port) err.port = port;
  if (local) {
    err.localAddress = local.address;
    err.localPort = local.port;
  }
  return err;
}

export function errnoOf(err: unknown): number {
  if (err instanceof SyscallError) return err.errno;
  const e = err as { errno?: unknown; code?: unknown };
  if (typeof e?.errno === 'number') return Math.abs(e.errno);
  if (typeof e?.code === 'string') return errnoByName(e.code) ?? EINVAL;
  return EINVAL;
}
