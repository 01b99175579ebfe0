// Node's argument errors (lib/internal/errors.js), with its codes and message text, for the
// modules that stand in for node:net and node:dns.

import { inspect } from 'node:util';

export type CodedError = Error & { code: string };

export function codedError(
  ctor: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor,
  code: string,
  message: string,
): CodedError {
  const err = new ctor(message) as CodedError;
  err.code = code;
  return err;
}

/** Node's determineSpecificType, the "Received …" part of its argument errors. */
export function specificType(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'function' && v.name) return `function ${v.name}`;
  if (typeof v === 'object')
    return v.constructor?.name ? `an instance of ${v.constructor.name}` : inspect(v, { depth: -1 });
  let shown = inspect(v, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof v} (${shown})`;
}

/** "argument" for a plain name, "property" for a dotted one, as Node words it. */
function kind(name: string): string {
  return name.includes('.') ? 'property' : 'argument';
}

const JS_TYPES = new Set(['string', 'function', 'number', 'object', 'boolean', 'bigint', 'symbol']);

/** ERR_INVALID_ARG_TYPE: 'The "options.port" property must be one of type number or string. Received …'. */
export function invalidArgType(name: string, expected: string[], actual: unknown): CodedError {
  // Node words JavaScript types and other expectations ('integer') apart.
  const types = expected.filter((t) => JS_TYPES.has(t));
  const other = expected.filter((t) => !JS_TYPES.has(t));
  let want = '';
  if (types.length > 2) want = `one of type ${types.slice(0, -1).join(', ')}, or ${types[types.length - 1]}`;
  else if (types.length === 2) want = `one of type ${types[0]} or ${types[1]}`;
  else if (types.length === 1) want = `of type ${types[0]}`;
  if (other.length) want += `${want ? ' or ' : ''}${other.join(' or ')}`;
  return codedError(
    TypeError,
    'ERR_INVALID_ARG_TYPE',
    `The "${name}" ${kind(name)} must be ${want}. Received ${specificType(actual)}`,
  );
}

/** ERR_INVALID_ARG_VALUE: "The argument 'options' is invalid. Received { … }". */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): CodedError {
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  return codedError(
    TypeError,
    'ERR_INVALID_ARG_VALUE',
    `The ${kind(name)} '${name}' ${reason}. Received ${shown}`,
  );
}

/** ERR_MISSING_ARGS: 'The "options" or "port" or "path" argument must be specified'. */
export function missingArgs(...names: string[]): CodedError {
  const list = names.map((n) => `"${n}"`).join(' or ');
  return codedError(TypeError, 'ERR_MISSING_ARGS', `The ${list} argument must be specified`);
}

/** Node's validatePort: an integer 0…65535 as a number or a non-blank string, else ERR_SOCKET_BAD_PORT. */
export function validatePort(port: unknown, name = 'Port'): number {
  const bad =
    (typeof port !== 'number' && typeof port !== 'string') ||
    (typeof port === 'string' && port.trim().length === 0) ||
    +port !== +port >>> 0 ||
    +port > 0xffff;
  if (bad) {
    throw codedError(
      RangeError,
      'ERR_SOCKET_BAD_PORT',
      `${name} should be >= 0 and < 65536. Received ${specificType(port)}.`,
    );
  }
  return +(port as number | string) | 0;
}
