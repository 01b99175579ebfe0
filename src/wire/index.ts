// Packet formats: for each header a checked view over bytes (re-pointable, allocation-free) and
// a plain repr object with parse/emit.

export * from './checksum.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './icmp.js';
export * from './udp.js';
export * from './tcp.js';
