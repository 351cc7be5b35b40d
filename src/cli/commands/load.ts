/**
 * `cairn load [-i FILE] [-q]`: Docker's lines on stdout — per image, per tag, `The image X
 * already exists, renaming the old one with ID … to empty string` when the tag moves, then
 * `Loaded image: X`; then, when the archive's last image has no tag, `Loaded image ID: …` for
 * every image (Docker's rule); for an archive from before Docker 1.10, only the renaming lines
 * (Docker's legacy load says nothing else). `-q` drops only the progress; Docker's CLI shows progress only
 * when stdout is a terminal, drawn there.
 */
import type { Command } from 'commander';
import { pathOrigin } from '../../transfer/origin.js';
import { parseNormalizedReference } from '../../reference/reference.js';
import { bareError, checkReadable } from '../bare-errors.js';
import { createProgress } from '../progress.js';
import { out, withCairn } from '../context.js';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ input?: string; quiet?: boolean }>();
  // Docker's CLI opens the file first, then refuses a terminal on stdin.
  if (o.input) await checkReadable(o.input);
  if (!o.input && process.stdin.isTTY) throw bareError('requested load from stdin, but stdin is empty');
  await load(program, o);
}

async function load(program: Command, o: { input?: string; quiet?: boolean }): Promise<void> {
  await withCairn(program, async (cairn) => {
    const source = o.input ? await pathOrigin(o.input) : process.stdin;
    const quiet = (o.quiet ?? false) || !process.stdout.isTTY;
    const result = await cairn.load(source, createProgress(process.stdout, quiet));
    for (const img of result.images) {
      const moved = new Map(img.retagged.map(([tag, prev]) => [parseNormalizedReference(tag).familiarString(), prev]));
      for (const t of img.tags) {
        const prev = moved.get(t);
        if (prev !== undefined) out(`The image ${t} already exists, renaming the old one with ID ${prev} to empty string\n`);
        if (!result.legacy) out(`Loaded image: ${t}\n`);
      }
    }
    if (!result.legacy && result.images.at(-1)?.tags.length === 0) for (const img of result.images) out(`Loaded image ID: ${img.id}\n`);
  });
}
