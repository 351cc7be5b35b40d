/**
 * What a check looks at, gathered once: the blobs on disk, the snapshots, every record, what
 * the reference graph marks reachable, and for each object the images and containers that
 * reach it (so a problem names what it affects) and what it is to them (an image's config, a
 * layer's tar-split record).
 */
import { type Digest, shortId } from '../digest/digest.js';
import { isInitLayerKey } from '../container/init-layer.js';
import { listContainers } from '../container/records.js';
import { readTx } from '../metadata/db.js';
import type { ContainerRecord } from '../container/model.js';
import { allLayers, type ImageRecord, imageLayerRows, type LayerRecord, listImages, tagsOf } from '../metadata/records.js';
import { type Marked, markReachable, type Owner, type Ref, refsOf } from '../metadata/refs.js';
import { parseReference } from '../reference/reference.js';
import type { Info, Snapshotter } from '../snapshot/index.js';
import type { Store } from '../store/store.js';
import type { Affects } from './findings.js';

export const objectKey = (r: Ref): string => `${r.kind}\0${r.id}`;

export class Survey {
  readonly images: ImageRecord[];
  readonly containers: ContainerRecord[];
  readonly layers: Map<Digest, LayerRecord>;
  readonly marked: Marked;
  /** What each image and container reaches (objectKey), snapshots' parents included. */
  private readonly users = new Map<string, { images: Set<Digest>; containers: Set<string> }>();
  /** The blobs images' manifests name for each layer (chainID). */
  readonly layerBlobs = new Map<Digest, Set<Digest>>();
  /** What a blob is to whoever needs it, for messages. */
  readonly roles = new Map<string, string>();
  private readonly names = new Map<Digest, string>();

  /** Made inside one read transaction (see {@link Survey.take}). */
  private constructor(
    readonly store: Store,
    readonly sn: Snapshotter | undefined,
    readonly blobs: Set<Digest>,
    readonly snapshots: Map<string, Info>,
  ) {
    const db = store.db;
    this.images = listImages(db);
    this.containers = listContainers(db);
    this.layers = new Map(allLayers(db).map((l) => [l.chainId, l]));
    this.marked = markReachable(db);
    // A marked snapshot keeps its parents, as the collector has it.
    for (const key of [...this.marked.snapshot]) {
      for (let p = snapshots.get(key)?.parent; p !== undefined && !this.marked.snapshot.has(p); p = snapshots.get(p)?.parent) this.marked.snapshot.add(p);
    }
    for (const img of this.images) {
      const tags = tagsOf(db, img.id);
      this.names.set(img.id, tags.length > 0 ? parseReference(tags[0]!).familiarString() : shortId(img.id));
      this.reach({ kind: 'image', id: img.id }, (u) => u.images.add(img.id));
      this.roles.set(img.id, 'image config');
      this.roles.set(img.manifestDigest, 'image manifest');
      for (const row of imageLayerRows(db, img.id)) {
        if (!this.roles.has(row.blobDigest)) this.roles.set(row.blobDigest, `blob of layer ${row.chainId}`);
        let set = this.layerBlobs.get(row.chainId);
        if (set === undefined) this.layerBlobs.set(row.chainId, (set = new Set()));
        set.add(row.blobDigest);
      }
    }
    for (const c of this.containers) this.reach({ kind: 'container', id: c.id }, (u) => u.containers.add(c.name));
    for (const l of this.layers.values()) if (l.tarSplit !== null) this.roles.set(l.tarSplit, `tar-split record of layer ${l.chainId}`);
  }

  static async take(store: Store): Promise<Survey> {
    const sn = store.recordedDriver !== undefined ? await store.snapshots() : undefined;
    const snapshots = new Map<string, Info>();
    if (sn) for await (const i of sn.walk()) snapshots.set(i.key, i);
    const blobs = new Set(await store.content.digests());
    // The records, the graph and who reaches what read as one state of the store: another
    // process's commit in between would otherwise show as a problem (an edge to a record not yet read).
    return readTx(store.db, () => new Survey(store, sn, blobs, snapshots));
  }

  /** The name a user knows image `id` by. */
  imageName(id: Digest): string {
    return this.names.get(id) ?? shortId(id);
  }

  /** The images and containers that reach `ref`. */
  affects(ref: Ref): Affects {
    const u = this.users.get(objectKey(ref));
    return { images: [...(u?.images ?? [])].map((id) => this.imageName(id)).sort(), containers: [...(u?.containers ?? [])].sort() };
  }

  /** The layers (chainIDs) whose blob images' manifests name `blob`. */
  layersOfBlob(blob: Digest): Digest[] {
    const out: Digest[] = [];
    for (const [chain, blobs] of this.layerBlobs) if (blobs.has(blob)) out.push(chain);
    return out;
  }

  /** The image IDs that reach `ref`. */
  imagesReaching(ref: Ref): Digest[] {
    return [...(this.users.get(objectKey(ref))?.images ?? [])];
  }

  /** Whether any container reaches `ref`. */
  containerReaches(ref: Ref): boolean {
    return (this.users.get(objectKey(ref))?.containers.size ?? 0) > 0;
  }

  /** Whether snapshot `key` has child snapshots (an init layer no container uses aside: the collection --repair starts with removes it). */
  hasChildren(key: string): boolean {
    for (const i of this.snapshots.values()) if (i.parent === key && (this.marked.snapshot.has(i.key) || !isInitLayerKey(i.key))) return true;
    return false;
  }

  /** Walk the graph from `owner`, telling `add` about every object reached. */
  private reach(owner: Owner, add: (u: { images: Set<Digest>; containers: Set<string> }) => void): void {
    const seen = new Set<string>();
    const stack: Ref[] = refsOf(this.store.db, owner);
    while (stack.length > 0) {
      const r = stack.pop()!;
      const k = objectKey(r);
      if (seen.has(k)) continue;
      seen.add(k);
      let u = this.users.get(k);
      if (u === undefined) this.users.set(k, (u = { images: new Set(), containers: new Set() }));
      add(u);
      if (r.kind === 'snapshot') {
        const p = this.snapshots.get(r.id)?.parent;
        if (p !== undefined) stack.push({ kind: 'snapshot', id: p });
      }
      stack.push(...refsOf(this.store.db, r));
    }
  }
}
