// node:dns's lookup() for one host: getaddrinfo over the world's hosts table (its /etc/hosts),
// with node:dns's arguments, results and errors. There is no DNS server in a world, so the
// resolver calls (resolve4, reverse…) are not here; every name a host knows is in the table.

import { isIP } from 'node:net';
import type { HostsEntry, HostsTable } from '../../sim/hosts_table.js';
import { codedError, invalidArgType } from './node_errors.js';

export interface LookupOptions {
  /** 0 (either), 4 or 6; 'IPv4' and 'IPv6' as Node accepts them. */
  family?: number | 'IPv4' | 'IPv6';
  hints?: number;
  /** Every address, as an array of { address, family }. */
  all?: boolean;
  verbatim?: boolean;
  order?: 'ipv4first' | 'ipv6first' | 'verbatim';
}

export interface LookupAddress {
  address: string;
  family: number;
}

/** The error node:dns gives: code, errno (libuv's), syscall 'getaddrinfo', hostname. */
export interface DnsError extends Error {
  code: string;
  errno: number;
  syscall: string;
  hostname: string;
}

type LookupCallback = (
  err: DnsError | null,
  address: string | LookupAddress[] | undefined,
  family?: number,
) => void;

export interface NodeDns {
  lookup(hostname: string, callback: (err: DnsError | null, address: string, family: number) => void): void;
  lookup(
    hostname: string,
    options: number | (LookupOptions & { all?: false }),
    callback: (err: DnsError | null, address: string, family: number) => void,
  ): void;
  lookup(
    hostname: string,
    options: LookupOptions & { all: true },
    callback: (err: DnsError | null, addresses: LookupAddress[]) => void,
  ): void;
  lookup(hostname: string, options: number | LookupOptions, callback: LookupCallback): void;
  promises: {
    lookup(hostname: string, options?: number | (LookupOptions & { all?: false })): Promise<LookupAddress>;
    lookup(hostname: string, options: LookupOptions & { all: true }): Promise<LookupAddress[]>;
    lookup(hostname: string, options?: number | LookupOptions): Promise<LookupAddress | LookupAddress[]>;
  };
  ADDRCONFIG: number;
  V4MAPPED: number;
  ALL: number;
}

/** libuv's UV_EAI_NONAME, the errno Node gives ENOTFOUND. */
const UV_EAI_NONAME = -3008;

function notFound(hostname: string): DnsError {
  const err = new Error(`getaddrinfo ENOTFOUND ${hostname}`) as DnsError;
  err.errno = UV_EAI_NONAME;
  err.code = 'ENOTFOUND';
  err.syscall = 'getaddrinfo';
  err.hostname = hostname;
  return err;
}

/** Node's argument checks (lib/dns.js lookup), thrown synchronously as Node throws them. */
function parseOptions(
  hostname: unknown,
  options: unknown,
): { family: 0 | 4 | 6; all: boolean; order: string } {
  if (typeof hostname !== 'string') {
    throw invalidArgType('hostname', ['string'], hostname);
  }
  let family: unknown = 0;
  let all = false;
  let order = 'verbatim';
  if (typeof options === 'number') family = options;
  else if (options !== undefined && options !== null) {
    if (typeof options !== 'object') {
      throw invalidArgType('options', ['object', 'integer'], options);
    }
    const o = options as LookupOptions;
    if (o.family !== undefined && o.family !== null) family = o.family;
    if (o.all !== undefined && o.all !== null) all = o.all === true;
    if (o.order !== undefined) order = o.order;
    else if (o.verbatim === false) order = 'ipv4first';
  }
  if (family === 'IPv4') family = 4;
  else if (family === 'IPv6') family = 6;
  if (family !== 0 && family !== 4 && family !== 6) {
    const shown = typeof family === 'string' ? `'${family}'` : String(family);
    const what = typeof options === 'number' ? "argument 'family'" : "property 'options.family'";
    throw codedError(
      TypeError,
      'ERR_INVALID_ARG_VALUE',
      `The ${what} must be one of: 0, 4, 6. Received ${shown}`,
    );
  }
  return { family, all, order };
}

/** getaddrinfo over the table: matching family, in the order asked for. */
function getaddrinfo(table: HostsTable, hostname: string, family: 0 | 4 | 6, order: string): HostsEntry[] {
  let found = table.resolve(hostname);
  if (family) found = found.filter((e) => e.family === family);
  if (order === 'ipv4first') found.sort((x, y) => x.family - y.family);
  else if (order === 'ipv6first') found.sort((x, y) => y.family - x.family);
  return found;
}

/** The node:dns lookup functions of one host, reading `table`. */
export function createDns(table: HostsTable): NodeDns {
  function lookup(hostname: string, options: unknown, callback?: unknown): void {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    if (typeof callback !== 'function') {
      throw invalidArgType('callback', ['function'], callback);
    }
    const cb = callback as LookupCallback;
    const { family, all, order } = parseOptions(hostname, options);
    // As Node: an empty name is answered at once with no address.
    if (!hostname) {
      if (all) process.nextTick(cb, null, []);
      else process.nextTick(cb, null, null, family === 6 ? 6 : 4);
      return;
    }
    // An address literal is its own answer, whatever family was asked for (Node does the same).
    const literal = isIP(hostname);
    if (literal) {
      if (all) process.nextTick(cb, null, [{ address: hostname, family: literal }]);
      else process.nextTick(cb, null, hostname, literal);
      return;
    }
    const found = getaddrinfo(table, hostname, family, order);
    // getaddrinfo runs off the event loop in Node; its answer comes in a later turn.
    setImmediate(() => {
      if (found.length === 0) (cb as (err: DnsError) => void)(notFound(hostname));
      else if (all) cb(null, found);
      else cb(null, found[0].address, found[0].family);
    });
  }

  function promisesLookup(
    hostname: string,
    options?: number | LookupOptions,
  ): Promise<LookupAddress | LookupAddress[]> {
    const { all } = parseOptions(hostname, options);
    return new Promise((resolve, reject) => {
      lookup(
        hostname,
        options,
        (err: DnsError | null, address: string | LookupAddress[] | undefined, family?: number) => {
          if (err) reject(err);
          else if (all) resolve(address as LookupAddress[]);
          else resolve({ address: address as string, family: family as number });
        },
      );
    });
  }

  return {
    lookup: lookup as NodeDns['lookup'],
    promises: { lookup: promisesLookup as NodeDns['promises']['lookup'] },
    // getaddrinfo's hint flags, as node:dns exports them (accepted, and meaningless here).
    ADDRCONFIG: 32,
    V4MAPPED: 8,
    ALL: 16,
  };
}
