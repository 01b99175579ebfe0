// The fidelity tests' two runs of one bulk transfer over one path.
//
// Linux side (real time, root): a sender in one network namespace, a receiver in another, and
// between them a router whose queues impose the path. The kernel here has no sch_netem, so the
// router is a usernet host on a real clock, joined to both namespaces by TAP bridges: its
// egress qdiscs (usernet's netem: rate, delay, loss, queue…) are the path, the same code that
// models it in the virtual run. Linux's TCP sees only frames arriving late or not at all, as
// behind `tc netem` + `tbf`.
//
// usernet side (virtual time): the same three-node path, the same qdisc settings, usernet's TCP
// at both ends.

import assert from 'node:assert/strict';
import { World, AF_INET, SOCK_STREAM, type Host } from '../../src/index.js';
import { to_qopt, type Impairments } from '../../src/sim/link.js';
import { netem_create } from '../../src/net/sched/sch_netem.js';
import { dev_graft_qdisc } from '../../src/net/sched/sch_generic.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { TCP_INFO, SIZEOF_TCP_INFO } from '../../src/uapi/tcp.js';
import { SOL_TCP } from '../../src/uapi/socket.js';
import { Netns } from '../interop/netns.js';

/** A bulk transfer: the path's two directions, how long, with which congestion control. */
export interface PathRun {
  /** Data direction (sender → receiver); its `seed` is the loss seed of the run. */
  forward: Impairments;
  /** ACK direction. */
  reverse: Impairments;
  seconds: number;
  cc: 'cubic' | 'reno';
  /** net.ipv4.tcp_sack at both ends (1 unless given): 0 leaves Reno with NewReno recovery. */
  sack?: 0 | 1;
  /** Called after the transfer with each end's /proc/net/netstat and /proc/net/snmp text. */
  counters?: (kernel: 'linux' | 'usernet', sender: string, receiver: string) => void;
}

export interface Figures {
  goodputMbit: number;
  retrans: number;
}

const TOTAL_RETRANS_OFFSET = 100; // struct tcp_info: tcpi_total_retrans

function shape(dev: NetDevice, imp: Impairments): void {
  const q = netem_create(dev, to_qopt(imp));
  if (typeof q === 'number') throw new Error(`netem: ${q}`);
  dev_graft_qdisc(dev, q);
}

const senderPy = (run: PathRun): string => `
import socket, struct, sys, time, json
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"${run.cc}")
s.connect(("10.88.2.1", 5201))
buf = b"x" * 65536
end = time.monotonic() + ${run.seconds}
while time.monotonic() < end:
    s.send(buf)
info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
print(json.dumps({"retrans": struct.unpack_from("I", info, ${TOTAL_RETRANS_OFFSET})[0]}))
s.close()
`;

const RECEIVER_PY = `
import socket, time, json
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("10.88.2.1", 5201))
l.listen(1)
c, _ = l.accept()
n = 0
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    n += len(d)
print(json.dumps({"bytes": n}))
`;

/** The transfer through Linux's TCP, between two namespaces, behind a real-time usernet router. */
export async function linuxRun(run: PathRun): Promise<Figures> {
  const a = new Netns();
  const b = new Netns();
  const world = new World({ clock: 'real', seed: 3 });
  const r = world.addHost('router');
  try {
    const tapA = await world.tap(r, { netns: a.name, linuxAddress: '10.88.1.1/24' });
    const tapB = await world.tap(r, { netns: b.name, linuxAddress: '10.88.2.1/24' });
    r.ip(`addr add 10.88.1.2/24 dev ${tapA.dev.name}`);
    r.ip(`addr add 10.88.2.2/24 dev ${tapB.dev.name}`);
    r.sysctl.write('net.ipv4.ip_forward', 1);
    shape(tapB.dev, run.forward);
    shape(tapA.dev, run.reverse);
    for (const ns of [a, b]) {
      const set = await ns.run(`sysctl -qw net.ipv4.tcp_sack=${run.sack ?? 1}`);
      assert.equal(set.code, 0, set.stderr);
    }
    await a.run('ip route add 10.88.2.0/24 via 10.88.1.2');
    await b.run('ip route add 10.88.1.0/24 via 10.88.2.2');
    const receiver = b.start(`python3 -c '${RECEIVER_PY}'`);
    await new Promise((res) => setTimeout(res, 300));
    const sent = await a.run(`python3 -c '${senderPy(run)}'`, { timeoutMs: (run.seconds + 60) * 1000 });
    assert.equal(sent.code, 0, sent.stderr);
    const got = await receiver.exited;
    assert.equal(got.code, 0, got.stderr);
    if (run.counters) {
      const read = 'cat /proc/net/netstat /proc/net/snmp';
      run.counters('linux', (await a.run(read)).stdout, (await b.run(read)).stdout);
    }
    const { retrans } = JSON.parse(sent.stdout) as { retrans: number };
    const { bytes } = JSON.parse(got.stdout) as { bytes: number };
    await tapA.close();
    await tapB.close();
    return { goodputMbit: (bytes * 8) / run.seconds / 1e6, retrans };
  } finally {
    world.stop();
    a.remove();
    b.remove();
  }
}

