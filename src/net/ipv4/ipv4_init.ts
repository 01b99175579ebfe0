// Booting IPv4 in a namespace (inet_init, ip_init, devinet_init, ip_fib_init in
// net/ipv4/af_inet.c and friends): struct netns_ipv4 with its sysctls at Linux's defaults, the
// FIB, addresses on devices, and ip_rcv as the ETH_P_IP packet handler.

import type { Net } from '../core/net_namespace.js';
import { dev_add_pack, netdev_state } from '../core/dev.js';
import * as E from '../../uapi/errno.js';
import { ETH_P_IP } from '../../uapi/if.js';
import { devinet_init, in_dev_get } from './devinet.js';
import { fib_net } from './fib.js';
import { ip_rcv } from './ip_input.js';
import { ipfrag_init } from './ip_fragment.js';
import { net_mib, snmp_set_conf_source } from './snmp.js';
import { inet_protos } from './protocol.js';
import type { TraceEvent } from '../../kernel/trace.js';
import type { TcpProbeRecord } from './tcp_trace.js';

/** struct netns_ipv4: the namespace's IPv4 settings (the net.ipv4.* sysctls). */
export class NetnsIpv4 {
  /** net.ipv4.conf.all.forwarding (what net.ipv4.ip_forward reads and writes). */
  devconf_all_forwarding = 0;
  /** net.ipv4.conf.default.forwarding: what a new device starts with. */
  devconf_dflt_forwarding = 0;
  sysctl_ip_default_ttl = 64;
  sysctl_ip_no_pmtu_disc = 0;
  sysctl_ip_fwd_use_pmtu = 0;
  sysctl_ip_nonlocal_bind = 0;
  /** net.ipv4.ip_unprivileged_port_start. */
  sysctl_ip_prot_sock = 1024;
  /** net.ipv4.ip_local_port_range, "32768 60999". */
  ip_local_ports: [number, number] = [32768, 60999];
  /** net.ipv4.ping_group_range, "1 0": no group may open ping sockets. */
  ping_group_range: [number, number] = [1, 0];
  /** net.ipv4.ipfrag_high_thresh / low_thresh (bytes), ipfrag_time (s). */
  ipfrag_high_thresh = 4 * 1024 * 1024;
  ipfrag_low_thresh = 3 * 1024 * 1024;
  ipfrag_time = 30;
  /** net.ipv4.route.mtu_expires (s) and min_pmtu. */
  ip_rt_mtu_expires = 600;
  ip_rt_min_pmtu = 512 + 20 + 20;
  /** The kernel's tcp:tcp_probe tracepoint (set by tcp_init), kept here for tcp_rcv_established's one-test guard. */
  trace_tcp_probe: TraceEvent<TcpProbeRecord> | null = null;
  /** ip_id_key: the secret of the IP ID hash (ip_select_ident). */
  ip_id_key = 0;

