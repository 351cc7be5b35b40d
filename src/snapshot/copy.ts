/**
 * Faithful directory tree copy for the native driver: every entry keeps its type, mode
 * (setuid/setgid/sticky included), owner, extended attributes and nanosecond timestamps;
 * hard links stay hard links; device nodes, FIFOs and sockets are recreated. File data is
 * copied with FICLONE (a reflink, sharing blocks) where the file system supports it, else
 * copied byte for byte by the kernel.
 *
 * Options serve copies that are not a driver's snapshot copy: a container's overlay upper
 * directory copied into a new layer ({@link CopyOptions}: which xattrs to keep, sockets
 * skipped, the root's own metadata left alone).
 *
 * Also `diskUsage`: the allocated size, inode count and content bytes of a tree, hard links counted once.
 */
import * as fsp from 'node:fs/promises';
import { closeSync, constants as fsc, openSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { constants, fchmodat, fchownat, fstatat, lgetxattr, llistxattr, lsetxattr, mknodat, treeUsageAt, utimensatNs, type NativeStat } from '../native/index.js';
import type { Usage } from './types.js';

/** Entries of one directory copied at once (file data goes through libuv's thread pool). */
const BATCH = 16;

export interface CopyOptions {
  /** Which extended attributes to copy, by name (default: all). */
  xattrs?: (name: string) => boolean;
  /** Leave sockets out (a layer cannot hold them); default false: recreated. */
  skipSockets?: boolean;
  /**
   * What of `src`'s own metadata goes onto `dst`: 'all' (default: owner, mode, xattrs,
   * times) or 'xattrs' (only its extended attributes that `xattrs` keeps).
   */
  root?: 'all' | 'xattrs';
}

/** What one copy carries through the tree. */
interface Ctx {
  links: Map<string, Promise<Buffer>>;
  keep: (name: string) => boolean;
  skipSockets: boolean;
}

/** Copy the contents of directory `src` into existing directory `dst` (and `src`'s own metadata onto `dst`). */
export async function copyTree(src: string, dst: string, opts: CopyOptions = {}): Promise<void> {
  const ctx: Ctx = { links: new Map(), keep: opts.xattrs ?? (() => true), skipSockets: opts.skipSockets === true };
  const s = Buffer.from(src);
  const d = Buffer.from(dst);
  const st = lstat(s);
  await copyDirContents(s, d, ctx);
  if ((opts.root ?? 'all') === 'all') applyMetadata(s, d, st, ctx.keep);
  else copyXattrs(s, d, ctx.keep);
}

const SLASH = Buffer.from('/');

/** Paths are Buffers throughout: layer file names need not be valid UTF-8. */
function child(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, SLASH, name]);
}

async function copyDirContents(src: Buffer, dst: Buffer, ctx: Ctx): Promise<void> {
  const names = await fsp.readdir(src, { encoding: 'buffer' });
  for (let i = 0; i < names.length; i += BATCH) {
    await Promise.all(names.slice(i, i + BATCH).map((name) => copyEntry(child(src, name), child(dst, name), ctx)));
  }
}

async function copyEntry(s: Buffer, d: Buffer, ctx: Ctx): Promise<void> {
  const st = lstat(s);
  const type = st.mode & constants.S_IFMT;
  if (type === constants.S_IFDIR) {
    await fsp.mkdir(d, { mode: 0o700 });
    await copyDirContents(s, d, ctx);
    applyMetadata(s, d, st, ctx.keep);
    return;
  }
  if (type === constants.S_IFSOCK && ctx.skipSockets) return;
  const links = ctx.links;
  let done: ((p: Buffer) => void) | undefined;
  let failed: ((e: unknown) => void) | undefined;
  if (st.nlink > 1) {
    // The first name of a hard-linked inode is copied; the others link to it once it is done.
    const id = `${st.dev}:${st.ino}`;
    const first = links.get(id);
    if (first !== undefined) {
      await fsp.link(await first, d);
      return;
    }
    const p = new Promise<Buffer>((res, rej) => {
      done = res;
      failed = rej;
    });
    // A failed first copy fails the whole tree copy; the linkers just stop waiting.
    p.catch(() => undefined);
    links.set(id, p);
  }
  try {
    if (type === constants.S_IFREG) {
      await fsp.copyFile(s, d, fsc.COPYFILE_FICLONE | fsc.COPYFILE_EXCL);
    } else if (type === constants.S_IFLNK) {
      await fsp.symlink(await fsp.readlink(s, { encoding: 'buffer' }), d);
    } else {
      // Character and block devices, FIFOs and sockets.
      mknodat(constants.AT_FDCWD, d, type | 0o600, st.rdevMajor, st.rdevMinor);
    }
    applyMetadata(s, d, st, ctx.keep);
    done?.(d);
  } catch (e) {
    failed?.(e);
    throw e;
  }
}

function lstat(path: Buffer): NativeStat {
  return fstatat(constants.AT_FDCWD, path, constants.AT_SYMLINK_NOFOLLOW);
}

/** Owner, then mode (chown clears setuid/setgid), then xattrs (security.capability too), then times. */
function applyMetadata(src: Buffer, dst: Buffer, st: NativeStat, keep: (name: string) => boolean): void {
  const nofollow = constants.AT_SYMLINK_NOFOLLOW;
  const isLink = (st.mode & constants.S_IFMT) === constants.S_IFLNK;
  fchownat(constants.AT_FDCWD, dst, st.uid, st.gid, nofollow);
  // A symlink has no mode of its own on Linux.
  if (!isLink) fchmodat(constants.AT_FDCWD, dst, st.mode & 0o7777, 0);
  copyXattrs(src, dst, keep);
  utimensatNs(constants.AT_FDCWD, dst, st.atimeNs, st.mtimeNs, nofollow);
}

function copyXattrs(src: Buffer, dst: Buffer, keep: (name: string) => boolean): void {
  for (const name of llistxattr(src)) {
    if (!keep(name)) continue;
    const value = lgetxattr(src, name);
    if (value !== null) lsetxattr(dst, name, value, 0);
  }
}

/**
 * Allocated bytes (st_blocks * 512), distinct inodes and apparent bytes of what is not a
 * directory (Usage.content) under `root`, `root` included: one native walk on a worker thread, fd-relative, so a tree deeper than PATH_MAX is measured too.
 */
export async function diskUsage(root: string): Promise<Usage> {
  const fd = openSync(dirname(root), fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    return await treeUsageAt(fd, basename(root));
  } finally {
    closeSync(fd);
  }
}
