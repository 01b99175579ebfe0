// Simulation speed: how fast virtual time runs.
//
// sim-flow-speed: one CUBIC bulk flow over a 100 Mbit/s, 40 ms round-trip path losing 1% of the
// data packets, for 60 simulated seconds (5 in --quick): simulated seconds per real second.
// Its reference is the same flow in a world on the real clock, which by construction cannot
// run faster than real time — the ratio is the factor virtual time gains.
//
// sim-world-packets: 1,000 hosts on one switch and 10,000 TCP flows between random pairs, each
// moving 16 KiB and closing (100 hosts and 1,000 flows in --quick): frames delivered per real
// second. No reference: nothing else runs such a world.

import { performance } from 'node:perf_hooks';
import { World, AF_INET, SOCK_STREAM, RLIMIT_NOFILE, type Task } from '../src/index.js';
import type { Benchmark, BenchConfig, SampleResult } from './harness.js';
import { dev_get_by_name } from '../src/net/core/dev.js';

const CHUNK = 64 * 1024;

/** The 100 Mbit/s flow for `seconds` of its world's time; returns simulated seconds per real second. */
async function flow(clock: 'virtual' | 'real', seconds: number): Promise<SampleResult> {
  const world = new World({ seed: 1, clock });
  const a = world.addHost('a');
  const b = world.addHost('b');
  const link = world.link(a, b, { rate: '100mbit', delay: '20ms' });
  link.set({ loss: '1%' }, 'a->b');
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  const ta = a.spawn();
  const tb = b.spawn();
  const l = tb.socket(AF_INET, SOCK_STREAM, 0);
  tb.bind(l, { family: AF_INET, addr: '10.0.0.2', port: 5001 });
  tb.listen(l, 8);
  const c = ta.socket(AF_INET, SOCK_STREAM, 0);
  const acc = tb.accept(l);
  await ta.connect(c, { family: AF_INET, addr: '10.0.0.2', port: 5001 });
  const { fd: s } = await acc;
  const t0 = performance.now();
  const v0 = world.now();
  const end = v0 + seconds * 1000;
  let received = 0;
  const src = new Uint8Array(CHUNK);
  const sink = new Uint8Array(CHUNK);
  const writer = (async () => {
    while (world.now() < end) await ta.write(c, src);
  })();
  const reader = (async () => {
    while (world.now() < end) received += await tb.read(s, sink);
  })();
  await world.sleep(seconds * 1000);
  const real = (performance.now() - t0) / 1000;
  const simulated = (world.now() - v0) / 1000;
  world.stop();
  void writer.catch(() => {});
  void reader.catch(() => {});
  const mbit = (received * 8) / simulated / 1e6;
  return { value: simulated / real, note: `goodput ${mbit.toFixed(1)} Mbit/s of the 100` };
}

/** `hosts` on one switch, `flows` connections of `bytes` each between random pairs; frames per real second. */
async function bigWorld(hosts: number, flows: number, bytes: number): Promise<SampleResult> {
  const t0 = performance.now();
  const world = new World({ seed: 7 });
  const hs = Array.from({ length: hosts }, (_, i) => world.addHost(`h${i}`));
  const sw = world.bridge('sw', hs);
  hs.forEach((h, i) => h.ip(`addr add 10.${(i >> 8) & 255}.${i & 255}.1/8 dev eth0`));
  const addr = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.1`;
  const tasks: Task[] = hs.map((h) => {
    const t = h.spawn();
    t.setrlimit(RLIMIT_NOFILE, { cur: 65536, max: 65536 });
    return t;
  });
  const servers = tasks.map((t, i) => {
    const l = t.socket(AF_INET, SOCK_STREAM, 0);
    t.bind(l, { family: AF_INET, addr: addr(i), port: 80 });
    t.listen(l, 1024);
    return l;
  });
  const payload = new Uint8Array(bytes);
  let done = 0;
  const serve = async (i: number): Promise<void> => {
    const t = tasks[i];
    for (;;) {
      const { fd } = await t.accept(servers[i]);
      void (async () => {
        const buf = new Uint8Array(CHUNK);
        while ((await t.read(fd, buf)) > 0);
        t.close(fd);
      })();
    }
  };
  for (let i = 0; i < hosts; i++) void serve(i).catch(() => {});
  const setup = performance.now();
  const rand = world.random.fork();
  const one = async (): Promise<void> => {
    const from = rand.get_random_u32_below(hosts);
    let to = rand.get_random_u32_below(hosts - 1);
    if (to >= from) to++;
    const t = tasks[from];
    const fd = t.socket(AF_INET, SOCK_STREAM, 0);
    await t.connect(fd, { family: AF_INET, addr: addr(to), port: 80 });
    for (let off = 0; off < bytes;) off += await t.write(fd, payload.subarray(off));
    t.close(fd);
    done++;
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: flows }, one));
  // Every FIN and its ACK on the wire: the frames are counted where they leave each host.
  await world.sleep(1000);
  const real = (performance.now() - started) / 1000;
  let frames = 0;
  for (const h of hs) frames += dev_get_by_name(h.netns, 'eth0')?.stats.rx_packets ?? 0;
  world.stop();
  void sw;
  if (done !== flows) throw new Error(`sim-world-packets: ${done} of ${flows} flows completed`);
  return {
    value: frames / real,
    note: `${frames} frames in ${real.toFixed(1)} s (building the world: ${((setup - t0) / 1000).toFixed(1)} s, not counted)`,
  };
}

export function simBenchmarks(cfg: BenchConfig): Benchmark[] {
  const seconds = cfg.quick ? 5 : 60;
  const hosts = cfg.quick ? 100 : 1000;
  const flows = cfg.quick ? 1000 : 10_000;
  return [
    {
      name: 'sim-flow-speed',
      unit: 'simulated s/real s',
      higherIsBetter: true,
      target: 20,
      rounds: cfg.quick ? 1 : 5,
      warmup: cfg.quick ? 0 : 1,
      describe: `a CUBIC bulk flow, 100 Mbit/s, 40 ms RTT, 1% loss, ${seconds} simulated s; reference: the same flow on a real clock (${cfg.quick ? 1 : 3} s)`,
      usernet: { name: 'usernet', sample: () => flow('virtual', seconds) },
      reference: { name: 'real clock', sample: () => flow('real', cfg.quick ? 1 : 3) },
    },
    {
      name: 'sim-world-packets',
      unit: 'frames/s',
      higherIsBetter: true,
      target: null,
      rounds: cfg.quick ? 1 : 3,
      warmup: 0,
      timeoutMs: 600_000,
      describe: `${hosts} hosts on one switch, ${flows} TCP flows of 16 KiB between random pairs; frames received per real second (no reference)`,
      usernet: { name: 'usernet', sample: () => bigWorld(hosts, flows, 16 * 1024) },
      reference: { name: '(none)', sample: () => Promise.resolve(NaN) },
    },
  ];
}
