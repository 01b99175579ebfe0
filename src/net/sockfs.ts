// sockfs (net/socket.c): the pseudo filesystem every socket's inode lives in. Each socket is a
// struct socket_alloc — the socket and its inode allocated together — and its file is named
// "socket:[ino]" through the dentry operations.

import { File, Inode } from '../kernel/fs.js';
import type { Kernel } from '../kernel/kernel.js';
import {
  get_sb_pseudo,
  kern_mount,
  kill_anon_super,
  new_inode_pseudo,
  register_filesystem,
  simple_statfs,
  type DentryOperations,
  type FileSystemType,
  type SuperBlock,
  type SuperOperations,
  type VfsMount,
} from '../kernel/super.js';
import { current, in_task } from '../kernel/sched.js';
import { S_IFSOCK, O_RDWR, O_NONBLOCK } from '../uapi/fcntl.js';
import { Socket, socket_file_ops } from './socket.js';

export const SOCKFS_MAGIC = 0x534f434b;
/** The sockfs namespace as a whole: its type, operations and magic. */
export const sockfs = { name: 'sockfs', magic: SOCKFS_MAGIC, prefix: 'socket:' } as const;

/** struct socket_alloc. */
export class SocketAlloc {
  readonly socket = new Socket();
  readonly vfs_inode: Inode;
  constructor() {
    this.vfs_inode = new Inode(0, S_IFSOCK | 0o777, 0, 0);
    this.vfs_inode.i_private = this;
  }
}

/** SOCK_INODE(). */
export function SOCK_INODE(sock: Socket): Inode {
  return sock.alloc!.vfs_inode;
}

/** SOCKET_I(). */
export function SOCKET_I(inode: Inode): Socket {
  return (inode.i_private as SocketAlloc).socket;
}

/** sock_alloc_inode(): the socket starts unconnected, with no ops, sk or file. */
function sock_alloc_inode(_sb: SuperBlock): Inode {
  const ei = new SocketAlloc();
  ei.socket.alloc = ei;
  return ei.vfs_inode;
}

/** sock_destroy_inode(). */
function sock_destroy_inode(inode: Inode): void {
  inode.i_private = null;
}

export const sockfs_ops: SuperOperations = {
  alloc_inode: sock_alloc_inode,
  destroy_inode: sock_destroy_inode,
  statfs: simple_statfs,
};

/** sockfs_delete_dentry(): socket dentries are never cached. */
function sockfs_delete_dentry(): number {
  return 1;
}

/** sockfs_dname(): "socket:[ino]". */
function sockfs_dname(inode: Inode): string {
  return `socket:[${inode.i_ino}]`;
}

export const sockfs_dentry_operations: DentryOperations = {
  d_dname: sockfs_dname,
  d_delete: sockfs_delete_dentry,
};

/** sockfs_get_sb(). */
function sockfs_get_sb(type: FileSystemType, kernel: Kernel): SuperBlock {
  return get_sb_pseudo(type, kernel, sockfs_ops, sockfs_dentry_operations, SOCKFS_MAGIC);
}

export const sock_fs_type: FileSystemType = {
  name: 'sockfs',
  nodev: true,
  get_sb: sockfs_get_sb,
  kill_sb: kill_anon_super,
};

const sock_mnts = new WeakMap<Kernel, VfsMount>();

/** sock_init(): register and mount sockfs on a kernel at boot. */
export function sock_init(kernel: Kernel): number {
  const err = register_filesystem(kernel, sock_fs_type);
  if (err) return err;
  sock_mnts.set(kernel, kern_mount(kernel, sock_fs_type));
  return 0;
}

/** sock_mnt of a kernel (mounting sockfs on first use, for kernels booted without sock_init). */
export function sock_mnt(kernel: Kernel): VfsMount {
  let m = sock_mnts.get(kernel);
  if (!m) {
    sock_init(kernel);
    m = sock_mnts.get(kernel)!;
  }
  return m;
}

/**
 * sock_alloc(): a socket and its inode from sockfs, i_ino unique per host, owned by the
 * caller's fsuid/fsgid.
 */
export function sock_alloc(kernel: Kernel): Socket {
  const inode = new_inode_pseudo(sock_mnt(kernel).mnt_sb);
  const cred = in_task() ? current().cred : null;
  inode.i_uid = cred?.euid ?? 0;
  inode.i_gid = cred?.egid ?? 0;
  inode.i_fop = socket_file_ops;
  return SOCKET_I(inode);
}

/** sock_attach_fd(): tie a new file to the socket's inode: file ops, mode, flags, private_data. */
export function sock_attach_fd(sock: Socket, file: File): void {
  sock.file = file;
  file.f_op = SOCK_INODE(sock).i_fop!;
  file.f_flags = O_RDWR | (file.f_flags & O_NONBLOCK);
  file.private_data = sock;
}

/** sock_alloc_file(): the struct file of a socket, named through sockfs's d_dname. */
export function sock_alloc_file(sock: Socket, flags: number): File {
  const inode = SOCK_INODE(sock);
  const file = new File(socket_file_ops, inode, flags & O_NONBLOCK, null, sockfs_dname(inode));
  sock_attach_fd(sock, file);
  return file;
}
