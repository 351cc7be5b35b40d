/**
 * `cp`'s host side, as Docker 20.10's CLI does it: a host path as the source of a copy into a
 * container (CopyInfoSourcePath + TarResource: symlinks in the directory part followed, the
 * last element followed only with `-L`, the archive named after the source), and a
 * container's archive written to a host path (CopyTo: the destination's symlinks followed, a
 * missing destination created from the archive's top entry, "cannot copy directory" onto a
 * file, ...). The host is the user's own and its paths are trusted; the archive is not, and
 * is written by untar.ts (nothing outside the destination, no symlink climbing out of it,
 * files owned by the invoking user — Docker's CLI does not chown).
 */
import { closeSync, constants as fsc, lstatSync, openSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { CairnError, NotFoundError, errnoCode } from '../errors.js';
import { archiveTree, treeReleased } from '../layer/diff.js';
import type { ContainerArchive } from './copy-from.js';
import { type CopyInfo, CopyError, goBase, goClean, goDir, goSplit, hasTrailingSeparator, preserveTrailingDotOrSeparator, prepareArchiveCopy, rebaseName, splitPathDirEntry } from './cp-paths.js';
import { untarInto } from './untar.js';

/** Docker's resolveLocalPath: absolute, cleaned, its trailing `/` or `/.` kept. */
export function localPath(path: string): string {
  return preserveTrailingDotOrSeparator(goClean(resolve(path)), path);
}

/** A host path that cannot be read as Docker's CLI says it (bare: the CLI finds it itself). */
function hostError(what: string, path: string, e: unknown): CairnError {
  const code = errnoCode(e);
  if (code === 'ENOENT') return new NotFoundError(`${what} ${path}: no such file or directory`, { cause: e, bare: true });
  if (code === 'ENOTDIR') return new CopyError(`${what} ${path}: not a directory`);
  return new CairnError('internal', `${what} ${path}: ${(e as Error).message}`, { cause: e, bare: true });
}

/** A host path as a copy's source (Docker's CopyInfoSourcePath). */
export function hostSourceInfo(path: string, followLink = false): CopyInfo {
  const abs = localPath(path);
  let resolved: string;
  let rebase: string | undefined;
  // the path as Docker's messages name it: the resolved directory, a separator, the base ("//x" under "/")
  let shown: string;
  try {
    if (followLink) {
      ({ resolved, rebase } = rebaseName(abs, realpathSync(abs)));
      shown = resolved;
    } else {
      const { dir, file } = goSplit(abs);
      const dirResolved = realpathSync(dir === '' ? '.' : dir);
      resolved = `${dirResolved === '/' ? '' : dirResolved}/${file}`;
      shown = `${dirResolved}/${file}`;
      if (hasTrailingSeparator(abs) && goBase(abs) !== goBase(resolved)) rebase = goBase(abs);
    }
  } catch (e) {
    throw hostError('stat', abs, e);
  }
  let st: Stats;
  try {
    st = lstatSync(resolved);
  } catch (e) {
    throw hostError('lstat', shown, e);
  }
  return { path: resolved, exists: true, isDir: st.isDirectory(), ...(rebase !== undefined ? { rebaseName: rebase } : {}) };
}

/** The archive of a host source (Docker's TarResource), read when it is read; its top entry's name. */
export function hostArchive(src: CopyInfo): { top: string; tar: AsyncIterable<Uint8Array> } {
  let { dir, base } = splitPathDirEntry(src.path);
  if (base === '/') base = '.';
  const top = src.rebaseName ?? base;
  async function* tar(): AsyncGenerator<Uint8Array> {
    const t = archiveTree(dir, { base: Buffer.from(base), name: Buffer.from(top) }, { sourceDateEpoch: null });
    try {
      for await (const chunk of t) yield chunk as Uint8Array;
    } finally {
      t.destroy();
      await treeReleased(t);
    }
  }
  return { top, tar: tar() };
}

/** Docker's ValidateOutputPath: the destination's directory exists; an existing destination is a directory or a file. */
export function validateOutputPath(path: string): void {
  const dir = goDir(goClean(path));
  try {
    statSync(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new CopyError(`invalid output path: directory ${JSON.stringify(dir)} does not exist`);
    throw hostError('stat', dir, e);
  }
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw hostError('stat', path, e);
  }
  if (!st.isDirectory() && !st.isFile()) {
    const got = st.isBlockDevice() || st.isCharacterDevice() ? 'got a device' : 'got an irregular file';
    throw new CopyError(`invalid output path: ${JSON.stringify(path)} must be a directory or a regular file: ${got}`);
  }
}

/** Docker's CopyInfoDestinationPath: the destination with its symlinks followed (at most 10); its directory must exist. */
function destinationInfo(path: string): CopyInfo {
  let p = path;
  for (let n = 0; ; n++) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw hostError('lstat', p, e);
      const parent = splitPathDirEntry(p).dir;
      let ps: Stats;
      try {
        ps = statSync(parent);
      } catch (e2) {
        throw hostError('stat', parent, e2);
      }
      if (!ps.isDirectory()) throw new CopyError('not a directory');
      return { path: p, exists: false, isDir: false };
    }
    if (!st.isSymbolicLink()) return { path: p, exists: true, isDir: st.isDirectory() };
    if (n >= 10) throw new CopyError(`too many symlinks in ${path}`);
    const target = readlinkSync(p);
    p = isAbsolute(target) ? target : goClean(`${splitPathDirEntry(p).dir}/${target}`);
  }
}

/**
 * Write a container's archive to host path `dest` (`docker cp CTR:SRC DEST`): `dest` and its
 * directory as Docker's CLI treats them (see the module comment).
 */
export async function copyToHost(archive: ContainerArchive, dest: string): Promise<void> {
  const path = localPath(dest);
  validateOutputPath(path);
  const dst = destinationInfo(path);
  const placement = prepareArchiveCopy({ path: archive.path, exists: true, isDir: archive.isDir, ...(archive.rebaseName !== undefined ? { rebaseName: archive.rebaseName } : {}) }, archive.top, dst);
  let fd: number;
  try {
    fd = openSync(placement.dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  } catch (e) {
    throw hostError('open', placement.dir, e);
  }
  try {
    await untarInto(fd, archive.tar, {
      ...(placement.rename ? { rename: placement.rename } : {}),
      owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
      dest: placement.dir,
    });
  } finally {
    closeSync(fd);
  }
}
