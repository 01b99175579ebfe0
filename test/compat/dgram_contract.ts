// node:dgram behaviour written once over any dgram-like module: the same checks run against
// real node:dgram on this machine's loopback and against host.dgram on a usernet host, and
// expect the same events, rinfo, return values and errors (message, code, errno, syscall,
// address, port) wherever they are deterministic.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { EventEmitter } from 'node:events';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** What the checks need of a socket: node:dgram's Socket, loosely typed. */
export type AnySocket = EventEmitter & Record<string, any>;
export interface DgramLike {
  createSocket(type: any, listener?: (msg: Buffer, rinfo: any) => void): any;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface Env {
  dgram: DgramLike;
  /** Called when a check ends, pass or fail. */
  finish(): void;
}

/** The fields Node puts on its errors, for comparing whole errors at once. */
export function fields(e: unknown): Record<string, unknown> {
  const err = e as Record<string, unknown>;
  const out: Record<string, unknown> = {
    name: (e as Error).name,
    message: (e as Error).message,
    code: err.code,
  };
  for (const k of ['errno', 'syscall', 'address', 'port']) if (err[k] !== undefined) out[k] = err[k];
  return out;
}

function thrown(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    return fields(e);
  }
  assert.fail('expected a throw');
}

/** send() as a promise of [error, bytes]. */
function sendP(s: AnySocket, ...args: unknown[]): Promise<[Error | null, number | undefined]> {
  return new Promise((resolve) => s.send(...args, (err: Error | null, n?: number) => resolve([err, n])));
}

async function bound(s: AnySocket, port = 0, address?: string): Promise<number> {
  s.bind(port, address);
  await once(s, 'listening');
  return s.address().port as number;
}

/** The next message as [text, rinfo]. */
async function message(s: AnySocket): Promise<[string, Record<string, unknown>]> {
  const [msg, rinfo] = await once(s, 'message');
  return [(msg as Buffer).toString(), rinfo as Record<string, unknown>];
}

const BAD_PORT = (v: string): Record<string, unknown> => ({
  name: 'RangeError',
  message: `Port should be > 0 and < 65536. Received ${v}.`,
  code: 'ERR_SOCKET_BAD_PORT',
});

