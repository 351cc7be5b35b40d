import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION, openDatabase, readTx, trimLog, writeTx, writeTxIfFree } from './db.js';
import { MIGRATIONS } from './migrations.js';
import { PreconditionError } from '../errors.js';

function tmp(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-db-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a new database gets every migration, WAL and foreign keys', () => {
  const t = tmp();
  try {
    const db = openDatabase(join(t.dir, 'm.db'));
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name);
    for (const name of ['images', 'tags', 'layers', 'leases', 'snapshots', 'image_mounts']) assert.ok(tables.includes(name), name);
    db.close();
  } finally {
    t.done();
  }
});

test('an older store is upgraded in place, keeping its rows', () => {
  const t = tmp();
  try {
    const path = join(t.dir, 'm.db');
    const old = new Database(path);
    old.exec(MIGRATIONS[0]!);
    old.pragma('user_version = 1');
    old.prepare("INSERT INTO store_info (key, value) VALUES ('k', 'v')").run();
    old.close();
    const db = openDatabase(path);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.deepEqual(db.prepare('SELECT value FROM store_info WHERE key = ?').get('k'), { value: 'v' });
    db.close();
  } finally {
    t.done();
  }
});

test('a store newer than this cairn is refused without a byte changed', () => {
  const t = tmp();
  try {
    const path = join(t.dir, 'm.db');
    const future = new Database(path);
    future.pragma('user_version = 99');
    future.close();
    const before = readFileSync(path);
    assert.throws(() => openDatabase(path), (e: unknown) => e instanceof PreconditionError && /schema version 99, newer than this cairn supports/.test(e.message));
    assert.deepEqual(readFileSync(path), before);
  } finally {
    t.done();
  }
});

test('opening an up-to-date store takes no write lock: it opens while another connection holds one', () => {
  const t = tmp();
  try {
    const path = join(t.dir, 'm.db');
    openDatabase(path).close();
    const other = new Database(path);
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      // no waiting at all: a write lock asked for would fail at once with SQLITE_BUSY
      const db = openDatabase(path, { busyTimeoutMs: 0 });
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      db.close();
    } finally {
      other.prepare('COMMIT').run();
      other.close();
    }
  } finally {
    t.done();
  }
});

test('writeTxIfFree writes only when no other connection holds the write lock, and never waits', () => {
  const t = tmp();
  try {
    const path = join(t.dir, 'm.db');
    const db = openDatabase(path);
    const other = new Database(path);
    const put = (v: string) => () => {
      db.prepare("INSERT OR REPLACE INTO store_info (key, value) VALUES ('cached', ?)").run(v);
      return v;
    };
    const stored = () => db.prepare("SELECT value FROM store_info WHERE key = 'cached'").pluck().get();
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      assert.equal(writeTxIfFree(db, put('busy')), undefined);
      assert.equal(stored(), undefined, 'nothing written');
      assert.equal(db.pragma('busy_timeout', { simple: true }), 30_000, 'the busy timeout is back');
    } finally {
      other.prepare('COMMIT').run();
      other.close();
    }
    assert.equal(writeTxIfFree(db, put('free')), 'free');
    assert.equal(stored(), 'free');
    // any other failure is the caller's, and rolls back
    assert.throws(() => writeTxIfFree(db, () => {
      put('half')();
      throw new Error('boom');
    }), /boom/);
    assert.equal(stored(), 'free');
    db.close();
  } finally {
    t.done();
  }
});

test('writeTx rolls back everything when its function throws', () => {
  const t = tmp();
  try {
    const db = openDatabase(join(t.dir, 'm.db'));
    assert.throws(() =>
      writeTx(db, () => {
        db.prepare("INSERT INTO store_info (key, value) VALUES ('a', '1')").run();
        throw new Error('boom');
      }),
    /boom/);
    assert.equal(db.prepare("SELECT 1 FROM store_info WHERE key = 'a'").get(), undefined);
    db.close();
  } finally {
    t.done();
  }
});

test('a new database has 1 KiB pages; an existing one keeps its page size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-db-page-'));
  try {
    const fresh = openDatabase(join(dir, 'new.db'));
    assert.equal(fresh.pragma('page_size', { simple: true }), 1024);
    fresh.close();
    const old = new Database(join(dir, 'old.db'));
    old.exec('CREATE TABLE t (x)');
    assert.equal(old.pragma('page_size', { simple: true }), 4096);
    old.close();
    const reopened = openDatabase(join(dir, 'old.db'));
    assert.equal(reopened.pragma('page_size', { simple: true }), 4096);
    reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trimLog checkpoints a large log away and cuts its file, leaves a small one, and never waits for another process\'s writer', () => {
  const t = tmp();
  try {
    const path = join(t.dir, 'm.db');
    const db = openDatabase(path);
    const walSize = (): number => statSync(`${path}-wal`).size;
    const put = (n: number, from: number): void =>
      writeTx(db, () => {
        const ins = db.prepare('INSERT INTO store_info (key, value) VALUES (?, ?)');
        for (let i = from; i < from + n; i++) ins.run(`k${i}`, 'x'.repeat(900));
      });
    // a few rows: a log of a few pages, left as it is
    put(3, 0);
    const small = walSize();
    assert.ok(small > 0);
    trimLog(db);
    assert.equal(walSize(), small);
    // ~180 pages of rows (one per 1 KiB page): past the threshold
    put(180, 3);
    assert.ok(walSize() > 150 * 1048, `log of ${walSize()} bytes`);
    // another process's connection in a write transaction: the checkpoint cannot finish; trimLog does not wait
    const other = new Database(path);
    other.prepare('BEGIN IMMEDIATE').run();
    const before = walSize();
    const t0 = Date.now();
    trimLog(db);
    assert.ok(Date.now() - t0 < 5_000);
    assert.equal(walSize(), before);
    assert.equal(db.pragma('busy_timeout', { simple: true }), 30_000);
    other.prepare('COMMIT').run();
    other.close();
    // alone again: the log goes into the database and its file is cut to nothing
    trimLog(db);
    assert.equal(walSize(), 0);
    db.close();
    const again = openDatabase(path);
    assert.equal((again.prepare("SELECT count(*) AS n FROM store_info WHERE key LIKE 'k%'").get() as { n: number }).n, 183);
    again.close();
  } finally {
    t.done();
  }
});

test('readTx: every read sees one state of the store while another connection commits', () => {
  const t = tmp();
  try {
    const path = join(t.dir, 'm.db');
    const reader = openDatabase(path);
    const writer = openDatabase(path);
    const count = (): number => (reader.prepare('SELECT COUNT(*) AS n FROM store_info').get() as { n: number }).n;
    const before = count();
    const seen = readTx(reader, () => {
      const first = count();
      writeTx(writer, () => writer.prepare("INSERT INTO store_info (key, value) VALUES ('during', 'x')").run());
      return [first, count()];
    });
    assert.deepEqual(seen, [before, before], 'the commit made meanwhile is not seen inside the transaction');
    assert.equal(count(), before + 1, 'and is seen after it');
    reader.close();
    writer.close();
  } finally {
    t.done();
  }
});
