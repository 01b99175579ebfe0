/**
 * The definitions packetdrill's own test driver (gtests/net/packetdrill/run_all.py) passes with
 * `-D` for each address family. Upstream scripts use them as plain words (`FOEXP TFO_COOKIE`,
 * `CMSG_LEVEL_IP`), so a script that names one does not parse without them.
 */

import type { IpVersion } from './runtime.js';

export const RUN_ALL_DEFINES: Readonly<Record<IpVersion, readonly (readonly [string, string])[]>> = {
  ipv4: [
    ['TFO_COOKIE', '3021b9d889017eeb'],
    ['CODE', 'host_unreachable'],
    ['CMSG_LEVEL_IP', 'SOL_IP'],
    ['CMSG_TYPE_RECVERR', 'IP_RECVERR'],
  ],
  ipv6: [
    ['TFO_COOKIE', 'c1d1e9742a47a9bc'],
    ['CMSG_LEVEL_IP', 'SOL_IPV6'],
    ['CMSG_TYPE_RECVERR', 'IPV6_RECVERR'],
  ],
  'ipv4-mapped-ipv6': [
    ['TFO_COOKIE', '3021b9d889017eeb'],
    ['CODE', 'host_unreachable'],
    ['CMSG_LEVEL_IP', 'SOL_IPV6'],
    ['CMSG_TYPE_RECVERR', 'IPV6_RECVERR'],
  ],
};

/**
 * The PSP scripts (gtests/net/psp) take the MSS of their SYN-ACK from `-D MSS=…`; the commit
 * that added them runs them with `-D MSS=1440`.
 */
export const PSP_DEFINES: readonly (readonly [string, string])[] = [['MSS', '1440']];

/** run_all.py's definitions for `mode`, then `extra` (which wins, as a later `-D` does). */
export function upstreamDefines(
  mode: IpVersion,
  extra: Iterable<readonly [string, string]> = [],
): Map<string, string> {
  return new Map([...RUN_ALL_DEFINES[mode], ...extra]);
}
