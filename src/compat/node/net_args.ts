// What connect() and listen() take: Node's argument forms and options, and name resolution.

import { isIP } from 'node:net';
import { AF_INET, AF_UNIX } from '../../uapi/socket.js';
import type { Sockaddr } from '../../uapi/sockaddr.js';
import { Server } from './net_server.js';

export interface SocketConstructorOpts {
  allowHalfOpen?: boolean;
  highWaterMark?: number;
}

export interface TcpConnectOpts {
  port: number | string;
  host?: string;
  localAddress?: string;
  localPort?: number;
  family?: number;
  lookup?: LookupFn;
  timeout?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  allowHalfOpen?: boolean;
}

export interface IpcConnectOpts {
  path: string;
  timeout?: number;
  allowHalfOpen?: boolean;
}

export type ConnectOpts = TcpConnectOpts | IpcConnectOpts;

export interface AddressInfo {
  address: string;
  family: string;
  port: number;
}

export const kAccepted = Symbol('accepted');

export interface AcceptedOpts {
  /** An accepted fd; `paused`: the server's pauseOnConnect (do not start reading). */
  [kAccepted]: { fd: number; server: Server; unix: boolean; paused: boolean };
}

export type ConnectArgs = [ConnectOpts | number | string, ...unknown[]];

/** Node's toNumber in net.js: a number >= 0, or false. */
export function toNumber(x: unknown): number | false {
  const n = Number(x);
  return n >= 0 ? n : false;
}

/** Node's normalizeArgs: (options | port[, host] | path)[, callback] → [options, callback]. */
export function normalizeConnectArgs(args: unknown[]): [ConnectOpts, (() => void) | undefined] {
  if (args.length === 0) return [{} as ConnectOpts, undefined];
  const last = args[args.length - 1];
  const cb = typeof last === 'function' ? (last as () => void) : undefined;
  const a0 = args[0];
  if (a0 !== null && typeof a0 === 'object') return [a0 as ConnectOpts, cb];
  // A string that is not a number >= 0 names a pipe (isPipeName).
  if (typeof a0 === 'string' && toNumber(a0) === false) return [{ path: a0 }, cb];
  const opts: TcpConnectOpts = { port: a0 as number | string };
  if (args.length > 1 && typeof args[1] === 'string') opts.host = args[1];
  return [opts, cb];
}

export interface ServerOpts {
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

export interface ListenOptions {
  port?: number | string;
  host?: string;
  backlog?: number;
  path?: string;
  exclusive?: boolean;
}

/** A `lookup` function with dns.lookup's signature (the `lookup` option of connect). */
export type LookupFn = (
  hostname: string,
  options: { family?: number; hints?: number; all?: false },
  cb: (err: Error | null, address: string, family: number) => void,
) => void;

/** Where a socket connects or listens: an IPv4 address and port, or an AF_UNIX path. */
export type Target = { kind: 'inet'; addr: string; port: number } | { kind: 'unix'; path: string };

export function toSockaddr(t: Target): Sockaddr {
  return t.kind === 'inet'
    ? { family: AF_INET, addr: t.addr, port: t.port }
    : { family: AF_UNIX, path: t.path };
}

/**
 * Resolve `host` as Node's lookupAndConnect does: an address literal stands for itself (and no
 * 'lookup' event follows), a name goes through `lookup`. `looked` tells the caller whether a
 * lookup ran, so it emits 'lookup' when Node would.
 */
export function resolveHost(
  host: string,
  family: number,
  lookup: LookupFn,
  cb: (err: Error | null, addr: string | undefined, fam: number | undefined, looked: boolean) => void,
): void {
  const literal = isIP(host);
  if (literal) return process.nextTick(cb, null, host, literal, false);
  lookup(host, { family, hints: 0 }, (err, address, fam) => cb(err, address, fam, true));
}
