// `usernet run SCRIPT`: run a user's world script. A script is an ES module; when its default
// export is a function, it is called with a fresh World inside world.run() (so a stall is
// reported, not hung on) and the world is stopped afterwards; otherwise the module's top-level
// code is the program. A TypeScript script is transpiled (types are not checked) with the
// `typescript` package, next to the original so that its relative imports resolve.

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { World } from '../sim/world.js';

export const RUN_HELP = `usage: usernet run [--seed N] [--clock virtual|real] SCRIPT.js|SCRIPT.ts

Runs a world script. If the script's default export is a function, it is called with a new
World (seed N, default 1; virtual time unless --clock real) inside world.run(), and the world is
stopped when it returns; a run that waits on nothing inside the world is reported as stalled.
Without a default export the script's top-level code runs as it is.
A .ts script is transpiled with the typescript package (types are not checked).`;

export interface RunArgs {
  script: string;
  seed: number;
  clock: 'virtual' | 'real';
}

/** Parse `run`'s arguments; a string is a usage error. */
export function parseRunArgs(argv: string[]): RunArgs | string {
  let seed = 1;
  let clock: 'virtual' | 'real' = 'virtual';
  let script = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seed') {
      seed = Number(argv[++i]);
      if (!Number.isInteger(seed)) return `run: --seed needs an integer`;
    } else if (a === '--clock') {
      const c = argv[++i];
      if (c !== 'virtual' && c !== 'real') return `run: --clock is virtual or real`;
      clock = c;
    } else if (a.startsWith('-')) return `run: unknown option ${a}`;
    else if (script) return `run: one script at a time`;
    else script = a;
  }
  if (!script) return 'run: no script given';
  return { script, seed, clock };
}

async function transpile(path: string): Promise<string> {
  let ts: typeof import('typescript');
  try {
    ts = (await import('typescript')).default;
  } catch {
    throw new Error(`run: ${path} is TypeScript; install the typescript package to run it (or run its .js)`);
  }
  const out = ts.transpileModule(readFileSync(path, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: path,
  });
  const tmp = join(dirname(path), `.${basename(path, extname(path))}.${process.pid}.usernet-run.mjs`);
  // Imports of sibling TypeScript files name them by their .js output, as tsc expects.
  writeFileSync(tmp, out.outputText);
  return tmp;
}

/** Run a script; resolves with the default export's result (undefined without one). */
export async function runWorldScript(args: RunArgs): Promise<unknown> {
  const path = resolve(args.script);
  if (!existsSync(path)) throw new Error(`run: ${args.script}: no such file`);
  const isTs = /\.[cm]?ts$/.test(path);
  const file = isTs ? await transpile(path) : path;
  try {
    const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    if (typeof mod.default !== 'function') return undefined;
    const main = mod.default as (world: World) => unknown;
    const world = new World({ seed: args.seed, clock: args.clock });
    try {
      return await world.run(main);
    } finally {
      world.stop();
    }
  } finally {
    if (isTs) rmSync(file, { force: true });
  }
}
