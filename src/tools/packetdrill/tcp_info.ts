/**
 * TCP_INFO for `%{ }%` code blocks: the bytes getsockopt(fd, IPPROTO_TCP, TCP_INFO) returns,
 * decoded by the byte layout of Linux's struct tcp_info (include/uapi/linux/tcp.h, native byte
 * order: little-endian here), and the symbolic names packetdrill defines for the code it runs.
 */

/** The snapshot a code block sees: Linux's field names. */
export interface TcpInfo {
  tcpi_state: number;
  tcpi_ca_state: number;
  tcpi_retransmits: number;
  tcpi_probes: number;
  tcpi_backoff: number;
  tcpi_options: number;
  tcpi_snd_wscale: number;
  tcpi_rcv_wscale: number;
  tcpi_delivery_rate_app_limited: number;
  tcpi_fastopen_client_fail: number;
  tcpi_rto: number;
  tcpi_ato: number;
  tcpi_snd_mss: number;
  tcpi_rcv_mss: number;
  tcpi_unacked: number;
  tcpi_sacked: number;
  tcpi_lost: number;
  tcpi_retrans: number;
  tcpi_fackets: number;
  tcpi_last_data_sent: number;
  tcpi_last_ack_sent: number;
  tcpi_last_data_recv: number;
  tcpi_last_ack_recv: number;
  tcpi_pmtu: number;
  tcpi_rcv_ssthresh: number;
  tcpi_rtt: number;
  tcpi_rttvar: number;
  tcpi_snd_ssthresh: number;
  tcpi_snd_cwnd: number;
  tcpi_advmss: number;
  tcpi_reordering: number;
  tcpi_rcv_rtt: number;
  tcpi_rcv_space: number;
  tcpi_total_retrans: number;
  tcpi_pacing_rate: number;
  tcpi_max_pacing_rate: number;
  tcpi_bytes_acked: number;
  tcpi_bytes_received: number;
  tcpi_segs_out: number;
  tcpi_segs_in: number;
  tcpi_notsent_bytes: number;
  tcpi_min_rtt: number;
  tcpi_data_segs_in: number;
  tcpi_data_segs_out: number;
  tcpi_delivery_rate: number;
  tcpi_busy_time: number;
  tcpi_rwnd_limited: number;
  tcpi_sndbuf_limited: number;
  tcpi_delivered: number;
  tcpi_delivered_ce: number;
  tcpi_bytes_sent: number;
  tcpi_bytes_retrans: number;
  tcpi_dsack_dups: number;
  tcpi_reord_seen: number;
  tcpi_rcv_ooopack: number;
  tcpi_snd_wnd: number;
  tcpi_rcv_wnd: number;
  tcpi_rehash: number;
  tcpi_total_rto: number;
  tcpi_total_rto_recoveries: number;
  tcpi_total_rto_time: number;
}

type Width = 1 | 2 | 4 | 8 | 'lo4' | 'hi4' | 'bit0' | 'bits12';

/** [name, byte offset, width] in struct tcp_info order. */
const LAYOUT: readonly (readonly [keyof TcpInfo, number, Width])[] = [
  ['tcpi_state', 0, 1],
  ['tcpi_ca_state', 1, 1],
  ['tcpi_retransmits', 2, 1],
  ['tcpi_probes', 3, 1],
  ['tcpi_backoff', 4, 1],
  ['tcpi_options', 5, 1],
  // __u8 tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4 — GCC allocates bit-fields from the low bits.
  ['tcpi_snd_wscale', 6, 'lo4'],
  ['tcpi_rcv_wscale', 6, 'hi4'],
  ['tcpi_delivery_rate_app_limited', 7, 'bit0'],
  ['tcpi_fastopen_client_fail', 7, 'bits12'],
  ['tcpi_rto', 8, 4],
  ['tcpi_ato', 12, 4],
  ['tcpi_snd_mss', 16, 4],
  ['tcpi_rcv_mss', 20, 4],
  ['tcpi_unacked', 24, 4],
  ['tcpi_sacked', 28, 4],
  ['tcpi_lost', 32, 4],
  ['tcpi_retrans', 36, 4],
  ['tcpi_fackets', 40, 4],
  ['tcpi_last_data_sent', 44, 4],
  ['tcpi_last_ack_sent', 48, 4],
  ['tcpi_last_data_recv', 52, 4],
  ['tcpi_last_ack_recv', 56, 4],
  ['tcpi_pmtu', 60, 4],
  ['tcpi_rcv_ssthresh', 64, 4],
  ['tcpi_rtt', 68, 4],
  ['tcpi_rttvar', 72, 4],
  ['tcpi_snd_ssthresh', 76, 4],
  ['tcpi_snd_cwnd', 80, 4],
  ['tcpi_advmss', 84, 4],
  ['tcpi_reordering', 88, 4],
  ['tcpi_rcv_rtt', 92, 4],
  ['tcpi_rcv_space', 96, 4],
  ['tcpi_total_retrans', 100, 4],
  ['tcpi_pacing_rate', 104, 8],
  ['tcpi_max_pacing_rate', 112, 8],
  ['tcpi_bytes_acked', 120, 8],
  ['tcpi_bytes_received', 128, 8],
  ['tcpi_segs_out', 136, 4],
  ['tcpi_segs_in', 140, 4],
  ['tcpi_notsent_bytes', 144, 4],
  ['tcpi_min_rtt', 148, 4],
  ['tcpi_data_segs_in', 152, 4],
  ['tcpi_data_segs_out', 156, 4],
  ['tcpi_delivery_rate', 160, 8],
  ['tcpi_busy_time', 168, 8],
  ['tcpi_rwnd_limited', 176, 8],
  ['tcpi_sndbuf_limited', 184, 8],
  ['tcpi_delivered', 192, 4],
  ['tcpi_delivered_ce', 196, 4],
  ['tcpi_bytes_sent', 200, 8],
  ['tcpi_bytes_retrans', 208, 8],
  ['tcpi_dsack_dups', 216, 4],
  ['tcpi_reord_seen', 220, 4],
  ['tcpi_rcv_ooopack', 224, 4],
  ['tcpi_snd_wnd', 228, 4],
  ['tcpi_rcv_wnd', 232, 4],
  ['tcpi_rehash', 236, 4],
  ['tcpi_total_rto', 240, 2],
  ['tcpi_total_rto_recoveries', 242, 2],
  ['tcpi_total_rto_time', 244, 4],
];

