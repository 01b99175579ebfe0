// AF_UNIX (net/unix/af_unix.c): stream, datagram and seqpacket sockets on one host, named by
// filesystem paths, abstract names or autobind, with fd and credential passing.

import type { File, IoctlArg, Inode, PollTable } from '../../kernel/fs.js';
import { poll_wait, S_ISSOCK } from '../../kernel/fs.js';
import { current } from '../../kernel/sched.js';
import { prepare_to_wait } from '../../kernel/sched.js';
import { WaitQueueEntry, WaitQueueHead, add_wait_queue, remove_wait_queue } from '../../kernel/wait.js';
import {
  wake_up_interruptible,
  wake_up_interruptible_all,
  wake_up_interruptible_sync_poll,
} from '../../kernel/wait.js';
import { MAY_WRITE, S_IFSOCK } from '../../uapi/fcntl.js';
import * as E from '../../uapi/errno.js';
import * as S from '../../uapi/socket.js';
import * as P from '../../uapi/poll.js';
import { Net } from '../core/net_namespace.js';
import {
  Sock,
  TCP_CLOSE,
  TCP_ESTABLISHED,
  TCP_LISTEN,
  SOCK_DEAD,
  SOCK_URGINLINE,
  sk_alloc,
  sk_wq,
  sock_error,
  sock_flag,
  sock_init_data,
  sock_orphan,
  sock_rcvlowat,
  sock_rcvtimeo,
  sock_sndtimeo,
  sock_wfree,
  sock_alloc_send_pskb,
  type Proto,
} from '../core/sock.js';
import {
  SkBuff,
  alloc_skb_with_frags,
  kfree_skb,
  consume_skb,
  SKB_MAX_HEAD0,
  PAGE_SIZE,
} from '../core/skbuff.js';
import { ScmCookie, scm_destroy, scm_recv, scm_send, scm_set_cred, type ScmFpList } from '../core/scm.js';
import {
  Msghdr,
  sock_no_mmap,
  sock_no_sendpage,
  sock_no_splice_read,
  sock_register,
  sock_no_accept,
  sock_no_listen,
  sock_no_getsockopt,
  SOCK_INODE,
  type NetProtoFamily,
  type ProtoOps,
  type Socket,
} from '../socket.js';
import { get_file, fput } from '../../kernel/file_table.js';
import type { Cred } from '../../kernel/cred.js';
import { too_many_unix_fds, unix_gc, unix_inflight, unix_notinflight } from './garbage.js';

const SUN_PATH_OFFSET = 2; // offsetof(struct sockaddr_un, sun_path)
/** UNIX_SKB_FRAGS_SZ: the most a stream skb carries in page fragments. */
const UNIX_SKB_FRAGS_SZ = 32768;
/** SKB_MAX_ALLOC: the largest linear datagram before page fragments are used. */
const SKB_MAX_ALLOC = (PAGE_SIZE << 2) - 320;
const MAX_SKB_FRAGS = 17;

/** struct unix_address. */
export class UnixAddress {
  constructor(
    /** The sockaddr_un bytes (family + sun_path as stored). */
    readonly name: Uint8Array,
    readonly len: number,
  ) {}
}

/** UNIXCB(skb): the control block of a unix skb. */
export class UnixSkbParms {
  pid = 0;
  uid = -1;
  gid = -1;
  fp: ScmFpList | null = null;
  /** Stream: bytes already read from this skb. */
  consumed = 0;
}

function UNIXCB(skb: SkBuff): UnixSkbParms {
  return skb.cb as UnixSkbParms;
}

/** struct unix_sock. */
export class UnixSock extends Sock {
  addr: UnixAddress | null = null;
  /** The filesystem node the socket is bound to. */
  path: Inode | null = null;
  peer: UnixSock | null = null;
  /** Woken when this socket's receive queue drains or it dies (writers of a full peer sleep here). */
  readonly peer_wait = new WaitQueueHead();
  /** Entry that relays wake-ups from a peer's peer_wait to our own queue (unix_dgram_peer_wake_*). */
  readonly peer_wake: WaitQueueEntry;
  /** How many times our file is in flight in SCM_RIGHTS messages. */
  inflight = 0;
  /** GC marks (net/unix/garbage.c). */
  gc_candidate = false;
  gc_refs = 0;
  /** The inode number shown in /proc/net/unix. */
  ino = 0;
  /** The out-of-band byte queued on this socket, if any (CONFIG_AF_UNIX_OOB). */
  oob_skb: SkBuff | null = null;
  constructor(net: Net) {
    super(net);
    this.peer_wake = new WaitQueueEntry(unix_dgram_peer_wake_relay, this);
  }
}

export function unix_sk(sk: Sock): UnixSock {
  return sk as UnixSock;
}
function unix_peer(sk: Sock): UnixSock | null {
  return unix_sk(sk).peer;
}

/** struct netns_unix plus the socket table. */
export class NetnsUnix {
  sysctl_max_dgram_qlen = 10;
  /** Abstract names, keyed by type and name bytes (Linux hashes the type into the bucket). */
  readonly abstract = new Map<string, UnixSock>();
  /** Filesystem-bound sockets by inode (unix_find_socket_byinode). */
  readonly byinode = new Map<Inode, UnixSock>();
  /** Every live socket, for /proc/net/unix. */
  readonly all = new Set<UnixSock>();
  /** Sockets whose file is in flight (gc_inflight_list). */
  readonly inflight_list = new Set<UnixSock>();
  /** unix_tot_inflight. */
  tot_inflight = 0;
}

export function unx(net: Net): NetnsUnix {
  return net.proto_state.get('unix') as NetnsUnix;
}

function abstract_key(type: number, name: Uint8Array, len: number): string {
  let k = `${type}:`;
  for (let i = 0; i < len; i++) k += String.fromCharCode(name[i]);
  return k;
}

// ——— creation —————————————————————————————————————————————————————————————

export const unix_dgram_proto: Proto = { name: 'UNIX', alloc: (net) => new UnixSock(net) };
export const unix_stream_proto: Proto = { name: 'UNIX-STREAM', alloc: (net) => new UnixSock(net) };

/** unix_create1(). */
function unix_create1(net: Net, sock: Socket | null, type: number): UnixSock {
  const sk = unix_sk(sk_alloc(net, S.PF_UNIX, type === S.SOCK_STREAM ? unix_stream_proto : unix_dgram_proto));
  sock_init_data(sock, sk);
  sk.sk_type = type;
  sk.sk_write_space = unix_write_space;
  sk.sk_max_ack_backlog = unx(net).sysctl_max_dgram_qlen;
  sk.ino = sock ? SOCK_INODE(sock).i_ino : net.kernel.get_next_ino();
  unx(net).all.add(sk);
  return sk;
}

/** unix_create(). */
function unix_create(net: Net, sock: Socket, protocol: number, _kern: boolean): number {
  if (protocol && protocol !== S.PF_UNIX) return -E.EPROTONOSUPPORT;
  sock.state = S.SS_UNCONNECTED;
  switch (sock.type) {
    case S.SOCK_STREAM:
      sock.ops = unix_stream_ops;
      break;
    case S.SOCK_RAW:
      // BSD compatibility: a raw unix socket is a datagram socket.
      sock.type = S.SOCK_DGRAM;
      sock.ops = unix_dgram_ops;
      break;
    case S.SOCK_DGRAM:
      sock.ops = unix_dgram_ops;
      break;
    case S.SOCK_SEQPACKET:
      sock.ops = unix_seqpacket_ops;
      break;
    default:
      return -E.ESOCKTNOSUPPORT;
  }
  unix_create1(net, sock, sock.type);
  return 0;
}

