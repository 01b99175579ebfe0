// do_vfs_ioctl() (fs/ioctl.c): the ioctls every file answers, before the file's own handler.

import type { File, IoctlArg } from './fs.js';
import type { FilesStruct } from './fdtable.js';
import { ENOTTY } from '../uapi/errno.js';
import { FASYNC, O_NONBLOCK } from '../uapi/fcntl.js';

export const FIONCLEX = 0x5450;
export const FIOCLEX = 0x5451;
export const FIOASYNC = 0x5452;
export const FIONBIO = 0x5421;

export function do_vfs_ioctl(files: FilesStruct, fd: number, file: File, cmd: number, arg: IoctlArg): number {
  switch (cmd) {
    case FIOCLEX:
      files.close_on_exec.add(fd);
      return 0;
    case FIONCLEX:
      files.close_on_exec.delete(fd);
      return 0;
    case FIONBIO:
      if (arg.value) file.f_flags |= O_NONBLOCK;
      else file.f_flags &= ~O_NONBLOCK;
      return 0;
    case FIOASYNC: {
      // ioctl_fioasync(): the file's fasync hook learns of the change.
      const on = arg.value !== 0;
      const err = file.f_op.fasync ? file.f_op.fasync(fd, file, on) : 0;
      if (err < 0) return err;
      if (on) file.f_flags |= FASYNC;
      else file.f_flags &= ~FASYNC;
      return 0;
    }
  }
  if (!file.f_op.unlocked_ioctl) return -ENOTTY;
  return file.f_op.unlocked_ioctl(file, cmd, arg);
}
