/** `cairn kill [-s SIGNAL] CONTAINER...`: a signal (default KILL) to each running container; each name printed as given. */
import type { Command } from 'commander';
import { constants } from 'node:os';
import { CairnError } from '../../errors.js';
import { out, withCairn } from '../context.js';
import { eachContainer } from './each.js';

/** A signal by name (with or without SIG) or number, as Docker takes it. */
export function parseSignal(text: string): NodeJS.Signals {
  const up = text.toUpperCase();
  const name = (up.startsWith('SIG') ? up : `SIG${up}`) as NodeJS.Signals;
  if (name in constants.signals) return name;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    const found = Object.entries(constants.signals).find(([, v]) => v === n);
    if (found !== undefined) return found[0] as NodeJS.Signals;
  }
  throw new CairnError('invalid-argument', `Invalid signal: ${text}`);
}

export async function run(program: Command, cmd: Command, refs: string[]): Promise<void> {
  const signal = parseSignal(cmd.opts<{ signal: string }>().signal);
  await withCairn(program, (cairn) =>
    eachContainer(refs, async (ref) => {
      await cairn.killContainer(ref, signal);
      out(`${ref}\n`);
    }),
  );
}
