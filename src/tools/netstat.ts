// `netstat -s` (net-tools 2.10, statistics.c): the SNMP counters of /proc/net/snmp and
// /proc/net/netstat as sentences. The text follows the real tool line for line — including its
// quirks: names it does not know are printed as "Name: value" when non-zero, with the indent of
// whatever was printed last, and a name found by the tool's binary search over a table that is
// not quite sorted (Forwarding, OutTransmits) counts as unknown. The differential test runs the
// real netstat over our /proc text.

import type { Net } from '../net/core/net_namespace.js';
import { netstat_seq_show, snmp_seq_show } from '../net/ipv4/snmp.js';

// enum State, and the flags of an entry's type.
const N = 0; // number
const OPT = 1; // opt_number: printed only when non-zero
const FWD = 2; // i_forward
const IN_ICMP = 3; // i_inp_icmp: under "ICMP input histogram:"
const OUT_ICMP = 4; // i_outp_icmp
const RTO_ALG = 5; // i_rto_alg
const I_STATIC = 1 << 16; // static configuration: printed with -s only when asked (never here)
const I_TITLE = 1 << 17;

/** struct statedesc states[]: indent and histogram title per state. */
const STATES: readonly { indent: number; title: string | null }[] = [
  { indent: 4, title: null },
  { indent: 4, title: null },
  { indent: 4, title: null },
  { indent: 8, title: 'ICMP input histogram:' },
  { indent: 8, title: 'ICMP output histogram:' },
  { indent: 0, title: null },
];

type Table = readonly (readonly [title: string, out: string, type: number])[];

// The tables in the tool's own order (its "Keep the entries sorted!" is not always kept).
const Iptab: Table = [
  ['DefaultTTL', 'Default TTL is %d', N | I_STATIC],
  ['Forwarding', 'Forwarding is %s', FWD | I_STATIC],
  ['ForwDatagrams', '%d forwarded', N],
  ['FragCreates', '%d fragments created', OPT],
  ['FragFails', '%d outgoing packets failed fragmentation', OPT],
  ['FragOKs', '%d outgoing packets fragmented ok', OPT],
  ['InAddrErrors', '%d with invalid addresses', OPT],
  ['InDelivers', '%d incoming packets delivered', N],
  ['InDiscards', '%d incoming packets discarded', N],
  ['InHdrErrors', '%d with invalid headers', OPT],
  ['InReceives', '%d total packets received', N],
  ['InUnknownProtos', '%d with unknown protocol', OPT],
  ['OutDiscards', '%d outgoing packets dropped', OPT],
  ['OutNoRoutes', '%d dropped because of missing route', OPT],
  ['OutRequests', '%d requests sent out', N],
  ['ReasmFails', '%d packet reassemblies failed', OPT],
  ['ReasmOKs', '%d packets reassembled ok', OPT],
  ['ReasmReqds', '%d reassemblies required', OPT],
  ['ReasmTimeout', '%d fragments dropped after timeout', OPT],
];

const Icmptab: Table = [
  ['InAddrMaskReps', 'address mask replies: %d', IN_ICMP | I_TITLE],
  ['InAddrMasks', 'address mask request: %d', IN_ICMP | I_TITLE],
  ['InDestUnreachs', 'destination unreachable: %d', IN_ICMP | I_TITLE],
  ['InEchoReps', 'echo replies: %d', IN_ICMP | I_TITLE],
  ['InEchos', 'echo requests: %d', IN_ICMP | I_TITLE],
  ['InErrors', '%d input ICMP message failed', N],
  ['InMsgs', '%d ICMP messages received', N],
  ['InParmProbs', 'wrong parameters: %d', IN_ICMP | I_TITLE],
  ['InRedirects', 'redirects: %d', IN_ICMP | I_TITLE],
  ['InSrcQuenchs', 'source quenches: %d', IN_ICMP | I_TITLE],
  ['InTimeExcds', 'timeout in transit: %d', IN_ICMP | I_TITLE],
  ['InTimestampReps', 'timestamp reply: %d', IN_ICMP | I_TITLE],
  ['InTimestamps', 'timestamp request: %d', IN_ICMP | I_TITLE],
  ['OutAddrMaskReps', 'address mask replies: %d', OUT_ICMP | I_TITLE],
  ['OutAddrMasks', 'address mask requests: %d', OUT_ICMP | I_TITLE],
  ['OutDestUnreachs', 'destination unreachable: %d', OUT_ICMP | I_TITLE],
  ['OutEchoReps', 'echo replies: %d', OUT_ICMP | I_TITLE],
  ['OutEchos', 'echo requests: %d', OUT_ICMP | I_TITLE],
  ['OutErrors', '%d ICMP messages failed', N],
  ['OutMsgs', '%d ICMP messages sent', N],
  ['OutParmProbs', 'wrong parameters: %d', OUT_ICMP | I_TITLE],
  ['OutRedirects', 'redirect: %d', OUT_ICMP | I_TITLE],
  ['OutSrcQuenchs', 'source quench: %d', OUT_ICMP | I_TITLE],
  ['OutTimeExcds', 'time exceeded: %d', OUT_ICMP | I_TITLE],
  ['OutTimestampReps', 'timestamp replies: %d', OUT_ICMP | I_TITLE],
  ['OutTimestamps', 'timestamp requests: %d', OUT_ICMP | I_TITLE],
];

