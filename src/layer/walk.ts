/**
 * Reading a directory tree for the layer differ, one directory fd at a time.
 *
 * This module owns the file-system side of a diff: listing a directory (names as raw
 * bytes, sorted by byte value), stat without following symlinks, extended attributes of
 * an entry itself, symlink targets as bytes, and streaming a regular file's bytes with a
 * check that its size did not change. Everything is relative to an open directory fd
 * (O_DIRECTORY|O_NOFOLLOW), so paths stay short however deep the tree is and a symlink
 * swapped in for a directory is refused instead of followed. Path-only calls (readdir,
 * l*xattr) go through `/proc/self/fd/<dirfd>/<name>`, whose last component is never
 * followed.
 */
import { closeSync, read as readCb, readSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';

import { PreconditionError } from '../errors.js';
import {
  constants,
  errnoCode,
  fgetxattr,
  flistxattr,
  fstatat,
  lgetxattr,
  llistxattr,
  openat,
  readlinkatBuffer,
  type NativeStat,
} from '../native/index.js';

const read = promisify(readCb);

/** Bytes read from a file per chunk (and the most the differ holds per file). */
export const READ_CHUNK = 1 << 20;

/** The kinds of directory entries a layer can hold (sockets are not among them). */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** The entry kind of a stat's mode. */
export function kindOf(mode: number): EntryKind {
  const t = mode & constants.S_IFMT;
  if (t === constants.S_IFREG) return 'file';
  if (t === constants.S_IFDIR) return 'dir';
  if (t === constants.S_IFLNK) return 'symlink';
  if (t === constants.S_IFCHR) return 'char';
  if (t === constants.S_IFBLK) return 'block';
  if (t === constants.S_IFIFO) return 'fifo';
  return 'socket';
}

/** `/proc/self/fd/<dirfd>/<name>`: a path for calls that exist only path-based. */
export function procPath(dirfd: number, name: Buffer): Buffer {
  return name.length === 0
    ? Buffer.from(`/proc/self/fd/${dirfd}`)
    : Buffer.concat([Buffer.from(`/proc/self/fd/${dirfd}/`), name]);
}

/**
 * Open directory `name` under `dirfd` for walking; it is never a symlink followed unless
 * `follow` (for the root of a walk, given by the caller).
 */
export function openDir(dirfd: number, name: string | Buffer, follow = false): number {
  return openat(dirfd, name, constants.O_RDONLY | constants.O_DIRECTORY | (follow ? 0 : constants.O_NOFOLLOW));
}

/** Close a directory fd opened by {@link openDir}. */
export function closeFd(fd: number): void {
  closeSync(fd);
}

/** Archive path `dir/name` ('' + name = name), as raw bytes. */
export function joinRel(dir: Buffer, name: Buffer): Buffer {
  return dir.length === 0 ? name : Buffer.concat([dir, SLASH, name]);
}

const SLASH = Buffer.from('/');

/** Compare byte strings (names, paths) by unsigned byte value. */
export function compareBytes(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

/** The names in directory `dirfd` (no `.`/`..`), sorted by byte value. */
export async function listDir(dirfd: number): Promise<Buffer[]> {
  const names = await readdir(procPath(dirfd, Buffer.alloc(0)), { encoding: 'buffer' });
  return names.sort(compareBytes);
}

/** lstat of `name` in `dirfd`. */
export function statAt(dirfd: number, name: Buffer): NativeStat {
  return fstatat(dirfd, name, constants.AT_SYMLINK_NOFOLLOW);
}

/** The entry's own extended attributes (a symlink is not followed), names sorted, filtered by `keep`. */
export function readXattrs(dirfd: number, name: Buffer, keep: (name: string) => boolean = () => true): Map<string, Buffer> {
  const path = procPath(dirfd, name);
  const out = new Map<string, Buffer>();
  for (const key of llistxattr(path).sort()) {
    if (!keep(key)) continue;
    const v = lgetxattr(path, key);
    // Removed between list and get: the attribute is simply no longer there.
    if (v !== null) out.set(key, v);
  }
  return out;
}

/** The extended attributes of an open fd's own inode (the walk's root directory), names sorted, filtered by `keep`. */
export function readXattrsFd(fd: number, keep: (name: string) => boolean = () => true): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const key of flistxattr(fd).sort()) {
    if (!keep(key)) continue;
    const v = fgetxattr(fd, key);
    // Removed between list and get: the attribute is simply no longer there.
    if (v !== null) out.set(key, v);
  }
  return out;
}

/**
 * Open the directory holding `rel` (a relative path of raw bytes, components separated
 * by '/') under `rootFd`, component by component without following symlinks. Returns
 * the parent's fd (the caller closes it) and the last component, or null when some
 * component is missing or is not a directory.
 */
