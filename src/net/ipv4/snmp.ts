// The SNMP MIB counters of one namespace (include/net/snmp.h, include/uapi/linux/snmp.h) and
// their /proc views (net/ipv4/proc.c): /proc/net/snmp (Ip, Icmp, IcmpMsg, Tcp, Udp, UdpLite) and
// /proc/net/netstat (TcpExt, IpExt, MPTcpExt), with Linux's names, order and layout.
//
// Counters live in Float64Arrays indexed by the kernel's enum values, so bumping one is an
// indexed add with no allocation: IP_INC_STATS(net, IPSTATS_MIB_INHDRERRORS).

import type { Net } from '../core/net_namespace.js';

// enum ipstats (the order of struct ipstats_mib); names are printed from the tables below.
export const IPSTATS_MIB_NUM = 0;
export const IPSTATS_MIB_INPKTS = 1; // InReceives
export const IPSTATS_MIB_INOCTETS = 2;
export const IPSTATS_MIB_INDELIVERS = 3;
export const IPSTATS_MIB_OUTFORWDATAGRAMS = 4;
export const IPSTATS_MIB_OUTREQUESTS = 5;
export const IPSTATS_MIB_OUTOCTETS = 6;
export const IPSTATS_MIB_INHDRERRORS = 7;
export const IPSTATS_MIB_INTOOBIGERRORS = 8;
export const IPSTATS_MIB_INNOROUTES = 9;
export const IPSTATS_MIB_INADDRERRORS = 10;
export const IPSTATS_MIB_INUNKNOWNPROTOS = 11;
export const IPSTATS_MIB_INTRUNCATEDPKTS = 12;
export const IPSTATS_MIB_INDISCARDS = 13;
export const IPSTATS_MIB_OUTDISCARDS = 14;
export const IPSTATS_MIB_OUTNOROUTES = 15;
export const IPSTATS_MIB_REASMTIMEOUT = 16;
export const IPSTATS_MIB_REASMREQDS = 17;
export const IPSTATS_MIB_REASMOKS = 18;
export const IPSTATS_MIB_REASMFAILS = 19;
export const IPSTATS_MIB_FRAGOKS = 20;
export const IPSTATS_MIB_FRAGFAILS = 21;
export const IPSTATS_MIB_FRAGCREATES = 22;
export const IPSTATS_MIB_INMCASTPKTS = 23;
export const IPSTATS_MIB_OUTMCASTPKTS = 24;
export const IPSTATS_MIB_INBCASTPKTS = 25;
export const IPSTATS_MIB_OUTBCASTPKTS = 26;
export const IPSTATS_MIB_INMCASTOCTETS = 27;
export const IPSTATS_MIB_OUTMCASTOCTETS = 28;
export const IPSTATS_MIB_INBCASTOCTETS = 29;
export const IPSTATS_MIB_OUTBCASTOCTETS = 30;
export const IPSTATS_MIB_CSUMERRORS = 31;
export const IPSTATS_MIB_NOECTPKTS = 32;
export const IPSTATS_MIB_ECT1PKTS = 33;
export const IPSTATS_MIB_ECT0PKTS = 34;
export const IPSTATS_MIB_CEPKTS = 35;
export const IPSTATS_MIB_REASM_OVERLAPS = 36;
export const IPSTATS_MIB_OUTPKTS = 37; // OutTransmits
export const __IPSTATS_MIB_MAX = 38;

// enum icmp (ICMP_MIB_*): the per-type counts come from the IcmpMsg table.
export const ICMP_MIB_NUM = 0;
export const ICMP_MIB_INMSGS = 1;
export const ICMP_MIB_INERRORS = 2;
export const ICMP_MIB_OUTMSGS = 3;
export const ICMP_MIB_OUTERRORS = 4;
export const ICMP_MIB_CSUMERRORS = 5;
export const ICMP_MIB_RATELIMITGLOBAL = 6;
export const ICMP_MIB_RATELIMITHOST = 7;
export const __ICMP_MIB_MAX = 8;
/** ICMPMSG_MIB_MAX: InType0..255 then OutType0..255. */
export const ICMPMSG_MIB_MAX = 512;

