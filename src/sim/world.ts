// A World: one clock, one seeded PRNG, and the hosts that share them.

import { Clock, NSEC_PER_MSEC, Timer, VirtualClock } from '../kernel/time.js';
import { Prandom } from '../kernel/random.js';
import { Host } from './host.js';
import { RealClock } from './real_clock.js';
import { Capture, type CaptureOptions } from '../tools/capture.js';
import { dev_get_by_name, netdev_state } from '../net/core/dev.js';
import type { NetDevice } from '../net/core/netdevice.js';
import { IFF_LOOPBACK } from '../uapi/if.js';
import { Bridge, Link, createBridge, createLink, type LinkOptions } from './link.js';
import { Gateway, type GatewayOptions } from './gateway/gateway.js';
import { TapBridge, type TapOptions } from './tap.js';
import { PasstBridge, type PasstOptions } from './passt.js';
import { HostsTable } from './hosts_table.js';

export interface WorldOptions {
  /** Seed of every random choice in the world (default 1). */
  seed?: number;
  /** 'virtual' (default): time moves only when nothing is runnable; 'real': wall time. */
  clock?: 'virtual' | 'real';
}

/** Options of world.run(). */
export interface RunOptions {
  /**
   * Real milliseconds a run may sit with its function unsettled and no timer armed in the
   * world before it is reported as stalled (default 2000). Such a run waits on something
   * outside the world — real I/O, a real timer — or on itself.
   */
  stallMs?: number;
}

/** The error a stalled world.run() rejects with. */
export class WorldStalledError extends Error {
  readonly code = 'ERR_WORLD_STALLED';
}

/** Resolve a promise from a world timer (Timer.data holds the resolver). */
const wake = (t: Timer): void => (t.data as () => void)();

export class World {
  readonly clock: Clock;
  readonly random: Prandom;
  readonly hosts = new Map<string, Host>();
  /** Switches made by bridge(), by name (their hosts are not in `hosts`). */
  readonly bridges = new Map<string, Bridge>();
  /** Gateways made by gateway(), by the name of their hidden host. */
  readonly gateways = new Map<string, Gateway>();
  /**
   * The world's /etc/hosts, read by every host's `dns.lookup` and `net.connect`: each host's
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
   * A gateway from `host` to the real machine (docs/bridges.md): a link to a hidden gateway host
   * at 10.0.2.2 that relays TCP and UDP through real node:net / node:dgram sockets, the virtual
   * host at 10.0.2.15/24 with its default route through it. Needs `{ clock: 'real' }`.
   */
  gateway(host: Host, opts?: GatewayOptions): Gateway {
    const name = opts?.name ?? `${host.name}-gw`;
    if (this.hosts.has(name) || this.bridges.has(name) || this.gateways.has(name))
      throw new Error(`host ${name} exists`);
    const gw = new Gateway(this, host, { ...opts, name });
    this.gateways.set(name, gw);
    return gw;
  }

  /**
   * Bridge `host` to a Linux TAP device in the network namespace `opts.netns` (docs/bridges.md):
   * a new Ethernet device on the host whose frames socat relays to and from the TAP. Needs root,
   * /dev/net/tun, socat and `{ clock: 'real' }`; rejects with a TapUnavailableError otherwise.
   */
  tap(host: Host, opts: TapOptions): Promise<TapBridge> {
    return TapBridge.create(this, host, opts);
  }

  /**
   * Join `host` to passt (docs/bridges.md): passt is started unprivileged with its socket in a
   * temporary directory, and the host gets an Ethernet device whose frames go over it.
   * Configure it with `host.dhcp(bridge.dev.name)`. Needs `{ clock: 'real' }`.
   */
  passt(host: Host, opts?: PasstOptions): Promise<PasstBridge> {
    return PasstBridge.create(this, host, opts);
  }

  /**
   * Stop the world: its clock fires no more timers. For a program or test that is done with a
   * world whose sockets still hold timers (a keepalive, TIME_WAIT), which would otherwise keep
   * the event loop — and, in virtual time, the clock — running on their own.
   */
  stop(): void {
    for (const gw of this.gateways.values()) gw.close();
    this.clock.stop();
  }

