/**
 * `cp` out of a container: what a container path names (Docker's ContainerStatPath) and an
 * archive of it (ContainerArchivePath), read from the container's mounted root filesystem.
 *
 * Every path is resolved inside the root filesystem as the container would see it
 * (runtime/rootpath.ts, openat2 RESOLVE_IN_ROOT): a symlink is followed inside the root — an
 * absolute one starts again at the root, `..` stops there — so no symlink of the container
 * leads the copy onto the host; a `..` typed by the user that climbs above the root is
 * refused (cp-paths.ts). As Docker resolves it: the directory part is followed, the last
 * element is not (a symlink is archived as a symlink) unless `followLink` (`-L`) is asked
 * for, or the path ends in `/` or `/.`.
 *
 * The archive (layer/diff.ts archiveTree, read through descriptors of directories opened in
 * the root, never following a symlink below them) is named as Docker names it: a file or a
 * directory under its own name (`dir/`, `dir/a`), a directory's contents with `SRC/.` as
 * `./`, `./a` — and the root itself as `./`, `./bin` (Docker writes `/`, `/bin`). It is read
 * from the root filesystem only once the stream is read; a stream never read holds nothing.
 */
import { closeSync, openSync } from 'node:fs';
import { CairnError, NotFoundError, PreconditionError, errnoCode } from '../errors.js';
import { archiveTree, treeReleased } from '../layer/diff.js';
import { constants as C, fstatat, type NativeStat, openat2 } from '../native/index.js';
import { resolveInRoot } from '../runtime/rootpath.js';
import { type CopyInfo, containerPath, goBase, goSplit, rebaseName } from './cp-paths.js';

/** What a container path names (Docker's ContainerPathStat). */
export interface ContainerPathStat {
  /** The path's last element (`/` for the root). */
  name: string;
  size: number;
  /** st_mode: type and permission bits. */
  mode: number;
  mtime: Date;
  /** For a symlink: where it leads, resolved inside the container (an absolute path); else ''. */
  linkTarget: string;
}

/** A container path that names nothing: Docker's words. */
export class ContainerPathNotFoundError extends NotFoundError {
  constructor(container: string, path: string) {
    super(`No such container:path: ${container}:${path}`);
    this.name = 'ContainerPathNotFoundError';
  }
}

export interface CopyFromOptions {
  /** `-L`: a symlink at the source is followed, the archive named after the link. */
  followLink?: boolean;
  /** The container's name, for messages (default "container"). */
  container?: string;
  /** The archive's top entry's name, when not the path's last element (a mount point copied from its source: cp-mounts.ts). */
  topName?: string;
}

/** An archive of a container path, and what it is. */
export interface ContainerArchive {
  stat: ContainerPathStat;
  /** The container path archived (a followed link's target). */
  path: string;
  isDir: boolean;
  /** The archive's top entry name. */
  top: string;
  /** With `-L` through a symlink: the name the copy gives the top entry back (the link's own). */
  rebaseName?: string;
  /** The archive; read from the root filesystem only as it is read. */
  tar: AsyncIterable<Uint8Array>;
}

/** Where a container path lies: its absolute form, its directory resolved in the root, its last element. */
interface Located {
  abs: string;
  /** The resolved directory (no symlink in it), as a path below the root. */
  dir: string;
  /** The last element ('.' for the directory itself). */
  base: string;
}

function locate(rootfs: string, path: string, container: string): Located {
  const abs = containerPath(path, container);
  const { dir, file } = goSplit(abs);
  const resolved = resolveInRoot(rootfs, dir);
  if (resolved.kind === undefined) throw new ContainerPathNotFoundError(container, path);
  if (resolved.kind !== 'dir') throw new PreconditionError(`cannot resolve ${JSON.stringify(path)} in ${container}: ${resolved.path} is not a directory`);
  return { abs, dir: resolved.path, base: file === '' ? '.' : file };
}

/** An O_PATH descriptor of directory `dir` (a path below the root), opened inside the root (RESOLVE_IN_ROOT). */
export function openDirInRoot(rootfs: string, dir: string): number {
  const rootFd = openSync(rootfs, C.O_PATH | C.O_DIRECTORY);
  try {
    return openat2(rootFd, dir.replace(/^\/+/, '') || '.', C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC, 0, C.RESOLVE_IN_ROOT | C.RESOLVE_NO_MAGICLINKS);
  } finally {
    closeSync(rootFd);
  }
}

