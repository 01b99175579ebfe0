// CUBIC congestion control (net/ipv4/tcp_cubic.c, RFC 9438) with HyStart: the window grows as a
// cubic function of the time since the last reduction, centred on the window before it
// (W_max), with Linux's fixed-point arithmetic, its parameters (beta 717/1024, C = 41/1024
// scaled for a 100 ms RTT, fast convergence, TCP friendliness) and HyStart's ACK-train and
// delay detectors ending slow start early.

import { SK_PACING_NONE } from '../core/sock.js';
import { HZ } from '../../kernel/time.js';
import type { Kernel } from '../../kernel/kernel.js';
import { TCP_CA_Loss } from '../../uapi/tcp.js';
import {
  TcpSock,
  after,
  tcp_in_slow_start,
  usecs_to_jiffies,
  tcp_jiffies32,
  type TcpCongestionOps,
} from './tcp_sock.js';
import { tcp_slow_start, tcp_cong_avoid_ai, tcp_reno_undo_cwnd } from './tcp_cong.js';
import { tcp_is_cwnd_limited, SK_GSO_MAX_SIZE } from './tcp_output.js';
import { NET_INC_STATS, NET_ADD_STATS, linux_mib_index } from './snmp.js';

const BICTCP_BETA_SCALE = 1024;
/** BIC HZ: 2^10 = 1024 time units per second. */
const BICTCP_HZ = 10;
const HYSTART_ACK_TRAIN = 0x1;
const HYSTART_DELAY = 0x2;
const HYSTART_MIN_SAMPLES = 8;
const HYSTART_DELAY_MIN = 4000;
const HYSTART_DELAY_MAX = 16000;

/**
 * tcp_cubic's module parameters (/sys/module/tcp_cubic/parameters), at Linux's defaults. A host is
 * one kernel, so each host has one set, shared by all its CUBIC connections; writes take effect
 * on the next ACK, as in Linux. beta_scale, cube_rtt_scale and cube_factor are computed once from
 * beta and bic_scale when the module registers (cubictcp_register()), so a later write of beta
 * changes the reduction and fast convergence but not the TCP-friendly estimate.
 */
export class CubicParams {
  fast_convergence = 1;
  beta = 717;
  initial_ssthresh = 0;
  bic_scale = 41;
  tcp_friendliness = 1;
  hystart = 1;
  hystart_detect = HYSTART_ACK_TRAIN | HYSTART_DELAY;
  hystart_low_window = 16;
  hystart_ack_delta_us = 2000;
  beta_scale = 0;
  /** 1024 * c / rtt. */
  cube_rtt_scale = 0;
  /** 2^(10 + 3 * BICTCP_HZ) / (bic_scale * 10): K = cbrt(cube_factor * (W_max - cwnd)). */
  cube_factor = 0;
}

type CubicParamName = Exclude<keyof CubicParams, 'beta_scale' | 'cube_rtt_scale' | 'cube_factor'>;

/** module_param() modes: bic_scale feeds the precomputed factors and is read-only. */
const CUBIC_PARAMS: readonly (readonly [CubicParamName, number])[] = [
  ['fast_convergence', 0o644],
  ['beta', 0o644],
  ['initial_ssthresh', 0o644],
  ['bic_scale', 0o444],
  ['tcp_friendliness', 0o644],
  ['hystart', 0o644],
  ['hystart_detect', 0o644],
  ['hystart_low_window', 0o644],
  ['hystart_ack_delta_us', 0o644],
];

const cubic_params = new WeakMap<Kernel, CubicParams>();

/** cubictcp_register(): the kernel's parameter set, its module_params, the scale factors. */
export function cubictcp_register(kernel: Kernel): CubicParams {
  let p = cubic_params.get(kernel);
  if (p) return p;
  const params = (p = new CubicParams());
  cubic_params.set(kernel, params);
  for (const [name, perm] of CUBIC_PARAMS)
    kernel.module_params.register('tcp_cubic', name, {
      type: 'int',
      perm,
      get: () => params[name],
      set: (v) => (params[name] = v),
    });
  params.beta_scale = Math.floor(
    (8 * (BICTCP_BETA_SCALE + params.beta)) / 3 / (BICTCP_BETA_SCALE - params.beta),
  );
  params.cube_rtt_scale = params.bic_scale * 10;
  params.cube_factor = Math.floor(2 ** (10 + 3 * BICTCP_HZ) / (params.bic_scale * 10));
  return params;
}

