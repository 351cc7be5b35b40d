/**
 * The metadata database: one SQLite file (better-sqlite3) per store, in WAL mode.
 *
 * It owns names and relations — tags, image records, layer records by chainID and diffID,
 * leases that protect in-flight content — never bytes (those are in content/). SQLite is also
 * the store's cross-process lock: every write runs in a `BEGIN IMMEDIATE` transaction with a
 * busy timeout, so concurrent cairn processes serialise their writes and never corrupt the store.
 *
 * The schema is versioned by `PRAGMA user_version` and upgraded by ordered migrations. A store
 * whose schema is newer than this cairn knows is refused before anything is written to it.
 */
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CairnError, isNoSpace, PreconditionError } from '../errors.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface OpenOptions {
  /** How long a writer waits for another process's transaction, in ms. */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/** Page size of a new metadata database (SQLite's default is 4 KiB). */
const PAGE_SIZE = 1024;
/** Pages of write-ahead log that trigger SQLite's automatic checkpoint (its default is 1,000). */
const WAL_CHECKPOINT_PAGES = 200;
/** Bytes a write-ahead log is cut back to after a checkpoint. */
const WAL_SIZE_LIMIT = 1 << 20;

let addon: string | null | undefined;

/**
 * better-sqlite3's compiled addon, named: without it, the package finds it through `bindings`,
 * which probes a dozen paths on every start (2–6 ms of each command). Looked for where Node
 * would find the package — node_modules of this module's directory and of each one above it —
 * by the file alone (require.resolve reads and parses package.json files on the way: ~1 ms of
 * each start). Null when it is not where the package builds it (then the package looks for it
 * itself).
 */
function nativeBinding(): string | null {
  if (addon === undefined) {
    addon = null;
    for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
      const file = join(dir, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
      if (existsSync(file)) {
        addon = file;
        break;
      }
      if (dirname(dir) === dir) break;
    }
  }
  return addon;
}

