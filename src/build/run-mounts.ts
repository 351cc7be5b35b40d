/**
 * `RUN --mount`: the step's mounts (dockerfile/steps.ts PlanMount, parsed by
 * dockerfile/instructions.ts parseMount) made ready on the host for the command's container
 * (run-container.ts binds and tmpfs), with BuildKit's semantics (dockerfile2llb
 * convert_runmount.go / convert_secrets.go, solver/llbsolver/mounts):
 *
 * - a relative target is taken from the working directory; `/` is refused ("invalid mount
 *   target");
 * - `type=bind` (the default): `source` (default the root) in `from` (an earlier stage or an
 *   image; default the build context), read-only unless `rw`, whose writes are discarded.
 *   A stage or image is a snapshot view of its chain (`rw`: a writable snapshot on it,
 *   removed afterwards). The build context is seen as BuildKit receives it: a copy of the
 *   source's tree under the store's scratch space without what .dockerignore excludes, owners
 *   0:0 as Docker's CLI sends them (a bind of the context directory itself would show the
 *   ignored files; the copy is a reflink where the file system has them). A source that is not
 *   there fails with BuildKit's `failed to compute cache key: "/x" not found: not found`;
 * - `type=cache`: a persistent directory of the store (cache-mounts.ts) keyed by `id`
 *   (default: the target as written, cleaned), `sharing` shared|private|locked; a new cache
 *   starts as `from`'s `source` tree, or empty with `mode` (default 0755), `uid`, `gid`
 *   (those only when no `source` is given, as BuildKit's mkdir of /cache); `ro` mounts it
 *   read-only;
 * - `type=tmpfs`: a tmpfs with `size`, BuildKit's options (nosuid only: exec and devices
 *   allowed);
 * - `type=secret`: id = `id`, else `source`, else the target's base name; the value (secrets.ts)
 *   written into a tmpfs of this step (never on disk, never in the store) and bound read-only
 *   at the target (default /run/secrets/<id>; none when only `env=` is asked for), mode
 *   (default 0400), uid, gid; `env=NAME` also puts it in the command's environment (not the
 *   image's). A missing secret: `secret ID: not found` when `required`, else nothing mounted;
 * - `type=ssh`: refused (no agent forwarding).
 *
 * The mount points the runtime creates for the targets are removed again when they are still
 * empty — run-container.ts removes the targets themselves, this module the directories above
 * them that did not exist (BuildKit's recursive MountStubsCleaner) — so no target shows in
 * the layer. Everything made here is undone when the command ends, on every path.
 */
import { lstat, mkdir, copyFile, readlink, symlink, chmod, chown, rmdir, writeFile } from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import { posix } from 'node:path';
import type { Digest } from '../digest/digest.js';
import { CairnError, InvalidArgumentError, NotFoundError, UnsupportedError, errnoCode } from '../errors.js';
import { snapshotRef, type Ref } from '../metadata/refs.js';
import { constants as C, mount as mountSys, utimensatNs, type NativeStat } from '../native/index.js';
import { randomHex } from '../random.js';
import { resolveInRoot } from '../runtime/rootpath.js';
import type { BindMount, TmpfsMount } from '../runtime/spec.js';
import { copyTree, mountAll, unmount } from '../snapshot/index.js';
import type { Store } from '../store/store.js';
import { PatternMatcher } from '../dockerfile/dockerignore.js';
import type { PlanMount, StageSource } from '../dockerfile/steps.js';
import { acquireCacheMount, type CacheKey } from './cache-mounts.js';
import { childPath, CopySourceNotFoundError, SourceTree } from './copy-source.js';
import { findSecret, readSecret, type SecretSource } from './secrets.js';

