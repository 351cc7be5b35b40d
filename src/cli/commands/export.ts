/**
 * `cairn export [-o FILE] CONTAINER`: the container's root filesystem as a tar, to stdout or a
 * file; as Docker's CLI, never to a terminal, and a file whose directory is missing refused
 * first ("failed to export container: invalid output path: ...").
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { localPath, validateOutputPath } from '../../container/host-copy.js';
import { CairnError } from '../../errors.js';
import { withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, ref: string): Promise<void> {
  const o = cmd.opts<{ output?: string }>();
  if (o.output === undefined && process.stdout.isTTY) throw new CairnError('usage', 'cowardly refusing to save to a terminal. Use the -o flag or redirect', { exitCode: 1, bare: true });
  // Docker's CLI checks the file's directory before it asks for the container
  if (o.output !== undefined) {
    try {
      validateOutputPath(localPath(o.output));
    } catch (e) {
      if (e instanceof CairnError) throw new CairnError(e.code, `failed to export container: ${e.message}`, { cause: e, bare: true });
      throw e;
    }
  }
  await withCairn(program, async (cairn) => {
    const tar = await cairn.exportContainer(ref);
    await pipeline(Readable.from(tar), o.output !== undefined ? createWriteStream(o.output) : process.stdout);
  });
}
