// UDP broadcast on a switched LAN: one host announces itself to 10.0.0.255 and every other host
// on the switch hears it, as on a real Ethernet segment. Sending to a broadcast address needs
// SO_BROADCAST, exactly as on Linux (without it: EACCES).
//
//   npx usernet run examples/udp-broadcast.ts

import { World, AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_BROADCAST } from 'usernet';

export default async function udpBroadcast(world: World) {
  const names = ['beacon', 'alpha', 'beta', 'gamma'];
  const hosts = names.map((n) => world.addHost(n));
  world.bridge('switch', hosts, { delay: 1 });
  hosts.forEach((h, i) => h.ip(`ip addr add 10.0.0.${i + 1}/24 dev eth0`));

  // Listeners on every host but the beacon.
  const heard = hosts.slice(1).map(async (h) => {
    const t = h.spawn({ comm: 'listener' });
    const fd = t.socket(AF_INET, SOCK_DGRAM, 0);
    t.bind(fd, { family: AF_INET, addr: '0.0.0.0', port: 9999 });
    const buf = new Uint8Array(512);
    const { n, addr } = await t.recvfrom(fd, buf);
    const from = addr && 'addr' in addr ? `${addr.addr}:${addr.port}` : '?';
    const line = `${h.name} heard "${new TextDecoder().decode(buf.subarray(0, n))}" from ${from}`;
    t.close(fd);
    return line;
  });

  const b = hosts[0].spawn({ comm: 'beacon' });
  const fd = b.socket(AF_INET, SOCK_DGRAM, 0);
  const msg = new TextEncoder().encode('beacon is at 10.0.0.1');
  const to = { family: AF_INET, addr: '10.0.0.255', port: 9999 } as const;
  let refused = '';
  try {
    await b.sendto(fd, msg, 0, to);
  } catch (e) {
    refused = (e as { code?: string }).code ?? String(e); // EACCES: no SO_BROADCAST yet
  }
  b.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, 1);
  await b.sendto(fd, msg, 0, to);
  b.close(fd);

  const lines = await Promise.all(heard);
  console.log(`without SO_BROADCAST: ${refused}`);
  for (const l of lines) console.log(l);
  return { refused, lines };
}