// enum tcp (TCP_MIB_*).
export const TCP_MIB_NUM = 0;
export const TCP_MIB_RTOALGORITHM = 1;
export const TCP_MIB_RTOMIN = 2;
export const TCP_MIB_RTOMAX = 3;
export const TCP_MIB_MAXCONN = 4;
export const TCP_MIB_ACTIVEOPENS = 5;
export const TCP_MIB_PASSIVEOPENS = 6;
export const TCP_MIB_ATTEMPTFAILS = 7;
export const TCP_MIB_ESTABRESETS = 8;
export const TCP_MIB_CURRESTAB = 9;
export const TCP_MIB_INSEGS = 10;
export const TCP_MIB_OUTSEGS = 11;
export const TCP_MIB_RETRANSSEGS = 12;
export const TCP_MIB_INERRS = 13;
export const TCP_MIB_OUTRSTS = 14;
export const TCP_MIB_CSUMERRORS = 15;
export const __TCP_MIB_MAX = 16;

// enum udp (UDP_MIB_*).
export const UDP_MIB_NUM = 0;
export const UDP_MIB_INDATAGRAMS = 1;
export const UDP_MIB_NOPORTS = 2;
export const UDP_MIB_INERRORS = 3;
export const UDP_MIB_OUTDATAGRAMS = 4;
export const UDP_MIB_RCVBUFERRORS = 5;
export const UDP_MIB_SNDBUFERRORS = 6;
export const UDP_MIB_CSUMERRORS = 7;
export const UDP_MIB_IGNOREDMULTI = 8;
export const UDP_MIB_MEMERRORS = 9;
export const __UDP_MIB_MAX = 10;

/** snmp4_ipstats_list (net/ipv4/proc.c): the Ip: line after Forwarding and DefaultTTL. */
const snmp4_ipstats_list: readonly (readonly [string, number])[] = [
  ['InReceives', IPSTATS_MIB_INPKTS],
  ['InHdrErrors', IPSTATS_MIB_INHDRERRORS],
  ['InAddrErrors', IPSTATS_MIB_INADDRERRORS],
  ['ForwDatagrams', IPSTATS_MIB_OUTFORWDATAGRAMS],
  ['InUnknownProtos', IPSTATS_MIB_INUNKNOWNPROTOS],
  ['InDiscards', IPSTATS_MIB_INDISCARDS],
  ['InDelivers', IPSTATS_MIB_INDELIVERS],
  ['OutRequests', IPSTATS_MIB_OUTREQUESTS],
  ['OutDiscards', IPSTATS_MIB_OUTDISCARDS],
  ['OutNoRoutes', IPSTATS_MIB_OUTNOROUTES],
  ['ReasmTimeout', IPSTATS_MIB_REASMTIMEOUT],
  ['ReasmReqds', IPSTATS_MIB_REASMREQDS],
  ['ReasmOKs', IPSTATS_MIB_REASMOKS],
  ['ReasmFails', IPSTATS_MIB_REASMFAILS],
  ['FragOKs', IPSTATS_MIB_FRAGOKS],
  ['FragFails', IPSTATS_MIB_FRAGFAILS],
  ['FragCreates', IPSTATS_MIB_FRAGCREATES],
  ['OutTransmits', IPSTATS_MIB_OUTPKTS],
];

/** snmp4_ipextstats_list: the IpExt: line of /proc/net/netstat. */
const snmp4_ipextstats_list: readonly (readonly [string, number])[] = [
  ['InNoRoutes', IPSTATS_MIB_INNOROUTES],
  ['InTruncatedPkts', IPSTATS_MIB_INTRUNCATEDPKTS],
  ['InMcastPkts', IPSTATS_MIB_INMCASTPKTS],
  ['OutMcastPkts', IPSTATS_MIB_OUTMCASTPKTS],
  ['InBcastPkts', IPSTATS_MIB_INBCASTPKTS],
  ['OutBcastPkts', IPSTATS_MIB_OUTBCASTPKTS],
  ['InOctets', IPSTATS_MIB_INOCTETS],
  ['OutOctets', IPSTATS_MIB_OUTOCTETS],
  ['InMcastOctets', IPSTATS_MIB_INMCASTOCTETS],
  ['OutMcastOctets', IPSTATS_MIB_OUTMCASTOCTETS],
  ['InBcastOctets', IPSTATS_MIB_INBCASTOCTETS],
  ['OutBcastOctets', IPSTATS_MIB_OUTBCASTOCTETS],
  ['InCsumErrors', IPSTATS_MIB_CSUMERRORS],
  ['InNoECTPkts', IPSTATS_MIB_NOECTPKTS],
  ['InECT1Pkts', IPSTATS_MIB_ECT1PKTS],
  ['InECT0Pkts', IPSTATS_MIB_ECT0PKTS],
  ['InCEPkts', IPSTATS_MIB_CEPKTS],
  ['ReasmOverlaps', IPSTATS_MIB_REASM_OVERLAPS],
];