export function openDatabase(path: string, opts: OpenOptions = {}): Db {
  let db: Db;
  try {
    const binding = nativeBinding();
    db = new Database(path, { timeout: opts.busyTimeoutMs ?? 30_000, readonly: opts.readonly ?? false, ...(binding !== null ? { nativeBinding: binding } : {}) });
  } catch (e) {
    throw new CairnError('permission', `cannot open the metadata database ${path}: ${(e as Error).message}`, { cause: e });
  }
  cacheStatements(db);
  try {
    // Read the version before anything that could write (journal_mode, migrations).
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new PreconditionError(
        `store ${path} has schema version ${version}, newer than this cairn supports (${SCHEMA_VERSION}): upgrade cairn; the store was not changed`,
      );
    }
    if (!opts.readonly) {
      // A new database: 1 KiB pages (set before anything is written; WAL fixes the size). Its
      // tables and indexes each take at least a page and hold small rows: a fresh store's
      // database is ~40 KB instead of ~160 KB.
      if (version === 0 && (db.pragma('page_count', { simple: true }) as number) === 0) db.pragma(`page_size = ${PAGE_SIZE}`);
      if ((db.pragma('journal_mode', { simple: true }) as string) !== 'wal') db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // Command-line processes end without closing (StoreOptions.endsWithProcess): the log is
      // checkpointed when it reaches this many pages (a run --rm writes ~60), and the next
      // process to open the store reads back what is left (~0.7 us a page). Past the limit the
      // file is cut back after a checkpoint (a large load's log would otherwise stay its size).
      db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
      db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
      db.pragma('foreign_keys = ON');
      // Only a store behind this cairn's schema is migrated: checking under the write lock
      // would make every command — a reader too — queue behind any process's write.
      if (version < SCHEMA_VERSION) migrate(db);
    }
    return db;
  } catch (e) {
    db.close();
    if (e instanceof CairnError) throw e;
    throw new CairnError('internal', `cannot open the metadata database ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Distinct statements kept per connection (the queries are a fixed set, plus a few per batch size). */
const STATEMENT_CACHE = 512;

/**
 * `db.prepare` made to hand back the statement it compiled before for the same SQL: the
 * records modules prepare at each call (156 call sites), and SQLite compiles a statement in
 * 20-50 us, a cost every command paid again for each use (run --rm: 40 prepares). A statement
 * comes back with its result modes reset (pluck, expand, raw off), as a fresh one would be.
 */
function cacheStatements(db: Db): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  const cached = (source: string): Database.Statement => {
    let stmt = cache.get(source);
    if (stmt === undefined) {
      stmt = prepare(source);
      if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value as string);
      cache.set(source, stmt);
    } else if (stmt.reader) {
      stmt.pluck(false).expand(false).raw(false);
    }
    return stmt;
  };
  db.prepare = cached as Db['prepare'];
}

/** Apply pending migrations, each in its own immediate transaction, re-checking the version under the lock. */
function migrate(db: Db): void {
  for (;;) {
    const applied = db
      .transaction(() => {
        const v = db.pragma('user_version', { simple: true }) as number;
        if (v >= SCHEMA_VERSION) return false;
        db.exec(MIGRATIONS[v]!);
        db.pragma(`user_version = ${v + 1}`);
        return true;
      })
      .immediate();
    if (!applied) return;
  }
}

/** Bytes of write-ahead log above which a process that ends without closing checkpoints it away (trimLog). */
const TRIM_LOG_BYTES = 150 * (PAGE_SIZE + 24);

/**
 * For a process about to end without closing the database (StoreOptions.endsWithProcess): when
 * its write-ahead log file is larger than ~150 pages (a load's, a pull's, a build's — a `run --rm`
 * writes ~60), move it into the database and cut the file to nothing, so that a store's size on
 * disk is what it holds, not up to ~210 KB of log besides. Only if no other process is using the
 * database right now: the checkpoint is tried once, without waiting (busy_timeout 0); busy, it is
 * left for a later process or SQLite's own checkpoint. Closing would do the same and more (it also
 * removes the -shm file), at the cost of the teardown the fast exit avoids.
 */
export function trimLog(db: Db): void {
  if (db.readonly || !db.open) return;
  let size: number;
  try {
    size = statSync(`${db.name}-wal`).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (size <= TRIM_LOG_BYTES) return;
  const timeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    // a row (busy, log, checkpointed); busy = 1 when another connection held it up: nothing to do
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (e) {
    // a full disk: the database file cannot grow to take the log, which stays as it is (all
    // it holds is committed); the process ends as it would have without trying
    if (!isNoSpace(e)) throw e;
  } finally {
    db.pragma(`busy_timeout = ${timeout}`);
  }
}

/** Run `fn` in a write transaction that holds the store's write lock (BEGIN IMMEDIATE). */
export function writeTx<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}

/**
 * Run `fn` in a write transaction only if the store's write lock is free now: a write that
 * merely keeps what a reader worked out (a measurement, a cache) must not make that reader
 * wait for another process's writer. Busy: nothing is written and undefined is returned (the
 * work is done again next time). Synchronous, so no other write of this connection runs while
 * the busy timeout is off.
 */
export function writeTxIfFree<T>(db: Db, fn: () => T): T | undefined {
  const timeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    return writeTx(db, fn);
  } catch (e) {
    if (e instanceof Database.SqliteError && e.code === 'SQLITE_BUSY') return undefined;
    throw e;
  } finally {
    db.pragma(`busy_timeout = ${timeout}`);
  }
}

/**
 * writeTx whose commit is on the disk when it returns: the log is fsynced at its commit
 * (synchronous = FULL for this one), and with it every transaction committed before it, by any
 * process. The store's other commits are not synced (synchronous = NORMAL: a power cut may take
 * back the last few, whole); this is for the few that must be there before files are written or
 * removed on their word — a lease before the content it protects, a collection's intent before
 * the files it removes.
 */
export function durableWriteTx<T>(db: Db, fn: () => T): T {
  db.pragma('synchronous = FULL');
  try {
    return writeTx(db, fn);
  } finally {
    db.pragma('synchronous = NORMAL');
  }
}

/**
 * Run `fn`, which only reads, in one read transaction (BEGIN DEFERRED): every statement sees
 * the same state of the store, whatever other processes commit meanwhile (WAL), and no write
 * lock is taken.
 */
export function readTx<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).deferred();
}
