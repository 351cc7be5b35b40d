/** `cairn save [-o FILE] [--format docker-archive|oci-archive] IMAGE...`. */
import { open, rename, rm, stat } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { Command } from 'commander';
import type { ArchiveFormat } from '../../archive/save.js';
import { CairnError, errnoCode } from '../../errors.js';
import { createProgress } from '../progress.js';
import { withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, images: string[]): Promise<void> {
  const o = cmd.opts<{ output?: string; format: ArchiveFormat }>();
  if (!o.output && process.stdout.isTTY) {
    throw new CairnError('usage', 'cowardly refusing to save to a terminal. Use the -o flag or redirect', { exitCode: 1 });
  }
  await withCairn(program, async (cairn) => {
    // Docker's save prints nothing; on a terminal cairn shows each layer's progress.
    const progress = createProgress(process.stderr, !process.stderr.isTTY);
    if (!o.output) {
      await cairn.save(images, process.stdout, { format: o.format, progress });
      return;
    }
    // Docker checks the directory first: "invalid output path: directory ... does not exist".
    const dir = dirname(o.output);
    const st = await stat(dir).catch((e: unknown) => {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
      throw e;
    });
    if (!st?.isDirectory()) throw new CairnError('failed-precondition', `failed to save image: invalid output path: directory "${dir}" does not exist`);
    // Write beside the target and rename: a failed save never leaves a partial archive.
    const tmp = join(dir, `.${basename(o.output)}.cairn-${process.pid}`);
    const fh = await open(tmp, 'w').catch((e: unknown) => {
      throw new CairnError('permission', `failed to save image: open ${o.output}: ${errnoCode(e) === 'EACCES' || errnoCode(e) === 'EPERM' ? 'permission denied' : (e as Error).message}`, { cause: e });
    });
    try {
      await cairn.save(images, fh.createWriteStream(), { format: o.format, progress });
      await rename(tmp, o.output);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  });
}
