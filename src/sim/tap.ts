// A bridge from a usernet host to a Linux TAP device: the host gets an Ethernet device whose
// frames are exchanged with the TAP through socat (`TUN:…,tun-type=tap` on one side, a UDP
// socket on 127.0.0.1 on the other, one datagram per frame). The TAP is created in the root
// namespace, then moved into the Linux network namespace given, so nothing of the traffic
// touches the machine's own interfaces. Needs root (CAP_NET_ADMIN), /dev/net/tun and socat.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as dgram from 'node:dgram';
import type { Host } from './host.js';
import type { World } from './world.js';
import { RealClock } from './real_clock.js';
import { FrameBridge } from './frame_bridge.js';

export interface TapOptions {
  /** The Linux network namespace (`ip netns` name) the TAP device is moved into. */
  netns: string;
  /** The TAP device's name in that namespace (default 'tap0'). */
  linuxName?: string;
  /** An address with prefix for the Linux side ('10.0.0.1/24'); none by default. */
  linuxAddress?: string;
  /** The usernet device's name (default the host's first free eth%d). */
  name?: string;
  /** MTU of both ends (default 1500). */
  mtu?: number;
  /** The socat to run (default 'socat' on the PATH). */
  socat?: string;
}

/** Why a TAP bridge cannot be made here: 'EPERM' (not root), 'ENOENT' (no /dev/net/tun or socat). */
export class TapUnavailableError extends Error {
  constructor(
    readonly code: 'EPERM' | 'ENOENT',
    message: string,
  ) {
    super(message);
  }
}

/** Whether this machine can make TAP bridges; the reason when it cannot. */
export function tapUnavailable(socat = 'socat'): TapUnavailableError | null {
  if (process.getuid?.() !== 0) {
    return new TapUnavailableError('EPERM', 'tap bridge: needs root (CAP_NET_ADMIN) to create a TAP device');
  }
  if (!existsSync('/dev/net/tun')) return new TapUnavailableError('ENOENT', 'tap bridge: no /dev/net/tun');
  const found = socat.includes('/')
    ? existsSync(socat)
    : (process.env.PATH ?? '').split(':').some((d) => d && existsSync(`${d}/${socat}`));
  if (!found)
    return new TapUnavailableError('ENOENT', `tap bridge: ${socat} not found (apt-get install socat)`);
  return null;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, (err, _out, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(),
    ),
  );
}

let serial = 0;

/**
 * A usernet host joined to a Linux TAP device. Emits 'down' (with an Error) when socat or its
 * socket goes away; the device is then down and its carrier off.
 */
export class TapBridge extends FrameBridge {
  private closing = false;

  private constructor(
    host: Host,
    opts: TapOptions,
    /** The TAP device's name in `netns`. */
    readonly linuxName: string,
    readonly netns: string,
    private readonly sock: dgram.Socket,
    private readonly socat: ChildProcess,
    peerPort: number,
  ) {
    // The skb's buffer is reused once the frame is sent: the datagram gets a copy.
    super(host, opts, (frame) => {
      if (!this.downReason) sock.send(Buffer.from(frame), peerPort, '127.0.0.1');
    });
    sock.on('message', (msg, from) => {
      if (from.port !== peerPort || from.address !== '127.0.0.1') return;
      this.receive(msg);
    });
    sock.on('error', (err) => this.gone(err));
    socat.once('exit', (code, signal) =>
      this.gone(new Error(`tap bridge: socat exited (${signal ?? code})`)),
    );
  }

  /** Frames passed each way, and frames from Linux that were dropped as malformed. */
  get stats(): { toLinux: number; fromLinux: number; dropped: number } {
    return { toLinux: this.counts.out, fromLinux: this.counts.in, dropped: this.counts.dropped };
  }

  /** The socat relay (to stop it from outside, as a failure would). */
  get relayPid(): number | undefined {
    return this.socat.pid;
  }

  /** Make the bridge: start socat, move its TAP into the namespace, create the usernet device (up). */
  static async create(world: World, host: Host, opts: TapOptions): Promise<TapBridge> {
    if (!(world.clock instanceof RealClock)) {
      throw new Error("tap bridge: the world must follow wall time: new World({ clock: 'real' })");
    }
    const why = tapUnavailable(opts.socat);
    if (why) throw why;
    const linuxName = opts.linuxName ?? 'tap0';
    const mtu = opts.mtu ?? 1500;
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    const nodePort = sock.address().port;
    // socat's own port: one the system just gave out, so almost surely still free.
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const socatPort = probe.address().port;
    await new Promise<void>((resolve) => probe.close(resolve));
    const tmpName = `untap${process.pid % 100000}${serial++ % 100}`;
    const socat = spawn(
      opts.socat ?? 'socat',
      [
        // -d -d: notices on stderr, among them the one that says the TAP is ready.
        '-d',
        '-d',
        '-b',
        String(mtu + 64),
        `UDP-DATAGRAM:127.0.0.1:${nodePort},bind=127.0.0.1:${socatPort},rcvbuf=4194304,sndbuf=4194304`,
        `TUN,tun-type=tap,tun-name=${tmpName},iff-no-pi`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    socat.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<never>((_, reject) =>
      socat.once('exit', (code) => reject(new Error(`tap bridge: socat exited (${code}): ${stderr.trim()}`))),
    );
    exited.catch(() => {});
    try {
      // Wait for socat to have made and set up the TAP (its notice that the transfer loop starts),
      // then move and configure it. Moving it sooner races socat's own setup of the device by
      // name: socat fails, exits, and the TAP goes with it.
      const deadline = Date.now() + 5000;
      while (!stderr.includes('starting data transfer loop')) {
        if (Date.now() > deadline) throw new Error(`tap bridge: socat made no ${tmpName}: ${stderr.trim()}`);
        await Promise.race([new Promise((r) => setTimeout(r, 10)), exited]);
      }
      await run('ip', ['link', 'show', 'dev', tmpName]);
      await run('ip', ['link', 'set', 'dev', tmpName, 'netns', opts.netns]);
      await run('ip', ['-n', opts.netns, 'link', 'set', 'dev', tmpName, 'name', linuxName]);
      await run('ip', ['-n', opts.netns, 'link', 'set', 'dev', linuxName, 'mtu', String(mtu), 'up']);
      if (opts.linuxAddress)
        await run('ip', ['-n', opts.netns, 'addr', 'add', opts.linuxAddress, 'dev', linuxName]);
      return new TapBridge(host, opts, linuxName, opts.netns, sock, socat, socatPort);
    } catch (err) {
      socat.kill();
      sock.close();
      throw err;
    }
  }

  private gone(reason: Error): void {
    if (this.closing) return;
    this.lost(reason);
    try {
      this.sock.close();
    } catch {
      // already closed
    }
  }

  /** Stop socat (the TAP goes with it), detach the usernet device and remove it from its host. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const gone = new Promise<void>((resolve) => {
      if (this.socat.exitCode !== null || this.socat.signalCode !== null) resolve();
      else this.socat.once('exit', () => resolve());
    });
    this.socat.kill();
    await gone;
    try {
      this.sock.close();
    } catch {
      // already closed
    }
    this.remove();
  }
}
