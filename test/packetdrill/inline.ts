// Run a packetdrill script given as lines, as the tests write them inline.

import { parseScript } from '../../src/tools/packetdrill/parser.js';
import { runScript } from '../../src/tools/packetdrill/runtime.js';

/** The whole result of running `lines` as one script. */
export function runLines(lines: string[]): ReturnType<typeof runScript> {
  return runScript(parseScript(lines.join('\n') + '\n'), { file: 't.pkt' });
}

/** Only whether it passed and its failure messages (what most tests compare). */
export async function outcome(lines: string[]): Promise<{ ok: boolean; errors: string[] }> {
  const r = await runLines(lines);
  return { ok: r.ok, errors: r.errors };
}
