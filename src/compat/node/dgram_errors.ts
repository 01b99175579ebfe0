// The error objects node:dgram throws and emits, with Node 20's codes, messages and fields, and
// the argument validators it runs (lib/internal/errors.js, lib/internal/validators.js).

import { inspect } from 'node:util';
import { errnoCode, strerror } from '../../uapi/errno.js';

/** A system error as Node reports it: `errno` negative (libuv's), `code`, `syscall`. */
export interface DgramError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  address?: string;
  port?: number;
  hostname?: string;
  info?: Record<string, unknown>;
}

function withCode<T extends Error>(err: T, code: string): T & { code: string } {
  return Object.assign(err, { code });
}

/** libuv's error name for a negative errno. */
function uvCode(err: number): string {
  return errnoCode(-err);
}

/** ErrnoException(err, syscall): "setBroadcast EBADF". */
export function errnoException(err: number, syscall: string): DgramError {
  const code = uvCode(err);
  const e = new Error(`${syscall} ${code}`) as DgramError;
  e.errno = err;
  e.code = code;
  e.syscall = syscall;
  return e;
}

/** ExceptionWithHostPort(err, syscall, address, port): "bind EADDRINUSE 0.0.0.0:5000". */
export function exceptionWithHostPort(
  err: number,
  syscall: string,
  address: string | undefined | null,
  port: number | undefined | null,
): DgramError {
  const code = uvCode(err);
  let details = '';
  if (port && port > 0) details = ` ${address}:${port}`;
  else if (address) details = ` ${address}`;
  const e = new Error(`${syscall} ${code}${details}`) as DgramError;
  e.errno = err;
  e.code = code;
  e.syscall = syscall;
  e.address = address as string;
  if (port) e.port = port;
  return e;
}

/** dns.lookup's failure for a name that does not resolve (libuv's UV_EAI_NONAME). */
export function notFound(hostname: string): DgramError {
  const e = new Error(`getaddrinfo ENOTFOUND ${hostname}`) as DgramError;
  e.errno = -3008;
  e.code = 'ENOTFOUND';
  e.syscall = 'getaddrinfo';
  e.hostname = hostname;
  return e;
}

/** ERR_SOCKET_BUFFER_SIZE, a SystemError naming the libuv call that failed. */
export function bufferSizeError(err: number, recv: boolean): DgramError {
  const syscall = recv ? 'uv_recv_buffer_size' : 'uv_send_buffer_size';
  const text = strerror(-err).toLowerCase();
  const code = uvCode(err);
  const e = new Error(
    `Could not get or set buffer size: ${syscall} returned ${code} (${text})`,
  ) as DgramError;
  e.name = 'SystemError';
  e.code = 'ERR_SOCKET_BUFFER_SIZE';
  e.info = { errno: err, code, message: text, syscall };
  e.errno = err;
  e.syscall = syscall;
  return e;
}

export const notRunning = (): DgramError =>
  withCode(new Error('Not running'), 'ERR_SOCKET_DGRAM_NOT_RUNNING');
export const isConnected = (): DgramError =>
  withCode(new Error('Already connected'), 'ERR_SOCKET_DGRAM_IS_CONNECTED');
export const notConnected = (): DgramError =>
  withCode(new Error('Not connected'), 'ERR_SOCKET_DGRAM_NOT_CONNECTED');
export const alreadyBound = (): DgramError =>
  withCode(new Error('Socket is already bound'), 'ERR_SOCKET_ALREADY_BOUND');
export const badBufferSize = (): DgramError =>
  withCode(new TypeError('Buffer size must be a positive integer'), 'ERR_SOCKET_BAD_BUFFER_SIZE');
export const badType = (): DgramError =>
  withCode(new TypeError('Bad socket type specified. Valid types are: udp4, udp6'), 'ERR_SOCKET_BAD_TYPE');
export const missingArgs = (name: string): DgramError =>
  withCode(new TypeError(`The "${name}" argument must be specified`), 'ERR_MISSING_ARGS');
export const outOfBounds = (name: string): DgramError =>
  withCode(new RangeError(`"${name}" is outside of buffer bounds`), 'ERR_BUFFER_OUT_OF_BOUNDS');

/** What Node's messages say of a value it rejects ("type number (70000)", "undefined"…). */
function received(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${(value as { name?: string }).name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = (value as object).constructor as { name?: string } | undefined;
    if (ctor?.name) return `an instance of ${ctor.name}`;
    return inspect(value, { depth: -1 });
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

/** ERR_INVALID_ARG_TYPE: `expected` is Node's wording of the types ("of type number"). */
export function invalidArgType(name: string, expected: string, value: unknown): DgramError {
  return withCode(
    new TypeError(`The "${name}" argument must be ${expected}. Received ${received(value)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

export const BUFFER_TYPES = 'of type string or an instance of Buffer, TypedArray, or DataView';

/** validatePort(port, 'Port', allowZero): the port as an int, or ERR_SOCKET_BAD_PORT. */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  if (
    (typeof port !== 'number' && typeof port !== 'string') ||
    (typeof port === 'string' && port.trim().length === 0) ||
    +port !== +port >>> 0 ||
    +port > 0xffff ||
    (+port === 0 && !allowZero)
  ) {
    throw withCode(
      new RangeError(
        `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${received(port)}.`,
      ),
      'ERR_SOCKET_BAD_PORT',
    );
  }
  return +port | 0;
}

export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
}

export function validateNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
}

export function validateFunction(value: unknown, name: string): void {
  if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value);
}

/** validateUint32(value, name): a number that is an integer from 0 to 2^32 - 1. */
export function validateUint32(value: unknown, name: string): void {
  validateNumber(value, name);
  if (!Number.isInteger(value)) {
    throw withCode(
      new RangeError(
        `The value of "${name}" is out of range. It must be an integer. Received ${String(value)}`,
      ),
      'ERR_OUT_OF_RANGE',
    );
  }
  if (value < 0 || value > 4294967295) {
    throw withCode(
      new RangeError(
        `The value of "${name}" is out of range. It must be >= 0 && <= 4294967295. Received ${String(value)}`,
      ),
      'ERR_OUT_OF_RANGE',
    );
  }
}

/** 'udp6' asked of a host with no IPv6: a clear error rather than a socket that cannot work. */
export function noIpv6(): DgramError {
  const e = new Error('udp6 sockets are not supported: usernet has no IPv6 yet') as DgramError;
  e.code = 'ERR_SOCKET_BAD_TYPE';
  return e;
}
