// host.dns: node:dns's lookup over the world's hosts table, checked against real node:dns where
// the answer does not depend on this machine's resolver (literals, localhost, bad arguments,
// a name under .invalid), and the table itself (host names, added entries, connect by name).

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import realDns from 'node:dns';
import { Host, World } from '../../src/index.js';
import { VirtualClock } from '../../src/kernel/time.js';
import { Prandom } from '../../src/kernel/random.js';
import { outcome } from './dns_outcome.js';
import { offlineNode, offlineNodeAvailable, offlineSkip } from './offline_node.js';

const worlds: World[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.stop();
});

function world(): World {
  const w = new World({ seed: 3 });
  worlds.push(w);
  return w;
}

const sameAsNode: unknown[][] = [
  ['localhost'],
  ['localhost', 4],
  ['localhost', { family: 4 }],
  ['localhost', { family: 'IPv4' }],
  ['localhost', { all: true }],
  ['127.0.0.1'],
  ['10.1.2.3', { family: 6 }],
  ['10.1.2.3', { all: true }],
  ['::1', { all: true }],
  [''],
  ['', { all: true }],
  ['', 6],
  [5],
  ['localhost', { family: 5 }],
  ['localhost', 7],
  ['localhost', 'x'],
];

for (const args of sameAsNode) {
  test(`dns.lookup(${args.map((a) => JSON.stringify(a)).join(', ')}) answers as node:dns`, async () => {
    const expected = await outcome(realDns, args);
    const got = await outcome(world().addHost('h').dns, args);
    assert.deepEqual(got, expected);
  });
}

// Names in no hosts file: real node:dns answers them where resolution cannot reach the network.
const notFound: unknown[][] = [
  ['nonexistent.invalid'],
  ['nonexistent.invalid', { all: true }],
  ['b', { family: 4 }],
];

for (const args of notFound) {
  test(
    `dns.lookup(${args.map((a) => JSON.stringify(a)).join(', ')}) fails as node:dns`,
    {
      skip: offlineNodeAvailable() ? false : offlineSkip,
    },
    async () => {
      const expected = await offlineNode(
        `import dns from 'node:dns';\n` +
          `import { outcome } from ${JSON.stringify(new URL('./dns_outcome.js', import.meta.url).href)};\n` +
          `console.log(JSON.stringify(await outcome(dns, ${JSON.stringify(args)})));\n`,
      );
      const got = JSON.parse(JSON.stringify(await outcome(world().addHost('h').dns, args)));
      assert.deepEqual(got, expected);
      assert.equal((got as { err: { code: string } }).err.code, 'ENOTFOUND');
    },
  );
}

test('dns.lookup without a callback throws as node:dns', () => {
  const dns = world().addHost('h').dns;
  const fields = (f: () => void): unknown => {
    try {
      f();
    } catch (e) {
      return [(e as NodeJS.ErrnoException).code, (e as Error).message];
    }
    return 'no throw';
  };
  const call = (d: unknown) => () => (d as { lookup(...a: unknown[]): void }).lookup('localhost', {});
  assert.deepEqual(fields(call(dns)), fields(call(realDns)));
});

test('dns.promises.lookup resolves and rejects as node:dns', async () => {
  const dns = world().addHost('h').dns;
  assert.deepEqual(
    await dns.promises.lookup('localhost'),
    await realDns.promises.lookup('localhost', { family: 4 }),
  );
  assert.deepEqual(await dns.promises.lookup('localhost', { all: true }), [
    { address: '127.0.0.1', family: 4 },
  ]);
  const fields = (e: NodeJS.ErrnoException & { hostname?: string }) => [
    e.code,
    e.errno,
    e.syscall,
    e.hostname,
    e.message,
  ];
  // The same fields as the callback form's error, which is compared with real node:dns above.
  const mine = await dns.promises.lookup('nonexistent.invalid').catch((e) => fields(e));
  assert.deepEqual(mine, [
    'ENOTFOUND',
    -3008,
    'getaddrinfo',
    'nonexistent.invalid',
    'getaddrinfo ENOTFOUND nonexistent.invalid',
  ]);
  assert.deepEqual(
    [dns.ADDRCONFIG, dns.V4MAPPED, dns.ALL],
    [realDns.ADDRCONFIG, realDns.V4MAPPED, realDns.ALL],
  );
});

test("hosts resolve each other's names to their first address outside 127/8, as it is when asked", async () => {
  const w = world();
  const a = w.addHost('a');
  const b = w.addHost('Server-B');
  // No address yet: the name is known but has nothing to give.
  await assert.rejects(a.dns.promises.lookup('server-b'), { code: 'ENOTFOUND' });
  w.link(a, b);
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  b.ip('addr add 10.0.0.3/24 dev eth0');
  assert.deepEqual(await a.dns.promises.lookup('server-b'), { address: '10.0.0.2', family: 4 });
  assert.deepEqual(await a.dns.promises.lookup('SERVER-B', { all: true }), [
    { address: '10.0.0.2', family: 4 },
  ]);
  assert.deepEqual(await b.dns.promises.lookup('a'), { address: '10.0.0.1', family: 4 });
  // A host resolves its own name too, and localhost is loopback everywhere.
  assert.deepEqual(await a.dns.promises.lookup('a'), { address: '10.0.0.1', family: 4 });
  assert.deepEqual(await b.dns.promises.lookup('localhost'), { address: '127.0.0.1', family: 4 });
  await assert.rejects(a.dns.promises.lookup('c'), { code: 'ENOTFOUND', hostname: 'c' });
  await assert.rejects(a.dns.promises.lookup('server-b', { family: 6 }), { code: 'ENOTFOUND' });
  assert.equal(w.hostsTable.toString(), '127.0.0.1\tlocalhost\n10.0.0.1\ta\n10.0.0.2\tServer-B\n');
});

