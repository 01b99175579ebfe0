// Shared pieces of the property tests.

import { SyscallError, errnoByName, errnoCode } from '../../src/index.js';

/** Fixed seeds and bounded runs: the whole property suite takes a few seconds. */
export const FC_PARAMS = { seed: 20240611, numRuns: 150, includeErrorInReport: true } as const;

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Await a call that must not block (every fd is non-blocking): fail instead of hanging when it
 * does not settle within a few event-loop turns.
 */
export async function settle<T>(p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 4 && !done; i++) await Promise.resolve();
  for (let i = 0; i < 20 && !done; i++) await tick();
  if (!done) throw new Error('a non-blocking call did not complete');
  return p;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string };

/**
 * Run a call, sync or async. A SyscallError becomes an outcome after checking it is a real
 * Linux errno in the allowed set; anything else thrown propagates and fails the property.
 */
export async function attempt<T>(
  name: string,
  allowed: readonly string[],
  fn: () => T | Promise<T>,
): Promise<Outcome<T>> {
  try {
    const r = fn();
    const value = r instanceof Promise ? await settle(r) : r;
    return { ok: true, value };
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    if (!(err.errno >= 1 && err.errno <= 133))
      throw new Error(`${name}: errno ${err.errno} is not a Linux errno`);
    if (errnoByName(err.code) !== err.errno || errnoCode(err.errno) !== err.code)
      throw new Error(`${name}: code ${err.code} does not match errno ${err.errno}`);
    if (!allowed.includes(err.code)) throw new Error(`${name}: unexpected ${err.code}`);
    return { ok: false, code: err.code };
  }
}

/** Deterministic bytes for a payload: `len` bytes starting at counter `start`. */
export function payload(start: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (start + i * 7 + (i >> 8)) & 0xff;
  return b;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