/** What the mounts of one RUN need from the build. */
export interface RunMountContext {
  store: Store;
  /** The step's mounted root filesystem. */
  rootfs: string;
  /** The step's working directory (relative targets start there). */
  cwd: string;
  /** The build context and its .dockerignore patterns. */
  contextDir: string;
  dockerignore: readonly string[];
  /** `--secret`s of the build. */
  secrets: readonly SecretSource[];
  /** The committed chain of an earlier stage or a base image (undefined: no layers). */
  chainOf: (source: StageSource) => Digest | undefined;
  /** The build's lease. */
  protect: (ref: Ref) => void;
  /** Where secrets given as environment variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** The mounts ready for runInRootfs, and the environment variables secrets add. */
export interface PreparedMounts {
  binds: BindMount[];
  tmpfs: TmpfsMount[];
  /** KEY=VALUE for the command only. */
  env: string[];
}

/** An undo step; run in reverse order of making. */
type Cleanup = () => Promise<void> | void;

/** Prepare `mounts`, run `fn` with them, and undo everything (whatever `fn` did). */
export async function withRunMounts<T>(mounts: readonly PlanMount[], ctx: RunMountContext, fn: (m: PreparedMounts) => Promise<T>): Promise<T> {
  const prepared: PreparedMounts = { binds: [], tmpfs: [], env: [] };
  if (mounts.length === 0) return fn(prepared);
  const cleanups: Cleanup[] = [];
  let failure: unknown;
  let result: T | undefined;
  try {
    const secrets = new SecretDir(ctx.store, cleanups);
    const targets: string[] = [];
    for (const m of mounts) {
      if (m.type === 'ssh') throw new UnsupportedError('RUN --mount=type=ssh is not supported: cairn has no SSH agent forwarding');
      const target = m.type === 'secret' ? '' : mountTarget(m, ctx.cwd);
      switch (m.type) {
        case 'tmpfs':
          prepared.tmpfs.push({ destination: target, options: ['nosuid', 'exec', 'dev', ...(m.size !== undefined && m.size > 0 ? [`size=${m.size}`] : [])] });
          targets.push(target);
          break;
        case 'bind':
          prepared.binds.push({ source: await bindSource(m, ctx, cleanups), destination: target, readOnly: m.readOnly });
          targets.push(target);
          break;
        case 'cache':
          prepared.binds.push({ source: await cacheSource(m, ctx, cleanups), destination: target, readOnly: m.readOnly });
          targets.push(target);
          break;
        case 'secret': {
          const s = await secretMount(m, ctx, secrets);
          if (s === undefined) break;
          if (s.env !== undefined) prepared.env.push(s.env);
          if (s.bind !== undefined) {
            prepared.binds.push(s.bind);
            targets.push(s.bind.destination);
          }
          break;
        }
      }
    }
    const stubs = missingParents(ctx.rootfs, targets);
    cleanups.push(() => removeEmptyDirs(stubs));
    result = await fn(prepared);
  } catch (e) {
    failure = e;
  }
  for (const undo of cleanups.reverse()) {
    try {
      await undo();
    } catch (e) {
      // The first failure is the one reported; a cleanup's own failure when there was none.
      failure ??= e;
    }
  }
  if (failure !== undefined) throw failure;
  return result as T;
}

/** The absolute, clean container path a mount goes at. */
function mountTarget(m: PlanMount, cwd: string): string {
  const written = m.target ?? '';
  const target = posix.isAbsolute(written) ? posix.normalize(written) : posix.join('/', cwd === '' ? '/' : cwd, written);
  const clean = target.length > 1 ? target.replace(/\/+$/, '') : target;
  if (clean === '/') throw new InvalidArgumentError(`invalid mount target ${JSON.stringify(clean)}`);
  return clean;
}

/** A mount's `source`, absolute and clean ('/' for none). */
function sourcePath(m: PlanMount): string {
  return posix.join('/', m.source ?? '');
}

// ---------------------------------------------------------------------------------------
// bind

/** The host path a bind mount's source is at, made ready (undone by `cleanups`). */
async function bindSource(m: PlanMount, ctx: RunMountContext, cleanups: Cleanup[]): Promise<string> {
  const source = sourcePath(m);
  if (m.from === undefined || m.from === '') {
    const scratch = await ctx.store.scratchDir();
    cleanups.push(() => scratch.dispose());
    const dest = posix.join(scratch.path, 'context');
    await copyContext(ctx, source, dest);
    return dest;
  }
  const root = await chainRoot(ctx, fromSource(m), !m.readOnly, cleanups);
  return inRoot(root, source);
}

function fromSource(m: PlanMount): StageSource {
  if (m.fromSource === undefined) throw new CairnError('internal', `the mount source ${JSON.stringify(m.from)} was not resolved by the plan`);
  return m.fromSource;
}

/** The host path of `source` in a mounted root; BuildKit's not-found error when it is not there. */
function inRoot(root: string, source: string): string {
  const at = resolveInRoot(root, source);
  if (at.kind === undefined) throw new CopySourceNotFoundError(at.path);
  return at.hostPath;
}

/**
 * The root filesystem of `source`'s chain mounted in scratch space: a read-only view, or a
 * writable snapshot whose changes are dropped with it. An empty directory when it has no layers.
 */
async function chainRoot(ctx: RunMountContext, source: StageSource, writable: boolean, cleanups: Cleanup[]): Promise<string> {
  const scratch = await ctx.store.scratchDir();
  cleanups.push(() => scratch.dispose());
  const chainId = ctx.chainOf(source);
  if (chainId === undefined) return scratch.path;
  const sn = await ctx.store.snapshots();
  const key = `build-mount-${process.pid}-${randomHex(6)}`;
  ctx.protect(snapshotRef(key));
  const mounts = writable ? await sn.prepare(key, chainId) : await sn.view(key, chainId);
  cleanups.push(async () => {
    await sn.remove(key).catch((e: unknown) => {
      if (!(e instanceof NotFoundError)) throw e;
    });
  });
  mountAll(mounts, scratch.path, writable ? { volatile: true } : {});
  cleanups.push(() => {
    unmount(scratch.path);
  });
  return scratch.path;
}

/**
 * `source` of the build context copied to `dest` (which must not exist) as BuildKit receives
 * the context: what .dockerignore excludes left out, symlinks kept, owners 0:0, modes and
 * times kept; sockets, devices and FIFOs left out.
 */
async function copyContext(ctx: RunMountContext, source: string, dest: string): Promise<void> {
  const tree = new SourceTree(ctx.contextDir, ctx.dockerignore.length > 0 ? new PatternMatcher([...ctx.dockerignore]) : undefined);
  const found = tree.resolve(source);
  if (found.stat === undefined) throw new CopySourceNotFoundError(found.path);
  await copyEntry(tree, found.path, found.stat, dest);
}

async function copyEntry(tree: SourceTree, path: string, st: NativeStat, dest: string): Promise<void> {
  const type = st.mode & C.S_IFMT;
  if (type === C.S_IFDIR) {
    await mkdir(dest, { mode: 0o700 });
    for (const name of tree.names(path)) {
      const child = childPath(path, name);
      const cst = tree.lstat(child);
      if (cst === undefined) continue;
      await copyEntry(tree, child, cst, posix.join(dest, name));
    }
  } else if (type === C.S_IFREG) {
    await copyFile(tree.host(path), dest, fsc.COPYFILE_FICLONE | fsc.COPYFILE_EXCL);
  } else if (type === C.S_IFLNK) {
    await symlink(await readlink(tree.host(path)), dest);
  } else {
    return;
  }
  if (type !== C.S_IFLNK) {
    await chown(dest, 0, 0);
    await chmod(dest, st.mode & 0o7777);
  }
  utimensatNs(C.AT_FDCWD, dest, st.atimeNs, st.mtimeNs, C.AT_SYMLINK_NOFOLLOW);
}

// ---------------------------------------------------------------------------------------
// cache

/** The cache directory a cache mount uses, taken for this step (released by `cleanups`). */
async function cacheSource(m: PlanMount, ctx: RunMountContext, cleanups: Cleanup[]): Promise<string> {
  const id = m.id !== undefined && m.id !== '' ? m.id : posix.normalize(m.target ?? '');
  const source = sourcePath(m);
  const perms = source === '/' && (m.mode !== undefined || m.uid !== undefined || m.gid !== undefined);
  const from = m.from !== undefined && m.from !== '' ? fromSource(m) : undefined;
  // BuildKit: a cache with a source starts as that tree of `from`; with a mode or owner, as an
  // empty directory of that mode; keyed with its base either way.
  let base: string | undefined;
  if (perms) base = JSON.stringify({ mode: m.mode ?? 0o755, uid: m.uid ?? 0, gid: m.gid ?? 0 });
  else if (from !== undefined || source !== '/') base = JSON.stringify({ from: from === undefined ? '' : (ctx.chainOf(from) ?? 'scratch'), source });
  const key: CacheKey = base === undefined ? { id } : { id, base };
  const use = await acquireCacheMount(ctx.store.root, key, m.sharing ?? 'shared', async (data) => {
    if (perms) {
      await chown(data, m.uid ?? 0, m.gid ?? 0);
      await chmod(data, m.mode ?? 0o755);
      return;
    }
    await chmod(data, 0o755);
    if (from === undefined) {
      if (source !== '/') throw new CopySourceNotFoundError(source);
      return;
    }
    const undo: Cleanup[] = [];
    try {
      const root = await chainRoot(ctx, from, false, undo);
      const at = inRoot(root, source);
      const st = await lstat(at);
      if (!st.isDirectory()) throw new InvalidArgumentError(`cache mount source ${JSON.stringify(source)} is not a directory`);
      await copyTree(at, data);
    } finally {
      for (const u of undo.reverse()) await u();
    }
  });
  cleanups.push(() => use.release());
  return use.path;
}

// ---------------------------------------------------------------------------------------
// secret

/** The tmpfs this step's secret files are written in, mounted on first use. */
class SecretDir {
  private dir: string | undefined;
  private count = 0;
  constructor(
    private readonly store: Store,
    private readonly cleanups: Cleanup[],
  ) {}

