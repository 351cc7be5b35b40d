/**
 * The persistent directories of `RUN --mount=type=cache`, kept in the store and shared by every
 * build, never part of a layer (BuildKit's "persistent cache dir" refs):
 *
 *     ROOT/build/cache-mounts/<sha256 of the key>/meta.json       {"id", "key", "created"}
 *     ROOT/build/cache-mounts/<sha256 of the key>/<n>/data/       what RUN sees at the target
 *     ROOT/build/cache-mounts/<sha256 of the key>/<n>/lock        flock(2) of its users; mtime: last use
 *
 * The key is the cache's id alone, or, when the cache starts from something (`from=`/`source=`)
 * or has its own mode or owner, the id with those — BuildKit keys a cache by its id and its base
 * ref, so such caches are distinct. Instance 0 is the cache; more instances appear only when a
 * `sharing=private` user finds every existing one busy (BuildKit makes another ref of the same
 * key then, and later private users reuse a free one).
 *
 * Sharing, with flock on the instance's lock file: `shared` holds a shared lock on instance 0
 * (many at once), `locked` an exclusive one (waiting for the others), `private` an exclusive
 * lock on the first free instance, else on a new one. Waiting polls (the addon's flock blocks
 * the event loop), so a build's other stages keep running meanwhile. An instance is made
 * complete in a `.new-PID-…` directory and renamed into place.
 *
 * Garbage collection: nothing in the metadata database refers to these (no migration); the
 * directory listing is the record. {@link listCacheMounts} reports every cache (id, instances,
 * last use, whether in use); {@link pruneCacheMounts} removes the instances no one holds (an
 * exclusive lock taken without waiting), and what killed processes left half made.
 */
import { randomBytes, createHash } from 'node:crypto';
import { closeSync, constants as fsc, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CairnError, errnoCode } from '../errors.js';
import { constants, flock } from '../native/index.js';
import { processAlive } from '../process.js';
import { removeTree } from '../rmtree.js';
import { diskUsage } from '../snapshot/index.js';

export type CacheSharing = 'shared' | 'private' | 'locked';

/** What names a cache: its id and, when it has one, its base. */
export interface CacheKey {
  id: string;
  /** The identity of its initial contents and mode: part of the key when given. */
  base?: string;
}

/** A cache directory in use: its data directory, until `release`. */
export interface CacheMountUse {
  /** The directory RUN sees. */
  path: string;
  /** The instance (0 unless a private user found the others busy). */
  instance: number;
  release(): void;
}

export interface CacheMountInfo {
  /** The directory name: sha256 of the key. */
  hash: string;
  id: string;
  key: string;
  created: string;
  instances: Array<{ instance: number; path: string; lastUsed: Date; inUse: boolean }>;
}

/** How often a waiting user asks for the lock again. */
const POLL_MS = 25;

/** ROOT/build/cache-mounts. */
export function cacheMountsDir(root: string): string {
  return join(root, 'build', 'cache-mounts');
}

/** The key's text and its directory name. */
export function cacheKeyHash(key: CacheKey): { text: string; hash: string } {
  const text = key.base === undefined ? key.id : JSON.stringify([key.id, key.base]);
  return { text, hash: createHash('sha256').update(text).digest('hex') };
}

/**
 * Take the cache `key` for one RUN, making it (with `populate`, called on its fresh, empty data
 * directory) when it does not exist yet.
 */
export async function acquireCacheMount(root: string, key: CacheKey, sharing: CacheSharing, populate: (data: string) => Promise<void>): Promise<CacheMountUse> {
  const { text, hash } = cacheKeyHash(key);
  const entry = join(cacheMountsDir(root), hash);
  for (;;) {
    // (again each time round: a prune may have removed the entry meanwhile)
    mkdirSync(entry, { recursive: true, mode: 0o700 });
    writeMeta(entry, key.id, text);
    if (sharing === 'private') {
      for (const n of instances(entry)) {
        const fd = await lockInstance(entry, n, constants.LOCK_EX, false);
        if (fd !== undefined) return use(entry, n, fd);
      }
      const n = await makeInstance(entry, populate);
      if (n === undefined) continue;
      const fd = await lockInstance(entry, n, constants.LOCK_EX, false);
      if (fd !== undefined) return use(entry, n, fd);
      continue;
    }
    // Made here, or by another process first: either way instance 0 is there now.
    if (!instances(entry).includes(0)) await makeInstance(entry, populate, 0);
    const fd = await lockInstance(entry, 0, sharing === 'locked' ? constants.LOCK_EX : constants.LOCK_SH, true);
    if (fd !== undefined) return use(entry, 0, fd);
  }
}

function use(entry: string, n: number, fd: number): CacheMountUse {
  const now = new Date();
  utimesSync(join(entry, String(n), 'lock'), now, now);
  let released = false;
  return {
    path: join(entry, String(n), 'data'),
    instance: n,
    release: () => {
      if (released) return;
      released = true;
      // Closing the file releases the lock.
      closeSync(fd);
    },
  };
}

