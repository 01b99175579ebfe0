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
import { tapbr_detach, tapbr_newlink, tapbr_rx } from '../drivers/net/tapbr.js';
import { dev_open, dev_set_mtu, netif_carrier_set, unregister_netdevice } from '../net/core/dev.js';
import type { NetDevice } from '../net/core/netdevice.js';
import { do_softirq } from '../kernel/softirq.js';
import { SyscallError } from './errors.js';

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

export class TapBridge {
  /** Frames passed each way, and frames from Linux that were dropped as malformed. */
  readonly stats = { toLinux: 0, fromLinux: 0, dropped: 0 };
  private closed = false;

  private constructor(
    /** The usernet device. */
    readonly dev: NetDevice,
    /** The TAP device's name in `netns`. */
    readonly linuxName: string,
    readonly netns: string,
    private readonly sock: dgram.Socket,
    private readonly socat: ChildProcess,
  ) {}

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
      // Wait for socat to make the TAP, then move and configure it.
      const deadline = Date.now() + 5000;
      for (;;) {
        const ok = await Promise.race([
          run('ip', ['link', 'show', 'dev', tmpName]).then(
            () => true,
            () => false,
          ),
          exited,
        ]);
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`tap bridge: socat made no ${tmpName}: ${stderr.trim()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await run('ip', ['link', 'set', 'dev', tmpName, 'netns', opts.netns]);
      await run('ip', ['-n', opts.netns, 'link', 'set', 'dev', tmpName, 'name', linuxName]);
      await run('ip', ['-n', opts.netns, 'link', 'set', 'dev', linuxName, 'mtu', String(mtu), 'up']);
      if (opts.linuxAddress)
        await run('ip', ['-n', opts.netns, 'addr', 'add', opts.linuxAddress, 'dev', linuxName]);
    } catch (err) {
      socat.kill();
      sock.close();
      throw err;
    }
    const peer = { port: socatPort, address: '127.0.0.1' };
    let bridge: TapBridge | null = null;
    const made = tapbr_newlink(host.netns, opts.name ?? 'eth%d', {
      // The skb's buffer is reused once the frame is sent: the datagram gets a copy.
      xmit: (frame) => {
        sock.send(Buffer.from(frame), peer.port, peer.address);
        if (bridge) bridge.stats.toLinux++;
      },
    });
    if (typeof made === 'number') {
      socat.kill();
      sock.close();
      throw new SyscallError(-made, 'tapbr_newlink');
    }
    const dev = made;
    if (mtu !== 1500) dev_set_mtu(dev, mtu);
    dev_open(dev);
    bridge = new TapBridge(dev, linuxName, opts.netns, sock, socat);
    const b = bridge;
    const softirq = host.clock.softirq;
    sock.on('message', (msg, from) => {
      if (from.port !== peer.port || from.address !== peer.address) return;
      if (tapbr_rx(dev, msg) < 0) b.stats.dropped++;
      else b.stats.fromLinux++;
      // The frame is processed now, as a driver's NAPI poll would (the receive softirq).
      do_softirq(softirq);
    });
    socat.once('exit', () => b.detach());
    return bridge;
  }

  private detach(): void {
    if (this.closed) return;
    this.closed = true;
    tapbr_detach(this.dev);
    netif_carrier_set(this.dev, false);
    this.sock.close();
  }

  /** Stop socat (the TAP goes with it), detach the usernet device and remove it from its host. */
  async close(): Promise<void> {
    const gone = new Promise<void>((resolve) => {
      if (this.socat.exitCode !== null || this.socat.signalCode !== null) resolve();
      else this.socat.once('exit', () => resolve());
    });
    this.socat.kill();
    await gone;
    this.detach();
    unregister_netdevice(this.dev);
  }
}
