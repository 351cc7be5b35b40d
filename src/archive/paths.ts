/**
 * Paths of members inside an image archive. Archives name their members (and manifest.json
 * names layers) with relative paths; anything absolute or climbing out with `..` is refused,
 * and symlink members (Docker's legacy format links duplicate layers) resolve only inside.
 */
import { posix } from 'node:path';
import { DataCorruptError } from '../errors.js';

/** Normalise a member path (`./a//b/` -> `a/b`); refuse absolute paths and escapes. */
export function memberPath(name: string, what = 'archive member'): string {
  if (name.includes('\0')) throw new DataCorruptError(`${what} ${JSON.stringify(name)}: NUL in path`);
  if (name.startsWith('/')) throw new DataCorruptError(`${what} ${JSON.stringify(name)} is an absolute path: it points outside the archive`);
  const n = posix.normalize(name).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) throw new DataCorruptError(`${what} ${JSON.stringify(name)} points outside the archive`);
  return n === '.' ? '' : n;
}

/** Resolve a symlink member's target relative to the link's directory, inside the archive. */
export function resolveLink(linkPath: string, target: string): string {
  if (target.startsWith('/')) throw new DataCorruptError(`archive member ${JSON.stringify(linkPath)} links to the absolute path ${JSON.stringify(target)}: it points outside the archive`);
  return memberPath(posix.join(posix.dirname(linkPath), target), `archive member ${JSON.stringify(linkPath)} link target`);
}
