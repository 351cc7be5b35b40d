/**
 * Paths inside a container's root filesystem, resolved the way the container will see them.
 *
 * A root filesystem comes from an untrusted image: any directory in it may be a symlink to
 * `/`, to `../../..` or to a host path. Everything the runtime reads or mounts over inside it
 * (the working directory, /etc/passwd, /etc/hosts, volume targets) is resolved here first, as
 * `securejoin` and openat2's RESOLVE_IN_ROOT do: `..` stops at the root, an absolute symlink
 * starts again at the root, and at most {@link MAX_SYMLINK_HOPS} symlinks are followed. The
 * result names a path below the root with no symlink left in it, so a runtime that follows
 * symlinks when it mounts (crun 1.8 does) cannot be led onto the host.
 *
 * Every step on disk goes through file descriptors: the directory a component is looked up in
 * is opened with openat2(RESOLVE_IN_ROOT) from the root's descriptor, so even a symlink that
 * appears between two steps is clamped by the kernel. Components after a missing one are
 * resolved lexically (a later `..` may climb back into what exists), as securejoin does.
 */
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { resolve as resolveHost } from 'node:path';
import { CairnError, InvalidArgumentError, NotFoundError, PreconditionError } from '../errors.js';
import { constants as C, errnoCode, fstatat, mkdirat, openat2, readlinkat } from '../native/index.js';

/** How many symlinks one resolution follows before giving up (Linux's own limit is 40). */
export const MAX_SYMLINK_HOPS = 40;

export type EntryKind = 'dir' | 'file' | 'other';

/** A path resolved inside a root filesystem. */
export interface RootPath {
  /** The path as the container sees it: absolute, normalised, no symlink in it ('/' for the root). */
  path: string;
  /** The same path on the host: the root directory joined with `path`. */
  hostPath: string;
  /** What is there now, or undefined when the path (or a directory on the way) does not exist. */
  kind: EntryKind | undefined;
}

/** A symlink loop, or more hops than {@link MAX_SYMLINK_HOPS}: the path cannot be resolved. */
export class SymlinkLoopError extends CairnError {
  constructor(message: string) {
    super('invalid-argument', message);
    this.name = 'SymlinkLoopError';
  }
}

const PATH_FLAGS = () => C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC;
const IN_ROOT = () => C.RESOLVE_IN_ROOT | C.RESOLVE_NO_MAGICLINKS;

function kindOf(mode: number): EntryKind {
  const t = mode & C.S_IFMT;
  if (t === C.S_IFDIR) return 'dir';
  if (t === C.S_IFREG) return 'file';
  return 'other';
}

function display(path: string): string {
  return JSON.stringify(path);
}

/** An O_PATH descriptor of the root directory itself (which may be a symlink on the host: the caller's choice). */
function openRoot(root: string): number {
  try {
    return openSync(root, C.O_PATH | C.O_DIRECTORY);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') throw new NotFoundError(`root filesystem ${root} is not a directory`, { cause: e });
    throw new CairnError('internal', `cannot open the root filesystem ${root}: ${(e as Error).message}`, { cause: e });
  }
}

/** Run `fn`; a system error it throws (EACCES, EIO, ...) becomes a one-line CairnError about `path`. */
function systemErrors<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CairnError) throw e;
    throw new CairnError('internal', `cannot resolve ${display(path)} in the root filesystem: ${(e as Error).message}`, { cause: e });
  }
}

