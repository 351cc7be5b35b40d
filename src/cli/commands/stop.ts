/** `cairn stop [-t SECONDS] CONTAINER...`: the stop signal, then SIGKILL; each name printed as given. */
import type { Command } from 'commander';
import { intFlag, out, withCairn } from '../context.js';
import { eachContainer } from './each.js';

export async function run(program: Command, cmd: Command, refs: string[]): Promise<void> {
  const o = cmd.opts<{ time?: string }>();
  const time = o.time === undefined ? undefined : intFlag(cmd, '-t, --time', o.time);
  await withCairn(program, (cairn) =>
    eachContainer(refs, async (ref) => {
      await cairn.stopContainer(ref, time);
      out(`${ref}\n`);
    }),
  );
}
