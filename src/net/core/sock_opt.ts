// The SOL_SOCKET options (net/core/sock.c sk_setsockopt / sk_getsockopt).

import type { Socket } from '../socket.js';
import type { IoctlArg } from '../../kernel/fs.js';
import {
  INT_MAX,
  SOCK_BROADCAST,
  SOCK_DONE,
  SOCK_KEEPOPEN,
  SOCK_LINGER,
  SOCK_MIN_RCVBUF,
  SOCK_MIN_SNDBUF,
  SOCK_RCVBUF_LOCK,
  SOCK_SNDBUF_LOCK,
  SOCK_TIMESTAMP,
  SOCK_URGINLINE,
  TCP_LISTEN,
  SK_PACING_NEEDED,
  SK_PACING_NONE,
  SK_PACING_UNLIMITED,
  sock_error,
  sock_flag,
  sock_valbool_flag,
  type Sock,
} from './sock.js';
import { current, in_task } from '../../kernel/sched.js';
import { HZ, MAX_SCHEDULE_TIMEOUT, NSEC_PER_JIFFY } from '../../kernel/time.js';
import * as E from '../../uapi/errno.js';
import * as S from '../../uapi/socket.js';
import { CAP_NET_ADMIN, CAP_NET_RAW } from '../../uapi/capability.js';

declare module '../socket.js' {
  interface ProtoOps {
    /** SO_RCVLOWAT of the family (TCP: tcp_set_rcvlowat); absent: sk_rcvlowat is set as is. */
    set_rcvlowat?(sk: Sock, val: number): number;
  }
}

const USEC_PER_SEC = 1_000_000;
/** The SO_DEBUG flag (SOCK_DBG), kept with the other sock flags. */
const SOCK_DBG = 20;
const SOCK_LOCALROUTE = 21;
const SOCK_NOFCS = 22;

function capable(cap: number): boolean {
  return in_task() ? current().cred.has_cap(cap) : true;
}

function readInt(optval: Uint8Array): number {
  return new DataView(optval.buffer, optval.byteOffset, 4).getInt32(0, true);
}

/** sock_set_timeout(): struct __kernel_old_timeval → jiffies, kept in ns. */
function sock_set_timeout(sk: Sock, which: 'rcv' | 'snd', optval: Uint8Array, optlen: number): number {
  if (optlen < S.SIZEOF_TIMEVAL) return -E.EINVAL;
  const dv = new DataView(optval.buffer, optval.byteOffset, 16);
  const tv_sec = dv.getBigInt64(0, true);
  const tv_usec = dv.getBigInt64(8, true);
  if (tv_usec < 0n || tv_usec >= BigInt(USEC_PER_SEC)) return -E.EDOM;
  let val: number;
  if (tv_sec < 0n) val = 0;
  else if ((tv_sec || tv_usec) && tv_sec < 0x7fffffffffffffffn / BigInt(HZ) - 1n) {
    const jiffies = Number(tv_sec) * HZ + Math.ceil(Number(tv_usec) / (USEC_PER_SEC / HZ));
    val = jiffies * NSEC_PER_JIFFY;
  } else val = MAX_SCHEDULE_TIMEOUT;
  if (which === 'rcv') sk.sk_rcvtimeo = val;
  else sk.sk_sndtimeo = val;
  return 0;
}

/** sock_get_timeout(). */
function sock_get_timeout(timeo: number, out: DataView): number {
  if (timeo === MAX_SCHEDULE_TIMEOUT) {
    out.setBigInt64(0, 0n, true);
    out.setBigInt64(8, 0n, true);
  } else {
    const jiffies = Math.round(timeo / NSEC_PER_JIFFY);
    out.setBigInt64(0, BigInt(Math.floor(jiffies / HZ)), true);
    out.setBigInt64(8, BigInt(Math.floor(((jiffies % HZ) * USEC_PER_SEC) / HZ)), true);
  }
  return S.SIZEOF_TIMEVAL;
}

/** sk_setsockopt() for SOL_SOCKET. */
/**
 * Copy an int option value out as getsockopt does (put_user of `len` bytes, little-endian):
 * -EFAULT when the user's buffer is shorter than `len`.
 */
export function put_optval_int(optval: Uint8Array, optlen: IoctlArg, val: number, len: number): number {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, val | 0, true);
  if (len > optval.length) return -E.EFAULT;
  optval.set(b.subarray(0, len));
  optlen.value = len;
  return 0;
}

