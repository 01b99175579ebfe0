import { test } from 'node:test';
import { World, type Gateway, type Host } from '../../src/index.js';
import { bulk, httpBothWays, udpBothWays, type BridgeEnv } from './transfers.js';

// The transfers of the passt suite through the host-socket gateway (no root, no outside tool).
const MiB = 1 << 20;
const SIZE = Number(process.env.USERNET_INTEROP_GATEWAY_MIB ?? 16) * MiB;

async function withGateway(run: (env: BridgeEnv) => Promise<void>): Promise<void> {
  const world = new World({ clock: 'real', seed: 5 });
  const host: Host = world.addHost('vm');
  const gw: Gateway = world.gateway(host);
  try {
    await run({
      name: 'gateway',
      host,
      toMachine: gw.gatewayAddress,
      forwardTcp: (guestPort) => gw.forward({ guestPort }),
      forwardUdp: (guestPort) => gw.forward({ protocol: 'udp', guestPort }),
    });
  } finally {
    gw.close();
    world.stop();
  }
}

test(`gateway: TCP bulk both ways, ${SIZE / MiB} MiB, hash verified`, { timeout: 120_000 }, () =>
  withGateway(async (env) => console.log(`# ${await bulk(env, SIZE)}`)),
);

test('gateway: HTTP GET both ways (usernet from the machine, node:http on the machine from usernet)', () =>
  withGateway((env) => httpBothWays(env, 2 * MiB)));

test('gateway: UDP both ways, 1 to 8000 bytes', () => withGateway((env) => udpBothWays(env)));