function lstatIn(rootfs: string, at: Located, container: string, asked: string): NativeStat {
  const fd = openDirInRoot(rootfs, at.dir);
  try {
    return fstatat(fd, at.base, C.AT_SYMLINK_NOFOLLOW);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new ContainerPathNotFoundError(container, asked);
    if (errnoCode(e) === 'ENOTDIR') throw new PreconditionError(`cannot resolve ${JSON.stringify(asked)} in ${container}: ${at.dir} is not a directory`);
    throw new CairnError('internal', `cannot look at ${JSON.stringify(asked)} in ${container}: ${(e as Error).message}`, { cause: e });
  } finally {
    closeSync(fd);
  }
}

function statOf(rootfs: string, at: Located, st: NativeStat): ContainerPathStat {
  const link = (st.mode & C.S_IFMT) === C.S_IFLNK ? resolveInRoot(rootfs, at.abs).path : '';
  return { name: goBase(at.abs), size: st.size, mode: st.mode, mtime: new Date(Number(st.mtimeNs / 1_000_000n)), linkTarget: link };
}

/** What `path` names in the container whose root filesystem is mounted at `rootfs` (ContainerPathNotFoundError when nothing). */
export function statContainerPath(rootfs: string, path: string, container = 'container'): ContainerPathStat {
  const at = locate(rootfs, path, container);
  return statOf(rootfs, at, lstatIn(rootfs, at, container, path));
}

/** The kind of a stat's mode, as cp cares. */
export function isDirMode(mode: number): boolean {
  return (mode & C.S_IFMT) === C.S_IFDIR;
}

export function isSymlinkMode(mode: number): boolean {
  return (mode & C.S_IFMT) === C.S_IFLNK;
}

/**
 * An archive of `srcPath` in the container whose root filesystem is mounted at `rootfs`
 * (see the module comment). The container should not change the path while it is read.
 */
export function copyFromContainer(rootfs: string, srcPath: string, opts: CopyFromOptions = {}): ContainerArchive {
  const container = opts.container ?? 'container';
  let path = srcPath;
  let rebase: string | undefined;
  if (opts.followLink) {
    const first = statContainerPath(rootfs, path, container);
    if (isSymlinkMode(first.mode)) ({ resolved: path, rebase } = rebaseName(path, first.linkTarget));
  }
  const at = locate(rootfs, path, container);
  const st = lstatIn(rootfs, at, container, path);
  const isDir = isDirMode(st.mode);
  const name = goBase(at.abs);
  const top = opts.topName ?? (name === '/' ? '.' : name);
  return {
    stat: statOf(rootfs, at, st),
    path: at.abs,
    isDir,
    top,
    ...(rebase !== undefined ? { rebaseName: rebase } : {}),
    tar: archiveOf(rootfs, at.dir, at.base, top),
  };
}

/** The tar of entry `base` of directory `dir` (below the root) as `top`: opened in the root when first read, closed when done. */
async function* archiveOf(rootfs: string, dir: string, base: string, top: string): AsyncGenerator<Uint8Array> {
  const fd = openDirInRoot(rootfs, dir);
  try {
    const tar = archiveTree(`/proc/self/fd/${fd}`, { base: Buffer.from(base), name: Buffer.from(top) }, { sourceDateEpoch: null });
    try {
      for await (const chunk of tar) yield chunk as Uint8Array;
    } finally {
      tar.destroy();
      await treeReleased(tar);
    }
  } finally {
    closeSync(fd);
  }
}

/** The copy's view of a container path as a destination (Docker's CLI: stat it, follow a symlink once). */
export function destinationInfo(rootfs: string, destPath: string, container: string): { info: CopyInfo; stat: ContainerPathStat | undefined } {
  const tryStat = (p: string): ContainerPathStat | undefined => {
    try {
      return statContainerPath(rootfs, p, container);
    } catch (e) {
      // Docker's CLI takes any failure to stat as "does not exist"; the extraction then says what is wrong.
      if (e instanceof NotFoundError || e instanceof PreconditionError) return undefined;
      throw e;
    }
  };
  let path = destPath;
  let st = tryStat(path);
  if (st !== undefined && isSymlinkMode(st.mode)) {
    path = st.linkTarget;
    st = tryStat(path);
  }
  return { info: { path, exists: st !== undefined, isDir: st !== undefined && isDirMode(st.mode) }, stat: st };
}
