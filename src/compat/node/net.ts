// A `node:net`-shaped module for one host: Server and Socket (a real stream.Duplex) over the
// host's TCP (and AF_UNIX stream) sockets, reached only through the task API.
//
// How it runs. Each module (one per host: host.net, made by createNet) owns one task, `node`, and every
// socket it opens is an O_NONBLOCK fd of that task — as libuv has one process and one event loop.
// One loop per module waits in poll(2) on the fds that want something (POLLIN while a reader
// wants data or a listener accepts, POLLOUT while a connect is in progress or a write is stuck
// on EAGAIN) plus one end of an AF_UNIX socketpair: the loop's wake-up pipe, written to when the
// set of interests changes while poll sleeps (libuv's async handle). Reads, writes, accepts and
// connects are non-blocking calls made from the stream callbacks; a call that returns EAGAIN
// registers interest and the loop retries it when poll reports the fd ready. Socket timeouts
// (setTimeout) are poll's timeout, on the world clock, so they run in virtual time. The loop
// stops when the module has no open socket, so nothing keeps the process alive.
//
// Names resolve through the host's dns.lookup (the world's hosts table) unless connect() is given
// a `lookup`. What differs from node:net (IPv4 and AF_UNIX only, ref/unref, listen without a
// host) is listed in docs/node-compat.md.

import { BlockList, SocketAddress, isIP, isIPv4, isIPv6 } from 'node:net';
import type { Host } from '../../sim/host.js';
import type { Task } from '../../sim/task.js';
import { type NetError } from './uv_errors.js';
import { Core } from './net_core.js';
import {
  normalizeConnectArgs,
  type LookupFn,
  type SocketConstructorOpts,
  type TcpConnectOpts,
  type ConnectOpts,
  type AddressInfo,
  type AcceptedOpts,
  type ConnectArgs,
  type ServerOpts,
  type ListenOptions,
} from './net_args.js';
import { Socket } from './net_socket.js';
import { Server } from './net_server.js';

export { isIP, isIPv4, isIPv6 };
export { Socket, Server };
export type {
  NetError,
  LookupFn,
  SocketConstructorOpts,
  TcpConnectOpts,
  ConnectOpts,
  AddressInfo,
  ServerOpts,
  ListenOptions,
};

// ——— the module ——————————————————————————————————————————————————————————————

/** node:net for one host. */
export interface NodeNet {
  Socket: new (opts?: SocketConstructorOpts) => Socket;
  Server: new (
    opts?: ServerOpts | ((socket: Socket) => void),
    connectionListener?: (socket: Socket) => void,
  ) => Server;
  createServer(
    opts?: ServerOpts | ((socket: Socket) => void),
    connectionListener?: (socket: Socket) => void,
  ): Server;
  connect(options: ConnectOpts, connectListener?: () => void): Socket;
  connect(port: number, host?: string, connectListener?: () => void): Socket;
  connect(path: string, connectListener?: () => void): Socket;
  createConnection(options: ConnectOpts, connectListener?: () => void): Socket;
  createConnection(port: number, host?: string, connectListener?: () => void): Socket;
  createConnection(path: string, connectListener?: () => void): Socket;
  isIP(input: string): number;
  isIPv4(input: string): boolean;
  isIPv6(input: string): boolean;
  /** Node's own: they do no I/O, so they work unchanged. */
  BlockList: typeof BlockList;
  SocketAddress: typeof SocketAddress;
  /** The old name of Socket. */
  Stream: new (opts?: SocketConstructorOpts) => Socket;
  /** The task that owns every fd of this module. */
  readonly task: Task;
}

/**
 * Make the node:net module of `host`. Every socket and server it makes is an fd of one task
 * (`comm` 'node') on that host, driven by one poll loop; see the top of this file.
 */
export function createNet(host: Host): NodeNet {
  const core = new Core(host);
  class HostSocket extends Socket {
    constructor(opts?: SocketConstructorOpts) {
      super(core, opts);
    }
  }
  const makeSocket = (o: SocketConstructorOpts & AcceptedOpts): Socket => new HostSocket(o);
  class HostServer extends Server {
    constructor(
      opts?: ServerOpts | ((socket: Socket) => void),
      connectionListener?: (socket: Socket) => void,
    ) {
      super(core, makeSocket, opts, connectionListener);
    }
  }
  const connect = (...args: ConnectArgs): Socket => {
    const [opts] = normalizeConnectArgs(args);
    const s = new HostSocket({ allowHalfOpen: opts?.allowHalfOpen });
    return (s.connect as (...a: ConnectArgs) => Socket)(...args);
  };
  return {
    Socket: HostSocket,
    Server: HostServer,
    createServer: (opts, listener) => new HostServer(opts, listener),
    connect: connect as NodeNet['connect'],
    createConnection: connect as NodeNet['createConnection'],
    isIP,
    isIPv4,
    isIPv6,
    BlockList,
    SocketAddress,
    Stream: HostSocket,
    task: core.task,
  };
}
