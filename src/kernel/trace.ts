// Tracepoints and the ftrace event buffer (include/linux/tracepoint.h, kernel/trace/).
//
// A subsystem defines an event once per kernel (`tracing.define`) and guards each call site with
// the event's `enabled` flag, which stands for the static key Linux patches into the code: with
// nobody listening, a tracepoint costs one property test and builds nothing. Enabling an event
// (`tracing.enable('tcp:tcp_probe')`, the write of 1 to events/tcp/tcp_probe/enable) records each
// hit as a line of /sys/kernel/tracing/trace; probes registered with `on` receive the structured
// record as well.

import type { Clock } from './time.js';

/** A registered probe: receives each record of the event. */
export type TraceProbe<R> = (record: R) => void;

/** What the tracing files see of an event, whatever its record type. */
export interface TraceEventControl {
  readonly system: string;
  readonly name: string;
  enabled: boolean;
  recording: boolean;
  update(): void;
}

/** One event (TRACE_EVENT): its name, the TP_printk format and who listens. */
export class TraceEvent<R> implements TraceEventControl {
  /** The static key: true while the event is enabled or has probes. Call sites test it first. */
  enabled = false;
  /** Whether hits go to the ring buffer (events/<system>/<name>/enable). */
  recording = false;
  private readonly probes: TraceProbe<R>[] = [];

  constructor(
    private readonly tracing: Tracing,
    readonly system: string,
    readonly name: string,
    /** TP_printk: the text after "name: " in a trace line. */
    readonly printk: (record: R) => string,
  ) {}

  /** trace_<name>(): deliver one record. Callers test `enabled` before building it. */
  emit(record: R): void {
    if (this.recording) this.tracing.record(this.name, this.printk(record));
    for (const p of this.probes) p(record);
  }

  /** register_trace_<name>(). */
  register(probe: TraceProbe<R>): void {
    this.probes.push(probe);
    this.update();
  }

  /** unregister_trace_<name>(). */
  unregister(probe: TraceProbe<R>): void {
    const i = this.probes.indexOf(probe);
    if (i >= 0) this.probes.splice(i, 1);
    this.update();
  }

  /** @internal */
  update(): void {
    this.enabled = this.recording || this.probes.length > 0;
  }
}

/** The ring buffer's size in lines when nobody sets it (buffer_size_kb is in bytes in Linux). */
export const TRACE_BUFFER_LINES = 65536;

/** One kernel's tracing: its events, by "system:name", and the buffer /sys/kernel/tracing/trace reads. */
export class Tracing {
  private readonly events = new Map<string, TraceEventControl>();
  private lines: string[] = [];
  private head = 0;
  /** Lines the buffer holds before the oldest are overwritten (ring buffer, overwrite mode). */
  bufferLines = TRACE_BUFFER_LINES;
  /** Lines overwritten since the buffer was last cleared (the "entries-in-buffer/entries-written" gap). */
  overrun = 0;
  /** tracing_on: when 0, enabled events are not recorded (probes still run). */
  tracing_on = true;

  constructor(private readonly clock: Clock) {}

  /** TRACE_EVENT(): define an event; defining one twice returns the first. */
  define<R>(system: string, name: string, printk: (record: R) => string): TraceEvent<R> {
    const key = `${system}:${name}`;
    const known = this.events.get(key);
    if (known) return known as unknown as TraceEvent<R>;
    const ev = new TraceEvent<R>(this, system, name, printk);
    this.events.set(key, ev);
    return ev;
  }

  /** available_events: "system:name" per line, as the file lists them. */
  availableEvents(): string[] {
    return [...this.events.keys()];
  }

  /** The event called "system:name", or "name" alone when it is unique. */
  event<R = unknown>(spec: string): TraceEvent<R> | undefined {
    let ev = this.events.get(spec);
    if (!ev && !spec.includes(':')) {
      const hits = [...this.events.values()].filter((e) => e.name === spec);
      if (hits.length === 1) ev = hits[0];
    }
    return ev as TraceEvent<R> | undefined;
  }

  /** Register `probe` on an event; returns the function that unregisters it, or null for an unknown event. */
  on<R = unknown>(spec: string, probe: TraceProbe<R>): (() => void) | null {
    const ev = this.event<R>(spec);
    if (!ev) return null;
    ev.register(probe);
    return () => ev.unregister(probe);
  }

  /** echo 1 > events/<system>/<name>/enable. Returns false for an unknown event (the file does not exist). */
  enable(spec: string, on = true): boolean {
    const ev = this.event(spec);
    if (!ev) return false;
    ev.recording = on;
    ev.update();
    return true;
  }

  /** echo 0 > events/<system>/<name>/enable. */
  disable(spec: string): boolean {
    return this.enable(spec, false);
  }

  /** @internal: append one formatted hit, as a softirq-context line of the trace file. */
  record(name: string, text: string): void {
    if (!this.tracing_on) return;
    const ns = this.clock.now();
    const sec = Math.floor(ns / 1e9);
    const usec = Math.floor((ns % 1e9) / 1e3);
    const line = `          <idle>-0       [000] ..s1. ${String(sec).padStart(5)}.${String(usec).padStart(6, '0')}: ${name}: ${text}`;
    if (this.lines.length < this.bufferLines) {
      this.lines.push(line);
      return;
    }
    this.lines[this.head] = line;
    this.head = (this.head + 1) % this.bufferLines;
    this.overrun++;
  }

  /** cat trace: the lines recorded, oldest first (each ends with a newline). */
  read(): string {
    const ordered = this.lines.slice(this.head).concat(this.lines.slice(0, this.head));
    return ordered.map((l) => l + '\n').join('');
  }

  /** echo > trace: empty the buffer. */
  clear(): void {
    this.lines = [];
    this.head = 0;
    this.overrun = 0;
  }
}
