// Socket ABI constants with Linux's numeric values (include/linux/socket.h, include/linux/net.h,
// include/uapi/asm-generic/socket.h, x86_64).

// Address families (include/linux/socket.h). PF_* equal AF_*.
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_LOCAL = 1;
export const AF_INET = 2;
export const AF_AX25 = 3;
export const AF_IPX = 4;
export const AF_APPLETALK = 5;
export const AF_NETROM = 6;
export const AF_BRIDGE = 7;
export const AF_ATMPVC = 8;
export const AF_X25 = 9;
export const AF_INET6 = 10;
export const AF_ROSE = 11;
export const AF_DECnet = 12;
export const AF_NETBEUI = 13;
export const AF_SECURITY = 14;
export const AF_KEY = 15;
export const AF_NETLINK = 16;
export const AF_ROUTE = AF_NETLINK;
export const AF_PACKET = 17;
export const AF_ASH = 18;
export const AF_ECONET = 19;
export const AF_ATMSVC = 20;
export const AF_RDS = 21;
export const AF_SNA = 22;
export const AF_IRDA = 23;
export const AF_PPPOX = 24;
export const AF_WANPIPE = 25;
export const AF_LLC = 26;
export const AF_IB = 27;
export const AF_MPLS = 28;
export const AF_CAN = 29;
export const AF_TIPC = 30;
export const AF_BLUETOOTH = 31;
export const AF_IUCV = 32;
export const AF_RXRPC = 33;
export const AF_ISDN = 34;
export const AF_PHONET = 35;
export const AF_IEEE802154 = 36;
export const AF_CAIF = 37;
export const AF_ALG = 38;
export const AF_NFC = 39;
export const AF_VSOCK = 40;
export const AF_KCM = 41;
export const AF_QIPCRTR = 42;
export const AF_SMC = 43;
export const AF_XDP = 44;
export const AF_MCTP = 45;
export const AF_MAX = 46;

export const PF_UNSPEC = AF_UNSPEC;
export const PF_UNIX = AF_UNIX;
export const PF_LOCAL = AF_LOCAL;
export const PF_INET = AF_INET;
export const PF_INET6 = AF_INET6;
export const PF_NETLINK = AF_NETLINK;
export const PF_PACKET = AF_PACKET;
export const PF_MAX = AF_MAX;

// Socket types (include/linux/net.h) and the flags that may be or-ed into the type argument.
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_RDM = 4;
export const SOCK_SEQPACKET = 5;
export const SOCK_DCCP = 6;
export const SOCK_PACKET = 10;
export const SOCK_MAX = SOCK_PACKET + 1;
export const SOCK_TYPE_MASK = 0xf;
export const SOCK_CLOEXEC = 0o2000000; // O_CLOEXEC
export const SOCK_NONBLOCK = 0o4000; // O_NONBLOCK

// struct socket state (include/uapi/linux/net.h).
export const SS_FREE = 0;
export const SS_UNCONNECTED = 1;
export const SS_CONNECTING = 2;
export const SS_CONNECTED = 3;
export const SS_DISCONNECTING = 4;

// socket->flags bits (include/linux/net.h).
export const SOCK_NOSPACE = 2;
export const SOCK_PASSCRED = 3;
export const SOCK_PASSSEC = 4;

// Option levels.
export const SOL_IP = 0;
export const SOL_SOCKET = 1;
export const SOL_TCP = 6;
export const SOL_UDP = 17;
export const SOL_IPV6 = 41;
export const SOL_ICMPV6 = 58;
export const SOL_RAW = 255;
export const SOL_PACKET = 263;

