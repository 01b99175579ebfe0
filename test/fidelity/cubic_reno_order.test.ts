// CUBIC against Reno where the fault torture runs: a short path (1 ms each way) losing 8.5% of
// its frames, reordering and corrupting some. There Linux's own Reno gets more goodput than its
// CUBIC — CUBIC's TCP-friendly region grows by about half a segment per round trip where Reno
// grows by one, and with windows of a few segments that means more retransmission timeouts —
// and usernet's must order the two the same way. Three loss seeds per side, means compared,
// every figure printed. One real-time run of Linux on this path swings by a third from run to run
// (its Reno got 1.5 and 2.3 Mbit/s on the same seed), so Linux's side is held only to "CUBIC does
// not win"; usernet's, in virtual time, to the strict order. (Where windows are large and losses rare CUBIC is the faster: that is its
// purpose, and the 100 Mbit/s fidelity test measures it against Linux.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Impairments } from '../../src/sim/link.js';
import { interopUnavailable } from '../interop/netns.js';
import { linuxRun, usernetRun, mean, figuresLine as line, type Figures } from './path.js';

const SECONDS = Number(process.env.USERNET_FIDELITY_SECONDS ?? 20);
const PATH: Impairments = {
  delay: '1ms',
  loss: '8.5%',
  reorder: '4.4%',
  corrupt: '1.6%',
  rate: '100mbit',
  limit: 1000,
};
const LOSS_SEEDS = [11, 21, 31];

const why = interopUnavailable('python3');

test(
  `a short path losing 8.5%: CUBIC does not beat Reno on Linux, and on usernet Reno is ahead (${SECONDS} s runs)`,
  { skip: why ?? false, timeout: (SECONDS * 4 * LOSS_SEEDS.length + 180) * 1000 },
  async (t) => {
    const figs: Record<string, Figures[]> = {
      'linux cubic': [],
      'linux reno': [],
      'usernet cubic': [],
      'usernet reno': [],
    };
    for (const seed of LOSS_SEEDS) {
      for (const cc of ['cubic', 'reno'] as const) {
        const run = {
          forward: { ...PATH, seed },
          reverse: { ...PATH, seed: seed + 1 },
          seconds: SECONDS,
          cc,
        };
        const linux = await linuxRun(run);
        const usernet = await usernetRun(run);
        t.diagnostic(`loss seed ${seed}, ${cc}: ${line('linux', linux)}; ${line('usernet', usernet)}`);
        figs[`linux ${cc}`]!.push(linux);
        figs[`usernet ${cc}`]!.push(usernet);
      }
    }
    const m = Object.fromEntries(Object.entries(figs).map(([k, v]) => [k, mean(v)]));
    for (const [k, v] of Object.entries(m)) t.diagnostic(line(`mean ${k}`, v));
    const gp = (k: string): number => m[k]!.goodputMbit;
    console.log(
      `cubic vs reno (8.5% loss, 2 ms): linux ${gp('linux cubic').toFixed(2)} vs ${gp('linux reno').toFixed(2)} Mbit/s; ` +
        `usernet ${gp('usernet cubic').toFixed(2)} vs ${gp('usernet reno').toFixed(2)} Mbit/s`,
    );
    assert.ok(
      gp('linux reno') > gp('linux cubic'),
      'on this path Linux itself gets more from Reno than from CUBIC',
    );
    assert.ok(gp('usernet reno') > gp('usernet cubic'), "usernet's CUBIC and Reno are ordered as Linux's");
  },
);
