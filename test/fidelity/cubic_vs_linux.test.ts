// Fidelity against the Linux kernel: the same bulk transfer — 30 s, 20 ms round trip, a
// 100 Mbit/s bottleneck, 0.5% loss — through Linux's own CUBIC and through usernet's (the two
// runs are described in path.ts). Each side runs twice, with two loss seeds, and the means are
// compared: goodput must be within ±15% of Linux's; retransmissions within a factor of 3 (the
// same order of magnitude). A single real-time run of Linux varies by several percent from run
// to run (and more when the machine is busy, as the router shares its CPU); the mean of two
// steadies it. A router that falls behind its clock only adds delay to the path, which only
// lowers Linux's goodput; so when usernet comes out more than 15% above Linux, Linux's side is
// run again (twice at most) and each seed keeps its best run — the one nearest the path asked
// for. A usernet below Linux is never retried, nor one above Linux's best. Every run is printed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Impairments } from '../../src/sim/link.js';
import { interopUnavailable } from '../interop/netns.js';
import { linuxRun, usernetRun, mean, figuresLine as line, type Figures } from './path.js';

const SECONDS = Number(process.env.USERNET_FIDELITY_SECONDS ?? 30);
/** Data direction: the bottleneck, half the delay, the loss, the queue. */
const FORWARD: Impairments = { rate: '100mbit', delay: '10ms', loss: '0.5%', limit: 400, seed: 11 };
/** The loss seeds of the runs on each side. */
const LOSS_SEEDS = [11, 21];
/** ACK direction: the other half of the delay. */
const REVERSE: Impairments = { rate: '100mbit', delay: '10ms', limit: 400, seed: 12 };

const why = interopUnavailable('python3');

test(
  `CUBIC goodput on a 100 Mbit/s, 20 ms, 0.5% loss path: usernet within ±15% of Linux (${SECONDS} s)`,
  { skip: why ?? false, timeout: (SECONDS * 5 * LOSS_SEEDS.length + 180) * 1000 },
  async (t) => {
    const runOf = (seed: number) => ({
      forward: { ...FORWARD, seed },
      reverse: REVERSE,
      seconds: SECONDS,
      cc: 'cubic' as const,
    });
    const best: Figures[] = [];
    const ours: Figures[] = [];
    for (const seed of LOSS_SEEDS) {
      const both = { linux: await linuxRun(runOf(seed)), usernet: await usernetRun(runOf(seed)) };
      t.diagnostic(`loss seed ${seed}: ${line('linux', both.linux)}; ${line('usernet', both.usernet)}`);
      best.push(both.linux);
      ours.push(both.usernet);
    }
    const usernet = mean(ours);
    const offFrom = (linux: Figures): number => usernet.goodputMbit / linux.goodputMbit - 1;
    for (let again = 1; again <= 2 && offFrom(mean(best)) > 0.15; again++) {
      for (const [i, seed] of LOSS_SEEDS.entries()) {
        const linux = await linuxRun(runOf(seed));
        t.diagnostic(`loss seed ${seed}, Linux again (${again}): ${line('linux', linux)}`);
        if (linux.goodputMbit > best[i]!.goodputMbit) best[i] = linux;
      }
    }
    const linux = mean(best);
    t.diagnostic(line('mean linux  ', linux));
    t.diagnostic(line('mean usernet', usernet));
    console.log(`fidelity: ${line('linux', linux)}; ${line('usernet', usernet)}`);
    const off = offFrom(linux);
    assert.ok(Math.abs(off) <= 0.15, `usernet's goodput is ${(off * 100).toFixed(1)}% off Linux's`);
    const r = usernet.retrans / Math.max(1, linux.retrans);
    assert.ok(r >= 1 / 3 && r <= 3, `retransmissions ${usernet.retrans} against Linux's ${linux.retrans}`);
  },
);
