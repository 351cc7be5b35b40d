/**
 * A volume's size as Docker reports it (pkg/directory.Size, for `volume prune`'s "Total
 * reclaimed space"): the apparent sizes of everything but directories, each inode once (hard
 * links), symlinks never followed. Walked iteratively with paths as bytes, so neither depth
 * nor names that are not UTF-8 get in the way.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { errnoCode } from '../errors.js';

const SLASH = Buffer.from('/');

export function treeSize(root: string): number {
  let size = 0;
  const seen = new Set<number>();
  const stack: Buffer[] = [Buffer.from(root)];
  let first = true;
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let names: Buffer[];
    try {
      names = readdirSync(dir, { encoding: 'buffer' });
    } catch (e) {
      // A volume whose data directory is gone has no size; anything else is a failure.
      if (first && errnoCode(e) === 'ENOENT') return 0;
      throw e;
    }
    first = false;
    for (const name of names) {
      const p = Buffer.concat([dir, SLASH, name]);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        stack.push(p);
        continue;
      }
      if (st.size === 0 || seen.has(st.ino)) continue;
      seen.add(st.ino);
      size += st.size;
    }
  }
  return size;
}
