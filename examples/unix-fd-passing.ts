// AF_UNIX file-descriptor passing: a broker process opens a UDP socket and hands it to a worker
// over a Unix stream socket with SCM_RIGHTS. The worker receives a new fd number for the same
// open file — the socket keeps its bound port — and uses it; the broker's copy can be closed.
//
//   npx usernet run examples/unix-fd-passing.ts

import { World, AF_INET, AF_UNIX, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SCM_RIGHTS } from 'usernet';

export default async function unixFdPassing(world: World) {
  const host = world.addHost('box');
  const broker = host.spawn({ comm: 'broker' });
  const worker = host.spawn({ comm: 'worker' });

  // The broker binds a UDP socket to port 5353 and keeps a Unix socket for its workers.
  const udp = broker.socket(AF_INET, SOCK_DGRAM, 0);
  broker.bind(udp, { family: AF_INET, addr: '127.0.0.1', port: 5353 });
  const lfd = broker.socket(AF_UNIX, SOCK_STREAM, 0);
  broker.bind(lfd, { family: AF_UNIX, path: '/tmp/broker.sock' });
  broker.listen(lfd, 4);

  const wfd = worker.socket(AF_UNIX, SOCK_STREAM, 0);
  const accepted = broker.accept(lfd);
  await worker.connect(wfd, { family: AF_UNIX, path: '/tmp/broker.sock' });
  const { fd: conn } = await accepted;

  // One byte of data carries the control message, as with sendmsg(2) in C.
  await broker.sendmsg(conn, {
    iov: [new TextEncoder().encode('!')],
    control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [udp] }],
  });
  broker.close(udp); // the worker's fd keeps the socket open
  const r = await worker.recvmsg(wfd, { iov: [new Uint8Array(1)], controllen: 64 });
  const got = r.control[0]?.fds?.[0] ?? -1;
  const local = worker.getsockname(got);
  console.log(`worker got fd ${got} (${worker.fdName(got)}), bound to ${JSON.stringify(local)}`);

  // A client sends to the port; the worker answers through the passed socket.
  const client = host.spawn({ comm: 'client' });
  const cfd = client.socket(AF_INET, SOCK_DGRAM, 0);
  await client.sendto(cfd, new TextEncoder().encode('query'), 0, {
    family: AF_INET,
    addr: '127.0.0.1',
    port: 5353,
  });
  const buf = new Uint8Array(64);
  const q = await worker.recvfrom(got, buf);
  await worker.sendto(got, new TextEncoder().encode('answer'), 0, q.addr ?? undefined);
  const n = await client.recv(cfd, buf);
  const reply = new TextDecoder().decode(buf.subarray(0, n));
  console.log(`client got "${reply}" from the passed socket`);
  return { fd: got, port: 'port' in local ? local.port : -1, reply };
}
