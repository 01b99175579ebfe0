#!/usr/bin/env node
// The `usernet` command.

import { runDemo } from './demo.js';
import { RUN_HELP, parseRunArgs, runWorldScript } from './run.js';

const HELP = `usage: usernet COMMAND [ARGS]

commands:
  demo                 run the quickstart demo
  run SCRIPT           run a world script (usernet run --help)
  help                 this text

Every command takes --help.`;

const DEMO_HELP = `usage: usernet demo

Runs the quickstart demo in virtual time and prints what happened.`;

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
      await runDemo((line) => console.log(line));
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
    default:
      console.error(`usernet: unknown command ${cmd}\n\n${HELP}`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