/** icmpmibmap (net/ipv4/proc.c): the per-type columns of the Icmp: line, by ICMP type. */
const icmpmibmap: readonly (readonly [string, number])[] = [
  ['DestUnreachs', 3],
  ['TimeExcds', 11],
  ['ParmProbs', 12],
  ['SrcQuenchs', 4],
  ['Redirects', 5],
  ['Echos', 8],
  ['EchoReps', 0],
  ['Timestamps', 13],
  ['TimestampReps', 14],
  ['AddrMasks', 17],
  ['AddrMaskReps', 18],
];

const snmp4_tcp_list: readonly string[] = [
  'RtoAlgorithm',
  'RtoMin',
  'RtoMax',
  'MaxConn',
  'ActiveOpens',
  'PassiveOpens',
  'AttemptFails',
  'EstabResets',
  'CurrEstab',
  'InSegs',
  'OutSegs',
  'RetransSegs',
  'InErrs',
  'OutRsts',
  'InCsumErrors',
];

const snmp4_udp_list: readonly string[] = [
  'InDatagrams',
  'NoPorts',
  'InErrors',
  'OutDatagrams',
  'RcvbufErrors',
  'SndbufErrors',
  'InCsumErrors',
  'IgnoredMulti',
  'MemErrors',
];

/** snmp4_net_list: the TcpExt: line (enum linux_mib order), as the reference kernel prints it. */
export const snmp4_net_list: readonly string[] = (
  'SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned ' +
  'OutOfWindowIcmps LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSActive PAWSEstab ' +
  'BeyondWindow TSEcrRejected PAWSOldAck PAWSTimewait DelayedACKs DelayedACKLocked DelayedACKLost ' +
  'ListenOverflows ListenDrops TCPHPHits TCPPureAcks TCPHPAcks TCPRenoRecovery TCPSackRecovery ' +
  'TCPSACKReneging TCPSACKReorder TCPRenoReorder TCPTSReorder TCPFullUndo TCPPartialUndo ' +
  'TCPDSACKUndo TCPLossUndo TCPLostRetransmit TCPRenoFailures TCPSackFailures TCPLossFailures ' +
  'TCPFastRetrans TCPSlowStartRetrans TCPTimeouts TCPLossProbes TCPLossProbeRecovery ' +
  'TCPRenoRecoveryFail TCPSackRecoveryFail TCPRcvCollapsed TCPBacklogCoalesce TCPDSACKOldSent ' +
  'TCPDSACKOfoSent TCPDSACKRecv TCPDSACKOfoRecv TCPAbortOnData TCPAbortOnClose TCPAbortOnMemory ' +
  'TCPAbortOnTimeout TCPAbortOnLinger TCPAbortFailed TCPMemoryPressures TCPMemoryPressuresChrono ' +
  'TCPSACKDiscard TCPDSACKIgnoredOld TCPDSACKIgnoredNoUndo TCPSpuriousRTOs TCPMD5NotFound ' +
  'TCPMD5Unexpected TCPMD5Failure TCPSackShifted TCPSackMerged TCPSackShiftFallback TCPBacklogDrop ' +
  'PFMemallocDrop TCPMinTTLDrop TCPDeferAcceptDrop IPReversePathFilter TCPTimeWaitOverflow ' +
  'TCPReqQFullDoCookies TCPReqQFullDrop TCPRetransFail TCPRcvCoalesce TCPOFOQueue TCPOFODrop ' +
  'TCPOFOMerge TCPChallengeACK TCPSYNChallenge TCPFastOpenActive TCPFastOpenActiveFail ' +
  'TCPFastOpenPassive TCPFastOpenPassiveFail TCPFastOpenListenOverflow TCPFastOpenCookieReqd ' +
  'TCPFastOpenBlackhole TCPSpuriousRtxHostQueues BusyPollRxPackets TCPAutoCorking ' +
  'TCPFromZeroWindowAdv TCPToZeroWindowAdv TCPWantZeroWindowAdv TCPSynRetrans TCPOrigDataSent ' +
  'TCPHystartTrainDetect TCPHystartTrainCwnd TCPHystartDelayDetect TCPHystartDelayCwnd ' +
  'TCPACKSkippedSynRecv TCPACKSkippedPAWS TCPACKSkippedSeq TCPACKSkippedFinWait2 ' +
  'TCPACKSkippedTimeWait TCPACKSkippedChallenge TCPWinProbe TCPKeepAlive TCPMTUPFail ' +
  'TCPMTUPSuccess TCPDelivered TCPDeliveredCE TCPAckCompressed TCPZeroWindowDrop TCPRcvQDrop ' +
  'TCPWqueueTooBig TCPFastOpenPassiveAltKey TcpTimeoutRehash TcpDuplicateDataRehash ' +
  'TCPDSACKRecvSegs TCPDSACKIgnoredDubious TCPMigrateReqSuccess TCPMigrateReqFailure TCPPLBRehash ' +
  'TCPAORequired TCPAOBad TCPAOKeyNotFound TCPAOGood TCPAODroppedIcmps'
).split(' ');

