/**
 * `cp`'s path rules, pure: what Docker 20.10's CLI and daemon (pkg/archive/copy.go,
 * container/archive.go) decide from the two paths and what they name, before any byte moves.
 *
 *   - a path ending in `/` or `/.` asserts a directory; `SRC/.` copies a directory's contents
 *   - a container path is taken from the container's root (`a/b` is `/a/b`); cairn refuses one
 *     whose `..` climbs above the root (Docker silently stops there): a one-line error
 *   - the archive's top entry is named after the source (`.` for a directory's contents, and
 *     for the root itself), and renamed to the destination's name where the destination does
 *     not exist or is a file ({@link prepareArchiveCopy}: Docker's PrepareArchiveCopy, with its
 *     errors "cannot copy directory" and "no such directory")
 *
 * Go's path functions (Clean, Dir, Base, Split) are reproduced here where Node's differ.
 */
import { posix } from 'node:path';
import { CairnError, InvalidArgumentError } from '../errors.js';

/** Go's filepath.Clean. */
export function goClean(p: string): string {
  if (p === '') return '.';
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** Go's filepath.Split: everything up to the last '/', and the rest. */
export function goSplit(p: string): { dir: string; file: string } {
  const i = p.lastIndexOf('/');
  return { dir: p.slice(0, i + 1), file: p.slice(i + 1) };
}

/** Go's filepath.Base. */
export function goBase(p: string): string {
  if (p === '') return '.';
  const t = p.replace(/\/+$/, '');
  if (t === '') return '/';
  return t.slice(t.lastIndexOf('/') + 1);
}

/** Go's filepath.Dir. */
export function goDir(p: string): string {
  return goClean(goSplit(p).dir);
}

export function hasTrailingSeparator(p: string): boolean {
  return p.endsWith('/');
}

/** The last element is `.`. */
export function specifiesCurrentDir(p: string): boolean {
  return goBase(p) === '.';
}

/** The path asserts a directory (a trailing `/` or `/.`). */
export function assertsDirectory(p: string): boolean {
  return hasTrailingSeparator(p) || specifiesCurrentDir(p);
}

/** Docker's PreserveTrailingDotOrSeparator: `cleaned` with the trailing `/.` or `/` of `original` put back. */
export function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  let out = cleaned;
  if (!specifiesCurrentDir(out) && specifiesCurrentDir(original)) {
    if (!hasTrailingSeparator(out)) out += '/';
    out += '.';
  }
  if (!hasTrailingSeparator(out) && hasTrailingSeparator(original)) out += '/';
  return out;
}

/** Docker's SplitPathDirEntry: directory and last element, a trailing `.` kept as the element. */
export function splitPathDirEntry(p: string): { dir: string; base: string } {
  let cleaned = goClean(p);
  if (specifiesCurrentDir(p)) cleaned += '/.';
  return { dir: goDir(cleaned), base: goBase(cleaned) };
}

/**
 * A container path as an absolute, cleaned path with its trailing `/` or `/.` kept. A `..`
 * that climbs above the root is an InvalidArgumentError (the path would leave the container).
 */
export function containerPath(path: string, container = 'the container'): string {
  let depth = 0;
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (depth === 0) throw new InvalidArgumentError(`path ${JSON.stringify(path)} leads out of ${container} (its '..' climbs above the root directory)`);
      depth--;
    } else {
      depth++;
    }
  }
  return preserveTrailingDotOrSeparator(goClean(`/${path}`), path);
}

/**
 * Docker's GetRebaseName: `resolved` (the target of a followed symlink) with `path`'s trailing
 * `/.` or `/`, and the name the archive's top entry must get back (`path`'s last element)
 * when the two last elements differ.
 */
export function rebaseName(path: string, resolved: string): { resolved: string; rebase: string | undefined } {
  let r = resolved;
  if (specifiesCurrentDir(path) && !specifiesCurrentDir(r)) r += '/.';
  if (hasTrailingSeparator(path) && !hasTrailingSeparator(r)) r += '/';
  return { resolved: r, rebase: goBase(path) !== goBase(r) ? goBase(path) : undefined };
}

/** What a copy knows of one side: where, whether it exists, whether it is a directory. */
export interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  /** The name the archive's top entry carries instead of the path's own last element. */
  rebaseName?: string;
}

/** Where an archive is extracted, and how its top entry is renamed there. */
export interface ArchivePlacement {
  /** The directory the archive is extracted into. */
  dir: string;
  /** The archive's top entry `from` becomes `to` (with everything below it). */
  rename?: { from: string; to: string };
}

/**
 * A copy that cannot be made as asked, in Docker's words. Docker's CLI finds these itself
 * (placement, the host side, the destination's type), so they are said bare; `daemon`: one
 * Docker's daemon says ("Error response from daemon: ...").
 */
export class CopyError extends CairnError {
  constructor(message: string, opts: { daemon?: boolean } = {}) {
    super('failed-precondition', message, { bare: opts.daemon !== true });
    this.name = 'CopyError';
  }
}

/**
 * Docker's PrepareArchiveCopy (with the CLI's rebase of a followed symlink folded in): given
 * an archive of `src` whose top entry is named `top`, where to extract it — and what to name
 * that entry — so that `dst` ends up as asked.
 */
export function prepareArchiveCopy(src: CopyInfo, top: string, dst: CopyInfo): ArchivePlacement {
  const { dir: dstDir, base: dstBase } = splitPathDirEntry(dst.path);
  const renamed = (dir: string, to: string): ArchivePlacement => (to === top ? { dir } : { dir, rename: { from: top, to } });
  if (dst.exists && dst.isDir) return renamed(dst.path, src.rebaseName ?? top);
  if (dst.exists && src.isDir) throw new CopyError('cannot copy directory');
  if (!dst.exists && !src.isDir && assertsDirectory(dst.path)) throw new CopyError('no such directory');
  return renamed(dstDir, dstBase);
}
