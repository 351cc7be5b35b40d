/** `cairn load [-i FILE] [-q]`: Docker's `Loaded image:` lines. */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadArchive } from '../../archive/load.js';
import { CairnError, NotFoundError, errnoCode } from '../../errors.js';
import { parseNormalizedReference } from '../../reference/reference.js';
import { createProgress } from '../progress.js';
import { out, withStore } from '../context.js';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ input?: string; quiet?: boolean }>();
  if (!o.input && process.stdin.isTTY) throw new CairnError('usage', 'requested load from stdin, but stdin is empty', { exitCode: 1 });
  if (o.input) {
    try {
      await access(o.input);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new NotFoundError(`open ${o.input}: no such file or directory`);
      throw e;
    }
  }
  await withStore(program, async (store) => {
    const source = o.input ? createReadStream(o.input, { highWaterMark: 1 << 20 }) : process.stdin;
    const result = await loadArchive(store, source, createProgress(process.stderr, o.quiet ?? false));
    if (o.quiet) return;
    for (const img of result.images) {
      for (const [tag, prev] of img.retagged) {
        out(`The image ${parseNormalizedReference(tag).familiarString()} already exists, renaming the old one with ID ${prev} to empty string\n`);
      }
      if (img.tags.length === 0) out(`Loaded image ID: ${img.id}\n`);
      for (const t of img.tags) out(`Loaded image: ${t}\n`);
    }
  });
}
