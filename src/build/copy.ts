/**
 * The file-system part of COPY (and of ADD for local files, without archive extraction):
 * sources from a build context or an earlier stage's root, written straight into the mounted
 * root filesystem of the step, the way Docker 20.10.24's BuildKit (v0.8: dockerfile2llb,
 * the FileOp copy and fsutil's copy) does it. Every rule below was checked against that docker
 * (see HELPER-B-NOTES.md):
 *
 * - the destination is resolved in the target root (symlinks followed, the last one too, as
 *   if the root were `/`); a directory source copies its contents; a file to an existing
 *   directory (or to `dest/`) lands as dest/<name of the source as written>, else it becomes
 *   dest; several sources are copied one after the other to the same dest (no error without
 *   a trailing slash: the last file wins, a directory after a file fails);
 * - missing destination directories are made 0755, owned by --chown's user (else 0:0); an
 *   existing destination directory keeps its own mode, owner and times;
 * - entries keep mode (setuid too), times (nanoseconds) and, from a stage or image, owner
 *   and extended attributes; from a build context they are 0:0, without xattrs, and its
 *   directories carry the time of the copy (BuildKit receives the context anew);
 * - symlinks inside are copied as symlinks; hard links within one source stay hard links;
 *   a device becomes an empty regular file (an fsutil bug kept for fidelity); FIFOs and
 *   sockets are left out;
 * - a file over an existing directory fails (`cannot replace to directory ... with file`), a
 *   directory over a file or symlink fails (`cannot copy to non-directory: ...`), a file
 *   over a file or symlink replaces it.
 *
 * File data is copied by the kernel (FICLONE where the file system shares blocks), never read
 * into memory. Source matching lives in copy-source.ts, --chown/--chmod in copy-owner.ts.
 */
