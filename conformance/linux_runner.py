#!/usr/bin/env python3
"""Run usernet conformance scenarios against the real Linux kernel of this machine.

Usage: python3 conformance/linux_runner.py [--filter TEXT] SCENARIO.json|DIR ...

The first line printed is {"sysctl": {...}, "sysctl_text": {...}}: the values of the tunables the
scenarios depend on (numbers, and TCP's as text), read in the network namespace the runner lives
in. Then one JSON object per scenario:
{"name": ..., "results": [ per step: {"ret": ..., "errno": ..., ...} ]}.

Symbolic constants come from Python's socket, select, os, errno, fcntl, termios and resource
modules. The system calls themselves go through libc (ctypes) so that they are made exactly as
the scenario says: Python's socket objects add SOCK_CLOEXEC to every socket, accept() and dup(),
compute address lengths their own way, and have no sendmmsg/recvmmsg. The format of the results
is described in conformance/README.md; usernet_runner.ts produces the same format.
"""

import ctypes
import errno
import fcntl
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import struct
import sys
import tempfile
import termios
import threading
import time

# ---------------------------------------------------------------------------------------------
# Constants

_MODULES = (socket, select, os, errno, fcntl, termios, resource)

# Linux x86_64 values the Python modules may not export.
_EXTRA = {
    "SO_PEEK_OFF": 42,
    "SO_RCVBUFFORCE": 33,
    "SO_SNDBUFFORCE": 32,
    "SO_DOMAIN": 39,
    "SO_PROTOCOL": 38,
    "SO_ACCEPTCONN": 30,
    "SO_PASSCRED": 16,
    "SO_PEERCRED": 17,
    "SO_RCVTIMEO_OLD": 20,
    "SO_SNDTIMEO_OLD": 21,
    "SO_PASSSEC": 34,
    "SO_TIMESTAMP": 29,
    "SO_MARK": 36,
    "SO_COOKIE": 57,
    "SO_PEERGROUPS": 59,
    "SCM_RIGHTS": 1,
    "SCM_CREDENTIALS": 2,
    "SCM_MAX_FD": 253,
    "SIOCINQ": 0x541B,
    "SIOCOUTQ": 0x5411,
    "SIOCOUTQNSD": 0x894B,
    "SIOCATMARK": 0x8905,
    "FIONREAD": 0x541B,
    "FIONBIO": 0x5421,
    "FIOASYNC": 0x5452,
    "TIOCOUTQ": 0x5411,
    "SOCK_DCCP": 6,
    "SOCK_PACKET": 10,
    "SOCK_RDM": 4,
    "AF_UNSPEC": 0,
    "AF_LOCAL": 1,
    "MSG_CMSG_CLOEXEC": 0x40000000,
    "MSG_WAITFORONE": 0x10000,
    "MSG_ERRQUEUE": 0x2000,
    "MSG_MORE": 0x8000,
    "MSG_EOR": 0x80,
    "MSG_OOB": 1,
    "MSG_CONFIRM": 0x800,
    "EPOLL_CTL_ADD": 1,
    "EPOLL_CTL_DEL": 2,
    "EPOLL_CTL_MOD": 3,
    "EPOLL_CLOEXEC": 0o2000000,
    "EPOLLEXCLUSIVE": 1 << 28,
    "EPOLLWAKEUP": 1 << 29,
    "EPOLLONESHOT": 1 << 30,
    "EPOLLET": 1 << 31,
    "EPOLLRDHUP": 0x2000,
    "POLLRDHUP": 0x2000,
    "F_DUPFD_CLOEXEC": 1030,
    "FD_CLOEXEC": 1,
    "O_CLOEXEC": 0o2000000,
    "SOCK_CLOEXEC": 0o2000000,
    "SOCK_NONBLOCK": 0o4000,
    "SOL_SOCKET": 1,
    "SOMAXCONN": 4096,
    # IPv4 (include/uapi/linux/in.h, icmp.h, errqueue.h, udp.h)
    "SOL_IP": 0,
    "SOL_UDP": 17,
    "SOL_RAW": 255,
    "IP_TOS": 1,
    "IP_TTL": 2,
    "IP_HDRINCL": 3,
    "IP_OPTIONS": 4,
    "IP_ROUTER_ALERT": 5,
    "IP_RECVOPTS": 6,
    "IP_RETOPTS": 7,
    "IP_PKTINFO": 8,
    "IP_PKTOPTIONS": 9,
    "IP_MTU_DISCOVER": 10,
    "IP_RECVERR": 11,
    "IP_RECVTTL": 12,
    "IP_RECVTOS": 13,
    "IP_MTU": 14,
    "IP_FREEBIND": 15,
    "IP_PASSSEC": 18,
    "IP_TRANSPARENT": 19,
    "IP_RECVORIGDSTADDR": 20,
    "IP_MINTTL": 21,
    "IP_NODEFRAG": 22,
    "IP_CHECKSUM": 23,
    "IP_BIND_ADDRESS_NO_PORT": 24,
    "IP_RECVFRAGSIZE": 25,
    "IP_RECVERR_RFC4884": 26,
    "IP_MULTICAST_TTL": 33,
    "IP_MULTICAST_LOOP": 34,
    "IP_MULTICAST_ALL": 49,
    "IP_UNICAST_IF": 50,
    "IP_PMTUDISC_DONT": 0,
    "IP_PMTUDISC_WANT": 1,
    "IP_PMTUDISC_DO": 2,
    "IP_PMTUDISC_PROBE": 3,
    "IP_PMTUDISC_INTERFACE": 4,
    "IP_PMTUDISC_OMIT": 5,
    "ICMP_FILTER": 1,
    "UDP_CORK": 1,
    "UDP_ENCAP": 100,
    "UDP_NO_CHECK6_TX": 101,
    "UDP_NO_CHECK6_RX": 102,
    "UDP_SEGMENT": 103,
    "UDP_GRO": 104,
    "IPPROTO_IP": 0,
    "IPPROTO_ICMP": 1,
    "IPPROTO_TCP": 6,
    "IPPROTO_UDP": 17,
    "IPPROTO_UDPLITE": 136,
    "IPPROTO_RAW": 255,
    "MSG_PROBE": 0x10,
    "MSG_DONTROUTE": 4,
    "SO_BINDTODEVICE": 25,
    "SO_NO_CHECK": 11,
    "SO_PRIORITY": 12,
    # TCP (include/uapi/linux/tcp.h)
    "SOL_TCP": 6,
    "TCP_MD5SIG": 14,
    "TCP_THIN_LINEAR_TIMEOUTS": 16,
    "TCP_THIN_DUPACK": 17,
    "TCP_REPAIR": 19,
    "TCP_FASTOPEN": 23,
    "TCP_TIMESTAMP": 24,
    "TCP_SAVE_SYN": 27,
    "TCP_FASTOPEN_CONNECT": 30,
    "TCP_ULP": 31,
    "TCP_FASTOPEN_NO_COOKIE": 34,
    "TCP_INQ": 36,
    "TCP_CM_INQ": 36,
    "TCP_TX_DELAY": 37,
    "SO_OOBINLINE": 10,
    "SO_KEEPALIVE": 9,
    "SO_REUSEPORT": 15,
    "MSG_NOSIGNAL": 0x4000,
}

_NUM = re.compile(r"^-?(0x[0-9a-fA-F]+|0o[0-7]+|0[0-7]+|[0-9]+)$")


def const(name):
    """The value of one symbolic name."""
    if name in _EXTRA:
        return _EXTRA[name]
    for m in _MODULES:
        v = getattr(m, name, None)
        if isinstance(v, int) and not isinstance(v, bool):
            return int(v)
    raise ScenarioError("unknown constant " + name)


