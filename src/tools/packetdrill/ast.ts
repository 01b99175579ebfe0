/**
 * Typed syntax tree of a packetdrill script.
 *
 * The shapes follow the script language as the packetdrill grammar defines
 * it: option lines, an optional init command, one or more timed events and an
 * optional cleanup command. Values that the grammar checks while parsing
 * (ranges of ports, sequence numbers, option sizes...) are already checked;
 * everything that needs the run-time configuration (addresses, symbolic
 * constants, ICMP type names) is left as written for the interpreter.
 */

/** A 1-based position in the script text. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** `--name` or `--name=value` at the top of the script. */
export interface OptionLine {
  readonly name: string;
  /** The value as packetdrill hands it to its option parser; null when absent. */
  readonly value: string | null;
  readonly pos: Position;
}

/**
 * When an event happens. Times are in microseconds. The `*` and range forms
 * are only accepted on outbound packets.
 */
export type EventTime =
  | { readonly kind: 'absolute'; readonly usecs: number }
  | { readonly kind: 'relative'; readonly usecs: number }
  | { readonly kind: 'any' }
  | { readonly kind: 'absolute-range'; readonly usecs: number; readonly endUsecs: number }
  | { readonly kind: 'relative-range'; readonly usecs: number; readonly endUsecs: number };

export type Direction = 'inbound' | 'outbound';

/** ECN codepoint named in `[ect0]`, `[ect1]`, `[ce]`, `[noecn]`. */
export type IpEcn = 'noecn' | 'ect0' | 'ect1' | 'ce';

/** How the TOS byte of a packet is specified / checked. */
export type TosSpec =
  | { readonly kind: 'ecn'; readonly ecn: IpEcn }
  /** `[ect01]`: outbound only, either ECT codepoint matches. */
  | { readonly kind: 'ect01' }
  | { readonly kind: 'tos'; readonly value: number };

/** `(…)` or `[…]` IP details written before the transport header. */
export interface IpInfo {
  readonly tos: TosSpec | null;
  readonly flowLabel: number | null;
  readonly ttl: number | null;
}

export interface MplsEntry {
  readonly label: number;
  readonly trafficClass: number;
  readonly bottomOfStack: boolean;
  readonly ttl: number;
}

export type GreFlag = 'checksum' | 'key' | 'sequence';

export interface GreHeader {
  /** The flag word: either a list of names (`flags [key present]`) or a number. */
  readonly flags: readonly GreFlag[] | bigint;
  readonly sum: bigint;
  readonly off: bigint;
  readonly key: bigint;
  readonly seq: bigint;
}

/** An encapsulating header written before the inner packet. */
export type OuterLayer =
  | {
      readonly kind: 'ipv4' | 'ipv6';
      readonly ip: IpInfo | null;
      readonly src: string;
      readonly dst: string;
    }
  /** `gre:` (null header = defaults) or `gre flags … sum … off … key … seq …:` */
  | { readonly kind: 'gre'; readonly header: GreHeader | null }
  | { readonly kind: 'mpls'; readonly stack: readonly MplsEntry[] };

export interface Ports {
  readonly src: number;
  readonly dst: number;
}

/** `start:end(len)` */
export interface SeqSpec {
  readonly start: number;
  readonly end: number;
  readonly length: number;
}

export type TcpOption =
  | { readonly kind: 'nop' }
  | { readonly kind: 'eol' }
  | { readonly kind: 'mss'; readonly value: number }
  | { readonly kind: 'wscale'; readonly shift: number }
  | { readonly kind: 'sackOK' }
  | { readonly kind: 'sack'; readonly blocks: readonly { left: number; right: number }[] }
  | { readonly kind: 'timestamp'; readonly val: number; readonly ecr: number }
  /** `md5 <hex digest>`: the (possibly short, possibly empty) digest bytes. */
  | { readonly kind: 'md5'; readonly digest: Uint8Array }
  /** `FO <cookie>` (RFC 7413, kind 34) and `FOEXP <cookie>` (kind 254, magic 0xF989). */
  | { readonly kind: 'fastopen' | 'fastopen-exp'; readonly cookie: Uint8Array }
  /**
   * `ECN e0b N ceb N e1b N` (AccECN). `order` is the first field named;
   * the counters present follow the packetdrill order ect0,ce,ect1 or
   * ect1,ce,ect0.
   */
  | {
      readonly kind: 'accecn';
      readonly order: 'e0b' | 'e1b';
      readonly e0b: number | null;
      readonly ceb: number | null;
      readonly e1b: number | null;
    };

interface PacketBase {
  readonly direction: Direction;
  /** Outer headers, outermost first (`ipv4 a > b: gre: mpls …:`). */
  readonly outer: readonly OuterLayer[];
  readonly ip: IpInfo | null;
  readonly ports: Ports | null;
}

export interface TcpPacket extends PacketBase {
  readonly protocol: 'tcp';
  /** `encap psp spi N` */
  readonly psp: { readonly spi: bigint } | null;
  /** As written: a subset of `.FSRPEWAU01234567` (`-` is the empty string). */
  readonly flags: string;
  readonly seq: SeqSpec;
  readonly ack: number | null;
  /** null: no `win` given (only legal for outbound packets: do not check). */
  readonly window: number | null;
  readonly urg: number | null;
  /** null: `<...>`, do not check options (outbound only). [] when none written. */
  readonly options: readonly TcpOption[] | null;
}