const Tcptab: Table = [
  ['ActiveOpens', '%d active connection openings', N],
  ['AttemptFails', '%d failed connection attempts', N],
  ['CurrEstab', '%d connections established', N],
  ['EstabResets', '%d connection resets received', N],
  ['InErrs', '%d bad segments received', N],
  ['InSegs', '%d segments received', N],
  ['MaxConn', '', N],
  ['OutRsts', '%d resets sent', N],
  ['OutSegs', '%d segments sent out', N],
  ['PassiveOpens', '%d passive connection openings', N],
  ['RetransSegs', '%d segments retransmitted', N],
  ['RtoAlgorithm', 'RTO algorithm is %s', RTO_ALG | I_STATIC],
  ['RtoMax', '', N],
  ['RtoMin', '', N],
];

const Udptab: Table = [
  ['InDatagrams', '%d packets received', N],
  ['InErrors', '%d packet receive errors', N],
  ['NoPorts', '%d packets to unknown port received', N],
  ['OutDatagrams', '%d packets sent', N],
  ['RcvbufErrors', '%d receive buffer errors', N],
  ['SndbufErrors', '%d send buffer errors', N],
];

const Tcpexttab: Table = [
  ['DelayedACKLocked', '%d delayed acks further delayed because of locked socket', OPT],
  ['DelayedACKLost', 'Quick ack mode was activated %d times', OPT],
  ['DelayedACKs', '%d delayed acks sent', OPT],
  ['EmbryonicRsts', '%d resets received for embryonic SYN_RECV sockets', OPT],
  ['ListenDrops', '%d SYNs to LISTEN sockets dropped', OPT],
  ['ListenOverflows', '%d times the listen queue of a socket overflowed', OPT],
  ['LockDroppedIcmps', '%d ICMP packets dropped because socket was locked', OPT],
  ['OfoPruned', '%d packets dropped from out-of-order queue because of socket buffer overrun', OPT],
  ['OutOfWindowIcmps', '%d ICMP packets dropped because they were out-of-window', OPT],
  ['PAWSActive', '%d active connections rejected because of time stamp', OPT],
  ['PAWSEstab', '%d packets rejected in established connections because of timestamp', OPT],
  ['PAWSPassive', '%d passive connections rejected because of time stamp', OPT],
  ['PruneCalled', '%d packets pruned from receive queue because of socket buffer overrun', OPT],
  ['RcvPruned', '%d packets pruned from receive queue', OPT],
  ['SockMallocOOM', 'Ran %d times out of system memory during packet sending', OPT],
  ['SyncookiesFailed', '%d invalid SYN cookies received', OPT],
  ['SyncookiesRecv', '%d SYN cookies received', OPT],
  ['SyncookiesSent', '%d SYN cookies sent', OPT],
  ['TCPAbortFailed', '%d times unable to send RST due to no memory', OPT],
  ['TCPAbortOnClose', '%d connections reset due to early user close', OPT],
  ['TCPAbortOnData', '%d connections reset due to unexpected data', OPT],
  ['TCPAbortOnLinger', '%d connections aborted after user close in linger timeout', OPT],
  ['TCPAbortOnMemory', '%d connections aborted due to memory pressure', OPT],
  ['TCPAbortOnSyn', '%d connections reset due to unexpected SYN', OPT],
  ['TCPAbortOnTimeout', '%d connections aborted due to timeout', OPT],
  ['TCPDirectCopyFromBacklog', '%d bytes directly in process context from backlog', OPT],
  ['TCPDirectCopyFromPrequeue', '%d bytes directly received in process context from prequeue', OPT],
  ['TCPDSACKOfoRecv', '%d DSACKs for out of order packets received', OPT],
  ['TCPDSACKOfoSent', '%d DSACKs sent for out of order packets', OPT],
  ['TCPDSACKOldSent', '%d DSACKs sent for old packets', OPT],
  ['TCPDSACKRecv', '%d DSACKs received', OPT],
  ['TCPDSackUndo', '%d congestion window recovered without slow start using DSACK', OPT],
  ['TCPDSACKUndo', '%d congestion windows recovered without slow start by DSACK', OPT],
  ['TCPFACKReorder', 'Detected reordering %d times using FACK', OPT],
  ['TCPFastRetrans', '%d fast retransmits', OPT],
  ['TCPForwardRetrans', '%d forward retransmits', OPT],
  ['TCPFullUndo', '%d congestion windows fully recovered without slow start', OPT],
  ['TCPHPAcks', '%d predicted acknowledgments', OPT],
  ['TCPHPHits', '%d packet headers predicted', N],
  ['TCPHPHitsToUser', '%d packet headers predicted and directly queued to user', OPT],
  ['TCPLossFailures', '%d timeouts in loss state', OPT],
  ['TCPLoss', '%d TCP data loss events', OPT],
  ['TCPLossUndo', '%d congestion windows recovered without slow start after partial ack', OPT],
  ['TCPLostRetransmits', '%d retransmits lost', OPT],
  ['TCPMemoryPressures', 'TCP ran low on memory %d times', OPT],
  ['TCPPartialUndo', '%d congestion windows partially recovered using Hoe heuristic', OPT],
  ['TCPPrequeued', '%d packets directly queued to recvmsg prequeue', OPT],
  ['TCPPrequeueDropped', '%d packets dropped from prequeue', OPT],
  ['TCPPureAcks', '%d acknowledgments not containing data payload received', OPT],
  ['TCPRcvCollapsed', '%d packets collapsed in receive queue due to low socket buffer', OPT],
  ['TCPRenoFailures', '%d timeouts after reno fast retransmit', OPT],
  ['TCPRenoRecoveryFailed', '%d reno fast retransmits failed', OPT],
  ['TCPRenoRecoveryFail', '%d classic Reno fast retransmits failed', OPT],
  ['TCPRenoRecovery', '%d times recovered from packet loss due to fast retransmit', OPT],
  ['TCPRenoReorder', 'Detected reordering %d times using reno fast retransmit', OPT],
  ['TCPSackFailures', '%d timeouts after SACK recovery', OPT],
  ['TCPSackRecoveryFail', '%d SACK retransmits failed', OPT],
  ['TCPSackRecovery', '%d times recovered from packet loss by selective acknowledgements', OPT],
  ['TCPSACKReneging', '%d bad SACK blocks received', OPT],
  ['TCPSACKReorder', 'Detected reordering %d times using SACK', OPT],
  ['TCPSchedulerFailed', '%d times receiver scheduled too late for direct processing', OPT],
  ['TCPSlowStartRetrans', '%d retransmits in slow start', OPT],
  ['TCPTimeouts', '%d other TCP timeouts', OPT],
  ['TCPTSReorder', 'Detected reordering %d times using time stamp', OPT],
  ['TWKilled', '%d TCP sockets finished time wait in slow timer', OPT],
  ['TW', '%d TCP sockets finished time wait in fast timer', OPT],
  ['TWRecycled', '%d time wait sockets recycled by time stamp', OPT],
];

