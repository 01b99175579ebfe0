// Wall-clock time for worlds that talk to real networks: timers run on Node's timers.

import { Clock } from '../kernel/time.js';

export class RealClock extends Clock {
  private readonly origin = performance.now();
  private handle: ReturnType<typeof setTimeout> | null = null;
  private armedFor = Number.POSITIVE_INFINITY;
  private readonly fire = (): void => {
    this.handle = null;
    this.armedFor = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    this.runDue(this.now());
    this.kick();
  };

  now(): number {
    return Math.round((performance.now() - this.origin) * 1e6);
  }

  override stop(): void {
    super.stop();
    if (this.handle) clearTimeout(this.handle);
    this.handle = null;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  protected kick(): void {
    if (this.stopped) return;
    const next = this.nextExpiry();
    if (next === this.armedFor) return;
    if (this.handle) clearTimeout(this.handle);
    this.handle = null;
    this.armedFor = next;
    if (next === Number.POSITIVE_INFINITY) return;
    this.handle = setTimeout(this.fire, Math.max(0, (next - this.now()) / 1e6));
  }
}
