// A small in-memory filesystem for the AF_UNIX namespace (fs/namei.c): path walk with search
// permission, mknod of S_IFSOCK nodes, mkdir, unlink, chmod, chown.

import { Inode, S_ISDIR } from './fs.js';
import type { Cred } from './cred.js';
import {
  EACCES,
  EEXIST,
  ENOENT,
  ENOTDIR,
  ENAMETOOLONG,
  EISDIR,
  ENOTEMPTY,
  EPERM,
  EBUSY,
  EINVAL,
} from '../uapi/errno.js';
import { MAY_EXEC, MAY_WRITE, MAY_READ, S_IFDIR, S_ISVTX } from '../uapi/fcntl.js';
import { CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_CHOWN } from '../uapi/capability.js';

export const PATH_MAX = 4096;
export const NAME_MAX = 255;

/** The filesystem of one host: a root directory and inode numbers. */
export class Vfs {
  private nextIno = 2;
  readonly root: Inode;
  /** Parent links, so ".." works. */
  private parents = new WeakMap<Inode, Inode>();

  constructor() {
    this.root = new Inode(this.nextIno++, S_IFDIR | 0o755, 0, 0);
    this.root.i_nlink = 2;
    this.parents.set(this.root, this.root);
    const tmp = this.new_inode(S_IFDIR | 0o777 | S_ISVTX, 0, 0);
    this.root.i_children!.set('tmp', tmp);
    this.parents.set(tmp, this.root);
  }

  new_inode(mode: number, uid: number, gid: number): Inode {
    return new Inode(this.nextIno++, mode, uid, gid);
  }

  /**
   * Walk `path` from `cwd`. Returns the parent directory and the last component, or -errno.
   * (filename_parentat)
   */
  parentat(cred: Cred, cwd: Inode, path: string): { dir: Inode; last: string } | number {
    if (path.length === 0) return -ENOENT;
    if (path.length >= PATH_MAX) return -ENAMETOOLONG;
    const parts = path.split('/').filter((p) => p.length > 0);
    let dir = path.startsWith('/') ? this.root : cwd;
    if (parts.length === 0) return { dir, last: '.' };
    for (let i = 0; i < parts.length - 1; i++) {
      const next = this.step(cred, dir, parts[i]);
      if (typeof next === 'number') return next;
      dir = next;
    }
    const last = parts[parts.length - 1];
    if (last.length > NAME_MAX) return -ENAMETOOLONG;
    if (!S_ISDIR(dir.i_mode)) return -ENOTDIR;
    return { dir, last };
  }

  /** Resolve a path to its inode (kern_path / filename_lookup). */
  lookup(cred: Cred, cwd: Inode, path: string): Inode | number {
    const p = this.parentat(cred, cwd, path);
    if (typeof p === 'number') return p;
    const r = this.step(cred, p.dir, p.last);
    if (typeof r === 'number') return r;
    if (path.endsWith('/') && !S_ISDIR(r.i_mode)) return -ENOTDIR;
    return r;
  }

  /** vfs_mknod() of a node in `dir` (the caller did the walk). */
  mknod(cred: Cred, dir: Inode, name: string, mode: number): Inode | number {
    const err = this.may_create(cred, dir);
    if (err) return err;
    if (name === '.' || name === '..' || dir.i_children!.has(name)) return -EEXIST;
    const ino = this.new_inode(mode, cred.euid, cred.egid);
    dir.i_children!.set(name, ino);
    this.parents.set(ino, dir);
    return ino;
  }

  mkdir(cred: Cred, cwd: Inode, path: string, mode: number, umask = 0o022): number {
    const p = this.parentat(cred, cwd, path);
    if (typeof p === 'number') return p;
    const r = this.mknod(cred, p.dir, p.last, S_IFDIR | (mode & 0o7777 & ~umask));
    if (typeof r === 'number') return r;
    r.i_nlink = 2;
    return 0;
  }