/** meta.json of a cache entry (the same text every time: written whole, renamed into place). */
function writeMeta(entry: string, id: string, key: string): void {
  const file = join(entry, 'meta.json');
  if (statSync(file, { throwIfNoEntry: false }) !== undefined) return;
  const tmp = join(entry, `.meta-${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, JSON.stringify({ id, key, created: new Date().toISOString() }) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** The instance numbers present, in order. */
function instances(entry: string): number[] {
  let names: string[];
  try {
    names = readdirSync(entry);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
  return names.filter((n) => /^(0|[1-9]\d*)$/.test(n)).map(Number).sort((a, b) => a - b);
}

/**
 * Make an instance (number `want`, else the next free one) whose data `populate` fills;
 * undefined when another process made that number first.
 */
async function makeInstance(entry: string, populate: (data: string) => Promise<void>, want?: number): Promise<number | undefined> {
  const tmp = join(entry, `.new-${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(tmp, { mode: 0o700 });
  try {
    mkdirSync(join(tmp, 'data'), { mode: 0o755 });
    writeFileSync(join(tmp, 'lock'), '', { mode: 0o600 });
    await populate(join(tmp, 'data'));
    const existing = instances(entry);
    const n = want ?? (existing.length === 0 ? 0 : existing[existing.length - 1]! + 1);
    try {
      renameSync(tmp, join(entry, String(n)));
    } catch (e) {
      if (errnoCode(e) === 'ENOTEMPTY' || errnoCode(e) === 'EEXIST') return undefined;
      throw e;
    }
    return n;
  } finally {
    await removeTree(tmp);
  }
}

/**
 * flock an instance's lock file with `op`; waiting when `wait`, else undefined when it is
 * held. Undefined too when the instance was removed meanwhile (a prune): the caller looks again.
 */
async function lockInstance(entry: string, n: number, op: number, wait: boolean): Promise<number | undefined> {
  const path = join(entry, String(n), 'lock');
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDWR);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  try {
    for (;;) {
      try {
        flock(fd, op | constants.LOCK_NB);
        break;
      } catch (e) {
        if (errnoCode(e) !== 'EAGAIN' && errnoCode(e) !== 'EWOULDBLOCK') throw e;
        if (!wait) {
          closeSync(fd);
          return undefined;
        }
        await sleep(POLL_MS);
      }
    }
    const now = statSync(path, { throwIfNoEntry: false });
    if (now === undefined || now.ino !== fstatSync(fd).ino) {
      closeSync(fd);
      return undefined;
    }
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Every cache in the store. */
export function listCacheMounts(root: string): CacheMountInfo[] {
  const dir = cacheMountsDir(root);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
  const out: CacheMountInfo[] = [];
  for (const hash of names.filter((n) => /^[0-9a-f]{64}$/.test(n)).sort()) {
    const entry = join(dir, hash);
    const meta = readMeta(entry);
    out.push({
      hash,
      id: meta?.id ?? '',
      key: meta?.key ?? '',
      created: meta?.created ?? '',
      instances: instances(entry).map((n) => {
        const lock = join(entry, String(n), 'lock');
        const st = statSync(lock, { throwIfNoEntry: false });
        return { instance: n, path: join(entry, String(n), 'data'), lastUsed: st?.mtime ?? new Date(0), inUse: st !== undefined && isHeld(lock) };
      }),
    });
  }
  return out;
}

function readMeta(entry: string): { id: string; key: string; created: string } | undefined {
  let text: string;
  try {
    text = readFileSync(join(entry, 'meta.json'), 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as { id: string; key: string; created: string };
  } catch (e) {
    throw new CairnError('data-corrupt', `cache mount record ${join(entry, 'meta.json')} is not JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** Whether someone holds the lock file at `path` (shared or exclusive). */
function isHeld(path: string): boolean {
  const fd = openSync(path, fsc.O_RDWR);
  try {
    flock(fd, constants.LOCK_EX | constants.LOCK_NB);
    return false;
  } catch (e) {
    if (errnoCode(e) === 'EAGAIN' || errnoCode(e) === 'EWOULDBLOCK') return true;
    throw e;
  } finally {
    closeSync(fd);
  }
}

/** A cache instance a prune removed. */
export interface PrunedCacheMount {
  /** Its data path (as it was). */
  path: string;
  hash: string;
  instance: number;
  /** Bytes of disk its directory held, measured once it was out of the way. */
  bytes: number;
}

/**
 * Remove the cache instances no build uses (and that `filter`, given, selects), the entries
 * left without instances, and what killed processes left half made. Returns the removed
 * instances with what each gave back.
 */
export async function pruneCacheMounts(root: string, filter: (c: CacheMountInfo, instance: number) => boolean = () => true): Promise<PrunedCacheMount[]> {
  const removed: PrunedCacheMount[] = [];
  for (const c of listCacheMounts(root)) {
    const entry = join(cacheMountsDir(root), c.hash);
    for (const name of readdirSync(entry)) {
      const m = /^\.(?:new|trash|meta)-(\d+)-/.exec(name);
      if (m !== null && !processAlive(Number(m[1]))) await removeTree(join(entry, name));
    }
    for (const inst of c.instances) {
      if (!filter(c, inst.instance)) continue;
      const fd = await lockInstance(entry, inst.instance, constants.LOCK_EX, false);
      if (fd === undefined) continue;
      const trash = join(entry, `.trash-${process.pid}-${randomBytes(6).toString('hex')}`);
      try {
        renameSync(join(entry, String(inst.instance)), trash);
      } finally {
        closeSync(fd);
      }
      const bytes = (await diskUsage(trash)).size;
      await removeTree(trash);
      removed.push({ path: inst.path, hash: c.hash, instance: inst.instance, bytes });
    }
    if (instances(entry).length === 0 && readdirSync(entry).every((n) => n === 'meta.json')) await removeTree(entry);
  }
  return removed;
}