  /** Write a secret file; its host path. */
  async write(data: Buffer, mode: number, uid: number, gid: number): Promise<string> {
    if (this.dir === undefined) {
      const scratch = await this.store.scratchDir();
      this.cleanups.push(() => scratch.dispose());
      const dir = posix.join(scratch.path, 'secrets');
      await mkdir(dir, { mode: 0o700 });
      // As BuildKit's secret mount: a tmpfs of its own, nodev, nosuid, the directory 0711.
      mountSys('tmpfs', dir, 'tmpfs', C.MS_NODEV | C.MS_NOSUID, 'mode=0711,size=16m');
      this.cleanups.push(() => {
        unmount(dir);
      });
      this.dir = dir;
    }
    const file = posix.join(this.dir, String(this.count++));
    await writeFile(file, data, { mode: 0o600, flag: 'wx' });
    await chown(file, uid, gid);
    await chmod(file, mode);
    return file;
  }
}

/** What a secret mount adds: a file bound read-only, a variable, or both; undefined when an optional secret is missing. */
async function secretMount(m: PlanMount, ctx: RunMountContext, dir: SecretDir): Promise<{ bind?: BindMount; env?: string } | undefined> {
  let id = m.id !== undefined && m.id !== '' ? m.id : m.source !== undefined && m.source !== '' ? m.source : '';
  if (id === '') {
    if (m.target === undefined || m.target === '') throw new InvalidArgumentError('one of source, target required');
    id = posix.basename(m.target);
  }
  const secret = findSecret(ctx.secrets, id);
  if (secret === undefined) {
    if (m.required) throw new NotFoundError(`secret ${id}: not found`);
    return undefined;
  }
  const data = readSecret(secret, ctx.env);
  const out: { bind?: BindMount; env?: string } = {};
  if (m.env !== undefined && m.env !== '') out.env = `${m.env}=${data.toString('utf8')}`;
  if (m.target !== undefined || m.env === undefined || m.env === '') {
    const target = m.target !== undefined && m.target !== '' ? m.target : `/run/secrets/${posix.basename(id)}`;
    const file = await dir.write(data, m.mode ?? 0o400, m.uid ?? 0, m.gid ?? 0);
    out.bind = { source: file, destination: mountTarget({ ...m, target }, ctx.cwd), readOnly: true };
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// mount points

/**
 * The directories above `targets` that do not exist in `rootfs` (host paths, deepest first):
 * the runtime makes them for the mount points, and they must not reach the layer.
 */
function missingParents(rootfs: string, targets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const t of targets) {
    let dir = posix.dirname(t);
    while (dir !== '/') {
      const at = resolveInRoot(rootfs, dir);
      if (at.kind !== undefined) break;
      out.add(at.hostPath);
      dir = posix.dirname(dir);
    }
  }
  return [...out].sort((a, b) => b.split('/').length - a.split('/').length);
}

/** Remove those of `dirs` (deepest first) that are empty directories; anything else stays. */
async function removeEmptyDirs(dirs: readonly string[]): Promise<void> {
  for (const d of dirs) {
    try {
      await rmdir(d);
    } catch (e) {
      const code = errnoCode(e);
      // Missing, filled by the command, or not a directory: part of the layer or nothing to do.
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw e;
    }
  }
}
