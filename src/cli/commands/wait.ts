/** `cairn wait CONTAINER...`: block until each stops; print its exit code. */
import type { Command } from 'commander';
import { out, withCairn } from '../context.js';
import { eachContainer } from './each.js';

export async function run(program: Command, _cmd: Command, refs: string[]): Promise<void> {
  await withCairn(program, (cairn) =>
    eachContainer(refs, async (ref) => {
      const rec = await cairn.waitContainer(ref);
      out(`${rec.state.exitCode}\n`);
    }),
  );
}