// SOL_SOCKET options (include/uapi/asm-generic/socket.h).
export const SO_DEBUG = 1;
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_DONTROUTE = 5;
export const SO_BROADCAST = 6;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_OOBINLINE = 10;
export const SO_NO_CHECK = 11;
export const SO_PRIORITY = 12;
export const SO_LINGER = 13;
export const SO_BSDCOMPAT = 14;
export const SO_REUSEPORT = 15;
export const SO_PASSCRED = 16;
export const SO_PEERCRED = 17;
export const SO_RCVLOWAT = 18;
export const SO_SNDLOWAT = 19;
export const SO_RCVTIMEO_OLD = 20;
export const SO_SNDTIMEO_OLD = 21;
export const SO_RCVTIMEO = SO_RCVTIMEO_OLD;
export const SO_SNDTIMEO = SO_SNDTIMEO_OLD;
export const SO_SECURITY_AUTHENTICATION = 22;
export const SO_BINDTODEVICE = 25;
export const SO_ATTACH_FILTER = 26;
export const SO_DETACH_FILTER = 27;
export const SO_PEERNAME = 28;
export const SO_TIMESTAMP = 29;
export const SO_ACCEPTCONN = 30;
export const SO_PEERSEC = 31;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_PASSSEC = 34;
export const SO_TIMESTAMPNS = 35;
export const SO_MARK = 36;
export const SO_TIMESTAMPING = 37;
export const SO_PROTOCOL = 38;
export const SO_DOMAIN = 39;
export const SO_RXQ_OVFL = 40;
export const SO_WIFI_STATUS = 41;
export const SO_PEEK_OFF = 42;
export const SO_NOFCS = 43;
export const SO_LOCK_FILTER = 44;
export const SO_SELECT_ERR_QUEUE = 45;
export const SO_BUSY_POLL = 46;
export const SO_MAX_PACING_RATE = 47;
export const SO_BPF_EXTENSIONS = 48;
export const SO_INCOMING_CPU = 49;
export const SO_ATTACH_BPF = 50;
export const SO_COOKIE = 57;
export const SO_PEERGROUPS = 59;
export const SO_ZEROCOPY = 60;
export const SO_TXTIME = 61;
export const SO_BINDTOIFINDEX = 62;
export const SO_PASSPIDFD = 76;
export const SO_PEERPIDFD = 77;

// msg flags (include/linux/socket.h).
export const MSG_OOB = 1;
export const MSG_PEEK = 2;
export const MSG_DONTROUTE = 4;
export const MSG_TRYHARD = 4;
export const MSG_CTRUNC = 8;
export const MSG_PROBE = 0x10;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_WAITALL = 0x100;
export const MSG_FIN = 0x200;
export const MSG_SYN = 0x400;
export const MSG_CONFIRM = 0x800;
export const MSG_RST = 0x1000;
export const MSG_ERRQUEUE = 0x2000;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_MORE = 0x8000;
export const MSG_WAITFORONE = 0x10000;
export const MSG_SENDPAGE_NOPOLICY = 0x10000;
export const MSG_BATCH = 0x40000;
export const MSG_ZEROCOPY = 0x4000000;
export const MSG_FASTOPEN = 0x20000000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

// shutdown(2) how, and the sk_shutdown bits (include/net/sock.h).
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;
export const RCV_SHUTDOWN = 1;
export const SEND_SHUTDOWN = 2;
export const SHUTDOWN_MASK = 3;

// Control message types at SOL_SOCKET.
export const SCM_RIGHTS = 0x01;
export const SCM_CREDENTIALS = 0x02;
export const SCM_SECURITY = 0x03;
export const SCM_PIDFD = 0x04;
export const SCM_TIMESTAMP = SO_TIMESTAMP;
/** At most this many fds in one SCM_RIGHTS message (include/net/scm.h). */
export const SCM_MAX_FD = 253;

// Maximum listen backlog default (net.core.somaxconn since 5.4).
export const SOMAXCONN = 4096;

// ioctls on sockets (include/uapi/asm-generic/ioctls.h, linux/sockios.h).
export const FIONREAD = 0x541b;
export const TIOCOUTQ = 0x5411;
export const FIONBIO = 0x5421;
export const FIOASYNC = 0x5452;
export const SIOCINQ = FIONREAD;
export const SIOCOUTQ = TIOCOUTQ;
export const SIOCOUTQNSD = 0x894b;
export const SIOCGSTAMP = 0x8906;
export const SIOCATMARK = 0x8905;

// sizeof() of the user structures the socket calls take, x86_64.
export const SIZEOF_SA_FAMILY = 2;
export const SIZEOF_SOCKADDR_UN = 110;
export const UNIX_PATH_MAX = 108;
export const SIZEOF_SOCKADDR_STORAGE = 128;
export const SIZEOF_INT = 4;
export const SIZEOF_LINGER = 8;
export const SIZEOF_TIMEVAL = 16;
export const SIZEOF_UCRED = 12;