test('hostsTable.set adds and overrides names, delete removes them, bad input throws', async () => {
  const w = world();
  const a = w.addHost('a');
  w.hostsTable.set('db', '10.9.9.9').set('multi', ['fd00::1', '10.1.1.1']);
  w.hostsTable.set('localhost', '127.0.0.2');
  assert.deepEqual(await a.dns.promises.lookup('DB'), { address: '10.9.9.9', family: 4 });
  assert.deepEqual(await a.dns.promises.lookup('localhost'), { address: '127.0.0.2', family: 4 });
  assert.deepEqual(await a.dns.promises.lookup('multi', { all: true }), [
    { address: 'fd00::1', family: 6 },
    { address: '10.1.1.1', family: 4 },
  ]);
  assert.deepEqual(await a.dns.promises.lookup('multi'), { address: 'fd00::1', family: 6 });
  assert.deepEqual(await a.dns.promises.lookup('multi', { family: 4 }), { address: '10.1.1.1', family: 4 });
  assert.deepEqual(await a.dns.promises.lookup('multi', { order: 'ipv4first' }), {
    address: '10.1.1.1',
    family: 4,
  });
  assert.equal(w.hostsTable.delete('localhost'), true);
  assert.equal(w.hostsTable.delete('localhost'), false);
  assert.deepEqual(await a.dns.promises.lookup('localhost'), { address: '127.0.0.1', family: 4 });
  assert.throws(() => w.hostsTable.set('x', '10.0.0.300'), TypeError);
  assert.throws(() => w.hostsTable.set('two words', '10.0.0.1'), TypeError);
  assert.throws(() => w.hostsTable.set('x', []), TypeError);
  assert.deepEqual(w.hostsTable.resolve('x'), []);
});

test('a host made outside a world has a table of its own: localhost, its name, what is set', async () => {
  const h = new Host('solo', new VirtualClock(), new Prandom(1));
  assert.deepEqual(await h.dns.promises.lookup('localhost'), { address: '127.0.0.1', family: 4 });
  // Its own name is known, but it has no address outside 127/8 to give.
  await assert.rejects(h.dns.promises.lookup('solo'), { code: 'ENOTFOUND' });
  h.hostsTable.set('peer', '192.0.2.7');
  assert.deepEqual(await h.dns.promises.lookup('peer'), { address: '192.0.2.7', family: 4 });
});

test("connect({ host: name }) resolves through the world's table, emitting 'lookup'", async () => {
  const w = world();
  const a = w.addHost('a');
  const b = w.addHost('b');
  w.link(a, b, { delay: '3ms' });
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  w.hostsTable.set('api.example', '10.0.0.2');
  const server = b.net.createServer((s) => s.end(`hi ${s.remoteAddress}`));
  server.listen(8080, 'b');
  await once(server, 'listening');
  assert.deepEqual(server.address(), { address: '10.0.0.2', family: 'IPv4', port: 8080 });
  for (const name of ['b', 'api.example']) {
    const c = a.net.connect({ host: name, port: 8080 });
    const [err, address, family, host] = await once(c, 'lookup');
    assert.deepEqual([err, address, family, host], [null, '10.0.0.2', 4, name]);
    let text = '';
    c.on('data', (d: Buffer) => (text += d.toString()));
    await once(c, 'close');
    assert.equal(text, 'hi 10.0.0.1');
  }
  // A name the table lacks fails the way Node's does.
  const bad = a.net.connect(8080, 'nowhere');
  const [err] = (await once(bad, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ENOTFOUND');
  assert.equal(err.message, 'getaddrinfo ENOTFOUND nowhere');
  // listen() on an unknown name: the server's 'error' is the lookup's.
  const s2 = b.net.createServer();
  s2.listen(8081, 'nowhere');
  const [lerr] = (await once(s2, 'error')) as [NodeJS.ErrnoException];
  assert.equal(lerr.code, 'ENOTFOUND');
  assert.equal(lerr.syscall, 'getaddrinfo');
  // An IPv6 entry cannot be reached: usernet has no IPv6.
  w.hostsTable.set('v6only', 'fd00::2');
  const c6 = a.net.connect(8080, 'v6only');
  const [e6] = (await once(c6, 'error')) as [NodeJS.ErrnoException];
  assert.equal(e6.code, 'EAFNOSUPPORT');
  server.close();
  await once(server, 'close');
});

test('host.net and host.dns are made once per host', () => {
  const w = world();
  const a = w.addHost('a');
  assert.equal(a.net, a.net);
  assert.equal(a.dns, a.dns);
  assert.notEqual(a.net, w.addHost('b').net);
});
