// A Host: one kernel booted with its network namespace and the socket families.

import type { Clock } from '../kernel/time.js';
import type { Prandom } from '../kernel/random.js';
import { Kernel } from '../kernel/kernel.js';
import type { Tracing } from '../kernel/trace.js';
import { module_param_path } from '../kernel/module_param.js';
import { EACCES, ENOENT } from '../uapi/errno.js';
import { Cred } from '../kernel/cred.js';
import { TaskStruct } from '../kernel/task.js';
import { Net } from '../net/core/net_namespace.js';
import { sock_init } from '../net/sockfs.js';
import { inet_init } from '../net/ipv4/af_inet.js';
import { ipv4_init } from '../net/ipv4/ipv4_init.js';
import { netstat_seq_show, snmp_seq_show } from '../net/ipv4/snmp.js';
import { fib_route_seq_show } from '../net/ipv4/fib.js';
import { ip as iproute } from './iproute.js';
import { udp_init, udp4_seq_show, udp_ss_show } from '../net/ipv4/udp.js';
import { raw_proto_init } from '../net/ipv4/raw.js';
import { ping_proto_init } from '../net/ipv4/ping.js';
import { arp_cache_stat_show, arp_init, arp_neigh_show, arp_seq_show } from '../net/ipv4/arp.js';
import { icmp_init } from '../net/ipv4/icmp.js';
import { tcp_init } from '../net/ipv4/tcp.js';
import { tcp4_seq_show } from '../net/ipv4/tcp_proc.js';
import { loopback_net_init } from '../drivers/net/loopback.js';
import { dev_open } from '../net/core/dev.js';
import type { NetDevice } from '../net/core/netdevice.js';
import { proc_filesystems } from '../kernel/super.js';
import { af_unix_init, unix_seq_show } from '../net/unix/af_unix.js';
import { Task } from './task.js';
import { createNet, type NodeNet } from '../compat/node/net.js';
import { SyscallError } from './errors.js';
import { Capture, type CaptureOptions } from '../tools/capture.js';
import { dev_get_by_name } from '../net/core/dev.js';
import { ssHost } from '../tools/ss.js';
import { netstatS, type NetstatStatisticsOptions } from '../tools/netstat.js';
import { ping, type PingOptions, type PingResult } from '../tools/ping.js';
import { createDgram, type DgramModule } from '../compat/node/dgram.js';
import { dhcpConfigure, type DhcpLease, type DhcpOptions } from './dhcp.js';
import { pnp_seq_show } from '../net/ipv4/ipconfig.js';
import { HostsTable } from './hosts_table.js';
import { createDns, type NodeDns } from '../compat/node/dns.js';

export interface SpawnOptions {
  uid?: number;
  gid?: number;
  /** Supplementary groups. */
  groups?: number[];
  /** Effective capabilities as CAP_* numbers; default: all for uid 0, none otherwise. */
  caps?: number[];
  /** Process name. */
  comm?: string;
}

export class Host {
  readonly kernel: Kernel;
  /** The host's network namespace (the kernel's struct net): devices, routes, sockets. */
  readonly netns: Net;
  /** The loopback device. */
  readonly lo: NetDevice;
  /** Every task spawned on this host, in pid order (exited ones keep `exited` set). */
  readonly tasks: TaskStruct[] = [];
  /** The names this host resolves: its world's table, or one knowing only this host. */
  readonly hostsTable: HostsTable;

  constructor(
    readonly name: string,
    readonly clock: Clock,
    random: Prandom,
    hostsTable?: HostsTable,
  ) {
    this.hostsTable = hostsTable ?? new HostsTable(new Map([[name, this]]));
    this.kernel = new Kernel(name, clock, random);
    this.netns = new Net(this.kernel);
    this.kernel.init_net = this.netns;
    sock_init(this.kernel);
    af_unix_init(this.netns);
    inet_init(this.netns);
    // IPv4 core: sysctls, FIB, addresses on devices (lo gets 127.0.0.1/8 when it comes up), ip_rcv.
    ipv4_init(this.netns);
    // ARP (neighbour resolution on Ethernet devices) and ICMP.
    arp_init(this.netns);
    icmp_init(this.netns);
    // The datagram transports of PF_INET: UDP, raw and ping sockets.
    udp_init(this.netns);
    raw_proto_init(this.netns);
    ping_proto_init(this.netns);
    // TCP: the stream transport.
    tcp_init(this.netns);
    // Like a booted system, not a bare namespace: `lo` is up.
    this.lo = loopback_net_init(this.netns);
    dev_open(this.lo);
  }

