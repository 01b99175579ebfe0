// Generic queue disciplines (net/sched/sch_generic.c, net/sched/sch_fifo.c): pfifo_fast — the
// classic default of a device with a transmit queue, three bands by priority and
// dev->tx_queue_len packets in all — and pfifo/bfifo, plain FIFOs bounded in packets or bytes.
// Attaching, replacing and resetting a device's root qdisc is here too (dev_graft_qdisc).

import { NET_XMIT_DROP, NET_XMIT_SUCCESS, type NetDevice, type Qdisc } from '../core/netdevice.js';
import { SkBuffHead, kfree_skb, type SkBuff } from '../core/skbuff.js';
import { qdisc_run } from '../core/dev.js';

/** struct gnet_stats_basic + struct gnet_stats_queue: what `tc -s qdisc` prints. */
export class QdiscStats {
  /** Packets and bytes sent (bstats, counted when they leave the qdisc). */
  packets = 0;
  bytes = 0;
  drops = 0;
  overlimits = 0;
  requeues = 0;
  /** Bytes waiting (qstats.backlog). */
  backlog = 0;
}

/** TC_PRIO_MAX and the default priomap of pfifo_fast (sch_generic.c: sch_default_prio2band). */
export const TC_PRIO_MAX = 15;
export const PFIFO_FAST_BANDS = 3;
export const sch_default_prio2band = Uint8Array.of(1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);

/**
 * pfifo_fast: three FIFO bands, the lowest-numbered non-empty band dequeued first; skb->priority
 * picks the band through the priomap (TC_PRIO_INTERACTIVE goes to band 0, bulk to band 2). The
 * limit is the device's tx_queue_len, read on each enqueue as pfifo_fast_enqueue does
 * (qdisc_dev(qdisc)->tx_queue_len).
 */
export class PfifoFastQdisc implements Qdisc {
  readonly id = 'pfifo_fast';
  readonly stats = new QdiscStats();
  private readonly bands = [new SkBuffHead(), new SkBuffHead(), new SkBuffHead()];
  private n = 0;

  constructor(readonly dev: NetDevice) {}

  get qlen(): number {
    return this.n;
  }

  /** pfifo_fast_enqueue(). */
  enqueue(skb: SkBuff): number {
    if (this.n >= this.dev.tx_queue_len) return qdisc_drop(skb, this.stats);
    const band = sch_default_prio2band[skb.priority & TC_PRIO_MAX];
    this.bands[band].tail(skb);
    this.n++;
    this.stats.backlog += skb.len;
    return NET_XMIT_SUCCESS;
  }

  /** pfifo_fast_dequeue(). */
  dequeue(): SkBuff | null {
    for (let b = 0; b < PFIFO_FAST_BANDS; b++) {
      const skb = this.bands[b].dequeue();
      if (skb) {
        this.n--;
        qdisc_dequeued(skb, this.stats);
        return skb;
      }
    }
    return null;
  }

  /** pfifo_fast_reset(). */
  reset(): void {
    for (const q of this.bands) q.purge();
    this.n = 0;
    this.stats.backlog = 0;
  }
}

/**
 * pfifo and bfifo (sch_fifo.c): one FIFO with tail drop once `limit` packets (pfifo) or bytes
 * (bfifo) are queued. Without a limit, pfifo takes the device's tx_queue_len (fifo_init), at
 * least 1; bfifo takes tx_queue_len × MTU.
 */
export class FifoQdisc implements Qdisc {
  readonly stats = new QdiscStats();
  private readonly q = new SkBuffHead();
  limit: number;

  constructor(
    readonly dev: NetDevice,
    readonly id: 'pfifo' | 'bfifo',
    limit?: number,
  ) {
    const txq = Math.max(dev.tx_queue_len, 1);
    this.limit = limit ?? (id === 'pfifo' ? txq : txq * dev.mtu);
  }

  get qlen(): number {
    return this.q.qlen;
  }

  /** pfifo_enqueue() / bfifo_enqueue(). */
  enqueue(skb: SkBuff): number {
    const full = this.id === 'pfifo' ? this.q.qlen >= this.limit : this.stats.backlog + skb.len > this.limit;
    if (full) return qdisc_drop(skb, this.stats);
    this.q.tail(skb);
    this.stats.backlog += skb.len;
    return NET_XMIT_SUCCESS;
  }

  dequeue(): SkBuff | null {
    const skb = this.q.dequeue();
    if (skb) qdisc_dequeued(skb, this.stats);
    return skb;
  }

  reset(): void {
    this.q.purge();
    this.stats.backlog = 0;
  }
}

/** qdisc_drop(): free the packet, count it, tell the sender. */
export function qdisc_drop(skb: SkBuff, stats: QdiscStats): number {
  stats.drops++;
  kfree_skb(skb);
  return NET_XMIT_DROP;
}

/** qdisc_qstats_backlog_dec() + qdisc_bstats_update(): a packet left the qdisc. */
export function qdisc_dequeued(skb: SkBuff, stats: QdiscStats): void {
  stats.backlog -= skb.len;
  stats.packets++;
  stats.bytes += skb.len;
}

/**
 * dev_graft_qdisc() (`tc qdisc replace dev DEV root …`): make `q` the device's root qdisc; the
 * old one is reset, dropping what it held (qdisc_put → qdisc_reset). null means noqueue.
 */
export function dev_graft_qdisc(dev: NetDevice, q: Qdisc | null): Qdisc | null {
  const old = dev.qdisc;
  dev.qdisc = q;
  if (old && old !== q) old.reset();
  return old;
}

/** Run the device's queue now (the qdisc watchdog's __netif_schedule). */
export function netif_schedule(dev: NetDevice): void {
  qdisc_run(dev);
}