export const unix_family_ops: NetProtoFamily = { family: S.PF_UNIX, create: unix_create, owner: 'unix' };

/** af_unix_init(): register the family and its sysctls in a namespace. */
export function af_unix_init(net: Net): void {
  const u = new NetnsUnix();
  net.proto_state.set('unix', u);
  net.kernel.sysctl.register('net.unix.max_dgram_qlen', {
    get: () => u.sysctl_max_dgram_qlen,
    set: (v) => (u.sysctl_max_dgram_qlen = v),
    min: 0,
    max: 0x7fffffff,
  });
  sock_register(net, unix_family_ops);
}

// ——— release ———————————————————————————————————————————————————————————————

function unix_remove_socket(sk: UnixSock): void {
  const u = unx(sk.sk_net);
  if (sk.addr && sk.addr.name[SUN_PATH_OFFSET] === 0) {
    const k = abstract_key(sk.sk_type, sk.addr.name, sk.addr.len);
    if (u.abstract.get(k) === sk) u.abstract.delete(k);
  }
  if (sk.path && u.byinode.get(sk.path) === sk) u.byinode.delete(sk.path);
}

/** unix_release_sock(). */
function unix_release_sock(sk: UnixSock, embrion: boolean): void {
  const u = unx(sk.sk_net);
  unix_remove_socket(sk);
  u.all.delete(sk);
  sock_orphan(sk);
  sk.sk_shutdown = S.SHUTDOWN_MASK;
  sk.path = null;
  sk.oob_skb = null;
  const state = sk.sk_state;
  sk.sk_state = TCP_CLOSE;
  const skpair = sk.peer;
  sk.peer = null;
  wake_up_interruptible_all(sk.peer_wait);
  if (skpair) {
    if (sk.sk_type === S.SOCK_STREAM || sk.sk_type === S.SOCK_SEQPACKET) {
      skpair.sk_shutdown = S.SHUTDOWN_MASK;
      if (!sk.sk_receive_queue.empty() || embrion) skpair.sk_err = E.ECONNRESET;
      skpair.sk_state_change(skpair);
    }
    unix_dgram_peer_wake_disconnect(sk, skpair);
  }
  let skb: SkBuff | null;
  while ((skb = sk.sk_receive_queue.dequeue())) {
    if (state === TCP_LISTEN && skb.cb instanceof UnixSkbParms && embryoOf.has(skb)) {
      unix_release_sock(embryoOf.get(skb)!, true);
    }
    kfree_skb(skb);
  }
  if (u.tot_inflight) unix_gc(sk.sk_net);
}

/** unix_release(). */
function unix_release(sock: Socket): number {
  const sk = sock.sk;
  if (!sk) return 0;
  unix_release_sock(unix_sk(sk), false);
  sock.sk = null;
  return 0;
}

// ——— names ——————————————————————————————————————————————————————————————————

/** unix_validate_addr(). */
function unix_validate_addr(addr: Uint8Array, addr_len: number): number {
  if (addr_len <= SUN_PATH_OFFSET || addr_len > S.SIZEOF_SOCKADDR_UN) return -E.EINVAL;
  if ((addr[0] | (addr[1] << 8)) !== S.AF_UNIX) return -E.EINVAL;
  return 0;
}

/** unix_mkname_bsd(): a path name's length counts up to its NUL, plus the NUL. */
function unix_mkname_bsd(
  addr: Uint8Array,
  addr_len: number,
): { name: Uint8Array; len: number; path: string } {
  const b = new Uint8Array(S.SIZEOF_SOCKADDR_UN + 1);
  b.set(addr.subarray(0, addr_len));
  let end = SUN_PATH_OFFSET;
  while (end < addr_len && b[end] !== 0) end++;
  const path = new TextDecoder().decode(b.subarray(SUN_PATH_OFFSET, end));
  const len = end + 1;
  return { name: b.slice(0, len), len, path };
}

/** unix_autobind(): a name "\0XXXXX" of five hex digits, unique among abstract names. */
function unix_autobind(sk: UnixSock): number {
  if (sk.addr) return 0;
  const u = unx(sk.sk_net);
  const rnd = sk.sk_net.kernel.prandom;
  let ordernum = rnd.get_random_u32() & 0xfffff;
  const name = new Uint8Array(SUN_PATH_OFFSET + 6);
  name[0] = S.AF_UNIX;
  for (let tries = 0; tries <= 0xfffff; tries++) {
    const hex = ordernum.toString(16).padStart(5, '0');
    for (let i = 0; i < 5; i++) name[SUN_PATH_OFFSET + 1 + i] = hex.charCodeAt(i);
    const k = abstract_key(sk.sk_type, name, name.length);
    if (!u.abstract.has(k)) {
      sk.addr = new UnixAddress(name.slice(), name.length);
      u.abstract.set(k, sk);
      return 0;
    }
    ordernum = (ordernum + 1) & 0xfffff;
  }
  return -E.ENOSPC;
}

function unix_bind_bsd(sk: UnixSock, addr: Uint8Array, addr_len: number): number {
  const { name, len, path } = unix_mkname_bsd(addr, addr_len);
  const t = current();
  const vfs = t.kernel.vfs;
  const p = vfs.parentat(t.cred, t.fs.pwd, path);
  if (typeof p === 'number') return p;
  const mode = S_IFSOCK | (SOCK_INODE(sk.sk_socket!).i_mode & 0o777 & ~t.fs.umask);
  const node = vfs.mknod(t.cred, p.dir, p.last, mode);
  if (typeof node === 'number') return node === -E.EEXIST ? -E.EADDRINUSE : node;
  if (sk.addr) {
    // Already bound: undo the node (unix_bind_bsd's out_unlink).
    p.dir.i_children!.delete(p.last);
    return -E.EINVAL;
  }
  sk.addr = new UnixAddress(name, len);
  sk.path = node;
  node.i_private = sk;
  unx(sk.sk_net).byinode.set(node, sk);
  return 0;
}

function unix_bind_abstract(sk: UnixSock, addr: Uint8Array, addr_len: number): number {
  if (sk.addr) return -E.EINVAL;
  const u = unx(sk.sk_net);
  const k = abstract_key(sk.sk_type, addr, addr_len);
  if (u.abstract.has(k)) return -E.EADDRINUSE;
  sk.addr = new UnixAddress(addr.slice(0, addr_len), addr_len);
  u.abstract.set(k, sk);
  return 0;
}

/** unix_bind(). */
function unix_bind(sock: Socket, addr: Uint8Array, addr_len: number): number {
  const sk = unix_sk(sock.sk!);
  if (addr_len === SUN_PATH_OFFSET && (addr[0] | (addr[1] << 8)) === S.AF_UNIX) return unix_autobind(sk);
  const err = unix_validate_addr(addr, addr_len);
  if (err) return err;
  if (addr[SUN_PATH_OFFSET]) return unix_bind_bsd(sk, addr, addr_len);
  return unix_bind_abstract(sk, addr, addr_len);
}