type Flag = 'raw' | 'tcp' | 'udp' | 'sctp';

/** struct tabtab snmptabs[]: which table a line's title selects, and the option that shows it. */
const SNMPTABS: readonly { title: string; tab: Table; flag: Flag }[] = [
  { title: 'Ip', tab: Iptab, flag: 'raw' },
  { title: 'Icmp', tab: Icmptab, flag: 'raw' },
  { title: 'Tcp', tab: Tcptab, flag: 'tcp' },
  { title: 'Udp', tab: Udptab, flag: 'udp' },
  { title: 'Sctp', tab: [], flag: 'sctp' },
  { title: 'TcpExt', tab: Tcpexttab, flag: 'tcp' },
];

/** strcmp() on ASCII names. */
function strcmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** glibc bsearch() with cmpentries(): exact on an unsorted table too, including its misses. */
function bsearch(tab: Table, key: string): (typeof tab)[number] | null {
  let l = 0;
  let u = tab.length;
  while (l < u) {
    const idx = (l + u) >>> 1;
    const c = strcmp(key, tab[idx][0]);
    if (c < 0) u = idx;
    else if (c > 0) l = idx + 1;
    else return tab[idx];
  }
  return null;
}

/** strtoull(): a leading '-' wraps modulo 2^64, as in C. */
function strtoull(s: string | undefined): bigint {
  const m = /^\s*([+-]?)(\d+)/.exec(s ?? '');
  if (!m) return 0n;
  const v = BigInt(m[2]);
  return m[1] === '-' ? (1n << 64n) - v : v;
}

