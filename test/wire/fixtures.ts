// Known-answer packets captured from Linux by test/wire/fixtures/capture.py (see its header for
// how to regenerate them). Frames start with their Ethernet header; on lo the MACs are zero.

import { readFileSync } from 'node:fs';

interface OptionCase {
  /** The IP options sent, padded to a multiple of four. */
  options: string;
  /** The whole datagram sent from 10.0.0.2 to 10.0.0.1 (UDP to port 9). */
  sent: string;
  /** The frame Linux answered with, if any. */
  reply: string | null;
  /** How much Ip: InHdrErrors rose: 1 when ip_options_compile() rejected the options. */
  inHdrErrors: number;
}

interface UserOptionCase {
  /** Bytes given to setsockopt(IP_OPTIONS) by root. */
  options: string;
  /** 'ok' or the errno name. */
  result: string;
  /** What getsockopt(IP_OPTIONS) gave back (ip_options_undo() of the compiled options). */
  getsockopt?: string;
}

interface Fixtures {
  lo_echo_request: string;
  lo_echo_reply: string;
  lo_udp_partial: string;
  lo_port_unreach: string;
  veth_udp_full: string;
  veth_udp_fragments: string[];
  arp_request: string;
  arp_request_injected: string;
  arp_reply: string;
  veth_echo_reply: string;
  veth_port_unreach: string;
  frag_needed: string;
  time_exceeded: string;
  redirect: string;
  options: OptionCase[];
  user_options: UserOptionCase[];
}

// dist/test/wire/fixtures.js → test/wire/fixtures/linux.json in the source tree.
const raw = JSON.parse(
  readFileSync(new URL('../../../test/wire/fixtures/linux.json', import.meta.url), 'utf8'),
) as Fixtures;

export const linux = raw;

export function hex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** A captured frame as bytes. */
export function frame(
  name: Exclude<keyof Fixtures, 'options' | 'user_options' | 'veth_udp_fragments'>,
): Uint8Array {
  return hex(raw[name]);
}

/** Fixed seeds and bounded runs keep the properties fast and repeatable. */
export const FC = { seed: 1071, numRuns: 300 } as const;

export function ip(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}
