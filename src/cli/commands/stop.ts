/** `cairn stop [-t SECONDS] CONTAINER...`: the stop signal, then SIGKILL; each name printed as given. */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { out, withCairn } from '../context.js';
import { eachContainer } from './each.js';

export async function run(program: Command, cmd: Command, refs: string[]): Promise<void> {
  const o = cmd.opts<{ time?: string }>();
  if (o.time !== undefined && !/^-?\d+$/.test(o.time)) throw new CairnError('usage', `invalid argument "${o.time}" for "-t, --time" flag: strconv.ParseInt: parsing "${o.time}": invalid syntax`);
  await withCairn(program, (cairn) =>
    eachContainer(refs, async (ref) => {
      await cairn.stopContainer(ref, o.time === undefined ? undefined : Number(o.time));
      out(`${ref}\n`);
    }),
  );
}
