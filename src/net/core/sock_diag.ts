// Socket cookies (net/core/sock_diag.c): a number a sock is given the first time anyone asks,
// unique in its namespace — what `ss -e` prints as sk:, inet_diag reports and tracepoints carry.

import type { Net } from './net_namespace.js';

/** Cookies of one namespace's socks. */
const cookies = new WeakMap<Net, { next: number; of: WeakMap<object, number> }>();

/** sock_gen_cookie(). */
export function sock_gen_cookie(net: Net, sk: object): number {
  let c = cookies.get(net);
  // The first cookie of a CPU's batch (COOKIE_LOCAL_BATCH = 4096) is 4097.
  if (!c) cookies.set(net, (c = { next: 4097, of: new WeakMap() }));
  let v = c.of.get(sk);
  if (v === undefined) c.of.set(sk, (v = c.next++));
  return v;
}
