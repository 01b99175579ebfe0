// A World: one clock, one seeded PRNG, and the hosts that share them.

import { Clock, VirtualClock } from '../kernel/time.js';
import { Prandom } from '../kernel/random.js';
import { Host } from './host.js';
import { RealClock } from './real_clock.js';

export interface WorldOptions {
  /** Seed of every random choice in the world (default 1). */
  seed?: number;
  /** 'virtual' (default): time moves only when nothing is runnable; 'real': wall time. */
  clock?: 'virtual' | 'real';
}

export class World {
  readonly clock: Clock;
  readonly random: Prandom;
  readonly hosts = new Map<string, Host>();

  constructor(opts: WorldOptions = {}) {
    this.clock = opts.clock === 'real' ? new RealClock() : new VirtualClock();
    this.random = new Prandom(opts.seed ?? 1);
  }

  /** Add a host: its own kernel (fd numbers, inodes, filesystem, sysctls, sockets). */
  addHost(name: string): Host {
    if (this.hosts.has(name)) throw new Error(`host ${name} exists`);
    const h = new Host(name, this.clock, this.random.fork());
    this.hosts.set(name, h);
    return h;
  }

  /** Current time in milliseconds (virtual or real, per the world's clock). */
  now(): number {
    return this.clock.now() / 1e6;
  }
}
