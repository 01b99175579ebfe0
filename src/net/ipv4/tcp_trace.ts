// TCP's tracepoints (include/trace/events/tcp.h): tcp_probe, hit for every segment an
// established socket receives (tcp_rcv_established), before the segment is processed — the
// sender's view per ACK: cwnd, ssthresh, srtt, windows and the sequence numbers sent and
// acknowledged. The input for time-sequence and cwnd plots.

import type { Net } from '../core/net_namespace.js';
import type { SkBuff } from '../core/skbuff.js';
import type { TraceEvent } from '../../kernel/trace.js';
import { sock_gen_cookie } from '../core/sock_diag.js';
import { inet_ntoa } from '../../uapi/in.js';
import { AF_INET } from '../../uapi/socket.js';
import { TCP_SKB_CB, tcp_packets_in_flight, tcp_snd_cwnd, type TcpSock } from './tcp_sock.js';
import { TCPHDR_FIN, TCPHDR_SYN } from '../../uapi/tcp.js';

/** One tcp_probe hit: the fields of Linux's record, plus the time and what is in flight. */
export interface TcpProbeRecord {
  /** When, in ns of the world clock (the trace line's timestamp). */
  time_ns: number;
  family: number;
  /** The socket's own address and port, then the peer's (src= and dest= of the line). */
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  mark: number;
  /** Payload bytes of the segment received. */
  data_len: number;
  /** Sequence numbers sent (snd_nxt) and acknowledged (snd_una), before this segment is processed. */
  snd_nxt: number;
  snd_una: number;
  snd_cwnd: number;
  ssthresh: number;
  snd_wnd: number;
  /** Smoothed RTT in µs (tp->srtt_us >> 3). */
  srtt: number;
  rcv_wnd: number;
  sock_cookie: number;
  /** The segment's acknowledgment number (what the peer acknowledges with it). */
  ack_seq: number;
  /** Packets in flight (tcp_packets_in_flight); not in Linux's record. */
  in_flight: number;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
/** %p of a hashed pointer: 16 hex digits, stable per object as Linux's hashed pointers are. */
const ptr = (v: number): string => (v >>> 0).toString(16).padStart(16, '0');

/** TP_printk of tcp_probe, field for field. */
function tcp_probe_printk(r: TcpProbeRecord): string {
  return (
    `family=${r.family === AF_INET ? 'AF_INET' : 'AF_INET6'} src=${r.saddr}:${r.sport} dest=${r.daddr}:${r.dport} ` +
    `mark=${r.mark ? hex(r.mark) : '0x0'} data_len=${r.data_len} snd_nxt=${hex(r.snd_nxt)} snd_una=${hex(r.snd_una)} ` +
    `snd_cwnd=${r.snd_cwnd} ssthresh=${r.ssthresh >>> 0} snd_wnd=${r.snd_wnd} srtt=${r.srtt} rcv_wnd=${r.rcv_wnd} ` +
    `sock_cookie=${r.sock_cookie.toString(16)} skbaddr=${ptr(0)} skaddr=${ptr(r.sock_cookie)}`
  );
}

/** The tcp:tcp_probe event of the namespace's kernel (defined on first use). */
export function tcp_probe_event(net: Net): TraceEvent<TcpProbeRecord> {
  return net.kernel.tracing.define<TcpProbeRecord>('tcp', 'tcp_probe', tcp_probe_printk);
}

/** trace_tcp_probe(): callers test `ev.enabled` first, so a disabled event costs nothing. */
export function trace_tcp_probe(ev: TraceEvent<TcpProbeRecord>, tp: TcpSock, skb: SkBuff): void {
  const cb = TCP_SKB_CB(skb);
  const flags = cb.tcp_flags;
  const data_len = (cb.end_seq - cb.seq - (flags & TCPHDR_SYN ? 1 : 0) - (flags & TCPHDR_FIN ? 1 : 0)) >>> 0;
  ev.emit({
    time_ns: tp.sk_net.kernel.clock.now(),
    family: AF_INET,
    saddr: inet_ntoa(tp.inet_saddr),
    sport: tp.inet_sport,
    daddr: inet_ntoa(tp.inet_daddr),
    dport: tp.inet_dport,
    mark: tp.sk_mark,
    data_len,
    snd_nxt: tp.snd_nxt >>> 0,
    snd_una: tp.snd_una >>> 0,
    snd_cwnd: tcp_snd_cwnd(tp),
    ssthresh: tp.snd_ssthresh >>> 0,
    snd_wnd: tp.snd_wnd,
    srtt: tp.srtt_us >>> 3,
    rcv_wnd: tp.rcv_wnd,
    sock_cookie: sock_gen_cookie(tp.sk_net, tp),
    ack_seq: cb.ack_seq >>> 0,
    in_flight: tcp_packets_in_flight(tp),
  });
}