/** Register the contract under `label`; `make` builds a fresh environment for each check. */
export function dgramContract(label: string, make: () => Env): void {
  describe(`node:dgram contract: ${label}`, () => {
    const check = (
      name: string,
      body: (d: DgramLike, track: (s: AnySocket) => AnySocket) => Promise<void>,
    ): void => {
      it(name, async () => {
        const env = make();
        const socks: AnySocket[] = [];
        const track = (s: AnySocket): AnySocket => (socks.push(s), s);
        const d: DgramLike = {
          createSocket: (type, listener) => track(env.dgram.createSocket(type, listener)),
        };
        try {
          await body(d, track);
        } finally {
          for (const s of socks) {
            try {
              s.close();
            } catch {
              // Closed by the check.
            }
          }
          env.finish();
        }
      });
    };

    check(
      'bind(0) emits listening, calls back once with the socket, and address() names the port',
      async (d) => {
        const s = d.createSocket('udp4');
        let calls = 0;
        const selves: unknown[] = [];
        s.bind(0, function (this: unknown) {
          calls++;
          selves.push(this);
        });
        await once(s, 'listening');
        assert.equal(calls, 1);
        assert.equal(selves[0], s);
        const a = s.address();
        assert.equal(a.address, '0.0.0.0');
        assert.equal(a.family, 'IPv4');
        assert.ok(a.port >= 1024 && a.port < 65536);
      },
    );

    check('bind({ port, address }) and bind to localhost', async (d) => {
      const s = d.createSocket('udp4');
      s.bind({ port: 0, address: '127.0.0.1' });
      await once(s, 'listening');
      assert.equal(s.address().address, '127.0.0.1');
      const t = d.createSocket('udp4');
      await bound(t, 0, 'localhost');
      assert.equal(t.address().address, '127.0.0.1');
    });

    check('binding twice throws ERR_SOCKET_ALREADY_BOUND', async (d) => {
      const s = d.createSocket('udp4');
      await bound(s);
      assert.deepEqual(
        thrown(() => s.bind(0)),
        { name: 'Error', message: 'Socket is already bound', code: 'ERR_SOCKET_ALREADY_BOUND' },
      );
    });

    check(
      'a taken port: error "bind EADDRINUSE 0.0.0.0:<port>", no listening, and the socket can bind again',
      async (d) => {
        const a = d.createSocket('udp4');
        const port = await bound(a);
        const b = d.createSocket('udp4');
        let listened = false;
        b.bind(port, () => (listened = true));
        const [err] = await once(b, 'error');
        assert.deepEqual(fields(err), {
          name: 'Error',
          message: `bind EADDRINUSE 0.0.0.0:${port}`,
          code: 'EADDRINUSE',
          errno: -98,
          syscall: 'bind',
          address: '0.0.0.0',
          port,
        });
        assert.equal(listened, false);
        // Back to unbound: a second bind is allowed.
        await bound(b, 0);
      },
    );

    check('reuseAddr lets two sockets bind one port', async (d) => {
      const a = d.createSocket({ type: 'udp4', reuseAddr: true });
      const port = await bound(a, 0, '127.0.0.1');
      const b = d.createSocket({ type: 'udp4', reuseAddr: true });
      assert.equal(await bound(b, port, '127.0.0.1'), port);
    });

    check('an address not on the host: "bind EADDRNOTAVAIL 192.0.2.1"', async (d) => {
      const s = d.createSocket('udp4');
      s.bind(0, '192.0.2.1');
      const [err] = await once(s, 'error');
      assert.deepEqual(fields(err), {
        name: 'Error',
        message: 'bind EADDRNOTAVAIL 192.0.2.1',
        code: 'EADDRNOTAVAIL',
        errno: -99,
        syscall: 'bind',
        address: '192.0.2.1',
      });
    });

    check('Buffer, string, Uint8Array and a list of them arrive whole with rinfo', async (d) => {
      const r = d.createSocket('udp4');
      const port = await bound(r, 0, '127.0.0.1');
      const s = d.createSocket('udp4');
      assert.deepEqual(await sendP(s, Buffer.from('buffer'), port, '127.0.0.1'), [null, 6]);
      const from = s.address().port;
      const seen: [string, unknown][] = [];
      r.on('message', (m: Buffer, ri: unknown) => seen.push([m.toString(), ri]));
      assert.deepEqual(await sendP(s, 'string', port, '127.0.0.1'), [null, 6]);
      assert.deepEqual(await sendP(s, new Uint8Array([65, 66, 67]), port, '127.0.0.1'), [null, 3]);
      assert.deepEqual(await sendP(s, [Buffer.from('ab'), 'cd', new Uint8Array([101])], port, '127.0.0.1'), [
        null,
        5,
      ]);
      while (seen.length < 4) await once(r, 'message');
      const ri = (size: number): unknown => ({ address: '127.0.0.1', family: 'IPv4', port: from, size });
      assert.deepEqual(seen, [
        ['buffer', ri(6)],
        ['string', ri(6)],
        ['ABC', ri(3)],
        ['abcde', ri(5)],
      ]);
    });

    check('the offset/length form sends a slice; an empty list sends an empty datagram', async (d) => {
      const r = d.createSocket('udp4');
      const port = await bound(r, 0, '127.0.0.1');
      const s = d.createSocket('udp4');
      const got = message(r);
      assert.deepEqual(await sendP(s, Buffer.from('0123456789'), 2, 3, port, '127.0.0.1'), [null, 3]);
      assert.equal((await got)[0], '234');
      const empty = message(r);
      assert.deepEqual(await sendP(s, [], port, '127.0.0.1'), [null, 0]);
      const [text, rinfo] = await empty;
      assert.equal(text, '');
      assert.equal(rinfo.size, 0);
    });

    check(
      'the first send binds implicitly to 0.0.0.0 and emits listening; no address means 127.0.0.1',
      async (d) => {
        const r = d.createSocket('udp4');
        const port = await bound(r, 0, '127.0.0.1');
        const s = d.createSocket('udp4');
        assert.deepEqual(
          thrown(() => s.address()),
          {
            name: 'Error',
            message: 'getsockname EBADF',
            code: 'EBADF',
            errno: -9,
            syscall: 'getsockname',
          },
        );
        let listening = 0;
        s.on('listening', () => listening++);
        const got = message(r);
        assert.deepEqual(await sendP(s, 'implicit', port), [null, 8]);
        assert.equal(listening, 1);
        assert.equal(s.address().address, '0.0.0.0');
        const [text, rinfo] = await got;
        assert.equal(text, 'implicit');
        assert.equal(rinfo.port, s.address().port);
      },
    );

    check('65507 bytes arrive whole; 65508 fail with "send EMSGSIZE 127.0.0.1:<port>"', async (d) => {
      const r = d.createSocket('udp4');
      const port = await bound(r, 0, '127.0.0.1');
      const s = d.createSocket('udp4');
      const [err] = await sendP(s, Buffer.alloc(65508), port, '127.0.0.1');
      assert.deepEqual(fields(err), {
        name: 'Error',
        message: `send EMSGSIZE 127.0.0.1:${port}`,
        code: 'EMSGSIZE',
        errno: -90,
        syscall: 'send',
        address: '127.0.0.1',
        port,
      });
      const big = Buffer.alloc(65507, 0x61);
      const got = once(r, 'message');
      assert.deepEqual(await sendP(s, big, port, '127.0.0.1'), [null, 65507]);
      const [msg, rinfo] = await got;
      assert.ok(big.equals(msg as Buffer));
      assert.equal((rinfo as { size: number }).size, 65507);
    });

    check("bad ports, buffers and bounds throw Node's errors", async (d) => {
      const s = d.createSocket('udp4');
      assert.deepEqual(
        thrown(() => s.send('x', 0, '127.0.0.1')),
        BAD_PORT('type number (0)'),
      );
      assert.deepEqual(
        thrown(() => s.send('x', 70000, '127.0.0.1')),
        BAD_PORT('type number (70000)'),
      );
      assert.deepEqual(
        thrown(() => s.send('x')),
        BAD_PORT('undefined'),
      );
      assert.deepEqual(
        thrown(() => s.connect(0)),
        BAD_PORT('type number (0)'),
      );
      assert.deepEqual(
        thrown(() => s.send(5, 1000)),
        {
          name: 'TypeError',
          message:
            'The "buffer" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received type number (5)',
          code: 'ERR_INVALID_ARG_TYPE',
        },
      );
      assert.deepEqual(
        thrown(() => s.send(Buffer.from('0123'), 2, 3, 1000, '127.0.0.1')),
        {
          name: 'RangeError',
          message: '"length" is outside of buffer bounds',
          code: 'ERR_BUFFER_OUT_OF_BOUNDS',
        },
      );
      assert.deepEqual(
        thrown(() => s.send(Buffer.from('0123'), 5, 0, 1000, '127.0.0.1')),
        {
          name: 'RangeError',
          message: '"offset" is outside of buffer bounds',
          code: 'ERR_BUFFER_OUT_OF_BOUNDS',
        },
      );
      assert.deepEqual(
        thrown(() => d.createSocket('udp5')),
        {
          name: 'TypeError',
          message: 'Bad socket type specified. Valid types are: udp4, udp6',
          code: 'ERR_SOCKET_BAD_TYPE',
        },
      );
    });

    check('connect: callback and connect event, remoteAddress(), sends without a port', async (d) => {
      const r = d.createSocket('udp4');
      const port = await bound(r, 0, '127.0.0.1');
      const c = d.createSocket('udp4');
      assert.deepEqual(
        thrown(() => c.remoteAddress()),
        {
          name: 'Error',
          message: 'Not connected',
          code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED',
        },
      );
      let events = 0;
      c.on('connect', () => events++);
      const done = new Promise<unknown>((resolve) => c.connect(port, '127.0.0.1', resolve));
      assert.equal(await done, undefined);
      assert.equal(events, 1);
      assert.deepEqual(c.remoteAddress(), { address: '127.0.0.1', family: 'IPv4', port });
      assert.equal(c.address().address, '127.0.0.1');
      const got = message(r);
      assert.deepEqual(await sendP(c, 'connected'), [null, 9]);
      assert.deepEqual(await got, [
        'connected',
        { address: '127.0.0.1', family: 'IPv4', port: c.address().port, size: 9 },
      ]);
      const slice = message(r);
      assert.deepEqual(await sendP(c, Buffer.from('0123456789'), 1, 2), [null, 2]);
      assert.equal((await slice)[0], '12');
    });

    check(
      'connected: connect again and a port with offset/length throw ERR_SOCKET_DGRAM_IS_CONNECTED',
      async (d) => {
        const r = d.createSocket('udp4');
        const port = await bound(r, 0, '127.0.0.1');
        const c = d.createSocket('udp4');
        c.connect(port);
        await once(c, 'connect');
        const isConnected = {
          name: 'Error',
          message: 'Already connected',
          code: 'ERR_SOCKET_DGRAM_IS_CONNECTED',
        };
        assert.deepEqual(
          thrown(() => c.connect(port)),
          isConnected,
        );
        assert.deepEqual(
          thrown(() => c.send(Buffer.from('x'), 0, 1, port, '127.0.0.1')),
          isConnected,
        );
      },
    );

    check(
      'disconnect(): the peer and an implicitly bound port are forgotten; sends need a port again',
      async (d) => {
        const r = d.createSocket('udp4');
        const port = await bound(r, 0, '127.0.0.1');
        const c = d.createSocket('udp4');
        c.connect(port, '127.0.0.1');
        await once(c, 'connect');
        c.disconnect();
        const notConnected = {
          name: 'Error',
          message: 'Not connected',
          code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED',
        };
        assert.deepEqual(
          thrown(() => c.remoteAddress()),
          notConnected,
        );
        assert.deepEqual(
          thrown(() => c.disconnect()),
          notConnected,
        );
        // Linux unhashes a port that bind(0) chose (__udp_disconnect without SOCK_BINDPORT_LOCK).
        assert.deepEqual(c.address(), { address: '0.0.0.0', family: 'IPv4', port: 0 });
        const got = message(r);
        assert.deepEqual(await sendP(c, 'again', port, '127.0.0.1'), [null, 5]);
        assert.equal((await got)[0], 'again');
        assert.ok(c.address().port > 0);
      },
    );

    check('a connected socket to a closed port gets "recvmsg ECONNREFUSED" as an error event', async (d) => {
      const gone = d.createSocket('udp4');
      const port = await bound(gone, 0, '127.0.0.1');
      gone.close();
      await once(gone, 'close');
      const c = d.createSocket('udp4');
      c.connect(port, '127.0.0.1');
      await once(c, 'connect');
      const failed = once(c, 'error');
      assert.deepEqual(await sendP(c, 'anyone?'), [null, 7]);
      const [err] = await failed;
      assert.deepEqual(fields(err), {
        name: 'Error',
        message: 'recvmsg ECONNREFUSED',
        code: 'ECONNREFUSED',
        errno: -111,
        syscall: 'recvmsg',
      });
    });

    check(
      'close(): close event and callback, then everything throws ERR_SOCKET_DGRAM_NOT_RUNNING',
      async (d) => {
        const s = d.createSocket('udp4');
        await bound(s);
        let cb = 0;
        s.close(() => cb++);
        await once(s, 'close');
        assert.equal(cb, 1);
        const notRunning = { name: 'Error', message: 'Not running', code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' };
        assert.deepEqual(
          thrown(() => s.close()),
          notRunning,
        );
        assert.deepEqual(
          thrown(() => s.send('x', 1000)),
          notRunning,
        );
        assert.deepEqual(
          thrown(() => s.bind(0)),
          notRunning,
        );
        assert.deepEqual(
          thrown(() => s.address()),
          notRunning,
        );
      },
    );

    check(
      'close() frees the port at once; a close during a bind waits only behind queued sends',
      async (d) => {
        const s = d.createSocket('udp4');
        const port = await bound(s, 0, '127.0.0.1');
        s.close();
        const t = d.createSocket('udp4');
        assert.equal(await bound(t, port, '127.0.0.1'), port);
        // Nothing queued: the close does not wait for the bind, which never completes.
        const u = d.createSocket('udp4');
        u.bind(0);
        const events: string[] = [];
        u.on('listening', () => events.push('listening'));
        u.close(() => events.push('close'));
        await once(u, 'close');
        assert.deepEqual(events, ['close']);
        // A send waiting for the implicit bind: the close queues behind it, and runs before the
        // send's address lookup completes, so the datagram is dropped and its callback never runs.
        const v = d.createSocket('udp4');
        const order: string[] = [];
        v.on('listening', () => order.push('listening'));
        v.send('last words', port, '127.0.0.1', (err: Error | null) => order.push(`sent ${err}`));
        v.close(() => order.push('close'));
        await once(v, 'close');
        assert.deepEqual(order, ['listening', 'close']);
      },
    );

    check('options before the socket exists fail with EBADF, as libuv has no fd yet', async (d) => {
      const s = d.createSocket('udp4');
      const ebadf = (syscall: string): unknown => ({
        name: 'Error',
        message: `${syscall} EBADF`,
        code: 'EBADF',
        errno: -9,
        syscall,
      });
      assert.deepEqual(
        thrown(() => s.setBroadcast(true)),
        ebadf('setBroadcast'),
      );
      assert.deepEqual(
        thrown(() => s.setTTL(5)),
        ebadf('setTTL'),
      );
      assert.deepEqual(
        thrown(() => s.setMulticastTTL(5)),
        ebadf('setMulticastTTL'),
      );
      const e = thrown(() => s.getRecvBufferSize());
      assert.deepEqual(e, {
        name: 'SystemError',
        message: 'Could not get or set buffer size: uv_recv_buffer_size returned EBADF (bad file descriptor)',
        code: 'ERR_SOCKET_BUFFER_SIZE',
        errno: -9,
        syscall: 'uv_recv_buffer_size',
      });
      assert.equal(s.getSendQueueSize(), 0);
      assert.equal(s.getSendQueueCount(), 0);
    });

    check('setTTL and setMulticastTTL ranges, setMulticastLoopback and setBroadcast', async (d) => {
      const s = d.createSocket('udp4');
      await bound(s);
      const einval = (syscall: string): unknown => ({
        name: 'Error',
        message: `${syscall} EINVAL`,
        code: 'EINVAL',
        errno: -22,
        syscall,
      });
      assert.equal(s.setTTL(64), 64);
      assert.equal(s.setTTL(1), 1);
      assert.deepEqual(
        thrown(() => s.setTTL(0)),
        einval('setTTL'),
      );
      assert.deepEqual(
        thrown(() => s.setTTL(256)),
        einval('setTTL'),
      );
      assert.deepEqual(
        thrown(() => s.setTTL('x')),
        {
          name: 'TypeError',
          message: 'The "ttl" argument must be of type number. Received type string (\'x\')',
          code: 'ERR_INVALID_ARG_TYPE',
        },
      );
      assert.equal(s.setMulticastTTL(0), 0);
      assert.equal(s.setMulticastTTL(255), 255);
      assert.deepEqual(
        thrown(() => s.setMulticastTTL(256)),
        einval('setMulticastTTL'),
      );
      assert.equal(s.setMulticastLoopback(false), false);
      assert.equal(s.setBroadcast(true), undefined);
      assert.deepEqual(
        thrown(() => s.addMembership()),
        {
          name: 'TypeError',
          message: 'The "multicastAddress" argument must be specified',
          code: 'ERR_MISSING_ARGS',
        },
      );
      assert.deepEqual(
        thrown(() => s.addMembership('not-an-address')),
        einval('addMembership'),
      );
    });

    check('buffer sizes as getsockopt reports them: doubled, with the kernel minimum', async (d) => {
      const s = d.createSocket('udp4');
      await bound(s);
      assert.equal(s.getRecvBufferSize(), 212992);
      assert.equal(s.getSendBufferSize(), 212992);
      assert.equal(s.setRecvBufferSize(10000), undefined);
      assert.equal(s.getRecvBufferSize(), 20000);
      s.setSendBufferSize(1);
      assert.equal(s.getSendBufferSize(), 4608);
      const bad = {
        name: 'TypeError',
        message: 'Buffer size must be a positive integer',
        code: 'ERR_SOCKET_BAD_BUFFER_SIZE',
      };
      assert.deepEqual(
        thrown(() => s.setRecvBufferSize(-1)),
        bad,
      );
      assert.deepEqual(
        thrown(() => s.setRecvBufferSize(1.5)),
        bad,
      );
      const t = d.createSocket({ type: 'udp4', recvBufferSize: 20000, sendBufferSize: 30000 });
      await bound(t, 0, '127.0.0.1');
      assert.equal(t.getRecvBufferSize(), 40000);
      assert.equal(t.getSendBufferSize(), 60000);
    });

    check(
      'a message listener given to createSocket, a custom lookup, ref/unref and empty send queues',
      async (d) => {
        const seen: string[] = [];
        const r = d.createSocket('udp4', (m: Buffer) => seen.push(m.toString()));
        const port = await bound(r, 0, '127.0.0.1');
        const names: string[] = [];
        const s = d.createSocket({
          type: 'udp4',
          lookup: (name: string, family: number, cb: (e: Error | null, a: string, f: number) => void) => {
            names.push(`${name}/${family}`);
            process.nextTick(cb, null, '127.0.0.1', 4);
          },
        });
        assert.equal(s.ref(), s);
        assert.equal(s.unref(), s);
        const got = once(r, 'message');
        assert.deepEqual(await sendP(s, 'named', port, 'peer.test'), [null, 5]);
        await got;
        assert.deepEqual(seen, ['named']);
        assert.deepEqual(names, ['0.0.0.0/4', 'peer.test/4']);
        assert.equal(s.getSendQueueSize(), 0);
        assert.equal(s.getSendQueueCount(), 0);
      },
    );

    check('sends made before the implicit bind completes go out in order', async (d) => {
      const r = d.createSocket('udp4');
      const port = await bound(r, 0, '127.0.0.1');
      const s = d.createSocket('udp4');
      const seen: string[] = [];
      r.on('message', (m: Buffer) => seen.push(m.toString()));
      const results = await Promise.all(['one', 'two', 'three'].map((t) => sendP(s, t, port, '127.0.0.1')));
      assert.deepEqual(results, [
        [null, 3],
        [null, 3],
        [null, 5],
      ]);
      while (seen.length < 3) await once(r, 'message');
      assert.deepEqual(seen, ['one', 'two', 'three']);
    });
  });
}
