// eventpoll_release(): a file going away leaves every epoll set that watches it. The epoll
// implementation installs the function at load time (fs/eventpoll.c eventpoll_release_file).

import type { File } from './fs.js';

let release_file: ((f: File) => void) | null = null;

export function set_eventpoll_release(fn: (f: File) => void): void {
  release_file = fn;
}

export function eventpoll_release(f: File): void {
  release_file?.(f);
}