export interface UdpPacket extends PacketBase {
  readonly protocol: 'udp';
  readonly length: number;
}

/** What the ICMP error quotes of the offending packet. */
export type IcmpEchoed =
  | { readonly protocol: 'tcp'; readonly seq: SeqSpec }
  | { readonly protocol: 'udp'; readonly length: number }
  | { readonly protocol: 'raw'; readonly length: number };

export interface IcmpPacket extends PacketBase {
  readonly protocol: 'icmp';
  /** e.g. `unreachable`, `time_exceeded`, `packet_too_big`. */
  readonly type: string;
  /** e.g. `frag_needed`, `host_unreachable`; null when not written. */
  readonly code: string | null;
  readonly mtu: number | null;
  readonly echoId: number | null;
  /** The quoted original header; defaults to TCP 0:0(0) in packetdrill. */
  readonly echoed: IcmpEchoed | null;
}

export type PacketSpec = TcpPacket | UdpPacket | IcmpPacket;

/** An argument or result of a system call. */
export type Expr =
  | { readonly kind: 'ellipsis' }
  | { readonly kind: 'int'; readonly value: bigint; readonly hex: boolean }
  /** A symbolic name such as `SOCK_STREAM`, resolved at run time. */
  | { readonly kind: 'word'; readonly name: string }
  /** `"..."`; `ellipsis` for `"abc"...` (match a prefix). */
  | { readonly kind: 'string'; readonly value: string; readonly ellipsis: boolean }
  /** `a | b` (bitwise or), `name = value` (named field), `"a" "b"` (`.`: concatenation). */
  | { readonly kind: 'binary'; readonly op: '|' | '=' | '.'; readonly lhs: Expr; readonly rhs: Expr }
  /** `[a, b]`: a pointer to an array / value */
  | { readonly kind: 'array'; readonly items: readonly Expr[] }
  /** `{a, b}`: an anonymous struct. */
  | { readonly kind: 'struct'; readonly items: readonly Expr[] }
  | { readonly kind: 'inet_addr'; readonly address: string }
  | { readonly kind: 'inet6_addr'; readonly address: string }
  | {
      readonly kind: 'sockaddr';
      readonly family: 'AF_INET' | 'AF_INET6';
      readonly port: number;
      readonly address: string;
    }
  | {
      readonly kind: 'msghdr';
      readonly iovlen: bigint;
      readonly iov: Expr;
      readonly flags: Expr;
      /** `msg_control=[…]`; an empty array when not written. */
      readonly control: Expr;
    }
  | { readonly kind: 'iovec'; readonly len: bigint }
  | { readonly kind: 'cmsg'; readonly level: Expr; readonly type: Expr; readonly data: Expr }
  | { readonly kind: 'scm_timestamping'; readonly sec: bigint; readonly nsec: bigint }
  | {
      readonly kind: 'sock_extended_err';
      readonly errno: Expr;
      readonly origin: Expr;
      readonly type: Expr;
      readonly code: Expr;
      readonly info: Expr;
      readonly data: Expr;
    }
  /** `{fd=…, events=…, revents=…}`; revents defaults to 0. */
  | { readonly kind: 'pollfd'; readonly fd: Expr; readonly events: Expr; readonly revents: Expr }
  /** `{events=…, fd|ptr|u32|u64=…}` */
  | {
      readonly kind: 'epoll_event';
      readonly events: Expr;
      readonly field: 'fd' | 'ptr' | 'u32' | 'u64';
      readonly value: Expr;
    }
  | { readonly kind: 'linger'; readonly onoff: bigint; readonly linger: bigint }
  | { readonly kind: 'mpls_stack'; readonly stack: readonly MplsEntry[] }
  | { readonly kind: 'gre'; readonly header: GreHeader };

export interface SyscallSpec {
  /** `...N` before the name: the call blocks until time N (usecs); null otherwise. */
  readonly endUsecs: number | null;
  readonly name: string;
  readonly args: readonly Expr[];
  readonly result: Expr;
  /** `= -1 ENOENT (No such file)`: the errno name and its text. */
  readonly errno: { readonly name: string; readonly text: string } | null;
  /** A trailing `(words)` note. */
  readonly note: string | null;
}

interface EventBase {
  readonly time: EventTime;
  /** Position of the time stamp (which packetdrill reports as the event line). */
  readonly pos: Position;
}

export type Event =
  | (EventBase & { readonly kind: 'packet'; readonly packet: PacketSpec })
  | (EventBase & { readonly kind: 'syscall'; readonly syscall: SyscallSpec })
  | (EventBase & { readonly kind: 'command'; readonly command: string })
  | (EventBase & { readonly kind: 'code'; readonly code: string });

export interface Script {
  readonly options: readonly OptionLine[];
  /** A `` `command` `` written before the first timed event. */
  readonly initCommand: string | null;
  readonly events: readonly Event[];
  /** A `` `command` `` written after the last timed event. */
  readonly cleanupCommand: string | null;
}
