/**
 * A cairn store: one root directory holding the content store, the metadata database and
 * scratch space. Opening a store creates what is missing, refuses a root it cannot write,
 * and cleans what killed processes left behind (ingest files, scratch files, stale leases).
 *
 *   ROOT/content/blobs/sha256/<hex>   verified blobs
 *   ROOT/content/ingest/<pid>-<id>     in-progress writes
 *   ROOT/metadata.db                   SQLite (WAL)
 *   ROOT/tmp/<pid>-<id>                scratch, per process
 */
import * as fsp from 'node:fs/promises';
import { constants as fsc, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { type Digest, isDigest } from '../digest/digest.js';
import { CairnError, ConflictError, NotFoundError, errnoCode } from '../errors.js';
import { LocalContentStore } from '../content/local.js';
import { type Db, openDatabase, writeTx } from '../metadata/db.js';
import { createLease, deleteLease, expireDeadLeases, hasDeadLeases, leaseAdd, pruneLayerRecords, referencedDigests } from '../metadata/records.js';
import { type DriverName, type Snapshotter, openSnapshotter } from '../snapshot/index.js';
import { processAlive } from '../process.js';
import { removeTree } from '../rmtree.js';

export interface StoreOptions {
  /** Root directory; default: $CAIRN_ROOT, else /var/lib/cairn for root, else $XDG_DATA_HOME/cairn. */
  root?: string;
  /** Storage driver for layers (`overlay`, `native`); default: the one recorded in the store, else the machine's best. */
  storageDriver?: DriverName;
}

export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CAIRN_ROOT) return resolve(env.CAIRN_ROOT);
  if (process.getuid?.() === 0) return '/var/lib/cairn';
  const data = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(data, 'cairn');
}

export class Store {
  readonly root: string;
  readonly content: LocalContentStore;
  readonly db: Db;
  private closed = false;

  private snapshotter: Promise<Snapshotter> | undefined;
  private storageDriver: DriverName | undefined;

  private constructor(root: string, content: LocalContentStore, db: Db) {
    this.root = root;
    this.content = content;
    this.db = db;
  }

  static async open(opts: StoreOptions = {}): Promise<Store> {
    const root = resolve(opts.root ?? defaultRoot());
    await ensureWritableDir(root);
    const content = new LocalContentStore(join(root, 'content'));
    await content.init();
    await fsp.mkdir(join(root, 'tmp'), { recursive: true });
    await cleanTmp(join(root, 'tmp'));
    const db = openDatabase(join(root, 'metadata.db'));
    const store = new Store(root, content, db);
    store.storageDriver = opts.storageDriver;
    // A killed cairn's lease goes, and so does the content it protected that nothing else uses.
    // Asked first with a read, so that read-only commands do not queue for the write lock.
    const orphaned = hasDeadLeases(db, processAlive) ? writeTx(db, () => expireDeadLeases(db, processAlive)) : [];
    if (orphaned.length > 0) {
      await store.collectGarbage(orphaned.filter((d) => isDigest(d)));
      await store.removeOrphanSnapshots(orphaned);
    }
    return store;
  }

  /**
   * Snapshots a dead process's lease protected: the ones it was still writing (active), and
   * the committed ones that no image uses and no live lease protects (children first).
   */
  private async removeOrphanSnapshots(keys: string[]): Promise<void> {
    const row = this.db.prepare('SELECT kind FROM snapshots WHERE key = ?');
    const used = this.db.prepare('SELECT 1 FROM image_layers WHERE chain_id = ? LIMIT 1');
    const leased = this.db.prepare('SELECT 1 FROM lease_resources WHERE digest = ? LIMIT 1');
    let left = keys.filter((k) => {
      const r = row.get(k) as { kind: string } | undefined;
      return r !== undefined && (r.kind === 'active' || (r.kind === 'committed' && used.get(k) === undefined && leased.get(k) === undefined));
    });
    if (left.length === 0) return;
    const sn = await this.snapshots();
    for (let progress = true; progress && left.length > 0; ) {
      progress = false;
      const next: string[] = [];
      for (const k of left) {
        try {
          await sn.remove(k);
          progress = true;
        } catch (e) {
          // A parent of another orphan goes in a later pass; one something else still needs stays.
          if (e instanceof ConflictError) next.push(k);
          else if (!(e instanceof NotFoundError)) throw e;
        }
      }
      left = next;
    }
  }

  /**
   * The store's snapshotter (unpacked layers), opened on first use: commands that only read
   * metadata never pay for it. The driver is recorded in the store on first use.
   */
  snapshots(): Promise<Snapshotter> {
    this.snapshotter ??= openSnapshotter({ root: this.root, db: this.db }, this.storageDriver);
    return this.snapshotter;
  }

  /** A fresh scratch directory owned by this process; removed by `dispose` or at the next start-up. */
  async scratchDir(): Promise<{ path: string; dispose: () => Promise<void> }> {
    const path = join(this.root, 'tmp', `${process.pid}-${randomBytes(6).toString('hex')}`);
    await fsp.mkdir(path, { recursive: true });
    return {
      path,
      dispose: async () => {
        await removeTree(path);
      },
    };
  }

  /**
   * Run `fn` holding a lease: content added to it with `protect` survives any concurrent
   * garbage collection until `fn` finishes (or this process dies).
   */
  async withLease<T>(fn: (protect: (d: Digest) => void) => Promise<T>): Promise<T> {
    const id = writeTx(this.db, () => createLease(this.db));
    try {
      return await fn((d) => writeTx(this.db, () => leaseAdd(this.db, id, d)));
    } finally {
      writeTx(this.db, () => deleteLease(this.db, id));
    }
  }

  /**
   * Remove blobs among `candidates` that nothing references any more (no image, no lease),
   * and layer records no image uses. Runs under the write lock so no writer sees a half state.
   * The files are removed under the lock too: otherwise another process could record an image
   * using a blob between this decision and the unlink (its existence check would pass) and be
   * left naming a missing blob. Returns the digests removed.
   */
  async collectGarbage(candidates: Iterable<Digest>): Promise<Digest[]> {
    return writeTx(this.db, () => {
      const dropped = pruneLayerRecords(this.db);
      const refs = referencedDigests(this.db);
      const out = new Set<Digest>();
      for (const d of [...candidates, ...dropped]) if (!refs.has(d)) out.add(d);
      for (const d of out) rmSync(this.content.blobPath(d), { force: true });
      return [...out];
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}


/** mkdir -p that reports the real error: Node's recursive mkdir says ENOENT on a read-only file system. */
async function mkdirs(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw e;
    await mkdirs(dirname(dir));
    await mkdirs(dir);
  }
}

async function ensureWritableDir(root: string): Promise<void> {
  try {
    await mkdirs(root);
    await fsp.access(root, fsc.W_OK | fsc.X_OK);
    // access() is not enough on a read-only mount for root; probe with a real write.
    const probe = join(root, `.probe-${process.pid}`);
    await fsp.writeFile(probe, '');
    await fsp.rm(probe);
  } catch (e) {
    const code = errnoCode(e);
    const why = code === 'EROFS' ? 'read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOTDIR' ? 'not a directory' : (e as Error).message;
    throw new CairnError('permission', `cannot use ${root} as the store root: ${why}`, { cause: e });
  }
}

async function cleanTmp(dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir)) {
    const pid = Number(name.split('-', 1)[0]);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
    await removeTree(join(dir, name));
  }
}
