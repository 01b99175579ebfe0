// Socket-level control messages (net/core/scm.c): SCM_RIGHTS and SCM_CREDENTIALS on the way in
// (__scm_send) and out (scm_recv, scm_detach_fds).

import type { File } from '../../kernel/fs.js';
import type { UserStruct } from '../../kernel/kernel.js';
import { fput, get_file } from '../../kernel/file_table.js';
import { current } from '../../kernel/sched.js';
import { Msghdr, put_cmsg } from '../socket.js';
import * as E from '../../uapi/errno.js';
import {
  MSG_CMSG_CLOEXEC,
  MSG_CTRUNC,
  SCM_CREDENTIALS,
  SCM_MAX_FD,
  SCM_RIGHTS,
  SOL_SOCKET,
  SIZEOF_UCRED,
  SOCK_PASSCRED,
} from '../../uapi/socket.js';
import { CMSG_ALIGN, CMSG_HDR_LEN, CMSG_LEN, encodeInts, encodeUcred } from '../../uapi/cmsg.js';
import { O_CLOEXEC } from '../../uapi/fcntl.js';
import { CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN } from '../../uapi/capability.js';
import type { Socket } from '../socket.js';

/** The ids shown for an unmapped or invalid uid/gid (kernel.overflowuid/overflowgid). */
export const OVERFLOWUID = 65534;
export const OVERFLOWGID = 65534;

/** struct scm_fp_list. */
export interface ScmFpList {
  count: number;
  fp: File[];
  /** The sending user, charged for the files while they are in flight. */
  user: UserStruct;
}

/** struct scm_creds (pid kept as a number: no pid namespaces here). */
export interface ScmCreds {
  pid: number;
  uid: number;
  gid: number;
}

/** struct scm_cookie. */
export class ScmCookie {
  creds: ScmCreds = { pid: 0, uid: -1, gid: -1 };
  fp: ScmFpList | null = null;
}

/** scm_set_cred(). */
export function scm_set_cred(scm: ScmCookie, pid: number, uid: number, gid: number): void {
  const c = scm.creds;
  c.pid = pid;
  c.uid = uid;
  c.gid = gid;
}

/** scm_destroy(): drop the file references the cookie still holds. */
export function scm_destroy(scm: ScmCookie): void {
  if (scm.fp) {
    for (const f of scm.fp.fp) fput(f);
    scm.fp = null;
  }
}

/** scm_fp_copy(): take references on the files an SCM_RIGHTS message names. */
function scm_fp_copy(data: Uint8Array, scm: ScmCookie): number {
  const num = data.length >> 2;
  if (num <= 0) return 0;
  if (num > SCM_MAX_FD) return -E.EINVAL;
  if (!scm.fp) {
    const t = current();
    scm.fp = { count: 0, fp: [], user: t.kernel.alloc_uid(t.cred.uid) };
  }
  const fpl = scm.fp;
  if (fpl.count + num > SCM_MAX_FD) return -E.EINVAL;
  const dv = new DataView(data.buffer, data.byteOffset, data.length);
  const files = current().files;
  for (let i = 0; i < num; i++) {
    const f = files.fget(dv.getInt32(i * 4, true));
    if (!f) return -E.EBADF;
    fpl.fp.push(f);
    fpl.count++;
  }
  return num;
}

/** scm_check_creds(): a sender may only claim its own identity unless privileged. */
function scm_check_creds(c: ScmCreds): number {
  const t = current();
  const cred = t.cred;
  if (
    (c.pid === t.tgid || cred.has_cap(CAP_SYS_ADMIN)) &&
    (c.uid === cred.uid || c.uid === cred.euid || cred.has_cap(CAP_SETUID)) &&
    (c.gid === cred.gid || c.gid === cred.egid || cred.has_cap(CAP_SETGID))
  )
    return 0;
  return -E.EPERM;
}

