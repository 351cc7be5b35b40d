/**
 * Test fixture for rmtree.ts and the snapshotter: a directory chain deeper than any path can
 * name, as a hostile layer can unpack. Not used by cairn itself.
 */
import { closeSync } from 'node:fs';
import { constants, mkdirat, openat } from './native/index.js';

/**
 * Make `levels` nested directories named `name` under `dir` (dir/name/name/…), one level at a
 * time through directory fds (a path to the bottom would exceed PATH_MAX), with a file in the
 * deepest one and one every 100 levels. Returns how many directories were made.
 */
export function deepChain(dir: string, levels: number, name = 'd'.repeat(50)): number {
  const flags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
  let fd = openat(constants.AT_FDCWD, dir, flags);
  try {
    for (let i = 0; i < levels; i++) {
      mkdirat(fd, name, 0o755);
      const next = openat(fd, name, flags);
      closeSync(fd);
      fd = next;
      if (i % 100 === 0 || i === levels - 1) closeSync(openat(fd, `f${i}`, constants.O_WRONLY | constants.O_CREAT, 0o644));
    }
  } finally {
    closeSync(fd);
  }
  return levels;
}
