// UDP benchmarks: datagrams per second from one socket to another, usernet (over its loopback
// device, or between two hosts joined by a veth link) against node:dgram over this machine's
// loopback (127.0.0.1).
//
// Both sides pace the sender the same way: at most WINDOW datagrams are in flight (sent and not
// yet received); the sender stops there and carries on when the receiver has brought it down to
// WINDOW / 2. A receive buffer holds a whole window, so nothing should be dropped; anything that
// is (nothing arrives for a while with datagrams in flight) is counted and reported, not hidden.

import * as dgram from 'node:dgram';
import {
  World,
  AF_INET,
  SOCK_DGRAM,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_RCVTIMEO,
  EAGAIN,
  SyscallError,
  encodeSockaddr,
  type Task,
} from '../src/index.js';
import { now, type BenchConfig, type Benchmark, type SampleResult } from './harness.js';

/** Datagrams in flight at most; the sender refills when half of them have arrived. */
const WINDOW = 128;
/**
 * SO_RCVBUF asked for on both receivers (the kernel doubles it): a window of 1400-byte datagrams
 * fits many times. Where net.core.rmem_max is lower (212992 by default) the kernel gives that
 * instead, doubled, and a window still fits.
 */
const RCVBUF = 4 * 1024 * 1024;
const PORT = 5001;

/** The payload: bytes i mod 251, so a datagram cut or shifted shows. */
function pattern(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = i % 251;
  return b;
}

function sameBytes(a: Uint8Array, b: Uint8Array, n: number): boolean {
  return Buffer.compare(a.subarray(0, n), b) === 0;
}

// ——— usernet —————————————————————————————————————————————————————————————————

type Path = 'loopback' | 'veth';

interface UsernetPair {
  tx: Task;
  rx: Task;
  txfd: number;
  rxfd: number;
  /** The receiver's address as a struct sockaddr_in, encoded once as a C program would. */
  dest: Uint8Array;
}

/**
 * A sender and a receiver socket: on one host over `lo` (127.0.0.1), or on two hosts joined by
 * `world.link` (10.0.0.1 → 10.0.0.2 over eth0). One datagram goes through first, untimed, so
 * the veth path has resolved its neighbour (ARP) before the timed run.
 */
async function usernetPair(path: Path, size: number): Promise<UsernetPair> {
  const world = new World({ seed: 1 });
  let tx: Task;
  let rx: Task;
  let txAddr: string;
  let rxAddr: string;
  if (path === 'loopback') {
    const host = world.addHost('bench');
    host.sysctl.write('net.core.rmem_max', RCVBUF);
    tx = host.spawn({ comm: 'sender' });
    rx = host.spawn({ comm: 'receiver' });
    txAddr = rxAddr = '127.0.0.1';
  } else {
    const a = world.addHost('a');
    const b = world.addHost('b');
    world.link(a, b);
    a.ip('addr add 10.0.0.1/24 dev eth0');
    b.ip('addr add 10.0.0.2/24 dev eth0');
    b.sysctl.write('net.core.rmem_max', RCVBUF);
    tx = a.spawn({ comm: 'sender' });
    rx = b.spawn({ comm: 'receiver' });
    txAddr = '10.0.0.1';
    rxAddr = '10.0.0.2';
  }
  const rxfd = rx.socket(AF_INET, SOCK_DGRAM, 0);
  rx.setsockopt(rxfd, SOL_SOCKET, SO_RCVBUF, RCVBUF);
  // A receive that waits 1 s of the world's (virtual) time finds the world idle: whatever is
  // still missing was dropped. It never fires while a datagram is on its way.
  rx.setsockopt(rxfd, SOL_SOCKET, SO_RCVTIMEO, { tv_sec: 1, tv_usec: 0 });
  rx.bind(rxfd, { family: AF_INET, addr: rxAddr, port: PORT });
  const txfd = tx.socket(AF_INET, SOCK_DGRAM, 0);
  tx.bind(txfd, { family: AF_INET, addr: txAddr, port: 0 });
  const dest = encodeSockaddr({ family: AF_INET, addr: rxAddr, port: PORT });
  const first = new Uint8Array(size);
  const got = rx.recv(rxfd, new Uint8Array(size));
  await tx.sendto(txfd, first, 0, dest);
  if ((await got) !== size) throw new Error(`usernet ${path}: the first datagram did not arrive whole`);
  return { tx, rx, txfd, rxfd, dest };
}