export function sock_setsockopt(
  sock: Socket,
  _level: number,
  optname: number,
  optval: Uint8Array,
  optlen: number,
): number {
  const sk = sock.sk!;
  if (optname === S.SO_BINDTODEVICE) return -E.ENODEV;
  if (optlen < S.SIZEOF_INT) return -E.EINVAL;
  const val = readInt(optval);
  const valbool = val !== 0;
  switch (optname) {
    case S.SO_DEBUG:
      if (val && !capable(CAP_NET_ADMIN)) return -E.EACCES;
      sock_valbool_flag(sk, SOCK_DBG, valbool);
      return 0;
    case S.SO_REUSEADDR:
      sk.sk_reuse = valbool ? 1 : 0;
      return 0;
    case S.SO_REUSEPORT:
      sk.sk_reuseport = valbool ? 1 : 0;
      return 0;
    case S.SO_TYPE:
    case S.SO_PROTOCOL:
    case S.SO_DOMAIN:
    case S.SO_ERROR:
      return -E.ENOPROTOOPT;
    case S.SO_DONTROUTE:
      sock_valbool_flag(sk, SOCK_LOCALROUTE, valbool);
      return 0;
    case S.SO_BROADCAST:
      sock_valbool_flag(sk, SOCK_BROADCAST, valbool);
      return 0;
    case S.SO_SNDBUF:
      set_sndbuf(sk, Math.min(val >>> 0, sk.sk_net.core.sysctl_wmem_max));
      return 0;
    case S.SO_SNDBUFFORCE:
      if (!capable(CAP_NET_ADMIN)) return -E.EPERM;
      set_sndbuf(sk, Math.max(val, 0));
      return 0;
    case S.SO_RCVBUF:
      set_rcvbuf(sk, Math.min(val >>> 0, sk.sk_net.core.sysctl_rmem_max));
      return 0;
    case S.SO_RCVBUFFORCE:
      if (!capable(CAP_NET_ADMIN)) return -E.EPERM;
      set_rcvbuf(sk, Math.max(val, 0));
      return 0;
    case S.SO_KEEPALIVE:
      sk.sk_prot.keepalive?.(sk, valbool);
      sock_valbool_flag(sk, SOCK_KEEPOPEN, valbool);
      return 0;
    case S.SO_OOBINLINE:
      sock_valbool_flag(sk, SOCK_URGINLINE, valbool);
      return 0;
    case S.SO_NO_CHECK:
      sk.sk_no_check_tx = valbool ? 1 : 0;
      return 0;
    case S.SO_MAX_PACING_RATE: {
      // A u32 (~0U: unlimited), or a u64 when optlen allows it (64-bit unsigned long).
      let ulval = val === -1 ? SK_PACING_UNLIMITED : val >>> 0;
      if (optlen >= 8) {
        const v64 = new DataView(optval.buffer, optval.byteOffset, 8).getBigUint64(0, true);
        ulval = v64 === 0xffffffffffffffffn ? SK_PACING_UNLIMITED : Number(v64);
      }
      // Pacing is needed now: by the transport itself, unless sch_fq takes the socket over.
      if (ulval !== SK_PACING_UNLIMITED && sk.sk_pacing_status === SK_PACING_NONE)
        sk.sk_pacing_status = SK_PACING_NEEDED;
      sk.sk_max_pacing_rate = ulval;
      if (ulval < sk.sk_pacing_rate) sk.sk_pacing_rate = ulval;
      return 0;
    }
    case S.SO_PRIORITY:
      if ((val >= 0 && val <= 6) || capable(CAP_NET_RAW) || capable(CAP_NET_ADMIN)) {
        sk.sk_priority = val;
        return 0;
      }
      return -E.EPERM;
    case S.SO_LINGER: {
      if (optlen < S.SIZEOF_LINGER) return -E.EINVAL;
      const dv = new DataView(optval.buffer, optval.byteOffset, 8);
      const l_onoff = dv.getInt32(0, true);
      const l_linger = dv.getUint32(4, true);
      if (!l_onoff) sock_valbool_flag(sk, SOCK_LINGER, false);
      else {
        // l_linger is read as unsigned long: a negative value means "forever".
        sk.sk_lingertime = l_linger >= 0x80000000 ? MAX_SCHEDULE_TIMEOUT : l_linger * HZ * NSEC_PER_JIFFY;
        sock_valbool_flag(sk, SOCK_LINGER, true);
      }
      return 0;
    }
    case S.SO_BSDCOMPAT:
      return 0;
    case S.SO_PASSCRED:
      if (valbool) sock.flags |= 1 << S.SOCK_PASSCRED;
      else sock.flags &= ~(1 << S.SOCK_PASSCRED);
      return 0;
    case S.SO_PASSSEC:
      if (valbool) sock.flags |= 1 << S.SOCK_PASSSEC;
      else sock.flags &= ~(1 << S.SOCK_PASSSEC);
      return 0;
    case S.SO_TIMESTAMP:
      sock_valbool_flag(sk, SOCK_TIMESTAMP, valbool);
      return 0;
    case S.SO_RCVLOWAT: {
      let v = val;
      if (v < 0) v = INT_MAX;
      const set_rcvlowat = sock.ops?.set_rcvlowat;
      if (set_rcvlowat) return set_rcvlowat(sk, v);
      sk.sk_rcvlowat = v || 1;
      return 0;
    }
    case S.SO_RCVTIMEO:
      return sock_set_timeout(sk, 'rcv', optval, optlen);
    case S.SO_SNDTIMEO:
      return sock_set_timeout(sk, 'snd', optval, optlen);
    case S.SO_MARK:
      if (!capable(CAP_NET_ADMIN)) return -E.EPERM;
      sk.sk_mark = val >>> 0;
      return 0;
    case S.SO_PEEK_OFF:
      if (!sock.ops?.set_peek_off) return -E.EOPNOTSUPP;
      return sock.ops.set_peek_off(sk, val);
    case S.SO_NOFCS:
      sock_valbool_flag(sk, SOCK_NOFCS, valbool);
      return 0;
    default:
      return -E.ENOPROTOOPT;
  }
}

