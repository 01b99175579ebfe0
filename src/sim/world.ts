// A World: one clock, one seeded PRNG, and the hosts that share them.

import { Clock, VirtualClock } from '../kernel/time.js';
import { Prandom } from '../kernel/random.js';
import { Host } from './host.js';
import { RealClock } from './real_clock.js';
import { Capture, type CaptureOptions } from '../tools/capture.js';
import { dev_get_by_name, netdev_state } from '../net/core/dev.js';
import type { NetDevice } from '../net/core/netdevice.js';
import { IFF_LOOPBACK } from '../uapi/if.js';
import { Bridge, Link, createBridge, createLink, type LinkOptions } from './link.js';
import { HostsTable } from './hosts_table.js';

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
  /** Switches made by bridge(), by name (their hosts are not in `hosts`). */
  readonly bridges = new Map<string, Bridge>();
  /**
   * The world's /etc/hosts, read by every host's `dns.lookup` and `nodeNet.connect`: each host's
   * name (its first IPv4 address outside 127/8), 'localhost', and what `hostsTable.set()` adds.
   */
  readonly hostsTable = new HostsTable(this.hosts);

  constructor(opts: WorldOptions = {}) {
    this.clock = opts.clock === 'real' ? new RealClock() : new VirtualClock();
    this.random = new Prandom(opts.seed ?? 1);
  }

  /** Add a host: its own kernel (fd numbers, inodes, filesystem, sysctls, sockets). */
  addHost(name: string): Host {
    if (this.hosts.has(name)) throw new Error(`host ${name} exists`);
    const h = new Host(name, this.clock, this.random.fork(), this.hostsTable);
    this.hosts.set(name, h);
    return h;
  }

  /**
   * Join two hosts with a link: a veth pair, the first free eth%d on each side, both up. With
   * impairments (delay, jitter, loss, duplicate, reorder, corrupt, rate, limit, partition), each
   * direction gets a netem queue; `link.set({...}, 'a->b' | 'b->a' | 'both')` changes them later.
   */
  link(a: Host, b: Host, opts?: LinkOptions): Link {
    return createLink(a, b, opts);
  }

  /**
   * A learning switch named `name` (bridge br0 on a host of its own) with each of `hosts` linked
   * to it; `opts` apply to every link. `bridge.connect(host, opts)` adds more.
   */
  bridge(name: string, hosts: Host[] = [], opts?: LinkOptions): Bridge {
    if (this.hosts.has(name) || this.bridges.has(name)) throw new Error(`host ${name} exists`);
    const br = createBridge(new Host(name, this.clock, this.random.fork(), this.hostsTable), hosts, opts);
    this.bridges.set(name, br);
    return br;
  }

  /**
   * Stop the world: its clock fires no more timers. For a program or test that is done with a
   * world whose sockets still hold timers (a keepalive, TIME_WAIT), which would otherwise keep
   * the event loop — and, in virtual time, the clock — running on their own.
   */
  stop(): void {
    this.clock.stop();
  }

  /** Current time in milliseconds (virtual or real, per the world's clock). */
  now(): number {
    return this.clock.now() / 1e6;
  }

  /**
   * Capture on devices of several hosts into one file: targets are "host:dev" strings or
   * devices, named "host:dev" in pcapng; no targets = every non-loopback device of every host.
   */
  capture(targets?: (string | NetDevice)[], opts?: CaptureOptions): Capture {
    const c = new Capture(opts);
    const attach = (dev: NetDevice): void => void c.attach(dev, `${dev.nd_net.kernel.hostname}:${dev.name}`);
    if (!targets) {
      for (const h of this.hosts.values())
        for (const dev of netdev_state(h.net).dev_base) if (!(dev.flags & IFF_LOOPBACK)) attach(dev);
      return c;
    }
    for (const t of targets) {
      if (typeof t !== 'string') {
        attach(t);
        continue;
      }
      const at = t.indexOf(':');
      const host = this.hosts.get(t.slice(0, at));
      const dev = at > 0 && host ? dev_get_by_name(host.net, t.slice(at + 1)) : null;
      if (!dev) throw new Error(`capture: no device ${t} (expected "host:dev")`);
      attach(dev);
    }
    return c;
  }
}