const TWO_POW_40 = 2 ** 40;

const MIB_TCPHYSTARTTRAINDETECT = linux_mib_index('TCPHystartTrainDetect');
const MIB_TCPHYSTARTTRAINCWND = linux_mib_index('TCPHystartTrainCwnd');
const MIB_TCPHYSTARTDELAYDETECT = linux_mib_index('TCPHystartDelayDetect');
const MIB_TCPHYSTARTDELAYCWND = linux_mib_index('TCPHystartDelayCwnd');

/** CA_EVENT_TX_START: the first transmission after an idle period. */
export const CA_EVENT_TX_START = 0;
export const CA_EVENT_CWND_RESTART = 1;
export const CA_EVENT_COMPLETE_CWR = 2;
export const CA_EVENT_LOSS = 3;

/** struct bictcp: CUBIC's per-connection state (inet_csk_ca). */
export class Bictcp {
  constructor(
    /** The host's tcp_cubic parameters (Linux reads the module's globals). */
    readonly p: CubicParams,
  ) {}

  /** Increase cwnd by 1 after this many ACKs. */
  cnt = 0;
  last_max_cwnd = 0;
  last_cwnd = 0;
  last_time = 0;
  bic_origin_point = 0;
  /** Time to the origin point from the start of the epoch, in 1/1024 s. */
  bic_K = 0;
  /** Minimum delay (µs). */
  delay_min = 0;
  epoch_start = 0;
  ack_cnt = 0;
  tcp_cwnd = 0;
  sample_cnt = 0;
  found = 0;
  round_start = 0;
  end_seq = 0;
  last_ack = 0;
  curr_rtt = 0;

  /** bictcp_reset(): everything up to `unused`, and `found`. */
  reset(): void {
    this.cnt = this.last_max_cwnd = this.last_cwnd = this.last_time = 0;
    this.bic_origin_point = this.bic_K = this.delay_min = this.epoch_start = 0;
    this.ack_cnt = this.tcp_cwnd = 0;
    this.found = 0;
  }
}

function ca(sk: TcpSock): Bictcp {
  let c = sk.icsk_ca_priv as Bictcp | null;
  if (!(c instanceof Bictcp)) {
    c = new Bictcp(cubictcp_register(sk.sk_net.kernel));
    sk.icsk_ca_priv = c;
  }
  return c;
}

/** bictcp_hystart_reset(): a new round. */
function bictcp_hystart_reset(sk: TcpSock): void {
  const c = ca(sk);
  c.round_start = c.last_ack = sk.tcp_mstamp;
  c.end_seq = sk.snd_nxt;
  c.curr_rtt = 0xffffffff;
  c.sample_cnt = 0;
}

function cubictcp_init(sk: TcpSock): void {
  const c = ca(sk);
  c.reset();
  if (c.p.hystart) bictcp_hystart_reset(sk);
  if (!c.p.hystart && c.p.initial_ssthresh) sk.snd_ssthresh = c.p.initial_ssthresh;
}

function cubictcp_cwnd_event(sk: TcpSock, event: number): void {
  if (event === CA_EVENT_TX_START) {
    const c = ca(sk);
    const now = tcp_jiffies32(sk.sk_net);
    const delta = now - sk.lsndtime;
    // We were application limited (idle) for a while: shift epoch_start to keep the curve.
    if (c.epoch_start && delta > 0) {
      c.epoch_start += delta;
      if (after(c.epoch_start, now)) c.epoch_start = now;
    }
  }
}

/** cbrt(x) MSB values for x MSB values in [0..63], refined by hand (Willy Tarreau's table). */
const cbrt_v = [
  0, 54, 54, 54, 118, 118, 118, 118, 123, 129, 134, 138, 143, 147, 151, 156, 157, 161, 164, 168, 170, 173,
  176, 179, 181, 185, 187, 190, 192, 194, 197, 199, 200, 202, 204, 206, 209, 211, 213, 215, 217, 219, 221,
  222, 224, 225, 227, 229, 231, 232, 234, 236, 237, 239, 240, 242, 244, 245, 246, 248, 250, 251, 252, 254,
];