function set_sndbuf(sk: Sock, val: number): void {
  val = Math.min(val, INT_MAX >> 1);
  sk.sk_userlocks |= SOCK_SNDBUF_LOCK;
  sk.sk_sndbuf = Math.max(val * 2, SOCK_MIN_SNDBUF);
  sk.sk_write_space(sk);
}

function set_rcvbuf(sk: Sock, val: number): void {
  val = Math.min(val, INT_MAX >> 1);
  sk.sk_userlocks |= SOCK_RCVBUF_LOCK;
  sk.sk_rcvbuf = Math.max(val * 2, SOCK_MIN_RCVBUF);
}

/** sk_reuseport. */
export function sk_reuseport(sk: Sock): boolean {
  return sk.sk_reuseport !== 0;
}

/** sk_getsockopt() for SOL_SOCKET. */
export function sock_getsockopt(
  sock: Socket,
  _level: number,
  optname: number,
  optval: Uint8Array,
  optlen: IoctlArg,
): number {
  const sk = sock.sk!;
  let len = optlen.value;
  if (len < 0) return -E.EINVAL;
  const v = new Uint8Array(S.SIZEOF_TIMEVAL);
  const dv = new DataView(v.buffer);
  let lv = S.SIZEOF_INT;
  const int = (x: number) => dv.setInt32(0, x, true);
  switch (optname) {
    case S.SO_DEBUG:
      int(sock_flag(sk, SOCK_DBG) ? 1 : 0);
      break;
    case S.SO_DONTROUTE:
      int(sock_flag(sk, SOCK_LOCALROUTE) ? 1 : 0);
      break;
    case S.SO_BROADCAST:
      int(sock_flag(sk, SOCK_BROADCAST) ? 1 : 0);
      break;
    case S.SO_SNDBUF:
      int(sk.sk_sndbuf);
      break;
    case S.SO_RCVBUF:
      int(sk.sk_rcvbuf);
      break;
    case S.SO_REUSEADDR:
      int(sk.sk_reuse);
      break;
    case S.SO_REUSEPORT:
      int(sk_reuseport(sk) ? 1 : 0);
      break;
    case S.SO_KEEPALIVE:
      int(sock_flag(sk, SOCK_KEEPOPEN) ? 1 : 0);
      break;
    case S.SO_TYPE:
      int(sk.sk_type);
      break;
    case S.SO_PROTOCOL:
      int(sk.sk_protocol);
      break;
    case S.SO_DOMAIN:
      int(sk.sk_family);
      break;
    case S.SO_ERROR: {
      let err = -sock_error(sk);
      if (!err) {
        err = sk.sk_err_soft;
        sk.sk_err_soft = 0;
      }
      int(err);
      break;
    }
    case S.SO_OOBINLINE:
      int(sock_flag(sk, SOCK_URGINLINE) ? 1 : 0);
      break;
    case S.SO_NO_CHECK:
      int(sk.sk_no_check_tx);
      break;
    case S.SO_PRIORITY:
      int(sk.sk_priority);
      break;
    case S.SO_MAX_PACING_RATE:
      if (len >= 8) {
        lv = 8;
        const r = sk.sk_max_pacing_rate;
        dv.setBigUint64(0, r >= SK_PACING_UNLIMITED ? 0xffffffffffffffffn : BigInt(r), true);
      } else int(Math.min(sk.sk_max_pacing_rate, 0xffffffff) | 0);
      break;
    case S.SO_LINGER: {
      lv = S.SIZEOF_LINGER;
      int(sock_flag(sk, SOCK_LINGER) ? 1 : 0);
      const secs =
        sk.sk_lingertime === MAX_SCHEDULE_TIMEOUT
          ? Number((0x7fffffffffffffffn / BigInt(HZ)) & 0xffffffffn) | 0
          : Math.floor(sk.sk_lingertime / NSEC_PER_JIFFY / HZ);
      dv.setInt32(4, secs, true);
      break;
    }
    case S.SO_BSDCOMPAT:
      int(0);
      break;
    case S.SO_TIMESTAMP:
      int(sock_flag(sk, SOCK_TIMESTAMP) ? 1 : 0);
      break;
    case S.SO_RCVTIMEO:
      lv = sock_get_timeout(sk.sk_rcvtimeo, dv);
      break;
    case S.SO_SNDTIMEO:
      lv = sock_get_timeout(sk.sk_sndtimeo, dv);
      break;
    case S.SO_RCVLOWAT:
      int(sk.sk_rcvlowat);
      break;
    case S.SO_SNDLOWAT:
      int(1);
      break;
    case S.SO_PASSCRED:
      int(sock.flags & (1 << S.SOCK_PASSCRED) ? 1 : 0);
      break;
    case S.SO_PASSSEC:
      int(sock.flags & (1 << S.SOCK_PASSSEC) ? 1 : 0);
      break;
    case S.SO_PEERCRED: {
      // cred_to_ucred(): no peer credentials read as pid 0, uid/gid -1.
      const c = sk.sk_peer_cred;
      const out = new Uint8Array(S.SIZEOF_UCRED);
      const o = new DataView(out.buffer);
      o.setInt32(0, c ? sk.sk_peer_pid : 0, true);
      o.setInt32(4, c ? c.euid : -1, true);
      o.setInt32(8, c ? c.egid : -1, true);
      len = Math.min(len, S.SIZEOF_UCRED);
      if (len > optval.length) return -E.EFAULT;
      optval.set(out.subarray(0, len));
      optlen.value = len;
      return 0;
    }
    case S.SO_PEERNAME: {
      const addr = new Uint8Array(S.SIZEOF_SOCKADDR_STORAGE);
      const n = sock.ops!.getname(sock, addr, true);
      if (n < 0) return -E.ENOTCONN;
      if (n > len) return -E.EINVAL;
      if (n > optval.length) return -E.EFAULT;
      optval.set(addr.subarray(0, n));
      optlen.value = n;
      return 0;
    }
    case S.SO_ACCEPTCONN:
      int(sk.sk_state === TCP_LISTEN ? 1 : 0);
      break;
    case S.SO_PEEK_OFF:
      if (!sock.ops?.set_peek_off) return -E.EOPNOTSUPP;
      int(sk.sk_peek_off);
      break;
    case S.SO_MARK:
      int(sk.sk_mark);
      break;
    case S.SO_NOFCS:
      int(sock_flag(sk, SOCK_NOFCS) ? 1 : 0);
      break;
    case S.SO_RXQ_OVFL:
    case S.SO_WIFI_STATUS:
    case S.SO_SELECT_ERR_QUEUE:
    case S.SO_BUSY_POLL:
    case S.SO_INCOMING_CPU:
      int(optname === S.SO_INCOMING_CPU ? -1 : 0);
      break;
    default:
      // SOCK_DONE is internal; unknown options are ENOPROTOOPT.
      void SOCK_DONE;
      return -E.ENOPROTOOPT;
  }
  if (len > lv) len = lv;
  if (len > optval.length) return -E.EFAULT;
  optval.set(v.subarray(0, len));
  optlen.value = len;
  return 0;
}
