/**
 * The local store as a sink: layers are ingested into the content store (digest, size and
 * diffID verified on the way in), images are recorded at `commit` — every layer unpacked into
 * its snapshot (each chainID once), then all images, their layers and names in one write
 * transaction, or none. Everything the copy adds is leased until then; `abort` (and a
 * successful commit, for what no image uses, such as an archive's index.json) removes what
 * this sink added that nothing else uses.
 */
import type { Digest } from '../digest/digest.js';
import { DataCorruptError } from '../errors.js';
import { type LayerForImage, type NewImage, type StoredImage, storeImages } from '../image/commit.js';
import { type IngestedLayer, ingestLayer, knownLayer } from '../image/ingest.js';
import type { UnpackProgress } from '../image/unpack.js';
import { commitDetached, type Detached, type NotALayer, receiveLayer } from '../image/receive.js';
import { chainIds } from '../oci/chainid.js';
import { writeTx } from '../metadata/db.js';
import { beginCollection } from '../metadata/records.js';
import { blobRef, type Ref } from '../metadata/refs.js';
import { parseNormalizedReference } from '../reference/reference.js';
import type { Lease, Store } from '../store/store.js';
import type { BlobHint, ImageSink, LayerDescriptor, PutLayerOptions, ReceivedBlob, SinkVerbs, SourceImage } from './types.js';

/** Layers a store sink unpacks at once when its snapshotter allows it (see receiveSlots). */
const RECEIVE_SLOTS = 2;

export interface StoredImageResult extends StoredImage {
  /** Familiar tag names the image was recorded with (empty when untagged). */
  tags: string[];
}

export interface StoreSinkOptions {
  /** Shown while layers are unpacked. */
  progress?: UnpackProgress;
  /** Progress labels for layers read from the source (default: Docker's load wording). */
  verbs?: SinkVerbs;
}

export class StoreSink implements ImageSink<StoredImageResult[]> {
  readonly verbs: SinkVerbs;
  private readonly lease: Lease;
  /** Everything leased (blobs, documents, snapshots), for cleanup after a failure. */
  private readonly leased: Ref[] = [];
  private readonly layers = new Map<Digest, IngestedLayer>();
  private readonly pending: NewImage[] = [];
  /** Layers unpacked as they arrived, by blob digest, and those committed into place. */
  private readonly detached = new Map<Digest, Detached>();
  private readonly placed = new Map<string, { chainId: Digest; tarSplit: Digest | undefined }>();
  /** Received bytes that did not unpack as a layer, and why. */
  private readonly failed = new Map<Digest, NotALayer>();
  private done = false;

  constructor(
    private readonly store: Store,
    private readonly opts: StoreSinkOptions = {},
  ) {
    this.verbs = opts.verbs ?? { active: 'Loading layer', done: 'Loaded' };
    this.lease = store.lease();
  }

  private readonly protect = (ref: Ref): void => {
    this.leased.push(ref);
    this.lease.protect(ref);
  };

  async receive(bytes: AsyncIterable<Uint8Array>, hint: BlobHint): Promise<ReceivedBlob> {
    if (hint.digest) {
      // Known already (a second load of the same layer): its bytes are not read.
      this.protect(blobRef(hint.digest));
      const known = await knownLayer(this.store, hint.digest);
      if (known) {
        this.layers.set(known.digest, known);
        return known;
      }
    }
    // Single pass where the driver allows it: unpacked as it streams, its parent given later.
    if ((await this.store.snapshots()).capabilities.rebase) {
      const r = await receiveLayer(this.store, bytes, { ...(hint.digest ? { digest: hint.digest } : {}), ...(hint.size !== undefined ? { size: hint.size } : {}), what: hint.what, ...(hint.reread ? { reread: hint.reread } : {}) }, this.protect);
      const b = r.kind === 'layer' ? r.layer : r.blob;
      if (r.kind === 'layer') this.detached.set(b.digest, r.layer);
      else this.failed.set(b.digest, r.blob);
      // Input of unknown origin (import) must be a tar: say so now.
      if (r.kind === 'blob' && hint.requireTar) throw new DataCorruptError(`layer ${r.blob.diffId}: ${r.blob.failure}`);
      return { digest: b.digest, size: b.size, compression: b.compression, diffId: b.diffId, uncompressedSize: b.uncompressedSize, reused: false };
    }
    const layer = await ingestLayer(
      this.store,
      bytes,
      { ...(hint.digest ? { digest: hint.digest } : {}), ...(hint.size !== undefined ? { size: hint.size } : {}), what: hint.what, ...(hint.requireTar ? { requireTar: true } : {}) },
      this.protect,
    );
    this.layers.set(layer.digest, layer);
    return layer;
  }

  /** Layers unpacked at once: two where each goes into its own parentless snapshot (a layer's work keeps about one CPU busy). */
  async receiveSlots(): Promise<number> {
    return (await this.store.snapshots()).capabilities.rebase ? RECEIVE_SLOTS : 1;
  }

  async hasLayer(l: LayerDescriptor): Promise<boolean> {
    const got = this.layers.get(l.digest) ?? this.detached.get(l.digest) ?? this.failed.get(l.digest);
    if (got) return got.diffId === l.diffId;
    // Leased before it is looked at: a concurrent collection cannot take it in between.
    this.protect(blobRef(l.digest));
    const known = await knownLayer(this.store, l.digest, l.diffId);
    if (!known) return false;
    this.layers.set(l.digest, known);
    return true;
  }

