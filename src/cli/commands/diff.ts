/** `cairn diff CONTAINER`: the container's changes, one `A|C|D PATH` line each, as Docker prints them. */
import type { Command } from 'commander';
import { out, withCairn } from '../context.js';

export async function run(program: Command, _cmd: Command, ref: string): Promise<void> {
  await withCairn(program, async (cairn) => {
    out((await cairn.containerChanges(ref)).map((c) => `${c.kind} ${c.path}\n`).join(''));
  });
}