/** fls64(). */
function fls64(a: number): number {
  const hi = Math.floor(a / 4294967296);
  if (hi) return 64 - Math.clz32(hi);
  return 32 - Math.clz32(a >>> 0);
}

/** cubic_root(): a table lookup and one Newton-Raphson step (average error about 0.2%). */
export function cubic_root(a: number): number {
  let b = fls64(a);
  if (b < 7) return (cbrt_v[a] + 35) >>> 6;
  b = ((b * 84) >> 8) - 1;
  const shift = Math.floor(a / 2 ** (b * 3));
  let x = (((cbrt_v[shift] + 10) << b) >>> 0) >>> 6;
  x = 2 * x + Math.floor(a / (x * (x - 1)));
  x = ((x * 341) >>> 0) >>> 10;
  return x;
}

/** bictcp_update(): the ACK count that grows cwnd by one, from the cubic curve. */
function bictcp_update(sk: TcpSock, c: Bictcp, cwnd: number, acked: number): void {
  const now = tcp_jiffies32(sk.sk_net);
  c.ack_cnt += acked;
  if (c.last_cwnd === cwnd && now - c.last_time <= HZ / 32) return;
  // The function updates cnt at most once per jiffy; a reduction resets epoch_start.
  if (!(c.epoch_start && now === c.last_time)) {
    c.last_cwnd = cwnd;
    c.last_time = now;
    if (c.epoch_start === 0) {
      c.epoch_start = now;
      c.ack_cnt = acked;
      c.tcp_cwnd = cwnd;
      if (c.last_max_cwnd <= cwnd) {
        c.bic_K = 0;
        c.bic_origin_point = cwnd;
      } else {
        c.bic_K = cubic_root(c.p.cube_factor * (c.last_max_cwnd - cwnd));
        c.bic_origin_point = c.last_max_cwnd;
      }
    }
    // t = time since the epoch (plus the minimum delay), in 1/1024 s.
    let t = now - c.epoch_start + usecs_to_jiffies(c.delay_min);
    t = Math.floor((t * 2 ** BICTCP_HZ) / HZ);
    const offs = t < c.bic_K ? c.bic_K - t : t - c.bic_K;
    // c/rtt * (t - K)^3
    const delta = Math.floor((c.p.cube_rtt_scale * offs * offs * offs) / TWO_POW_40);
    const bic_target = t < c.bic_K ? c.bic_origin_point - delta : c.bic_origin_point + delta;
    if (bic_target > cwnd) c.cnt = Math.floor(cwnd / (bic_target - cwnd));
    else c.cnt = 100 * cwnd;
    // The initial growth may be too conservative while the bandwidth is unknown: 5% per RTT.
    if (c.last_max_cwnd === 0 && c.cnt > 20) c.cnt = 20;
  }
  // TCP friendliness: never grow slower than Reno would.
  if (c.p.tcp_friendliness) {
    const d = (cwnd * c.p.beta_scale) >>> 3;
    while (d > 0 && c.ack_cnt > d) {
      c.ack_cnt -= d;
      c.tcp_cwnd++;
    }
    if (c.tcp_cwnd > cwnd) {
      const max_cnt = Math.floor(cwnd / (c.tcp_cwnd - cwnd));
      if (c.cnt > max_cnt) c.cnt = max_cnt;
    }
  }
  // At most 1 packet per 2 ACKed: cwnd grows at 1.5x per RTT at the fastest.
  c.cnt = Math.max(c.cnt, 2);
}

function cubictcp_cong_avoid(sk: TcpSock, _ack: number, acked: number): void {
  if (!tcp_is_cwnd_limited(sk)) return;
  if (tcp_in_slow_start(sk)) {
    acked = tcp_slow_start(sk, acked);
    if (!acked) return;
  }
  const c = ca(sk);
  bictcp_update(sk, c, sk.snd_cwnd, acked);
  tcp_cong_avoid_ai(sk, c.cnt, acked);
}