/** unix_find_other(): the socket an address names, checked for type and permission. */
function unix_find_other(net: Net, addr: Uint8Array, addr_len: number, type: number): UnixSock | number {
  if (addr[SUN_PATH_OFFSET]) {
    const { path } = unix_mkname_bsd(addr, addr_len);
    const t = current();
    const vfs = t.kernel.vfs;
    const inode = vfs.lookup(t.cred, t.fs.pwd, path);
    if (typeof inode === 'number') return inode;
    const err = vfs.permission(t.cred, inode, MAY_WRITE);
    if (err) return err;
    if (!S_ISSOCK(inode.i_mode)) return -E.ECONNREFUSED;
    const sk = unx(net).byinode.get(inode);
    if (!sk) return -E.ECONNREFUSED;
    if (sk.sk_type !== type) return -E.EPROTOTYPE;
    return sk;
  }
  const sk = unx(net).abstract.get(abstract_key(type, addr, addr_len));
  return sk ?? -E.ECONNREFUSED;
}

/** unix_getname(). */
function unix_getname(sock: Socket, uaddr: Uint8Array, peer: boolean): number {
  let sk = unix_sk(sock.sk!);
  if (peer) {
    const p = unix_peer(sk);
    if (!p) return -E.ENOTCONN;
    sk = p;
  }
  if (!sk.addr) {
    uaddr[0] = S.AF_UNIX;
    uaddr[1] = 0;
    uaddr[SUN_PATH_OFFSET] = 0;
    return SUN_PATH_OFFSET;
  }
  uaddr.set(sk.addr.name.subarray(0, sk.addr.len));
  return sk.addr.len;
}

/** unix_copy_addr(): the sender's name for recvmsg's msg_name (none for an unbound sender). */
function unix_copy_addr(msg: Msghdr, sk: Sock | null): void {
  if (!msg.msg_name) return;
  const u = sk ? unix_sk(sk) : null;
  if (u && u.addr) {
    msg.msg_name.set(u.addr.name.subarray(0, u.addr.len));
    msg.msg_namelen = u.addr.len;
  }
}

// ——— credentials —————————————————————————————————————————————————————————————

/** init_peercred(): our own identity, for the peer to read with SO_PEERCRED. */
function init_peercred(sk: Sock): void {
  const t = current();
  sk.sk_peer_pid = t.tgid;
  sk.sk_peer_cred = t.cred;
}

/** copy_peercred(). */
function copy_peercred(sk: Sock, peersk: Sock): void {
  sk.sk_peer_pid = peersk.sk_peer_pid;
  sk.sk_peer_cred = peersk.sk_peer_cred as Cred | null;
}

function passcred(sock: Socket | null): boolean {
  return !!sock && (sock.flags & (1 << S.SOCK_PASSCRED)) !== 0;
}

/** unix_may_passcred(). */
function unix_may_passcred(sk: Sock): boolean {
  return passcred(sk.sk_socket);
}

// ——— skbs and fds ————————————————————————————————————————————————————————————

/** unix_destruct_scm(): the skb is freed — its fds are no longer in flight, its memory returns. */
function unix_destruct_scm(skb: SkBuff): void {
  const cb = UNIXCB(skb);
  if (cb.fp) {
    const fp = cb.fp;
    cb.fp = null;
    unix_detach_fds_files(fp);
  }
  if (skb.sk) sock_wfree(skb);
}

function unix_detach_fds_files(fp: ScmFpList): void {
  for (const f of fp.fp) {
    unix_notinflight(fp.user, f);
    fput(f);
  }
}

/** unix_attach_fds(): the skb takes the cookie's file references; sockets among them are in flight. */
function unix_attach_fds(scm: ScmCookie, skb: SkBuff): number {
  const fp = scm.fp!;
  if (too_many_unix_fds(fp.user)) return -E.ETOOMANYREFS;
  const cb = UNIXCB(skb);
  cb.fp = { count: fp.count, fp: fp.fp.slice(), user: fp.user };
  for (const f of cb.fp.fp) unix_inflight(fp.user, f);
  // The skb now owns the references; the cookie lets go without dropping them.
  scm.fp = null;
  return 0;
}

/** unix_detach_fds(): move an skb's files to a receive cookie. */
function unix_detach_fds(scm: ScmCookie, skb: SkBuff): void {
  const cb = UNIXCB(skb);
  const fp = cb.fp!;
  cb.fp = null;
  for (const f of fp.fp) unix_notinflight(fp.user, f);
  scm.fp = fp;
}

/** unix_peek_fds(): MSG_PEEK gets its own references; the skb keeps the originals. */
function unix_peek_fds(scm: ScmCookie, skb: SkBuff): void {
  const fp = UNIXCB(skb).fp!;
  scm.fp = { count: fp.count, fp: fp.fp.map((f) => get_file(f)), user: fp.user };
}

/** unix_scm_to_skb(). */
function unix_scm_to_skb(scm: ScmCookie, skb: SkBuff, send_fds: boolean): number {
  const cb = new UnixSkbParms();
  skb.cb = cb;
  cb.pid = scm.creds.pid;
  cb.uid = scm.creds.uid;
  cb.gid = scm.creds.gid;
  if (scm.fp && send_fds) return unix_attach_fds(scm, skb);
  return 0;
}

/**
 * maybe_add_creds(): a message carries its writer's credentials when either end has
 * SO_PASSCRED at send time; otherwise it reads as pid 0 and the overflow uid/gid.
 */
function maybe_add_creds(skb: SkBuff, sock: Socket, other: Sock): void {
  const cb = UNIXCB(skb);
  if (cb.pid) return;
  if (passcred(sock) || passcred(other.sk_socket)) {
    const t = current();
    cb.pid = t.tgid;
    cb.uid = t.cred.uid;
    cb.gid = t.cred.gid;
  }
}

/** unix_skb_scm_eq(): stream reads never merge data sent with different credentials. */
function unix_skb_scm_eq(skb: SkBuff, scm: ScmCookie): boolean {
  const cb = UNIXCB(skb);
  return cb.pid === scm.creds.pid && cb.uid === scm.creds.uid && cb.gid === scm.creds.gid;
}

/** An skb charged to the sender whose freeing also lets go of the fds it carries (unix_destruct_scm). */
function unix_alloc_send_skb(
  sk: Sock,
  header_len: number,
  data_len: number,
  noblock: boolean,
  err: { v: number },
): SkBuff | null {
  const skb = sock_alloc_send_pskb(sk, header_len, data_len, noblock, err);
  if (skb) skb.destructor = unix_destruct_scm;
  return skb;
}

// ——— connect, listen, accept ———————————————————————————————————————————————————

/** unix_listen(). */
function unix_listen(sock: Socket, backlog: number): number {
  const sk = unix_sk(sock.sk!);
  if (sock.type !== S.SOCK_STREAM && sock.type !== S.SOCK_SEQPACKET) return -E.EOPNOTSUPP;
  if (!sk.addr) return -E.EINVAL;
  if (sk.sk_state !== TCP_CLOSE && sk.sk_state !== TCP_LISTEN) return -E.EINVAL;
  if (backlog > sk.sk_max_ack_backlog) wake_up_interruptible_all(sk.peer_wait);
  sk.sk_max_ack_backlog = backlog;
  sk.sk_state = TCP_LISTEN;
  init_peercred(sk);
  return 0;
}

