/**
 * Performing mounts: a snapshotter only describes mounts ({@link Mount} values); `mountAll`
 * makes them real at a mount point and `unmount` takes them down again. (The only other
 * mount(2) in this module is detect.ts's probe.)
 *
 * Overlay mounts go through the new mount API, one "lowerdir+" per layer, where the kernel has
 * it (Linux 6.8+: up to 500 lower layers). Older kernels get the classic option string, capped
 * at one page; to fit deep chains in it, the layer paths are given relative to their common
 * directory (short names: "12/fs:11/fs:...") with the process briefly chdir'd there, as
 * Docker's overlay2 does.
 */
import { existsSync, readFileSync, realpathSync, rmSync, statSync, type BigIntStats as Stats } from 'node:fs';
import { release as osRelease } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { CairnError, ConflictError, InvalidArgumentError, NotFoundError, UnsupportedError } from '../errors.js';
import { constants, errnoCode, kernelAtLeast, mount, overlayLegacyData, overlayMount, overlaySupportsLowerdirPlus, umount2, type OverlayMountOptions } from '../native/index.js';
import type { Mount } from './types.js';

/** mount(2)'s data is one page, NUL included. */
const LEGACY_DATA_MAX = 4095;

/** The kernel's OVL_MAX_STACK: lower layers one overlay mount can stack. */
export const OVERLAY_MAX_STACK = 500;

export interface MountOptions {
  /** How overlay mounts are made: 'auto' (default) uses "lowerdir+" where the kernel supports it. */
  overlayMethod?: 'auto' | 'lowerdir+' | 'legacy';
  /**
   * The writable layer's contents need not survive a crash (a container removed when it ends):
   * a writable overlay is mounted "volatile" — no sync of the upper filesystem, neither on the
   * container's fsyncs nor at unmount, where an overlay otherwise syncs the whole filesystem
   * its upper directory lives on (Podman mounts `--rm` containers so). The kernel leaves a
   * marker in the work directory that refuses a later mount; a volatile mount clears the one an
   * earlier volatile mount left. Ignored before Linux 5.10, which does not have the option.
   */
  volatile?: boolean;
}

/**
 * Mount `mounts` in order at `target` (an existing directory); a mount with its own `target`
 * goes at that path relative to `target`. If one fails, those already made are unmounted.
 */
export function mountAll(mounts: readonly Mount[], target: string, opts: MountOptions = {}): void {
  const root = resolve(target);
  const done: string[] = [];
  try {
    for (const m of mounts) {
      const at = m.target === undefined ? root : within(root, m.target);
      mountOne(m, at, opts);
      done.push(at);
    }
  } catch (e) {
    const stuck: string[] = [];
    for (const at of done.reverse()) {
      try {
        umount2(at, constants.MNT_DETACH);
      } catch (undoErr) {
        // Keep undoing the others; the leftover is reported with the original failure below.
        stuck.push(`${at} (${(undoErr as Error).message})`);
      }
    }
    if (stuck.length > 0) {
      throw new CairnError('internal', `${(e as Error).message}; and could not undo the mounts at ${stuck.join(', ')}`, { cause: e });
    }
    throw e;
  }
}

/** Unmount everything mounted at `target` (stacked mounts too). Returns how many were unmounted. */
export function unmount(target: string): number {
  const at = resolve(target);
  for (let n = 0; ; n++) {
    try {
      umount2(at, 0);
    } catch (e) {
      const code = errnoCode(e);
      // EINVAL: not (or no longer) a mount point: done.
      if (code === 'EINVAL') return n;
      if (code === 'ENOENT') {
        if (n > 0) return n;
        throw new NotFoundError(`cannot unmount ${at}: no such directory`, { cause: e });
      }
      if (code === 'EBUSY') throw new ConflictError(`cannot unmount ${at}: it is busy (a process uses files under it)`, { cause: e });
      throw mountError(`cannot unmount ${at}`, e);
    }
  }
}

/** Whether something is mounted at `dir` itself (per /proc/self/mountinfo). */
export function isMountedAt(dir: string): boolean {
  const at = resolve(dir);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line !== '' && unescapeMountinfo(line.split(' - ')[0]!.split(' ')[4]!) === at) return true;
  }
  return false;
}

