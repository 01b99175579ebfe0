// Fidelity against the Linux kernel: the same bulk transfer — 30 s, 20 ms round trip, a
// 100 Mbit/s bottleneck, 0.5% loss — through Linux's own CUBIC and through usernet's.
//
// Linux side (real time, root): a sender in one network namespace, a receiver in another, and
// between them a router whose queues impose the path. The kernel here has no sch_netem, so the
// router is a usernet host on a real clock, joined to both namespaces by TAP bridges: its
// egress qdiscs (usernet's netem: rate, delay, loss, a 400-packet queue) are the path, the same
// code that models it in the virtual run. Linux's TCP sees only frames arriving late or not at
// all, as behind `tc netem` + `tbf`.
//
// usernet side (virtual time): the same three-node path, the same qdisc settings, usernet's TCP
// at both ends. Goodput must be within ±15% of Linux's; retransmissions within a factor of 3
// (the same order of magnitude). Both figures are printed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, AF_INET, SOCK_STREAM, type Host } from '../../src/index.js';
import { to_qopt, type Impairments } from '../../src/sim/link.js';
import { netem_create } from '../../src/net/sched/sch_netem.js';
import { dev_graft_qdisc } from '../../src/net/sched/sch_generic.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { TCP_INFO, SIZEOF_TCP_INFO } from '../../src/uapi/tcp.js';
import { SOL_TCP } from '../../src/uapi/socket.js';
import { Netns, interopUnavailable } from '../interop/netns.js';

const SECONDS = Number(process.env.USERNET_FIDELITY_SECONDS ?? 30);
/** Data direction: the bottleneck, half the delay, the loss, the queue. */
const FORWARD: Impairments = { rate: '100mbit', delay: '10ms', loss: '0.5%', limit: 400, seed: 11 };
/** ACK direction: the other half of the delay. */
const REVERSE: Impairments = { rate: '100mbit', delay: '10ms', limit: 400, seed: 12 };

function shape(dev: NetDevice, imp: Impairments): void {
  const q = netem_create(dev, to_qopt(imp));
  if (typeof q === 'number') throw new Error(`netem: ${q}`);
  dev_graft_qdisc(dev, q);
}

interface Figures {
  goodputMbit: number;
  retrans: number;
}

const TOTAL_RETRANS_OFFSET = 100; // struct tcp_info: tcpi_total_retrans

const SENDER_PY = `
import socket, struct, sys, time, json
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
s.connect(("10.88.2.1", 5201))
buf = b"x" * 65536
end = time.monotonic() + ${SECONDS}
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
t0 = time.monotonic()
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    n += len(d)
print(json.dumps({"bytes": n, "seconds": time.monotonic() - t0}))
`;

async function linuxRun(): Promise<Figures> {
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
    shape(tapB.dev, FORWARD);
    shape(tapA.dev, REVERSE);
    await a.run('ip route add 10.88.2.0/24 via 10.88.1.2');
    await b.run('ip route add 10.88.1.0/24 via 10.88.2.2');
    const receiver = b.start(`python3 -c '${RECEIVER_PY}'`);
    await new Promise((res) => setTimeout(res, 300));
    const sent = await a.run(`python3 -c '${SENDER_PY}'`, { timeoutMs: (SECONDS + 60) * 1000 });
    assert.equal(sent.code, 0, sent.stderr);
    const got = await receiver.exited;
    assert.equal(got.code, 0, got.stderr);
    const { retrans } = JSON.parse(sent.stdout) as { retrans: number };
    const { bytes } = JSON.parse(got.stdout) as { bytes: number };
    await tapA.close();
    await tapB.close();
    return { goodputMbit: (bytes * 8) / SECONDS / 1e6, retrans };
  } finally {
    world.stop();
    a.remove();
    b.remove();
  }
}

async function usernetRun(): Promise<Figures> {
  const world = new World({ seed: 3 });
  const hosts: Host[] = ['a', 'router', 'b'].map((n) => world.addHost(n));
  const [a, r, b] = hosts;
  const ar = world.link(a, r);
  const rb = world.link(r, b);
  ar.set(REVERSE, 'b->a');
  rb.set(FORWARD, 'a->b');
  a.ip('addr add 10.88.1.1/24 dev eth0');
  a.ip('route add 10.88.2.0/24 via 10.88.1.2');
  r.ip('addr add 10.88.1.2/24 dev eth0');
  r.ip('addr add 10.88.2.2/24 dev eth1');
  r.sysctl.write('net.ipv4.ip_forward', 1);
  b.ip('addr add 10.88.2.1/24 dev eth0');
  b.ip('route add 10.88.1.0/24 via 10.88.2.2');
  const ta = a.spawn();
  const tb = b.spawn();
  const l = tb.socket(AF_INET, SOCK_STREAM, 0);
  tb.bind(l, { family: AF_INET, addr: '10.88.2.1', port: 5201 });
  tb.listen(l, 1);
  const c = ta.socket(AF_INET, SOCK_STREAM, 0);
  const acc = tb.accept(l);
  await ta.connect(c, { family: AF_INET, addr: '10.88.2.1', port: 5201 });
  const { fd: s } = await acc;
  const end = world.now() + SECONDS * 1000;
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
  world.stop();
  return { goodputMbit: (bytes * 8) / SECONDS / 1e6, retrans };
}

const why = interopUnavailable('python3');

test(
  `CUBIC goodput on a 100 Mbit/s, 20 ms, 0.5% loss path: usernet within ±15% of Linux (${SECONDS} s)`,
  { skip: why ?? false, timeout: (SECONDS * 3 + 120) * 1000 },
  async (t) => {
    const linux = await linuxRun();
    const usernet = await usernetRun();
    const line = (who: string, f: Figures) =>
      `${who}: goodput ${f.goodputMbit.toFixed(2)} Mbit/s, ${f.retrans} retransmitted segments`;
    t.diagnostic(line('linux  ', linux));
    t.diagnostic(line('usernet', usernet));
    console.log(`fidelity: ${line('linux', linux)}; ${line('usernet', usernet)}`);
    const off = usernet.goodputMbit / linux.goodputMbit - 1;
    assert.ok(Math.abs(off) <= 0.15, `usernet's goodput is ${(off * 100).toFixed(1)}% off Linux's`);
    const r = usernet.retrans / Math.max(1, linux.retrans);
    assert.ok(r >= 1 / 3 && r <= 3, `retransmissions ${usernet.retrans} against Linux's ${linux.retrans}`);
  },
);
