import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  WaitQueueEntry,
  WaitQueueHead,
  add_wait_queue,
  add_wait_queue_exclusive,
  remove_wait_queue,
  wake_up_interruptible_all,
  wake_up_interruptible_poll,
} from '../../src/kernel/wait.js';

test('wake_up wakes every non-exclusive waiter and one exclusive one', () => {
  const wq = new WaitQueueHead();
  const woke: string[] = [];
  const mk = (n: string) => new WaitQueueEntry(() => (woke.push(n), 1));
  add_wait_queue_exclusive(wq, mk('x1'));
  add_wait_queue_exclusive(wq, mk('x2'));
  add_wait_queue(wq, mk('a'));
  wake_up_interruptible_poll(wq, 1);
  assert.deepEqual(woke, ['a', 'x1']);
  woke.length = 0;
  wake_up_interruptible_all(wq);
  assert.deepEqual(woke, ['a', 'x1', 'x2']);
});

test('an entry removed while waking does not break the walk; the key reaches the callback', () => {
  const wq = new WaitQueueHead();
  const keys: number[] = [];
  const e1: WaitQueueEntry = new WaitQueueEntry((e, _m, key) => (keys.push(key), remove_wait_queue(e), 0));
  const e2 = new WaitQueueEntry((_e, _m, key) => (keys.push(key), 0));
  add_wait_queue(wq, e2);
  add_wait_queue(wq, e1);
  wake_up_interruptible_poll(wq, 0x41);
  assert.deepEqual(keys, [0x41, 0x41]);
  assert.equal(e1.head, null);
  assert.equal(wq.first, e2);
  assert.equal(wq.last, e2);
});
