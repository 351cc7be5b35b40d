/** `cairn tag SOURCE TARGET`. */
import type { Command } from 'commander';
import { tagImage } from '../../image/tags.js';
import { withStore } from '../context.js';

export async function run(program: Command, _cmd: Command, source: string, target: string): Promise<void> {
  await withStore(program, async (store) => {
    tagImage(store, source, target);
  });
}
