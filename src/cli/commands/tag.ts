/** `cairn tag SOURCE TARGET`. */
import type { Command } from 'commander';
import { withCairn } from '../context.js';

export async function run(program: Command, _cmd: Command, source: string, target: string): Promise<void> {
  await withCairn(program, async (cairn) => {
    await cairn.tag(source, target);
  });
}