def num(text):
    t = text.strip()
    neg = t.startswith("-")
    if neg:
        t = t[1:]
    if t.startswith(("0x", "0X")):
        v = int(t, 16)
    elif t.startswith(("0o", "0O")):
        v = int(t[2:], 8)
    elif len(t) > 1 and t.startswith("0"):
        v = int(t, 8)
    else:
        v = int(t, 10)
    return -v if neg else v


def value(expr):
    """A number, or a string such as "SOCK_STREAM|SOCK_NONBLOCK", "0755" (octal) or "0x10"."""
    if expr is None:
        return 0
    if isinstance(expr, bool):
        return int(expr)
    if isinstance(expr, int):
        return expr
    if isinstance(expr, str):
        total = 0
        for part in expr.split("|"):
            p = part.strip()
            if _NUM.match(p):
                total |= num(p)
            else:
                total |= const(p)
        return total
    raise ScenarioError("bad value %r" % (expr,))


def decode_bits(v, names):
    """Render a bit mask with the given names in order; unknown bits in hex."""
    if v == 0:
        return "0"
    out = []
    rest = v
    for n in names:
        try:
            b = const(n)
        except ScenarioError:
            continue
        if b and (rest & b) == b:
            out.append(n)
            rest &= ~b
    if rest:
        out.append(hex(rest))
    return "|".join(out)


POLL_NAMES = [
    "POLLIN", "POLLPRI", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL", "POLLRDNORM",
    "POLLRDBAND", "POLLWRNORM", "POLLWRBAND", "POLLMSG", "POLLRDHUP",
]
EPOLL_NAMES = [
    "EPOLLIN", "EPOLLPRI", "EPOLLOUT", "EPOLLERR", "EPOLLHUP", "EPOLLNVAL", "EPOLLRDNORM",
    "EPOLLRDBAND", "EPOLLWRNORM", "EPOLLWRBAND", "EPOLLMSG", "EPOLLRDHUP",
]
# Names of SOL_IP control messages in results.
SOL_IP_CMSG = {1: "IP_TOS", 2: "IP_TTL", 8: "IP_PKTINFO", 11: "IP_RECVERR", 20: "IP_ORIGDSTADDR"}
# Names of SOL_TCP control messages in results.
SOL_TCP_CMSG = {36: "TCP_CM_INQ"}

# struct tcp_info (include/uapi/linux/tcp.h): (field, byte offset, kind). A kind "bits:S:N" is an
# N-bit field starting at bit S of the byte. Results show the fields a step names in "fields";
# tcpi_state, tcpi_ca_state and tcpi_options by name. usernet_runner.ts reads the same layout.
TCP_INFO_FIELDS = [
    ("tcpi_state", 0, "u8"), ("tcpi_ca_state", 1, "u8"), ("tcpi_retransmits", 2, "u8"),
    ("tcpi_probes", 3, "u8"), ("tcpi_backoff", 4, "u8"), ("tcpi_options", 5, "u8"),
    ("tcpi_snd_wscale", 6, "bits:0:4"), ("tcpi_rcv_wscale", 6, "bits:4:4"),
    ("tcpi_delivery_rate_app_limited", 7, "bits:0:1"), ("tcpi_fastopen_client_fail", 7, "bits:1:2"),
] + [(n, 8 + 4 * i, "u32") for i, n in enumerate([
    "tcpi_rto", "tcpi_ato", "tcpi_snd_mss", "tcpi_rcv_mss", "tcpi_unacked", "tcpi_sacked",
    "tcpi_lost", "tcpi_retrans", "tcpi_fackets", "tcpi_last_data_sent", "tcpi_last_ack_sent",
    "tcpi_last_data_recv", "tcpi_last_ack_recv", "tcpi_pmtu", "tcpi_rcv_ssthresh", "tcpi_rtt",
    "tcpi_rttvar", "tcpi_snd_ssthresh", "tcpi_snd_cwnd", "tcpi_advmss", "tcpi_reordering",
    "tcpi_rcv_rtt", "tcpi_rcv_space", "tcpi_total_retrans"])] + [
    ("tcpi_pacing_rate", 104, "u64"), ("tcpi_max_pacing_rate", 112, "u64"),
    ("tcpi_bytes_acked", 120, "u64"), ("tcpi_bytes_received", 128, "u64"),
    ("tcpi_segs_out", 136, "u32"), ("tcpi_segs_in", 140, "u32"), ("tcpi_notsent_bytes", 144, "u32"),
    ("tcpi_min_rtt", 148, "u32"), ("tcpi_data_segs_in", 152, "u32"),
    ("tcpi_data_segs_out", 156, "u32"), ("tcpi_delivery_rate", 160, "u64"),
    ("tcpi_busy_time", 168, "u64"), ("tcpi_rwnd_limited", 176, "u64"),
    ("tcpi_sndbuf_limited", 184, "u64"), ("tcpi_delivered", 192, "u32"),
    ("tcpi_delivered_ce", 196, "u32"), ("tcpi_bytes_sent", 200, "u64"),
    ("tcpi_bytes_retrans", 208, "u64"), ("tcpi_dsack_dups", 216, "u32"),
    ("tcpi_reord_seen", 220, "u32"), ("tcpi_rcv_ooopack", 224, "u32"), ("tcpi_snd_wnd", 228, "u32"),
    ("tcpi_rcv_wnd", 232, "u32"), ("tcpi_rehash", 236, "u32"), ("tcpi_total_rto", 240, "u16"),
    ("tcpi_total_rto_recoveries", 242, "u16"), ("tcpi_total_rto_time", 244, "u32"),
]
TCP_STATES = [
    None, "TCP_ESTABLISHED", "TCP_SYN_SENT", "TCP_SYN_RECV", "TCP_FIN_WAIT1", "TCP_FIN_WAIT2",
    "TCP_TIME_WAIT", "TCP_CLOSE", "TCP_CLOSE_WAIT", "TCP_LAST_ACK", "TCP_LISTEN", "TCP_CLOSING",
    "TCP_NEW_SYN_RECV", "TCP_BOUND_INACTIVE",
]
TCP_CA_STATES = ["TCP_CA_Open", "TCP_CA_Disorder", "TCP_CA_CWR", "TCP_CA_Recovery", "TCP_CA_Loss"]
TCPI_OPT_NAMES = [
    "TCPI_OPT_TIMESTAMPS", "TCPI_OPT_SACK", "TCPI_OPT_WSCALE", "TCPI_OPT_ECN", "TCPI_OPT_ECN_SEEN",
    "TCPI_OPT_SYN_DATA", "TCPI_OPT_USEC_TS", "TCPI_OPT_TFO_CHILD",
]
# Room given to getsockopt(TCP_INFO) unless the step says "optlen".
TCP_INFO_ROOM = 512

MSG_NAMES = [
    "MSG_OOB", "MSG_PEEK", "MSG_DONTROUTE", "MSG_CTRUNC", "MSG_TRUNC", "MSG_DONTWAIT", "MSG_EOR",
    "MSG_WAITALL", "MSG_ERRQUEUE", "MSG_NOSIGNAL", "MSG_MORE", "MSG_CMSG_CLOEXEC",
]

OPT_KIND = {
    "SO_LINGER": "linger",
    "SO_RCVTIMEO": "timeval",
    "SO_SNDTIMEO": "timeval",
    "SO_RCVTIMEO_OLD": "timeval",
    "SO_SNDTIMEO_OLD": "timeval",
    "SO_PEERCRED": "ucred",
    "TCP_INFO": "tcp_info",
    "TCP_CONGESTION": "string",
    "TCP_ULP": "string",
}

