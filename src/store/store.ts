/**
 * A cairn store: one root directory holding the content store, the metadata database and
 * scratch space. Opening a store creates what is missing, refuses a root it cannot write,
 * and cleans what killed processes left behind (ingest files, scratch files, stale leases).
 *
 *   ROOT/content/blobs/sha256/<hex>   verified blobs
 *   ROOT/content/ingest/<pid>-<id>     in-progress writes
 *   ROOT/metadata.db                   SQLite (WAL)
 *   ROOT/tmp/<pid>-<id>                scratch, per process
 *   ROOT/volumes/...                   volumes (volume/: its own; swept after each collection, see afterGc)
 */
import * as fsp from 'node:fs/promises';
import { accessSync, constants as fsc, mkdirSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from '../random.js';
import { CairnError, errnoCode, isNoSpace, NotFoundError } from '../errors.js';
import type { ContentStore } from '../content/content.js';
import { LocalContentStore } from '../content/local.js';
import { type Db, durableWriteTx, openDatabase, trimLog, writeTx } from '../metadata/db.js';
import { createLease, deadCollections, deadLeaseSnapshots, deadRemovals, removed as removedRecord, deleteLease, expireDeadLeases, hasDeadLeases, leaseAdd, listImages, recordImageRefs, setStoreSetting, storeSetting } from '../metadata/records.js';
import type { Ref } from '../metadata/refs.js';
import { collectGarbage, type GcOptions, type GcResult } from './gc.js';
import { type DriverName, type Snapshotter, openSnapshotter, recordedDriver, unmountBelow } from '../snapshot/index.js';
import { processAlive } from '../process.js';
import { removeTree } from '../rmtree.js';

export interface StoreOptions {
  /** Root directory; default: $CAIRN_ROOT, else /var/lib/cairn for root, else $XDG_DATA_HOME/cairn. */
  root?: string;
  /** Storage driver for layers (`overlay`, `native`); default: the one recorded in the store, else the machine's best. */
  storageDriver?: DriverName;
  /**
   * Whether the store keeps the compressed blob of a layer it has unpacked and can re-emit
   * from its files. `keep` (the default): save and push keep the layer's digest. `drop`:
   * such a layer is on disk once (its snapshot and tar-split record, about half the disk of
   * a compressed layer kept twice), and save writes it uncompressed. Recorded in the store
   * when given; switching to `drop` removes the compressed blobs kept so far.
   */
  compressedBlobs?: CompressedBlobs;
  /**
   * The process ends right after close() (the command line): close() then leaves the metadata
   * database's connection to end with the process. Closing it would checkpoint SQLite's
   * write-ahead log (two fsyncs, ~0.8 ms of every command); left, the log is read back by the
   * next process to open the store (SQLite's recovery, as after a kill: a few KB per command)
   * and checkpointed when it reaches SQLite's limit (1,000 pages). What was committed is in the
   * log either way. Never for a process that goes on: its connection would stay open.
   */
  endsWithProcess?: boolean;
}

export type CompressedBlobs = 'keep' | 'drop';

const COMPRESSED_BLOBS_KEY = 'compressed-blobs';

/** Protection from garbage collection for work in progress (see {@link Store.lease}). */
export interface Lease {
  protect(ref: Ref): void;
  release(): void;
  /**
   * The work failed: the active snapshots it protected give their disk space back at once
   * (Snapshotter.reclaim: files first, while the metadata may be unwritable on a full disk),
   * then the lease is released; the records go with the next collection.
   */
  abandon(): Promise<void>;
}

export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CAIRN_ROOT) return resolve(env.CAIRN_ROOT);
  if (process.getuid?.() === 0) return '/var/lib/cairn';
  const data = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(data, 'cairn');
}

export class Store {
  readonly root: string;
  readonly content: ContentStore;
  readonly db: Db;
  private closed = false;
  private endsWithProcess = false;

  private snapshotter: Promise<Snapshotter> | undefined;
  /** Run after each collection: the owners of other directories of the root sweep theirs (volumes' leftovers). */
  private readonly sweepers: Array<() => Promise<unknown>> = [];
  private storageDriver: DriverName | undefined;
  private policy: CompressedBlobs = 'keep';

  private constructor(root: string, content: ContentStore, db: Db) {
    this.root = root;
    this.content = content;
    this.db = db;
  }

