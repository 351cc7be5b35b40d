/**
 * The `volumes` table (schema v9): one row per volume — its name, driver, creation time,
 * labels and driver options (JSON; `null` when the creator gave none, as Docker shows them
 * for volumes a container made), and whether a container made it anonymously. Only this
 * module reads or writes it; callers hold the write transaction when they change it.
 */
import type { Db } from '../metadata/db.js';
import type { VolumeOptions } from './options.js';

export interface VolumeRecord {
  name: string;
  driver: string;
  /** ISO 8601. */
  createdAt: string;
  labels: Record<string, string> | null;
  options: VolumeOptions | null;
  anonymous: boolean;
}

interface Row {
  name: string;
  driver: string;
  created_at: string;
  labels: string;
  options: string;
  anonymous: number;
}

function fromRow(r: Row): VolumeRecord {
  return {
    name: r.name,
    driver: r.driver,
    createdAt: r.created_at,
    labels: JSON.parse(r.labels) as Record<string, string> | null,
    options: JSON.parse(r.options) as VolumeOptions | null,
    anonymous: r.anonymous !== 0,
  };
}

export function getVolumeRecord(db: Db, name: string): VolumeRecord | undefined {
  const r = db.prepare('SELECT * FROM volumes WHERE name = ?').get(name) as Row | undefined;
  return r ? fromRow(r) : undefined;
}

export function allVolumeRecords(db: Db): VolumeRecord[] {
  return (db.prepare('SELECT * FROM volumes').all() as Row[]).map(fromRow);
}

export function volumeNames(db: Db): Set<string> {
  return new Set((db.prepare('SELECT name FROM volumes').pluck().all() as string[]));
}

export function insertVolumeRecord(db: Db, v: VolumeRecord): void {
  db.prepare('INSERT INTO volumes (name, driver, created_at, labels, options, anonymous) VALUES (?, ?, ?, ?, ?, ?)').run(
    v.name,
    v.driver,
    v.createdAt,
    JSON.stringify(v.labels),
    JSON.stringify(v.options),
    v.anonymous ? 1 : 0,
  );
}

export function deleteVolumeRecord(db: Db, name: string): boolean {
  return db.prepare('DELETE FROM volumes WHERE name = ?').run(name).changes > 0;
}
