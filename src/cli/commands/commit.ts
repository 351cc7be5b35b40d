/**
 * `cairn commit [-a] [-m] [-c]... [-p] CONTAINER [REPOSITORY[:TAG]]`: a new image of the
 * container's changes; its ID printed. As Docker's CLI, the name is checked before anything
 * else (distribution's short errors, bare; a digest refused; an empty name is none).
 */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { dockerReferenceError, parseNormalizedReference } from '../../reference/reference.js';
import { parseGoBool } from '../../container/units.js';
import { goQuote } from '../../template/fmt.js';
import { flagError, out, withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, ref: string, reference?: string): Promise<void> {
  const o = cmd.opts<{ author?: string; message?: string; change: string[]; pause: string }>();
  const pause = parseGoBool(o.pause);
  if (pause === undefined) throw flagError(cmd, '-p, --pause', o.pause, `strconv.ParseBool: parsing ${goQuote(o.pause)}: invalid syntax`);
  const tag = reference === '' ? undefined : reference;
  if (tag !== undefined) {
    const problem = dockerReferenceError(tag);
    if (problem !== undefined) throw new CairnError('invalid-argument', problem, { bare: true });
    if (parseNormalizedReference(tag).digest !== undefined) throw new CairnError('invalid-argument', 'refusing to create a tag with a digest reference', { bare: true });
  }
  await withCairn(program, async (cairn) => {
    const r = await cairn.commitContainer(ref, {
      ...(o.author !== undefined ? { author: o.author } : {}),
      ...(o.message !== undefined ? { message: o.message } : {}),
      changes: o.change,
      pause,
      ...(tag !== undefined ? { tag } : {}),
    });
    out(`${r.imageId}\n`);
  });
}