/** unix_recvq_full(). */
function unix_recvq_full(sk: Sock): boolean {
  return sk.sk_receive_queue.qlen > sk.sk_max_ack_backlog;
}

/** The embryo socket a connect request skb carries (skb->sk of the request). */
const embryoOf = new WeakMap<SkBuff, UnixSock>();

/** The not-yet-accepted socket a listener's queued skb stands for. */
export function unix_embryo(skb: SkBuff): UnixSock | null {
  return embryoOf.get(skb) ?? null;
}

/** unix_stream_connect(). */
function unix_stream_connect(sock: Socket, addr: Uint8Array, addr_len: number, flags: number): number {
  const sk = unix_sk(sock.sk!);
  const net = sk.sk_net;
  let err = unix_validate_addr(addr, addr_len);
  if (err) return err;
  if (unix_may_passcred(sk) && !sk.addr) {
    err = unix_autobind(sk);
    if (err) return err;
  }
  const timeo = sock_sndtimeo(sk, (flags & 0o4000) !== 0);
  const other = unix_find_other(net, addr, addr_len, sk.sk_type);
  if (typeof other === 'number') return other;
  if (other.sk_state !== TCP_LISTEN) return -E.ECONNREFUSED;
  if (other.sk_shutdown & S.RCV_SHUTDOWN) return -E.ECONNREFUSED;
  if (unix_recvq_full(other)) {
    if (!timeo) return -E.EAGAIN;
    // unix_wait_for_peer(): sleep until the listener's queue drains.
    prepare_to_wait(other.peer_wait, timeo, true);
    return -E.EAGAIN;
  }
  const state = sk.sk_state;
  if (state !== TCP_CLOSE) return state === TCP_ESTABLISHED ? -E.EISCONN : -E.EINVAL;

  // The way is open: the embryo that accept() will hand out.
  const newsk = unix_create1(net, null, sk.sk_type);
  newsk.peer = sk;
  newsk.sk_state = TCP_ESTABLISHED;
  init_peercred(newsk);
  if (other.addr) newsk.addr = other.addr;
  newsk.path = other.path;
  copy_peercred(sk, other);
  sock.state = S.SS_CONNECTED;
  sk.sk_state = TCP_ESTABLISHED;
  sk.peer = newsk;

  // A one-byte skb charged to the embryo, queued on the listener (sock_wmalloc(newsk, 1)).
  const skb = alloc_skb_with_frags(1, 0);
  skb.cb = new UnixSkbParms();
  skb.sk = newsk;
  newsk.sk_wmem_alloc += skb.truesize;
  skb.destructor = sock_wfree;
  embryoOf.set(skb, newsk);
  other.sk_receive_queue.tail(skb);
  other.sk_data_ready(other);
  return 0;
}

/** unix_dgram_connect(). */
function unix_dgram_connect(sock: Socket, addr: Uint8Array, alen: number, _flags: number): number {
  const sk = unix_sk(sock.sk!);
  if (alen < SUN_PATH_OFFSET) return -E.EINVAL;
  let other: UnixSock | null = null;
  if ((addr[0] | (addr[1] << 8)) !== S.AF_UNSPEC) {
    let err = unix_validate_addr(addr, alen);
    if (err) return err;
    if (unix_may_passcred(sk) && !sk.addr) {
      err = unix_autobind(sk);
      if (err) return err;
    }
    const o = unix_find_other(sk.sk_net, addr, alen, sock.type);
    if (typeof o === 'number') return o;
    if (!unix_may_send(sk, o)) return -E.EPERM;
    other = o;
    sk.sk_state = other.sk_state = TCP_ESTABLISHED;
  }
  const old_peer = sk.peer;
  sk.peer = other;
  if (old_peer) {
    if (!other) sk.sk_state = TCP_CLOSE;
    unix_dgram_peer_wake_disconnect_wakeup(sk, old_peer);
    if (other !== old_peer) {
      unix_dgram_disconnected(sk, old_peer);
      if (!old_peer.peer) old_peer.sk_state = TCP_CLOSE;
    }
  }
  return 0;
}

/** unix_may_send(): the destination is unconnected or connected to us. */
function unix_may_send(sk: Sock, osk: UnixSock): boolean {
  return osk.peer === null || osk.peer === sk;
}

/** unix_dgram_disconnected(): leaving a peer drops what it sent us, and tells it. */
function unix_dgram_disconnected(sk: UnixSock, other: UnixSock): void {
  if (!sk.sk_receive_queue.empty()) {
    sk.sk_receive_queue.purge();
    wake_up_interruptible_all(sk.peer_wait);
    if (!sock_flag(other, SOCK_DEAD) && other.peer === sk) {
      other.sk_err = E.ECONNRESET;
      other.sk_error_report(other);
    }
  }
}

/** unix_accept(). */
function unix_accept(sock: Socket, newsock: Socket, flags: number, _kern: boolean): number {
  const sk = unix_sk(sock.sk!);
  if (sock.type !== S.SOCK_STREAM && sock.type !== S.SOCK_SEQPACKET) return -E.EOPNOTSUPP;
  if (sk.sk_state !== TCP_LISTEN) return -E.EINVAL;
  const noblock = (flags & 0o4000) !== 0;
  const skb = sk.sk_receive_queue.peek();
  if (!skb) {
    // skb_recv_datagram(): an error, or EAGAIN without sleeping; a sleeper that finds the
    // listener shut down gets no skb and no error, which accept turns into EINVAL.
    const err = sock_error(sk);
    if (err) return err;
    const timeo = sock_rcvtimeo(sk, noblock);
    if (!timeo) return -E.EAGAIN;
    if (sk.sk_shutdown & S.RCV_SHUTDOWN) return -E.EINVAL;
    prepare_to_wait(sk_wq(sk)!, timeo, true);
    return -E.EAGAIN;
  }
  sk.sk_receive_queue.unlink(skb);
  const tsk = embryoOf.get(skb)!;
  consume_skb(skb);
  wake_up_interruptible(sk.peer_wait);
  newsock.state = S.SS_CONNECTED;
  newsock.flags =
    (newsock.flags & ~((1 << S.SOCK_PASSCRED) | (1 << S.SOCK_PASSSEC))) |
    (sock.flags & ((1 << S.SOCK_PASSCRED) | (1 << S.SOCK_PASSSEC)));
  // sock_graft().
  tsk.sk_socket = newsock;
  newsock.sk = tsk;
  tsk.ino = SOCK_INODE(newsock).i_ino;
  return 0;
}

/** unix_socketpair(). */
function unix_socketpair(socka: Socket, sockb: Socket): number {
  const ska = unix_sk(socka.sk!);
  const skb = unix_sk(sockb.sk!);
  ska.peer = skb;
  skb.peer = ska;
  init_peercred(ska);
  init_peercred(skb);
  ska.sk_state = TCP_ESTABLISHED;
  skb.sk_state = TCP_ESTABLISHED;
  socka.state = S.SS_CONNECTED;
  sockb.state = S.SS_CONNECTED;
  return 0;
}

