// node:net's Server: one listening fd of the module's task, accepted by the poll loop.

import { codedError, invalidArgValue, validatePort } from './node_errors.js';
import { EventEmitter } from 'node:events';
import { EAFNOSUPPORT, EAGAIN } from '../../uapi/errno.js';
import { AF_INET, AF_UNIX, SOCK_STREAM, SOCK_NONBLOCK, SOL_SOCKET, SO_REUSEADDR } from '../../uapi/socket.js';
import { POLLIN } from '../../uapi/poll.js';
import { netError, errnoOf } from './uv_errors.js';
import { Core, type Watched } from './net_core.js';
import {
  resolveHost,
  toSockaddr,
  normalizeConnectArgs,
  toNumber,
  kAccepted,
  type Target,
  type SocketConstructorOpts,
  type AddressInfo,
  type AcceptedOpts,
  type ServerOpts,
  type ListenOptions,
} from './net_args.js';
import { Socket } from './net_socket.js';

/** node:net's Server: one listening fd of the module's task, accepted by the poll loop. */
export class Server extends EventEmitter implements Watched {
  fd = -1;
  listening = false;
  maxConnections: number | undefined;
  private connections = new Set<Socket>();
  private unix = false;
  private accepting = false;
  private closing = false;
  private readonly opts: ServerOpts;

  constructor(
    private readonly core: Core,
    private readonly makeSocket: (o: SocketConstructorOpts & AcceptedOpts) => Socket,
    opts?: ServerOpts | ((socket: Socket) => void),
    connectionListener?: (socket: Socket) => void,
  ) {
    super();
    if (typeof opts === 'function') {
      connectionListener = opts;
      opts = {};
    }
    this.opts = opts ?? {};
    if (connectionListener) this.on('connection', connectionListener);
  }

  interest(): number {
    return this.listening && !this.accepting ? POLLIN : 0;
  }

  deadline(): number {
    return Number.POSITIVE_INFINITY;
  }

  timedOut(): void {}

  ready(): void {
    if (this.listening && !this.accepting) void this.acceptAll();
  }

  private async acceptAll(): Promise<void> {
    this.accepting = true;
    try {
      while (this.listening) {
        let fd: number;
        try {
          ({ fd } = await this.core.task.accept(this.fd, SOCK_NONBLOCK));
        } catch (e) {
          const errno = errnoOf(e);
          if (errno !== EAGAIN && this.listening) this.emit('error', netError(errno, 'accept'));
          return;
        }
        if (!this.listening) {
          this.core.task.close(fd);
          return;
        }
        if (this.maxConnections !== undefined && this.connections.size >= this.maxConnections) {
          this.emit('drop', this.dropInfo(fd));
          this.core.task.close(fd);
          continue;
        }
        const s = this.makeSocket({
          allowHalfOpen: this.opts.allowHalfOpen,
          [kAccepted]: { fd, server: this, unix: this.unix, paused: this.opts.pauseOnConnect === true },
        });
        if (this.opts.noDelay) s.setNoDelay(true);
        if (this.opts.keepAlive) s.setKeepAlive(true, this.opts.keepAliveInitialDelay);
        this.connections.add(s);
        s.once('close', () => {
          this.connections.delete(s);
          this.maybeClosed();
        });
        this.emit('connection', s);
      }
    } finally {
      this.accepting = false;
      this.core.update(this);
    }
  }

  /** What 'drop' tells of a connection refused for maxConnections (Node's fields). */
  private dropInfo(fd: number): Record<string, unknown> {
    if (this.unix) return {};
    try {
      const me = this.core.task.getsockname(fd);
      const peer = this.core.task.getpeername(fd);
      if (!('addr' in me) || !('addr' in peer)) return {};
      return {
        localAddress: me.addr,
        localPort: me.port,
        localFamily: 'IPv4',
        remoteAddress: peer.addr,
        remotePort: peer.port,
        remoteFamily: 'IPv4',
      };
    } catch {
      return {};
    }
  }

