/**
 * Native system calls Node's fs lacks, from cairn's one native addon
 * (native/src/*.c, built by node-gyp into build/Release/cairn_native.node).
 *
 * This module owns loading that addon and its typed surface: directory-fd-relative
 * calls (openat2 with RESOLVE_IN_ROOT, mknodat, renameat2, utimensat with
 * nanoseconds, ...), extended attributes that never follow symlinks, mount/umount2,
 * overlay mounts through the new mount API ("lowerdir+"), flock and syncfs, and
 * whole-entry calls for the layer applier (create a file, directory, symlink or device
 * node with its owner, mode, xattrs and times in one crossing), and SOCK_SEQPACKET unix
 * sockets (conmon's attach socket), which Node's net cannot open.
 *
 * Every call is synchronous. A failed system call throws a {@link NativeError}
 * shaped like Node's fs errors (`code` such as 'ENOENT', negative `errno`,
 * `syscall`, `path`, `dest`), so callers switch on `e.code` exactly as they do
 * for `fs` errors and convert to a CairnError where the failure reaches the user.
 * Bad argument types throw a TypeError with code ERR_INVALID_ARG_TYPE / _VALUE.
 *
 * The addon is loaded lazily on first use: importing this module never fails,
 * and a missing build surfaces as an UnsupportedError from the first call.
 * File descriptors it opens always carry O_CLOEXEC; close them with fs.closeSync.
 */
import { closeSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { release as osRelease } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { InvalidArgumentError, UnsupportedError } from '../errors.js';

/** A path argument: a UTF-8 string, or raw bytes for names that are not valid UTF-8. */
export type PathArg = string | Uint8Array;

/** The error a failed system call throws (a real `Error`, like Node's fs errors). */
export interface NativeError extends Error {
  /** Symbolic errno name: 'ENOENT', 'ELOOP', 'EXDEV', 'EEXIST', 'ENOTSUP' (EOPNOTSUPP), ... */
  code: string;
  /** Negative errno, as Node reports it (-2 for ENOENT). */
  errno: number;
  /** The system call that failed: 'openat2', 'lsetxattr', 'fsconfig', ... */
  syscall: string;
  path?: string;
  dest?: string;
}

/** Result of {@link fstatat}. Times are split into seconds and nanoseconds, and also given as bigint ns. */
export interface NativeStat {
  dev: bigint;
  ino: bigint;
  /** File type and permission bits (S_IFMT | 0o7777). */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  /** Device number of a character or block device (0 otherwise). */
  rdevMajor: number;
  rdevMinor: number;
  size: number;
  blocks: number;
  atimeSec: number;
  atimeNsec: number;
  mtimeSec: number;
  mtimeNsec: number;
  ctimeSec: number;
  ctimeNsec: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** Options of {@link overlayMount}. */
export interface OverlayMountOptions {
  /** Lower layers, topmost first: directory paths, or open directory fds (not O_PATH; Linux 6.13+). */
  lowerdirs: ReadonlyArray<string | number>;
  /** Writable upper layer (path or directory fd); omit for a read-only overlay. */
  upperdir?: string | number;
  /** Overlay's work directory, on the same file system as upperdir; required with upperdir. */
  workdir?: string | number;
  /** Mount point. */
  target: string;
  /** Mount read-only (MOUNT_ATTR_RDONLY / MS_RDONLY). */
  readonly?: boolean;
  /** Further overlay options: "key=value" or "key" ("userxattr", "redirect_dir=on", "index=off", ...). */
  options?: readonly string[];
  /**
   * 'lowerdir+' uses fsopen/fsconfig("lowerdir+") per layer (Linux 6.8+; up to 500 layers);
   * 'legacy' uses mount(2) with one option string (capped at a page: about 125 store paths);
   * 'auto' (default) uses 'lowerdir+' where the kernel supports it.
   */
  method?: 'auto' | 'lowerdir+' | 'legacy';
}

/** How {@link overlayMount} mounted. */
export interface OverlayMountResult {
  method: 'lowerdir+' | 'legacy';
}

/** Names of the constants the addon exports (their values are the platform's). */
export const CONSTANT_NAMES = [
  'O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_CREAT', 'O_EXCL', 'O_TRUNC', 'O_APPEND', 'O_NONBLOCK',
  'O_DIRECTORY', 'O_NOFOLLOW', 'O_CLOEXEC', 'O_PATH', 'O_TMPFILE', 'O_NOCTTY',
  'AT_FDCWD', 'AT_SYMLINK_NOFOLLOW', 'AT_SYMLINK_FOLLOW', 'AT_REMOVEDIR', 'AT_EMPTY_PATH', 'AT_NO_AUTOMOUNT',
  'RESOLVE_NO_XDEV', 'RESOLVE_NO_MAGICLINKS', 'RESOLVE_NO_SYMLINKS', 'RESOLVE_BENEATH', 'RESOLVE_IN_ROOT',
  'RESOLVE_CACHED',
  'RENAME_NOREPLACE', 'RENAME_EXCHANGE', 'RENAME_WHITEOUT',
  'S_IFMT', 'S_IFREG', 'S_IFDIR', 'S_IFLNK', 'S_IFCHR', 'S_IFBLK', 'S_IFIFO', 'S_IFSOCK',
  'S_ISUID', 'S_ISGID', 'S_ISVTX',
  'MS_RDONLY', 'MS_NOSUID', 'MS_NODEV', 'MS_NOEXEC', 'MS_SYNCHRONOUS', 'MS_REMOUNT', 'MS_DIRSYNC',
  'MS_NOSYMFOLLOW', 'MS_NOATIME', 'MS_NODIRATIME', 'MS_BIND', 'MS_MOVE', 'MS_REC', 'MS_SILENT',
  'MS_UNBINDABLE', 'MS_PRIVATE', 'MS_SLAVE', 'MS_SHARED', 'MS_RELATIME', 'MS_STRICTATIME', 'MS_LAZYTIME',
  'MNT_FORCE', 'MNT_DETACH', 'MNT_EXPIRE', 'UMOUNT_NOFOLLOW',
  'XATTR_CREATE', 'XATTR_REPLACE',
  'LOCK_SH', 'LOCK_EX', 'LOCK_NB', 'LOCK_UN',
  'UTIME_NOW', 'UTIME_OMIT',
  'SHUT_RD', 'SHUT_WR', 'SHUT_RDWR',
] as const;

export type ConstantName = (typeof CONSTANT_NAMES)[number];
export type NativeConstants = { readonly [K in ConstantName]: number };

/** What the C addon exports (see native/README.md). */
interface Binding {
  openat2(dirfd: number, path: PathArg, flags: number, mode: number, resolve: number): number;
  openat(dirfd: number, path: PathArg, flags: number, mode: number): number;
  mkdirat(dirfd: number, path: PathArg, mode: number): void;
  mknodat(dirfd: number, path: PathArg, mode: number, major: number, minor: number): void;
  symlinkat(target: PathArg, dirfd: number, path: PathArg): void;
  linkat(olddirfd: number, oldpath: PathArg, newdirfd: number, newpath: PathArg, flags: number): void;
  unlinkat(dirfd: number, path: PathArg, flags: number): void;
  renameat2(olddirfd: number, oldpath: PathArg, newdirfd: number, newpath: PathArg, flags: number): void;
  fchownat(dirfd: number, path: PathArg, uid: number, gid: number, flags: number): void;
  fchmodat(dirfd: number, path: PathArg, mode: number, flags: number): void;
  utimensat(
    dirfd: number,
    path: PathArg | null,
    atimeSec: number | bigint,
    atimeNsec: number,
    mtimeSec: number | bigint,
    mtimeNsec: number,
    flags: number,
  ): void;
  fstatat(dirfd: number, path: PathArg, flags: number): Omit<NativeStat, 'atimeNs' | 'mtimeNs' | 'ctimeNs'>;
  readlinkat(dirfd: number, path: PathArg): Buffer;
  flock(fd: number, operation: number): void;
  syncfs(fd: number): void;
  lsetxattr(path: PathArg, name: string, value: Uint8Array, flags: number): void;
  lgetxattr(path: PathArg, name: string): Buffer | null;
  llistxattr(path: PathArg): string[];
  lremovexattr(path: PathArg, name: string): void;
  fsetxattr(fd: number, name: string, value: Uint8Array, flags: number): void;
  fgetxattr(fd: number, name: string): Buffer | null;
  flistxattr(fd: number): string[];
  fremovexattr(fd: number, name: string): void;
  mount(source: PathArg | null, target: PathArg, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: PathArg, flags: number): void;
  overlayMount(
    lowerdirs: ReadonlyArray<string | number>,
    upperdir: string | number | null,
    workdir: string | number | null,
    target: string,
    readonly: boolean,
    options: readonly string[],
  ): void;
  overlaySupportsLowerdirPlus(): boolean;
  removeTreeAt(dirfd: number, name: PathArg): Promise<boolean>;
  treeUsageAt(dirfd: number, name: PathArg): Promise<{ size: number; inodes: number; content: number }>;
  applyFile(dirfd: number, name: PathArg, chunks: Uint8Array | readonly Uint8Array[] | null, meta: Float64Array, xattrs: EntryXattrs): boolean;
  fileMeta(fd: number, meta: Float64Array, xattrs: EntryXattrs): void;
  applyNode(dirfd: number, name: PathArg, kind: number, meta: Float64Array, xattrs: EntryXattrs, target?: PathArg): number;
  applyBatch(rootfd: number, resolve: number, count: number, ops: BatchOps, meta: Float64Array, results: Int32Array): Promise<number>;
  scanPlain(buf: Uint8Array, start: number, end: number, max: number, maxFile: number, info: Int32Array, meta: Float64Array, names: Uint8Array): number;
  applyPlain(rootfd: number, resolve: number, count: number, info: Int32Array, meta: Float64Array, names: Uint8Array, buf: Uint8Array, results: Int32Array): Promise<number>;
  hashNew(algorithm: string): NativeHasher;
  hashUpdate(hasher: NativeHasher, pieces: ReadonlyArray<HashPiece>): Promise<void>;
  hashDigest(hasher: NativeHasher): string;
  crc32Chunk(chunk: Uint8Array): Promise<number>;
  crc32Combine(crc1: number, crc2: number, len2: number): number;
  gunzipNew(): GunzipHandle;
  gunzipRun(handle: GunzipHandle, input: Uint8Array, output: Uint8Array): Promise<[number, number, GunzipPhase]>;
  deflatePiece(piece: Uint8Array, dictionary: Uint8Array | null, level: number, last: boolean, output: Uint8Array): Promise<number>;
  deflateBound(length: number): number;
  copyFileRange(srcFd: number, srcOffset: number, length: number, dstFd: number): Promise<void>;
  prefetchAt(dirfd: number, names: readonly PathArg[], lengths: Float64Array): Promise<void>;
  scanDir(dirfd: number): ScannedDir;
  copyPlainRun(srcDirfd: number, dstDirfd: number, prefix: Uint8Array, names: Uint8Array, info: Float64Array, idx: Int32Array, clamp: number, out: Uint8Array): Promise<Int32Array>;
  applyCopy(srcDirfd: number, srcName: PathArg, srcIno: bigint, size: number, dstDirfd: number, dstName: PathArg, meta: Float64Array, xattrs: EntryXattrs): Promise<number>;
  seqpacketConnect(path: PathArg, sendTimeoutMs: number): number;
  recvPacket(fd: number, buffer: Uint8Array): number;
  pollReadable(fd: number): Promise<void>;
  shutdown(fd: number, how: number): void;
  spawn(file: string, argv: readonly string[], stdio: readonly [number, number, number]): [number, number];
  reap(pid: number): number;
  isatty(fd: number): boolean;
  exitNow(code: number): never;
  readExternalLatin1(path: string): string;
  readExternalBytes(path: string): Buffer;
  constants: NativeConstants;
}

const ADDON_RELATIVE = join('build', 'Release', 'cairn_native.node');

let loaded: Binding | undefined;
let loadError: Error | undefined;

/** The package root: the nearest ancestor of this module holding binding.gyp (src/native or dist/src/native). */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

function binding(): Binding {
  if (loaded !== undefined) return loaded;
  if (loadError !== undefined) throw loadError;
  if (process.platform !== 'linux') {
    loadError = new UnsupportedError(`native operations need Linux (this is ${process.platform})`);
    throw loadError;
  }
  const root = packageRoot();
  const file = root === undefined ? undefined : join(root, ADDON_RELATIVE);
  if (file === undefined || !existsSync(file)) {
    loadError = new UnsupportedError(
      `native addon not built: ${file ?? ADDON_RELATIVE} is missing; run \`npm install\` (node-gyp builds it)`,
    );
    throw loadError;
  }
  try {
    loaded = createRequire(import.meta.url)(file) as Binding;
  } catch (e) {
    loadError = new UnsupportedError(`native addon ${file} failed to load: ${(e as Error).message}`, { cause: e });
    throw loadError;
  }
  return loaded;
}

/** Whether the native addon is built and loads (never throws). */
export function isNativeAvailable(): boolean {
  try {
    binding();
    return true;
  } catch (e) {
    // The reason is kept in loadError and rethrown by the first real call.
    if (e instanceof UnsupportedError) return false;
    throw e;
  }
}

/** The errno code of a native or fs error ('ENOENT', ...), or undefined for anything else. */
export function errnoCode(e: unknown): string | undefined {
  if (e instanceof Error && 'code' in e && typeof e.code === 'string' && 'syscall' in e) return e.code;
  return undefined;
}

/** The platform's flag values (O_PATH, AT_FDCWD, RESOLVE_IN_ROOT, MS_BIND, ...); read lazily from the addon. */
export const constants: NativeConstants = (() => {
  const obj = {};
  for (const name of CONSTANT_NAMES) {
    Object.defineProperty(obj, name, { enumerable: true, get: () => binding().constants[name] });
  }
  return Object.freeze(obj) as NativeConstants;
})();

// ---------------------------------------------------------------------------
// fd-relative calls

/**
 * openat2(2): open `path` relative to `dirfd` with `resolve` restrictions
 * (RESOLVE_IN_ROOT treats dirfd as the root for `..` and absolute symlinks;
 * RESOLVE_BENEATH refuses escapes with EXDEV; RESOLVE_NO_SYMLINKS /
 * RESOLVE_NO_MAGICLINKS refuse them with ELOOP). O_CLOEXEC is always added.
 * Throws ENOSYS on kernels before 5.6. Returns the new fd.
 */
export function openat2(dirfd: number, path: PathArg, flags: number, mode: number, resolve: number): number {
  return binding().openat2(dirfd, path, flags, mode, resolve);
}

/** openat(2): open `path` relative to `dirfd` (O_CLOEXEC always added). Returns the new fd. */
export function openat(dirfd: number, path: PathArg, flags: number, mode = 0): number {
  return binding().openat(dirfd, path, flags, mode);
}

/** mkdirat(2): create a directory (mode is subject to the umask). */
export function mkdirat(dirfd: number, path: PathArg, mode: number): void {
  binding().mkdirat(dirfd, path, mode);
}

/**
 * mknodat(2): create a device, FIFO or socket node. `mode` includes the type
 * (S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK). An overlay whiteout is S_IFCHR 0:0.
 */
export function mknodat(dirfd: number, path: PathArg, mode: number, major = 0, minor = 0): void {
  binding().mknodat(dirfd, path, mode, major, minor);
}

/** symlinkat(2): create symlink `path` (relative to dirfd) pointing at `target` (stored verbatim). */
export function symlinkat(target: PathArg, dirfd: number, path: PathArg): void {
  binding().symlinkat(target, dirfd, path);
}

/** linkat(2): hard link. Flags: AT_SYMLINK_FOLLOW, AT_EMPTY_PATH (link an fd's inode). */
export function linkat(olddirfd: number, oldpath: PathArg, newdirfd: number, newpath: PathArg, flags = 0): void {
  binding().linkat(olddirfd, oldpath, newdirfd, newpath, flags);
}

/** unlinkat(2): remove a name; with AT_REMOVEDIR an empty directory. */
export function unlinkat(dirfd: number, path: PathArg, flags = 0): void {
  binding().unlinkat(dirfd, path, flags);
}

/**
 * renameat2(2). Flags: RENAME_NOREPLACE (EEXIST if the destination exists),
 * RENAME_EXCHANGE (swap both names atomically), RENAME_WHITEOUT (leave an
 * overlay whiteout at the source).
 */
export function renameat2(
  olddirfd: number,
  oldpath: PathArg,
  newdirfd: number,
  newpath: PathArg,
  flags = 0,
): void {
  binding().renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

/** fchownat(2): -1 leaves an id unchanged. Flags: AT_SYMLINK_NOFOLLOW (the link itself), AT_EMPTY_PATH. */
export function fchownat(dirfd: number, path: PathArg, uid: number, gid: number, flags = 0): void {
  binding().fchownat(dirfd, path, uid, gid, flags);
}

/**
 * fchmodat(2)/fchmodat2(2). Flags: AT_EMPTY_PATH with path '' changes the fd's
 * own inode (works on O_PATH fds); AT_SYMLINK_NOFOLLOW on a symlink throws ENOTSUP
 * (Linux symlinks have no mode of their own).
 */
export function fchmodat(dirfd: number, path: PathArg, mode: number, flags = 0): void {
  binding().fchmodat(dirfd, path, mode, flags);
}

/**
 * utimensat(2) with nanosecond precision. Seconds may be a number or bigint;
 * nanoseconds are 0..999999999 or constants.UTIME_NOW / UTIME_OMIT. A null path
 * sets the times of `dirfd` itself. Flags: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.
 */
export function utimensat(
  dirfd: number,
  path: PathArg | null,
  atimeSec: number | bigint,
  atimeNsec: number,
  mtimeSec: number | bigint,
  mtimeNsec: number,
  flags = 0,
): void {
  binding().utimensat(dirfd, path, atimeSec, atimeNsec, mtimeSec, mtimeNsec, flags);
}

const NS_PER_SEC = 1_000_000_000n;

/** Split nanoseconds since the epoch into [seconds, nanoseconds 0..999999999] (floor, so negatives work). */
export function splitNs(ns: bigint): [bigint, number] {
  let sec = ns / NS_PER_SEC;
  let rem = ns % NS_PER_SEC;
  if (rem < 0n) {
    rem += NS_PER_SEC;
    sec -= 1n;
  }
  return [sec, Number(rem)];
}

/** utimensat with both times as bigint nanoseconds since the epoch. */
export function utimensatNs(dirfd: number, path: PathArg | null, atimeNs: bigint, mtimeNs: bigint, flags = 0): void {
  const [as, ans] = splitNs(atimeNs);
  const [ms, mns] = splitNs(mtimeNs);
  binding().utimensat(dirfd, path, as, ans, ms, mns, flags);
}

/** fstatat(2). Flags: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH (with path '' stats dirfd itself). */
export function fstatat(dirfd: number, path: PathArg, flags = 0): NativeStat {
  const s = binding().fstatat(dirfd, path, flags);
  const ns = (sec: number, nsec: number): bigint => BigInt(sec) * NS_PER_SEC + BigInt(nsec);
  return {
    ...s,
    atimeNs: ns(s.atimeSec, s.atimeNsec),
    mtimeNs: ns(s.mtimeSec, s.mtimeNsec),
    ctimeNs: ns(s.ctimeSec, s.ctimeNsec),
  };
}

/** readlinkat(2), decoded as UTF-8. Path '' reads an O_PATH fd's own link. */
export function readlinkat(dirfd: number, path: PathArg): string {
  return binding().readlinkat(dirfd, path).toString('utf8');
}

/** readlinkat(2), the raw target bytes. */
export function readlinkatBuffer(dirfd: number, path: PathArg): Buffer {
  return binding().readlinkat(dirfd, path);
}

/**
 * flock(2). Operation: LOCK_SH, LOCK_EX or LOCK_UN, optionally | LOCK_NB (then a held
 * lock throws EAGAIN). Without LOCK_NB this blocks the whole event loop until granted.
 */
export function flock(fd: number, operation: number): void {
  binding().flock(fd, operation);
}

/** syncfs(2): flush the file system holding `fd`. */
export function syncfs(fd: number): void {
  binding().syncfs(fd);
}

// ---------------------------------------------------------------------------
// extended attributes (never following symlinks)

/** lsetxattr(2): set `name` on `path` itself (a symlink is not followed). Flags: XATTR_CREATE, XATTR_REPLACE. */
export function lsetxattr(path: PathArg, name: string, value: Uint8Array, flags = 0): void {
  binding().lsetxattr(path, name, value, flags);
}

/** lgetxattr(2): the value's bytes, or null when `path` has no attribute `name`. */
export function lgetxattr(path: PathArg, name: string): Buffer | null {
  return binding().lgetxattr(path, name);
}

/** llistxattr(2): the attribute names of `path` itself (those the caller may see). */
export function llistxattr(path: PathArg): string[] {
  return binding().llistxattr(path);
}

/** lremovexattr(2): throws ENODATA when absent. */
export function lremovexattr(path: PathArg, name: string): void {
  binding().lremovexattr(path, name);
}

/** fsetxattr(2) on an fd; an O_PATH fd is handled through /proc/self/fd/N. */
export function fsetxattr(fd: number, name: string, value: Uint8Array, flags = 0): void {
  binding().fsetxattr(fd, name, value, flags);
}

/** fgetxattr(2) on an fd (O_PATH fds too): the value's bytes, or null when absent. */
export function fgetxattr(fd: number, name: string): Buffer | null {
  return binding().fgetxattr(fd, name);
}

/** flistxattr(2) on an fd (O_PATH fds too). */
export function flistxattr(fd: number): string[] {
  return binding().flistxattr(fd);
}

/** fremovexattr(2) on an fd (O_PATH fds too); throws ENODATA when absent. */
export function fremovexattr(fd: number, name: string): void {
  binding().fremovexattr(fd, name);
}

// ---------------------------------------------------------------------------
// whole entries (the layer applier's calls: one crossing per entry, see native/src/apply.c)

/**
 * An entry's metadata for {@link applyFile}, {@link fileMeta} and {@link applyNode}: a
 * Float64Array of {@link ENTRY_META_LENGTH} numbers — uid, gid, mode (0..0o7777),
 * atime seconds, atime nanoseconds, mtime seconds, mtime nanoseconds, device major,
 * device minor — reusable from one call to the next. Out-of-range values throw a TypeError.
 */
export const ENTRY_META_LENGTH = 9;

/** Extended attributes for the whole-entry calls: null, or [name, value, name, value, ...]. */
export type EntryXattrs = Array<string | Uint8Array> | null;

/** What {@link applyNode} creates. */
export const NODE_KIND = { dir: 0, symlink: 1, char: 2, block: 3, fifo: 4 } as const;
export type NodeKind = (typeof NODE_KIND)[keyof typeof NODE_KIND];

/**
 * Create regular file `name` in `dirfd` (O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW, 0600), write
 * `chunks` (one buffer or several, written in order), then fchown, fchmod, fsetxattr each
 * attribute, futimens and close — one call. Returns false, having done nothing, when
 * `name` exists. A failure closes the file and throws; a refused attribute throws with
 * syscall 'fsetxattr' and the attribute's name as `path`.
 */
export function applyFile(
  dirfd: number,
  name: PathArg,
  chunks: Uint8Array | readonly Uint8Array[] | null,
  meta: Float64Array,
  xattrs: EntryXattrs = null,
): boolean {
  return binding().applyFile(dirfd, name, chunks, meta, xattrs);
}

/** fchown, fchmod, fsetxattr each attribute and futimens on an open file (as {@link applyFile} does). */
export function fileMeta(fd: number, meta: Float64Array, xattrs: EntryXattrs = null): void {
  binding().fileMeta(fd, meta, xattrs);
}

/**
 * Create `name` in `dirfd` with its metadata, never following a symlink:
 * - NODE_KIND.dir: mkdirat(0700) — an existing directory is kept — then owner, mode and
 *   attributes (not times: entries created inside would change them again);
 * - NODE_KIND.symlink to `target`: symlinkat, owner, attributes, times;
 * - NODE_KIND.char / block / fifo: mknodat (meta's device number), owner, mode,
 *   attributes, times.
 * Returns 0 when created, 1 for an existing directory (metadata applied to it), -1 when
 * `name` exists (as something other than a directory for `dir`), having done nothing.
 * On a symlink, device or FIFO a `user.*` attribute the kernel refuses (EPERM) is skipped.
 */
export function applyNode(
  dirfd: number,
  name: PathArg,
  kind: NodeKind,
  meta: Float64Array,
  xattrs: EntryXattrs = null,
  target?: PathArg,
): number {
  return binding().applyNode(dirfd, name, kind, meta, xattrs, target);
}

/** {@link applyBatch}'s kind of a regular file (the others are {@link NODE_KIND}'s). */
export const BATCH_FILE = 5;

/**
 * Entries for {@link applyBatch}, {@link BATCH_OP_SLOTS} slots each: kind (a NODE_KIND or
 * BATCH_FILE), the parent directory's path below the root (bytes; empty for the root
 * itself), the name, the body's chunks (a file) or the target (a symlink) or null, xattrs.
 */
export type BatchOps = Array<number | PathArg | readonly Uint8Array[] | EntryXattrs>;
export const BATCH_OP_SLOTS = 5;

/**
 * Apply `count` entries in order on a thread of libuv's pool, as {@link applyFile} and
 * {@link applyNode} would, while the caller's thread goes on. Each parent is opened with
 * openat2(rootfd, parent, O_PATH|O_DIRECTORY, `resolve`). The work stops at the first
 * entry it cannot complete — its parent does not resolve, its name exists, a system call
 * fails — and resolves to the number of entries done (results[i]: 0 created, 1 an
 * existing directory kept); the caller applies the rest itself. `meta` holds
 * ENTRY_META_LENGTH numbers per entry. The Buffers, `meta` and `results` are pinned until
 * the promise settles; the caller must neither change them nor close rootfd before then.
 */
export function applyBatch(
  rootfd: number,
  resolve: number,
  count: number,
  ops: BatchOps,
  meta: Float64Array,
  results: Int32Array,
): Promise<number> {
  return binding().applyBatch(rootfd, resolve, count, ops, meta, results);
}

/**
 * {@link scanPlain}'s numbers per entry in `info`: kind (0 directory, 1 symlink, 5 regular
 * file), the cleaned key's offset and length in `names`, the offset of its last component
 * within the key (0 at the top), the symlink target's offset and length in `names`, the
 * entry's first byte in the buffer (its PAX header's when it has one), its body's first byte,
 * the body's size, the end of the entry (after its padding), the body's CRC-32 (zlib's; as an
 * int32), the number of components.
 */
export const PLAIN_INFO_SLOTS = 12;
export const PLAIN = {
  kind: 0,
  keyOff: 1,
  keyLen: 2,
  baseOff: 3,
  linkOff: 4,
  linkLen: 5,
  headerOff: 6,
  dataOff: 7,
  size: 8,
  end: 9,
  crc: 10,
  depth: 11,
} as const;

/**
 * Parse the plain tar entries lying wholly in `buf[start, end)` (native/src/scan.c: POSIX ustar
 * files of at most `maxFile` bytes, directories and symlinks, with at most a PAX header of
 * times, path and linkpath, names the path rules accept as they are; no whiteouts), up to
 * `max`, stopping at the first entry that is anything else (the tar reader then reads it).
 * Fills `info` ({@link PLAIN_INFO_SLOTS} per entry), `meta` (ENTRY_META_LENGTH per entry, as
 * applyFile's) and `names` (the cleaned keys and link targets). Returns the count.
 */
export function scanPlain(buf: Uint8Array, start: number, end: number, max: number, maxFile: number, info: Int32Array, meta: Float64Array, names: Uint8Array): number {
  return binding().scanPlain(buf, start, end, max, maxFile, info, meta, names);
}

/**
 * {@link applyBatch} for `count` entries {@link scanPlain} read into `info`, `meta` and
 * `names`, with their bodies in `buf`: the same calls, order, resolution and early stop.
 * `meta` is checked and copied at the call; `info`, `names`, `buf` and `results` are pinned
 * until the promise settles, and the caller must not change them.
 */
export function applyPlain(
  rootfd: number,
  resolve: number,
  count: number,
  info: Int32Array,
  meta: Float64Array,
  names: Uint8Array,
  buf: Uint8Array,
  results: Int32Array,
): Promise<number> {
  return binding().applyPlain(rootfd, resolve, count, info, meta, names, buf, results);
}

// ---------------------------------------------------------------------------
// mounts

/** mount(2). `source`, `fstype` and `data` may be null (bind mounts, propagation changes). */
export function mount(
  source: PathArg | null,
  target: PathArg,
  fstype: string | null,
  flags: number,
  data: string | null = null,
): void {
  binding().mount(source, target, fstype, flags, data);
}

/** umount2(2). Flags: MNT_DETACH (lazy), MNT_FORCE, MNT_EXPIRE, UMOUNT_NOFOLLOW. */
export function umount2(target: PathArg, flags = 0): void {
  binding().umount2(target, flags);
}

/** Whether the running kernel (or `release`, as uname gives it) is at least `major.minor`. */
export function kernelAtLeast(major: number, minor: number, release = osRelease()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (m === null) return false;
  const [have, haveMinor] = [Number(m[1]), Number(m[2])];
  return have > major || (have === major && haveMinor >= minor);
}

let lowerdirPlus: boolean | undefined;

/**
 * Open an overlay fs context and ask it whether it takes "lowerdir+" (cached by the addon):
 * fsopen("overlay") also loads the overlay module when it is not loaded yet.
 */
export function probeOverlayFs(): boolean {
  return binding().overlaySupportsLowerdirPlus();
}

/**
 * Whether this kernel's overlay takes layers one by one ("lowerdir+", Linux 6.8+). Linux 6.8
 * and later have it: said by the release alone; an older one is probed (a backport), once per
 * process (the probe's fs context costs ~1 ms of a start).
 */
export function overlaySupportsLowerdirPlus(): boolean {
  if (lowerdirPlus === undefined) {
    lowerdirPlus = kernelAtLeast(6, 8) ? true : probeOverlayFs();
  }
  return lowerdirPlus;
}

/** The classic mount(2) data string's limit: one page, NUL included. */
const LEGACY_DATA_MAX = 4095;

/** Escape a path for overlay's classic option string (',' separates options, ':' layers). */
function escapeLegacy(path: string): string {
  return path.replace(/[\\,:]/g, (c) => `\\${c}`);
}

/** The classic overlay option string for `opts` ("lowerdir=a:b,upperdir=...,workdir=...,opt"). */
export function overlayLegacyData(opts: OverlayMountOptions): string {
  const layer = (v: string | number, what: string): string => {
    if (typeof v !== 'string') {
      throw new InvalidArgumentError(`overlay ${what} given as an fd needs the lowerdir+ mount method`);
    }
    return escapeLegacy(v);
  };
  const parts = [`lowerdir=${opts.lowerdirs.map((d) => layer(d, 'lowerdir')).join(':')}`];
  if (opts.upperdir !== undefined) parts.push(`upperdir=${layer(opts.upperdir, 'upperdir')}`);
  if (opts.workdir !== undefined) parts.push(`workdir=${layer(opts.workdir, 'workdir')}`);
  parts.push(...(opts.options ?? []));
  return parts.join(',');
}

/**
 * Mount an overlay file system at `opts.target`. With upperdir (and workdir) it is
 * writable; with lower layers only it is read-only. Failures throw a NativeError whose
 * message includes overlay's own explanation (the fs context's log). Throws
 * InvalidArgumentError for an empty layer list, a single lower layer without upperdir,
 * an upperdir without a workdir, or a
 * legacy option string over a page; UnsupportedError if 'lowerdir+' is asked for and
 * the kernel lacks it.
 */
export function overlayMount(opts: OverlayMountOptions): OverlayMountResult {
  if (opts.lowerdirs.length === 0) throw new InvalidArgumentError('overlay mount needs at least one lower layer');
  if ((opts.upperdir === undefined) !== (opts.workdir === undefined)) {
    throw new InvalidArgumentError('overlay mount needs upperdir and workdir together');
  }
  if (opts.upperdir === undefined && opts.lowerdirs.length < 2) {
    throw new InvalidArgumentError('a read-only overlay (no upperdir) needs at least 2 lower layers');
  }
  const method = opts.method ?? 'auto';
  const b = binding();
  const plus = method === 'legacy' ? false : b.overlaySupportsLowerdirPlus();
  if (method === 'lowerdir+' && !plus) {
    throw new UnsupportedError('this kernel has no overlay "lowerdir+" (Linux 6.8+): use the legacy mount method');
  }
  if (plus) {
    b.overlayMount(
      opts.lowerdirs,
      opts.upperdir ?? null,
      opts.workdir ?? null,
      opts.target,
      opts.readonly === true,
      opts.options ?? [],
    );
    return { method: 'lowerdir+' };
  }
  const data = overlayLegacyData(opts);
  if (Buffer.byteLength(data) > LEGACY_DATA_MAX) {
    throw new InvalidArgumentError(
      `overlay option string for ${opts.lowerdirs.length} layers is ${Buffer.byteLength(data)} bytes, ` +
        `over the ${LEGACY_DATA_MAX}-byte limit of a classic mount; this kernel needs "lowerdir+" for so many layers`,
    );
  }
  b.mount('overlay', opts.target, 'overlay', opts.readonly === true ? b.constants.MS_RDONLY : 0, data);
  return { method: 'legacy' };
}

// ---------------------------------------------------------------------------
// trees (tree.c)

/**
 * Remove `name` (one path component) under directory `dirfd` and everything below it, on a
 * worker thread: iterative and fd-relative, so no depth or path length is too much. Resolves
 * true, or false when `name` did not exist. Rejects with an fs-style error (EXDEV when a
 * directory inside is another file system's mount point, which is left untouched). Keep
 * `dirfd` open until the promise settles.
 */
export function removeTreeAt(dirfd: number, name: PathArg): Promise<boolean> {
  return binding().removeTreeAt(dirfd, name);
}

/**
 * The allocated bytes (st_blocks * 512) and distinct inodes of `name` under `dirfd` and all
 * below it (hard links once), measured on a worker thread with removeTreeAt's walk: fd-relative,
 * iterative, no depth or path-length limit. A directory on another device counts as itself
 * (its contents are not walked); entries that vanish meanwhile are skipped. Keep `dirfd` open
 * until the promise settles.
 */
export function treeUsageAt(dirfd: number, name: PathArg): Promise<{ size: number; inodes: number; content: number }> {
  return binding().treeUsageAt(dirfd, name);
}

// ---------------------------------------------------------------------------
// hashing on the pool (hash.c)

/** An incremental hash in the addon (OpenSSL's, the one Node is linked with). */
export type NativeHasher = { readonly __brand: 'NativeHasher' };

/** A new hash of `algorithm` ('sha256', 'sha384' or 'sha512'). */
export function hashNew(algorithm: string): NativeHasher {
  return binding().hashNew(algorithm);
}

/**
 * What {@link hashUpdate} hashes: bytes in memory, or `[fd, offset, length]`, a span of an open
 * file — `[fd, offset, length, true]`: its fd closed on the pool once the update is done.
 */
export type HashPiece = Uint8Array | readonly [fd: number, offset: number, length: number] | readonly [fd: number, offset: number, length: number, close: boolean];

/**
 * Hash `pieces` (at most 256), in order, on a thread of libuv's pool: chunks of memory, and
 * spans of open files read there (their bytes never cross into JavaScript; a span marked
 * `close` has its fd closed there once the update is done, read or not, failed or not). The
 * chunks are referenced, not copied: they must not change until the promise settles, nor may
 * a span's file. A span whose file ends first rejects with code ENODATA (`piece`: its index).
 * One update at a time per hasher.
 */
export function hashUpdate(hasher: NativeHasher, pieces: ReadonlyArray<HashPiece>): Promise<void> {
  return binding().hashUpdate(hasher, pieces);
}

/** The lowercase hex digest; the hasher is spent. Not while an update is in flight. */
export function hashDigest(hasher: NativeHasher): string {
  return binding().hashDigest(hasher);
}

/** The CRC-32 (zlib's, as node:zlib's crc32) of `chunk`, computed on a thread of the pool; the chunk must not change meanwhile. */
export function crc32Chunk(chunk: Uint8Array): Promise<number> {
  return binding().crc32Chunk(chunk);
}

/** The CRC-32 of piece 1 followed by piece 2 (of `len2` bytes), from their CRCs (zlib's crc32_combine). */
export function crc32Combine(crc1: number, crc2: number, len2: number): number {
  return binding().crc32Combine(crc1, crc2, len2);
}

/** A streaming gunzip's state in the addon (ISA-L's igzip), for {@link gunzipRun}. */
declare const gunzipHandle: unique symbol;
export interface GunzipHandle {
  readonly [gunzipHandle]: true;
}

/** Where a gunzip stands after a run: 0 inside a member, 1 at a member's end, 2 in zero padding after one. */
export type GunzipPhase = 0 | 1 | 2;

/** A new streaming gunzip (gzip members one after another, as node:zlib reads them). */
export function gunzipNew(): GunzipHandle {
  return binding().gunzipNew();
}

/**
 * Inflate `input` into `output` on a pool thread until the input is used up or the output is
 * full: [input bytes consumed, output bytes produced, phase]. Output left inside the state when
 * `output` filled comes with the next run (with the rest of the input, or none). Corrupt data
 * rejects with an Error of code 'Z_DATA_ERROR' and zlib's wording. One run at a time per handle.
 */
export function gunzipRun(handle: GunzipHandle, input: Uint8Array, output: Uint8Array): Promise<[number, number, GunzipPhase]> {
  return binding().gunzipRun(handle, input, output);
}

/**
 * Raw deflate of one piece of a longer stream (ISA-L, level 1-3) on a pool thread into `output`
 * (at least {@link deflateBound} bytes), primed with `dictionary` and ended with a sync flush, or
 * with the final block when `last`: pieces joined in order are one deflate stream. Level 0, a
 * piece that does not compress and one whose deflate would not fit are stored blocks. Resolves
 * to the bytes written.
 */
export function deflatePiece(piece: Uint8Array, dictionary: Uint8Array | null, level: number, last: boolean, output: Uint8Array): Promise<number> {
  return binding().deflatePiece(piece, dictionary, level, last, output);
}

/** The output {@link deflatePiece} may need for a piece of `length` bytes (stored blocks' size). */
export function deflateBound(length: number): number {
  return binding().deflateBound(length);
}

/** Hash `length` bytes of the open file `fd` from `offset`: {@link hashUpdate} of that one span. */
export function hashFile(hasher: NativeHasher, fd: number, offset: number, length: number): Promise<void> {
  return binding().hashUpdate(hasher, [[fd, offset, length]]);
}

// ---------------------------------------------------------------------------
// copying between files (copy.c)

/**
 * Copy `length` bytes of `srcFd` from `srcOffset` to the start of `dstFd` on a thread of the
 * pool, in the kernel (copy_file_range(2); pread/pwrite where it cannot). A source that ends
 * first rejects with code ENODATA.
 */
export function copyFileRange(srcFd: number, srcOffset: number, length: number, dstFd: number): Promise<void> {
  return binding().copyFileRange(srcFd, srcOffset, length, dstFd);
}

/**
 * A hint, on a thread of the pool: the first `lengths[i]` bytes of each regular file
 * `names[i]` in `dirfd` are read into the page cache in the background (posix_fadvise
 * WILLNEED), so that the disk reads many at once, ahead of the copy that needs them. A name
 * that cannot be opened is passed over (the hint changes nothing a later read sees). Keep
 * `dirfd` open until the promise settles.
 */
export function prefetchAt(dirfd: number, names: readonly PathArg[], lengths: Float64Array): Promise<void> {
  return binding().prefetchAt(dirfd, names, lengths);
}

/**
 * Make regular file `dstName` in `dstDirfd` from the `size` bytes of regular file `srcName`
 * in `srcDirfd`, on a thread of the pool: the source opened without following a symlink and
 * checked to be still inode `srcIno` of `size` bytes (else code ESTALE), the new file created
 * O_EXCL, the bytes copied in the kernel (copy_file_range: a reflink where the file system
 * shares blocks), then owner, mode, attributes and times as {@link applyFile} sets them.
 * Resolves to the new file's fd, open for reading: the caller closes it. Keep both directory
 * fds open until the promise settles.
 */
export function applyCopy(
  srcDirfd: number,
  srcName: PathArg,
  srcIno: bigint,
  size: number,
  dstDirfd: number,
  dstName: PathArg,
  meta: Float64Array,
  xattrs: EntryXattrs = null,
): Promise<number> {
  return binding().applyCopy(srcDirfd, srcName, srcIno, size, dstDirfd, dstName, meta, xattrs);
}

// ---------------------------------------------------------------------------
// the plain lane of a recorded upper copy (upper.c)

/** Numbers per entry of {@link scanDir}'s `info`, and where each is. */
export const SCAN_SLOTS = 18;
export const SCAN = {
  nameOff: 0,
  nameLen: 1,
  mode: 2,
  uid: 3,
  gid: 4,
  size: 5,
  atimeSec: 6,
  atimeNsec: 7,
  mtimeSec: 8,
  mtimeNsec: 9,
  nlink: 10,
  rdevMajor: 11,
  rdevMinor: 12,
  inoHi: 13,
  inoLo: 14,
  devHi: 15,
  devLo: 16,
  /** Bytes of the entry's attribute list (0: it has none). */
  xattrBytes: 17,
} as const;

/** A directory's entries as {@link scanDir} read them: names concatenated, {@link SCAN_SLOTS} numbers each. */
export interface ScannedDir {
  names: Buffer;
  info: Float64Array;
}

/**
 * Every entry of directory `dirfd` (not `.`, `..`), stat'ed without following symlinks, with
 * the size of its own attribute list, in one call; sorted as a layer lists them: by the
 * bytes of the name in the archive, a character device 0:0 (a whiteout) as `.wh.NAME`.
 */
export function scanDir(dirfd: number): ScannedDir {
  return binding().scanDir(dirfd);
}

/** An entry of a {@link scanDir} result as a {@link NativeStat} (what fstatat gives). */
export function scannedStat(info: Float64Array, i: number): NativeStat {
  const o = i * SCAN_SLOTS;
  const n = (k: number): number => info[o + k]!;
  const big = (hi: number, lo: number): bigint => (BigInt(n(hi)) << 32n) | BigInt(n(lo));
  const ns = (sec: number, nsec: number): bigint => BigInt(sec) * 1_000_000_000n + BigInt(nsec);
  return {
    dev: big(SCAN.devHi, SCAN.devLo),
    ino: big(SCAN.inoHi, SCAN.inoLo),
    mode: n(SCAN.mode),
    nlink: n(SCAN.nlink),
    uid: n(SCAN.uid),
    gid: n(SCAN.gid),
    rdevMajor: n(SCAN.rdevMajor),
    rdevMinor: n(SCAN.rdevMinor),
    size: n(SCAN.size),
    blocks: 0,
    atimeSec: n(SCAN.atimeSec),
    atimeNsec: n(SCAN.atimeNsec),
    mtimeSec: n(SCAN.mtimeSec),
    mtimeNsec: n(SCAN.mtimeNsec),
    ctimeSec: 0,
    ctimeNsec: 0,
    atimeNs: ns(n(SCAN.atimeSec), n(SCAN.atimeNsec)),
    mtimeNs: ns(n(SCAN.mtimeSec), n(SCAN.mtimeNsec)),
    ctimeNs: 0n,
  };
}

/**
 * Entries `idx` of a {@link scanDir} result of `srcDirfd`, each a regular file with one link
 * and no attributes whose archive name `prefix` + name is at most 100 bytes of ASCII and whose
 * owner, size and mtime (clamped to `clamp` when it is 0 or more) fit ustar's fields: their
 * ustar headers, as src/tar/writer.ts encodes them, each followed by its padding, are written
 * into `out` at the call (header k at the sum of 512 + padding of those before it; an entry
 * that is not so is a TypeError and nothing is done); then, on a thread of the pool, each is
 * made in `dstDirfd` as {@link applyCopy} makes a file (no attributes). Resolves to the new
 * files' fds, open for reading, the caller's to close; a failure closes those made and rejects
 * with the errno error, `index` the entry that failed. Keep both directory fds open until it settles.
 */
export function copyPlainRun(
  srcDirfd: number,
  dstDirfd: number,
  prefix: Uint8Array,
  names: Uint8Array,
  info: Float64Array,
  idx: Int32Array,
  clamp: number,
  out: Uint8Array,
): Promise<Int32Array> {
  return binding().copyPlainRun(srcDirfd, dstDirfd, prefix, names, info, idx, clamp, out);
}

// ---------------------------------------------------------------------------
// SOCK_SEQPACKET unix sockets (socket.c)

/**
 * Connect a SOCK_SEQPACKET unix socket to the socket file at `path`, of any length (connected
 * through /proc/self/fd/N of the file opened with O_PATH, so sun_path's 108 bytes do not
 * matter). The fd is blocking and O_CLOEXEC; a write the peer does not take within
 * `sendTimeoutMs` (0: no limit) fails with EAGAIN. Close it with fs.closeSync.
 */
export function seqpacketConnect(path: PathArg, sendTimeoutMs: number): number {
  return binding().seqpacketConnect(path, sendTimeoutMs);
}

/**
 * One packet into `buffer`, without waiting: the packet's full length (more than
 * `buffer.length` when it was cut short), 0 at the end of the stream (the peer closed or
 * half-closed), -1 when no packet is there yet (wait with {@link pollReadable}).
 */
export function recvPacket(fd: number, buffer: Uint8Array): number {
  return binding().recvPacket(fd, buffer);
}

/**
 * Settles once `fd` is readable, hung up or in error, waiting on the event loop (no thread of
 * the pool is held); one wait at a time per fd, and the fd must stay open until it settles
 * (shutdown with SHUT_RDWR wakes it).
 */
export function pollReadable(fd: number): Promise<void> {
  return binding().pollReadable(fd);
}

/** shutdown(2): SHUT_RD, SHUT_WR (the half-close a peer reads as end of stream) or SHUT_RDWR. */
export function shutdown(fd: number, how: number): void {
  binding().shutdown(fd, how);
}

// ---------------------------------------------------------------------------
// processes (process.c)

/** A program started by {@link spawnProcess}: its pid and a pidfd that becomes readable when it exits. */
export interface SpawnedProcess {
  pid: number;
  pidfd: number;
}

/**
 * Start `file` (an absolute path) with `argv` (argv[0] included) and this process's environment,
 * without forking this process (posix_spawn); `stdio[i]` becomes the child's fd i. Wait for it
 * with {@link waitProcess}.
 */
export function spawnProcess(file: string, argv: readonly string[], stdio: readonly [number, number, number]): SpawnedProcess {
  const [pid, pidfd] = binding().spawn(file, argv, stdio);
  return { pid, pidfd };
}

/** The exit status of a process from {@link spawnProcess} once it ends (128 + N when signal N killed it); its pidfd is closed. */
export async function waitProcess(p: SpawnedProcess): Promise<number> {
  try {
    for (;;) {
      const status = binding().reap(p.pid);
      if (status >= 0) return status;
      await pollReadable(p.pidfd);
    }
  } finally {
    closeSync(p.pidfd);
  }
}

/** Whether `fd` is a terminal (without loading Node's tty module). */
export function isTerminal(fd: number): boolean {
  return binding().isatty(fd);
}

/**
 * End this process at once with `code` (0..255), as _exit(2) does: no 'exit' event, none of
 * Node's teardown. Whatever is still pending is lost, a write to a full pipe among them (it
 * shows as a `WriteWrap` in process.getActiveResourcesInfo()); what the kernel has taken is out.
 */
export function exitNow(code: number): never {
  return binding().exitNow(code);
}

// ---------------------------------------------------------------------------
// files V8 uses in place (external.c)

/**
 * A regular file's bytes as a one-byte (latin1) string that V8 keeps outside its heap: read once
 * into a private read-only copy and never copied again (bin/cairn.js compiles the CLI's bundle
 * from it). On a Node without external strings (before 20.4) an ordinary copied string.
 */
export function readExternalLatin1(path: string): string {
  return binding().readExternalLatin1(path);
}

/** A regular file's bytes in a Buffer over a private read-only copy outside V8's heap. */
export function readExternalBytes(path: string): Buffer {
  return binding().readExternalBytes(path);
}