/**
 * Lazily detach every mount at or below `dir` (a dead process's scratch space: its step's
 * overlay, views, a secret's tmpfs), deepest first, so the directory can be removed; returns
 * how many. Nothing still uses them: their process is gone.
 */
export function unmountBelow(dir: string): number {
  const base = resolve(dir);
  const points: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line === '') continue;
    const at = unescapeMountinfo(line.split(' - ')[0]!.split(' ')[4]!);
    if (at === base || at.startsWith(`${base}/`)) points.push(at);
  }
  points.sort((a, b) => b.length - a.length);
  let n = 0;
  for (const at of points) {
    try {
      umount2(at, constants.MNT_DETACH);
      n++;
    } catch (e) {
      // Gone already (detached with its parent), or not a mount point any more.
      if (errnoCode(e) !== 'EINVAL' && errnoCode(e) !== 'ENOENT') throw e;
    }
  }
  return n;
}

/**
 * Mount points (from /proc/self/mountinfo) that use directory `dir`: overlays naming it as a
 * lower, upper or work directory, and bind mounts of it. Used to refuse committing or removing
 * a snapshot that is still mounted.
 */
export function mountsUsing(dir: string): string[] {
  let st: Stats;
  try {
    st = statSync(dir, { bigint: true });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
  const want = resolve(dir);
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line === '') continue;
    // id parent major:minor root mountpoint options [optional fields] - fstype source superoptions
    const [pre, post] = line.split(' - ');
    const fields = pre!.split(' ');
    const at = unescapeMountinfo(fields[4]!);
    const [fstype, , superOpts] = (post ?? '').split(' ');
    if (fstype === 'overlay') {
      for (const opt of (superOpts ?? '').split(',')) {
        const eq = opt.indexOf('=');
        const key = opt.slice(0, eq);
        if (!['lowerdir', 'lowerdir+', 'upperdir', 'workdir', 'datadir+'].includes(key)) continue;
        const paths = key === 'lowerdir' ? splitLegacyLowerdir(opt.slice(eq + 1)) : [opt.slice(eq + 1)];
        if (paths.some((p) => unescapeMountinfo(p) === want)) out.push(at);
      }
      continue;
    }
    if (fields[2] !== devString(st.dev)) continue;
    try {
      const m = statSync(at, { bigint: true });
      if (m.dev === st.dev && m.ino === st.ino) out.push(at);
    } catch (e) {
      // A mount point we cannot stat (gone meanwhile, or not ours to see) is not this directory.
      if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'EACCES') throw e;
    }
  }
  return [...new Set(out)];
}

