/**
 * Snapshot records in the store's metadata database (table `snapshots`, migration v2; their
 * labels in `snapshot_labels`, migration v4) and the store's recorded storage driver
 * (`store_info` key 'storage-driver').
 * Plain functions over a Db; the snapshotter groups them in writeTx() where they must be atomic.
 */
import type { Db } from '../metadata/db.js';
import type { DriverName, Info, Kind, Labels, Usage } from './types.js';
import { isoTime } from '../metadata/now.js';

export interface SnapshotRow {
  id: number;
  key: string;
  kind: Kind;
  parent: string | null;
  driver: DriverName;
  created_at: string;
  size: number | null;
  inodes: number | null;
  content: number | null;
}

export const DRIVER_INFO_KEY = 'storage-driver';

export function getRow(db: Db, key: string): SnapshotRow | undefined {
  return db.prepare('SELECT * FROM snapshots WHERE key = ?').get(key) as SnapshotRow | undefined;
}

export function allRows(db: Db): SnapshotRow[] {
  return db.prepare('SELECT * FROM snapshots ORDER BY id').all() as SnapshotRow[];
}

export function allIds(db: Db): Set<number> {
  return new Set((db.prepare('SELECT id FROM snapshots').all() as Array<{ id: number }>).map((r) => r.id));
}

/** Insert a snapshot row; returns its new id. */
export function insertRow(db: Db, key: string, kind: Kind, parent: string | undefined, driver: DriverName): number {
  const r = db
    .prepare('INSERT INTO snapshots (key, kind, parent, driver, created_at) VALUES (?, ?, ?, ?, ?)')
    .run(key, kind, parent ?? null, driver, isoTime());
  return Number(r.lastInsertRowid);
}

/** The id the next insert will get (AUTOINCREMENT: above every id ever committed). */
export function nextId(db: Db): number {
  const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'snapshots'").get() as { seq: number } | undefined;
  const max = db.prepare('SELECT MAX(id) AS m FROM snapshots').get() as { m: number | null };
  return Math.max(seq?.seq ?? 0, max.m ?? 0) + 1;
}

/**
 * Active `key` becomes committed `name` on `parent`, created now (as containerd does); its usage
 * is measured when first asked for ({@link setUsage}).
 */
export function commitRow(db: Db, key: string, name: string, parent: string | null): void {
  db.prepare("UPDATE snapshots SET key = ?, kind = 'committed', parent = ?, size = NULL, inodes = NULL, content = NULL, created_at = ? WHERE key = ?").run(
    name,
    parent,
    isoTime(),
    key,
  );
}

/** Record the usage measured of committed snapshot `id` (its files never change again). */
export function setUsage(db: Db, id: number, usage: Usage): void {
  db.prepare("UPDATE snapshots SET size = ?, inodes = ?, content = ? WHERE id = ? AND kind = 'committed'").run(usage.size, usage.inodes, usage.content, id);
}

/** Delete a snapshot's row (its labels go with it: ON DELETE CASCADE). */
export function deleteRow(db: Db, key: string): void {
  db.prepare('DELETE FROM snapshots WHERE key = ?').run(key);
}

/** The labels of snapshot `id`. */
export function labelsOf(db: Db, id: number): Labels {
  const rows = db.prepare('SELECT name, value FROM snapshot_labels WHERE snapshot_id = ? ORDER BY name').all(id) as Array<{ name: string; value: string }>;
  return Object.fromEntries(rows.map((r) => [r.name, r.value]));
}

/** Every snapshot's labels, by id (snapshots without labels are absent). */
export function allLabels(db: Db): Map<number, Labels> {
  const out = new Map<number, Labels>();
  const rows = db.prepare('SELECT snapshot_id, name, value FROM snapshot_labels ORDER BY snapshot_id, name').all() as Array<{
    snapshot_id: number;
    name: string;
    value: string;
  }>;
  for (const r of rows) {
    let l = out.get(r.snapshot_id);
    if (l === undefined) out.set(r.snapshot_id, (l = {}));
    l[r.name] = r.value;
  }
  return out;
}

/** Set each of `labels` on snapshot `id`; an empty value removes that label. */
export function updateLabels(db: Db, id: number, labels: Labels): void {
  const set = db.prepare('INSERT INTO snapshot_labels (snapshot_id, name, value) VALUES (?, ?, ?) ON CONFLICT (snapshot_id, name) DO UPDATE SET value = excluded.value');
  const del = db.prepare('DELETE FROM snapshot_labels WHERE snapshot_id = ? AND name = ?');
  for (const [name, value] of Object.entries(labels)) {
    if (value === '') del.run(id, name);
    else set.run(id, name, value);
  }
}

/** Replace all labels of snapshot `id` with `labels` (empty values are not stored). */
export function replaceLabels(db: Db, id: number, labels: Labels): void {
  db.prepare('DELETE FROM snapshot_labels WHERE snapshot_id = ?').run(id);
  updateLabels(db, id, labels);
}

export function childCount(db: Db, key: string): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM snapshots WHERE parent = ?').get(key) as { n: number }).n;
}

/** The committed chain under (and including) `key`, topmost first. */
export function chain(db: Db, key: string): SnapshotRow[] {
  return db
    .prepare(
      `WITH RECURSIVE c(k, depth) AS (SELECT ?, 0 UNION ALL
         SELECT s.parent, c.depth + 1 FROM snapshots s JOIN c ON s.key = c.k WHERE s.parent IS NOT NULL)
       SELECT s.* FROM c JOIN snapshots s ON s.key = c.k ORDER BY c.depth`,
    )
    .all(key) as SnapshotRow[];
}

export function infoOf(r: SnapshotRow, labels: Labels): Info {
  // `created` is made when read: a process's first Date sets up V8's time zone (see
  // metadata/now.ts), and the collector walks every snapshot without reading it
  const info: Info = {
    key: r.key,
    kind: r.kind,
    get created(): Date {
      return new Date(r.created_at);
    },
    labels,
  };
  if (r.parent !== null) info.parent = r.parent;
  return info;
}

export function recordedDriver(db: Db): string | undefined {
  const r = db.prepare('SELECT value FROM store_info WHERE key = ?').get(DRIVER_INFO_KEY) as { value: string } | undefined;
  return r?.value;
}

/** Record `driver` unless one is recorded already; returns the driver now recorded. */
export function recordDriver(db: Db, driver: DriverName): string {
  db.prepare('INSERT OR IGNORE INTO store_info (key, value) VALUES (?, ?)').run(DRIVER_INFO_KEY, driver);
  return recordedDriver(db)!;
}
