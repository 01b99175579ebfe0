// host.dgram between usernet hosts: loss on a link (datagrams lost, never damaged), broadcast on
// a switch, a datagram larger than the MTU (IP fragmentation), ICMP port unreachable reported to
// a connected socket, a full send buffer queueing sends, and what usernet cannot do yet.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { World, type Host } from '../../src/index.js';
import type { DgramSocket, RemoteInfo } from '../../src/compat/node/dgram.js';
import { fields } from './dgram_contract.js';
import { snmp_get } from '../../src/net/ipv4/snmp.js';

/** Run virtual time until nothing is pending or `ms` have passed. */
async function runFor(w: World, ms: number): Promise<void> {
  const end = w.clock.now() + ms * 1e6;
  for (let i = 0; i < 100000 && w.clock.nextExpiry() <= end; i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

function pair(seed: number, opts: Parameters<World['link']>[2] = {}): { w: World; a: Host; b: Host } {
  const w = new World({ seed });
  const a = w.addHost('a');
  const b = w.addHost('b');
  w.link(a, b, opts);
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  return { w, a, b };
}

async function listening(s: DgramSocket, port = 0, address?: string): Promise<number> {
  s.bind(port, address);
  await once(s, 'listening');
  return s.address().port;
}

/** A payload whose every byte says where it belongs: datagram `i`, `size` bytes. */
function payload(i: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(i, 0);
  for (let k = 4; k < size; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}

test('over a lossy link datagrams are lost, never damaged or duplicated', async () => {
  const { w, a, b } = pair(11, { delay: '5ms', loss: '20%' });
  const rx = b.dgram.createSocket('udp4');
  await listening(rx, 7000);
  const got = new Map<number, Buffer>();
  const from = new Set<string>();
  rx.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const i = msg.readUInt32BE(0);
    assert.ok(!got.has(i), `datagram ${i} arrived once`);
    got.set(i, msg);
    from.add(`${rinfo.address}/${rinfo.family}/${rinfo.size === msg.length}`);
  });
  const tx = a.dgram.createSocket('udp4');
  const N = 200;
  let sent = 0;
  for (let i = 0; i < N; i++) {
    tx.send(payload(i, 100 + (i % 50) * 20), 7000, '10.0.0.2', (err) => {
      assert.equal(err, null);
      sent++;
    });
    // Paced, so no burst waits on ARP beyond the neighbour queue.
    if (i % 10 === 9) await runFor(w, 20);
  }
  await runFor(w, 1000);
  assert.equal(sent, N);
  assert.ok(got.size > N * 0.6 && got.size < N, `some lost, most arrived: ${got.size} of ${N}`);
  for (const [i, msg] of got) assert.ok(msg.equals(payload(i, 100 + (i % 50) * 20)), `datagram ${i} intact`);
  assert.deepEqual([...from], ['10.0.0.1/IPv4/true']);
  w.stop();
});

test('the same seed loses the same datagrams', async () => {
  const run = async (): Promise<number[]> => {
    const { w, a, b } = pair(5, { delay: '2ms', loss: '30%' });
    const rx = b.dgram.createSocket('udp4');
    await listening(rx, 7001);
    const got: number[] = [];
    rx.on('message', (m: Buffer) => got.push(m.readUInt32BE(0)));
    const tx = a.dgram.createSocket('udp4');
    for (let i = 0; i < 50; i++) tx.send(payload(i, 64), 7001, '10.0.0.2');
    await runFor(w, 500);
    w.stop();
    return got;
  };
  const first = await run();
  assert.ok(first.length > 0 && first.length < 50);
  assert.deepEqual(await run(), first);
});

test('broadcast on a switch: EACCES without setBroadcast, then every host hears it', async () => {
  const w = new World({ seed: 3 });
  const hosts = ['h1', 'h2', 'h3'].map((n) => w.addHost(n));
  w.bridge('sw', hosts, { delay: '1ms' });
  hosts.forEach((h, i) => h.ip(`addr add 10.1.0.${i + 1}/24 dev eth0`));
  const heard = new Map<string, string[]>();
  for (const h of hosts) {
    const s = h.dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await listening(s, 5353);
    heard.set(h.name, []);
    s.on('message', (m: Buffer, r: RemoteInfo) => heard.get(h.name)!.push(`${m} from ${r.address}`));
  }
  const tx = hosts[0].dgram.createSocket('udp4');
  await listening(tx);
  const [err] = await new Promise<[Error | null]>((res) =>
    tx.send('hello all', 5353, '10.1.0.255', (e) => res([e])),
  );
  assert.deepEqual(fields(err), {
    name: 'Error',
    message: 'send EACCES 10.1.0.255:5353',
    code: 'EACCES',
    errno: -13,
    syscall: 'send',
    address: '10.1.0.255',
    port: 5353,
  });
  tx.setBroadcast(true);
  tx.send('hello all', 5353, '10.1.0.255');
  await runFor(w, 50);
  for (const h of hosts) assert.deepEqual(heard.get(h.name), ['hello all from 10.1.0.1'], h.name);
  w.stop();
});

test('a datagram larger than the MTU is fragmented and arrives whole', async () => {
  const { w, a, b } = pair(2, { delay: '3ms', mtu: 1500 });
  const rx = b.dgram.createSocket('udp4');
  await listening(rx, 9000);
  const tx = a.dgram.createSocket('udp4');
  const sizes = [1472, 1473, 4000, 30000, 65507];
  const got: Buffer[] = [];
  rx.on('message', (m: Buffer) => got.push(m));
  for (const [i, n] of sizes.entries()) tx.send(payload(i, n), 9000, '10.0.0.2');
  await runFor(w, 200);
  assert.deepEqual(
    got.map((m) => m.length),
    sizes,
  );
  got.forEach((m, i) => assert.ok(m.equals(payload(i, sizes[i])), `datagram ${i} intact`));
  // 1473 bytes and up took more than one fragment each.
  assert.equal(snmp_get(b.netns, 'Ip', 'ReasmOKs'), 4);
  w.stop();
});

test('a connected socket gets ECONNREFUSED from the peer host as Node reports it, once per ICMP error', async () => {
  const { w, a } = pair(4, { delay: '10ms' });
  const c = a.dgram.createSocket('udp4');
  c.connect(4444, '10.0.0.2');
  await once(c, 'connect');
  const errors: Record<string, unknown>[] = [];
  c.on('error', (e) => errors.push(fields(e)));
  const first = await new Promise<[Error | null, number?]>((res) => c.send('ping', (e, n) => res([e, n])));
  assert.deepEqual(first, [null, 4]);
  // The ICMP port unreachable comes back 20 ms later; the receive side reports it.
  await runFor(w, 100);
  assert.deepEqual(errors, [
    { name: 'Error', message: 'recvmsg ECONNREFUSED', code: 'ECONNREFUSED', errno: -111, syscall: 'recvmsg' },
  ]);
  // The receive consumed the error: the next send succeeds, and its answer is reported too.
  const again = await new Promise<[Error | null, number?]>((res) => c.send('ping', (e, n) => res([e, n])));
  assert.deepEqual(again, [null, 4]);
  await runFor(w, 100);
  assert.equal(errors.length, 2);
  assert.deepEqual(errors[1], errors[0]);
  w.stop();
});

test('a full send buffer queues sends (getSendQueueCount/Size) and flushes them in order', async () => {
  const { w, a, b } = pair(6, { delay: '20ms' });
  const rx = b.dgram.createSocket('udp4');
  await listening(rx, 6000);
  const seen: number[] = [];
  rx.on('message', (m: Buffer) => seen.push(m.readUInt32BE(0)));
  const tx = a.dgram.createSocket('udp4');
  await listening(tx);
  tx.setSendBufferSize(4608);
  const N = 40;
  const done: number[] = [];
  for (let i = 0; i < N; i++)
    tx.send(payload(i, 1000), 6000, '10.0.0.2', (err) => {
      assert.equal(err, null);
      done.push(i);
    });
  // Let the sends be tried (after their address lookups): while ARP resolves the peer, the
  // first datagrams wait in the neighbour queue, charged to the socket, and the rest find the
  // send buffer full.
  await new Promise((r) => setImmediate(r));
  assert.ok(tx.getSendQueueCount() > 0, 'sends queued');
  assert.equal(tx.getSendQueueSize(), tx.getSendQueueCount() * 1000);
  await runFor(w, 2000);
  assert.equal(tx.getSendQueueCount(), 0);
  assert.deepEqual(done, [...Array(N).keys()]);
  assert.deepEqual(seen, [...Array(N).keys()]);
  w.stop();
});

test('udp6 fails clearly; multicast membership reports the kernel errno (ENOPROTOOPT)', async () => {
  const w = new World({ seed: 1 });
  const h = w.addHost('h');
  assert.throws(() => h.dgram.createSocket('udp6'), {
    code: 'ERR_SOCKET_BAD_TYPE',
    message: 'udp6 sockets are not supported: usernet has no IPv6 yet',
  });
  const s = h.dgram.createSocket('udp4');
  assert.throws(() => s.addMembership('224.0.0.114'), {
    message: 'addMembership ENOPROTOOPT',
    code: 'ENOPROTOOPT',
    errno: -92,
    syscall: 'addMembership',
  });
  // Like libuv, the membership call bound the socket first.
  assert.equal(s.address().address, '0.0.0.0');
  assert.ok(s.address().port > 0);
  s.close();
  assert.equal(h.dgram, h.dgram, 'one module per host');
  w.stop();
});
