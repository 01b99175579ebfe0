// Joining a usernet stream socket to a real one: bytes both ways with each side's backpressure
// (pipe pauses the reader while the writer's buffer is full), a FIN passed on as end(), a reset
// passed on as a reset.

import type { Duplex } from 'node:stream';

/** What both node:net sockets and usernet's host.net sockets offer. */
export interface StreamSocket extends Duplex {
  resetAndDestroy(): this;
}

/** Relay `a` ⇄ `b` until both are closed; `onClose` runs once, after both. */
export function splice(a: StreamSocket, b: StreamSocket, onClose?: () => void): void {
  a.pipe(b);
  b.pipe(a);
  // An error on one side (a reset, or a failure) resets the other: the peer on each side sees
  // what a peer of a NAT box sees when the connection behind it dies.
  const resetOther = (other: StreamSocket) => (): void => {
    if (!other.destroyed) other.resetAndDestroy();
  };
  a.on('error', resetOther(b));
  b.on('error', resetOther(a));
  let closed = 0;
  const done = (): void => {
    if (++closed === 2) onClose?.();
  };
  a.once('close', done);
  b.once('close', done);
}
