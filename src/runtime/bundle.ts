/**
 * An OCI bundle on disk: the spec made safe for its root filesystem, then written as
 * `config.json`.
 *
 * `secureSpec` resolves every path the runtime will create or mount over inside the root
 * filesystem (mount destinations and the working directory) with rootpath, creates what is
 * missing, and rewrites the spec with the resolved, symlink-free paths: the runtime is never
 * handed a path through which a symlink of the image leads onto the host (crun 1.8 follows
 * some). A destination below another mount is resolved inside what that mount shows: below
 * a bind mount, in the bind's source; below a file system the runtime makes fresh (/dev's
 * tmpfs, /proc, /sys, a tmpfs), nothing from the image is there and the path is only cleaned.
 * The kernel file systems' own mount points (/proc, /sys, /dev, ...) must be plain
 * directories in the image: a symlink there is refused, as runc refuses it.
 */
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { CairnError, InvalidArgumentError, NotFoundError, PreconditionError, errnoCode } from '../errors.js';
import { ensureInRoot, resolveInRoot } from './rootpath.js';
import type { OciMount, OciSpec } from './spec.js';

/** Mount types whose file system the runtime makes new: nothing of the image shows below them. */
const FRESH_TYPES = new Set(['proc', 'sysfs', 'tmpfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2']);

/** Mount points that must be what they say in the image (no symlink on the way). */
const KERNEL_MOUNTS = new Set(['/proc', '/sys', '/dev']);

function clean(p: string): string {
  return posix.normalize(`/${p}`).replace(/\/+$/, '') || '/';
}

function under(parent: string, child: string): string | undefined {
  if (parent === '/') return child;
  if (child === parent) return '/';
  return child.startsWith(parent + '/') ? child.slice(parent.length) : undefined;
}

function bindKind(source: string): 'dir' | 'file' {
  try {
    return statSync(source).isDirectory() ? 'dir' : 'file';
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new NotFoundError(`invalid mount config: bind source path does not exist: ${source}`, { cause: e });
    throw new CairnError('internal', `cannot use bind source ${source}: ${(e as Error).message}`, { cause: e });
  }
}

/** The deepest of `mounts` whose destination holds container path `p` (or is `p`). */
function holderOf(mounts: readonly OciMount[], p: string): OciMount | undefined {
  let holder: OciMount | undefined;
  for (const m of mounts) {
    if (under(m.destination, p) === undefined) continue;
    if (holder === undefined || m.destination.length >= holder.destination.length) holder = m;
  }
  return holder;
}

/**
 * Resolve `dest` (a container path) where it will be, and create it there as `kind` when
 * missing: resolved in the root filesystem; when that lands below an earlier mount, the
 * rest is resolved again inside what that mount shows (a bind's source: clamped there; a
 * fresh file system: nothing of the image to resolve), until it stays put. Returns the
 * container path to hand to the runtime.
 */
function place(spec: OciSpec, earlier: readonly OciMount[], dest: string, kind: 'dir' | 'file', what: string): string {
  let fsRoot = spec.root.path;
  let prefix = '/';
  let rel = clean(dest);
  let current: OciMount | undefined;
  // Each round moves to a deeper mount, so there are at most as many rounds as mounts.
  for (let round = 0; round <= earlier.length; round++) {
    const resolved = resolveInRoot(fsRoot, rel);
    const full = clean(`${prefix}/${resolved.path}`);
    const holder = holderOf(earlier, full);
    // There already, as what it must be, where nothing is mounted over it: nothing to make (a
    // second walk by ensureInRoot would find the same path).
    if (holder === current && resolved.kind === kind) return full;
    if (holder === current) break;
    if (holder === undefined) break;
    if (holder.type !== 'bind') {
      if (FRESH_TYPES.has(holder.type)) return full;
      throw new InvalidArgumentError(`${what} ${dest} is below a mount of type ${holder.type}, which cairn cannot check`);
    }
    current = holder;
    fsRoot = holder.source;
    prefix = holder.destination;
    rel = under(holder.destination, full)!;
  }
  return clean(`${prefix}/${ensureInRoot(fsRoot, rel, kind, what).path}`);
}

/**
 * The spec with every mount destination and the working directory resolved (and made) inside
 * the root filesystem. The root filesystem must be mounted at `spec.root.path`.
 */
export function secureSpec(spec: OciSpec): OciSpec {
  const done: OciMount[] = [];
  for (const m of spec.mounts) {
    const dest = clean(m.destination);
    const kind = m.type === 'bind' ? bindKind(m.source) : 'dir';
    const placed = place(spec, done, dest, kind, 'mount target');
    if (KERNEL_MOUNTS.has(dest) && placed !== dest) throw new PreconditionError(`the image's ${dest} is a symbolic link (to ${placed}): refusing to mount ${m.type} there`);
    done.push({ ...m, destination: placed });
  }
  const cwd = place(spec, done, spec.process.cwd, 'dir', 'working directory');
  return { ...spec, mounts: done, process: { ...spec.process, cwd } };
}

/** The spec as JSON, with 64-bit integers (RLIM_INFINITY) written exactly. */
export function specJson(spec: OciSpec): string {
  const marker = '\u0000bigint:';
  const text = JSON.stringify(spec, (_k, v: unknown) => (typeof v === 'bigint' ? `${marker}${v.toString()}` : v), 2);
  return text.replace(/"\\u0000bigint:(\d+)"/g, '$1');
}

/** Write `spec` as `dir/config.json` (made atomically; `dir` created). Returns the file's path. */
export function writeBundle(dir: string, spec: OciSpec): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'config.json');
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, specJson(spec), { mode: 0o600 });
  renameSync(tmp, file);
  return file;
}