export function openParent(rootFd: number, rel: Buffer): { fd: number; name: Buffer } | null {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= rel.length; i++) {
    if (i === rel.length || rel[i] === 0x2f) {
      if (i > start) parts.push(rel.subarray(start, i));
      start = i + 1;
    }
  }
  const name = parts.pop();
  if (name === undefined) return null;
  let fd = openDir(rootFd, '.');
  try {
    for (const p of parts) {
      let next: number;
      try {
        next = openDir(fd, p);
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
        throw e;
      }
      closeSync(fd);
      fd = next;
    }
    const found = { fd, name };
    fd = -1;
    return found;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** A symlink's target, as raw bytes. */
export function readLink(dirfd: number, name: Buffer): Buffer {
  return readlinkatBuffer(dirfd, name);
}

/** Open regular file `name` in `dirfd` for reading (not through a symlink). */
export function openFile(dirfd: number, name: Buffer): number {
  return openat(dirfd, name, constants.O_RDONLY | constants.O_NOFOLLOW);
}

/**
 * Stream exactly `size` bytes of regular file `name` in `dirfd`, in fresh chunks of at
 * most {@link READ_CHUNK} bytes. The file is opened on the first read (so a generator that
 * is never iterated holds no fd) and closed when iteration ends in any way. A file that
 * was replaced (another inode than `ino`), shrank or grew since it was stat'ed is a
 * PreconditionError: a layer must not record a size its body contradicts.
 */
export async function* fileChunks(
  dirfd: number,
  name: Buffer,
  ino: bigint,
  size: number,
  what: string,
): AsyncGenerator<Buffer, void, undefined> {
  const fd = openFile(dirfd, name);
  try {
    if (fstatat(fd, '', constants.AT_EMPTY_PATH).ino !== ino) {
      throw new PreconditionError(`${what} was replaced while the layer was being written`);
    }
    let pos = 0;
    while (pos < size) {
      const n = Math.min(READ_CHUNK, size - pos);
      const buf = Buffer.allocUnsafe(n);
      const { bytesRead } = await read(fd, buf, 0, n, pos);
      if (bytesRead === 0) throw new PreconditionError(`${what} shrank from ${size} to ${pos} bytes while being read`);
      pos += bytesRead;
      yield bytesRead === n ? buf : buf.subarray(0, bytesRead);
    }
    const probe = Buffer.alloc(1);
    const { bytesRead } = await read(fd, probe, 0, 1, pos);
    if (bytesRead !== 0) throw new PreconditionError(`${what} grew beyond ${size} bytes while being read`);
  } finally {
    closeSync(fd);
  }
}

/** Files up to this size are read whole and synchronously by {@link smallFile} (one system call instead of a thread-pool round trip). */
export const SMALL_FILE = 64 * 1024;

/**
 * The whole content of regular file `name` in `dirfd` (at most {@link SMALL_FILE} bytes),
 * read synchronously, with the same checks as {@link fileChunks}.
 */
export function smallFile(dirfd: number, name: Buffer, ino: bigint, size: number, what: string): Buffer {
  const fd = openFile(dirfd, name);
  try {
    if (fstatat(fd, '', constants.AT_EMPTY_PATH).ino !== ino) {
      throw new PreconditionError(`${what} was replaced while the layer was being written`);
    }
    // One byte more than expected, so growth shows in the same read.
    const buf = Buffer.allocUnsafe(size + 1);
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, pos, buf.length - pos, pos);
      if (n === 0) break;
      pos += n;
      if (pos > size) throw new PreconditionError(`${what} grew beyond ${size} bytes while being read`);
    }
    if (pos < size) throw new PreconditionError(`${what} shrank from ${size} to ${pos} bytes while being read`);
    return buf.subarray(0, size);
  } finally {
    closeSync(fd);
  }
}

/** Whether regular files `nameA` in `dirA` and `nameB` in `dirB` hold the same first `size` bytes and no more. */
export async function sameContent(dirA: number, nameA: Buffer, dirB: number, nameB: Buffer, size: number): Promise<boolean> {
  const fdA = openFile(dirA, nameA);
  let fdB = -1;
  try {
    fdB = openFile(dirB, nameB);
    const a = Buffer.allocUnsafe(Math.min(READ_CHUNK, size + 1));
    const b = Buffer.allocUnsafe(a.length);
    let pos = 0;
    for (;;) {
      // Read one byte past `size` so a file that grew since it was stat'ed is noticed.
      const n = Math.min(a.length, size + 1 - pos);
      if (n <= 0) return true;
      const [ra, rb] = await Promise.all([read(fdA, a, 0, n, pos), read(fdB, b, 0, n, pos)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!a.subarray(0, ra.bytesRead).equals(b.subarray(0, rb.bytesRead))) return false;
      pos += ra.bytesRead;
    }
  } finally {
    closeSync(fdA);
    if (fdB >= 0) closeSync(fdB);
  }
}
