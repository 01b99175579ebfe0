// node:http across a network partition. A client polls a server once a second; from t=5 s to
// t=13 s the link between them drops everything. Requests with a 2 s timeout fail during the
// partition (the timeout runs on the world clock, and a timed-out request takes its keep-alive
// connection down with it); once the link heals, the next request connects again and polling
// goes on.
//
//   npx usernet run examples/http-over-partition.ts

import http from 'node:http';
import type { Socket } from 'node:net';
import { World } from 'usernet';

export default async function httpOverPartition(world: World) {
  const client = world.addHost('client');
  const server = world.addHost('server');
  const link = world.link(client, server, { delay: '15ms' });
  client.ip('addr add 10.0.0.1/24 dev eth0');
  server.ip('addr add 10.0.0.2/24 dev eth0');

  // The server: node:http, fed by the server host's node:net.
  let served = 0;
  const app = http.createServer((req, res) => res.end(`reply ${++served} at ${world.now()} ms`));
  server.net.createServer((s) => app.emit('connection', s)).listen(80);

  // The client: a keep-alive agent whose sockets come from the client host's node:net.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agent.createConnection = (o) =>
    client.net.connect({ host: o.host ?? '', port: Number(o.port) }) as unknown as Socket;
  const get = () =>
    new Promise<string>((resolve) => {
      const req = http.get({ host: '10.0.0.2', port: 80, agent, timeout: 2000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.on('timeout', () => req.destroy(new Error('timed out after 2 s')));
      req.on('error', (e) => resolve(`error: ${e.message}`));
    });

  void world.sleep(5000).then(() => link.set({ partition: true }));
  void world.sleep(13_000).then(() => link.set({ partition: false }));
  const log: string[] = [];
  while (world.now() < 20_000) {
    const t0 = world.now();
    const outcome = await get();
    const line = `t=${(t0 / 1000).toFixed(1)} s  ${outcome}`;
    log.push(line);
    console.log(line);
    const left = 1000 - (world.now() - t0);
    if (left > 0) await world.sleep(left);
  }
  agent.destroy();
  return { log, served };
}