  // The net.ipv4.tcp_* sysctls, at the reference kernel's defaults.
  sysctl_tcp_ecn = 2;
  sysctl_tcp_ecn_fallback = 1;
  /** Accurate ECN's option (inert while tcp_ecn cannot ask for AccECN). */
  sysctl_tcp_ecn_option = 2;
  sysctl_tcp_syn_retries = 6;
  sysctl_tcp_synack_retries = 5;
  sysctl_tcp_syn_linear_timeouts = 4;
  sysctl_tcp_syncookies = 1;
  sysctl_max_syn_backlog = 2048;
  sysctl_tcp_fin_timeout = 60 * 250;
  sysctl_tcp_tw_reuse = 2;
  sysctl_tcp_tw_reuse_delay = 1000;
  sysctl_tcp_timestamps = 1;
  sysctl_tcp_window_scaling = 1;
  sysctl_tcp_sack = 1;
  sysctl_tcp_dsack = 1;
  sysctl_tcp_retries1 = 3;
  sysctl_tcp_retries2 = 15;
  sysctl_tcp_orphan_retries = 0;
  /** Seconds (the kernel keeps jiffies; /proc shows seconds). */
  sysctl_tcp_keepalive_time = 7200;
  sysctl_tcp_keepalive_intvl = 75;
  sysctl_tcp_keepalive_probes = 9;
  sysctl_tcp_rmem: [number, number, number] = [4096, 131072, 33554432];
  sysctl_tcp_wmem: [number, number, number] = [4096, 16384, 4194304];
  sysctl_tcp_mtu_probing = 0;
  sysctl_tcp_base_mss = 1024;
  sysctl_tcp_min_snd_mss = 48;
  sysctl_tcp_adv_win_scale = 1;
  sysctl_tcp_app_win = 31;
  sysctl_tcp_abort_on_overflow = 0;
  sysctl_tcp_stdurg = 0;
  sysctl_tcp_rfc1337 = 0;
  sysctl_tcp_challenge_ack_limit = 0x7fffffff;
  sysctl_tcp_invalid_ratelimit = 500;
  sysctl_tcp_autocorking = 1;
  sysctl_tcp_slow_start_after_idle = 1;
  sysctl_tcp_moderate_rcvbuf = 1;
  sysctl_tcp_notsent_lowat = 0xffffffff;
  sysctl_tcp_reordering = 3;
  sysctl_tcp_max_reordering = 300;
  sysctl_tcp_frto = 2;
  sysctl_tcp_recovery = 1;
  sysctl_tcp_early_retrans = 3;
  sysctl_tcp_retrans_collapse = 1;
  sysctl_tcp_no_metrics_save = 0;
  sysctl_tcp_fastopen = 1;
  sysctl_tcp_tso_win_divisor = 3;
  sysctl_tcp_min_tso_segs = 2;
  sysctl_tcp_limit_output_bytes = 4194304;
  sysctl_tcp_pacing_ss_ratio = 200;
  sysctl_tcp_pacing_ca_ratio = 120;
  sysctl_tcp_tso_rtt_log = 9;
  sysctl_tcp_pingpong_thresh = 1;
  sysctl_tcp_max_tw_buckets = 131072;
  sysctl_tcp_workaround_signed_windows = 0;
  sysctl_tcp_shrink_window = 0;
  sysctl_tcp_thin_linear_timeouts = 0;
  sysctl_tcp_fwmark_accept = 0;
  sysctl_tcp_reflect_tos = 0;
  sysctl_tcp_rto_min_us = 200000;
  sysctl_tcp_rto_max_ms = 120000;
  sysctl_tcp_comp_sack_nr = 44;
  sysctl_tcp_backlog_ack_defer = 1;
  /** net.ipv4.tcp_congestion_control. */
  tcp_congestion_control = 'cubic';
}

declare module '../core/net_namespace.js' {
  interface Net {
    /** net->ipv4, set by ipv4_init(). */
    ipv4?: NetnsIpv4;
  }
}

/** IPV4_DEVCONF_ALL(net, FORWARDING). */
export function ip_forward_enabled(net: Net): boolean {
  return (net.ipv4?.devconf_all_forwarding ?? 0) !== 0;
}

/** inet_forward_change(): ip_forward writes all, default and every device's forwarding. */
function inet_forward_change(net: Net, on: number): void {
  const ipv4 = net.ipv4!;
  ipv4.devconf_all_forwarding = on;
  ipv4.devconf_dflt_forwarding = on;
  for (const dev of netdev_state(net).dev_base) {
    const in_dev = in_dev_get(dev);
    if (in_dev) in_dev.cnf.forwarding = on;
  }
}

/** inet_get_local_port_range(). */
export function inet_get_local_port_range(net: Net): [number, number] {
  const r = net.ipv4?.ip_local_ports ?? [32768, 60999];
  return [r[0], r[1]];
}

/** ipv4_local_port_range(): write net.ipv4.ip_local_port_range ("low high"), validated as Linux. */
export function set_local_port_range(net: Net, low: number, high: number): number {
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < 1 || high > 65535 || low > high)
    return -E.EINVAL;
  // ipv4_local_port_range(): a range may not straddle ip_unprivileged_port_start.
  const prot_sock = net.ipv4!.sysctl_ip_prot_sock;
  if (low < prot_sock && high >= prot_sock) return -E.EINVAL;
  net.ipv4!.ip_local_ports = [low, high];
  return 0;
}

/** The ping_group_range sysctl read. */
export function inet_get_ping_group_range(net: Net): [number, number] {
  const r = net.ipv4?.ping_group_range ?? [1, 0];
  return [r[0], r[1]];
}

/**
 * ipv4_ping_group_range(): write "low high" (gids 0..2^31-1). A reversed range is stored as
 * "1 0", which admits nobody.
 */
