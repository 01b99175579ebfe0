// `ping` (iputils 20221126) over a usernet task: ICMP echo requests through a ping socket
// (SOCK_DGRAM/IPPROTO_ICMP), or — when net.ipv4.ping_group_range does not admit the caller — a
// raw socket, which needs CAP_NET_RAW, exactly as iputils falls back. Output lines and the
// statistics block are iputils' own (numeric addresses, as `ping -n`); round-trip times come
// from the world clock, so in virtual time they are exact and repeatable.

import type { Task, RecvResult } from '../sim/task.js';
import { SyscallError } from '../sim/errors.js';
import { AF_INET, SOCK_DGRAM, SOCK_RAW, SOL_IP, MSG_DONTWAIT, MSG_ERRQUEUE } from '../uapi/socket.js';
import {
  IPPROTO_ICMP,
  IP_RECVERR,
  IP_RECVTTL,
  IP_TTL,
  SO_EE_ORIGIN_ICMP,
  SO_EE_ORIGIN_LOCAL,
} from '../uapi/in.js';
import { POLLIN, POLLERR } from '../uapi/poll.js';
import { EACCES, EPERM, EAGAIN } from '../uapi/errno.js';

const ICMP_ECHOREPLY = 0;
const ICMP_DEST_UNREACH = 3;
const ICMP_SOURCE_QUENCH = 4;
const ICMP_REDIRECT = 5;
const ICMP_ECHO = 8;
const ICMP_TIME_EXCEEDED = 11;
const ICMP_PARAMETERPROB = 12;

export interface PingOptions {
  /** -c: requests to send (default 4; iputils' default of "forever" makes no sense in a test). */
  count?: number;
  /** -i: seconds between requests (default 1). */
  interval?: number;
  /** -s: data bytes (default 56). */
  size?: number;
  /** -t: IP time to live. */
  ttl?: number;
  /** -W: seconds to wait for a reply after the last request when none came (default 10). */
  timeout?: number;
  /** -q: only the first line and the statistics. */
  quiet?: boolean;
  /** Called with each line as it is printed (e.g. console.log), besides collecting it. */
  onLine?: (line: string) => void;
}

export interface PingReply {
  seq: number;
  ttl: number;
  /** Round-trip time in microseconds. */
  rttUs: number;
  bytes: number;
  dup: boolean;
}

export interface PingResult {
  transmitted: number;
  received: number;
  duplicates: number;
  errors: number;
  /** Percentage of requests with no reply. */
  loss: number;
  replies: PingReply[];
  /** rtt min/avg/max/mdev in milliseconds (null when nothing came back). */
  rtt: { min: number; avg: number; max: number; mdev: number } | null;
  /** Milliseconds from the first request to the last one. */
  timeMs: number;
  /** iputils' exit status: 0 when a reply came, 1 otherwise. */
  status: number;
  /** Everything printed, lines joined with "\n" and ending in one. */
  output: string;
  /** Which socket was used. */
  socket: 'dgram' | 'raw';
}

/** pr_icmph(): the text for an ICMP error. */
export function icmpErrorText(type: number, code: number, info: number): string {
  switch (type) {
    case ICMP_DEST_UNREACH:
      return (
        [
          'Destination Net Unreachable',
          'Destination Host Unreachable',
          'Destination Protocol Unreachable',
          'Destination Port Unreachable',
          `Frag needed and DF set (mtu = ${info})`,
          'Source Route Failed',
          'Destination Net Unknown',
          'Destination Host Unknown',
          'Source Host Isolated',
          'Destination Net Prohibited',
          'Destination Host Prohibited',
          'Destination Net Unreachable for Type of Service',
          'Destination Host Unreachable for Type of Service',
          'Packet filtered',
          'Precedence Violation',
          'Precedence Cutoff',
        ][code] ?? `Dest Unreachable, Bad Code: ${code}`
      );
    case ICMP_SOURCE_QUENCH:
      return 'Source Quench';
    case ICMP_REDIRECT:
      return 'Redirect';
    case ICMP_TIME_EXCEEDED:
      return code === 0
        ? 'Time to live exceeded'
        : code === 1
          ? 'Frag reassembly time exceeded'
          : `Time exceeded, Bad Code: ${code}`;
    case ICMP_PARAMETERPROB:
      return `Parameter problem: pointer = ${info}`;
    default:
      return `Bad ICMP type: ${type}`;
  }
}