/** The LINUX_MIB_* index of a TcpExt name (resolve once at module load, never per packet). */
export function linux_mib_index(name: string): number {
  const i = snmp4_net_list.indexOf(name);
  if (i < 0) throw new Error(`unknown LINUX_MIB ${name}`);
  return i;
}
export const LINUX_MIB_IPRPFILTER = linux_mib_index('IPReversePathFilter');
export const LINUX_MIB_ARPFILTER = linux_mib_index('ArpFilter');

/** MPTcpExt has no counters here (no MPTCP), but the line is part of the layout. */
const snmp4_mptcp_list: readonly string[] = (
  'MPCapableSYNRX MPCapableSYNTX MPCapableSYNACKRX MPCapableACKRX MPCapableFallbackACK ' +
  'MPCapableFallbackSYNACK MPCapableSYNTXDrop MPCapableSYNTXDisabled MPCapableEndpAttempt ' +
  'MPFallbackTokenInit MPTCPRetrans MPJoinNoTokenFound MPJoinSynRx MPJoinSynBackupRx MPJoinSynAckRx ' +
  'MPJoinSynAckBackupRx MPJoinSynAckHMacFailure MPJoinAckRx MPJoinAckHMacFailure MPJoinRejected ' +
  'MPJoinSynTx MPJoinSynTxCreatSkErr MPJoinSynTxBindErr MPJoinSynTxConnectErr DSSNotMatching ' +
  'DSSCorruptionFallback DSSCorruptionReset InfiniteMapTx InfiniteMapRx DSSNoMatchTCP DataCsumErr ' +
  'OFOQueueTail OFOQueue OFOMerge NoDSSInWindow DuplicateData AddAddr AddAddrTx AddAddrTxDrop ' +
  'EchoAdd EchoAddTx EchoAddTxDrop PortAdd AddAddrDrop MPJoinPortSynRx MPJoinPortSynAckRx ' +
  'MPJoinPortAckRx MismatchPortSynRx MismatchPortAckRx RmAddr RmAddrDrop RmAddrTx RmAddrTxDrop ' +
  'RmSubflow MPPrioTx MPPrioRx MPFailTx MPFailRx MPFastcloseTx MPFastcloseRx MPRstTx MPRstRx ' +
  'SubflowStale SubflowRecover SndWndShared RcvWndShared RcvWndConflictUpdate RcvWndConflict ' +
  'MPCurrEstab Blackhole MPCapableDataFallback MD5SigFallback DssFallback SimultConnectFallback ' +
  'FallbackFailed WinProbe'
).split(' ');

/** struct netns_mib: every MIB table of one namespace. */
export class NetnsMib {
  readonly ip_statistics = new Float64Array(__IPSTATS_MIB_MAX);
  readonly icmp_statistics = new Float64Array(__ICMP_MIB_MAX);
  readonly icmpmsg_statistics = new Float64Array(ICMPMSG_MIB_MAX);
  readonly tcp_statistics = new Float64Array(__TCP_MIB_MAX);
  readonly udp_statistics = new Float64Array(__UDP_MIB_MAX);
  readonly udplite_statistics = new Float64Array(__UDP_MIB_MAX);
  readonly net_statistics = new Float64Array(snmp4_net_list.length);
  readonly mptcp_statistics = new Float64Array(snmp4_mptcp_list.length);
}