export function set_ping_group_range(net: Net, low: number, high: number): number {
  const GID_T_MAX = 0x7fffffff;
  if (
    !Number.isInteger(low) ||
    !Number.isInteger(high) ||
    low < 0 ||
    high < 0 ||
    low > GID_T_MAX ||
    high > GID_T_MAX
  )
    return -E.EINVAL;
  net.ipv4!.ping_group_range = high < low ? [1, 0] : [low, high];
  return 0;
}

/** The congestion controls compiled in (tcp_register_congestion_control fills it). */
export const tcp_ca_names: string[] = [];

function register_sysctls(net: Net, ipv4: NetnsIpv4): void {
  const t = net.kernel.sysctl;
  t.register('net.ipv4.ip_forward', {
    get: () => ipv4.devconf_all_forwarding,
    set: (v) => inet_forward_change(net, v),
    min: 0,
    max: 1,
  });
  t.register('net.ipv4.conf.all.forwarding', {
    get: () => ipv4.devconf_all_forwarding,
    set: (v) => inet_forward_change(net, v),
    min: 0,
    max: 1,
  });
  t.register('net.ipv4.conf.default.forwarding', {
    get: () => ipv4.devconf_dflt_forwarding,
    set: (v) => (ipv4.devconf_dflt_forwarding = v),
    min: 0,
    max: 1,
  });
  const plain: [string, keyof NetnsIpv4, number, number][] = [
    ['net.ipv4.ip_default_ttl', 'sysctl_ip_default_ttl', 1, 255],
    ['net.ipv4.ip_no_pmtu_disc', 'sysctl_ip_no_pmtu_disc', 0, 3],
    ['net.ipv4.ip_forward_use_pmtu', 'sysctl_ip_fwd_use_pmtu', 0, 1],
    ['net.ipv4.ip_nonlocal_bind', 'sysctl_ip_nonlocal_bind', 0, 1],
    ['net.ipv4.ip_unprivileged_port_start', 'sysctl_ip_prot_sock', 0, 65535],
    ['net.ipv4.ipfrag_time', 'ipfrag_time', 0, 0x7fffffff],
    ['net.ipv4.route.mtu_expires', 'ip_rt_mtu_expires', 0, 0x7fffffff],
    ['net.ipv4.route.min_pmtu', 'ip_rt_min_pmtu', 68, 65535],
  ];
  for (const [name, field, min, max] of plain)
    t.register(name, {
      get: () => ipv4[field] as number,
      set: (v) => ((ipv4[field] as number) = v),
      min,
      max,
    });
  const tcp: [string, keyof NetnsIpv4, number, number][] = [
    ['net.ipv4.tcp_ecn', 'sysctl_tcp_ecn', 0, 2],
    ['net.ipv4.tcp_ecn_fallback', 'sysctl_tcp_ecn_fallback', 0, 1],
    ['net.ipv4.tcp_ecn_option', 'sysctl_tcp_ecn_option', 0, 2],
    ['net.ipv4.tcp_syn_retries', 'sysctl_tcp_syn_retries', 1, 127],
    ['net.ipv4.tcp_synack_retries', 'sysctl_tcp_synack_retries', 0, 0x7fffffff],
    ['net.ipv4.tcp_syn_linear_timeouts', 'sysctl_tcp_syn_linear_timeouts', 0, 0x7fffffff],
    ['net.ipv4.tcp_syncookies', 'sysctl_tcp_syncookies', 0, 2],
    ['net.ipv4.tcp_max_syn_backlog', 'sysctl_max_syn_backlog', 0, 0x7fffffff],
    ['net.ipv4.tcp_tw_reuse', 'sysctl_tcp_tw_reuse', 0, 2],
    ['net.ipv4.tcp_tw_reuse_delay', 'sysctl_tcp_tw_reuse_delay', 1, 0x7fffffff],
    ['net.ipv4.tcp_timestamps', 'sysctl_tcp_timestamps', 0, 2],
    ['net.ipv4.tcp_window_scaling', 'sysctl_tcp_window_scaling', 0, 1],
    ['net.ipv4.tcp_sack', 'sysctl_tcp_sack', 0, 1],
    ['net.ipv4.tcp_dsack', 'sysctl_tcp_dsack', 0, 1],
    ['net.ipv4.tcp_retries1', 'sysctl_tcp_retries1', 0, 255],
    ['net.ipv4.tcp_retries2', 'sysctl_tcp_retries2', 0, 0x7fffffff],
    ['net.ipv4.tcp_orphan_retries', 'sysctl_tcp_orphan_retries', 0, 0x7fffffff],
    ['net.ipv4.tcp_keepalive_time', 'sysctl_tcp_keepalive_time', 0, 0x7fffffff],
    ['net.ipv4.tcp_keepalive_intvl', 'sysctl_tcp_keepalive_intvl', 0, 0x7fffffff],
    ['net.ipv4.tcp_keepalive_probes', 'sysctl_tcp_keepalive_probes', 0, 0x7fffffff],
    ['net.ipv4.tcp_mtu_probing', 'sysctl_tcp_mtu_probing', 0, 2],
    ['net.ipv4.tcp_base_mss', 'sysctl_tcp_base_mss', 0, 0x7fffffff],
    ['net.ipv4.tcp_min_snd_mss', 'sysctl_tcp_min_snd_mss', 48, 65535],
    ['net.ipv4.tcp_adv_win_scale', 'sysctl_tcp_adv_win_scale', -31, 31],
    ['net.ipv4.tcp_app_win', 'sysctl_tcp_app_win', 0, 31],
    ['net.ipv4.tcp_abort_on_overflow', 'sysctl_tcp_abort_on_overflow', 0, 1],
    ['net.ipv4.tcp_stdurg', 'sysctl_tcp_stdurg', 0, 1],
    ['net.ipv4.tcp_rfc1337', 'sysctl_tcp_rfc1337', 0, 1],
    ['net.ipv4.tcp_challenge_ack_limit', 'sysctl_tcp_challenge_ack_limit', 0, 0x7fffffff],
    ['net.ipv4.tcp_invalid_ratelimit', 'sysctl_tcp_invalid_ratelimit', 0, 0x7fffffff],
    ['net.ipv4.tcp_autocorking', 'sysctl_tcp_autocorking', 0, 1],
    ['net.ipv4.tcp_slow_start_after_idle', 'sysctl_tcp_slow_start_after_idle', 0, 1],
    ['net.ipv4.tcp_moderate_rcvbuf', 'sysctl_tcp_moderate_rcvbuf', 0, 1],
    ['net.ipv4.tcp_notsent_lowat', 'sysctl_tcp_notsent_lowat', 0, 0xffffffff],
    ['net.ipv4.tcp_reordering', 'sysctl_tcp_reordering', 1, 0x7fffffff],
    ['net.ipv4.tcp_max_reordering', 'sysctl_tcp_max_reordering', 1, 0x7fffffff],
    ['net.ipv4.tcp_frto', 'sysctl_tcp_frto', 0, 2],
    ['net.ipv4.tcp_recovery', 'sysctl_tcp_recovery', 0, 7],
    ['net.ipv4.tcp_early_retrans', 'sysctl_tcp_early_retrans', 0, 4],
    ['net.ipv4.tcp_retrans_collapse', 'sysctl_tcp_retrans_collapse', 0, 1],
    ['net.ipv4.tcp_no_metrics_save', 'sysctl_tcp_no_metrics_save', 0, 1],
    ['net.ipv4.tcp_fastopen', 'sysctl_tcp_fastopen', 0, 0x7fffffff],
    ['net.ipv4.tcp_tso_win_divisor', 'sysctl_tcp_tso_win_divisor', 0, 0x7fffffff],
    ['net.ipv4.tcp_min_tso_segs', 'sysctl_tcp_min_tso_segs', 1, 255],
    ['net.ipv4.tcp_limit_output_bytes', 'sysctl_tcp_limit_output_bytes', 0, 0x7fffffff],
    ['net.ipv4.tcp_pacing_ss_ratio', 'sysctl_tcp_pacing_ss_ratio', 0, 1000],
    ['net.ipv4.tcp_pacing_ca_ratio', 'sysctl_tcp_pacing_ca_ratio', 0, 1000],
    ['net.ipv4.tcp_tso_rtt_log', 'sysctl_tcp_tso_rtt_log', 0, 255],
    ['net.ipv4.tcp_pingpong_thresh', 'sysctl_tcp_pingpong_thresh', 1, 255],
    ['net.ipv4.tcp_max_tw_buckets', 'sysctl_tcp_max_tw_buckets', 0, 0x7fffffff],
    ['net.ipv4.tcp_workaround_signed_windows', 'sysctl_tcp_workaround_signed_windows', 0, 1],
    ['net.ipv4.tcp_shrink_window', 'sysctl_tcp_shrink_window', 0, 1],
    ['net.ipv4.tcp_thin_linear_timeouts', 'sysctl_tcp_thin_linear_timeouts', 0, 1],
    ['net.ipv4.tcp_fwmark_accept', 'sysctl_tcp_fwmark_accept', 0, 1],
    ['net.ipv4.tcp_reflect_tos', 'sysctl_tcp_reflect_tos', 0, 1],
    ['net.ipv4.tcp_rto_min_us', 'sysctl_tcp_rto_min_us', 1, 0x7fffffff],
    ['net.ipv4.tcp_rto_max_ms', 'sysctl_tcp_rto_max_ms', 1000, 120000],
    ['net.ipv4.tcp_comp_sack_nr', 'sysctl_tcp_comp_sack_nr', 0, 255],
    ['net.ipv4.tcp_backlog_ack_defer', 'sysctl_tcp_backlog_ack_defer', 0, 1],
  ];
  for (const [name, field, min, max] of tcp)
    t.register(name, {
      get: () => ipv4[field] as number,
      set: (v) => ((ipv4[field] as number) = v),
      min,
      max,
    });
  // tcp_fin_timeout is kept in jiffies and shown in seconds (proc_dointvec_jiffies).
  t.register('net.ipv4.tcp_fin_timeout', {
    get: () => Math.floor(ipv4.sysctl_tcp_fin_timeout / 250),
    set: (v) => (ipv4.sysctl_tcp_fin_timeout = v * 250),
    min: 0,
    max: 0x7fffffff / 250,
  });
  const vec = (field: 'sysctl_tcp_rmem' | 'sysctl_tcp_wmem') => ({
    get: () => ipv4[field].join('\t'),
    set: (v: string): number => {
      const p = v.split(/\s+/).map(Number);
      if (p.length !== 3 || p.some((x) => !Number.isInteger(x) || x < 1)) return -E.EINVAL;
      ipv4[field] = [p[0], p[1], p[2]];
      return 0;
    },
  });
  t.registerText('net.ipv4.tcp_rmem', vec('sysctl_tcp_rmem'));
  t.registerText('net.ipv4.tcp_wmem', vec('sysctl_tcp_wmem'));
  t.registerText('net.ipv4.tcp_congestion_control', {
    get: () => ipv4.tcp_congestion_control,
    set: (v) => {
      if (!tcp_ca_names.includes(v)) return -E.ENOENT;
      ipv4.tcp_congestion_control = v;
      return 0;
    },
  });
  t.registerText('net.ipv4.tcp_available_congestion_control', {
    get: () => tcp_ca_names.join(' '),
    set: () => -E.EPERM,
  });
  // The thresholds bound each other (ipv4_frags_ns_ctl_table: extra1/extra2 point at the
  // other value), so the limits are read at write time.
  t.register('net.ipv4.ipfrag_high_thresh', {
    get: () => ipv4.ipfrag_high_thresh,
    set: (v) => (ipv4.ipfrag_high_thresh = v),
    get min() {
      return ipv4.ipfrag_low_thresh;
    },
    max: 0x7fffffff,
  });
  t.register('net.ipv4.ipfrag_low_thresh', {
    get: () => ipv4.ipfrag_low_thresh,
    set: (v) => (ipv4.ipfrag_low_thresh = v),
    min: 0,
    get max() {
      return ipv4.ipfrag_high_thresh;
    },
  });
}

/**
 * ipv4_init(): everything IPv4 needs in a namespace before the first device registers. Called
 * from the Host at boot, after inet_init(); the transports (ARP, ICMP, UDP…) register on top.
 */
export function ipv4_init(net: Net): NetnsIpv4 {
  if (net.ipv4) return net.ipv4;
  const ipv4 = new NetnsIpv4();
  ipv4.ip_id_key = net.kernel.prandom.get_random_u32();
  net.ipv4 = ipv4;
  net_mib(net);
  fib_net(net);
  inet_protos(net);
  register_sysctls(net, ipv4);
  snmp_set_conf_source((n) => ({
    forwarding: ip_forward_enabled(n),
    default_ttl: n.ipv4?.sysctl_ip_default_ttl ?? 64,
  }));
  ipfrag_init(net);
  devinet_init(net);
  dev_add_pack(net, { type: ETH_P_IP, dev: null, func: ip_rcv });
  return ipv4;
}