/** unix_shutdown(). */
function unix_shutdown(sock: Socket, mode: number): number {
  const sk = unix_sk(sock.sk!);
  if (mode < S.SHUT_RD || mode > S.SHUT_RDWR) return -E.EINVAL;
  mode++;
  sk.sk_shutdown |= mode;
  const other = sk.peer;
  sk.sk_state_change(sk);
  if (other && (sk.sk_type === S.SOCK_STREAM || sk.sk_type === S.SOCK_SEQPACKET)) {
    let peer_mode = 0;
    if (mode & S.RCV_SHUTDOWN) peer_mode |= S.SEND_SHUTDOWN;
    if (mode & S.SEND_SHUTDOWN) peer_mode |= S.RCV_SHUTDOWN;
    other.sk_shutdown |= peer_mode;
    other.sk_state_change(other);
  }
  return 0;
}

// ——— the dgram peer-wake relay ——————————————————————————————————————————————————

/** unix_dgram_peer_wake_relay(): the peer drained; wake whoever polls us for POLLOUT. */
function unix_dgram_peer_wake_relay(e: WaitQueueEntry, _mode: number, key: number): number {
  const u = e.private_ as UnixSock;
  remove_wait_queue(e);
  const wq = sk_wq(u);
  if (wq) wake_up_interruptible_sync_poll(wq, key);
  return 0;
}

function unix_dgram_peer_wake_connect(sk: UnixSock, other: UnixSock): boolean {
  if (sk.peer_wake.head) return false;
  add_wait_queue(other.peer_wait, sk.peer_wake);
  return true;
}

function unix_dgram_peer_wake_disconnect(sk: UnixSock, other: UnixSock): void {
  if (sk.peer_wake.head === other.peer_wait) remove_wait_queue(sk.peer_wake);
}

function unix_dgram_peer_wake_disconnect_wakeup(sk: UnixSock, other: UnixSock): void {
  unix_dgram_peer_wake_disconnect(sk, other);
  const wq = sk_wq(sk);
  if (wq) wake_up_interruptible_sync_poll(wq, P.POLLOUT | P.POLLWRNORM | P.POLLWRBAND);
}

/** unix_dgram_peer_wake_me(): whether we must wait for `other` to drain (and arrange the wake-up). */
function unix_dgram_peer_wake_me(sk: UnixSock, other: UnixSock): boolean {
  const connected = unix_dgram_peer_wake_connect(sk, other);
  if (unix_recvq_full(other)) return true;
  if (connected) unix_dgram_peer_wake_disconnect(sk, other);
  return false;
}

// ——— poll ——————————————————————————————————————————————————————————————————————

/** unix_writable(). */
function unix_writable(sk: Sock, state: number): boolean {
  return state !== TCP_LISTEN && sk.sk_wmem_alloc << 2 <= sk.sk_sndbuf;
}

/** unix_write_space(). */
function unix_write_space(sk: Sock): void {
  if (unix_writable(sk, sk.sk_state)) {
    const wq = sk_wq(sk);
    if (wq && wq.first) wake_up_interruptible_sync_poll(wq, P.POLLOUT | P.POLLWRNORM | P.POLLWRBAND);
  }
}

/** unix_poll(): stream sockets. */
function unix_poll(file: File, sock: Socket, wait: PollTable | null): number {
  const sk = sock.sk!;
  poll_wait(file, sock.wq.wait, wait);
  let mask = 0;
  const shutdown = sk.sk_shutdown;
  const state = sk.sk_state;
  if (sk.sk_err) mask |= P.POLLERR;
  if (shutdown === S.SHUTDOWN_MASK) mask |= P.POLLHUP;
  if (shutdown & S.RCV_SHUTDOWN) mask |= P.POLLRDHUP | P.POLLIN | P.POLLRDNORM;
  if (!sk.sk_receive_queue.empty()) mask |= P.POLLIN | P.POLLRDNORM;
  if (unix_sk(sk).oob_skb) mask |= P.POLLPRI;
  if ((sk.sk_type === S.SOCK_STREAM || sk.sk_type === S.SOCK_SEQPACKET) && state === TCP_CLOSE)
    mask |= P.POLLHUP;
  if (unix_writable(sk, state)) mask |= P.POLLOUT | P.POLLWRNORM | P.POLLWRBAND;
  return mask;
}

/** unix_dgram_poll(): datagram and seqpacket sockets. */
function unix_dgram_poll(file: File, sock: Socket, wait: PollTable | null): number {
  const sk = unix_sk(sock.sk!);
  poll_wait(file, sock.wq.wait, wait);
  let mask = 0;
  const shutdown = sk.sk_shutdown;
  const state = sk.sk_state;
  if (sk.sk_err || !sk.sk_error_queue.empty()) mask |= P.POLLERR;
  if (shutdown & S.RCV_SHUTDOWN) mask |= P.POLLRDHUP | P.POLLIN | P.POLLRDNORM;
  if (shutdown === S.SHUTDOWN_MASK) mask |= P.POLLHUP;
  if (!sk.sk_receive_queue.empty()) mask |= P.POLLIN | P.POLLRDNORM;
  if (sk.sk_type === S.SOCK_SEQPACKET && state === TCP_CLOSE) mask |= P.POLLHUP;
  // No write status requested: skip the peer test (poll_requested_events).
  const requested = wait ? wait._key : ~0;
  if (!(requested & (P.POLLWRBAND | P.POLLWRNORM | P.POLLOUT))) return mask;
  let writable = unix_writable(sk, state);
  if (writable) {
    const other = sk.peer;
    if (other && other.peer !== sk && unix_recvq_full(other) && unix_dgram_peer_wake_me(sk, other))
      writable = false;
  }
  if (writable) mask |= P.POLLOUT | P.POLLWRNORM | P.POLLWRBAND;
  else if (sock) sock.flags |= 1 << S.SOCK_NOSPACE;
  return mask;
}

// ——— ioctl ————————————————————————————————————————————————————————————————————

/** unix_inq_len(). */
function unix_inq_len(sk: Sock): number {
  if (sk.sk_state === TCP_LISTEN) return -E.EINVAL;
  if (sk.sk_type === S.SOCK_STREAM || sk.sk_type === S.SOCK_SEQPACKET) {
    let amount = 0;
    for (const skb of sk.sk_receive_queue) amount += unix_skb_len(skb);
    return amount;
  }
  const skb = sk.sk_receive_queue.peek();
  return skb ? skb.len : 0;
}

/** unix_ioctl(). */
function unix_ioctl(sock: Socket, cmd: number, arg: IoctlArg): number {
  const sk = sock.sk!;
  switch (cmd) {
    case S.SIOCOUTQ:
      arg.value = sk.sk_wmem_alloc;
      return 0;
    case S.SIOCINQ: {
      const n = unix_inq_len(sk);
      if (n < 0) return n;
      arg.value = n;
      return 0;
    }
    case S.SIOCATMARK: {
      if (sk.sk_type !== S.SOCK_STREAM) return -E.EOPNOTSUPP;
      // At the mark: the next byte to read is the out-of-band one.
      const skb = sk.sk_receive_queue.peek();
      const oob = unix_sk(sk).oob_skb;
      arg.value = skb && (skb === oob || (!unix_skb_len(skb) && (!oob || skb.next === oob))) ? 1 : 0;
      return 0;
    }
    default:
      return -E.ENOTTY;
  }
}

