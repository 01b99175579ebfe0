import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { World, passtUnavailable, type PasstBridge, type Host } from '../../src/index.js';
import { bulk, httpBothWays, udpBothWays, type BridgeEnv } from './transfers.js';

// passt runs unprivileged (started as root it becomes nobody); it only needs to be installed.
const skip = passtUnavailable() ?? false;
const MiB = 1 << 20;
const SIZE = Number(process.env.USERNET_INTEROP_PASST_MIB ?? 16) * MiB;
// Machine ports passt forwards to the usernet ports the transfers use.
const BASE = 20000 + (process.pid % 10000) * 4;
const TCP = { 7001: BASE, 7080: BASE + 1 } as Record<number, number>;
const UDP = { 7053: BASE + 2 } as Record<number, number>;

interface Attached {
  world: World;
  host: Host;
  bridge: PasstBridge;
  env: BridgeEnv;
  close(): Promise<void>;
}

/** The address, prefix and gateway of the machine's default route (what passt hands out). */
function machineDefault(): { address: string; router: string } {
  const r = spawnSync('ip', ['-4', '-o', 'route', 'show', 'default'], { encoding: 'utf8' });
  const router = /via (\S+)/.exec(r.stdout)?.[1] ?? '';
  const dev = /dev (\S+)/.exec(r.stdout)?.[1] ?? '';
  const a = spawnSync('ip', ['-4', '-o', 'addr', 'show', 'dev', dev], { encoding: 'utf8' });
  return { address: /inet (\S+)/.exec(a.stdout)?.[1] ?? '', router };
}

async function attached(): Promise<Attached> {
  const world = new World({ clock: 'real', seed: 9 });
  const host = world.addHost('vm');
  const bridge = await world.passt(host, {
    tcpPorts: [`${TCP[7001]}:7001,${TCP[7080]}:7080`],
    udpPorts: [`${UDP[7053]}:7053`],
  });
  try {
    const lease = await host.dhcp(bridge.dev.name, { retries: 3 });
    assert.ok(lease.router, 'passt names a router');
    return {
      world,
      host,
      bridge,
      env: {
        name: 'passt',
        host,
        toMachine: lease.router!,
        forwardTcp: (p) => Promise.resolve(TCP[p]!),
        forwardUdp: (p) => Promise.resolve(UDP[p]!),
      },
      close: async () => {
        await bridge.close();
        world.stop();
      },
    };
  } catch (err) {
    await bridge.close();
    world.stop();
    throw err;
  }
}

test(
  'passt: the usernet host is configured by DHCP with the machine address, router and DNS passt names',
  { skip },
  async () => {
    const world = new World({ clock: 'real', seed: 9 });
    const host = world.addHost('vm');
    const bridge = await world.passt(host);
    try {
      const lease = await host.dhcp(bridge.dev.name);
      const want = machineDefault();
      assert.equal(lease.address, want.address);
      assert.equal(lease.router, want.router);
      assert.ok(lease.nameservers.length >= 1);
      assert.match(
        host.ip(`addr show dev ${bridge.dev.name}`),
        new RegExp(`inet ${want.address.replace(/\./g, '\\.')} `),
      );
      assert.match(host.ip('route'), new RegExp(`^default via ${want.router} dev ${bridge.dev.name}`, 'm'));
      assert.match(host.procNetPnp(), new RegExp(`^nameserver ${lease.nameservers[0]}$`, 'm'));
      // passt's MTU came with the lease and was applied.
      if (lease.mtu) assert.equal(bridge.dev.mtu, lease.mtu);
      assert.equal(bridge.counts.dropped, 0);
    } finally {
      await bridge.close();
      world.stop();
    }
  },
);

test(`passt: TCP bulk both ways, ${SIZE / MiB} MiB, hash verified`, { skip, timeout: 120_000 }, async () => {
  const a = await attached();
  try {
    console.log(`# ${await bulk(a.env, SIZE)}`);
  } finally {
    await a.close();
  }
});

test(
  'passt: HTTP GET both ways (usernet from the machine, node:http on the machine from usernet)',
  { skip, timeout: 60_000 },
  async () => {
    const a = await attached();
    try {
      await httpBothWays(a.env, 2 * MiB);
    } finally {
      await a.close();
    }
  },
);

test('passt: UDP both ways, 1 to 8000 bytes', { skip, timeout: 60_000 }, async () => {
  const a = await attached();
  try {
    await udpBothWays(a.env);
  } finally {
    await a.close();
  }
});

test(
  'passt: when passt dies the bridge reports it, the device goes down and sockets get ENETUNREACH',
  { skip, timeout: 30_000 },
  async () => {
    const a = await attached();
    try {
      const down = new Promise<Error>((resolve) => a.bridge.once('down', resolve));
      process.kill(a.bridge.pid!, 'SIGKILL');
      const why = await down;
      assert.match(why.message, /passt/);
      assert.equal(a.bridge.dev.carrier, false);
      assert.equal(a.bridge.dev.flags & 1, 0, 'IFF_UP cleared');
      const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
        const s = a.host.net.connect({ host: a.env.toMachine, port: 80 });
        s.on('error', resolve);
        s.on('connect', () => resolve(new Error('connected') as NodeJS.ErrnoException));
      });
      assert.equal(err.code, 'ENETUNREACH');
    } finally {
      await a.close();
    }
  },
);
