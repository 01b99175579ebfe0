// Garbage collection of AF_UNIX sockets in flight (net/unix/garbage.c). A socket whose every
// file reference sits in SCM_RIGHTS messages queued on sockets that are themselves unreachable
// can never be received: such cycles are found and their queues purged.

import type { File } from '../../kernel/fs.js';
import type { UserStruct } from '../../kernel/kernel.js';
import { current } from '../../kernel/sched.js';
import { CAP_SYS_ADMIN, CAP_SYS_RESOURCE } from '../../uapi/capability.js';
import { sock_from_file } from '../socket.js';
import { S_ISSOCK } from '../../kernel/fs.js';
import type { Net } from '../core/net_namespace.js';
import { PF_UNIX } from '../../uapi/socket.js';
import type { SkBuff } from '../core/skbuff.js';
import { kfree_skb } from '../core/skbuff.js';
import { unx, unix_embryo, unix_sk, type UnixSock, type UnixSkbParms } from './af_unix.js';
import { TCP_LISTEN } from '../core/sock.js';

/** unix_get_socket(): the unix sock behind a file, if it is one. */
export function unix_get_socket(file: File): UnixSock | null {
  if (!S_ISSOCK(file.f_inode.i_mode)) return null;
  const sock = sock_from_file(file);
  if (!sock || !sock.sk || !sock.ops || sock.ops.family !== PF_UNIX) return null;
  return unix_sk(sock.sk);
}

/** unix_inflight(): a file goes into a message; its sender is charged for it. */
export function unix_inflight(user: UserStruct, file: File): void {
  user.unix_inflight++;
  const u = unix_get_socket(file);
  if (!u) return;
  const ns = unx(u.sk_net);
  if (u.inflight++ === 0) ns.inflight_list.add(u);
  ns.tot_inflight++;
}

/** unix_notinflight(): a file leaves a message (received or freed). */
export function unix_notinflight(user: UserStruct, file: File): void {
  user.unix_inflight--;
  const u = unix_get_socket(file);
  if (!u) return;
  const ns = unx(u.sk_net);
  if (--u.inflight === 0) ns.inflight_list.delete(u);
  ns.tot_inflight--;
}

/**
 * too_many_unix_fds(): a user may keep at most RLIMIT_NOFILE files in flight, unless privileged
 * (the bound that keeps in-flight fds from escaping the fd limit).
 */
export function too_many_unix_fds(user: UserStruct): boolean {
  const t = current();
  if (user.unix_inflight > t.files.rlimit_nofile)
    return !t.cred.has_cap(CAP_SYS_RESOURCE) && !t.cred.has_cap(CAP_SYS_ADMIN);
  return false;
}

/**
 * The queues whose in-flight files a socket holds: its own, or for a listener the queues of
 * the connections waiting to be accepted (scan_children()).
 */
function* held_queues(u: UnixSock): Generator<UnixSock> {
  if (u.sk_state !== TCP_LISTEN) {
    yield u;
    return;
  }
  for (const skb of u.sk_receive_queue) {
    const embryo = unix_embryo(skb);
    if (embryo) yield embryo;
  }
}

function forEachInflightChild(u: UnixSock, fn: (child: UnixSock) => void): void {
  for (const q of held_queues(u)) forEachInflightIn(q, fn);
}

function forEachInflightIn(u: UnixSock, fn: (child: UnixSock) => void): void {
  for (const skb of u.sk_receive_queue) {
    const cb = skb.cb as UnixSkbParms | null;
    if (!cb || !cb.fp) continue;
    for (const f of cb.fp.fp) {
      const c = unix_get_socket(f);
      if (c) fn(c);
    }
  }
}

let gc_in_progress = false;

/**
 * unix_gc(): candidates are in-flight sockets all of whose file references are in flight.
 * References from other candidates' queues are subtracted; a candidate left with a reference
 * from outside is reachable, and so is everything in its queue. What remains is garbage.
 */
export function unix_gc(net: Net): void {
  if (gc_in_progress) return;
  gc_in_progress = true;
  try {
    const ns = unx(net);
    const candidates: UnixSock[] = [];
    for (const u of ns.inflight_list) {
      const file = u.sk_socket?.file;
      if (!file) continue;
      if (file.f_count === u.inflight) {
        u.gc_candidate = true;
        u.gc_refs = u.inflight;
        candidates.push(u);
      }
    }
    for (const u of candidates)
      forEachInflightChild(u, (c) => {
        if (c.gc_candidate) c.gc_refs--;
      });
    // Restore everything reachable from a candidate that has outside references.
    const stack = candidates.filter((u) => u.gc_refs > 0);
    for (const u of stack) u.gc_candidate = false;
    while (stack.length) {
      const u = stack.pop()!;
      forEachInflightChild(u, (c) => {
        if (c.gc_candidate) {
          c.gc_candidate = false;
          stack.push(c);
        }
      });
    }
    const garbage = candidates.filter((u) => u.gc_candidate);
    for (const u of candidates) u.gc_candidate = false;
    // Purge the garbage's queues: dropping the in-flight references closes the cycle's files.
    const hitlist: SkBuff[] = [];
    for (const g of garbage) {
      for (const u of held_queues(g)) {
        for (const skb of [...u.sk_receive_queue]) {
          const cb = skb.cb as UnixSkbParms | null;
          if (cb && cb.fp) {
            u.sk_receive_queue.unlink(skb);
            hitlist.push(skb);
          }
        }
      }
    }
    for (const skb of hitlist) kfree_skb(skb);
  } finally {
    gc_in_progress = false;
  }
}