  static async open(opts: StoreOptions = {}): Promise<Store> {
    const root = resolve(opts.root ?? defaultRoot());
    ensureWritableDir(root);
    const content = new LocalContentStore(join(root, 'content'));
    await content.init();
    mkdirSync(join(root, 'tmp'), { recursive: true });
    await cleanTmp(join(root, 'tmp'));
    const db = openDatabase(join(root, 'metadata.db'));
    const store = new Store(root, content, db);
    store.storageDriver = opts.storageDriver;
    store.endsWithProcess = opts.endsWithProcess === true;
    // A killed cairn's lease goes, and so does what it protected that nothing else uses.
    // Asked first with a read, so that read-only commands do not queue for the write lock.
    // what a killed process was removing when its record had gone (a container's directory)
    const removals = deadRemovals(db, processAlive);
    if (removals.length > 0) await store.finishRemovals(removals);
    if (hasDeadLeases(db, processAlive)) await store.expireDeadWork();
    // a collection cut short (a kill, a power cut): its records may name files it had removed,
    // or the content of what was removed with the mark is still there
    else if (deadCollections(db, processAlive).length > 0) await store.gc();
    await store.applyCompressedBlobs(opts.compressedBlobs);
    return store;
  }

  /** Remove the directories dead processes meant to remove (intendRemoval), then forget the intents. */
  private async finishRemovals(removals: ReadonlyArray<{ pid: number; dir: string }>): Promise<void> {
    for (const r of removals) {
      const dir = resolve(this.root, r.dir);
      if (!dir.startsWith(`${this.root}/`)) throw new CairnError('internal', `a removal recorded in the store names ${r.dir}, outside it`);
      unmountBelow(dir);
      // claimed by a rename (several processes may open the store at once), then removed
      const mine = join(this.root, 'tmp', `${process.pid}-${randomBytes(6).toString('hex')}`);
      try {
        renameSync(dir, mine);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') continue; // removed already, or claimed by another process
        throw e;
      }
      await removeTree(mine);
    }
    writeTx(this.db, () => {
      for (const r of removals) removedRecord(this.db, r.pid, r.dir);
    });
  }

  /**
   * Leases of processes that are gone, and what they protected that nothing else uses. On a
   * full disk (a killed load or pull may have filled it) the metadata cannot be written until
   * space is free: the active snapshots those processes were making are emptied first
   * (Snapshotter.reclaim). If the disk is still full, the leases stay for a later command and
   * this one goes on (a command that only reads must work on a full disk), with a warning.
   */
  private async expireDeadWork(): Promise<void> {
    const expire = (): number => writeTx(this.db, () => expireDeadLeases(this.db, processAlive));
    let expired: number;
    try {
      expired = expire();
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      await this.reclaimActive(deadLeaseSnapshots(this.db, processAlive));
      try {
        expired = expire();
      } catch (e2) {
        if (!isNoSpace(e2)) throw e2;
        process.emitWarning(`cairn: the file system of ${this.root} is full: what a killed cairn left is removed once there is space`);
        return;
      }
    }
    if (expired > 0) await this.gc();
  }

  /**
   * Give back the disk space of those of `keys` that are active snapshots (work in progress,
   * failed or abandoned): files only, their records stay for the collector. A committed layer
   * or a view may be another's, and is left alone; a key already gone is passed over.
   */
  private async reclaimActive(keys: readonly string[]): Promise<void> {
    if (keys.length === 0 || this.recordedDriver === undefined) return;
    const sn = await this.snapshots();
    for (const key of keys) {
      const info = await sn.stat(key).catch((e: unknown) => {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      });
      if (info?.kind === 'active') await sn.reclaim(key);
    }
  }

  /** The compressed-blobs policy in force (see StoreOptions). */
  get compressedBlobs(): CompressedBlobs {
    return this.policy;
  }