// ——— stream data ————————————————————————————————————————————————————————————————

function unix_skb_len(skb: SkBuff): number {
  return skb.len - UNIXCB(skb).consumed;
}

/** unix_stream_sendmsg(). */
function unix_stream_sendmsg(sock: Socket, msg: Msghdr, len: number): number {
  const sk = unix_sk(sock.sk!);
  const iter = msg.msg_iter;
  // Bytes sent by earlier passes of this call (it slept for buffer space in between).
  const before = iter.total - iter.count;
  let sent = 0;
  const scm = new ScmCookie();
  let err = scm_send(sock, msg, scm);
  if (err < 0) return err;
  // Only the first skb of a write carries its fds; a resumed write has sent them already.
  if (before) scm_destroy(scm);
  const noblock = (msg.msg_flags & S.MSG_DONTWAIT) !== 0;
  // MSG_OOB: the last byte goes out of band (queue_oob), the rest as usual.
  const oob = (msg.msg_flags & S.MSG_OOB) !== 0;
  if (oob && !len) {
    scm_destroy(scm);
    return -E.EOPNOTSUPP;
  }
  const total = oob ? len - 1 : len;
  if (msg.msg_namelen) {
    scm_destroy(scm);
    return sk.sk_state === TCP_ESTABLISHED ? -E.EISCONN : -E.EOPNOTSUPP;
  }
  // A call resumed after sleeping reports what it already sent (Linux's `sent ?: err`).
  const other = sk.peer;
  if (!other) {
    scm_destroy(scm);
    return before || -E.ENOTCONN;
  }
  if (sk.sk_shutdown & S.SEND_SHUTDOWN) {
    scm_destroy(scm);
    return before || -E.EPIPE;
  }
  let fds_sent = false;
  const ebox = { v: 0 };
  while (sent < total) {
    let size = total - sent;
    size = Math.min(size, (sk.sk_sndbuf >> 1) - 64);
    size = Math.min(size, SKB_MAX_HEAD0 + UNIX_SKB_FRAGS_SZ);
    let data_len = Math.max(0, size - SKB_MAX_HEAD0);
    data_len = Math.min(size, Math.ceil(data_len / PAGE_SIZE) * PAGE_SIZE);
    const skb = unix_alloc_send_skb(sk, size - data_len, data_len, noblock, ebox);
    if (!skb) {
      err = ebox.v;
      break;
    }
    err = unix_scm_to_skb(scm, skb, !fds_sent);
    if (err) {
      kfree_skb(skb);
      break;
    }
    fds_sent = true;
    iter.copy_from_iter(skb.head, skb.put(size), size);
    if (sock_flag(other, SOCK_DEAD) || other.sk_shutdown & S.RCV_SHUTDOWN) {
      kfree_skb(skb);
      err = -E.EPIPE;
      break;
    }
    maybe_add_creds(skb, sock, other);
    other.sk_receive_queue.tail(skb);
    other.sk_data_ready(other);
    sent += size;
  }
  if (oob && sent === total && err === 0) {
    err = queue_oob(sock, msg, other, scm, fds_sent || before > 0, noblock);
    if (!err) sent++;
  }
  scm_destroy(scm);
  // Out of buffer space with a sleep arranged: sleep, and the next pass carries on from the iterator.
  if (err === -E.EAGAIN && !noblock && sk.sk_sndtimeo !== 0) return err;
  if (before + sent) return before + sent;
  return err;
}

/** queue_oob(): the out-of-band byte travels in an skb of its own, marked on the receiver. */
function queue_oob(
  sock: Socket,
  msg: Msghdr,
  other: UnixSock,
  scm: ScmCookie,
  fds_sent: boolean,
  noblock: boolean,
) {
  const ebox = { v: 0 };
  const skb = unix_alloc_send_skb(sock.sk!, 1, 0, noblock, ebox);
  if (!skb) return ebox.v;
  const err = unix_scm_to_skb(scm, skb, !fds_sent);
  if (err) {
    kfree_skb(skb);
    return err;
  }
  msg.msg_iter.copy_from_iter(skb.head, skb.put(1), 1);
  if (sock_flag(other, SOCK_DEAD) || other.sk_shutdown & S.RCV_SHUTDOWN) {
    kfree_skb(skb);
    return -E.EPIPE;
  }
  maybe_add_creds(skb, sock, other);
  other.oob_skb = skb;
  other.sk_receive_queue.tail(skb);
  other.sk_data_ready(other);
  return 0;
}

/** unix_stream_recv_urg(): recv(MSG_OOB) takes the out-of-band byte. */
function unix_stream_recv_urg(sock: Socket, msg: Msghdr, flags: number): number {
  const sk = unix_sk(sock.sk!);
  const oob_skb = sk.oob_skb;
  if (sock_flag(sk, SOCK_URGINLINE) || !oob_skb) return -E.EINVAL;
  if (!(flags & S.MSG_PEEK)) {
    sk.oob_skb = null;
    const prev = oob_skb.prev;
    if (prev && !unix_skb_len(prev)) {
      sk.sk_receive_queue.unlink(prev);
      consume_skb(prev);
    }
  }
  msg.msg_iter.copy_to_iter(oob_skb.head, oob_skb.data + UNIXCB(oob_skb).consumed, 1);
  if (!(flags & S.MSG_PEEK)) UNIXCB(oob_skb).consumed += 1;
  msg.msg_flags |= S.MSG_OOB;
  return 1;
}

/**
 * manage_oob(): ordinary reads stop at the out-of-band mark, skip the byte unless SO_OOBINLINE,
 * and drop skbs that were read empty.
 */
function manage_oob(skb: SkBuff, sk: UnixSock, flags: number, copied: number): SkBuff | null {
  if (unix_skb_len(skb) && skb !== sk.oob_skb) return skb;
  let read_skb: SkBuff | null = null;
  let unread_skb: SkBuff | null = null;
  let cur: SkBuff | null = skb;
  if (!unix_skb_len(skb)) {
    if (copied && (!sk.oob_skb || skb === sk.oob_skb)) cur = null;
    else if (flags & S.MSG_PEEK) cur = skb.next;
    else {
      read_skb = skb;
      cur = skb.next;
      sk.sk_receive_queue.unlink(read_skb);
    }
  }
  if (cur && cur === sk.oob_skb) {
    if (copied) cur = null;
    else if (!(flags & S.MSG_PEEK)) {
      sk.oob_skb = null;
      if (!sock_flag(sk, SOCK_URGINLINE)) {
        sk.sk_receive_queue.unlink(cur);
        unread_skb = cur;
        cur = sk.sk_receive_queue.peek();
      }
    } else if (!sock_flag(sk, SOCK_URGINLINE)) cur = cur.next;
  }
  if (read_skb) consume_skb(read_skb);
  if (unread_skb) kfree_skb(unread_skb);
  return cur;
}

