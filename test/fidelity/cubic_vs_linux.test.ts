// Fidelity against the Linux kernel: the same bulk transfer — 30 s, 20 ms round trip, a
// 100 Mbit/s bottleneck, 0.5% loss — through Linux's own CUBIC and through usernet's (the two
// runs are described in path.ts). Each side runs twice, with two loss seeds, and the means are
// compared: goodput must be within ±15% of Linux's; retransmissions within a factor of 3 (the
// same order of magnitude). A single real-time run of Linux varies by several percent from run
// to run (and more when the machine is busy, as the router shares its CPU); the mean of two
// steadies it. Every figure is printed.

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
  { skip: why ?? false, timeout: (SECONDS * 3 * LOSS_SEEDS.length + 120) * 1000 },
  async (t) => {
    const runs: { linux: Figures; usernet: Figures }[] = [];
    for (const seed of LOSS_SEEDS) {
      const run = { forward: { ...FORWARD, seed }, reverse: REVERSE, seconds: SECONDS, cc: 'cubic' as const };
      const both = { linux: await linuxRun(run), usernet: await usernetRun(run) };
      t.diagnostic(`loss seed ${seed}: ${line('linux', both.linux)}; ${line('usernet', both.usernet)}`);
      runs.push(both);
    }
    const linux = mean(runs.map((r) => r.linux));
    const usernet = mean(runs.map((r) => r.usernet));
    t.diagnostic(line('mean linux  ', linux));
    t.diagnostic(line('mean usernet', usernet));
    console.log(`fidelity: ${line('linux', linux)}; ${line('usernet', usernet)}`);
    const off = usernet.goodputMbit / linux.goodputMbit - 1;
    assert.ok(Math.abs(off) <= 0.15, `usernet's goodput is ${(off * 100).toFixed(1)}% off Linux's`);
    const r = usernet.retrans / Math.max(1, linux.retrans);
    assert.ok(r >= 1 / 3 && r <= 3, `retransmissions ${usernet.retrans} against Linux's ${linux.retrans}`);
  },
);
