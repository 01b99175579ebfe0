// The AF_UNIX demo: a server and a client process on one virtual host, a listening socket
// bound to a path, a connection, a message each way, an fd passed over SCM_RIGHTS, and the
// kernel's view of it all in /proc/net/unix.

import {
  World,
  AF_UNIX,
  SOCK_STREAM,
  SOCK_DGRAM,
  SOL_SOCKET,
  SCM_RIGHTS,
  SO_PEERCRED,
  POLLIN,
  type Ucred,
} from '../index.js';

export async function runDemo(print: (line: string) => void): Promise<void> {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const world = new World({ seed: 42 });
  const host = world.addHost('demo');
  const server = host.spawn({ uid: 0, comm: 'server' });
  const client = host.spawn({ uid: 1000, gid: 1000, comm: 'client' });

  const lfd = server.socket(AF_UNIX, SOCK_STREAM, 0);
  server.bind(lfd, { family: AF_UNIX, path: '/tmp/demo.sock' });
  server.listen(lfd, 16);
  print(`server pid ${server.pid}: socket fd ${lfd} bound to /tmp/demo.sock, listening`);

  // The node is created 0777 & ~umask (0755): uid 1000 lacks write permission, as on Linux.
  const cfd = client.socket(AF_UNIX, SOCK_STREAM, 0);
  try {
    await client.connect(cfd, { family: AF_UNIX, path: '/tmp/demo.sock' });
  } catch (err) {
    print(
      `client uid 1000: connect -> ${(err as Error & { code: string }).code}; server chmods the node 0777`,
    );
  }
  server.chmod('/tmp/demo.sock', 0o777);

  const accepted = server.accept(lfd);
  await client.connect(cfd, { family: AF_UNIX, path: '/tmp/demo.sock' });
  const { fd: afd } = await accepted;
  const peer = server.getsockopt(afd, SOL_SOCKET, SO_PEERCRED) as Ucred;
  print(
    `client pid ${client.pid}: connected (fd ${cfd}); server accepted fd ${afd}, SO_PEERCRED = ${JSON.stringify(peer)}`,
  );

  await client.write(cfd, enc.encode('hello from the client'));
  const buf = new Uint8Array(64);
  const n = await server.read(afd, buf);
  print(`server read ${n} bytes: "${dec.decode(buf.subarray(0, n))}"`);

  // Pass a datagram socketpair end to the client over the stream with SCM_RIGHTS.
  const [d0, d1] = server.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  await server.sendmsg(afd, {
    iov: [enc.encode('fd')],
    control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [d1] }],
  });
  server.close(d1);
  const r = await client.recvmsg(cfd, { iov: [new Uint8Array(8)], controllen: 64 });
  const passed = r.control[0]?.fds?.[0] ?? -1;
  print(`client received ${r.n} bytes and fd ${passed} through SCM_RIGHTS`);
  await server.send(d0, enc.encode('via the passed fd'));
  const pfd = { fd: passed, events: POLLIN, revents: 0 };
  await client.poll([pfd], 1000);
  const m = await client.recv(passed, buf);
  print(
    `client poll revents=0x${pfd.revents.toString(16)}, read "${dec.decode(buf.subarray(0, m))}" on the passed fd`,
  );

  print('/proc/net/unix:');
  for (const line of host.procNetUnix().trimEnd().split('\n')) print('  ' + line);

  client.close(cfd);
  const eof = await server.read(afd, buf);
  print(`client closed; server read returns ${eof} (end of file)`);
  print(`virtual time elapsed: ${world.now()} ms`);
}
