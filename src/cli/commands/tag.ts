/**
 * `cairn tag SOURCE TARGET`: what Docker's CLI refuses itself (a name that does not parse, a
 * digest target) said bare, as it says it; the rest is the library's (a missing source, a
 * target named `sha256`).
 */
import type { Command } from 'commander';
import { tagNamesProblem } from '../../image/tags.js';
import { bareError } from '../bare-errors.js';
import { withCairn } from '../context.js';

export async function run(program: Command, _cmd: Command, source: string, target: string): Promise<void> {
  const problem = tagNamesProblem(source, target);
  if (problem !== undefined) throw bareError(problem);
  await withCairn(program, async (cairn) => {
    await cairn.tag(source, target);
  });
}
