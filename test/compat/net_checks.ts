// node:net behaviour checks, each written once over a "net-like" module and run in every place
// of net_env.ts. A check returns what it observed (events in order, error fields, data); the
// test compares usernet's observation with real node:net's. Observations hold only what is
// deterministic: no ports, no timings, addresses masked.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import type { Server, Socket, AddressInfo } from 'node:net';
import type { Env } from './net_env.js';

export type Check = (env: Env) => Promise<unknown>;

/** Listen on an ephemeral port of the server address; the port. */
async function listen(env: Env, server: Server, host = env.serverHost): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** A server whose every connection runs `onConn`, listening; its port. */
async function serve(
  env: Env,
  onConn: (s: Socket) => void,
  opts: { allowHalfOpen?: boolean; pauseOnConnect?: boolean } = {},
): Promise<{ server: Server; port: number }> {
  const server = env.serverNet.createServer(opts, (s) => onConn(track(s)));
  const port = await listen(env, server);
  return { server, port };
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((r) => server.close(() => r()));
}

function errInfo(env: Env, err: unknown, port?: number): Record<string, unknown> {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
  const out: Record<string, unknown> = {
    name: e.name,
    code: e.code,
    errno: e.errno,
    syscall: e.syscall,
    message: env.mask(e.message, port),
  };
  if (e.address !== undefined) out.address = env.mask(e.address);
  if (e.port !== undefined) out.port = e.port === port ? 'PORT' : e.port;
  if (e.hostname !== undefined) out.hostname = e.hostname;
  return out;
}

/** Record the events of a socket as strings, in order. */
function record(s: Socket, log: string[], tag = ''): void {
  track(s);
  s.on('connect', () => log.push(tag + 'connect'));
  s.on('ready', () => log.push(tag + 'ready'));
  s.on('end', () => log.push(tag + 'end'));
  s.on('finish', () => log.push(tag + 'finish'));
  s.on('error', (e: NodeJS.ErrnoException) => log.push(`${tag}error:${e.code}`));
  s.on('close', (hadError: boolean) => log.push(`${tag}close:${hadError}`));
  s.on('timeout', () => log.push(tag + 'timeout'));
}

function collect(s: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return once(s, 'end').then(() => Buffer.concat(parts));
}

const closes = new WeakMap<Socket, Promise<boolean>>();

/** Start waiting for the socket's 'close' (its hadError), so closed() sees one already emitted. */
function track(s: Socket): Socket {
  // Not events.once: that rejects on 'error', which usually comes just before 'close'.
  if (!closes.has(s)) closes.set(s, new Promise((r) => s.once('close', r)));
  return s;
}

function closed(s: Socket): Promise<boolean> {
  track(s);
  return closes.get(s) as Promise<boolean>;
}