  async putLayer(l: LayerDescriptor, bytes: AsyncIterable<Uint8Array>, opts: PutLayerOptions): Promise<void> {
    // Where the driver allows it, unpacked as it streams (a pull: network -> digest -> decompress
    // -> diffID -> snapshot in one pass), its parent given at commit.
    // A layer of an image not unpacked here (Windows) is only stored, verified on the way.
    if (!opts.trusted && opts.unpack && (await this.store.snapshots()).capabilities.rebase) {
      const got = await this.receive(bytes, { digest: l.digest, size: l.size, what: opts.what });
      const failed = this.failed.get(got.digest);
      if (failed) throw new DataCorruptError(`${opts.what}: ${failed.failure}`);
      if (got.diffId !== l.diffId) throw new DataCorruptError(`${opts.what}: diffID mismatch: the config names ${l.diffId}, the layer's content is ${got.diffId}`);
      return;
    }
    const layer = await ingestLayer(this.store, bytes, { digest: l.digest, size: l.size, diffId: l.diffId, what: opts.what }, this.protect);
    this.layers.set(layer.digest, layer);
  }

  async putImage(img: SourceImage): Promise<void> {
    const layers: LayerForImage[] = img.layers.map((l, i) => {
      const failed = this.failed.get(l.digest);
      if (failed) throw new DataCorruptError(`layer ${l.diffId}: ${failed.failure}`);
      const d = this.detached.get(l.digest);
      const got = this.layers.get(l.digest);
      const diffId = d?.diffId ?? got?.diffId;
      if (diffId === undefined) throw new DataCorruptError(`image ${img.config.digest}: layer ${i} (${l.digest}) was never delivered`);
      if (diffId !== l.diffId) {
        throw new DataCorruptError(`image ${img.config.digest}: layer ${i} (${l.digest}): diffID mismatch: the config names ${l.diffId}, the layer's content is ${diffId}`);
      }
      return d
        ? { mediaType: l.mediaType, digest: l.digest, size: d.size, diffId: l.diffId, uncompressedSize: d.uncompressedSize }
        : { mediaType: l.mediaType, digest: l.digest, size: got!.size, diffId: l.diffId, uncompressedSize: got!.uncompressedSize };
    });
    this.pending.push({
      manifestRaw: img.manifest.raw,
      manifestMediaType: img.manifest.mediaType,
      configRaw: img.config.raw,
      configMediaType: img.config.mediaType,
      config: img.config.parsed,
      layers,
      tags: img.names,
      ...(img.repoDigests ? { repoDigests: img.repoDigests } : {}),
      ...(img.parent ? { parent: img.parent } : {}),
      setsLastTagTime: img.setsLastTagTime ?? false,
    });
  }

  async commit(): Promise<StoredImageResult[]> {
    // Layers unpacked as they arrived get their place (parent, chainID), bottom up.
    for (const img of this.pending) {
      const chains = chainIds(img.layers.map((l) => l.diffId));
      for (const [i, l] of img.layers.entries()) {
        const d = this.detached.get(l.digest);
        if (!d) continue;
        const at = this.placed.get(d.key);
        if (at) {
          // Placed on another chain already: a different parent needs its own snapshot, unpacked
          // at record time from this one (the store may keep no blob of it).
          if (at.chainId !== chains[i] && at.tarSplit !== undefined) l.unpackedAs = { chainId: at.chainId, tarSplit: at.tarSplit };
          continue;
        }
        const r = await commitDetached(this.store, d, chains[i]!, i === 0 ? null : chains[i - 1]!, this.protect);
        if (r.committed) this.placed.set(d.key, { chainId: chains[i]!, tarSplit: r.tarSplit });
        // The record is the tar's, whichever snapshot holds the chain: a chain another process
        // committed first has the same files, so this record re-emits from it too.
        const split = r.committed ? r.tarSplit : d.tarSplit;
        if (split !== undefined) l.tarSplit = split;
      }
    }
    const stored = await storeImages(this.store, this.pending, this.protect, this.opts.progress ? { progress: this.opts.progress } : {});
    // the collection below is owed from here on: marked before the lease goes, so that a kill
    // between the two leaves the mark (the next process to open the store collects), not
    // unpacked layers no lease and no collection will take
    writeTx(this.store.db, () => beginCollection(this.store.db, process.pid));
    this.finish();
    // What the copy added that no image uses (an archive member no manifest names) goes.
    await this.store.gc();
    return stored.map((s, i) => ({ ...s, tags: (this.pending[i]!.tags ?? []).map((t) => parseNormalizedReference(t).familiarString()) }));
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    // The layers it was unpacking give their space back first (on a full disk, the metadata
    // cannot be written until they have), then the lease goes. Nothing was recorded: what this
    // copy added (blobs, unpacked layers) is reachable from no root now, and goes with
    // everything else nothing uses.
    writeTx(this.store.db, () => beginCollection(this.store.db, process.pid));
    await this.lease.abandon();
    await this.store.gc();
  }

  private finish(): void {
    this.done = true;
    this.lease.release();
  }
}