/** sizeof(struct tcp_info) with every field above (Linux 6.7 and later). */
export const TCP_INFO_LEN = 248;

/** Offsets and widths of the fields, for writers of the structure (and tests). */
export const TCP_INFO_LAYOUT = LAYOUT;

/**
 * Decode the bytes getsockopt(TCP_INFO) returned. Linux copies min(optlen, sizeof) bytes, so an
 * older or shorter structure has fewer fields: those past the end are left out (a code block
 * naming one then fails as Python would on an undefined name).
 */
export function decodeTcpInfo(b: Uint8Array): Partial<TcpInfo> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Partial<TcpInfo> = {};
  for (const [name, off, w] of LAYOUT) {
    const size = typeof w === 'number' ? w : 1;
    if (off + size > b.length) continue;
    let v: number;
    switch (w) {
      case 1:
        v = dv.getUint8(off);
        break;
      case 2:
        v = dv.getUint16(off, true);
        break;
      case 4:
        v = dv.getUint32(off, true);
        break;
      case 8:
        v = Number(dv.getBigUint64(off, true));
        break;
      case 'lo4':
        v = dv.getUint8(off) & 0x0f;
        break;
      case 'hi4':
        v = dv.getUint8(off) >>> 4;
        break;
      case 'bit0':
        v = dv.getUint8(off) & 1;
        break;
      case 'bits12':
        v = (dv.getUint8(off) >>> 1) & 3;
        break;
    }
    out[name] = v;
  }
  return out;
}

/** Encode a snapshot in Linux's layout (the inverse of decodeTcpInfo; missing fields are 0). */
export function encodeTcpInfo(info: Partial<TcpInfo>): Uint8Array {
  const b = new Uint8Array(TCP_INFO_LEN);
  const dv = new DataView(b.buffer);
  for (const [name, off, w] of LAYOUT) {
    const v = info[name] ?? 0;
    switch (w) {
      case 1:
        dv.setUint8(off, v);
        break;
      case 2:
        dv.setUint16(off, v, true);
        break;
      case 4:
        dv.setUint32(off, v, true);
        break;
      case 8:
        dv.setBigUint64(off, BigInt(v), true);
        break;
      case 'lo4':
        b[off] = (b[off]! & 0xf0) | (v & 0x0f);
        break;
      case 'hi4':
        b[off] = (b[off]! & 0x0f) | ((v & 0x0f) << 4);
        break;
      case 'bit0':
        b[off] = (b[off]! & 0xfe) | (v & 1);
        break;
      case 'bits12':
        b[off] = (b[off]! & 0xf9) | ((v & 3) << 1);
        break;
    }
  }
  return b;
}

// The names packetdrill's code preamble defines (code.c write_symbols()).

/** tcpi_state values (include/net/tcp_states.h). */
export const TCP_STATES = {
  TCP_ESTABLISHED: 1,
  TCP_SYN_SENT: 2,
  TCP_SYN_RECV: 3,
  TCP_FIN_WAIT1: 4,
  TCP_FIN_WAIT2: 5,
  TCP_TIME_WAIT: 6,
  TCP_CLOSE: 7,
  TCP_CLOSE_WAIT: 8,
  TCP_LAST_ACK: 9,
  TCP_LISTEN: 10,
  TCP_CLOSING: 11,
} as const;

/** enum tcp_ca_state. */
export const TCP_CA_Open = 0;
export const TCP_CA_Disorder = 1;
export const TCP_CA_CWR = 2;
export const TCP_CA_Recovery = 3;
export const TCP_CA_Loss = 4;

/** tcpi_options bits. */
export const TCPI_OPT_TIMESTAMPS = 1;
export const TCPI_OPT_SACK = 2;
export const TCPI_OPT_WSCALE = 4;
export const TCPI_OPT_ECN = 8;
export const TCPI_OPT_ECN_SEEN = 16;
export const TCPI_OPT_SYN_DATA = 32;
export const TCPI_OPT_USEC_TS = 64;
export const TCPI_OPT_TFO_CHILD = 128;

/** Every name a code block may use besides its own variables and the tcpi_* fields. */
export const CODE_SYMBOLS: Readonly<Record<string, number>> = {
  ...TCP_STATES,
  TCP_CA_Open,
  TCP_CA_Disorder,
  TCP_CA_CWR,
  TCP_CA_Recovery,
  TCP_CA_Loss,
  TCPI_OPT_TIMESTAMPS,
  TCPI_OPT_SACK,
  TCPI_OPT_WSCALE,
  TCPI_OPT_ECN,
  TCPI_OPT_ECN_SEEN,
  TCPI_OPT_SYN_DATA,
  TCPI_OPT_USEC_TS,
  TCPI_OPT_TFO_CHILD,
};
