// A bridge from a usernet host to passt (https://passt.top), the user-mode network daemon:
// passt speaks qemu's stream protocol on a UNIX socket (each Ethernet frame preceded by its
// length, 4 bytes big-endian) and turns the guest's traffic into ordinary sockets of the
// machine, without root. The host gets an Ethernet device (drivers/net/tapbr) whose frames go
// over that socket; passt answers DHCP, ARP, and maps its gateway address to the machine's
// loopback. `world.passt()` starts passt and connects; `PasstBridge.attach()` connects to a
// socket something else serves (qemu's `-netdev stream`).

import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';
import type { Host } from './host.js';
import type { World } from './world.js';
import { RealClock } from './real_clock.js';
import { FrameBridge } from './frame_bridge.js';

export interface PasstAttachOptions {
  /** The usernet device's name (default the host's first free eth%d). */
  name?: string;
  /** MTU of the usernet device before DHCP sets passt's (default 1500). */
  mtu?: number;
}

export interface PasstOptions extends PasstAttachOptions {
  /** Machine TCP ports forwarded to the guest (passt -t), e.g. [8080] or ['8080:80']. */
  tcpPorts?: (number | string)[];
  /** Machine UDP ports forwarded to the guest (passt -u). */
  udpPorts?: (number | string)[];
  /** More passt arguments. */
  args?: string[];
  /** The passt to run (default 'passt' on the PATH). */
  passt?: string;
}

/** The largest frame the stream may carry: a 64 KiB IP packet in an Ethernet frame. */
const MAX_FRAME = 65535 + 14;
/** The uid and gid passt runs as when started by root (Debian's nobody, nogroup). */
const NOBODY = 65534;
/** Frames queued to a slow peer beyond this many bytes are dropped (a full tx queue). */
const TX_QUEUE_LIMIT = 8 << 20;

/** Whether passt can be run here; the reason when it cannot. */
export function passtUnavailable(passt = 'passt'): string | null {
  const found = passt.includes('/')
    ? existsSync(passt)
    : (process.env.PATH ?? '').split(':').some((d) => d && existsSync(`${d}/${passt}`));
  return found ? null : `passt: ${passt} not found (apt-get install passt)`;
}

/**
 * A usernet host joined to passt. Emits 'down' (with an Error) when the socket closes or
 * passt exits; the device is then down and its carrier off.
 */
export class PasstBridge extends FrameBridge {
  private closing = false;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private proc: ChildProcess | null = null;
  private dir: string | null = null;
  /** passt's messages (stderr), for diagnosis. */
  log = '';

  private constructor(
    host: Host,
    opts: PasstAttachOptions,
    private readonly sock: net.Socket,
    /** The UNIX socket path. */
    readonly path: string,
  ) {
    super(host, opts, (frame) => {
      if (this.downReason || this.closing) return;
      if (sock.writableLength > TX_QUEUE_LIMIT) {
        this.dev.stats.tx_dropped++;
        return;
      }
      const b = Buffer.allocUnsafe(4 + frame.length);
      b.writeUInt32BE(frame.length, 0);
      b.set(frame, 4);
      sock.write(b);
    });
    sock.on('data', (c: Buffer) => this.input(c));
    sock.on('error', (err) => this.gone(err));
    sock.on('close', () => this.gone(new Error('passt: the stream socket closed')));
  }

  /** Connect `host` to a qemu-stream socket at `path` (passt's, or any peer's). */
  static async attach(
    world: World,
    host: Host,
    path: string,
    opts: PasstAttachOptions = {},
  ): Promise<PasstBridge> {
    if (!(world.clock instanceof RealClock)) {
      throw new Error("passt bridge: the world must follow wall time: new World({ clock: 'real' })");
    }
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ path }, () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    return new PasstBridge(host, opts, sock, path);
  }

  /** Start passt (foreground, its socket in a new temporary directory) and attach to it. */
  static async create(world: World, host: Host, opts: PasstOptions = {}): Promise<PasstBridge> {
    const why = passtUnavailable(opts.passt);
    if (why) throw new Error(why);
    const dir = mkdtempSync(join(tmpdir(), 'usernet-passt-'));
    const path = join(dir, 'passt.sock');
    // passt refuses to keep root: started as root it becomes nobody before it binds its socket,
    // so the directory must be nobody's (and passt is told so, whatever its default).
    const args = ['-f', '-e', '-1', '-s', path];
    if (process.getuid?.() === 0) {
      chownSync(dir, NOBODY, NOBODY);
      args.push('--runas', `${NOBODY}:${NOBODY}`);
    }
    for (const p of opts.tcpPorts ?? []) args.push('-t', String(p));
    for (const p of opts.udpPorts ?? []) args.push('-u', String(p));
    args.push(...(opts.args ?? []));
    const proc = spawn(opts.passt ?? 'passt', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    let exited = false;
    proc.once('exit', () => (exited = true));
    const fail = (msg: string): never => {
      proc.kill();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`passt: ${msg}: ${log.trim()}`);
    };
    const deadline = Date.now() + 5000;
    while (!existsSync(path)) {
      if (exited) fail('exited before listening');
      if (Date.now() > deadline) fail(`no socket at ${path}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    let b: PasstBridge;
    try {
      b = await PasstBridge.attach(world, host, path, opts);
    } catch (err) {
      return fail(String(err));
    }
    b.proc = proc;
    b.dir = dir;
    b.log = log;
    proc.stderr!.on('data', (c: Buffer) => (b.log += c.toString()));
    proc.once('exit', (code, signal) => b.gone(new Error(`passt: exited (${signal ?? code})`)));
    return b;
  }

  /** passt's process id (to stop it from outside, as a failure would). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Split the stream into frames: 4-byte length, then the frame. */
  private input(c: Buffer): void {
    this.pending.push(c);
    this.pendingLen += c.length;
    while (this.pendingLen >= 4 && !this.downReason) {
      let head = this.pending[0]!;
      if (head.length < 4) head = this.flatten();
      const len = head.readUInt32BE(0);
      if (len > MAX_FRAME) {
        // The stream can no longer be followed (qemu's net_fill_rstate fails the same way).
        this.dev.stats.rx_length_errors++;
        this.dev.stats.rx_errors++;
        this.counts.dropped++;
        this.gone(new Error(`passt: bad frame length ${len} in the stream`));
        this.sock.destroy();
        return;
      }
      if (this.pendingLen < 4 + len) return;
      if (head.length < 4 + len) head = this.flatten();
      const frame = head.subarray(4, 4 + len);
      if (head.length === 4 + len) this.pending.shift();
      else this.pending[0] = head.subarray(4 + len);
      this.pendingLen -= 4 + len;
      this.receive(frame);
    }
  }

  private flatten(): Buffer {
    const all = Buffer.concat(this.pending, this.pendingLen);
    this.pending = [all];
    return all;
  }

  private gone(reason: Error): void {
    if (this.closing) return;
    this.lost(reason);
  }

  /** Close the socket, stop passt (when started here), remove the usernet device. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.sock.destroy();
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill();
      await gone;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.remove();
  }
}
