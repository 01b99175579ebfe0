// usernet: the Linux socket layer in user space.

export { World, type WorldOptions } from './sim/world.js';
export { Host, type SpawnOptions } from './sim/host.js';
export {
  Task,
  type Linger,
  type Timeval,
  type Timespec,
  type SockoptValue,
  type SendMsg,
  type RecvMsg,
  type RecvResult,
  type EpollEvent,
} from './sim/task.js';
export { SyscallError } from './sim/errors.js';
export type { PollFd } from './kernel/select.js';
export * from './uapi/socket.js';
export * from './uapi/errno.js';
export * from './uapi/fcntl.js';
export * from './uapi/poll.js';
export * from './uapi/capability.js';
export * from './uapi/sockaddr.js';
export * from './uapi/cmsg.js';