# Ioctls that write an int back; the others report the system call's return value.
IOCTL_OUT = {"FIONREAD", "SIOCINQ", "SIOCOUTQ", "TIOCOUTQ", "SIOCOUTQNSD", "SIOCATMARK"}

# Seconds a background step gets to block in its system call before the next step runs.
BG_SETTLE = 0.05

SYSCTLS = [
    "net.core.rmem_max",
    "net.core.wmem_max",
    "net.core.rmem_default",
    "net.core.wmem_default",
    "net.core.somaxconn",
    "net.core.optmem_max",
    "net.unix.max_dgram_qlen",
]

# TCP tunables, read as text (some are vectors). usernet applies those it has: they follow the
# kernel version and the machine's memory (tcp_rmem[2], for one, sets the window scale). The
# default congestion control is left out: scenarios name the algorithm they check.
SYSCTLS_TEXT = [
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.ipv4.tcp_timestamps",
    "net.ipv4.tcp_sack",
    "net.ipv4.tcp_window_scaling",
    "net.ipv4.tcp_ecn",
    "net.ipv4.tcp_syn_retries",
    "net.ipv4.tcp_synack_retries",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_notsent_lowat",
    "net.ipv4.tcp_autocorking",
    "net.ipv4.tcp_moderate_rcvbuf",
    "net.ipv4.tcp_tw_reuse",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_fastopen",
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.tcp_base_mss",
    "net.ipv4.tcp_mtu_probing",
    "net.ipv4.tcp_min_snd_mss",
    "net.ipv4.tcp_adv_win_scale",
    "net.ipv4.tcp_app_win",
    "net.ipv4.tcp_no_metrics_save",
    "net.ipv4.tcp_slow_start_after_idle",
]


# errno.errorcode keeps the last of several names of a number; results use the first, as Linux's
# errno.h defines them.
ERRNO_NAME = dict(errno.errorcode)
ERRNO_NAME.update({errno.EAGAIN: "EAGAIN", errno.EOPNOTSUPP: "EOPNOTSUPP", errno.EDEADLK: "EDEADLK"})


def errname(e):
    return ERRNO_NAME.get(e, str(e))


class ScenarioError(Exception):
    """A mistake in a scenario file (not a result to compare)."""


class Timeout(Exception):
    pass


class SysErr(Exception):
    def __init__(self, e):
        super().__init__(e)
        self.errno = e


# ---------------------------------------------------------------------------------------------
# libc

libc = ctypes.CDLL(None, use_errno=True)
c_int, c_uint, c_size_t, c_ssize_t, c_void_p = (
    ctypes.c_int, ctypes.c_uint, ctypes.c_size_t, ctypes.c_ssize_t, ctypes.c_void_p)
c_uint32 = ctypes.c_uint32
c_long = ctypes.c_long


class Iovec(ctypes.Structure):
    _fields_ = [("iov_base", c_void_p), ("iov_len", c_size_t)]


class Msghdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", c_void_p),
        ("msg_namelen", c_uint32),
        ("msg_iov", ctypes.POINTER(Iovec)),
        ("msg_iovlen", c_size_t),
        ("msg_control", c_void_p),
        ("msg_controllen", c_size_t),
        ("msg_flags", c_int),
    ]


class Mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", Msghdr), ("msg_len", c_uint)]