/** unix_stream_read_generic() for recvmsg. */
function unix_stream_recvmsg(sock: Socket, msg: Msghdr, size: number, flags: number): number {
  const sk = unix_sk(sock.sk!);
  if (sk.sk_state !== TCP_ESTABLISHED) return -E.EINVAL;
  if (flags & S.MSG_OOB) return unix_stream_recv_urg(sock, msg, flags);
  const noblock = (flags & S.MSG_DONTWAIT) !== 0;
  const iter = msg.msg_iter;
  // What earlier passes of this call already copied (it slept for more data in between).
  const before = iter.total - iter.count;
  const target = Math.max(0, sock_rcvlowat(sk, (flags & S.MSG_WAITALL) !== 0, before + size) - before);
  let copied = 0;
  let err = 0;
  let skip = flags & S.MSG_PEEK && sk.sk_peek_off >= 0 ? sk.sk_peek_off : 0;
  const scm = new ScmCookie();
  let check_creds = false;
  let skb = sk.sk_receive_queue.peek();
  for (;;) {
    if (skb) {
      skb = manage_oob(skb, sk, flags, copied);
      if (!skb && copied) break;
    }
    if (!skb) {
      if (copied >= target) break;
      err = sock_error(sk);
      if (err) break;
      if (sk.sk_shutdown & S.RCV_SHUTDOWN) break;
      const timeo = sock_rcvtimeo(sk, noblock);
      if (!timeo) {
        err = -E.EAGAIN;
        break;
      }
      // MSG_PEEK cannot resume (nothing is consumed), so it returns what it saw.
      if (flags & S.MSG_PEEK && copied) break;
      prepare_to_wait(sk_wq(sk)!, timeo);
      scm_destroy(scm);
      // Sleep; what this pass copied stays in the user buffer and the iterator.
      return -E.EAGAIN;
    }
    while (skb && skip >= unix_skb_len(skb)) {
      skip -= unix_skb_len(skb);
      skb = skb.next;
    }
    if (!skb) continue;
    const cb = UNIXCB(skb);
    if (check_creds) {
      // Never glue messages from different writers.
      if (!unix_skb_scm_eq(skb, scm)) break;
    } else if (passcred(sock)) {
      scm_set_cred(scm, cb.pid, cb.uid, cb.gid);
      check_creds = true;
    }
    if (msg.msg_name && !msg.msg_namelen) unix_copy_addr(msg, skb.sk);
    const chunk = Math.min(unix_skb_len(skb) - skip, size);
    iter.copy_to_iter(skb.head, skb.data + cb.consumed + skip, chunk);
    copied += chunk;
    size -= chunk;
    if (!(flags & S.MSG_PEEK)) {
      cb.consumed += chunk;
      if (sk.sk_peek_off >= 0) sk.sk_peek_off = Math.max(0, sk.sk_peek_off - chunk);
      if (cb.fp) unix_detach_fds(scm, skb);
      if (unix_skb_len(skb)) break;
      const next = skb.next;
      sk.sk_receive_queue.unlink(skb);
      consume_skb(skb);
      skb = next;
      if (scm.fp) break;
    } else {
      if (cb.fp) unix_peek_fds(scm, skb);
      if (sk.sk_peek_off >= 0) sk.sk_peek_off += chunk;
      if (cb.fp) break;
      skip = 0;
      skb = skb.next;
      if (!skb) break;
    }
    if (!size) break;
  }
  if (copied) {
    scm_recv(sock, msg, scm, flags);
    return before + copied;
  }
  scm_destroy(scm);
  return before || err;
}

// ——— datagram data —————————————————————————————————————————————————————————————

/** unix_dgram_sendmsg(). */
function unix_dgram_sendmsg(sock: Socket, msg: Msghdr, len: number): number {
  const sk = unix_sk(sock.sk!);
  const scm = new ScmCookie();
  let err = scm_send(sock, msg, scm);
  if (err < 0) return err;
  const fail = (e: number): number => {
    scm_destroy(scm);
    return e;
  };
  if (msg.msg_flags & S.MSG_OOB) return fail(-E.EOPNOTSUPP);
  let sunaddr: Uint8Array | null = null;
  let other: UnixSock | null = null;
  if (msg.msg_namelen) {
    err = unix_validate_addr(msg.msg_name!, msg.msg_namelen);
    if (err) return fail(err);
    sunaddr = msg.msg_name;
  } else {
    other = sk.peer;
    if (!other) return fail(-E.ENOTCONN);
  }
  if (passcred(sock) && !sk.addr) {
    err = unix_autobind(sk);
    if (err) return fail(err);
  }
  if (len > sk.sk_sndbuf - 32) return fail(-E.EMSGSIZE);
  const noblock = (msg.msg_flags & S.MSG_DONTWAIT) !== 0;
  const timeo = sock_sndtimeo(sk, noblock);

  // Memory first, as Linux does: a pending error or a full send buffer is reported before the
  // destination is looked at. The data is copied in only once the destination takes it, so a
  // call that must sleep for the receiver's queue can start over from the same iterator.
  let data_len = 0;
  if (len > SKB_MAX_ALLOC) {
    data_len = Math.min(len - SKB_MAX_ALLOC, MAX_SKB_FRAGS * PAGE_SIZE);
    data_len = Math.ceil(data_len / PAGE_SIZE) * PAGE_SIZE;
  }
  const ebox = { v: 0 };
  const skb = unix_alloc_send_skb(sk, Math.max(0, len - data_len), Math.min(data_len, len), noblock, ebox);
  if (!skb) return fail(ebox.v);
  const drop = (e: number): number => {
    kfree_skb(skb);
    return fail(e);
  };
  err = unix_scm_to_skb(scm, skb, true);
  if (err) return drop(err);

  for (;;) {
    if (!other) {
      if (!sunaddr) return drop(-E.ECONNRESET);
      const o = unix_find_other(sk.sk_net, sunaddr, msg.msg_namelen, sk.sk_type);
      if (typeof o === 'number') return drop(o);
      other = o;
    }
    if (!unix_may_send(sk, other)) return drop(-E.EPERM);
    if (sock_flag(other, SOCK_DEAD)) {
      // The peer died: a connected datagram socket learns it here.
      err = 0;
      if (sk.sk_type === S.SOCK_SEQPACKET) err = -E.EPIPE;
      else if (sk.peer === other) {
        sk.peer = null;
        unix_dgram_peer_wake_disconnect_wakeup(sk, other);
        sk.sk_state = TCP_CLOSE;
        unix_dgram_disconnected(sk, other);
        err = -E.ECONNREFUSED;
      }
      other = null;
      if (err) return drop(err);
      continue;
    }
    break;
  }
  if (other.sk_shutdown & S.RCV_SHUTDOWN) return drop(-E.EPIPE);
  if (other !== sk && other.peer !== sk && unix_recvq_full(other)) {
    // unix_wait_for_peer() when we may sleep; else arrange the POLLOUT wake-up and say EAGAIN.
    if (timeo) prepare_to_wait(other.peer_wait, timeo);
    else unix_dgram_peer_wake_me(sk, other);
    return drop(-E.EAGAIN);
  }
  msg.msg_iter.copy_from_iter(skb.head, skb.put(len), len);
  maybe_add_creds(skb, sock, other);
  other.sk_receive_queue.tail(skb);
  other.sk_data_ready(other);
  scm_destroy(scm);
  return len;
}