/** The same transfer through usernet's TCP at both ends, in virtual time. */
export async function usernetRun(run: PathRun): Promise<Figures> {
  const world = new World({ seed: 3 });
  const hosts: Host[] = ['a', 'router', 'b'].map((n) => world.addHost(n));
  const [a, r, b] = hosts;
  const ar = world.link(a, r);
  const rb = world.link(r, b);
  ar.set(run.reverse, 'b->a');
  rb.set(run.forward, 'a->b');
  a.ip('addr add 10.88.1.1/24 dev eth0');
  a.ip('route add 10.88.2.0/24 via 10.88.1.2');
  r.ip('addr add 10.88.1.2/24 dev eth0');
  r.ip('addr add 10.88.2.2/24 dev eth1');
  r.sysctl.write('net.ipv4.ip_forward', 1);
  b.ip('addr add 10.88.2.1/24 dev eth0');
  b.ip('route add 10.88.1.0/24 via 10.88.2.2');
  a.sysctl.writeText('net.ipv4.tcp_congestion_control', run.cc);
  for (const h of [a, b]) h.sysctl.write('net.ipv4.tcp_sack', run.sack ?? 1);
  const ta = a.spawn();
  const tb = b.spawn();
  const l = tb.socket(AF_INET, SOCK_STREAM, 0);
  tb.bind(l, { family: AF_INET, addr: '10.88.2.1', port: 5201 });
  tb.listen(l, 1);
  const c = ta.socket(AF_INET, SOCK_STREAM, 0);
  const acc = tb.accept(l);
  await ta.connect(c, { family: AF_INET, addr: '10.88.2.1', port: 5201 });
  const { fd: s } = await acc;
  const end = world.now() + run.seconds * 1000;
  const src = new Uint8Array(65536);
  const sink = new Uint8Array(1 << 20);
  let bytes = 0;
  const writer = (async () => {
    while (world.now() < end) await ta.write(c, src);
  })();
  const reader = (async () => {
    for (let n; (n = await tb.read(s, sink)) > 0;) bytes += n;
  })();
  await writer;
  const info = ta.getsockoptRaw(c, SOL_TCP, TCP_INFO, SIZEOF_TCP_INFO);
  const retrans = new DataView(info.buffer, info.byteOffset).getUint32(TOTAL_RETRANS_OFFSET, true);
  ta.close(c);
  await reader;
  run.counters?.('usernet', a.procNetNetstat() + a.procNetSnmp(), b.procNetNetstat() + b.procNetSnmp());
  world.stop();
  return { goodputMbit: (bytes * 8) / run.seconds / 1e6, retrans };
}

/** The mean of runs' figures. */
export function mean(fs: Figures[]): Figures {
  return {
    goodputMbit: fs.reduce((a, f) => a + f.goodputMbit, 0) / fs.length,
    retrans: fs.reduce((a, f) => a + f.retrans, 0) / fs.length,
  };
}

export const figuresLine = (who: string, f: Figures): string =>
  `${who}: goodput ${f.goodputMbit.toFixed(2)} Mbit/s, ${Math.round(f.retrans)} retransmitted segments`;
