// The node:dgram contract run twice: against real node:dgram on this machine's loopback, and
// against host.dgram on a usernet host in virtual time.

import dgram from 'node:dgram';
import { World } from '../../src/index.js';
import { dgramContract, type DgramLike } from './dgram_contract.js';

dgramContract('real node:dgram', () => ({ dgram: dgram as unknown as DgramLike, finish: () => {} }));

dgramContract('usernet host.dgram', () => {
  const world = new World({ seed: 7 });
  const host = world.addHost('h');
  return { dgram: host.dgram, finish: () => world.stop() };
});
