/** `cairn rm [-f] [-v] CONTAINER...`: each container and its writable layer; each name printed as given. */
import type { Command } from 'commander';
import { out, withCairn } from '../context.js';
import { eachContainer } from './each.js';

export async function run(program: Command, cmd: Command, refs: string[]): Promise<void> {
  const o = cmd.opts<{ force?: boolean; volumes?: boolean }>();
  await withCairn(program, (cairn) =>
    eachContainer(refs, async (ref) => {
      await cairn.removeContainer(ref, { force: o.force ?? false, volumes: o.volumes ?? false });
      out(`${ref}\n`);
    }),
  );
}