declare module '../core/net_namespace.js' {
  interface Net {
    /** net->mib, made on first use by net_mib(). */
    mib?: NetnsMib;
  }
}

/** net->mib: the namespace's counters (made on first use). */
export function net_mib(net: Net): NetnsMib {
  return net.mib ?? (net.mib = new NetnsMib());
}

/** IP_INC_STATS() / __IP_INC_STATS(). */
export function IP_INC_STATS(net: Net, field: number): void {
  (net.mib ?? net_mib(net)).ip_statistics[field]++;
}
/** IP_ADD_STATS(). */
export function IP_ADD_STATS(net: Net, field: number, val: number): void {
  (net.mib ?? net_mib(net)).ip_statistics[field] += val;
}
/** IP_UPD_PO_STATS(): a packet counter and its octet counter (field##PKTS, field##OCTETS). */
export function IP_UPD_PO_STATS(net: Net, pkts: number, octets: number, len: number): void {
  const s = (net.mib ?? net_mib(net)).ip_statistics;
  s[pkts]++;
  s[octets] += len;
}
/** __ICMP_INC_STATS(). */
export function ICMP_INC_STATS(net: Net, field: number): void {
  (net.mib ?? net_mib(net)).icmp_statistics[field]++;
}
/** ICMPMSGIN_INC_STATS(). */
export function ICMPMSGIN_INC_STATS(net: Net, type: number): void {
  (net.mib ?? net_mib(net)).icmpmsg_statistics[type & 0xff]++;
}
/** ICMPMSGOUT_INC_STATS(). */
export function ICMPMSGOUT_INC_STATS(net: Net, type: number): void {
  (net.mib ?? net_mib(net)).icmpmsg_statistics[(type & 0xff) + 256]++;
}
/** TCP_INC_STATS(). */
export function TCP_INC_STATS(net: Net, field: number): void {
  (net.mib ?? net_mib(net)).tcp_statistics[field]++;
}
/** __UDP_INC_STATS(net, field, is_udplite). */
export function UDP_INC_STATS(net: Net, field: number, is_udplite = false): void {
  const m = net.mib ?? net_mib(net);
  (is_udplite ? m.udplite_statistics : m.udp_statistics)[field]++;
}
/** NET_INC_STATS() (LINUX_MIB_*). */
export function NET_INC_STATS(net: Net, field: number): void {
  (net.mib ?? net_mib(net)).net_statistics[field]++;
}
/** NET_ADD_STATS(). */
export function NET_ADD_STATS(net: Net, field: number, val: number): void {
  (net.mib ?? net_mib(net)).net_statistics[field] += val;
}

/** Read one counter by its /proc name, e.g. snmp_get(net, 'Ip', 'InHdrErrors'), for tests and tools. */
export function snmp_get(net: Net, table: string, name: string): number {
  const text =
    table === 'TcpExt' || table === 'IpExt' || table === 'MPTcpExt'
      ? netstat_seq_show(net)
      : snmp_seq_show(net);
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    if (!lines[i].startsWith(table + ':')) continue;
    const names = lines[i].split(' ').slice(1);
    const vals = lines[i + 1].split(' ').slice(1);
    const k = names.indexOf(name);
    if (k >= 0) return Number(vals[k]);
  }
  // IcmpMsg lines are printed only for counters that are non-zero.
  if (table === 'IcmpMsg') return 0;
  throw new Error(`no counter ${table}:${name}`);
}

/** The fields /proc/net/snmp's first columns need from the namespace's IPv4 settings. */
export interface SnmpIpv4Conf {
  forwarding: boolean;
  default_ttl: number;
}

let conf_source: ((net: Net) => SnmpIpv4Conf) | null = null;
/** The IPv4 layer tells the view where Forwarding and DefaultTTL come from (set at boot). */
export function snmp_set_conf_source(fn: (net: Net) => SnmpIpv4Conf): void {
  conf_source = fn;
}

function fmt(v: number): string {
  return String(v);
}

