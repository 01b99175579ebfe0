// A pollable file whose readiness a test sets by hand, for the poll/select/epoll tests.

import { File, Inode, poll_wait, type FileOperations, type PollTable } from '../../src/kernel/fs.js';
import { WaitQueueHead, wake_up_interruptible_poll } from '../../src/kernel/wait.js';

export class Fake {
  readonly wq = new WaitQueueHead();
  mask = 0;
  /** How many times f_op->poll ran. */
  polls = 0;
  /** How many times f_op->release ran. */
  released = 0;
  file!: File;
  /** Change the readiness and wake the queue with `key` (the new mask by default). */
  set(mask: number, key = mask): void {
    this.mask = mask;
    wake_up_interruptible_poll(this.wq, key);
  }
  waiters(): number {
    let n = 0;
    for (let e = this.wq.first; e; e = e.next) n++;
    return n;
  }
}

export const fake_fops: FileOperations = {
  name: 'fake_fops',
  poll(file: File, pt: PollTable | null): number {
    const s = file.private_data as Fake;
    s.polls++;
    poll_wait(file, s.wq, pt);
    return s.mask;
  },
  release(_inode: Inode, file: File): void {
    (file.private_data as Fake).released++;
  },
};
