// What the TAP and passt bridges share: a usernet Ethernet device (drivers/net/tapbr) whose
// frames are exchanged with something outside the world's process, the impairments that can be
// put on that path (netem on the device's egress, netem on an ifb for what it receives), and
// what happens when the outside goes away: the bridge emits 'down' with the reason, the device
// loses its carrier and is taken down (as a TAP device goes when its file descriptor closes),
// so sockets over it get Linux's errors (no route: ENETUNREACH; established connections time
// out) and nothing throws.

import { EventEmitter } from 'node:events';
import type { Host } from './host.js';
import { tapbr_detach, tapbr_newlink, tapbr_rx, tapbr_set_ingress } from '../drivers/net/tapbr.js';
import { ifb_newlink } from '../drivers/net/ifb.js';
import {
  dev_close,
  dev_open,
  dev_set_mtu,
  netif_carrier_set,
  unregister_netdevice,
} from '../net/core/dev.js';
import type { NetDevice } from '../net/core/netdevice.js';
import { dev_graft_qdisc } from '../net/sched/sch_generic.js';
import { NetemSchedData, netem_create } from '../net/sched/sch_netem.js';
import { do_softirq } from '../kernel/softirq.js';
import { SyscallError } from './errors.js';
import { to_qopt, type Impairments } from './link.js';

/** Which frames an impairment applies to: 'in' from outside, 'out' to outside. */
export type BridgeDirection = 'in' | 'out' | 'both';

export class FrameBridge extends EventEmitter {
  /** Frames passed each way, and frames from outside that were dropped as malformed. */
  readonly counts = { out: 0, in: 0, dropped: 0 };
  /** Why the bridge went down (its peer went away), or null while it works. */
  downReason: Error | null = null;
  /** The usernet device. */
  readonly dev: NetDevice;
  private ifb: NetDevice | null = null;

  constructor(
    readonly host: Host,
    opts: { name?: string; mtu?: number },
    send: (frame: Uint8Array) => void,
  ) {
    super();
    const made = tapbr_newlink(host.netns, opts.name ?? 'eth%d', {
      xmit: (frame) => {
        this.counts.out++;
        send(frame);
      },
    });
    if (typeof made === 'number') throw new SyscallError(-made, 'tapbr_newlink');
    this.dev = made;
    if (opts.mtu !== undefined && opts.mtu !== 1500) {
      const err = dev_set_mtu(made, opts.mtu);
      if (err) {
        unregister_netdevice(made);
        throw new SyscallError(-err, 'dev_set_mtu');
      }
    }
    dev_open(made);
  }

  /** One frame from outside: checked, counted, and processed now (the receive softirq). */
  receive(frame: Uint8Array): void {
    if (tapbr_rx(this.dev, frame) < 0) this.counts.dropped++;
    else this.counts.in++;
    do_softirq(this.host.clock.softirq);
  }

  /**
   * Impair the path in real time with usernet's netem: `'out'` on the device's own queue,
   * `'in'` on an ifb device the received frames pass through first. `{}` removes them.
   */
  impair(imp: Impairments, dir: BridgeDirection = 'both'): this {
    const qopt = to_qopt(imp);
    const clear = Object.keys(imp).length === 0;
    const set = (dev: NetDevice): void => {
      if (clear) return void dev_graft_qdisc(dev, null);
      if (dev.qdisc instanceof NetemSchedData) {
        const err = dev.qdisc.change(qopt);
        if (err) throw new SyscallError(-err, 'netem');
        return;
      }
      const q = netem_create(dev, qopt);
      if (typeof q === 'number') throw new SyscallError(-q, 'netem');
      dev_graft_qdisc(dev, q);
    };
    if (dir !== 'in') set(this.dev);
    if (dir !== 'out') {
      if (!this.ifb) {
        const ifb = ifb_newlink(this.host.netns, 'ifb%d', this.dev);
        if (typeof ifb === 'number') throw new SyscallError(-ifb, 'ifb_newlink');
        dev_open(ifb);
        this.ifb = ifb;
        tapbr_set_ingress(this.dev, ifb);
      }
      set(this.ifb);
    }
    return this;
  }

  /**
   * The outside went away: stop passing frames, drop the carrier and take the device down,
   * then emit 'down' with the reason (once).
   */
  lost(reason: Error): void {
    if (this.downReason) return;
    this.downReason = reason;
    tapbr_detach(this.dev);
    netif_carrier_set(this.dev, false);
    dev_close(this.dev);
    this.emit('down', reason);
  }

  /** Detach and remove the usernet device (and the ifb) from the host. */
  remove(): void {
    tapbr_detach(this.dev);
    netif_carrier_set(this.dev, false);
    if (this.ifb) unregister_netdevice(this.ifb);
    this.ifb = null;
    unregister_netdevice(this.dev);
  }
}