  /** The recorded policy, or `given` recorded (switching to `drop` lets the collector take the compressed blobs). */
  private async applyCompressedBlobs(given: CompressedBlobs | undefined): Promise<void> {
    const recorded = storeSetting(this.db, COMPRESSED_BLOBS_KEY);
    this.policy = recorded === 'drop' ? 'drop' : 'keep';
    if (given === undefined || given === this.policy) return;
    this.policy = given;
    writeTx(this.db, () => {
      setStoreSetting(this.db, COMPRESSED_BLOBS_KEY, given);
      for (const img of listImages(this.db)) recordImageRefs(this.db, img.id, given === 'keep');
    });
    if (given === 'drop') await this.gc();
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
   * Run `fn` holding a lease: what it adds with `protect` (and `refs`, protected from the
   * start) survives any concurrent garbage collection until `fn` finishes (or this process dies).
   */
  async withLease<T>(fn: (protect: (ref: Ref) => void) => Promise<T>, refs: readonly Ref[] = []): Promise<T> {
    const lease = this.lease(refs);
    try {
      return await fn(lease.protect);
    } finally {
      lease.release();
    }
  }

  /**
   * A lease for work whose lifetime is not one call (a sink open across a copy): what is added
   * with `protect` survives garbage collection until `release` (or this process's death).
   * `refs` are protected in the transaction that makes the lease (each protect is one, and a
   * start-up pays for every transaction); protecting a ref again does nothing.
   */
  lease(refs: readonly Ref[] = []): Lease {
    const held = new Set<string>();
    const key = (ref: Ref) => `${ref.kind}\0${ref.id}`;
    // durable: after a power cut, what the work had written (blobs are synced) must still be
    // protected by a lease whose process is gone — expired at start-up, its content collected —
    // never left behind by a lease the log lost
    const id = durableWriteTx(this.db, () => {
      const made = createLease(this.db);
      for (const ref of refs) {
        if (held.has(key(ref))) continue;
        leaseAdd(this.db, made, ref);
        held.add(key(ref));
      }
      return made;
    });
    let released = false;
    const snapshots: string[] = refs.filter((r) => r.kind === 'snapshot').map((r) => r.id);
    const release = (): void => {
      if (released) return;
      released = true;
      writeTx(this.db, () => deleteLease(this.db, id));
    };
    return {
      protect: (ref: Ref) => {
        if (held.has(key(ref))) return;
        writeTx(this.db, () => leaseAdd(this.db, id, ref));
        held.add(key(ref));
        if (ref.kind === 'snapshot') snapshots.push(ref.id);
      },
      release,
      abandon: async () => {
        if (released) return;
        await this.reclaimActive(snapshots);
        release();
      },
    };
  }

  /** The snapshot driver recorded in the store, or undefined before anything was unpacked. */
  get recordedDriver(): string | undefined {
    return recordedDriver(this.db);
  }

  /**
   * Remove everything no root reaches (see gc.ts): blobs, layer records, snapshots. The
   * snapshotter is opened only if the store has one (nothing is recorded otherwise). With
   * `measure`, the result says how many bytes of disk went (prune's totals).
   */
  async gc(opts: GcOptions = {}): Promise<GcResult> {
    const snapshots = this.recordedDriver !== undefined ? await this.snapshots() : undefined;
    const result = await collectGarbage({ db: this.db, content: this.content, snapshots }, opts);
    for (const sweep of this.sweepers) await sweep();
    return result;
  }

  /**
   * Have `sweep` run after every collection: a module above the store that keeps directories
   * of its own under the root (volumes) removes what crashes left there. The engine hooks them in.
   */
  afterGc(sweep: () => Promise<unknown>): void {
    this.sweepers.push(sweep);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.endsWithProcess) this.db.close();
    // the connection ends with the process: a large log is checkpointed away first
    else trimLog(this.db);
  }
}


/** mkdir -p that reports the real error: Node's recursive mkdir says ENOENT on a read-only file system. */
// Opening the store is synchronous, as most of a short command's start is: a dozen small
// calls through the thread pool cost more in round trips than the calls themselves.
function mkdirs(dir: string): void {
  // the store is there at every command but the first: no mkdir, whose EEXIST costs an exception
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true) return;
  try {
    mkdirSync(dir);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw e;
    mkdirs(dirname(dir));
    mkdirs(dir);
  }
}

function ensureWritableDir(root: string): void {
  try {
    mkdirs(root);
    accessSync(root, fsc.W_OK | fsc.X_OK);
    // access() is not enough on a read-only mount for root; probe with a real write.
    const probe = join(root, `.probe-${process.pid}`);
    writeFileSync(probe, '');
    unlinkSync(probe); // not rmSync: Node's is JavaScript that lstats first (~0.3 ms cold)
  } catch (e) {
    const code = errnoCode(e);
    const why = code === 'EROFS' ? 'read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOTDIR' ? 'not a directory' : (e as Error).message;
    throw new CairnError('permission', `cannot use ${root} as the store root: ${why}`, { cause: e });
  }
}

async function cleanTmp(dir: string): Promise<void> {
  for (const name of readdirSync(dir)) {
    const pid = Number(name.split('-', 1)[0]);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
    // A killed process may have left mounts there (a build step's overlay, a view, on the
    // directory itself): detached first (another process doing the same meanwhile is no error).
    unmountBelow(join(dir, name));
    // Then claimed by a rename to a name of ours: several processes starting at once after a
    // crash each find it, and two removing one tree fail (entries vanish under each other's walk).
    const mine = join(dir, `${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      renameSync(join(dir, name), mine);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') continue; // another process claimed it
      throw e;
    }
    await removeTree(mine);
  }
}
