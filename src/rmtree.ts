/**
 * Removing a directory tree with no depth or path-length limit: `rm -rf` as cairn needs it for
 * snapshot directories, their temporary and trash directories, and scratch space.
 *
 * Node's `fs.rm({ recursive: true })` recurses (its stack overflows near 2,000 levels) and
 * works on whole paths (ENAMETOOLONG past PATH_MAX, 4,096 bytes), so a layer that unpacks a
 * 1,500-level directory chain — which a hostile image can hold — could be written but never
 * removed. This one walks the tree iteratively with directory fds (native `removeTreeAt`:
 * getdents64, openat, unlinkat with AT_REMOVEDIR), on a worker thread.
 *
 * It never crosses into another file system: a mount point inside the tree fails the removal
 * with a CairnError and what is mounted there is left alone.
 */
import { closeSync, unlinkSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { CairnError, InvalidArgumentError } from './errors.js';
import { constants, errnoCode, openat, removeTreeAt } from './native/index.js';

/**
 * Remove `path` and everything under it (a file or symlink is unlinked, not followed).
 * Resolves true, or false when `path` (or its parent directory) does not exist.
 */
export async function removeTree(path: string): Promise<boolean> {
  const abs = resolve(path);
  const parent = dirname(abs);
  if (parent === abs) throw new InvalidArgumentError('refusing to remove the root directory /');
  let fd: number;
  try {
    fd = openat(constants.AT_FDCWD, parent, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw new CairnError('internal', `cannot remove ${abs}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return await removeTreeAt(fd, basename(abs));
  } catch (e) {
    const why = errnoCode(e) === 'EXDEV' ? `another file system is mounted inside it (${(e as Error).message})` : (e as Error).message;
    throw new CairnError('internal', `cannot remove ${abs}: ${why}`, { cause: e });
  } finally {
    closeSync(fd);
  }
}

/**
 * `rm -f` of one file (or symlink, not followed): true when it was removed, false when it was
 * not there. A plain unlink: fs.rmSync is JavaScript that lstats first and costs a short
 * command ~0.3 ms the first time.
 */
export function removeFile(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}
