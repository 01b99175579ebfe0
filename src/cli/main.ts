#!/usr/bin/env node
// The `usernet` command.

import { runDemo } from './demo.js';

const cmd = process.argv[2] ?? 'demo';
if (cmd === 'demo') {
  await runDemo((line) => console.log(line));
} else {
  console.error(`usage: usernet demo`);
  process.exitCode = 2;
}