/** unix_seqpacket_sendmsg(). */
function unix_seqpacket_sendmsg(sock: Socket, msg: Msghdr, len: number): number {
  const sk = sock.sk!;
  const err = sock_error(sk);
  if (err) return err;
  if (sk.sk_state !== TCP_ESTABLISHED) return -E.ENOTCONN;
  if (msg.msg_namelen) msg.msg_namelen = 0;
  return unix_dgram_sendmsg(sock, msg, len);
}

/** __unix_dgram_recvmsg(). */
function unix_dgram_recvmsg(sock: Socket, msg: Msghdr, size: number, flags: number): number {
  const sk = unix_sk(sock.sk!);
  if (flags & S.MSG_OOB) return -E.EOPNOTSUPP;
  const noblock = (flags & S.MSG_DONTWAIT) !== 0;
  let skip = flags & S.MSG_PEEK && sk.sk_peek_off >= 0 ? sk.sk_peek_off : 0;
  // __skb_try_recv_datagram(): a pending error first, then the queue (skipping the peek offset).
  const serr = sock_error(sk);
  if (serr) return serr;
  let skb = sk.sk_receive_queue.peek();
  while (skb && skip >= skb.len && flags & S.MSG_PEEK && sk.sk_peek_off >= 0) {
    skip -= skb.len;
    skb = skb.next;
    if (!skb) break;
  }
  if (!skb) {
    if (sk.sk_shutdown & S.RCV_SHUTDOWN) {
      // Blocking readers see end of file; non-blocking ones EAGAIN, but seqpacket signals EOF.
      if (!noblock && sk.sk_rcvtimeo !== 0) return 0;
      return sk.sk_type === S.SOCK_SEQPACKET ? 0 : -E.EAGAIN;
    }
    if (sk.sk_type === S.SOCK_SEQPACKET && sk.sk_state !== TCP_ESTABLISHED && sk.sk_state !== TCP_LISTEN)
      return -E.ENOTCONN;
    const timeo = sock_rcvtimeo(sk, noblock);
    if (!timeo) return -E.EAGAIN;
    prepare_to_wait(sk_wq(sk)!, timeo, true);
    return -E.EAGAIN;
  }
  if (!(flags & S.MSG_PEEK)) sk.sk_receive_queue.unlink(skb);
  if (sk.peer_wait.first)
    wake_up_interruptible_sync_poll(sk.peer_wait, P.POLLOUT | P.POLLWRNORM | P.POLLWRBAND);
  unix_copy_addr(msg, skb.sk);
  if (!(flags & S.MSG_PEEK)) skip = 0;
  let n = size;
  if (n > skb.len - skip) n = skb.len - skip;
  else if (n < skb.len - skip) msg.msg_flags |= S.MSG_TRUNC;
  msg.msg_iter.copy_to_iter(skb.head, skb.data + skip, n);
  const cb = UNIXCB(skb);
  const scm = new ScmCookie();
  scm_set_cred(scm, cb.pid, cb.uid, cb.gid);
  if (!(flags & S.MSG_PEEK)) {
    if (cb.fp) unix_detach_fds(scm, skb);
    if (sk.sk_peek_off >= 0) sk.sk_peek_off = Math.max(0, sk.sk_peek_off - skb.len);
  } else {
    if (sk.sk_peek_off >= 0) sk.sk_peek_off += n;
    if (cb.fp) unix_peek_fds(scm, skb);
  }
  const ret = flags & S.MSG_TRUNC ? skb.len - skip : n;
  scm_recv(sock, msg, scm, flags);
  if (!(flags & S.MSG_PEEK)) kfree_skb(skb);
  return ret;
}

/** unix_seqpacket_recvmsg(). */
function unix_seqpacket_recvmsg(sock: Socket, msg: Msghdr, size: number, flags: number): number {
  if (sock.sk!.sk_state !== TCP_ESTABLISHED) return -E.ENOTCONN;
  return unix_dgram_recvmsg(sock, msg, size, flags);
}

/** unix_set_peek_off(). */
function unix_set_peek_off(sk: Sock, val: number): number {
  sk.sk_peek_off = val;
  return 0;
}

// ——— the operation tables ——————————————————————————————————————————————————————————

const common = {
  family: S.PF_UNIX,
  owner: 'unix',
  release: unix_release,
  bind: unix_bind,
  socketpair: unix_socketpair,
  getname: unix_getname,
  ioctl: unix_ioctl,
  compat_ioctl: unix_ioctl,
  shutdown: unix_shutdown,
  // AF_UNIX has no options of its own: other levels are EOPNOTSUPP (no ->setsockopt).
  setsockopt: sock_no_getsockopt,
  getsockopt: sock_no_getsockopt,
  compat_setsockopt: sock_no_getsockopt,
  compat_getsockopt: sock_no_getsockopt,
  mmap: sock_no_mmap,
  sendpage: sock_no_sendpage,
  splice_read: sock_no_splice_read,
  set_peek_off: unix_set_peek_off,
};

export const unix_stream_ops: ProtoOps = {
  ...common,
  connect: unix_stream_connect,
  accept: unix_accept,
  poll: unix_poll,
  listen: unix_listen,
  sendmsg: unix_stream_sendmsg,
  recvmsg: unix_stream_recvmsg,
};

export const unix_dgram_ops: ProtoOps = {
  ...common,
  connect: unix_dgram_connect,
  accept: sock_no_accept,
  poll: unix_dgram_poll,
  listen: sock_no_listen,
  sendmsg: unix_dgram_sendmsg,
  recvmsg: unix_dgram_recvmsg,
};

export const unix_seqpacket_ops: ProtoOps = {
  ...common,
  connect: unix_stream_connect,
  accept: unix_accept,
  poll: unix_dgram_poll,
  listen: unix_listen,
  sendmsg: unix_seqpacket_sendmsg,
  recvmsg: unix_seqpacket_recvmsg,
};

/** unix_seq_show(): the text of /proc/net/unix. */
export function unix_seq_show(net: Net): string {
  const lines = ['Num       RefCount Protocol Flags    Type St Inode Path'];
  const hex = (n: number, w: number) => (n >>> 0).toString(16).toUpperCase().padStart(w, '0');
  for (const s of unx(net).all) {
    const sock = s.sk_socket;
    const flags = s.sk_state === TCP_LISTEN ? 1 << 16 : 0;
    const st = sock ? sock.state : s.sk_state === TCP_ESTABLISHED ? S.SS_CONNECTED : S.SS_UNCONNECTED;
    let path = '';
    if (s.addr) {
      const raw = s.addr.name.subarray(SUN_PATH_OFFSET, s.addr.len);
      if (raw[0] === 0) path = '@' + new TextDecoder().decode(raw.subarray(1));
      else path = new TextDecoder().decode(raw.subarray(0, raw.indexOf(0) < 0 ? raw.length : raw.indexOf(0)));
    }
    lines.push(
      `0000000000000000: ${hex(2, 8)} ${hex(0, 8)} ${hex(flags, 8)} ${hex(s.sk_type, 4)} ${hex(st, 2)} ${String(s.ino).padStart(5)}${path ? ' ' + path : ''}`,
    );
  }
  return lines.join('\n') + '\n';
}