async function usernetSample(
  path: Path,
  size: number,
  total: number,
  verify: boolean,
): Promise<SampleResult> {
  const { tx, rx, txfd, rxfd, dest } = await usernetPair(path, size);
  const payload = pattern(size);
  let sent = 0;
  let got = 0;
  let lost = 0;
  let wake: (() => void) | null = null;
  const sender = async (): Promise<void> => {
    while (sent < total) {
      while (sent < total && sent - got - lost < WINDOW) {
        const n = await tx.sendto(txfd, payload, 0, dest);
        if (n !== size) throw new Error(`usernet sendto returned ${n}`);
        sent++;
      }
      if (sent < total) await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  const receiver = async (): Promise<void> => {
    // One byte more than a datagram: a longer one would show as a wrong length, not be cut.
    const buf = new Uint8Array(size + 1);
    while (got + lost < total) {
      let n: number;
      try {
        n = await rx.recv(rxfd, buf);
      } catch (err) {
        if (!(err instanceof SyscallError) || err.errno !== EAGAIN) throw err;
        // Timed out with the world idle: the datagrams in flight were dropped.
        lost += sent - got - lost;
        n = -1;
      }
      if (n >= 0) {
        if (n !== size) throw new Error(`usernet ${path}: a datagram of ${n} bytes, expected ${size}`);
        if (verify && !sameBytes(buf, payload, n))
          throw new Error(`usernet ${path}: wrong bytes in datagram ${got}`);
        got++;
      }
      if (wake && sent - got - lost <= WINDOW / 2) {
        const w: () => void = wake;
        wake = null;
        w();
      }
    }
  };
  const t0 = now();
  await Promise.all([sender(), receiver()]);
  const secs = (now() - t0) / 1000;
  tx.close(txfd);
  rx.close(rxfd);
  return { value: got / secs, dropped: lost };
}

// ——— node:dgram over this machine's loopback —————————————————————————————————

function bindUdp(sock: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      sock.off('error', reject);
      resolve();
    });
  });
}

function closeUdp(sock: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve) => sock.close(() => resolve()));
}

async function realSample(size: number, total: number, verify: boolean): Promise<SampleResult> {
  const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: RCVBUF });
  const tx = dgram.createSocket({ type: 'udp4' });
  let watchdog: NodeJS.Timeout | null = null;
  try {
    await bindUdp(rx);
    await bindUdp(tx);
    const port = rx.address().port;
    const payload = Buffer.from(pattern(size));
    let sent = 0;
    let got = 0;
    let lost = 0;
    let t0 = 0;
    await new Promise<void>((resolve, reject) => {
      let waiting = false;
      const onSent = (err: Error | null): void => {
        if (err) reject(err);
      };
      const pump = (): void => {
        while (sent < total && sent - got - lost < WINDOW) {
          tx.send(payload, port, '127.0.0.1', onSent);
          sent++;
        }
        waiting = sent < total;
      };
      const progress = (): void => {
        if (got + lost >= total) resolve();
        else if (waiting && sent - got - lost <= WINDOW / 2) pump();
      };
      rx.on('message', (m: Buffer) => {
        if (m.length !== size) {
          reject(new Error(`node:dgram: a datagram of ${m.length} bytes, expected ${size}`));
          return;
        }
        if (verify && !m.equals(payload)) {
          reject(new Error(`node:dgram: wrong bytes in datagram ${got}`));
          return;
        }
        // One the watchdog gave up on arrived after all.
        if (sent - got - lost === 0 && lost > 0) lost--;
        got++;
        progress();
      });
      rx.once('error', reject);
      tx.once('error', reject);
      // Nothing received for three ticks with datagrams in flight: the kernel dropped them.
      let last = -1;
      let still = 0;
      watchdog = setInterval(() => {
        if (got !== last || sent - got - lost === 0) {
          last = got;
          still = 0;
          return;
        }
        if (++still < 3) return;
        lost += sent - got - lost;
        still = 0;
        progress();
      }, 100);
      t0 = now();
      pump();
    });
    const secs = (now() - t0) / 1000;
    return { value: got / secs, dropped: lost };
  } finally {
    if (watchdog) clearInterval(watchdog);
    await Promise.all([closeUdp(rx), closeUdp(tx)]);
  }
}

// ——— the benchmarks ———————————————————————————————————————————————————————————————

export function udpBenchmarks(cfg: BenchConfig): Benchmark[] {
  const total = cfg.quick ? 2_000 : 100_000;
  const out: Benchmark[] = [];
  for (const path of ['loopback', 'veth'] as const) {
    for (const size of [64, 1400]) {
      const where =
        path === 'loopback'
          ? 'between two sockets on 127.0.0.1 of one host (lo)'
          : 'from 10.0.0.1 to 10.0.0.2, two hosts joined by world.link (veth)';
      out.push({
        name: `udp-${path}-${size}`,
        unit: 'datagrams/s',
        higherIsBetter: true,
        target: 2,
        describe: `${total} UDP datagrams of ${size} bytes ${where}, at most ${WINDOW} in flight`,
        usernet: { name: 'usernet', sample: (verify) => usernetSample(path, size, total, verify) },
        reference: { name: 'node:dgram lo', sample: (verify) => realSample(size, total, verify) },
      });
    }
  }
  return out;
}