class Pollfd(ctypes.Structure):
    _fields_ = [("fd", c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]


class EpollEvent(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("events", c_uint32), ("data", ctypes.c_uint64)]


class Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", c_long), ("tv_usec", c_long)]


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", c_long), ("tv_nsec", c_long)]


class FdSet(ctypes.Structure):
    _fields_ = [("bits", ctypes.c_ulong * 16)]


def _fn(name, res, *args):
    f = getattr(libc, name)
    f.restype = res
    f.argtypes = list(args)
    return f


L = type("L", (), {})()
L.socket = _fn("socket", c_int, c_int, c_int, c_int)
L.socketpair = _fn("socketpair", c_int, c_int, c_int, c_int, ctypes.POINTER(c_int))
L.bind = _fn("bind", c_int, c_int, c_void_p, c_uint32)
L.connect = _fn("connect", c_int, c_int, c_void_p, c_uint32)
L.listen = _fn("listen", c_int, c_int, c_int)
L.accept4 = _fn("accept4", c_int, c_int, c_void_p, ctypes.POINTER(c_uint32), c_int)
L.getsockname = _fn("getsockname", c_int, c_int, c_void_p, ctypes.POINTER(c_uint32))
L.getpeername = _fn("getpeername", c_int, c_int, c_void_p, ctypes.POINTER(c_uint32))
L.send = _fn("send", c_ssize_t, c_int, c_void_p, c_size_t, c_int)
L.sendto = _fn("sendto", c_ssize_t, c_int, c_void_p, c_size_t, c_int, c_void_p, c_uint32)
L.sendmsg = _fn("sendmsg", c_ssize_t, c_int, ctypes.POINTER(Msghdr), c_int)
L.sendmmsg = _fn("sendmmsg", c_int, c_int, ctypes.POINTER(Mmsghdr), c_uint, c_int)
L.recv = _fn("recv", c_ssize_t, c_int, c_void_p, c_size_t, c_int)
L.recvfrom = _fn(
    "recvfrom", c_ssize_t, c_int, c_void_p, c_size_t, c_int, c_void_p, ctypes.POINTER(c_uint32))
L.recvmsg = _fn("recvmsg", c_ssize_t, c_int, ctypes.POINTER(Msghdr), c_int)
L.recvmmsg = _fn(
    "recvmmsg", c_int, c_int, ctypes.POINTER(Mmsghdr), c_uint, c_int, ctypes.POINTER(Timespec))
L.shutdown = _fn("shutdown", c_int, c_int, c_int)
L.setsockopt = _fn("setsockopt", c_int, c_int, c_int, c_int, c_void_p, c_uint32)
L.getsockopt = _fn("getsockopt", c_int, c_int, c_int, c_int, c_void_p, ctypes.POINTER(c_uint32))
L.read = _fn("read", c_ssize_t, c_int, c_void_p, c_size_t)
L.write = _fn("write", c_ssize_t, c_int, c_void_p, c_size_t)
L.readv = _fn("readv", c_ssize_t, c_int, ctypes.POINTER(Iovec), c_int)
L.writev = _fn("writev", c_ssize_t, c_int, ctypes.POINTER(Iovec), c_int)
L.close = _fn("close", c_int, c_int)
L.dup = _fn("dup", c_int, c_int)
L.dup2 = _fn("dup2", c_int, c_int, c_int)
L.dup3 = _fn("dup3", c_int, c_int, c_int, c_int)
L.fcntl = _fn("fcntl", c_int, c_int, c_int, c_long)
L.ioctl = _fn("ioctl", c_int, c_int, ctypes.c_ulong, c_void_p)
L.poll = _fn("poll", c_int, ctypes.POINTER(Pollfd), ctypes.c_ulong, c_int)
L.select = _fn(
    "select", c_int, c_int, ctypes.POINTER(FdSet), ctypes.POINTER(FdSet), ctypes.POINTER(FdSet),
    ctypes.POINTER(Timeval))
L.epoll_create1 = _fn("epoll_create1", c_int, c_int)
L.epoll_ctl = _fn("epoll_ctl", c_int, c_int, c_int, c_int, ctypes.POINTER(EpollEvent))
L.epoll_wait = _fn("epoll_wait", c_int, c_int, ctypes.POINTER(EpollEvent), c_int, c_int)


def check(r):
    if r < 0:
        e = ctypes.get_errno()
        raise SysErr(e)
    return r


# ---------------------------------------------------------------------------------------------
# Data, addresses

_AUTOBIND = re.compile(r"^[0-9a-f]{5}$")


def fnv(b):
    h = 0x811C9DC5
    for x in b:
        h ^= x
        h = (h * 0x01000193) & 0xFFFFFFFF
    return "%08x" % h


def fmt_data(b):
    """How received bytes appear in a result."""
    b = bytes(b)
    if len(b) <= 200 and all(0x20 <= x < 0x7F for x in b):
        return b.decode("ascii")
    if len(b) <= 64:
        return "hex:" + b.hex()
    return "len:%d:fnv:%s" % (len(b), fnv(b))


def make_data(spec):
    """Bytes to send: "text", {"hex": "00ff"} or {"fill": N, "byte": "x"}."""
    if spec is None:
        return b""
    if isinstance(spec, str):
        return spec.encode("utf-8")
    if isinstance(spec, dict):
        if "hex" in spec:
            return bytes.fromhex(spec["hex"])
        if "fill" in spec:
            pat = spec.get("byte", "x").encode("utf-8")
            n = spec["fill"]
            return (pat * (n // len(pat) + 1))[:n]
    raise ScenarioError("bad data %r" % (spec,))


def iov_list(spec):
    """An iovec list: a list, or {"repeat": element, "count": n}."""
    if isinstance(spec, dict):
        return [spec["repeat"]] * spec["count"]
    return spec


def _escape(b):
    out = []
    for x in b:
        if 0x20 <= x < 0x7F and x != 0x5C:
            out.append(chr(x))
        else:
            out.append("\\x%02x" % x)
    return "".join(out)


class Ctx:
    """The state of one scenario on Linux."""

    def __init__(self, directory, base):
        self.dir = directory
        self.base = base
        self.names = {}
        self.paths = {}
        self.autobind = {}
        self.opened = set()
        self.bg = {}
        self.known_ports = set()
        self.eph = {}
        self.sysctl_restore = []

    # -- fds ----------------------------------------------------------------------------------

    def fd(self, ref):
        if isinstance(ref, bool):
            raise ScenarioError("bad fd %r" % (ref,))
        if isinstance(ref, int):
            return ref
        if isinstance(ref, str):
            if ref not in self.names:
                raise ScenarioError("unknown fd name " + ref)
            return self.names[ref]
        if isinstance(ref, dict) and "rel" in ref:
            return self.base + ref["rel"]
        raise ScenarioError("bad fd %r" % (ref,))

    def got_fd(self, fd, name=None):
        self.opened.add(fd)
        if name:
            self.names[name] = fd
        return fd - self.base

    # -- paths --------------------------------------------------------------------------------

    def path(self, spec):
        """A scenario path: "$DIR/x" or {"path": "$DIR/", "pad_to": 108}."""
        if isinstance(spec, dict):
            p = spec["path"].replace("$DIR", self.dir)
            if "pad_to" in spec:
                n = spec["pad_to"]
                if len(p) > n:
                    raise ScenarioError("path longer than pad_to")
                sym = spec["path"] + "<pad:%d>" % n
                p = p + "x" * (n - len(p))
                self.paths[p] = sym
            return p
        return spec.replace("$DIR", self.dir)

    # -- IPv4 ports -----------------------------------------------------------------------------

    def port(self, p):
        """A port in a result: a port the scenario names stays a number, others (ephemeral) are
        compared by identity as <eph1>, <eph2>, ..."""
        if p == 0 or p in self.known_ports:
            return p
        if p not in self.eph:
            self.eph[p] = "<eph%d>" % (len(self.eph) + 1)
        return self.eph[p]

    def inet_sockaddr(self, spec):
        """(bytes, addrlen) for {"inet": "a.b.c.d", "port": n | "port_of": fd}."""
        family = value(spec.get("family", "AF_INET"))
        port = spec.get("port", 0)
        if "port_of" in spec:
            name = ctypes.create_string_buffer(128)
            ln = c_uint32(128)
            check(L.getsockname(self.fd(spec["port_of"]), name, ctypes.byref(ln)))
            port = struct.unpack("!H", name.raw[2:4])[0]
        buf = struct.pack("=H", family) + struct.pack("!H", value(port)) + socket.inet_aton(spec.get("inet", "0.0.0.0"))
        n = spec.get("len", 16)
        return buf + b"\0" * (128 - len(buf)), n

    def sockaddr(self, spec):
        """(bytes, addrlen) for an address spec."""
        if spec is None:
            return None, 0
        if "inet" in spec or "port_of" in spec:
            return self.inet_sockaddr(spec)
        if "raw" in spec:
            b = bytes.fromhex(spec["raw"])
            n = spec.get("len", len(b))
            return b[:n] + b"\0" * max(0, max(n, 128) - min(len(b), n)), n
        family = value(spec.get("family", "AF_UNIX"))
        if "abstract" in spec:
            name = b"\0" + spec["abstract"].encode("utf-8")
        elif "path" in spec:
            name = self.path(spec).encode("utf-8")
        else:
            name = b""
        if "len" in spec:
            n = spec["len"]
        elif not name:
            n = 2
        elif name[0] == 0 or spec.get("nul", True) is False:
            n = 2 + len(name)
        else:
            n = 2 + len(name) + 1
        buf = struct.pack("=H", family) + name
        buf = buf + b"\0" * max(0, max(n, 128) - len(buf))
        return buf, n

    def parse_addr(self, buf, n):
        if n == 0:
            return None
        b = bytes(buf)[: max(n, 0)]
        if n < 2:
            return {"family": None, "path": "", "lenx": n - 2}
        family = struct.unpack("=H", b[:2])[0]
        if family == socket.AF_INET:
            port = struct.unpack("!H", b[2:4])[0] if n >= 4 else 0
            addr = socket.inet_ntoa(b[4:8]) if n >= 8 else "0.0.0.0"
            return {"family": "AF_INET", "addr": addr, "port": self.port(port), "len": n}
        fam = "AF_UNIX" if family == socket.AF_UNIX else family
        raw = b[2:n]
        if not raw:
            return {"family": fam, "path": "", "lenx": 0}
        if raw[0] == 0:
            name = raw[1:]
            try:
                text = name.decode("ascii")
            except UnicodeDecodeError:
                text = None
            if text is not None and _AUTOBIND.match(text):
                if text not in self.autobind:
                    self.autobind[text] = "@<auto%d>" % (len(self.autobind) + 1)
                return {"family": fam, "path": self.autobind[text], "lenx": 0}
            return {"family": fam, "path": "@" + _escape(name), "lenx": 0}
        nul = raw.find(b"\0")
        pathb = raw if nul < 0 else raw[:nul]
        p = pathb.decode("utf-8", "backslashreplace")
        if p in self.paths:
            sp = self.paths[p]
        elif p == self.dir or p.startswith(self.dir + "/"):
            sp = "$DIR" + p[len(self.dir):]
        else:
            sp = _escape(pathb)
        return {"family": fam, "path": sp, "lenx": len(raw) - len(pathb)}


# ---------------------------------------------------------------------------------------------
# The calls


def _buf(data):
    return ctypes.create_string_buffer(data, max(len(data), 1))


def _iovecs(bufs):
    arr = (Iovec * max(len(bufs), 1))()
    for i, (b, n) in enumerate(bufs):
        arr[i].iov_base = ctypes.cast(b, c_void_p)
        arr[i].iov_len = n
    return arr


def _cmsgs(ctx, specs):
    out = b""
    for c in specs or []:
        level = value(c.get("level", "SOL_SOCKET"))
        ctype = value(c["type"])
        if "fds" in c:
            fds = c["fds"]
            if isinstance(fds, dict):  # {"repeat": ref, "count": n}
                fds = [fds["repeat"]] * fds["count"]
            data = b"".join(struct.pack("=i", ctx.fd(f)) for f in fds)
        elif "cred" in c:
            cr = c["cred"]
            pid = os.getpid() if cr.get("pid", "self") == "self" else cr["pid"]
            data = struct.pack("=iII", pid, value(cr.get("uid", 0)), value(cr.get("gid", 0)))
        else:
            data = make_data(c.get("data"))
        ln = 16 + len(data)
        sp = (ln + 7) & ~7
        out += struct.pack("=QiI", ln, level, ctype) + data + b"\0" * (sp - ln)
    return out


def _parse_cmsgs(ctx, buf, used, names):
    out = []
    raw = bytes(buf)[:used]
    off = 0
    ni = 0
    while off + 16 <= len(raw):
        ln, level, ctype = struct.unpack_from("=QiI", raw, off)
        if ln < 16:
            break
        data = raw[off + 16: off + ln]
        c = {"level": "SOL_SOCKET" if level == socket.SOL_SOCKET else level}
        if level == socket.SOL_SOCKET and ctype == const("SCM_RIGHTS"):
            c["type"] = "SCM_RIGHTS"
            fds = []
            for i in range(len(data) // 4):
                fd = struct.unpack_from("=i", data, i * 4)[0]
                name = names[ni] if names and ni < len(names) else None
                ni += 1
                fds.append(ctx.got_fd(fd, name))
            c["fds"] = fds
        elif level == socket.SOL_SOCKET and ctype == const("SCM_CREDENTIALS") and len(data) >= 12:
            c["type"] = "SCM_CREDENTIALS"
            pid, uid, gid = struct.unpack_from("=iII", data, 0)
            c["cred"] = {"pid": "self" if pid == os.getpid() else pid, "uid": uid, "gid": gid}
        elif level == socket.SOL_SOCKET and ctype == const("SCM_CREDENTIALS"):
            # Cut short by MSG_CTRUNC: only the length (the bytes start with the pid).
            c["type"] = "SCM_CREDENTIALS"
            c["data"] = "len:%d" % len(data)
        elif level == 6 and ctype in SOL_TCP_CMSG and len(data) >= 4:
            c = {"level": "SOL_TCP", "type": SOL_TCP_CMSG[ctype], "value": struct.unpack("=i", data[:4])[0]}
        elif level == 0 and ctype in SOL_IP_CMSG:
            c = {"level": "SOL_IP", "type": SOL_IP_CMSG[ctype]}
            c.update(_ip_cmsg(ctx, ctype, data))
        else:
            c["type"] = ctype
            c["data"] = "hex:" + data.hex()
        out.append(c)
        off += (ln + 7) & ~7
    return out


def _ip_cmsg(ctx, ctype, data):
    """The decoded fields of a SOL_IP control message."""
    if ctype == 2 and len(data) >= 4:
        return {"value": struct.unpack("=i", data[:4])[0]}
    if ctype == 1 and len(data) >= 1:
        return {"value": data[0]}
    if ctype == 8 and len(data) >= 12:
        ifindex = struct.unpack("=i", data[:4])[0]
        return {"ifindex": ifindex, "spec_dst": socket.inet_ntoa(data[4:8]), "addr": socket.inet_ntoa(data[8:12])}
    if ctype == 11 and len(data) >= 16:
        ee_errno, origin, etype, ecode, _pad, info, edata = struct.unpack("=IBBBBII", data[:16])
        out = {"ee_errno": errname(ee_errno), "origin": origin, "ee_type": etype, "ee_code": ecode,
               "info": info, "ee_data": edata}
        if len(data) >= 32:
            fam = struct.unpack("=H", data[16:18])[0]
            out["offender"] = socket.inet_ntoa(data[20:24]) if fam == socket.AF_INET else None
        return out
    if ctype == 20 and len(data) >= 8:
        return {"addr": socket.inet_ntoa(data[4:8]), "port": ctx.port(struct.unpack("!H", data[2:4])[0])}
    return {"data": "hex:" + data.hex()}


def _msghdr(ctx, m, keep):
    """A struct msghdr for sending, from {"iov": [...], "name": addr, "control": [...]}."""
    h = Msghdr()
    datas = [make_data(d) for d in iov_list(m.get("iov", []))]
    bufs = [(_buf(d), len(d)) for d in datas]
    iov = _iovecs(bufs)
    keep.extend([bufs, iov])
    h.msg_iov = ctypes.cast(iov, ctypes.POINTER(Iovec))
    h.msg_iovlen = len(bufs)
    if m.get("name") is not None:
        a, n = ctx.sockaddr(m["name"])
        ab = _buf(a)
        keep.append(ab)
        h.msg_name = ctypes.cast(ab, c_void_p)
        h.msg_namelen = n
    ctl = _cmsgs(ctx, m.get("control"))
    if ctl:
        cb = _buf(ctl)
        keep.append(cb)
        h.msg_control = ctypes.cast(cb, c_void_p)
        h.msg_controllen = len(ctl)
    return h


def _recv_hdr(m, keep):
    sizes = iov_list(m.get("iov", [m.get("size", 0)]))
    bufs = [(ctypes.create_string_buffer(max(s, 1)), s) for s in sizes]
    iov = _iovecs(bufs)
    name = ctypes.create_string_buffer(128)
    cl = m.get("controllen", 0)
    ctl = ctypes.create_string_buffer(max(cl, 1))
    keep.extend([bufs, iov, name, ctl])
    h = Msghdr()
    h.msg_iov = ctypes.cast(iov, ctypes.POINTER(Iovec))
    h.msg_iovlen = len(bufs)
    h.msg_name = ctypes.cast(name, c_void_p)
    h.msg_namelen = 128
    h.msg_control = ctypes.cast(ctl, c_void_p) if cl else None
    h.msg_controllen = cl
    return h, bufs, name, ctl


def _gather(bufs, n):
    out = b""
    for b, s in bufs:
        take = min(s, n - len(out))
        if take > 0:
            out += b.raw[:take]
    return out


def _recv_result(ctx, h, n, bufs, name, ctl, names):
    return {
        "ret": n,
        "data": fmt_data(_gather(bufs, n)),
        "flags": decode_bits(h.msg_flags, MSG_NAMES),
        "addr": ctx.parse_addr(name, h.msg_namelen),
        "control": _parse_cmsgs(ctx, ctl, h.msg_controllen if h.msg_control else 0, names),
    }


def _sockopt_bytes(v):
    if isinstance(v, dict):
        if "hex" in v:
            return bytes.fromhex(v["hex"])
        if "text" in v:
            return v["text"].encode("utf-8")
        if "l_onoff" in v:
            return struct.pack("=ii", value(v["l_onoff"]), value(v.get("l_linger", 0)))
        if "tv_sec" in v:
            return struct.pack("=qq", value(v["tv_sec"]), value(v.get("tv_usec", 0)))
    return struct.pack("=i", value(v))


def _u64(v):
    """A 64-bit counter: a number when JavaScript holds it exactly, else its decimal text."""
    return v if v <= 2**53 - 1 else str(v)


def tcp_info(raw, fields):
    """The named fields of a struct tcp_info; a field beyond the bytes returned is null."""
    if not isinstance(fields, list) or not fields:
        raise ScenarioError("getsockopt TCP_INFO needs \"fields\": [names]")
    layout = {n: (off, kind) for n, off, kind in TCP_INFO_FIELDS}
    out = {}
    for name in fields:
        if name not in layout:
            raise ScenarioError("unknown tcp_info field " + name)
        off, kind = layout[name]
        if kind.startswith("bits:"):
            _b, start, width = kind.split(":")
            size = 1
        else:
            size = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}[kind]
        if off + size > len(raw):
            out[name] = None
            continue
        if kind.startswith("bits:"):
            v = (raw[off] >> int(start)) & ((1 << int(width)) - 1)
        else:
            v = int.from_bytes(raw[off: off + size], "little")
        if name == "tcpi_state":
            v = TCP_STATES[v] if 0 < v < len(TCP_STATES) else v
        elif name == "tcpi_ca_state":
            v = TCP_CA_STATES[v] if v < len(TCP_CA_STATES) else v
        elif name == "tcpi_options":
            v = _bit_names(v, TCPI_OPT_NAMES)
        elif kind == "u64":
            v = _u64(v)
        out[name] = v
    return out


def _bit_names(v, names):
    """Bit i named names[i]; bits beyond the list in hex."""
    if v == 0:
        return "0"
    out = [n for i, n in enumerate(names) if v & (1 << i)]
    rest = v & ~((1 << len(names)) - 1)
    if rest:
        out.append(hex(rest))
    return "|".join(out)


def _timeout_ms(step, key="timeout"):
    return value(step.get(key, 0))


def _fdset(fds):
    s = FdSet()
    for fd in fds:
        s.bits[fd // 64] |= 1 << (fd % 64)
    return s


def _isset(s, fd):
    return bool(s.bits[fd // 64] & (1 << (fd % 64)))


def run_step(ctx, st):
    call = st["call"]
    keep = []
    if call == "socket":
        fd = check(L.socket(value(st["domain"]), value(st["type"]), value(st.get("protocol", 0))))
        return {"ret": ctx.got_fd(fd, st.get("as"))}
    if call == "socketpair":
        sv = (c_int * 2)()
        check(L.socketpair(value(st["domain"]), value(st["type"]), value(st.get("protocol", 0)), sv))
        names = st.get("as") or [None, None]
        return {"ret": 0, "fds": [ctx.got_fd(sv[0], names[0]), ctx.got_fd(sv[1], names[1])]}
    if call in ("bind", "connect"):
        a, n = ctx.sockaddr(st.get("addr"))
        b = _buf(a or b"")
        check((L.bind if call == "bind" else L.connect)(ctx.fd(st["fd"]), b, n))
        return {"ret": 0}
    if call == "sysctl":
        # Written in the runner's namespace and restored after the scenario.
        path = "/proc/sys/" + st["name"].replace(".", "/")
        with open(path, encoding="ascii") as fh:
            old = fh.read()
        ctx.sysctl_restore.append((path, old))
        try:
            with open(path, "w", encoding="ascii") as fh:
                fh.write(str(st["value"]))
        except OSError as e:
            raise SysErr(e.errno)
        return {"ret": 0}
    if call == "listen":
        check(L.listen(ctx.fd(st["fd"]), value(st.get("backlog", 0))))
        return {"ret": 0}
    if call == "accept":
        name = ctypes.create_string_buffer(128)
        ln = c_uint32(128)
        fd = check(L.accept4(ctx.fd(st["fd"]), name, ctypes.byref(ln), value(st.get("flags", 0))))
        return {"ret": ctx.got_fd(fd, st.get("as")), "addr": ctx.parse_addr(name, ln.value)}
    if call in ("getsockname", "getpeername"):
        name = ctypes.create_string_buffer(128)
        ln = c_uint32(128)
        check(getattr(L, call)(ctx.fd(st["fd"]), name, ctypes.byref(ln)))
        return {"ret": 0, "addr": ctx.parse_addr(name, ln.value)}
    if call in ("send", "write"):
        d = make_data(st.get("data"))
        b = _buf(d)
        if call == "send":
            n = check(L.send(ctx.fd(st["fd"]), b, len(d), value(st.get("flags", 0))))
        else:
            n = check(L.write(ctx.fd(st["fd"]), b, len(d)))
        return {"ret": n}
    if call == "sendto":
        d = make_data(st.get("data"))
        b = _buf(d)
        a, an = ctx.sockaddr(st.get("addr"))
        ab = _buf(a) if a is not None else None
        n = check(L.sendto(ctx.fd(st["fd"]), b, len(d), value(st.get("flags", 0)), ab, an))
        return {"ret": n}
    if call in ("writev",):
        datas = [make_data(x) for x in iov_list(st.get("iov", []))]
        bufs = [(_buf(x), len(x)) for x in datas]
        iov = _iovecs(bufs)
        return {"ret": check(L.writev(ctx.fd(st["fd"]), iov, len(bufs)))}
    if call == "sendmsg":
        h = _msghdr(ctx, st, keep)
        return {"ret": check(L.sendmsg(ctx.fd(st["fd"]), ctypes.byref(h), value(st.get("flags", 0))))}
    if call == "sendmmsg":
        msgs = st.get("msgs", [])
        arr = (Mmsghdr * max(len(msgs), 1))()
        for i, m in enumerate(msgs):
            arr[i].msg_hdr = _msghdr(ctx, m, keep)
        n = check(L.sendmmsg(ctx.fd(st["fd"]), arr, len(msgs), value(st.get("flags", 0))))
        return {"ret": n}
    if call in ("recv", "read"):
        size = st.get("size", 0)
        b = ctypes.create_string_buffer(max(size, 1))
        if call == "recv":
            n = check(L.recv(ctx.fd(st["fd"]), b, size, value(st.get("flags", 0))))
        else:
            n = check(L.read(ctx.fd(st["fd"]), b, size))
        return {"ret": n, "data": fmt_data(b.raw[: min(n, size)])}
    if call == "recvfrom":
        size = st.get("size", 0)
        b = ctypes.create_string_buffer(max(size, 1))
        name = ctypes.create_string_buffer(128)
        ln = c_uint32(128)
        n = check(L.recvfrom(ctx.fd(st["fd"]), b, size, value(st.get("flags", 0)), name, ctypes.byref(ln)))
        return {"ret": n, "data": fmt_data(b.raw[: min(n, size)]), "addr": ctx.parse_addr(name, ln.value)}
    if call == "readv":
        sizes = iov_list(st.get("iov", []))
        bufs = [(ctypes.create_string_buffer(max(s, 1)), s) for s in sizes]
        iov = _iovecs(bufs)
        n = check(L.readv(ctx.fd(st["fd"]), iov, len(bufs)))
        return {"ret": n, "data": fmt_data(_gather(bufs, n))}
    if call == "recvmsg":
        h, bufs, name, ctl = _recv_hdr(st, keep)
        n = check(L.recvmsg(ctx.fd(st["fd"]), ctypes.byref(h), value(st.get("flags", 0))))
        return _recv_result(ctx, h, n, bufs, name, ctl, st.get("fds_as"))
    if call == "recvmmsg":
        msgs = st.get("msgs", [])
        arr = (Mmsghdr * max(len(msgs), 1))()
        parts = []
        for i, m in enumerate(msgs):
            h, bufs, name, ctl = _recv_hdr(m, keep)
            arr[i].msg_hdr = h
            parts.append((bufs, name, ctl, m))
        ts = None
        if st.get("timeout") is not None:
            ms = value(st["timeout"])
            ts = Timespec(ms // 1000, (ms % 1000) * 1000000)
        n = check(L.recvmmsg(ctx.fd(st["fd"]), arr, len(msgs), value(st.get("flags", 0)),
                             ctypes.byref(ts) if ts is not None else None))
        out = []
        for i in range(n):
            bufs, name, ctl, m = parts[i]
            h = arr[i].msg_hdr
            out.append(_recv_result(ctx, h, arr[i].msg_len, bufs, name, ctl, m.get("fds_as")))
        return {"ret": n, "msgs": out}
    if call == "shutdown":
        check(L.shutdown(ctx.fd(st["fd"]), value(st["how"])))
        return {"ret": 0}
    if call == "setsockopt":
        raw = _sockopt_bytes(st["value"])
        b = _buf(raw)
        check(L.setsockopt(ctx.fd(st["fd"]), value(st["level"]), value(st["name"]), b, len(raw)))
        return {"ret": 0}
    if call == "getsockopt":
        kind = OPT_KIND.get(st["name"], "int")
        size = {"int": 4, "linger": 8, "timeval": 16, "ucred": 12, "string": 16,
                "tcp_info": st.get("optlen", TCP_INFO_ROOM)}[kind]
        b = ctypes.create_string_buffer(max(size, 1))
        ln = c_uint32(size)
        check(L.getsockopt(ctx.fd(st["fd"]), value(st["level"]), value(st["name"]), b, ctypes.byref(ln)))
        raw = b.raw
        if kind == "tcp_info":
            return {"ret": 0, "value": tcp_info(raw[: ln.value], st.get("fields"))}
        if kind == "string":
            text = raw[: ln.value].split(b"\0", 1)[0]
            v = text.decode("utf-8", "backslashreplace")
        elif kind == "int":
            v = struct.unpack("=i", raw[:4])[0]
        elif kind == "linger":
            on, lg = struct.unpack("=ii", raw)
            v = {"l_onoff": on, "l_linger": lg}
        elif kind == "timeval":
            s, us = struct.unpack("=qq", raw)
            v = {"tv_sec": s, "tv_usec": us}
        else:
            pid, uid, gid = struct.unpack("=iII", raw)
            v = {"pid": "self" if pid == os.getpid() else pid, "uid": uid, "gid": gid}
        return {"ret": 0, "value": v}
    if call == "getsockoptRaw":
        size = st["optlen"]
        b = ctypes.create_string_buffer(max(size, 1))
        ln = c_uint32(size)
        check(L.getsockopt(ctx.fd(st["fd"]), value(st["level"]), value(st["name"]), b, ctypes.byref(ln)))
        return {"ret": ln.value, "value": "hex:" + b.raw[: ln.value].hex()}
    if call == "close":
        check(L.close(ctx.fd(st["fd"])))
        return {"ret": 0}
    if call == "dup":
        return {"ret": ctx.got_fd(check(L.dup(ctx.fd(st["fd"]))), st.get("as"))}
    if call == "dup2":
        return {"ret": ctx.got_fd(check(L.dup2(ctx.fd(st["fd"]), ctx.fd(st["newfd"]))), st.get("as"))}
    if call == "dup3":
        fd = check(L.dup3(ctx.fd(st["fd"]), ctx.fd(st["newfd"]), value(st.get("flags", 0))))
        return {"ret": ctx.got_fd(fd, st.get("as"))}
    if call == "fcntl":
        cmd = value(st["cmd"])
        arg = st.get("arg", 0)
        a = ctx.fd(arg) if isinstance(arg, dict) else value(arg)
        r = check(L.fcntl(ctx.fd(st["fd"]), cmd, a))
        if cmd in (fcntl.F_DUPFD, const("F_DUPFD_CLOEXEC")):
            return {"ret": ctx.got_fd(r, st.get("as"))}
        return {"ret": r}
    if call == "ioctl":
        arg = ctypes.c_int(value(st.get("arg", 0)))
        check(L.ioctl(ctx.fd(st["fd"]), value(st["cmd"]), ctypes.byref(arg)))
        return {"ret": arg.value if st["cmd"] in IOCTL_OUT else 0}
    if call == "poll":
        fds = st.get("fds", [])
        arr = (Pollfd * max(len(fds), 1))()
        for i, p in enumerate(fds):
            arr[i].fd = ctx.fd(p["fd"])
            arr[i].events = value(p.get("events", 0))
            arr[i].revents = 0
        n = check(L.poll(arr, len(fds), _timeout_ms(st)))
        return {"ret": n, "revents": [decode_bits(arr[i].revents & 0xFFFF, POLL_NAMES) for i in range(len(fds))]}
    if call == "select":
        sets = {}
        allfds = []
        for k in ("read", "write", "except"):
            refs = st.get(k, [])
            sets[k] = (refs, [ctx.fd(r) for r in refs])
            allfds += sets[k][1]
        nfds = ctx.fd(st["nfds"]) if isinstance(st.get("nfds"), dict) else value(st["nfds"]) if "nfds" in st else (max(allfds) + 1 if allfds else 0)
        fsets = {k: _fdset(v[1]) for k, v in sets.items()}
        tv = None
        if st.get("timeout") is not None:
            ms = value(st["timeout"])
            tv = Timeval(ms // 1000, (ms % 1000) * 1000)
        n = check(L.select(nfds, ctypes.byref(fsets["read"]), ctypes.byref(fsets["write"]),
                           ctypes.byref(fsets["except"]), ctypes.byref(tv) if tv is not None else None))
        res = {"ret": n}
        for k, (refs, fds) in sets.items():
            res[k] = [r for r, fd in zip(refs, fds) if _isset(fsets[k], fd)]
        return res
    if call == "epoll_create1":
        return {"ret": ctx.got_fd(check(L.epoll_create1(value(st.get("flags", 0)))), st.get("as"))}
    if call == "epoll_ctl":
        ev = None
        if "events" in st or "data" in st:
            ev = EpollEvent(value(st.get("events", 0)) & 0xFFFFFFFF, value(st.get("data", 0)))
        check(L.epoll_ctl(ctx.fd(st["epfd"]), value(st["op"]), ctx.fd(st["fd"]),
                          ctypes.byref(ev) if ev is not None else None))
        return {"ret": 0}
    if call == "epoll_wait":
        maxev = value(st.get("maxevents", 16))
        # The kernel writes at most as many events as are ready; a huge maxevents needs no room.
        arr = (EpollEvent * min(max(maxev, 1), 1024))()
        n = check(L.epoll_wait(ctx.fd(st["epfd"]), arr, maxev, _timeout_ms(st)))
        return {"ret": n, "events": [{"events": decode_bits(arr[i].events, EPOLL_NAMES), "data": arr[i].data}
                                     for i in range(n)]}
    if call in ("mkdir", "chmod"):
        try:
            getattr(os, call)(ctx.path(st["path"]), value(st.get("mode", "0755")))
        except OSError as e:
            raise SysErr(e.errno)
        return {"ret": 0}
    if call in ("unlink", "rmdir"):
        try:
            getattr(os, call)(ctx.path(st["path"]))
        except OSError as e:
            raise SysErr(e.errno)
        return {"ret": 0}
    if call == "chown":
        try:
            os.chown(ctx.path(st["path"]), value(st.get("uid", -1)), value(st.get("gid", -1)))
        except OSError as e:
            raise SysErr(e.errno)
        return {"ret": 0}
    if call == "getrlimit":
        res = value(st["resource"])
        soft, _hard = resource.getrlimit(res)
        if res == resource.RLIMIT_NOFILE:
            return {"ret": 0, "soft": soft - ctx.base}
        return {"ret": 0, "soft": soft}
    if call == "setrlimit":
        res = value(st["resource"])
        soft, hard = resource.getrlimit(res)
        s = st["soft"]
        soft = ctx.base + s["rel"] if isinstance(s, dict) else value(s)
        try:
            resource.setrlimit(res, (soft, hard))
        except OSError as e:
            raise SysErr(e.errno)
        except ValueError:
            raise SysErr(errno.EINVAL)
        return {"ret": 0}
    if call == "fill":
        # Send `chunk`-byte messages with MSG_DONTWAIT until the call fails.
        d = make_data(st.get("data", {"fill": st.get("chunk", 1024)}))
        b = _buf(d)
        total = count = 0
        stop = None
        limit = st.get("max", 100000)
        while count < limit:
            r = L.send(ctx.fd(st["fd"]), b, len(d), value(st.get("flags", "MSG_DONTWAIT")))
            if r < 0:
                stop = errname(ctypes.get_errno())
                break
            total += r
            count += 1
        return {"ret": total, "count": count, "stop": stop}
    if call == "drain":
        size = st.get("size", 65536)
        b = ctypes.create_string_buffer(size)
        total = count = 0
        stop = None
        while count < 100000:
            r = L.recv(ctx.fd(st["fd"]), b, size, value(st.get("flags", "MSG_DONTWAIT")))
            if r < 0:
                stop = errname(ctypes.get_errno())
                break
            if r == 0:
                stop = "EOF"
                break
            total += r
            count += 1
        return {"ret": total, "count": count, "stop": stop}
    raise ScenarioError("unknown call " + call)


# ---------------------------------------------------------------------------------------------
# Scenarios


def _on_alarm(_sig, _frame):
    raise Timeout()


def run_one(ctx, st):
    try:
        r = run_step(ctx, st)
        r.setdefault("errno", None)
        return r
    except SysErr as e:
        return {"ret": -1, "errno": errname(e.errno)}


def start_bg(ctx, st):
    """Start a (blocking) step in a thread; its result is the result of the matching "join"."""
    box = {}

    def body():
        try:
            box["result"] = run_one(ctx, st)
        except ScenarioError as e:
            box["error"] = e

    th = threading.Thread(target=body, daemon=True)
    ctx.bg[st["bg"]] = (th, box)
    th.start()
    # Give the thread time to reach the system call and sleep in it.
    time.sleep(BG_SETTLE)


def join_bg(ctx, st):
    if st["id"] not in ctx.bg:
        raise ScenarioError("unknown background step " + st["id"])
    th, box = ctx.bg.pop(st["id"])
    th.join(3.0)
    if th.is_alive():
        raise Timeout()
    if "error" in box:
        raise box["error"]
    return box["result"]


def run_steps(ctx, scenario):
    results = []
    for st in scenario["steps"]:
        try:
            if "bg" in st:
                start_bg(ctx, st)
                results.append({"bg": "started", "errno": None})
            elif st["call"] == "join":
                results.append(join_bg(ctx, st))
            else:
                results.append(run_one(ctx, st))
        except Timeout:
            results.append({"ret": -1, "errno": "HANG"})
            break
    return results


def open_fds():
    out = set()
    for x in os.listdir("/proc/self/fd"):
        try:
            os.fstat(int(x))  # the directory listing's own fd is gone by now
            out.add(int(x))
        except OSError:
            pass
    return out


def lowest_free_fd():
    fd = os.open("/dev/null", os.O_RDONLY)
    os.close(fd)
    return fd


def _known_ports(node):
    """Every number under a "port" key of a scenario: the ports it names itself."""
    out = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "port" and isinstance(v, int):
                out.add(v)
            else:
                out |= _known_ports(v)
    elif isinstance(node, list):
        for v in node:
            out |= _known_ports(v)
    return out


def _lo_up():
    """A fresh network namespace has its loopback down: bring it up (SIOCSIFFLAGS), as a booted
    system has it. Nothing happens when it is up already or when we may not."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError:
        return
    try:
        ifr = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), 0x8913, ifr))[1]  # SIOCGIFFLAGS
        if not flags & 1:
            fcntl.ioctl(s.fileno(), 0x8914, struct.pack("16sH14x", b"lo", flags | 1))  # SIOCSIFFLAGS
    except OSError:
        pass
    finally:
        s.close()


def run_scenario(scenario, base, keep_fds):
    directory = tempfile.mkdtemp(prefix="usernet-c.", dir="/tmp")
    uid = scenario.get("uid")
    gid = scenario.get("gid", uid)
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    ctx = Ctx(directory, base)
    ctx.known_ports = _known_ports(scenario)
    try:
        if uid is None:
            signal.setitimer(signal.ITIMER_REAL, 3.0)
            try:
                results = run_steps(ctx, scenario)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        else:
            os.chown(directory, uid, gid)
            results = run_as(ctx, scenario, uid, gid)
    finally:
        for path, old in reversed(ctx.sysctl_restore):
            try:
                with open(path, "w", encoding="ascii") as fh:
                    fh.write(old)
            except OSError:
                pass
        resource.setrlimit(resource.RLIMIT_NOFILE, limits)
        for fd in sorted(open_fds() - keep_fds):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(directory, ignore_errors=True)
    return results


def run_as(ctx, scenario, uid, gid):
    """Run the scenario in a child process with the given credentials."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            hi = 900
            os.dup2(w, hi, inheritable=False)
            os.close(r)
            os.close(w)
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            signal.setitimer(signal.ITIMER_REAL, 3.0)
            results = run_steps(ctx, scenario)
            signal.setitimer(signal.ITIMER_REAL, 0)
            data = json.dumps(results).encode()
            while data:
                n = os.write(hi, data)
                data = data[n:]
        except BaseException as e:  # noqa: BLE001 - report anything to the parent
            sys.stderr.write("child failed: %r\n" % (e,))
            code = 1
        os._exit(code)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    os.waitpid(pid, 0)
    if not chunks:
        return [{"ret": -1, "errno": "CHILD_FAILED"}]
    return json.loads(b"".join(chunks))


def load(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".json"))
        else:
            files.append(p)
    out = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            doc = json.load(fh)
        for s in doc["scenarios"] if isinstance(doc, dict) else doc:
            out.append(s)
    return out


def read_sysctls():
    out = {}
    for name in SYSCTLS:
        try:
            with open("/proc/sys/" + name.replace(".", "/"), encoding="ascii") as fh:
                out[name] = int(fh.read().split()[0])
        except OSError:
            pass
    return out


def read_sysctls_text():
    out = {}
    for name in SYSCTLS_TEXT:
        try:
            with open("/proc/sys/" + name.replace(".", "/"), encoding="ascii") as fh:
                out[name] = fh.read().strip()
        except OSError:
            pass
    return out


def main(argv):
    filt = None
    paths = []
    i = 0
    while i < len(argv):
        if argv[i] == "--filter":
            filt = argv[i + 1]
            i += 2
            continue
        paths.append(argv[i])
        i += 1
    os.umask(0o022)
    _lo_up()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    scenarios = load(paths or [os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")])
    out = sys.stdout
    out.write(json.dumps({"sysctl": read_sysctls(), "sysctl_text": read_sysctls_text(), "euid": os.geteuid()}) + "\n")
    out.flush()
    # Fds inherited beyond stdio would sit among the scenario's fds: close them.
    for fd in open_fds():
        if fd > 2:
            os.close(fd)
    base = lowest_free_fd()
    keep = open_fds()
    for s in scenarios:
        if filt and filt not in s["name"]:
            continue
        try:
            results = run_scenario(s, base, keep)
            line = {"name": s["name"], "results": results}
        except ScenarioError as e:
            line = {"name": s["name"], "error": str(e)}
        except Exception as e:  # noqa: BLE001 - one broken scenario must not stop the others
            line = {"name": s["name"], "error": "runner: %r" % (e,)}
        out.write(json.dumps(line) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
