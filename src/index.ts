// usernet: the Linux socket layer in user space.

export { World, WorldStalledError, type WorldOptions, type RunOptions } from './sim/world.js';
export { Gateway, type GatewayOptions, type ForwardOptions } from './sim/gateway/gateway.js';
export { TapBridge, TapUnavailableError, tapUnavailable, type TapOptions } from './sim/tap.js';
export { PasstBridge, passtUnavailable, type PasstOptions, type PasstAttachOptions } from './sim/passt.js';
export { FrameBridge, type BridgeDirection } from './sim/frame_bridge.js';
export type { DhcpLease, DhcpOptions } from './sim/dhcp.js';
export { Host, type SpawnOptions } from './sim/host.js';
export { Tracing, TraceEvent, type TraceProbe } from './kernel/trace.js';
export type { TcpProbeRecord } from './net/ipv4/tcp_trace.js';
export {
  Link,
  Bridge,
  type LinkOptions,
  type Impairments,
  type Direction,
  type Duration,
  type Probability,
  type Loss,
  type GeModel,
  type StateModel,
} from './sim/link.js';
export {
  Task,
  type Linger,
  type Timeval,
  type Timespec,
  type SockoptValue,
  type SendMsg,
  type RecvMsg,
  type RecvResult,
  type EpollEvent,
} from './sim/task.js';
export { SyscallError } from './sim/errors.js';
export { HostsTable, type HostsEntry } from './sim/hosts_table.js';
export type {
  NodeNet,
  NetError,
  LookupFn,
  ConnectOpts,
  TcpConnectOpts,
  ServerOpts,
  ListenOptions,
  AddressInfo,
} from './compat/node/net.js';
export type { NodeDns, LookupOptions, LookupAddress, DnsError } from './compat/node/dns.js';
export { IprouteError } from './sim/iproute.js';
export type { PollFd } from './kernel/select.js';
export * from './uapi/socket.js';
export * from './uapi/errno.js';
export * from './uapi/fcntl.js';
export * from './uapi/poll.js';
export * from './uapi/capability.js';
export * from './uapi/sockaddr.js';
export * from './uapi/cmsg.js';
export * from './uapi/in.js';
export * from './uapi/tcp.js';
export {
  Capture,
  linktypeOf,
  type CaptureOptions,
  type CapturedFrame,
  type CaptureInterface,
  type WriteOptions,
} from './tools/capture.js';
export {
  writePcap,
  readPcap,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  type PcapPacket,
  type PcapFile,
} from './tools/pcap.js';
export { PcapngWriter, writePcapng, readPcapng, type PcapngFile, type PcapngPacket } from './tools/pcapng.js';
export { ping, type PingOptions, type PingResult, type PingReply } from './tools/ping.js';
export { ssDatagram, ssHost, type SsOptions, type SsProcess } from './tools/ss.js';
export { netstatStatistics, netstatS, type NetstatStatisticsOptions } from './tools/netstat.js';