  listen(port?: number | string, hostname?: string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number | string, hostname?: string, listeningListener?: () => void): this;
  listen(port?: number | string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number | string, listeningListener?: () => void): this;
  listen(path: string, listeningListener?: () => void): this;
  listen(options: ListenOptions, listeningListener?: () => void): this;
  listen(listeningListener?: () => void): this;
  listen(...args: unknown[]): this {
    const [norm, cb] = normalizeConnectArgs(args);
    const o = { ...(norm as ListenOptions) };
    // Node's backlogFromArgs: listen(port, backlog) or listen(port, host, backlog).
    const backlogFromArgs =
      toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]) || undefined;
    if (args.length === 0 || typeof args[0] === 'function') o.port = 0;
    if (this.listening)
      throw codedError(
        Error,
        'ERR_SERVER_ALREADY_LISTEN',
        'Listen method has been called more than once without closing.',
      );
    const backlog = o.backlog || backlogFromArgs;
    if (typeof o.port === 'number' || typeof o.port === 'string' || (o.port === undefined && 'port' in o)) {
      const port = validatePort(o.port, 'options.port');
      if (cb) this.once('listening', cb);
      const host = o.host || '0.0.0.0';
      resolveHost(host, 4, this.core.lookup, (err, addr, fam) => {
        // As Node's lookupAndListen: a failed lookup is the server's 'error', as dns gave it.
        if (err) this.emit('error', err);
        else if (fam !== 4) this.emit('error', netError(EAFNOSUPPORT, 'listen', addr, port, true));
        else this.startListen({ kind: 'inet', addr: addr as string, port }, backlog);
      });
      return this;
    }
    if (typeof o.path === 'string' && o.path && toNumber(o.path) === false) {
      if (cb) this.once('listening', cb);
      this.unix = true;
      this.startListen({ kind: 'unix', path: o.path }, backlog);
      return this;
    }
    if (!('port' in o || 'path' in o))
      throw invalidArgValue('options', norm, 'must have the property "port" or "path"');
    throw invalidArgValue('options', norm);
  }

  private startListen(target: Target, backlog = 511): void {
    const t = this.core.task;
    const inet = target.kind === 'inet';
    const address = inet ? target.addr : target.path;
    // Node lists a pipe with port -1, and its errors carry that.
    const port = inet ? target.port : -1;
    let fd = -1;
    try {
      fd = t.socket(inet ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
      // libuv sets SO_REUSEADDR on every TCP listener, so a port in TIME_WAIT can be reused.
      if (inet) t.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
      t.bind(fd, toSockaddr(target));
      t.listen(fd, backlog);
    } catch (e) {
      if (fd >= 0) t.close(fd);
      // libuv defers a bind error to listen(), so Node reports both as syscall 'listen'.
      process.nextTick(() => this.emit('error', netError(errnoOf(e), 'listen', address, port, true)));
      return;
    }
    this.fd = fd;
    this.listening = true;
    this.closing = false;
    this.core.watch(this);
    process.nextTick(() => this.emit('listening'));
  }

  address(): AddressInfo | string | null {
    if (!this.listening) return null;
    const a = this.core.task.getsockname(this.fd);
    if ('addr' in a) return { address: a.addr, family: 'IPv4', port: a.port };
    if ('path' in a) return a.path;
    return null;
  }

  close(cb?: (err?: Error) => void): this {
    if (cb) {
      if (!this.listening) {
        this.once('close', () => cb(codedError(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
      } else this.once('close', () => cb());
    }
    if (this.listening) {
      this.listening = false;
      this.core.unwatch(this);
      const name = this.unix ? this.core.task.getsockname(this.fd) : null;
      this.core.task.close(this.fd);
      this.fd = -1;
      // libuv removes a pipe server's socket file when it closes (uv__pipe_close).
      if (name && 'path' in name && name.path && !name.path.startsWith('\0')) {
        try {
          this.core.task.unlink(name.path);
        } catch {
          // removed by someone else already
        }
      }
    }
    this.closing = true;
    this.maybeClosed();
    return this;
  }

  private maybeClosed(): void {
    if (!this.closing || this.listening || this.connections.size > 0) return;
    this.closing = false;
    process.nextTick(() => this.emit('close'));
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.connections.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  /** No-op, as Socket.ref(). */
  ref(): this {
    return this;
  }

  /** No-op, as Socket.ref(). */
  unref(): this {
    return this;
  }
}