/** icmpmsg_put(): InTypeN / OutTypeN for every non-zero type, PERLINE (16) to a line pair. */
function icmpmsg_put(m: NetnsMib): string {
  const PERLINE = 16;
  let out = '';
  let names: string[] = [];
  let vals: string[] = [];
  const flush = (): void => {
    out += 'IcmpMsg: ' + names.join(' ') + '\nIcmpMsg: ' + vals.join(' ') + '\n';
    names = [];
    vals = [];
  };
  for (let i = 0; i < ICMPMSG_MIB_MAX; i++) {
    const v = m.icmpmsg_statistics[i];
    if (!v) continue;
    names.push(i & 0x100 ? `OutType${i & 0xff}` : `InType${i & 0xff}`);
    vals.push(fmt(v));
    if (names.length === PERLINE) flush();
  }
  if (names.length) flush();
  return out;
}

/** snmp_seq_show(): the text of /proc/net/snmp. */
export function snmp_seq_show(net: Net): string {
  const m = net_mib(net);
  const conf = conf_source ? conf_source(net) : { forwarding: false, default_ttl: 64 };
  let s = 'Ip: Forwarding DefaultTTL';
  for (const [n] of snmp4_ipstats_list) s += ' ' + n;
  s += `\nIp: ${conf.forwarding ? 1 : 2} ${conf.default_ttl}`;
  for (const [, i] of snmp4_ipstats_list) s += ' ' + fmt(m.ip_statistics[i]);
  // icmp_put()
  const ic = m.icmp_statistics;
  const im = m.icmpmsg_statistics;
  s += '\nIcmp: InMsgs InErrors InCsumErrors';
  for (const [n] of icmpmibmap) s += ' In' + n;
  s += ' OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost';
  for (const [n] of icmpmibmap) s += ' Out' + n;
  s += `\nIcmp: ${fmt(ic[ICMP_MIB_INMSGS])} ${fmt(ic[ICMP_MIB_INERRORS])} ${fmt(ic[ICMP_MIB_CSUMERRORS])}`;
  for (const [, t] of icmpmibmap) s += ' ' + fmt(im[t]);
  s += ` ${fmt(ic[ICMP_MIB_OUTMSGS])} ${fmt(ic[ICMP_MIB_OUTERRORS])} ${fmt(ic[ICMP_MIB_RATELIMITGLOBAL])} ${fmt(ic[ICMP_MIB_RATELIMITHOST])}`;
  for (const [, t] of icmpmibmap) s += ' ' + fmt(im[t + 256]);
  s += '\n' + icmpmsg_put(m);
  // Tcp: MaxConn is signed (-1: no limit), RtoMin/RtoMax in ms (TCP_RTO_MIN/MAX).
  s += 'Tcp: ' + snmp4_tcp_list.join(' ') + '\nTcp: 1 200 120000 -1';
  for (let i = TCP_MIB_ACTIVEOPENS; i < __TCP_MIB_MAX; i++) s += ' ' + fmt(m.tcp_statistics[i]);
  s += '\nUdp: ' + snmp4_udp_list.join(' ') + '\nUdp:';
  for (let i = 1; i < __UDP_MIB_MAX; i++) s += ' ' + fmt(m.udp_statistics[i]);
  s += '\nUdpLite: ' + snmp4_udp_list.join(' ') + '\nUdpLite:';
  for (let i = 1; i < __UDP_MIB_MAX; i++) s += ' ' + fmt(m.udplite_statistics[i]);
  return s + '\n';
}

/** netstat_seq_show(): the text of /proc/net/netstat. */
export function netstat_seq_show(net: Net): string {
  const m = net_mib(net);
  let s = 'TcpExt: ' + snmp4_net_list.join(' ') + '\nTcpExt:';
  for (let i = 0; i < snmp4_net_list.length; i++) s += ' ' + fmt(m.net_statistics[i]);
  s += '\nIpExt:';
  for (const [n] of snmp4_ipextstats_list) s += ' ' + n;
  s += '\nIpExt:';
  for (const [, i] of snmp4_ipextstats_list) s += ' ' + fmt(m.ip_statistics[i]);
  s += '\nMPTcpExt: ' + snmp4_mptcp_list.join(' ') + '\nMPTcpExt:';
  for (let i = 0; i < snmp4_mptcp_list.length; i++) s += ' ' + fmt(m.mptcp_statistics[i]);
  return s + '\n';
}
