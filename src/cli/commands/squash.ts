/** `cairn image squash IMAGE [--from N] [-t NAME]`: prints the new image ID. */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { out, withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, image: string): Promise<void> {
  const o = cmd.opts<{ from: string; tag?: string }>();
  if (!/^\d+$/.test(o.from)) throw new CairnError('usage', `invalid argument "${o.from}" for "--from" flag: expected a whole number of layers`);
  await withCairn(program, async (cairn) => {
    const r = await cairn.squash(image, { from: Number(o.from), ...(o.tag !== undefined ? { tag: o.tag } : {}) });
    out(`${r.id}\n`);
  });
}