/** Connect a client to a serve()d port; resolves at 'connect'. */
async function dial(env: Env, port: number, opts: Record<string, unknown> = {}): Promise<Socket> {
  const c = track(env.net.connect({ port, host: env.serverHost, ...opts }));
  await once(c, 'connect');
  return c;
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

export const checks: Record<string, Check> = {
  async 'event order of a connection the server ends'(env) {
    const { server, port } = await serve(env, (s) => s.end('bye'));
    const log: string[] = [];
    const c = track(env.net.connect(port, env.serverHost));
    record(c, log);
    c.on('data', (d: Buffer) => log.push('data:' + d.toString()));
    await closed(c);
    await closeServer(server);
    return log;
  },

  async 'event order when the client ends first'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const log: string[] = [];
    const c = track(env.net.connect(port, env.serverHost));
    record(c, log);
    await once(c, 'connect');
    c.end('x');
    await closed(c);
    await closeServer(server);
    return log;
  },

  async 'readyState through a connection'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const states: string[] = [];
    const c = track(new env.net.Socket());
    states.push(c.readyState);
    c.connect(port, env.serverHost);
    states.push(c.readyState);
    await once(c, 'connect');
    states.push(c.readyState);
    c.end();
    states.push(c.readyState);
    await closed(c);
    states.push(c.readyState);
    await closeServer(server);
    return states;
  },

  async 'pending and connecting flags'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const seen: unknown[] = [];
    const c = track(new env.net.Socket());
    seen.push(['new', c.pending, c.connecting]);
    c.connect(port, env.serverHost);
    seen.push(['connect()', c.pending, c.connecting]);
    await once(c, 'connect');
    seen.push(['connected', c.pending, c.connecting]);
    c.destroy();
    seen.push(['destroyed', c.pending, c.connecting, c.destroyed]);
    await closed(c);
    await closeServer(server);
    return seen;
  },

  async 'ECONNREFUSED: error fields, then close(true)'(env) {
    const { server, port } = await serve(env, () => {});
    await closeServer(server);
    const log: string[] = [];
    const c = track(env.net.connect(port, env.serverHost));
    record(c, log);
    const [err] = await once(c, 'error');
    await closed(c);
    return { log, err: errInfo(env, err, port), destroyed: c.destroyed };
  },

  async 'EADDRINUSE: error fields, the server is not listening'(env) {
    const { server, port } = await serve(env, () => {});
    const s2 = env.serverNet.createServer();
    s2.listen(port, env.serverHost);
    const [err] = await once(s2, 'error');
    const out = { err: errInfo(env, err, port), listening: s2.listening, address: s2.address() };
    await closeServer(server);
    return out;
  },

  async 'listen on port 0 gives an ephemeral port'(env) {
    const server = env.serverNet.createServer();
    const port = await listen(env, server);
    const a = server.address() as AddressInfo;
    await closeServer(server);
    return { family: a.family, address: env.mask(a.address), ephemeral: port >= 32768 && port <= 60999 };
  },

  async 'server.address() before, during and after listening'(env) {
    const server = env.serverNet.createServer();
    const before = server.address();
    const port = await listen(env, server);
    const during = server.address() as AddressInfo;
    await closeServer(server);
    return {
      before,
      during: { ...during, address: env.mask(during.address), port: during.port === port },
      after: server.address(),
    };
  },

  async 'addresses of both ends agree'(env) {
    let accepted!: Socket;
    const { server, port } = await serve(env, (s) => (accepted = s));
    const c = await dial(env, port);
    while (!accepted) await env.sleep(1);
    const out = {
      clientRemote: [env.mask(c.remoteAddress!), c.remotePort === port, c.remoteFamily],
      clientLocal: [env.mask(c.localAddress!), c.localFamily],
      serverRemote: [
        env.mask(accepted.remoteAddress!),
        accepted.remotePort === c.localPort,
        accepted.remoteFamily,
      ],
      serverLocal: [env.mask(accepted.localAddress!), accepted.localPort === port],
      address: { ...(c.address() as AddressInfo), address: 'masked', port: 'masked' },
      clientAddressPort: (c.address() as AddressInfo).port === c.localPort,
    };
    c.destroy();
    await closed(accepted);
    await closeServer(server);
    return out;
  },

  async 'accepted socket knows its server'(env) {
    let accepted!: Socket;
    const { server, port } = await serve(env, (s) => (accepted = s));
    const c = await dial(env, port);
    while (!accepted) await env.sleep(1);
    const out = {
      same: (accepted as Socket & { server: Server }).server === server,
      connecting: accepted.connecting,
    };
    c.destroy();
    await closed(accepted);
    await closeServer(server);
    return out;
  },

  async 'allowHalfOpen on the server: it writes after the client FIN'(env) {
    const serverLog: string[] = [];
    const { server, port } = await serve(
      env,
      (s) => {
        record(s, serverLog);
        s.resume();
        s.on('end', () => {
          serverLog.push('state:' + s.readyState);
          s.end('after FIN');
        });
      },
      { allowHalfOpen: true },
    );
    const c = await dial(env, port);
    const got = collect(c);
    c.end('question');
    const data = (await got).toString();
    await closed(c);
    await closeServer(server);
    return { data, serverLog };
  },

  async 'without allowHalfOpen the peer FIN ends this side too'(env) {
    let accepted!: Socket;
    const serverLog: string[] = [];
    const { server, port } = await serve(env, (s) => {
      accepted = s;
      record(s, serverLog);
      s.resume();
    });
    const c = await dial(env, port);
    const got = collect(c);
    c.end();
    await got;
    await closed(accepted);
    const out = { serverLog, writableEnded: accepted.writableEnded, destroyed: accepted.destroyed };
    await closed(c);
    await closeServer(server);
    return out;
  },

  async 'allowHalfOpen on the client: writable after the server ends'(env) {
    const serverData: string[] = [];
    const { server, port } = await serve(
      env,
      (s) => {
        s.end('first');
        s.on('data', (d: Buffer) => serverData.push(d.toString()));
      },
      { allowHalfOpen: true },
    );
    const c = await dial(env, port, { allowHalfOpen: true });
    const data = (await collect(c)).toString();
    const state = c.readyState;
    c.end('still here');
    await closed(c);
    await closeServer(server);
    return { data, state, serverData: serverData.join('') };
  },

  async 'destroy while connecting: close(false) and nothing else'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const log: string[] = [];
    const c = track(env.net.connect(port, env.serverHost));
    record(c, log);
    c.destroy();
    const state = [c.connecting, c.destroyed];
    await closed(c);
    await env.sleep(20);
    await closeServer(server);
    return { log, state };
  },

  async 'destroy(err) emits that error, then close(true)'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const c = await dial(env, port);
    const log: string[] = [];
    record(c, log);
    const boom = new Error('boom');
    let same = false;
    c.on('error', (e) => (same = e === boom));
    c.destroy(boom);
    await closed(c);
    await closeServer(server);
    return { log, same, errored: c.errored === boom };
  },

  async 'resetAndDestroy: the peer gets ECONNRESET, then close(true)'(env) {
    const serverLog: string[] = [];
    let err: unknown;
    let accepted!: Socket;
    const { server, port } = await serve(env, (s) => {
      accepted = s;
      record(s, serverLog);
      s.on('error', (e) => (err = e));
      s.resume();
    });
    const c = await dial(env, port);
    const log: string[] = [];
    record(c, log);
    while (!accepted) await env.sleep(1);
    c.resetAndDestroy();
    await closed(c);
    await closed(accepted);
    await closeServer(server);
    return { log, serverLog, err: errInfo(env, err) };
  },

  async 'write after end: ERR_STREAM_WRITE_AFTER_END, then close'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const c = await dial(env, port);
    const log: string[] = [];
    record(c, log);
    c.end('a');
    let cbErr: unknown;
    const ok = c.write('b', (e) => (cbErr = e));
    const [err] = await once(c, 'error');
    await closed(c);
    await closeServer(server);
    return { ok, err: errInfo(env, err), cbErr: (cbErr as NodeJS.ErrnoException)?.code, log };
  },

  async 'writes then end arrive whole and in order'(env) {
    let got!: Promise<Buffer>;
    const { server, port } = await serve(env, (s) => (got = collect(s)));
    const c = await dial(env, port);
    c.write('one ');
    c.write(Buffer.from('two '));
    c.write('74687265652c20', 'hex');
    c.end('four');
    await closed(c);
    const data = (await got).toString();
    await closeServer(server);
    return data;
  },

  async 'end() before the connection is up sends data and FIN after it'(env) {
    let got!: Promise<Buffer>;
    const { server, port } = await serve(env, (s) => (got = collect(s)));
    const c = track(env.net.connect(port, env.serverHost));
    const early = c.write('early ');
    c.end('and done');
    await closed(c);
    while (!got) await env.sleep(1);
    const data = (await got).toString();
    await closeServer(server);
    return { early, data };
  },

  async 'pause stops data, resume brings it all'(env) {
    let accepted!: Socket;
    const { server, port } = await serve(env, (s) => {
      accepted = s;
      s.pause();
    });
    const c = await dial(env, port);
    while (!accepted) await env.sleep(1);
    let chunks = 0;
    const parts: Buffer[] = [];
    accepted.on('data', (d: Buffer) => {
      chunks++;
      parts.push(d);
    });
    accepted.pause();
    c.write(pattern(20_000, 1));
    await env.sleep(50);
    const whilePaused = chunks;
    const paused = accepted.isPaused();
    const ended = once(accepted, 'end');
    accepted.resume();
    c.end();
    await ended;
    const out = { whilePaused, paused, bytes: Buffer.concat(parts).equals(pattern(20_000, 1)) };
    await closed(c);
    await closeServer(server);
    return out;
  },

  async 'pauseOnConnect: no data until resume()'(env) {
    let accepted!: Socket;
    const { server, port } = await serve(env, (s) => (accepted = s), { pauseOnConnect: true });
    const c = await dial(env, port);
    c.write('held');
    while (!accepted) await env.sleep(1);
    let seen = '';
    accepted.on('data', (d: Buffer) => (seen += d.toString()));
    // A 'data' listener does not resume a socket paused by pauseOnConnect.
    await env.sleep(30);
    const before = seen;
    accepted.resume();
    await env.sleep(30);
    c.destroy();
    await closed(accepted);
    await closeServer(server);
    return { before, after: seen };
  },

  async 'setTimeout fires once on an idle socket, which stays open'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const c = await dial(env, port);
    const log: string[] = [];
    record(c, log);
    let calls = 0;
    c.setTimeout(40, () => calls++);
    await once(c, 'timeout');
    await env.sleep(60);
    const out = { log, calls, destroyed: c.destroyed, timeout: c.timeout };
    c.destroy();
    await closed(c);
    await closeServer(server);
    return out;
  },

  async 'setTimeout(0) disables the timeout'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const c = await dial(env, port);
    let fired = 0;
    c.on('timeout', () => fired++);
    c.setTimeout(30);
    c.setTimeout(0);
    await env.sleep(80);
    const out = { fired, timeout: c.timeout };
    c.destroy();
    await closed(c);
    await closeServer(server);
    return out;
  },

  async 'activity pushes the timeout back'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const c = await dial(env, port);
    let fired = 0;
    c.on('timeout', () => fired++);
    c.setTimeout(100);
    for (let i = 0; i < 5; i++) {
      await env.sleep(40);
      c.write('x');
    }
    const during = fired;
    await once(c, 'timeout');
    c.destroy();
    await closed(c);
    await closeServer(server);
    return { during, after: fired };
  },

  async 'timeout option of connect()'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const c = track(env.net.connect({ port, host: env.serverHost, timeout: 50 }));
    const t = c.timeout;
    await once(c, 'connect');
    await once(c, 'timeout');
    c.destroy();
    await closed(c);
    await closeServer(server);
    return { timeout: t };
  },

  async 'setTimeout with a callback that is then removed by setTimeout(0, cb)'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const c = await dial(env, port);
    let calls = 0;
    const cb = () => calls++;
    c.setTimeout(30, cb);
    c.setTimeout(0, cb);
    c.setTimeout(30);
    await once(c, 'timeout');
    c.destroy();
    await closed(c);
    await closeServer(server);
    return { calls, listeners: c.listenerCount('timeout') };
  },

  async 'bytesRead and bytesWritten after a transfer'(env) {
    let accepted!: Socket;
    const { server, port } = await serve(env, (s) => {
      accepted = s;
      s.on('data', (d: Buffer) => s.write(d.subarray(0, Math.ceil(d.length / 2))));
      s.on('end', () => s.end());
    });
    const c = await dial(env, port);
    const got = collect(c);
    c.end(pattern(100_000, 2));
    const echoed = await got;
    await closed(c);
    await closed(accepted);
    const out = {
      clientWritten: c.bytesWritten,
      serverRead: accepted.bytesRead,
      echoedMatches: c.bytesRead === echoed.length && accepted.bytesWritten === echoed.length,
    };
    await closeServer(server);
    return out;
  },

  async 'bytesWritten counts writes queued while connecting'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const c = track(env.net.connect(port, env.serverHost));
    c.write('hello');
    c.write(Buffer.alloc(10));
    const queued = c.bytesWritten;
    await once(c, 'connect');
    c.end();
    await closed(c);
    await closeServer(server);
    return { queued, final: c.bytesWritten };
  },

  async 'getConnections counts open connections'(env) {
    const sockets: Socket[] = [];
    const { server, port } = await serve(env, (s) => {
      sockets.push(s);
      s.resume();
    });
    const count = () => new Promise<number>((r) => server.getConnections((_e, n) => r(n)));
    const seen = [await count()];
    const c1 = await dial(env, port);
    const c2 = await dial(env, port);
    while (sockets.length < 2) await env.sleep(1);
    seen.push(await count());
    c1.destroy();
    await closed(sockets[0]);
    seen.push(await count());
    c2.destroy();
    await closed(sockets[1]);
    seen.push(await count());
    await closeServer(server);
    return seen;
  },

  async 'maxConnections: the connection past the limit is closed, drop emitted'(env) {
    const sockets: Socket[] = [];
    const { server, port } = await serve(env, (s) => {
      sockets.push(s);
      s.resume();
    });
    server.maxConnections = 1;
    const drops: unknown[] = [];
    server.on('drop', (d: Record<string, unknown>) =>
      drops.push({
        localPort: d.localPort === port,
        family: d.remoteFamily,
        remote: env.mask(String(d.remoteAddress)),
      }),
    );
    const c1 = await dial(env, port);
    const log: string[] = [];
    const c2 = track(env.net.connect(port, env.serverHost));
    record(c2, log);
    c2.resume();
    await closed(c2);
    const n = await new Promise<number>((r) => server.getConnections((_e, k) => r(k)));
    c1.destroy();
    await closed(sockets[0]);
    await closeServer(server);
    return { log, n, accepted: sockets.length, drops };
  },

  async 'server close waits for open connections'(env) {
    let accepted!: Socket;
    const { server, port } = await serve(env, (s) => {
      accepted = s;
      s.resume();
    });
    const c = await dial(env, port);
    while (!accepted) await env.sleep(1);
    const log: string[] = [];
    const serverClosed = once(server, 'close');
    server.on('close', () => log.push('server close'));
    server.close(() => log.push('close callback'));
    log.push('listening:' + server.listening);
    // A new connection is refused once close() returns.
    const refused = track(env.net.connect(port, env.serverHost));
    const [err] = await once(refused, 'error');
    log.push('new connection:' + (err as NodeJS.ErrnoException).code);
    await env.sleep(20);
    log.push('still open');
    c.end();
    await closed(accepted);
    log.push('socket closed');
    await serverClosed;
    return log;
  },

  async 'close() on a server that is not running'(env) {
    const server = env.serverNet.createServer();
    const err = await new Promise<Error | undefined>((r) => server.close(r));
    return errInfo(env, err);
  },

  async 'listen twice throws ERR_SERVER_ALREADY_LISTEN'(env) {
    const server = env.serverNet.createServer();
    await listen(env, server);
    let code: unknown;
    try {
      server.listen(0, env.serverHost);
    } catch (e) {
      code = (e as NodeJS.ErrnoException).code;
    }
    await closeServer(server);
    return code;
  },

  async 'listen callback, listening event and flag'(env) {
    const server = env.serverNet.createServer();
    const log: string[] = [];
    server.on('listening', () => log.push('event'));
    server.listen(0, env.serverHost, () => log.push('callback:' + server.listening));
    log.push('sync:' + server.listening);
    await once(server, 'listening');
    await closeServer(server);
    log.push('closed:' + server.listening);
    return log;
  },

  async 'connect listener runs once, before data'(env) {
    const { server, port } = await serve(env, (s) => s.end('hi'));
    const log: string[] = [];
    const c = track(env.net.connect(port, env.serverHost, () => log.push('listener')));
    c.on('data', () => log.push('data'));
    await closed(c);
    await closeServer(server);
    return log;
  },

  async 'bad port throws ERR_SOCKET_BAD_PORT'(env) {
    const out: unknown[] = [];
    for (const port of [70000, -1, 1.5]) {
      try {
        env.net.connect({ port, host: env.serverHost });
        out.push('no throw');
      } catch (e) {
        out.push(errInfo(env, e));
      }
    }
    return out;
  },

  async "'localhost' is looked up ('lookup' event) and reached"(env) {
    const server = env.net.createServer((s) => s.end('local'));
    const port = await listen(env, server, 'localhost');
    const lookups: unknown[] = [];
    const c = track(env.net.connect(port, 'localhost'));
    c.on('lookup', (err, addr, fam, host) => lookups.push([err, addr, fam, host]));
    const data = (await collect(c)).toString();
    await closed(c);
    const a = server.address() as AddressInfo;
    await closeServer(server);
    return { lookups, data, listenAddress: a.address };
  },

  async 'an address literal is not looked up'(env) {
    const { server, port } = await serve(env, (s) => s.end());
    let lookups = 0;
    const c = track(env.net.connect(port, env.serverHost));
    c.on('lookup', () => lookups++);
    c.resume();
    await closed(c);
    await closeServer(server);
    return lookups;
  },

  async 'a lookup option resolves a name'(env) {
    const { server, port } = await serve(env, (s) => s.end('via lookup'));
    const asked: unknown[] = [];
    const lookup = (
      name: string,
      opts: unknown,
      cb: (e: Error | null, a: string, f: number) => void,
    ): void => {
      asked.push(name);
      process.nextTick(cb, null, env.serverHost, 4);
    };
    const events: unknown[] = [];
    const c = track(
      env.net.connect({ port, host: 'my-server', lookup: lookup as never, autoSelectFamily: false } as never),
    );
    c.on('lookup', (err, addr: string, fam, host) => events.push([err, env.mask(addr), fam, host]));
    const data = (await collect(c)).toString();
    await closed(c);
    await closeServer(server);
    return { asked, events, data, remote: env.mask(c.remoteAddress ?? 'none') };
  },

  async 'localPort and localAddress of connect()'(env) {
    let accepted!: Socket;
    const { server, port } = await serve(env, (s) => {
      accepted = s;
      s.resume();
    });
    // A port from the ephemeral range that is free now: bind a listener to find one.
    const probe = env.net.createServer();
    const localPort = await listen(env, probe, env.clientHost);
    await closeServer(probe);
    const c = await dial(env, port, { localAddress: env.clientHost, localPort });
    while (!accepted) await env.sleep(1);
    const out = {
      local: c.localPort === localPort,
      seenByServer: accepted.remotePort === localPort,
      addr: env.mask(c.localAddress!),
    };
    c.destroy();
    await closed(accepted);
    await closeServer(server);
    return out;
  },

  async 'ECONNREFUSED from a bound local end names it'(env) {
    const { server, port } = await serve(env, () => {});
    await closeServer(server);
    const probe = env.net.createServer();
    const localPort = await listen(env, probe, env.clientHost);
    await closeServer(probe);
    const out: unknown[] = [];
    for (const opts of [{ localAddress: env.clientHost, localPort }, { localAddress: env.clientHost }]) {
      const c = track(env.net.connect({ port, host: env.serverHost, ...opts }));
      const [err] = await once(c, 'error');
      await closed(c);
      const e = err as NodeJS.ErrnoException & { localAddress?: string; localPort?: number };
      out.push({
        ...errInfo(env, err, port),
        message: env.mask(e.message, port).split(`:${localPort}`).join(':LOCALPORT'),
        localAddress: e.localAddress && env.mask(e.localAddress),
        localPort: e.localPort === localPort ? 'LOCALPORT' : e.localPort,
      });
    }
    return out;
  },

  async 'localPort already in use: EADDRINUSE from bind'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const holder = env.net.createServer();
    const taken = await listen(env, holder, env.clientHost);
    const c = track(
      env.net.connect({ port, host: env.serverHost, localAddress: env.clientHost, localPort: taken }),
    );
    const log: string[] = [];
    record(c, log);
    const [err] = await once(c, 'error');
    await closed(c);
    await closeServer(holder);
    await closeServer(server);
    return { log, err: errInfo(env, err, taken) };
  },

  async 'setNoDelay, setKeepAlive, ref and unref return the socket'(env) {
    const { server, port } = await serve(env, (s) => s.pipe(s));
    const c = await dial(env, port, { noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 });
    const same = [
      c.setNoDelay(true),
      c.setNoDelay(false),
      c.setKeepAlive(true, 5000),
      c.setKeepAlive(false),
      c.ref(),
      c.unref(),
      c.ref(),
    ].every((x) => x === c);
    const got = collect(c);
    c.end('echo');
    const data = (await got).toString();
    await closed(c);
    await closeServer(server);
    return { same, data };
  },

  async 'setEncoding gives strings'(env) {
    const { server, port } = await serve(env, (s) => s.end('héllo'));
    const c = track(env.net.connect(port, env.serverHost));
    c.setEncoding('utf8');
    const types: string[] = [];
    let text = '';
    c.on('data', (d: unknown) => {
      types.push(typeof d);
      text += d as string;
    });
    await closed(c);
    await closeServer(server);
    return { types: [...new Set(types)], text };
  },

  async 'end(data, cb): the callback runs at finish'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const c = await dial(env, port);
    const log: string[] = [];
    c.on('finish', () => log.push('finish'));
    c.end('x', () => log.push('callback'));
    await closed(c);
    await closeServer(server);
    return log;
  },

  async 'destroySoon: everything written reaches the peer, then close'(env) {
    let got!: Promise<Buffer>;
    const { server, port } = await serve(env, (s) => (got = collect(s)));
    const c = await dial(env, port);
    const data = pattern(200_000, 5);
    c.write(data);
    (c as Socket & { destroySoon(): void }).destroySoon();
    const hadError = await closed(c);
    while (!got) await env.sleep(1);
    const received = await got;
    await closeServer(server);
    return { hadError, same: received.equals(data), destroyed: c.destroyed };
  },

  async 'a large transfer both ways keeps every byte'(env) {
    const up = pattern(1 << 20, 7);
    const down = pattern(1 << 20, 8);
    let serverGot!: Promise<Buffer>;
    const { server, port } = await serve(
      env,
      (s) => {
        serverGot = collect(s);
        s.end(down);
      },
      { allowHalfOpen: true },
    );
    const c = await dial(env, port, { allowHalfOpen: true });
    const clientGot = collect(c);
    c.end(up);
    const [a, b] = [await clientGot, await serverGot];
    await closed(c);
    await closeServer(server);
    return { down: sha(a) === sha(down), up: sha(b) === sha(up), lengths: [a.length, b.length] };
  },

  async 'AF_UNIX: listen on a path, connect, echo'(env) {
    const path = env.unixPath();
    const server = env.net.createServer((s) => s.pipe(s));
    server.listen(path);
    await once(server, 'listening');
    const address = env.mask(String(server.address()));
    const c = track(env.net.connect(path));
    const log: string[] = [];
    record(c, log);
    const got = collect(c);
    await once(c, 'connect');
    const views = {
      remote: c.remoteAddress,
      remotePort: c.remotePort,
      family: c.remoteFamily,
      local: c.localAddress,
      address: c.address(),
    };
    c.end('over unix');
    const data = (await got).toString();
    await closed(c);
    await closeServer(server);
    return { address, views, data, log };
  },

  async 'AF_UNIX: connect to a missing path is ENOENT'(env) {
    const path = env.unixPath();
    const c = track(env.net.connect({ path }));
    const log: string[] = [];
    record(c, log);
    const [err] = await once(c, 'error');
    await closed(c);
    return { log, err: errInfo(env, err) };
  },

  async 'AF_UNIX: a path in use is EADDRINUSE'(env) {
    const path = env.unixPath();
    const s1 = env.net.createServer();
    s1.listen(path);
    await once(s1, 'listening');
    const s2 = env.net.createServer();
    s2.listen(path);
    const [err] = await once(s2, 'error');
    await closeServer(s1);
    return errInfo(env, err);
  },

  async 'AF_UNIX: closing the server removes its path, so it can listen there again'(env) {
    const path = env.unixPath();
    const s1 = env.net.createServer();
    s1.listen(path);
    await once(s1, 'listening');
    await closeServer(s1);
    const s2 = env.net.createServer((s) => s.end('again'));
    s2.listen(path);
    await once(s2, 'listening');
    const c = track(env.net.connect(path));
    const data = (await collect(c)).toString();
    await closed(c);
    await closeServer(s2);
    return data;
  },

  async 'listen on an address the host does not have: EADDRNOTAVAIL'(env) {
    const server = env.serverNet.createServer();
    server.listen(0, '192.0.2.1');
    const [err] = await once(server, 'error');
    return { err: errInfo(env, err), listening: server.listening };
  },

  async 'listen({ port, host }) and connect with the port as a string'(env) {
    const server = env.serverNet.createServer((s) => s.end('ok'));
    server.listen({ port: 0, host: env.serverHost, backlog: 5 });
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const c = track(env.net.connect(String(port) as unknown as number, env.serverHost));
    const data = (await collect(c)).toString();
    await closed(c);
    await closeServer(server);
    return data;
  },

  async 'write callbacks run in order, before finish'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const c = await dial(env, port);
    const log: string[] = [];
    c.write('a', () => log.push('cb a'));
    c.write(pattern(300_000, 3), () => log.push('cb big'));
    c.on('finish', () => log.push('finish'));
    c.end('z', () => log.push('cb end'));
    await closed(c);
    await closeServer(server);
    return log;
  },

  async 'destroy with a large write still queued'(env) {
    let accepted!: Socket;
    const { server, port } = await serve(env, (s) => (accepted = s), { pauseOnConnect: true });
    const c = await dial(env, port);
    const log: string[] = [];
    record(c, log);
    // More than any send and receive buffer hold, so part of it is still queued.
    c.write(pattern(16 << 20, 4), (err) =>
      log.push('write cb:' + (err as NodeJS.ErrnoException | undefined)?.code),
    );
    await env.sleep(20);
    c.destroy();
    await closed(c);
    accepted.destroy();
    await closeServer(server);
    return log;
  },

  async 'write after destroy: ERR_STREAM_DESTROYED to the callback and as error'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const c = await dial(env, port);
    const log: string[] = [];
    record(c, log);
    c.destroy();
    const ok = c.write('late', (e) => log.push('cb:' + (e as NodeJS.ErrnoException | undefined)?.code));
    await closed(c);
    await env.sleep(10);
    await closeServer(server);
    return { ok, log, state: c.readyState, end: c.end() === c };
  },

  async 'argument errors of connect() and listen()'(env) {
    const out: unknown[] = [];
    const attempt = (f: () => unknown): void => {
      try {
        const r = f() as Socket | Server;
        out.push('no throw');
        if ('destroy' in r) r.destroy();
        else r.close();
      } catch (e) {
        out.push(errInfo(env, e));
      }
    };
    const connect = env.net.connect as (...a: unknown[]) => Socket;
    attempt(() => connect());
    attempt(() => connect({}));
    attempt(() => connect({ port: 'abc' }));
    attempt(() => connect({ port: true }));
    attempt(() => connect({ port: 80, host: 5 }));
    attempt(() => connect({ port: 80, localAddress: 'nope' }));
    attempt(() => connect({ port: 80, localPort: 'x' }));
    attempt(() => connect({ path: 5 }));
    const server = () => env.serverNet.createServer() as Server & { listen(...a: unknown[]): Server };
    attempt(() => server().listen({}));
    attempt(() => server().listen({ port: 70000 }));
    attempt(() => server().listen({ port: -1 }));
    attempt(() => server().listen(true));
    await env.sleep(10);
    return out;
  },

  async 'isIP, isIPv4, isIPv6'(env) {
    const inputs = [
      '127.0.0.1',
      '10.0.0.256',
      '::1',
      'fe80::1%eth0',
      'localhost',
      '',
      '1.2.3',
      '::ffff:1.2.3.4',
    ];
    return inputs.map((i) => [env.net.isIP(i), env.net.isIPv4(i), env.net.isIPv6(i)]);
  },

  async 'write returns true below the high-water mark'(env) {
    const { server, port } = await serve(env, (s) => s.resume());
    const c = await dial(env, port);
    const r = [c.write('a'), c.write(Buffer.alloc(1000)), c.writableHighWaterMark];
    c.end();
    await closed(c);
    await closeServer(server);
    return r;
  },

  async "'end' comes even when nothing reads"(env) {
    const { server, port } = await serve(env, (s) => s.end());
    const c = await dial(env, port);
    const log: string[] = [];
    record(c, log);
    await closed(c);
    await closeServer(server);
    return log;
  },
};

/**
 * Checks whose node:net side resolves a name that is in no hosts file: real Node runs them
 * where resolution cannot reach the network (offline_node.ts).
 */
export const resolverChecks: Record<string, Check> = {
  async 'a name that does not resolve: lookup, ENOTFOUND, close'(env) {
    const log: string[] = [];
    const c = track(env.net.connect(80, 'nonexistent.invalid'));
    record(c, log);
    const lookups: unknown[] = [];
    c.on('lookup', (err: Error | null, addr, fam, host) =>
      lookups.push([(err as NodeJS.ErrnoException)?.code, addr, fam, host]),
    );
    const [err] = await once(c, 'error');
    await closed(c);
    return { log, lookups, err: errInfo(env, err) };
  },
};

export function sanity(): void {
  const n = Object.keys(checks).length + Object.keys(resolverChecks).length;
  assert.ok(n >= 40, `only ${n} checks`);
}
