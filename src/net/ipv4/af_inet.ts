// PF_INET socket creation (net/ipv4/af_inet.c): inet_create() finds the transport for a
// (type, protocol) pair in the inetsw table, installs its proto_ops and struct proto, and
// initialises the sock. Transports register themselves with inet_register_protosw(); until one
// does, a type has no entry and socket() answers ESOCKTNOSUPPORT, as a kernel without it would.

import type { Net } from '../core/net_namespace.js';
import { sk_alloc, sock_init_data, type Proto } from '../core/sock.js';
import { sock_register, type NetProtoFamily, type ProtoOps, type Socket } from '../socket.js';
import { current, in_task } from '../../kernel/sched.js';
import * as E from '../../uapi/errno.js';
import { PF_INET, SOCK_MAX, SOCK_RAW, SS_UNCONNECTED } from '../../uapi/socket.js';
import { CAP_NET_RAW } from '../../uapi/capability.js';

import { IPPROTO_IP, IPPROTO_MAX } from '../../uapi/in.js';
export { IPPROTO_IP, IPPROTO_MAX };

/** INET_PROTOSW_* flags. */
export const INET_PROTOSW_REUSE = 0x01;
export const INET_PROTOSW_PERMANENT = 0x02;
export const INET_PROTOSW_ICSK = 0x04;

/** struct inet_protosw. */
export interface InetProtosw {
  type: number;
  /** The L4 protocol number, or IPPROTO_IP as a wildcard. */
  protocol: number;
  prot: Proto;
  ops: ProtoOps;
  flags: number;
}

/** inetsw[]: the transports of one namespace, by socket type. */
export function inetsw(net: Net): InetProtosw[][] {
  let t = net.proto_state.get('inetsw') as InetProtosw[][] | undefined;
  if (!t) {
    t = Array.from({ length: SOCK_MAX }, () => []);
    net.proto_state.set('inetsw', t);
  }
  return t;
}

/** inet_register_protosw(): wildcard entries stay behind exact ones; a permanent entry cannot be overridden. */
export function inet_register_protosw(net: Net, p: InetProtosw): number {
  if (p.type < 0 || p.type >= SOCK_MAX) return -E.EINVAL;
  const list = inetsw(net)[p.type];
  const clash = list.find((q) => q.protocol === p.protocol);
  if (clash && clash.flags & INET_PROTOSW_PERMANENT) return -E.EPERM;
  if (clash) list.splice(list.indexOf(clash), 1);
  if (p.protocol === IPPROTO_IP) list.push(p);
  else {
    const firstWild = list.findIndex((q) => q.protocol === IPPROTO_IP);
    list.splice(firstWild < 0 ? list.length : firstWild, 0, p);
  }
  return 0;
}

/** inet_unregister_protosw(). */
export function inet_unregister_protosw(net: Net, p: InetProtosw): number {
  const list = inetsw(net)[p.type];
  if (p.flags & INET_PROTOSW_PERMANENT) return -E.EPERM;
  const i = list.indexOf(p);
  if (i >= 0) list.splice(i, 1);
  return 0;
}

/** inet_create(). */
function inet_create(net: Net, sock: Socket, protocol: number, kern: boolean): number {
  if (protocol < 0 || protocol >= IPPROTO_MAX) return -E.EINVAL;
  sock.state = SS_UNCONNECTED;
  // Look for the transport: an exact protocol match, or a wildcard on either side.
  let err = -E.ESOCKTNOSUPPORT;
  let answer: InetProtosw | null = null;
  for (const a of inetsw(net)[sock.type]) {
    err = 0;
    if (protocol === a.protocol) {
      if (protocol !== IPPROTO_IP) {
        answer = a;
        break;
      }
    } else {
      if (protocol === IPPROTO_IP) {
        protocol = a.protocol;
        answer = a;
        break;
      }
      if (a.protocol === IPPROTO_IP) {
        answer = a;
        break;
      }
    }
    err = -E.EPROTONOSUPPORT;
  }
  if (!answer) return err || -E.EPROTONOSUPPORT;
  if (sock.type === SOCK_RAW && !kern && in_task() && !current().cred.has_cap(CAP_NET_RAW)) return -E.EPERM;
  sock.ops = answer.ops;
  const sk = sk_alloc(net, PF_INET, answer.prot);
  sk.sk_reuse = answer.flags & INET_PROTOSW_REUSE ? 1 : 0;
  sock_init_data(sock, sk);
  sk.sk_protocol = protocol;
  if (sk.sk_prot.init) {
    err = sk.sk_prot.init(sk);
    if (err) return err;
  }
  return 0;
}

export const inet_family_ops: NetProtoFamily = { family: PF_INET, create: inet_create, owner: 'inet' };

/** inet_init(): the family joins the namespace's table; transports add themselves to inetsw. */
export function inet_init(net: Net): number {
  inetsw(net);
  return sock_register(net, inet_family_ops);
}