/** The directory at symlink-free `components` below the root, or undefined when it is gone or not a directory. */
function openDirIn(rootFd: number, components: readonly string[]): number | undefined {
  if (components.length === 0) return openat2(rootFd, '.', PATH_FLAGS(), 0, IN_ROOT());
  try {
    return openat2(rootFd, components.join('/'), PATH_FLAGS(), 0, IN_ROOT());
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

function withFd<T>(fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

interface Walk {
  /** Symlink-free components below the root. */
  components: string[];
  /** Index in `components` of the first one that does not exist; undefined when all exist. */
  missingFrom: number | undefined;
  kind: EntryKind | undefined;
}

function walk(rootFd: number, path: string): Walk {
  if (path.includes('\0')) throw new InvalidArgumentError(`path ${display(path)} holds a NUL byte`);
  const components: string[] = [];
  let missingFrom: number | undefined;
  let kind: EntryKind | undefined = 'dir';
  const pending = path.split('/');
  let hops = 0;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      components.pop();
      if (missingFrom !== undefined && components.length <= missingFrom) missingFrom = undefined;
      kind = missingFrom === undefined ? 'dir' : undefined;
      continue;
    }
    if (missingFrom !== undefined) {
      components.push(c);
      continue;
    }
    if (kind !== 'dir') {
      throw new PreconditionError(`cannot resolve ${display(path)} in the root filesystem: /${components.join('/')} is not a directory`);
    }
    const dirFd = openDirIn(rootFd, components);
    if (dirFd === undefined) {
      // Changed under us (a directory we just saw is gone): resolve the rest lexically.
      missingFrom = components.length;
      components.push(c);
      kind = undefined;
      continue;
    }
    const next = withFd(dirFd, (fd): { kind: EntryKind | undefined; link?: string } => {
      let st;
      try {
        st = fstatat(fd, c, C.AT_SYMLINK_NOFOLLOW);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') return { kind: undefined };
        throw e;
      }
      if ((st.mode & C.S_IFMT) === C.S_IFLNK) return { kind: 'other', link: readlinkat(fd, c) };
      return { kind: kindOf(st.mode) };
    });
    if (next.link !== undefined) {
      if (++hops > MAX_SYMLINK_HOPS) {
        throw new SymlinkLoopError(`cannot resolve ${display(path)} in the root filesystem: too many levels of symbolic links (more than ${MAX_SYMLINK_HOPS})`);
      }
      if (next.link.startsWith('/')) components.length = 0;
      pending.unshift(...next.link.split('/'));
      kind = 'dir';
      continue;
    }
    components.push(c);
    kind = next.kind;
    if (kind === undefined) missingFrom = components.length - 1;
  }
  return { components, missingFrom, kind: missingFrom === undefined ? kind : undefined };
}

/**
 * Resolve `path` (as the container would: relative paths are taken from its root) inside
 * `root`. Nothing on disk is changed. PreconditionError when a component other than the last
 * is not a directory; {@link SymlinkLoopError} for a loop.
 */
export function resolveInRoot(root: string, path: string): RootPath {
  const rootFd = openRoot(root);
  try {
    const w = systemErrors(path, () => walk(rootFd, path));
    return result(root, w.components, w.kind);
  } finally {
    closeSync(rootFd);
  }
}

function result(root: string, components: readonly string[], kind: EntryKind | undefined): RootPath {
  const path = `/${components.join('/')}`;
  return { path, hostPath: resolveHost(root, ...components), kind };
}

/** A working directory that is not one, in Docker's words (Docker finds it when it creates the container). */
export class WorkingDirError extends PreconditionError {
  constructor(path: string) {
    super(`Cannot mkdir: ${path} is not a directory`);
    this.name = 'WorkingDirError';
  }
}

/**
 * Make sure a mount target (or a working directory) exists inside `root` as `want`: missing
 * directories are made (0755, owned by the caller) below the resolved path, a missing file is
 * created empty (0644). An existing entry of the wrong kind is a one-line PreconditionError
 * (a working directory that is a file, a file bind-mounted over a directory). Returns the
 * resolved path, which holds no symlink.
 */
export function ensureInRoot(root: string, path: string, want: 'dir' | 'file', what = 'path'): RootPath {
  const rootFd = openRoot(root);
  try {
    const w = systemErrors(path, () => walk(rootFd, path));
    const shown = `/${w.components.join('/')}`;
    if (w.missingFrom === undefined) {
      if (w.kind !== want) {
        // Docker's words for a working directory that is not one (container.SetupWorkingDirectory)
        if (what === 'working directory' && want === 'dir') throw new WorkingDirError(path);
        const is = w.kind === 'dir' ? 'a directory' : w.kind === 'file' ? 'a file' : 'not a regular file or directory';
        throw new PreconditionError(`${what} ${display(path)} (${shown} in the root filesystem) is ${is}, not ${want === 'dir' ? 'a directory' : 'a file'}`);
      }
      return result(root, w.components, w.kind);
    }
    if (want === 'file' && w.components.length === 0) throw new PreconditionError(`${what} ${display(path)} is the root directory, not a file`);
    for (let i = w.missingFrom; i < w.components.length; i++) {
      const parent = systemErrors(path, () => openDirIn(rootFd, w.components.slice(0, i)));
      if (parent === undefined) throw new PreconditionError(`cannot create ${what} ${display(path)}: /${w.components.slice(0, i).join('/')} is not a directory`);
      const name = w.components[i]!;
      const last = i === w.components.length - 1;
      withFd(parent, (fd) => {
        try {
          if (last && want === 'file') {
            // O_EXCL|O_NOFOLLOW: never through a symlink that appeared meanwhile, never an existing file.
            closeSync(openat2(fd, name, C.O_CREAT | C.O_EXCL | C.O_WRONLY | C.O_NOFOLLOW | C.O_CLOEXEC, 0o644, C.RESOLVE_BENEATH | C.RESOLVE_NO_SYMLINKS));
          } else {
            mkdirat(fd, name, 0o755);
          }
        } catch (e) {
          const code = errnoCode(e);
          if (code === 'EEXIST') {
            // A dangling symlink (or something made meanwhile) is in the way: refuse rather than follow it.
            throw new PreconditionError(`cannot create ${what} ${display(path)}: /${w.components.slice(0, i + 1).join('/')} appeared while it was being made, or is a dangling symbolic link`, { cause: e });
          }
          throw new CairnError('internal', `cannot create ${what} ${display(path)} in the root filesystem: ${(e as Error).message}`, { cause: e });
        }
      });
    }
    return result(root, w.components, want);
  } finally {
    closeSync(rootFd);
  }
}

/**
 * Open a file inside `root` for reading, resolved by the kernel with RESOLVE_IN_ROOT (no
 * symlink or `..` leads out), non-blocking (a FIFO planted there cannot hang the caller).
 * Returns undefined when it does not exist.
 */
export function openInRoot(root: string, path: string): number | undefined {
  const rootFd = openRoot(root);
  try {
    return openat2(rootFd, path.replace(/^\/+/, '') || '.', C.O_RDONLY | C.O_CLOEXEC | C.O_NOCTTY | C.O_NONBLOCK, 0, IN_ROOT());
  } catch (e) {
    // A directory on the way that is a file (ENOTDIR) means there is no such file either.
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
    if (errnoCode(e) === 'ELOOP') throw new SymlinkLoopError(`cannot open ${display(path)} in the root filesystem: too many levels of symbolic links`);
    throw new CairnError('internal', `cannot open ${display(path)} in the root filesystem: ${(e as Error).message}`, { cause: e });
  } finally {
    closeSync(rootFd);
  }
}

/** The limit {@link readFileInRoot} reads by default: /etc/passwd and /etc/group are small. */
const DEFAULT_READ_LIMIT = 16 * 1024 * 1024;

/**
 * Read a regular file inside `root` as text (see {@link openInRoot}); undefined when it does
 * not exist. A directory, a device or a FIFO there is a PreconditionError, not a hang.
 */
export function readFileInRoot(root: string, path: string, limit = DEFAULT_READ_LIMIT): string | undefined {
  const fd = openInRoot(root, path);
  if (fd === undefined) return undefined;
  return withFd(fd, (f) => {
    const st = fstatSync(f);
    if (!st.isFile()) throw new PreconditionError(`${display(path)} in the root filesystem is not a regular file`);
    if (st.size > limit) throw new PreconditionError(`${display(path)} in the root filesystem is larger than ${limit} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(f, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  });
}