/** The time field of a reply line, as iputils rounds it (triptime in µs). */
export function formatTime(us: number): string {
  const t = Math.round(us);
  if (t >= 100000 - 50) return `${Math.floor((t + 500) / 1000)}`;
  if (t >= 10000 - 5) return `${Math.floor((t + 50) / 1000)}.${Math.floor(((t + 50) % 1000) / 100)}`;
  if (t >= 1000)
    return `${Math.floor((t + 5) / 1000)}.${String(Math.floor(((t + 5) % 1000) / 10)).padStart(2, '0')}`;
  return `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}`;
}

/** "%ld.%03ld" of a µs value. */
function ms3(us: bigint): string {
  return `${us / 1000n}.${String(us % 1000n).padStart(3, '0')}`;
}

/** llsqrt(): the integer square root. */
function llsqrt(a: bigint): bigint {
  if (a <= 0n) return 0n;
  let x = BigInt(Math.floor(Math.sqrt(Number(a))));
  while (x * x > a) x--;
  while ((x + 1n) * (x + 1n) <= a) x++;
  return x;
}

/** printf("%g") of the loss percentage, computed in float as iputils does. */
function lossText(tx: number, rx: number): string {
  const v = Math.fround(((tx - rx) * 100.0) / tx);
  return String(Number(v.toPrecision(6)));
}

function inetAton(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return null;
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}

function inetNtoa(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** The Internet checksum of an ICMP message (the raw-socket path computes its own). */
function icmpChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.length & 1) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Run ping from `task` to `dest` (a dotted IPv4 address). Resolves when iputils would exit;
 * a failing system call (no route, network unreachable…) rejects with its SyscallError, as
 * ping prints "connect: Network is unreachable" and exits 2.
 */