  private nodeNetModule?: NodeNet;
  private nodeDgramModule?: DgramModule;
  private nodeDnsModule?: NodeDns;

  /**
   * This host's `node:net` (`createServer`, `connect`, `Socket`, …), made on first use; its
   * sockets are fds of one task. The kernel's network namespace is `netns`.
   */
  get net(): NodeNet {
    return (this.nodeNetModule ??= createNet(this));
  }

  /** This host's `node:dgram`: UDP sockets with Node's API (made on first use). */
  get dgram(): DgramModule {
    return (this.nodeDgramModule ??= createDgram(this));
  }

  /** node:dns's `lookup` and `promises.lookup` over the world's hosts table. */
  get dns(): NodeDns {
    return (this.nodeDnsModule ??= createDns(this.hostsTable));
  }

  /**
   * The kernel's tracepoints and trace buffer, as /sys/kernel/tracing: `enable('tcp:tcp_probe')`
   * records each hit as a line that `read()` returns; `on('tcp:tcp_probe', fn)` hands each
   * record (a `TcpProbeRecord`) to `fn` and returns the function that stops it.
   */
  get tracing(): Tracing {
    return this.kernel.tracing;
  }

  /** Start a process. */
  spawn(opts: SpawnOptions = {}): Task {
    const uid = opts.uid ?? 0;
    const gid = opts.gid ?? uid;
    let caps: bigint | undefined;
    if (opts.caps) caps = opts.caps.reduce((m, c) => m | (1n << BigInt(c)), 0n);
    const cred = new Cred(uid, gid, uid, gid, caps, opts.groups ?? []);
    const ts = new TaskStruct(this.kernel, cred, this.netns, opts.comm ?? 'task');
    // The process list ss -p and friends read (/proc/<pid>).
    this.tasks.push(ts);
    return new Task(ts, this.clock);
  }

  /** sysctl read/write by dotted name; write throws a SyscallError on a bad name or value. */
  readonly sysctl = {
    read: (name: string): number => {
      const v = this.kernel.sysctl.read(name);
      if (v < 0 && !this.kernel.sysctl.names().includes(name)) throw new SyscallError(-v, 'sysctl');
      return v;
    },
    write: (name: string, value: number): void => {
      const r = this.kernel.sysctl.write(name, value);
      if (r < 0) throw new SyscallError(-r, 'sysctl');
    },
    /** Any entry as text, as /proc/sys shows it (vectors like tcp_rmem tab-separated). */
    readText: (name: string): string => {
      const v = this.kernel.sysctl.readText(name);
      if (v === null) throw new SyscallError(2, 'sysctl');
      return v;
    },
    /** Write any entry from text ("4096 131072 6291456", "reno", "1"). */
    writeText: (name: string, value: string): void => {
      const r = this.kernel.sysctl.writeText(name, value);
      if (r < 0) throw new SyscallError(-r, 'sysctl');
    },
    names: (): string[] => this.kernel.sysctl.names(),
  };

  /**
   * /sys/module/<module>/parameters/<name>: the kernel's module parameters (tcp_cubic's hystart,
   * beta…), read and written as text the way sysfs takes them — writes are parsed like
   * param_set_int (decimal, 0x hex, 0 octal, one trailing newline) and throw a SyscallError
   * (EINVAL for garbage, ERANGE out of range, EACCES for a read-only parameter, ENOENT unknown).
   */
  readonly sysfs = {
    read: (path: string): string => {
      const p = module_param_path(path);
      const v = p ? this.kernel.module_params.read(p.module, p.name) : null;
      if (v === null) throw new SyscallError(ENOENT, 'open');
      return v;
    },
    write: (path: string, value: string | number): void => {
      const p = module_param_path(path);
      if (!p) throw new SyscallError(ENOENT, 'open');
      const r = this.kernel.module_params.write(p.module, p.name, String(value));
      if (r < 0) throw new SyscallError(-r, r === -ENOENT || r === -EACCES ? 'open' : 'write');
    },
    /** Every module parameter's path. */
    names: (): string[] =>
      this.kernel.module_params.names().map((n) => {
        const [mod, name] = n.split('/');
        return `/sys/module/${mod}/parameters/${name}`;
      }),
  };

