#!/usr/bin/env node
// The `usernet` command.

import { runDemo } from './demo.js';
import { packetdrillCommand } from './packetdrill.js';

const USAGE = `usage: usernet COMMAND [ARGS]

commands:
  demo          run the AF_UNIX demo (the default)
  packetdrill   run packetdrill scripts against a usernet host (see usernet packetdrill --help)`;

const cmd = process.argv[2] ?? 'demo';
const io = { out: (l: string) => console.log(l), err: (l: string) => console.error(l) };
if (cmd === 'demo') {
  await runDemo((line) => console.log(line));
} else if (cmd === 'packetdrill') {
  process.exitCode = await packetdrillCommand(process.argv.slice(3), io);
} else if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
  console.log(USAGE);
} else {
  console.error(USAGE);
  process.exitCode = 2;
}