/** "major:minor" of a glibc dev_t, as mountinfo writes it. */
function devString(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** mountinfo escapes space, tab, newline, backslash (and overlay: comma) as \ooo. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** A classic "lowerdir=a:b" value: layers separated by unescaped ':'. */
function splitLegacyLowerdir(v: string): string[] {
  return v.split(/(?<!\\):/).map((p) => p.replace(/\\([:,\\])/g, '$1'));
}

/** `sub` under `root`, refusing `..` escapes and symlinks on the way (a mounted tree may hold any). */
function within(root: string, sub: string): string {
  const p = resolve(root, sub);
  if (p !== root && !p.startsWith(root + sep)) throw new InvalidArgumentError(`mount target ${sub} is outside ${root}`);
  let real: string;
  try {
    real = realpathSync(p);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new NotFoundError(`mount target ${p} does not exist`, { cause: e });
    throw e;
  }
  if (real !== resolve(realpathSync(root), sub)) throw new InvalidArgumentError(`mount target ${sub} under ${root} goes through a symbolic link`);
  return p;
}

function mountOne(m: Mount, at: string, opts: MountOptions): void {
  const readonly = m.options.includes('ro');
  if (m.type === 'bind') {
    const flags = constants.MS_BIND | (m.options.includes('rbind') ? constants.MS_REC : 0);
    try {
      mount(m.source, at, null, flags, null);
    } catch (e) {
      throw mountError(`cannot bind-mount ${m.source} at ${at}`, e);
    }
    if (readonly) {
      try {
        mount(null, at, null, constants.MS_REMOUNT | constants.MS_BIND | constants.MS_RDONLY, null);
      } catch (e) {
        const err = mountError(`cannot make the bind mount at ${at} read-only`, e);
        try {
          umount2(at, constants.MNT_DETACH);
        } catch (undoErr) {
          throw new CairnError('internal', `${err.message}; and could not undo it: ${(undoErr as Error).message}`, { cause: e });
        }
        throw err;
      }
    }
    return;
  }
  if (m.type !== 'overlay') throw new InvalidArgumentError(`unknown mount type ${String((m as { type: unknown }).type)}`);
  const lowerdirs = m.lowerdirs ?? [];
  const base: OverlayMountOptions = {
    lowerdirs,
    target: at,
    readonly,
    options: m.options.filter((o) => o !== 'ro' && o !== 'rw'),
  };
  if (m.upperdir !== undefined) base.upperdir = m.upperdir;
  if (m.workdir !== undefined) base.workdir = m.workdir;
  if (opts.volatile === true && m.upperdir !== undefined && m.workdir !== undefined && volatileSupported()) {
    // left by an earlier volatile mount; overlay refuses to mount again while it is there
    const mark = join(m.workdir, 'work', 'incompat', 'volatile');
    if (existsSync(mark)) rmSync(mark, { recursive: true, force: true });
    base.options = [...(base.options ?? []), 'volatile'];
  }
  const method = opts.overlayMethod ?? 'auto';
  try {
    if (method === 'lowerdir+' || (method === 'auto' && overlaySupportsLowerdirPlus())) {
      // The fs context's generic "source" key names the mount in /proc/mounts (else "none").
      const options = [...(base.options ?? []), `source=${m.source}`];
      overlayMount({ ...base, options, method: 'lowerdir+' });
    } else {
      legacyOverlayMount(base);
    }
  } catch (e) {
    if (e instanceof CairnError) throw e;
    const what = `cannot mount overlay of ${lowerdirs.length} lower layers at ${at}`;
    if (errnoCode(e) === 'EINVAL' && lowerdirs.length > OVERLAY_MAX_STACK) {
      throw new UnsupportedError(`${what}: overlayfs stacks at most ${OVERLAY_MAX_STACK} lower layers (${(e as Error).message})`, { cause: e });
    }
    throw mountError(what, e);
  }
}

/** Whether overlayfs takes "volatile" (Linux 5.10+). */
export function volatileSupported(release = osRelease()): boolean {
  return kernelAtLeast(5, 10, release);
}

/** The classic option string, made short by naming layers relative to their common directory. */
function legacyOverlayMount(base: OverlayMountOptions): void {
  const paths = [...base.lowerdirs, base.upperdir, base.workdir].filter((p): p is string => typeof p === 'string');
  const common = commonDir(paths);
  // Absolute paths where they fit (so /proc/self/mountinfo names the layers in full, which
  // mountsUsing relies on); short relative names only where they would not.
  if (common === undefined || !isAbsolute(common) || Buffer.byteLength(overlayLegacyData(base)) <= LEGACY_DATA_MAX) {
    overlayMount({ ...base, method: 'legacy' });
    return;
  }
  const rel = (p: string | number): string | number => (typeof p === 'string' ? relative(common, p) || '.' : p);
  const short: OverlayMountOptions = { ...base, lowerdirs: base.lowerdirs.map(rel), method: 'legacy' };
  if (base.upperdir !== undefined) short.upperdir = rel(base.upperdir);
  if (base.workdir !== undefined) short.workdir = rel(base.workdir);
  const cwd = process.cwd();
  // Nothing else runs between the two chdirs: every call in between is synchronous.
  process.chdir(common);
  try {
    overlayMount(short);
  } finally {
    process.chdir(cwd);
  }
}

function commonDir(paths: readonly string[]): string | undefined {
  if (paths.length === 0) return undefined;
  let parts = resolve(paths[0]!).split(sep);
  for (const p of paths.slice(1)) {
    const q = resolve(p).split(sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  // Never the layer itself: the common directory of a single path is its parent.
  return parts.length <= 1 ? sep : parts.join(sep) || sep;
}

function mountError(what: string, e: unknown): CairnError {
  const code = errnoCode(e);
  const msg = `${what}: ${(e as Error).message}`;
  if (code === 'EPERM' || code === 'EACCES') return new CairnError('permission', `${msg} (mounting needs root)`, { cause: e });
  if (code === 'ENODEV' || code === 'ENOSYS') return new UnsupportedError(msg, { cause: e });
  if (code === 'ENOENT') return new NotFoundError(msg, { cause: e });
  return new CairnError('internal', msg, { cause: e });
}
