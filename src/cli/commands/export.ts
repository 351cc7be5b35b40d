/** `cairn export [-o FILE] CONTAINER`: the container's root filesystem as a tar, to stdout or a file. */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, ref: string): Promise<void> {
  const o = cmd.opts<{ output?: string }>();
  if (o.output === undefined && process.stdout.isTTY) throw new CairnError('usage', 'cowardly refusing to save to a terminal. Use the -o flag or redirect', { exitCode: 1 });
  await withCairn(program, async (cairn) => {
    const tar = await cairn.exportContainer(ref);
    await pipeline(Readable.from(tar), o.output !== undefined ? createWriteStream(o.output) : process.stdout);
  });
}
