// Softirqs (kernel/softirq.c): work raised while the kernel runs — a driver queueing a received
// packet with netif_rx — runs when the kernel is about to return: at the end of the outermost
// system call (local_bh_enable / irq_exit) and after each timer. Linux runs the network receive
// softirq right there, before send() on loopback returns; so does usernet. The pending work
// belongs to a world's clock (one "CPU" per world), so that one world never runs another's.
// What is still pending after MAX_SOFTIRQ_RESTART rounds is left for later (Linux hands it to
// ksoftirqd; here each raiser keeps a timer at the current instant as that fallback).

/** A softirq handler, bound to what it serves (one per namespace for NET_RX). */
export type SoftirqAction = (() => void) & { raised?: boolean };

/** __do_softirq() gives up after this many rounds that raised more work. */
export const MAX_SOFTIRQ_RESTART = 10;

/** The softirq state of one world (its clock carries it). */
export class SoftirqState {
  pending: SoftirqAction[] = [];
  /** The list a round runs from, swapped with `pending` (no array made per round). */
  batch: SoftirqAction[] = [];
  running = false;
}

/** raise_softirq(): run `action` at the next softirq point (once, however often it is raised). */
export function raise_softirq(st: SoftirqState, action: SoftirqAction): void {
  if (action.raised) return;
  action.raised = true;
  st.pending.push(action);
}

/** do_softirq(): run what was raised, and what that raises, up to MAX_SOFTIRQ_RESTART rounds. */
export function do_softirq(st: SoftirqState): void {
  if (st.running || !st.pending.length) return;
  st.running = true;
  try {
    for (let round = 0; round < MAX_SOFTIRQ_RESTART && st.pending.length; round++) {
      // What this round raises goes to the other list, for the next round.
      const batch = st.pending;
      st.pending = st.batch;
      st.batch = batch;
      for (let i = 0; i < batch.length; i++) {
        const a = batch[i];
        a.raised = false;
        a();
      }
      // Emptied with pop(), which compiles inline; the length setter is a runtime call.
      while (batch.length) batch.pop();
    }
  } finally {
    // A handler that threw leaves the rest of its round dropped, as before.
    while (st.batch.length) st.batch.pop();
    st.running = false;
  }
}