export async function ping(task: Task, dest: string, opts: PingOptions = {}): Promise<PingResult> {
  const daddr = inetAton(dest);
  if (daddr === null) throw new Error(`ping: ${dest}: Name or service not known`);
  const count = opts.count ?? 4;
  const intervalMs = (opts.interval ?? 1) * 1000;
  const datalen = opts.size ?? 56;
  const lingerMs = (opts.timeout ?? 10) * 1000;
  const clock = task.kernelTask.kernel.clock;
  const nowUs = (): number => clock.now() / 1000;

  const lines: string[] = [];
  const print = (l: string): void => {
    lines.push(l);
    opts.onLine?.(l);
  };

  // ping4_run(): a ping socket first, a raw socket when the group range refuses it.
  let fd: number;
  let kind: 'dgram' | 'raw' = 'dgram';
  try {
    fd = task.socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  } catch (e) {
    if (!(e instanceof SyscallError) || (e.errno !== EACCES && e.errno !== EPERM)) throw e;
    fd = task.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    kind = 'raw';
  }
  const ident = kind === 'raw' ? task.kernelTask.pid & 0xffff : 0;
  const to = { family: AF_INET, port: 0, addr: dest };
  try {
    task.setsockopt(fd, SOL_IP, IP_RECVERR, 1);
    if (kind === 'dgram') task.setsockopt(fd, SOL_IP, IP_RECVTTL, 1);
    if (opts.ttl !== undefined) task.setsockopt(fd, SOL_IP, IP_TTL, opts.ttl);

    print(`PING ${dest} (${dest}) ${datalen}(${datalen + 8 + 20}) bytes of data.`);

    const sentAt = new Map<number, number>();
    const seen = new Set<number>();
    const replies: PingReply[] = [];
    let transmitted = 0;
    let received = 0;
    let duplicates = 0;
    let errors = 0;
    let tsum = 0n;
    let tsum2 = 0n;
    let tmin = Number.POSITIVE_INFINITY;
    let tmax = 0;
    const start = nowUs();
    let lastSend = start;
    const buf = new Uint8Array(Math.max(datalen + 8 + 60 + 576, 2048));

    const send = async (): Promise<void> => {
      const seq = (transmitted + 1) & 0xffff;
      const pkt = new Uint8Array(8 + datalen);
      pkt[0] = ICMP_ECHO;
      pkt[4] = ident >> 8;
      pkt[5] = ident & 0xff;
      pkt[6] = seq >> 8;
      pkt[7] = seq & 0xff;
      for (let i = 0; i < datalen; i++) pkt[8 + i] = i & 0xff;
      const t = nowUs();
      if (datalen >= 16) {
        // struct timeval of the send time, as iputils stamps it.
        const dv = new DataView(pkt.buffer);
        dv.setBigInt64(8, BigInt(Math.floor(t / 1e6)), true);
        dv.setBigInt64(16, BigInt(Math.floor(t % 1e6)), true);
      }
      if (kind === 'raw') {
        const c = icmpChecksum(pkt);
        pkt[2] = c >> 8;
        pkt[3] = c & 0xff;
      }
      transmitted++;
      sentAt.set(seq, t);
      lastSend = t;
      await task.sendto(fd, pkt, 0, to);
    };

    /** One message from the socket (reply or error); false when nothing is queued. */
    const receiveOne = async (): Promise<boolean> => {
      let r: RecvResult;
      try {
        r = await task.recvmsg(fd, { iov: [buf], controllen: 512 }, MSG_DONTWAIT);
      } catch (e) {
        if (!(e instanceof SyscallError)) throw e;
        if (e.errno === EAGAIN) return errorQueue();
        // A pending error (ECONNREFUSED, EHOSTUNREACH…) is reported through the error queue.
        return errorQueue();
      }
      const now = nowUs();
      let off = 0;
      let ttl = -1;
      if (kind === 'raw') {
        // The IP header is there: its TTL, and the ICMP message after it.
        const ihl = (buf[0] & 0x0f) * 4;
        ttl = buf[8];
        off = ihl;
      } else {
        for (const c of r.control) {
          if (c.level === SOL_IP && c.type === IP_TTL && c.data && c.data.length >= 4)
            ttl = new DataView(c.data.buffer, c.data.byteOffset, 4).getInt32(0, true);
        }
      }
      const cc = r.n - off;
      if (cc < 8) return true;
      const type = buf[off];
      const id = (buf[off + 4] << 8) | buf[off + 5];
      const seq = (buf[off + 6] << 8) | buf[off + 7];
      if (type === ICMP_ECHOREPLY) {
        if (kind === 'raw' && id !== ident) return true;
        const t0 = sentAt.get(seq);
        if (t0 === undefined) return true;
        const triptime = Math.max(0, Math.round(now - t0));
        const dup = seen.has(seq);
        if (dup) duplicates++;
        else {
          received++;
          seen.add(seq);
        }
        tsum += BigInt(triptime);
        tsum2 += BigInt(triptime) * BigInt(triptime);
        if (triptime < tmin) tmin = triptime;
        if (triptime > tmax) tmax = triptime;
        replies.push({ seq, ttl, rttUs: triptime, bytes: cc, dup });
        if (!opts.quiet) {
          let l = `${cc} bytes from ${r.addr && 'addr' in r.addr ? r.addr.addr : dest}: icmp_seq=${seq}`;
          if (ttl >= 0) l += ` ttl=${ttl}`;
          if (cc < datalen + 8) l += ' (truncated)';
          l += ` time=${formatTime(triptime)} ms`;
          if (dup) l += ' (DUP!)';
          print(l);
        }
        return true;
      }
      if (kind === 'raw' && type !== ICMP_ECHO && cc >= 8 + 20 + 8) {
        // ping4_parse_reply(): an ICMP error quoting one of our requests (IP header + 8 bytes).
        // A real error is only acknowledged here: IP_RECVERR queues it on the error queue too,
        // and iputils prints it from there (once). Redirects and source quenches are printed.
        const q = off + 8;
        const qihl = (buf[q] & 0x0f) * 4;
        const qi = q + qihl;
        if (buf[q + 9] !== IPPROTO_ICMP || qi + 8 > r.n) return true;
        const qid = (buf[qi + 4] << 8) | buf[qi + 5];
        const qdaddr = ((buf[q + 16] << 24) | (buf[q + 17] << 16) | (buf[q + 18] << 8) | buf[q + 19]) >>> 0;
        if (buf[qi] !== ICMP_ECHO || qid !== ident || qdaddr !== daddr) return true;
        if (type !== ICMP_REDIRECT && type !== ICMP_SOURCE_QUENCH) return true;
        const qseq = (buf[qi + 6] << 8) | buf[qi + 7];
        const from = inetNtoa(((buf[12] << 24) | (buf[13] << 16) | (buf[14] << 8) | buf[15]) >>> 0);
        const gw = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
        if (!opts.quiet) print(`From ${from}: icmp_seq=${qseq} ${icmpErrorText(type, buf[off + 1], gw)}`);
      }
      return true;
    };

    /** ping4_receive_error_msg(): an ICMP error (or a local one) from the error queue. */
    const errorQueue = async (): Promise<boolean> => {
      let r: RecvResult;
      try {
        r = await task.recvmsg(fd, { iov: [buf], controllen: 512 }, MSG_ERRQUEUE | MSG_DONTWAIT);
      } catch (e) {
        if (e instanceof SyscallError && e.errno === EAGAIN) return false;
        throw e;
      }
      for (const c of r.control) {
        if (c.level !== SOL_IP || c.type !== IP_RECVERR || !c.data || c.data.length < 16) continue;
        const dv = new DataView(c.data.buffer, c.data.byteOffset, c.data.length);
        const origin = c.data[4];
        const type = c.data[5];
        const code = c.data[6];
        const info = dv.getUint32(8, true);
        // The offender (SO_EE_OFFENDER) follows the 16-byte sock_extended_err.
        let from = dest;
        if (c.data.length >= 16 + 8 && dv.getUint16(16, true) === AF_INET)
          from = inetNtoa(dv.getUint32(20, false));
        // The payload is the ICMP header of our request, for ping and raw sockets alike
        // (raw_err() hands ip_icmp_error() the transport header unless IP_HDRINCL).
        const seq = r.n >= 8 ? (buf[6] << 8) | buf[7] : 0;
        if (origin === SO_EE_ORIGIN_ICMP) {
          // Not our error (another id on a raw socket, not an echo request): cleared, not counted.
          if (r.n < 8 || buf[0] !== ICMP_ECHO || (kind === 'raw' && ((buf[4] << 8) | buf[5]) !== ident))
            continue;
          errors++;
          if (!opts.quiet) print(`From ${from} icmp_seq=${seq} ${icmpErrorText(type, code, info)}`);
        } else if (origin === SO_EE_ORIGIN_LOCAL) {
          errors++;
          if (!opts.quiet) print(`From ${from} icmp_seq=${seq} Local error: Message too long, mtu=${info}`);
        }
      }
      return true;
    };

    /** Receive until `untilUs` on the world clock, or until every request is answered. */
    const waitUntil = async (untilUs: number, stopWhenDone: boolean): Promise<void> => {
      for (;;) {
        while (await receiveOne());
        if (stopWhenDone && received + errors >= count) return;
        const left = untilUs - nowUs();
        if (left <= 0) return;
        const pfd = [{ fd, events: POLLIN | POLLERR, revents: 0 }];
        await task.poll(pfd, left / 1000);
      }
    };

    for (let i = 0; i < count; i++) {
      await send();
      if (i < count - 1) await waitUntil(start + (i + 1) * intervalMs * 1000, false);
    }
    // After the last request: twice the longest round trip seen, or -W with no reply yet.
    const linger = received ? Math.max(2 * tmax, 1000) : lingerMs * 1000;
    await waitUntil(lastSend + linger, true);

    // finish()
    const timeMs = Math.floor((lastSend - start + 500) / 1000);
    print('');
    print(`--- ${dest} ping statistics ---`);
    let s = `${transmitted} packets transmitted, ${received} received`;
    if (duplicates) s += `, +${duplicates} duplicates`;
    if (errors) s += `, +${errors} errors`;
    const loss = transmitted ? ((transmitted - received) * 100) / transmitted : 0;
    if (transmitted) s += `, ${lossText(transmitted, received)}% packet loss, time ${timeMs}ms`;
    print(s);
    let rtt: PingResult['rtt'] = null;
    if (received) {
      const total = BigInt(received + duplicates);
      const tmavg = tsum / total;
      const tmvar =
        tsum < 0x7fffffffn ? (tsum2 - (tsum * tsum) / total) / total : tsum2 / total - tmavg * tmavg;
      const tmdev = llsqrt(tmvar);
      print(
        `rtt min/avg/max/mdev = ${ms3(BigInt(tmin))}/${ms3(tmavg)}/${ms3(BigInt(tmax))}/${ms3(tmdev)} ms`,
      );
      rtt = { min: tmin / 1000, avg: Number(tmavg) / 1000, max: tmax / 1000, mdev: Number(tmdev) / 1000 };
    } else {
      // The rtt line is left empty: iputils still ends it.
      print('');
    }
    return {
      transmitted,
      received,
      duplicates,
      errors,
      loss,
      replies,
      rtt,
      timeMs,
      status: received ? 0 : 1,
      output: lines.join('\n') + '\n',
      socket: kind,
    };
  } finally {
    task.close(fd);
  }
}
