#!/usr/bin/env node
// The `usernet` command.

import { runDemo } from './demo.js';
import { RUN_HELP, parseRunArgs, runWorldScript } from './run.js';
import { packetdrillCommand } from './packetdrill.js';

const HELP = `usage: usernet COMMAND [ARGS]

commands:
  demo                 run the quickstart demo
  run SCRIPT           run a world script (usernet run --help)
  packetdrill FILE…    run packetdrill scripts against a usernet host (usernet packetdrill --help)
  help                 this text

Every command takes --help.`;

const DEMO_HELP = `usage: usernet demo

The quickstart: a laptop and a server joined by a router over a 20 Mbit/s, 40 ms, 1% loss path;
node:http on the server, undici downloads of 1, 10 and 50 MiB on the laptop, all in virtual
time. Prints the server's ss -ti view, goodput and retransmissions per transfer, virtual and
real time, and writes quickstart.pcap.`;

async function main(argv: string[]): Promise<number> {
  const [cmd = 'demo', ...rest] = argv;
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  switch (cmd) {
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return 0;
    case 'demo':
      if (wantsHelp) return (console.log(DEMO_HELP), 0);
      await runDemo((line) => console.log(line), {
        progress: process.stdout.isTTY
          ? (line) => process.stdout.write(`\r${line}\x1b[K`)
          : (line) => console.log(line),
        progressEveryMs: process.stdout.isTTY ? 1000 : 10_000,
      });
      if (process.stdout.isTTY) process.stdout.write('\r\x1b[K');
      return 0;
    case 'run': {
      if (wantsHelp) return (console.log(RUN_HELP), 0);
      const args = parseRunArgs(rest);
      if (typeof args === 'string') {
        console.error(`${args}\n\n${RUN_HELP}`);
        return 2;
      }
      try {
        await runWorldScript(args);
        return 0;
      } catch (e) {
        console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
        return 1;
      }
    }
    case 'packetdrill':
      return packetdrillCommand(rest, { out: (l) => console.log(l), err: (l) => console.error(l) });
    default:
      console.error(`usernet: unknown command ${cmd}\n\n${HELP}`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
