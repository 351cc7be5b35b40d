/** `cairn save [-o FILE] [--format docker-archive|oci-archive] IMAGE...`. */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { Command } from 'commander';
import type { ArchiveFormat } from '../../archive/save.js';
import { CairnError } from '../../errors.js';
import { createProgress } from '../progress.js';
import { withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, images: string[]): Promise<void> {
  const o = cmd.opts<{ output?: string; format: ArchiveFormat }>();
  if (!o.output && process.stdout.isTTY) {
    throw new CairnError('usage', 'cowardly refusing to save to a terminal. Use the -o flag or redirect', { exitCode: 1 });
  }
  await withCairn(program, async (cairn) => {
    const progress = createProgress(process.stderr, !process.stderr.isTTY && !o.output);
    if (!o.output) {
      await cairn.save(images, process.stdout, { format: o.format, progress });
      return;
    }
    // Write beside the target and rename: a failed save never leaves a partial archive.
    const tmp = join(dirname(o.output), `.${basename(o.output)}.cairn-${process.pid}`);
    try {
      await cairn.save(images, createWriteStream(tmp), { format: o.format, progress });
      await rename(tmp, o.output);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  });
}
