/** `cairn pause CONTAINER...`: freeze each container's processes; each name printed as given. */
import type { Command } from 'commander';
import { out, withCairn } from '../context.js';
import { eachContainer } from './each.js';

export async function run(program: Command, _cmd: Command, refs: string[]): Promise<void> {
  await withCairn(program, (cairn) =>
    eachContainer(refs, async (ref) => {
      await cairn.pauseContainer(ref);
      out(`${ref}\n`);
    }),
  );
}
