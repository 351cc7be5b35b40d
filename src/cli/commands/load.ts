/** `cairn load [-i FILE] [-q]`: Docker's `Loaded image:` lines. */
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { pathOrigin } from '../../transfer/origin.js';
import { CairnError, NotFoundError, errnoCode } from '../../errors.js';
import { parseNormalizedReference } from '../../reference/reference.js';
import { createProgress } from '../progress.js';
import { out, withCairn } from '../context.js';

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
  await withCairn(program, async (cairn) => {
    const source = o.input ? await pathOrigin(o.input) : process.stdin;
    const result = await cairn.load(source, createProgress(process.stderr, o.quiet ?? false));
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
