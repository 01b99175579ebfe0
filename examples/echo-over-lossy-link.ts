// TCP echo between two hosts over a link that loses 5% of frames and delays each by 20 ms.
// TCP retransmits what the link drops, so the echo comes back whole; the run takes seconds of
// virtual time and a fraction of a second of real time.
//
//   npx usernet run examples/echo-over-lossy-link.ts

import { World, AF_INET, SOCK_STREAM } from 'usernet';

export default async function echoOverLossyLink(world: World) {
  const client = world.addHost('client');
  const server = world.addHost('server');
  world.link(client, server, { delay: 20, loss: '5%' }); // both directions: 20 ms, 5% loss
  client.ip('ip addr add 10.0.0.1/24 dev eth0');
  server.ip('ip addr add 10.0.0.2/24 dev eth0');

  // The server: accept one connection and echo everything until the client shuts down.
  const srv = server.spawn({ comm: 'echo-server' });
  const lfd = srv.socket(AF_INET, SOCK_STREAM, 0);
  srv.bind(lfd, { family: AF_INET, addr: '0.0.0.0', port: 7 });
  srv.listen(lfd, 16);
  const served = (async () => {
    const { fd } = await srv.accept(lfd);
    const buf = new Uint8Array(65536);
    for (let n; (n = await srv.read(fd, buf)) > 0;) {
      for (let off = 0; off < n;) off += await srv.write(fd, buf.subarray(off, n));
    }
    srv.close(fd);
  })();

  // The client: send 1 MiB of a known pattern, read it back, compare.
  const cli = client.spawn({ comm: 'echo-client' });
  const fd = cli.socket(AF_INET, SOCK_STREAM, 0);
  await cli.connect(fd, { family: AF_INET, addr: '10.0.0.2', port: 7 });
  const data = new Uint8Array(1 << 20).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
  const echoed = new Uint8Array(data.length);
  const reader = (async () => {
    let got = 0;
    while (got < echoed.length) {
      const n = await cli.read(fd, echoed.subarray(got));
      if (n === 0) break;
      got += n;
    }
    return got;
  })();
  for (let off = 0; off < data.length;) off += await cli.write(fd, data.subarray(off));
  const got = await reader;
  cli.close(fd);
  await served;

  const same = got === data.length && echoed.every((b, i) => b === data[i]);
  const retrans = client.netstat({ tcp: true }).match(/(\d+) segments retransmitted/)?.[1] ?? '0';
  console.log(`echoed ${got} bytes, identical: ${same}; client retransmitted ${retrans} segments`);
  console.log(`virtual time: ${(world.now() / 1000).toFixed(2)} s`);
  return { bytes: got, same, retransmitted: Number(retrans) };
}