/** cubictcp_recalc_ssthresh(): beta = 0.7, with fast convergence of W_max. */
function cubictcp_recalc_ssthresh(sk: TcpSock): number {
  const c = ca(sk);
  c.epoch_start = 0;
  if (sk.snd_cwnd < c.last_max_cwnd && c.p.fast_convergence)
    c.last_max_cwnd = Math.floor((sk.snd_cwnd * (BICTCP_BETA_SCALE + c.p.beta)) / (2 * BICTCP_BETA_SCALE));
  else c.last_max_cwnd = sk.snd_cwnd;
  return Math.max(Math.floor((sk.snd_cwnd * c.p.beta) / BICTCP_BETA_SCALE), 2);
}

function cubictcp_state(sk: TcpSock, new_state: number): void {
  if (new_state === TCP_CA_Loss) {
    ca(sk).reset();
    bictcp_hystart_reset(sk);
  }
}

/**
 * hystart_ack_delay(): allowance for TSO/GRO batching of ACKs — the time to send four of the
 * largest GSO packets (sk_gso_max_size) at the pacing rate, at most 1 ms.
 */
function hystart_ack_delay(sk: TcpSock): number {
  const rate = sk.sk_pacing_rate;
  if (!rate) return 0;
  return Math.min(1000, Math.floor((SK_GSO_MAX_SIZE * 4 * 1_000_000) / rate));
}

/** hystart_update(): leave slow start when ACK trains stretch or the RTT grows. */
function hystart_update(sk: TcpSock, delay: number): void {
  const c = ca(sk);
  if (after(sk.snd_una, c.end_seq)) bictcp_hystart_reset(sk);
  if (sk.snd_cwnd < c.p.hystart_low_window) return;
  if (c.p.hystart_detect & HYSTART_ACK_TRAIN) {
    const now = sk.tcp_mstamp;
    if (now - c.last_ack <= c.p.hystart_ack_delta_us) {
      c.last_ack = now;
      let threshold = c.delay_min + hystart_ack_delay(sk);
      // The train triggers past half the minimum delay — past all of it when paced: pacing
      // may have spread the round's packets over up to RTT/2.
      if (sk.sk_pacing_status === SK_PACING_NONE) threshold >>>= 1;
      if (now - c.round_start > threshold) {
        c.found = 1;
        NET_INC_STATS(sk.sk_net, MIB_TCPHYSTARTTRAINDETECT);
        NET_ADD_STATS(sk.sk_net, MIB_TCPHYSTARTTRAINCWND, sk.snd_cwnd);
        sk.snd_ssthresh = sk.snd_cwnd;
      }
    }
  }
  if (c.p.hystart_detect & HYSTART_DELAY) {
    if (c.curr_rtt > delay) c.curr_rtt = delay;
    if (c.sample_cnt < HYSTART_MIN_SAMPLES) c.sample_cnt++;
    else {
      const thresh = Math.min(Math.max(c.delay_min >>> 3, HYSTART_DELAY_MIN), HYSTART_DELAY_MAX);
      if (c.curr_rtt > c.delay_min + thresh) {
        c.found = 1;
        NET_INC_STATS(sk.sk_net, MIB_TCPHYSTARTDELAYDETECT);
        NET_ADD_STATS(sk.sk_net, MIB_TCPHYSTARTDELAYCWND, sk.snd_cwnd);
        sk.snd_ssthresh = sk.snd_cwnd;
      }
    }
  }
}

/** cubictcp_acked(): RTT samples for delay_min and HyStart. */
function cubictcp_acked(sk: TcpSock, _acked: number, rtt_us: number): void {
  if (rtt_us < 0) return;
  const c = ca(sk);
  // Discard delay samples right after fast recovery.
  if (c.epoch_start && tcp_jiffies32(sk.sk_net) - c.epoch_start < HZ) return;
  const delay = rtt_us || 1;
  if (c.delay_min === 0 || c.delay_min > delay) c.delay_min = delay;
  if (!c.found && tcp_in_slow_start(sk) && c.p.hystart) hystart_update(sk, delay);
}

export const cubictcp: TcpCongestionOps = {
  name: 'cubic',
  init: cubictcp_init,
  ssthresh: cubictcp_recalc_ssthresh,
  cong_avoid: cubictcp_cong_avoid,
  set_state: cubictcp_state,
  undo_cwnd: tcp_reno_undo_cwnd,
  cwnd_event: cubictcp_cwnd_event,
  pkts_acked: cubictcp_acked,
};
