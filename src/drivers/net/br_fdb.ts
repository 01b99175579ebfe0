// The bridge forwarding database (net/bridge/br_fdb.c): which port a MAC address was last seen
// on. Entries learned from traffic age out after the bridge's ageing time (300 s by default);
// local entries — the bridge's own address and its ports' addresses — never do, and frames
// addressed to them go up the bridge device's stack. Keys are the 48-bit address as a number,
// read straight from the frame, so a lookup allocates nothing.

import type { NetBridge, NetBridgePort } from './bridge.js';
import { Timer, NSEC_PER_MSEC } from '../../kernel/time.js';
import { ETH_ALEN } from '../../uapi/if.js';

/** struct net_bridge_fdb_entry. */
export class NetBridgeFdbEntry {
  /** The address (a private copy). */
  readonly addr = new Uint8Array(ETH_ALEN);
  /** When the address was last seen as a source (ns), and last used as a destination. */
  updated = 0;
  used = 0;

  constructor(
    readonly key: number,
    /** The port behind which the address lives; null for the bridge's own address. */
    public dst: NetBridgePort | null,
    /** BR_FDB_LOCAL: an address of this bridge. */
    readonly is_local: boolean,
    /** BR_FDB_STATIC: added by hand, never ages. */
    readonly is_static: boolean,
  ) {}
}

/** The 48-bit address at `h[off..off+6)` as a number (exact: < 2^53). */
export function mac_key(h: Uint8Array, off: number): number {
  const hi = (h[off] << 8) | h[off + 1];
  const lo = ((h[off + 2] << 24) | (h[off + 3] << 16) | (h[off + 4] << 8) | h[off + 5]) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

/** The FDB of one bridge, with its garbage-collection timer (br->gc_work). */
export class BrFdb {
  readonly hash = new Map<number, NetBridgeFdbEntry>();
  readonly gc_timer: Timer;
  /** Dynamic (learned) entries: the gc timer runs only while there are some. */
  private dynamic = 0;

  constructor(readonly br: NetBridge) {
    this.gc_timer = new Timer(() => br_fdb_cleanup(br));
  }

  /** br_fdb_find_rcu(). */
  find(h: Uint8Array, off: number): NetBridgeFdbEntry | null {
    return this.hash.get(mac_key(h, off)) ?? null;
  }

  /** fdb_create(). */
  create(
    source: NetBridgePort | null,
    addr: Uint8Array,
    off: number,
    is_local: boolean,
    is_static: boolean,
  ): NetBridgeFdbEntry {
    const key = mac_key(addr, off);
    const f = new NetBridgeFdbEntry(key, source, is_local, is_static);
    f.addr.set(addr.subarray(off, off + ETH_ALEN));
    f.updated = f.used = this.br.clock.now();
    this.hash.set(key, f);
    if (!is_local && !is_static) {
      this.dynamic++;
      this.arm(f.updated + this.br.ageing_time);
    }
    return f;
  }

  /** fdb_delete(). */
  delete(f: NetBridgeFdbEntry): void {
    if (this.hash.get(f.key) !== f) return;
    this.hash.delete(f.key);
    if (!f.is_local && !f.is_static && --this.dynamic === 0) this.br.clock.del_timer(this.gc_timer);
  }

  private arm(expires: number): void {
    const clock = this.br.clock;
    if (!clock.timer_pending(this.gc_timer) || this.gc_timer.expires > expires)
      clock.mod_timer(this.gc_timer, expires);
  }

  /** Re-arm after a cleanup pass: the earliest expiry, at least 10 ms away, as br_fdb_cleanup. */
  rearm(next: number): void {
    if (this.dynamic === 0) return;
    const clock = this.br.clock;
    clock.mod_timer(this.gc_timer, Math.max(next, clock.now() + 10 * NSEC_PER_MSEC));
  }
}

/** has_expired(). */
export function has_expired(br: NetBridge, f: NetBridgeFdbEntry, now: number): boolean {
  return !f.is_static && !f.is_local && f.updated + br.ageing_time <= now;
}

/**
 * br_fdb_update(): learn that the source address of a frame lives behind `source`. A station
 * that moved is re-pointed; a frame claiming one of the bridge's own addresses as its source
 * teaches nothing.
 */
export function br_fdb_update(br: NetBridge, source: NetBridgePort, h: Uint8Array, off: number): void {
  const f = br.fdb.find(h, off);
  const now = br.clock.now();
  if (f) {
    if (f.is_local) return;
    if (f.is_static) return;
    f.updated = now;
    if (f.dst !== source) f.dst = source;
    return;
  }
  br.fdb.create(source, h, off, false, false);
}

/** br_fdb_cleanup(): delete what has aged out; come back at the next expiry. */
export function br_fdb_cleanup(br: NetBridge): void {
  const now = br.clock.now();
  let next = Infinity;
  for (const f of [...br.fdb.hash.values()]) {
    if (f.is_local || f.is_static) continue;
    const this_timer = f.updated + br.ageing_time;
    if (this_timer > now) next = Math.min(next, this_timer);
    else br.fdb.delete(f);
  }
  br.fdb.rearm(next);
}

/** fdb_add_local() / br_fdb_add_local(): an address of the bridge itself (or one of its ports). */
export function br_fdb_add_local(br: NetBridge, source: NetBridgePort | null, addr: Uint8Array): void {
  const f = br.fdb.find(addr, 0);
  if (f) {
    if (f.is_local) return;
    // A learned entry for one of our own addresses is replaced.
    br.fdb.delete(f);
  }
  br.fdb.create(source, addr, 0, true, true);
}

/** br_fdb_delete_by_port(): forget what was learned (and, with do_all, what is local) on a port. */
export function br_fdb_delete_by_port(br: NetBridge, p: NetBridgePort, do_all: boolean): void {
  for (const f of [...br.fdb.hash.values()]) {
    if (f.dst !== p) continue;
    if (!do_all && (f.is_static || f.is_local)) continue;
    br.fdb.delete(f);
  }
}

/** br_fdb_flush(): forget every learned address. */
export function br_fdb_flush(br: NetBridge): void {
  for (const f of [...br.fdb.hash.values()]) if (!f.is_local && !f.is_static) br.fdb.delete(f);
}

/** br_fdb_add() of a static entry (`bridge fdb add ADDR dev PORT master static`). */
export function br_fdb_add_static(br: NetBridge, p: NetBridgePort, addr: Uint8Array): void {
  const f = br.fdb.find(addr, 0);
  if (f) br.fdb.delete(f);
  br.fdb.create(p, addr, 0, false, true);
}