  /**
   * A promise resolved after `ms` milliseconds of world time (a world timer, so in virtual
   * time it costs no wall time and other hosts' timers run meanwhile).
   */
  sleep(ms: number): Promise<void> {
    if (!(ms >= 0)) return Promise.reject(new RangeError(`sleep: bad duration ${ms}`));
    return new Promise((resolve) => {
      const t = new Timer(wake, resolve);
      this.clock.mod_timer(t, this.clock.now() + Math.round(ms * NSEC_PER_MSEC));
    });
  }

  /** Let the world run for `ms` milliseconds of its time: every timer due meanwhile fires. */
  runFor(ms: number): Promise<void> {
    return this.sleep(ms);
  }

  /**
   * Let the world run until no timer is armed (every retransmission, delayed ACK, TIME_WAIT
   * and keepalive has expired or been cancelled) and every promise job has run. Rejects when
   * the world is still busy after `maxMs` milliseconds of world time (default one hour), for
   * a keepalive or a periodic timer never lets a world go idle.
   */
  async runUntilIdle(maxMs = 3_600_000): Promise<void> {
    const deadline = this.clock.now() + maxMs * NSEC_PER_MSEC;
    for (;;) {
      // Two world timers at this instant: promise jobs that a wake-up queued get to run, and
      // to arm their own timers, before the count is read.
      await this.sleep(0);
      await this.sleep(0);
      if (this.clock.pendingTimers() === 0) return;
      if (this.clock.nextExpiry() > deadline) {
        throw new WorldStalledError(
          `runUntilIdle: ${this.clock.pendingTimers()} timer(s) still armed after ${maxMs} ms of world time`,
        );
      }
      await this.sleep(Math.max(0, (this.clock.nextExpiry() - this.clock.now()) / NSEC_PER_MSEC));
    }
  }

  /**
   * Run user code against the world and resolve with its result. In virtual time the clock
   * moves whenever the code waits on the world (a socket, world.sleep()), so a run takes as
   * much wall time as its computation. Code that waits on something outside the world (a real
   * timer, real I/O) with no world timer armed would hang forever; such a run rejects with a
   * WorldStalledError after `stallMs` real milliseconds instead.
   */
  async run<T>(fn: (world: World) => T | Promise<T>, opts: RunOptions = {}): Promise<T> {
    const stallMs = opts.stallMs ?? 2000;
    let watch: ReturnType<typeof setInterval> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      let since = -1;
      let at = this.clock.now();
      const every = Math.max(1, Math.min(100, stallMs / 4));
      watch = setInterval(() => {
        const idle = this.clock.pendingTimers() === 0 && this.clock.now() === at;
        at = this.clock.now();
        if (!idle) since = -1;
        else if (since < 0) since = 0;
        else if ((since += every) >= stallMs) {
          reject(
            new WorldStalledError(
              `world.run stalled: for ${stallMs} ms of real time the function has not settled and no ` +
                `timer is armed in the world; it waits on something outside the world (real I/O or a ` +
                `real timer), or on itself`,
            ),
          );
        }
      }, every);
      // The watch keeps the process alive: a run that waits on nothing would otherwise let
      // Node exit with the run's promise unsettled, and no word of why.
    });
    try {
      return await Promise.race([Promise.resolve().then(() => fn(this)), stalled]);
    } finally {
      clearInterval(watch);
    }
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
        for (const dev of netdev_state(h.netns).dev_base) if (!(dev.flags & IFF_LOOPBACK)) attach(dev);
      return c;
    }
    for (const t of targets) {
      if (typeof t !== 'string') {
        attach(t);
        continue;
      }
      const at = t.indexOf(':');
      const host = this.hosts.get(t.slice(0, at));
      const dev = at > 0 && host ? dev_get_by_name(host.netns, t.slice(at + 1)) : null;
      if (!dev) throw new Error(`capture: no device ${t} (expected "host:dev")`);
      attach(dev);
    }
    return c;
  }
}