  /** The text of /proc/filesystems. */
  procFilesystems(): string {
    return proc_filesystems(this.kernel);
  }

  /** The text of /proc/net/unix. */
  procNetUnix(): string {
    return unix_seq_show(this.netns);
  }

  /** The text of /proc/net/arp. */
  procNetArp(): string {
    return arp_seq_show(this.netns);
  }

  /** The text of /proc/net/stat/arp_cache (neighbour table statistics). */
  procNetStatArpCache(): string {
    return arp_cache_stat_show(this.netns);
  }

  /** `ip neigh` (`ip neigh show dev DEV` with a device name). */
  ipNeigh(dev?: string): string {
    const d = dev === undefined ? null : dev_get_by_name(this.netns, dev);
    if (dev !== undefined && !d) throw new Error(`Cannot find device "${dev}"`);
    return arp_neigh_show(this.netns, { dev: d });
  }

  /** The text of /proc/net/udp. */
  procNetUdp(): string {
    return udp4_seq_show(this.netns);
  }

  /**
   * The text of /proc/net/tcp: listeners, request socks (SYN_RECV), connections and TIME_WAIT
   * socks, as Linux prints them (times in clock_t, 1/100 s).
   */
  procNetTcp(): string {
    return tcp4_seq_show(this.netns);
  }

  /** An `ss -uanp`-like listing of this host's UDP sockets. */
  ssUdp(): string {
    return udp_ss_show(this.netns);
  }

  /**
   * Capture frames on one or more of this host's devices (by name or object), both directions,
   * stamped with the world clock; `stop()` it, then `write('x.pcap')` / `toPcapng()`.
   */
  capture(devs: string | NetDevice | (string | NetDevice)[], opts?: CaptureOptions): Capture {
    const c = new Capture(opts);
    for (const d of Array.isArray(devs) ? devs : [devs]) {
      const dev = typeof d === 'string' ? dev_get_by_name(this.netns, d) : d;
      if (!dev) throw new Error(`capture: ${this.name} has no device ${String(d)}`);
      c.attach(dev);
    }
    return c;
  }

  /**
   * Run an iproute2-like command: `ip addr add 10.0.0.1/24 dev eth0`, `ip link set eth0 up`,
   * `ip route add default via 10.0.0.254`; views (`ip addr`, `ip route`, `ip -s link`) return
   * their text. Failures throw an IprouteError (a SyscallError with Linux's errno).
   */
  ip(cmd: string): string {
    return iproute(this.netns, cmd);
  }

  /** The text of /proc/net/snmp. */
  procNetSnmp(): string {
    return snmp_seq_show(this.netns);
  }

  /** The text of /proc/net/netstat. */
  procNetNetstat(): string {
    return netstat_seq_show(this.netns);
  }

  /** The text of /proc/net/route. */
  procNetRoute(): string {
    return fib_route_seq_show(this.netns);
  }

  /**
   * `ss` over this host's sockets in iproute2's layout: ss('-uanp'), ss('-wanp'), ss('-tan'),
   * ss('-tanoi') (timers and the tcp_info summary), ss('-tlnp'), ss('-tanoe').
   */
  ss(flags = '-uanp'): string {
    return ssHost(this.netns, this.tasks, flags);
  }

  /** `netstat -s` (or -st, -su, -sw) from this host's /proc/net/snmp and /proc/net/netstat. */
  netstat(opts?: NetstatStatisticsOptions): string {
    return netstatS(this.netns, opts);
  }

  /** `ping` from a new task on this host (uid 0 unless `uid` is given); see tools/ping.ts. */
  ping(dest: string, opts: PingOptions & { uid?: number } = {}): Promise<PingResult> {
    return ping(this.spawn({ comm: 'ping', uid: opts.uid }), dest, opts);
  }

  /**
   * Configure a device by DHCP (the kernel's ipconfig client): address and prefix, default
   * route, MTU; the name servers are kept in /proc/net/pnp. Rejects with ETIMEDOUT when no
   * server answers.
   */
  dhcp(dev: string, opts?: DhcpOptions): Promise<DhcpLease> {
    return dhcpConfigure(this, dev, opts);
  }

  /** The text of /proc/net/pnp (what DHCP gave: name servers, domain, server). */
  procNetPnp(): string {
    return pnp_seq_show(this.netns);
  }
}
