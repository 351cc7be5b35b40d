/**
 * The reference graph garbage collection walks (table `gc_refs`, migration v5): typed edges
 * from an owner to an object it keeps alive.
 *
 *   owners (roots)   image records, image mounts, leases of work in flight, the repositories
 *                    `registry serve` serves, containers, build cache entries: a new kind
 *                    of root is one more entry in {@link ROOT_KINDS}
 *   objects          blob (content store), layer (a layer record, by chainID), snapshot
 *                    (by key); objects refer to objects too (a layer to its snapshot, its
 *                    parent layer and, later, its tar-split record)
 *
 * Each module writes the edges of the objects it owns when it creates them and drops them
 * when it deletes them; the collector (store/gc.ts) marks everything reachable from a root
 * and sweeps the rest. No other module reads this table.
 */
import type { Digest } from '../digest/digest.js';
import type { Db } from './db.js';

export type ObjectKind = 'blob' | 'layer' | 'snapshot';
/** Kinds whose rows are roots of the graph. */
export const ROOT_KINDS = ['image', 'mount', 'lease', 'repository', 'container', 'build-cache'] as const;
export type RootKind = (typeof ROOT_KINDS)[number];

export interface Ref {
  kind: ObjectKind;
  id: string;
}

export interface Owner {
  kind: RootKind | ObjectKind;
  id: string;
}

export const blobRef = (d: Digest): Ref => ({ kind: 'blob', id: d });
export const layerRef = (chainId: Digest): Ref => ({ kind: 'layer', id: chainId });
export const snapshotRef = (key: string): Ref => ({ kind: 'snapshot', id: key });

/** Keeps `to` alive for as long as `from` exists. */
export function addRefs(db: Db, from: Owner, to: readonly Ref[]): void {
  const ins = db.prepare('INSERT OR IGNORE INTO gc_refs (src_kind, src_id, dst_kind, dst_id) VALUES (?, ?, ?, ?)');
  for (const r of to) ins.run(from.kind, from.id, r.kind, r.id);
}

/** `from` keeps nothing alive any more (it is being deleted). */
export function dropRefs(db: Db, from: Owner): void {
  db.prepare('DELETE FROM gc_refs WHERE src_kind = ? AND src_id = ?').run(from.kind, from.id);
}

/** `from` no longer keeps `to` alive (one edge; the others stay). */
export function dropRef(db: Db, from: Owner, to: Ref): void {
  db.prepare('DELETE FROM gc_refs WHERE src_kind = ? AND src_id = ? AND dst_kind = ? AND dst_id = ?').run(from.kind, from.id, to.kind, to.id);
}

/** What `from` refers to directly. */
export function refsOf(db: Db, from: Owner): Ref[] {
  return (db.prepare('SELECT dst_kind AS kind, dst_id AS id FROM gc_refs WHERE src_kind = ? AND src_id = ?').all(from.kind, from.id) as Ref[]).map((r) => ({ kind: r.kind, id: r.id }));
}

export interface Marked {
  blob: Set<string>;
  layer: Set<string>;
  snapshot: Set<string>;
}

/** Every object reachable from a root, by kind (the mark phase of mark-and-sweep). */
export function markReachable(db: Db): Marked {
  const marked: Marked = { blob: new Set(), layer: new Set(), snapshot: new Set() };
  const placeholders = ROOT_KINDS.map(() => '?').join(', ');
  const stack = db.prepare(`SELECT dst_kind AS kind, dst_id AS id FROM gc_refs WHERE src_kind IN (${placeholders})`).all(...ROOT_KINDS) as Ref[];
  const next = db.prepare('SELECT dst_kind AS kind, dst_id AS id FROM gc_refs WHERE src_kind = ? AND src_id = ?');
  while (stack.length > 0) {
    const r = stack.pop()!;
    const set = marked[r.kind];
    if (set === undefined || set.has(r.id)) continue;
    set.add(r.id);
    for (const n of next.all(r.kind, r.id) as Ref[]) stack.push(n);
  }
  return marked;
}

/** The objects some lease protects directly (work in flight in a live process), as `kind\0id` keys. */
export function leasedObjects(db: Db): Set<string> {
  const rows = db.prepare("SELECT DISTINCT dst_kind AS kind, dst_id AS id FROM gc_refs WHERE src_kind = 'lease'").all() as Ref[];
  return new Set(rows.map((r) => refKey(r)));
}

/** A ref as one string (for sets of refs). */
export function refKey(r: Ref): string {
  return `${r.kind}\0${r.id}`;
}

/** Whether any root reaches `ref` (for a decision about one object under the write lock). */
export function isReachable(db: Db, ref: Ref): boolean {
  return markReachable(db)[ref.kind].has(ref.id);
}