/** __scm_send(): parse the control buffer of a sendmsg. */
export function __scm_send(msg: Msghdr, scm: ScmCookie): number {
  const buf = msg.msg_control;
  const len = msg.msg_controllen;
  if (!buf || len < CMSG_HDR_LEN) return 0;
  const dv = new DataView(buf.buffer, buf.byteOffset, Math.min(len, buf.length));
  let off = 0;
  while (off + CMSG_HDR_LEN <= dv.byteLength) {
    const cmsg_len = Number(dv.getBigUint64(off, true));
    // CMSG_OK(): the header fits and the message stays inside the buffer.
    if (cmsg_len < CMSG_HDR_LEN || cmsg_len > dv.byteLength - off) return -E.EINVAL;
    const level = dv.getInt32(off + 8, true);
    const type = dv.getInt32(off + 12, true);
    const data = buf.subarray(off + CMSG_HDR_LEN, off + cmsg_len);
    if (level === SOL_SOCKET) {
      switch (type) {
        case SCM_RIGHTS: {
          const err = scm_fp_copy(data, scm);
          if (err < 0) return err;
          break;
        }
        case SCM_CREDENTIALS: {
          if (cmsg_len !== CMSG_LEN(SIZEOF_UCRED)) return -E.EINVAL;
          const d = new DataView(data.buffer, data.byteOffset, SIZEOF_UCRED);
          const creds = { pid: d.getInt32(0, true), uid: d.getInt32(4, true), gid: d.getInt32(8, true) };
          const err = scm_check_creds(creds);
          if (err) return err;
          scm.creds = creds;
          break;
        }
        default:
          return -E.EINVAL;
      }
    }
    off += CMSG_ALIGN(cmsg_len);
  }
  if (scm.fp && scm.fp.count === 0) scm.fp = null;
  return 0;
}

/** scm_send(): the sender's identity by default, then whatever the control buffer says. */
export function scm_send(_sock: Socket, msg: Msghdr, scm: ScmCookie): number {
  // No forced credentials (forcecreds is false for AF_UNIX): the family adds them if asked.
  scm_set_cred(scm, 0, -1, -1);
  scm.fp = null;
  if (msg.msg_controllen <= 0) return 0;
  const err = __scm_send(msg, scm);
  if (err) scm_destroy(scm);
  return err;
}

/**
 * scm_detach_fds(): install received files in the receiver's fd table, as many as the control
 * buffer has room for; the rest are closed and MSG_CTRUNC is set.
 */
export function scm_detach_fds(msg: Msghdr, scm: ScmCookie, flags: number): void {
  const fpl = scm.fp;
  if (!fpl) return;
  const room = msg.msg_controllen - msg.msg_control_used;
  const fdmax = room > CMSG_HDR_LEN ? Math.floor((room - CMSG_HDR_LEN) / 4) : 0;
  const files = current().files;
  const fds: number[] = [];
  let i = 0;
  for (; i < fpl.count && i < fdmax; i++) {
    const fd = files.get_unused_fd_flags(flags & MSG_CMSG_CLOEXEC ? O_CLOEXEC : 0);
    if (fd < 0) break;
    files.fd_install(fd, get_file(fpl.fp[i]));
    fds.push(fd);
  }
  if (i > 0) put_cmsg(msg, SOL_SOCKET, SCM_RIGHTS, encodeInts(fds));
  if (i < fpl.count || (fpl.count && fdmax <= 0)) msg.msg_flags |= MSG_CTRUNC;
  scm_destroy(scm);
}

/** scm_recv(): credentials when the receiver asked for them, then the passed fds. */
export function scm_recv(sock: Socket, msg: Msghdr, scm: ScmCookie, flags: number): void {
  if (!msg.msg_control) {
    if (sock.flags & (1 << SOCK_PASSCRED) || scm.fp) msg.msg_flags |= MSG_CTRUNC;
    scm_destroy(scm);
    return;
  }
  if (sock.flags & (1 << SOCK_PASSCRED)) {
    // from_kuid_munged(): an invalid id reads as the overflow id.
    const c = scm.creds;
    put_cmsg(
      msg,
      SOL_SOCKET,
      SCM_CREDENTIALS,
      encodeUcred({ pid: c.pid, uid: c.uid < 0 ? OVERFLOWUID : c.uid, gid: c.gid < 0 ? OVERFLOWGID : c.gid }),
    );
  }
  if (!scm.fp) return;
  scm_detach_fds(msg, scm, flags);
}