  /** do_unlinkat() (and rmdir when `dirOk`). */
  unlink(cred: Cred, cwd: Inode, path: string, rmdir = false): number {
    const p = this.parentat(cred, cwd, path);
    if (typeof p === 'number') return p;
    if (p.last === '.' || p.last === '..') return rmdir ? (p.last === '.' ? -EINVAL : -ENOTEMPTY) : -EISDIR;
    const victim = p.dir.i_children!.get(p.last);
    if (!victim) return -ENOENT;
    const err = this.may_delete(cred, p.dir, victim);
    if (err) return err;
    if (rmdir) {
      if (!S_ISDIR(victim.i_mode)) return -ENOTDIR;
      if (victim.i_children!.size) return -ENOTEMPTY;
      if (victim === this.root) return -EBUSY;
    } else if (S_ISDIR(victim.i_mode)) return -EISDIR;
    p.dir.i_children!.delete(p.last);
    victim.i_nlink = 0;
    return 0;
  }

  chmod(cred: Cred, cwd: Inode, path: string, mode: number): number {
    const ino = this.lookup(cred, cwd, path);
    if (typeof ino === 'number') return ino;
    if (cred.euid !== ino.i_uid && !cred.has_cap(CAP_FOWNER)) return -EPERM;
    ino.i_mode = (ino.i_mode & ~0o7777) | (mode & 0o7777);
    return 0;
  }

  chown(cred: Cred, cwd: Inode, path: string, uid: number, gid: number): number {
    const ino = this.lookup(cred, cwd, path);
    if (typeof ino === 'number') return ino;
    // chown_ok() / chgrp_ok(): an owner may "change" to the same uid and to one of its groups.
    const owner = cred.euid === ino.i_uid;
    const uidOk = uid < 0 || (owner && uid === ino.i_uid) || cred.has_cap(CAP_CHOWN);
    const gidOk =
      gid < 0 || (owner && (gid === ino.i_gid || cred.in_group_p(gid))) || cred.has_cap(CAP_CHOWN);
    if (!uidOk || !gidOk) return -EPERM;
    if (uid >= 0) ino.i_uid = uid;
    if (gid >= 0) ino.i_gid = gid;
    return 0;
  }

  /** inode_permission() / generic_permission() with DAC override for CAP_DAC_*. */
  permission(cred: Cred, ino: Inode, mask: number): number {
    let mode = ino.i_mode;
    if (cred.euid === ino.i_uid) mode >>= 6;
    else if (cred.in_group_p(ino.i_gid)) mode >>= 3;
    if ((mask & ~mode & (MAY_READ | MAY_WRITE | MAY_EXEC)) === 0) return 0;
    if (S_ISDIR(ino.i_mode)) {
      if (!(mask & MAY_WRITE) && cred.has_cap(CAP_DAC_READ_SEARCH)) return 0;
      if (cred.has_cap(CAP_DAC_OVERRIDE)) return 0;
      return -EACCES;
    }
    if (mask === MAY_READ && cred.has_cap(CAP_DAC_READ_SEARCH)) return 0;
    if (!(mask & MAY_EXEC) || ino.i_mode & 0o111) if (cred.has_cap(CAP_DAC_OVERRIDE)) return 0;
    return -EACCES;
  }

  private step(cred: Cred, dir: Inode, name: string): Inode | number {
    if (!S_ISDIR(dir.i_mode)) return -ENOTDIR;
    const err = this.permission(cred, dir, MAY_EXEC);
    if (err) return err;
    if (name === '.') return dir;
    if (name === '..') return this.parents.get(dir) ?? dir;
    return dir.i_children!.get(name) ?? -ENOENT;
  }

  private may_create(cred: Cred, dir: Inode): number {
    if (dir.i_nlink === 0) return -ENOENT;
    return this.permission(cred, dir, MAY_WRITE | MAY_EXEC);
  }

  private may_delete(cred: Cred, dir: Inode, victim: Inode): number {
    const err = this.permission(cred, dir, MAY_WRITE | MAY_EXEC);
    if (err) return err;
    // The sticky bit: only the owner of the file or of the directory may remove it.
    if (
      dir.i_mode & S_ISVTX &&
      cred.euid !== victim.i_uid &&
      cred.euid !== dir.i_uid &&
      !cred.has_cap(CAP_FOWNER)
    )
      return -EPERM;
    return 0;
  }
}