export interface NetstatStatisticsOptions {
  /** `-t`, `-u`, `-w` (raw: the Ip and Icmp tables), as `netstat -st` etc. Default: all. */
  tcp?: boolean;
  udp?: boolean;
  raw?: boolean;
}

/**
 * The text of `netstat -s` for the given /proc/net/snmp and /proc/net/netstat contents
 * (parsesnmp(): process_fd over each file, printval per counter).
 */
export function netstatStatistics(snmp: string, netstat = '', opts: NetstatStatisticsOptions = {}): string {
  const any = opts.tcp || opts.udp || opts.raw;
  const flags: Record<Flag, boolean> = {
    raw: !any || !!opts.raw,
    tcp: !any || !!opts.tcp,
    udp: !any || !!opts.udp,
    sctp: !any,
  };
  let out = '';
  let state = N;

  const printval = (tab: Table | null, title: string, val: bigint): void => {
    const ent = tab ? bsearch(tab, title) : null;
    if (!ent) {
      // "try our best"
      if (val) out += `${' '.repeat(STATES[state].indent)}${title}: ${val}\n`;
      return;
    }
    let type = ent[2];
    if (type & I_STATIC) return; // print_static is never set by netstat -s
    if (ent[1] === '') return;
    if (type & I_TITLE) {
      type &= ~I_TITLE;
      if (state !== type) out += `${' '.repeat(STATES[state].indent)}${STATES[type].title}\n`;
    }
    let buf = '';
    switch (type) {
      case OPT:
        if (val !== 0n) buf = ent[1].replace('%d', String(val));
        break;
      case N:
        buf = ent[1].replace('%d', String(val));
        break;
      case FWD:
        type = N;
        buf = ent[1].replace('%s', val === 2n ? 'enabled' : 'disabled');
        break;
      case IN_ICMP:
      case OUT_ICMP:
        if (val > 0n) buf = ent[1].replace('%d', String(val));
        break;
      case RTO_ALG:
        break;
    }
    if (buf) out += `${' '.repeat(STATES[type].indent)}${buf}\n`;
    state = type;
  };

  const process = (text: string): void => {
    const lines = text.split('\n');
    let i = 0;
    while (i < lines.length) {
      const l1 = lines[i++];
      if (l1 === '' && i >= lines.length) break;
      if (l1 === '') continue; // the empty first line of 2.6 kernels
      if (i >= lines.length) break;
      const l2 = lines[i++];
      const sp = l1.indexOf(':');
      const np = l2.indexOf(':');
      if (sp < 0 || np < 0) return; // "Problem while parsing"
      const title = l1.slice(0, sp);
      // newtable(): a known table prints its title when its option is on; any other title is
      // printed and its counters go through the "try our best" path (state is left as it was).
      const known = SNMPTABS.find((t) => t.title === title);
      let tab: Table | null = null;
      let on = true;
      if (known) {
        on = flags[known.flag];
        if (on) out += `${title}:\n`;
        state = N;
        tab = known.tab;
      } else {
        out += `${title}:\n`;
      }
      const names = l1
        .slice(sp + 1)
        .trim()
        .split(/\s+/)
        .filter(Boolean);
      const vals = l2
        .slice(np + 1)
        .trim()
        .split(/\s+/);
      if (!on) continue;
      names.forEach((name, k) => printval(tab, name, strtoull(vals[k])));
    }
  };

  process(snmp);
  process(netstat);
  return out;
}

/** `netstat -s` for one host's namespace. */
export function netstatS(net: Net, opts?: NetstatStatisticsOptions): string {
  return netstatStatistics(snmp_seq_show(net), netstat_seq_show(net), opts);
}
