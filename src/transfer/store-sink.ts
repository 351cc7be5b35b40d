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
import { blobRef, type Ref } from '../metadata/refs.js';
import { parseNormalizedReference } from '../reference/reference.js';
import type { Lease, Store } from '../store/store.js';
import type { BlobHint, ImageSink, LayerDescriptor, PutLayerOptions, ReceivedBlob, SourceImage } from './types.js';

export interface StoredImageResult extends StoredImage {
  /** Familiar tag names the image was recorded with (empty when untagged). */
  tags: string[];
}

export interface StoreSinkOptions {
  /** Shown while layers are unpacked. */
  progress?: UnpackProgress;
  /** Progress labels for layers read from the source (default: Docker's load wording). */
  verbs?: { active: string; done: string };
}

export class StoreSink implements ImageSink<StoredImageResult[]> {
  readonly verbs: { active: string; done: string };
  private readonly lease: Lease;
  /** Everything leased (blobs, documents, snapshots), for cleanup after a failure. */
  private readonly leased: Ref[] = [];
  private readonly layers = new Map<Digest, IngestedLayer>();
  private readonly pending: NewImage[] = [];
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
    const layer = await ingestLayer(
      this.store,
      bytes,
      { ...(hint.digest ? { digest: hint.digest } : {}), ...(hint.size !== undefined ? { size: hint.size } : {}), what: hint.what, ...(hint.requireTar ? { requireTar: true } : {}) },
      this.protect,
    );
    this.layers.set(layer.blobDigest, layer);
    return { digest: layer.blobDigest, size: layer.blobSize, compression: layer.compression, diffId: layer.diffId, uncompressedSize: layer.size, reused: layer.reused };
  }

  async hasLayer(l: LayerDescriptor): Promise<boolean> {
    const got = this.layers.get(l.digest);
    if (got) return got.diffId === l.diffId;
    // Leased before it is looked at: a concurrent collection cannot take it in between.
    this.protect(blobRef(l.digest));
    const known = await knownLayer(this.store, l.digest, l.diffId);
    if (!known) return false;
    this.layers.set(l.digest, known);
    return true;
  }

  async putLayer(l: LayerDescriptor, bytes: AsyncIterable<Uint8Array>, opts: PutLayerOptions): Promise<void> {
    const layer = await ingestLayer(this.store, bytes, { digest: l.digest, size: l.size, diffId: l.diffId, what: opts.what }, this.protect);
    this.layers.set(layer.blobDigest, layer);
  }

  async putImage(img: SourceImage): Promise<void> {
    const layers: LayerForImage[] = img.layers.map((l, i) => {
      const got = this.layers.get(l.digest);
      if (!got) throw new DataCorruptError(`image ${img.config.digest}: layer ${i} (${l.digest}) was never delivered`);
      if (got.diffId !== l.diffId) {
        throw new DataCorruptError(`image ${img.config.digest}: layer ${i} (${l.digest}): diffID mismatch: the config names ${l.diffId}, the layer's content is ${got.diffId}`);
      }
      return { blobDigest: l.digest, blobSize: got.blobSize, mediaType: l.mediaType, diffId: l.diffId, size: got.size };
    });
    this.pending.push({
      manifestRaw: img.manifest.raw,
      manifestMediaType: img.manifest.mediaType,
      configRaw: img.config.raw,
      configMediaType: img.config.mediaType,
      config: img.config.parsed,
      layers,
      tags: img.names,
    });
  }

  async commit(): Promise<StoredImageResult[]> {
    const stored = await storeImages(this.store, this.pending, this.protect, this.opts.progress ? { progress: this.opts.progress } : {});
    this.finish();
    // What the copy added that no image uses (an archive member no manifest names) goes.
    await this.store.gc();
    return stored.map((s, i) => ({ ...s, tags: (this.pending[i]!.tags ?? []).map((t) => parseNormalizedReference(t).familiarString()) }));
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.finish();
    // Nothing was recorded: what this copy added (blobs, unpacked layers) is reachable from
    // no root now, and goes with everything else nothing uses.
    await this.store.gc();
  }

  private finish(): void {
    this.done = true;
    this.lease.release();
  }
}