import * as fsp from 'node:fs/promises';
import { closeSync, constants as fsc, mkdirSync, readlinkSync, unlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { CairnError, PreconditionError, errnoCode } from '../errors.js';
import { PatternMatcher, cleanPath } from '../dockerfile/dockerignore.js';
import { applyCopy, constants as C, fchmodat, fchownat, fstatat, lgetxattr, llistxattr, lsetxattr, openat, utimensatNs, type EntryXattrs, type NativeStat } from '../native/index.js';
import { resolveInRoot } from '../runtime/rootpath.js';
import { parseChmod, resolveChown, type ModeChange, type Owner } from './copy-owner.js';
import { CopySourceNotFoundError, SourceTree, childPath, hasWildcards, isDir, matchSource, type SourceMatch } from './copy-source.js';

/** What {@link copyInto} copies, and where. */
export interface CopyIntoOptions {
  /** The build context directory, or the (read-only) root filesystem of a stage or image for COPY --from. */
  sourceRoot: string;
  /** True for the build context: owners become 0:0, xattrs are not carried, .dockerignore applies. */
  fromContext: boolean;
  /** The sources as written after variable expansion: files, directories, `.`, Go wildcards. */
  sources: string[];
  /** The destination as written: absolute or relative to `workdir`; a trailing `/` names a directory. */
  dest: string;
  /** The image's WorkingDir ('' is `/`). */
  workdir: string;
  /** The mounted root filesystem to write into. */
  targetRoot: string;
  /** --chown as written (user[:group], names or ids), looked up in the target's /etc/passwd and /etc/group. */
  chown?: string;
  /** --chmod as written: octal, or symbolic (`u+x,go-w`). */
  chmod?: string;
  /** .dockerignore patterns of the context (ignored unless `fromContext`): excluded paths do not exist. */
  dockerignore?: string[];
  /** --exclude patterns, matched against paths relative to each copied source. */
  excludes?: string[];
  /** --parents: keep each source's path (from the root, or from a `/./` pivot) below dest. */
  parents?: boolean;
}

/** One entry written into the target root. */
export interface CopiedEntry {
  /** Its path in the target root ('/app/f.txt'). */
  path: string;
  /** 'dir' also for a destination directory made on the way; 'hardlink' is a further name of a copied file. */
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  /** Bytes of file data (0 for the others). */
  size: number;
}

/** Something the copy left out, as BuildKit does without failing. */
export interface SkippedEntry {
  /** Its path in the source root. */
  path: string;
  reason: string;
}

/** What {@link copyInto} wrote. */
export interface CopyResult {
  entries: CopiedEntry[];
  /** Total bytes of file data written. */
  bytes: number;
  /** FIFOs and sockets not copied, extended attributes the target refused. */
  skipped: SkippedEntry[];
}

/** One source's plan: what it names, and (for --parents) which paths below it are copied. */
interface Plan {
  matches: SourceMatch[];
  include?: PatternMatcher;
}

/** What one copy carries through the tree. */
interface Ctx {
  tree: SourceTree;
  targetRoot: string;
  fromContext: boolean;
  owner: Owner | undefined;
  mode: ModeChange | undefined;
  exclude: PatternMatcher | undefined;
  include: PatternMatcher | undefined;
  /** When the context was "received": the times of its directories. */
  nowNs: bigint;
  /** First target path of each hard-linked source inode, per source (fsutil keeps one map per copy call), once it is made. */
  links: Map<string, { host: string; made: Promise<unknown> }>;
  result: CopyResult;
  /** Regular files being copied on the pool (at most {@link MAX_COPIES} at once). */
  copies: CopySlots;
}

/** Regular files copied at once (each one native applyCopy on libuv's pool). */
const MAX_COPIES = 16;

/** A bound on the copies in flight. */
class CopySlots {
  private inFlight = 0;
  private waiting: Array<() => void> = [];
  async take(): Promise<void> {
    while (this.inFlight >= MAX_COPIES) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
  }
  give(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }
}

/** A directory whose entries are being copied: both sides open, and the copies in flight in it. */
interface DirPair {
  src: number;
  dst: number;
  jobs: Promise<unknown>[];
}

/** A directory below a source not made yet: made when something inside it is copied (--exclude exceptions, --parents). */
interface Pending {
  src: string;
  st: NativeStat;
  dst: string;
  made: boolean;
}

/**
 * Copy `sources` into `targetRoot` at `dest` as BuildKit's COPY does. Every source is
 * resolved first (a missing one throws {@link CopySourceNotFoundError} before anything is
 * written), then each is copied in order. Errors are CairnErrors with BuildKit's words.
 */
export async function copyInto(opts: CopyIntoOptions): Promise<CopyResult> {
  const owner = opts.chown !== undefined && opts.chown !== '' ? resolveChown(opts.targetRoot, opts.chown) : undefined;
  const mode = opts.chmod !== undefined && opts.chmod !== '' ? parseChmod(opts.chmod) : undefined;
  const ignore = opts.fromContext && (opts.dockerignore?.length ?? 0) > 0 ? new PatternMatcher(opts.dockerignore!) : undefined;
  const tree = new SourceTree(opts.sourceRoot, ignore);
  const plans = opts.sources.map((s) => (opts.parents === true ? planParents(tree, s) : { matches: matchSource(tree, s) }));
  const dest = destinationPath(opts.dest, opts.workdir);
  const result: CopyResult = { entries: [], bytes: 0, skipped: [] };
  const base = {
    tree,
    targetRoot: opts.targetRoot,
    fromContext: opts.fromContext,
    owner,
    mode,
    exclude: (opts.excludes?.length ?? 0) > 0 ? new PatternMatcher(opts.excludes!) : undefined,
    nowNs: BigInt(Date.now()) * 1_000_000n,
    result,
    copies: new CopySlots(),
  };
  for (const plan of plans) {
    for (const match of plan.matches) {
      await copyMatch({ ...base, include: plan.include, links: new Map() }, match, dest);
    }
  }
  return result;
}

/**
 * The destination as dockerfile2llb and the FileOp make it: relative to the working
 * directory, clean, with a trailing `/` kept when it was written (or for `.`).
 */
export function destinationPath(dest: string, workdir: string): string {
  const joined = cleanPath(dest.startsWith('/') ? dest : posix.join('/', workdir, dest));
  const dir = dest === '.' || dest === '' || dest.endsWith('/');
  return dir && joined !== '/' ? `${joined}/` : joined;
}

/**
 * --parents (newer BuildKit): copy from the root, or from the part before a `/./` pivot,
 * only what the rest of the path matches, keeping its directories. A path without wildcards
 * must exist.
 */
function planParents(tree: SourceTree, source: string): Plan {
  const pivot = source.indexOf('/./');
  const from = pivot < 0 ? '/' : source.slice(0, pivot);
  const pattern = cleanPath(`/${pivot < 0 ? source : source.slice(pivot + 3)}`).slice(1);
  if (!hasWildcards(from) && !hasWildcards(pattern)) {
    const required = tree.resolve(posix.join('/', from, pattern));
    if (required.stat === undefined) throw new CopySourceNotFoundError(required.path);
  }
  const include = pattern === '' ? undefined : new PatternMatcher([pattern]);
  return { matches: matchSource(tree, from), include };
}

/** fsutil's Copy of one source match: make the destination's directories, then copy. */
async function copyMatch(ctx: Ctx, match: SourceMatch, dest: string): Promise<void> {
  const trailing = dest.endsWith('/');
  const clean = trailing ? dest.slice(0, -1) || '/' : dest;
  mkdirAll(ctx, trailing ? clean : posix.dirname(clean));
  let dst = resolveInRoot(ctx.targetRoot, clean).path;
  const srcIsDir = isDir(match.resolved.stat);
  const existing = lstatOrUndefined(hostPath(ctx, dst));
  if (!srcIsDir && existing !== undefined && isDir(existing)) dst = childPath(dst, posix.basename(match.path));
  mkdirAll(ctx, srcIsDir && existing === undefined ? dst : posix.dirname(dst));
  await copyEntry(ctx, match.resolved.path, match.resolved.stat, dst, '', true, []);
}

/**
 * copy.MkdirAll on a path of the target root: resolved there, each missing directory made
 * 0755 and given --chown's owner. An existing non-directory fails as `mkdir: not a directory`.
 */
function mkdirAll(ctx: Ctx, path: string): void {
  const resolved = resolveInRoot(ctx.targetRoot, path).path;
  const parts = resolved.split('/').filter((p) => p !== '');
  for (let i = 1; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    const host = hostPath(ctx, p);
    const st = lstatOrUndefined(host);
    if (st !== undefined) {
      if (!isDir(st)) throw new PreconditionError(`mkdir ${host}: not a directory`);
      continue;
    }
    system(host, () => {
      fsMkdir(host);
      if (ctx.owner !== undefined) fchownat(C.AT_FDCWD, host, ctx.owner.uid, ctx.owner.gid, C.AT_SYMLINK_NOFOLLOW);
    });
    ctx.result.entries.push({ path: p, type: 'dir', size: 0 });
  }
}

/** mkdir with exactly `mode` (the process umask left out). */
function fsMkdir(host: string, mode = 0o755): void {
  mkdirSync(host, { mode });
  fchmodat(C.AT_FDCWD, host, mode, 0);
}

/**
 * fsutil's copier.copy: one source entry (`src` in the source root) to `dst` in the target
 * root; `rel` is its path below the copied source ('' for the source itself, which is never
 * excluded); `top` leaves the metadata of the destination directory itself alone.
 */
async function copyEntry(ctx: Ctx, src: string, st: NativeStat, dst: string, rel: string, top: boolean, parents: Pending[], pair?: DirPair): Promise<void> {
  const type = st.mode & C.S_IFMT;
  const dir = type === C.S_IFDIR;
  const excluded = rel !== '' && ctx.exclude !== undefined && ctx.exclude.matchesOrParentMatches(rel);
  const included = rel === '' || (!excluded && (ctx.include === undefined || ctx.include.matchesOrParentMatches(rel)));
  if (!included) {
    // Walked all the same when an exception (`!pattern`) or --parents' pattern may want something inside.
    const mayHold = excluded ? ctx.exclude!.exclusions : true;
    if (dir && mayHold) await copyChildren(ctx, src, dst, rel, [...parents, { src, st, dst, made: false }]);
    return;
  }
  makePending(ctx, parents);
  const host = hostPath(ctx, dst);
  if (dir) {
    const created = makeDir(host);
    if (created) ctx.result.entries.push({ path: dst, type: 'dir', size: 0 });
    await copyChildren(ctx, src, dst, rel, []);
    if (!top || created) applyMetadata(ctx, src, st, host);
    return;
  }
  if (type === C.S_IFREG && pair !== undefined && !(st.nlink > 1 && ctx.links.has(`${st.dev}:${st.ino}`))) {
    await copyFileFast(ctx, src, st, host, dst, pair);
    return;
  }
  ensureEmptyFileTarget(host);
  if (type === C.S_IFIFO || type === C.S_IFSOCK) {
    ctx.result.skipped.push({ path: src, reason: type === C.S_IFIFO ? 'a FIFO is not copied' : 'a socket is not copied' });
    return;
  }
  await system(host, async () => {
    if (type === C.S_IFREG) await copyFile(ctx, src, st, host, dst);
    else if (type === C.S_IFLNK) {
      await fsp.symlink(readlinkSync(ctx.tree.host(src), { encoding: 'buffer' }), host);
      ctx.result.entries.push({ path: dst, type: 'symlink', size: 0 });
    } else {
      // fsutil passes Go's FileMode to mknod, whose type bits the kernel reads as a regular file.
      await fsp.writeFile(host, '', { flag: 'wx', mode: 0o600 });
      ctx.result.entries.push({ path: dst, type: 'file', size: 0 });
    }
  });
  applyMetadata(ctx, src, st, host);
}

async function copyChildren(ctx: Ctx, src: string, dst: string, rel: string, parents: Pending[]): Promise<void> {
  // Regular files are copied a few at a time through the two directories' fds, once the
  // destination directory exists (it may be made only for an entry inside: --exclude, --parents).
  let pair: DirPair | undefined;
  try {
    for (const name of ctx.tree.names(src)) {
      const child = childPath(src, name);
      const st = ctx.tree.lstat(child);
      if (st === undefined) continue;
      if (pair === undefined && (st.mode & C.S_IFMT) === C.S_IFREG && parents.length === 0) pair = openPair(ctx, src, dst);
      await copyEntry(ctx, child, st, childPath(dst, name), rel === '' ? name : `${rel}/${name}`, false, parents, pair);
    }
  } finally {
    if (pair !== undefined) {
      const settled = await Promise.allSettled(pair.jobs);
      closeSync(pair.src);
      closeSync(pair.dst);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    }
  }
  for (const p of parents) if (p.made) applyMetadata(ctx, p.src, p.st, hostPath(ctx, p.dst));
}

/** The source directory and its (existing) destination, open for the copies of their files. */
function openPair(ctx: Ctx, src: string, dst: string): DirPair {
  const s = system(ctx.tree.host(src), () => openat(C.AT_FDCWD, ctx.tree.host(src), C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC));
  try {
    const host = hostPath(ctx, dst);
    const d = system(host, () => openat(C.AT_FDCWD, host, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW | C.O_CLOEXEC));
    return { src: s, dst: d, jobs: [] };
  } catch (e) {
    closeSync(s);
    throw e;
  }
}

/**
 * A regular file copied in one call on the pool (native applyCopy: made O_EXCL, its bytes
 * copied in the kernel, then owner, mode, attributes and times as applyMetadata sets them),
 * while the walk goes on; what is at its name (a file or a symlink) is replaced first, as
 * copyFile would. Its directory waits for it before its own times are set.
 */
async function copyFileFast(ctx: Ctx, src: string, st: NativeStat, host: string, dst: string, pair: DirPair): Promise<void> {
  const name = src.slice(src.lastIndexOf('/') + 1);
  const owner = ctx.owner ?? (ctx.fromContext ? { uid: 0, gid: 0 } : { uid: st.uid, gid: st.gid });
  const bits = st.mode & 0o7777;
  const meta = Float64Array.from([owner.uid, owner.gid, ctx.mode !== undefined ? ctx.mode(bits, false) : bits, st.atimeSec, st.atimeNsec, st.mtimeSec, st.mtimeNsec, 0, 0]);
  const xattrs = ctx.fromContext ? null : sourceXattrs(ctx, src, host);
  await ctx.copies.take();
  const attempt = (): Promise<number> => applyCopy(pair.src, name, st.ino, st.size, pair.dst, name, meta, xattrs);
  const job = attempt()
    .catch((e: unknown) => {
      if (errnoCode(e) !== 'EEXIST') throw e;
      ensureEmptyFileTarget(host);
      return attempt();
    })
    .then(closeSync)
    .catch((e: unknown) => {
      throw systemError(host, e);
    })
    .finally(() => ctx.copies.give());
  job.catch(() => undefined); // reported by the directory's wait
  pair.jobs.push(job);
  if (st.nlink > 1) ctx.links.set(`${st.dev}:${st.ino}`, { host, made: job });
  ctx.result.entries.push({ path: dst, type: 'file', size: st.size });
  ctx.result.bytes += st.size;
}

/** A source entry's extended attributes, for applyCopy (null when it has none). */
function sourceXattrs(ctx: Ctx, src: string, host: string): EntryXattrs {
  const from = ctx.tree.host(src);
  let out: EntryXattrs = null;
  for (const name of system(from, () => llistxattr(from))) {
    const value = system(from, () => lgetxattr(from, name));
    if (value !== null) (out ??= []).push(name, value);
  }
  void host;
  return out;
}

/** Make the pending directories above an entry about to be copied (each once). */
function makePending(ctx: Ctx, parents: Pending[]): void {
  for (const p of parents) {
    if (p.made) continue;
    if (makeDir(hostPath(ctx, p.dst))) ctx.result.entries.push({ path: p.dst, type: 'dir', size: 0 });
    p.made = true;
  }
}

/** copyDirectory's start: true when made, false when a directory is there; anything else there fails. */
function makeDir(host: string): boolean {
  const there = lstatOrUndefined(host);
  if (there !== undefined) {
    if (!isDir(there)) throw new PreconditionError(`cannot copy to non-directory: ${host}`);
    return false;
  }
  system(host, () => fsMkdir(host, 0o700));
  return true;
}

/** A non-directory entry replaces what is at its target, unless that is a directory. */
function ensureEmptyFileTarget(host: string): void {
  const there = lstatOrUndefined(host);
  if (there === undefined) return;
  if (isDir(there)) throw new PreconditionError(`cannot replace to directory ${host} with file`);
  system(host, () => unlinkSync(host));
}

/** A regular file: a further name of an inode already copied from this source is a hard link to its copy. */
async function copyFile(ctx: Ctx, src: string, st: NativeStat, host: string, dst: string): Promise<void> {
  if (st.nlink > 1) {
    const id = `${st.dev}:${st.ino}`;
    const first = ctx.links.get(id);
    if (first !== undefined) {
      await first.made;
      await fsp.link(first.host, host);
      ctx.result.entries.push({ path: dst, type: 'hardlink', size: 0 });
      return;
    }
    ctx.links.set(id, { host, made: Promise.resolve() });
  }
  await fsp.copyFile(ctx.tree.host(src), host, fsc.COPYFILE_EXCL | fsc.COPYFILE_FICLONE);
  ctx.result.entries.push({ path: dst, type: 'file', size: st.size });
  ctx.result.bytes += st.size;
}

/**
 * fsutil's copyFileInfo then copyXAttrs: owner (--chown, else the source's; 0:0 from a
 * context), mode (through --chmod; never on a symlink), times, then extended attributes
 * (not from a context; one the target refuses is skipped, as BuildKit logs and goes on).
 */
function applyMetadata(ctx: Ctx, src: string, st: NativeStat, host: string): void {
  const link = (st.mode & C.S_IFMT) === C.S_IFLNK;
  const dir = (st.mode & C.S_IFMT) === C.S_IFDIR;
  const owner = ctx.owner ?? (ctx.fromContext ? { uid: 0, gid: 0 } : { uid: st.uid, gid: st.gid });
  system(host, () => {
    fchownat(C.AT_FDCWD, host, owner.uid, owner.gid, C.AT_SYMLINK_NOFOLLOW);
    if (!link) {
      const bits = st.mode & 0o7777;
      fchmodat(C.AT_FDCWD, host, ctx.mode !== undefined ? ctx.mode(bits, dir) : bits, 0);
    }
    const fromTransfer = ctx.fromContext && dir;
    utimensatNs(C.AT_FDCWD, host, fromTransfer ? ctx.nowNs : st.atimeNs, fromTransfer ? ctx.nowNs : st.mtimeNs, C.AT_SYMLINK_NOFOLLOW);
  });
  if (!ctx.fromContext) copyXattrs(ctx, src, host);
}

function copyXattrs(ctx: Ctx, src: string, host: string): void {
  const from = ctx.tree.host(src);
  for (const name of system(from, () => llistxattr(from))) {
    const value = system(from, () => lgetxattr(from, name));
    if (value === null) continue;
    try {
      lsetxattr(host, name, value, 0);
    } catch (e) {
      const code = errnoCode(e);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw new CairnError('internal', `cannot set extended attribute ${name} on ${host}: ${(e as Error).message}`, { cause: e });
      ctx.result.skipped.push({ path: src, reason: `extended attribute ${name} refused by the target (${code})` });
    }
  }
}

function hostPath(ctx: Ctx, path: string): string {
  return path === '/' ? ctx.targetRoot : posix.join(ctx.targetRoot, path);
}

function lstatOrUndefined(host: string): NativeStat | undefined {
  try {
    return fstatat(C.AT_FDCWD, host, C.AT_SYMLINK_NOFOLLOW);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw new CairnError('internal', `cannot stat ${host}: ${(e as Error).message}`, { cause: e });
  }
}

/** Run `fn`; a system error becomes a one-line CairnError naming `host`. */
function system<T>(host: string, fn: () => T): T {
  try {
    const r = fn();
    if (r instanceof Promise) {
      return r.catch((e: unknown) => {
        throw systemError(host, e);
      }) as T;
    }
    return r;
  } catch (e) {
    throw systemError(host, e);
  }
}

function systemError(host: string, e: unknown): CairnError {
  if (e instanceof CairnError) return e;
  return new CairnError('internal', `cannot copy to ${host}: ${(e as Error).message}`, { cause: e });
}
