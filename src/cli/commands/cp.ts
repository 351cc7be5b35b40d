/**
 * `cairn cp [-a] [-L] CONTAINER:SRC_PATH DEST_PATH|-` and `cairn cp [-a] [-L] SRC_PATH|- CONTAINER:DEST_PATH`:
 * files between a container and the host, `-` a tar stream on stdin or stdout, as Docker's cp
 * (every container path resolved inside the container's root filesystem).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { copyToHost, localPath, validateOutputPath } from '../../container/host-copy.js';
import { CairnError } from '../../errors.js';
import { withCairn } from '../context.js';

/** Docker's splitCpArg: `CONTAINER:PATH`, unless the argument is a local path (absolute, or starting with `.`). */
function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon < 0 || colon === 0) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export async function run(program: Command, cmd: Command, src: string, dst: string): Promise<void> {
  const o = cmd.opts<{ archive?: boolean; followLink?: boolean }>();
  const from = splitCpArg(src);
  const to = splitCpArg(dst);
  // Docker's CLI finds these itself: said bare
  if (from.container !== undefined && to.container !== undefined) throw new CairnError('invalid-argument', 'copying between containers is not supported', { bare: true });
  if (from.container === undefined && to.container === undefined) throw new CairnError('invalid-argument', 'must specify at least one container source', { bare: true });
  // and the host destination before it asks for the container's files
  if (from.container !== undefined && to.path !== '-') validateOutputPath(localPath(to.path));
  await withCairn(program, async (cairn) => {
    if (from.container !== undefined) {
      await cairn.copyFromContainer(from.container, from.path, { followLink: o.followLink ?? false }, async (archive) => {
        if (to.path === '-') await pipeline(Readable.from(archive.tar), process.stdout);
        else await copyToHost(archive, to.path);
      });
      return;
    }
    const input = from.path === '-' ? { tar: process.stdin } : { hostPath: from.path, ...(o.followLink ? { followLink: true } : {}) };
    await cairn.copyIntoContainer(to.container!, to.path, input, { archive: o.archive ?? false });
  });
}
