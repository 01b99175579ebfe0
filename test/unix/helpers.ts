// Shared helpers for the AF_UNIX scenario tests.

import assert from 'node:assert/strict';
import { World, AF_UNIX, SyscallError, type Host, type Task, type SockaddrUn } from '../../src/index.js';

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

export function enc(s: string): Uint8Array {
  return utf8.encode(s);
}

export function dec(b: Uint8Array, n = b.length): string {
  return utf8d.decode(b.subarray(0, n));
}

export function un(path: string): SockaddrUn {
  return { family: AF_UNIX, path };
}

export interface Env {
  world: World;
  host: Host;
  t: Task;
}

/** A world with one host and one root task on it. */
export function setup(seed = 1): Env {
  const world = new World({ seed });
  const host = world.addHost('h1');
  const t = host.spawn({ comm: 'test' });
  return { world, host, t };
}

/** Number of sockets listed in the host's /proc/net/unix. */
export function socketCount(host: Host): number {
  return host.procNetUnix().trimEnd().split('\n').length - 1;
}

/** Expect a synchronous call to fail with a SyscallError carrying `code`. */
export function throwsErrno(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SyscallError, `expected SyscallError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** Expect a promise to reject with a SyscallError carrying `code`. */
export async function rejectsErrno(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof SyscallError, `expected SyscallError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** recv() into a fresh buffer of `size` bytes and decode what arrived. */
export async function recvStr(t: Task, fd: number, size = 256, flags = 0): Promise<string> {
  const buf = new Uint8Array(size);
  const n = await t.recv(fd, buf, flags);
  return dec(buf, n);
}

/** Let every pending promise job and one event-loop turn run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Track whether a promise has settled, without awaiting it. */
export function track<T>(p: Promise<T>): { done: () => boolean; promise: Promise<T> } {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { done: () => settled, promise: p };
}

/** The poll(2) revents of one fd, without waiting. */
export async function pollMask(t: Task, fd: number, events = 0xffff): Promise<number> {
  const pfd = { fd, events, revents: 0 };
  await t.poll([pfd], 0);
  return pfd.revents;
}
