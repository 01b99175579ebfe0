// Filesystem types, superblocks and mounts (fs/super.c, fs/namespace.c), as much as pseudo
// filesystems need: register_filesystem(), kern_mount(), get_sb_pseudo(), new_inode_pseudo().

import { Inode } from './fs.js';
import type { Kernel } from './kernel.js';
import { EBUSY } from '../uapi/errno.js';

/** struct super_operations. */
export interface SuperOperations {
  alloc_inode(sb: SuperBlock): Inode;
  destroy_inode(inode: Inode): void;
  statfs(sb: SuperBlock): { f_type: number; f_bsize: number; f_namelen: number };
}

/** struct dentry_operations (the one member pseudo filesystems use). */
export interface DentryOperations {
  /** d_dname(): the name /proc/<pid>/fd shows for a file of this filesystem. */
  d_dname(inode: Inode): string;
  d_delete?(): number;
}

/** struct super_block. */
export class SuperBlock {
  s_root: Inode | null = null;
  s_d_op: DentryOperations | null = null;
  constructor(
    readonly s_type: FileSystemType,
    readonly s_magic: number,
    readonly s_op: SuperOperations,
    readonly kernel: Kernel,
  ) {}
}

/** struct file_system_type. */
export interface FileSystemType {
  name: string;
  /** FS_REQUIRES_DEV absent: listed as "nodev" in /proc/filesystems. */
  nodev: boolean;
  get_sb(type: FileSystemType, kernel: Kernel): SuperBlock;
  kill_sb(sb: SuperBlock): void;
}

/** struct vfsmount. */
export class VfsMount {
  constructor(readonly mnt_sb: SuperBlock) {}
}

/** register_filesystem(): -EBUSY when the name is taken. */
export function register_filesystem(kernel: Kernel, fs: FileSystemType): number {
  if (kernel.filesystems.has(fs.name)) return -EBUSY;
  kernel.filesystems.set(fs.name, fs);
  return 0;
}

/** vfs_kern_mount(): get the filesystem's superblock and mount it. */
export function vfs_kern_mount(kernel: Kernel, type: FileSystemType): VfsMount {
  return new VfsMount(type.get_sb(type, kernel));
}

/** kern_mount(): an internal mount of a registered filesystem. */
export function kern_mount(kernel: Kernel, type: FileSystemType): VfsMount {
  return vfs_kern_mount(kernel, type);
}

/** simple_statfs(): what statfs(2) says of a pseudo filesystem. */
export function simple_statfs(sb: SuperBlock): { f_type: number; f_bsize: number; f_namelen: number } {
  return { f_type: sb.s_magic, f_bsize: 4096, f_namelen: 255 };
}

/** get_sb_pseudo(): a superblock with one root inode and dentry operations for its names. */
export function get_sb_pseudo(
  type: FileSystemType,
  kernel: Kernel,
  ops: SuperOperations,
  dops: DentryOperations,
  magic: number,
): SuperBlock {
  const sb = new SuperBlock(type, magic, ops, kernel);
  sb.s_d_op = dops;
  sb.s_root = new Inode(kernel.get_next_ino(), 0o40755, 0, 0);
  return sb;
}

/** kill_anon_super(). */
export function kill_anon_super(sb: SuperBlock): void {
  sb.s_root = null;
}

/** new_inode_pseudo(): an inode of `sb` with the next inode number. */
export function new_inode_pseudo(sb: SuperBlock): Inode {
  const inode = sb.s_op.alloc_inode(sb);
  inode.i_ino = sb.kernel.get_next_ino();
  inode.i_sb = sb;
  return inode;
}

/** The text of /proc/filesystems. */
export function proc_filesystems(kernel: Kernel): string {
  let out = '';
  for (const fs of kernel.filesystems.values()) out += `${fs.nodev ? 'nodev' : ''}\t${fs.name}\n`;
  return out;
}
