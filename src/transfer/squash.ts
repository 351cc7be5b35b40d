/**
 * `image squash`: an image's layers above the bottom N merged into one layer — a copy from a
 * {@link SquashSource} to the store. The source compares two views of the image (its layer N
 * and its top) with a Differ, delivers the difference as one new uncompressed layer, and
 * offers the image with its bottom N layers kept as they are, the new layer on top, and the
 * same config otherwise: the history keeps every entry, the merged ones marked as squashed.
 * The creation time is the image's own, and the differ's tar is deterministic, so squashing
 * the same image twice gives the same image ID and manifest digest.
 */
import { randomBytes } from 'node:crypto';
import type { Digest } from '../digest/digest.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { differFor } from '../diff/differ.js';
import { readConfig, readManifest, requireUnpacked } from '../image/config.js';
import { layerBlob } from '../image/layertar.js';
import { resolveImage } from '../image/resolve.js';
import { imageLayers } from '../metadata/records.js';
import { snapshotRef } from '../metadata/refs.js';
import { DOCKER_MANIFEST, parseMediaType } from '../oci/mediatypes.js';
import { buildManifest, configMediaType, layerMediaType, type LayerDescriptor, type MediaFamily, serializeConfig } from '../oci/mutate.js';
import type { HistoryEntry, ImageConfig } from '../oci/types.js';
import { parseNormalizedReference, withDefaultTag } from '../reference/reference.js';
import type { Mount, Snapshotter } from '../snapshot/index.js';
import type { Lease, Store } from '../store/store.js';
import { copyImages } from './copy.js';
import { StoreSink, type StoredImageResult } from './store-sink.js';
import type { ImageSink, ImageSource, ReceivedBlob, SourceImage } from './types.js';

export interface SquashOptions {
  /** Keep this many bottom layers as they are (default 0: merge all). */
  from?: number;
  /** Name for the squashed image; default: the name the image was given by, moved to the new image. */
  tag?: string;
}

export class SquashSource implements ImageSource {
  readonly verified = true;
  private lease: Lease | undefined;
  private views: string[] = [];
  private sn: Snapshotter | undefined;
  private received: ReceivedBlob | undefined;
  private readonly image;
  private readonly layers;
  private readonly from: number;

  constructor(
    private readonly store: Store,
    private readonly name: string,
    private readonly opts: SquashOptions = {},
  ) {
    const r = resolveImage(store.db, name);
    this.image = r.image;
    this.layers = imageLayers(store.db, r.image.id);
    this.from = opts.from ?? 0;
    if (!Number.isSafeInteger(this.from) || this.from < 0) throw new InvalidArgumentError(`--from must be a whole number of layers, not ${opts.from}`);
    if (this.layers.length - this.from < 2) {
      throw new InvalidArgumentError(`image ${name} has ${this.layers.length} layer${this.layers.length === 1 ? '' : 's'}: nothing to squash above layer ${this.from}`);
    }
  }

  async deliver(sink: ImageSink<unknown>): Promise<void> {
    await requireUnpacked(this.store.content, this.image.id, this.name);
    this.lease = this.store.lease();
    this.sn = await this.store.snapshots();
    const top = this.layers[this.layers.length - 1]!.chainId;
    const below = this.from > 0 ? this.layers[this.from - 1]!.chainId : undefined;
    const upper = await this.view(top);
    const lower: Mount[] = below ? await this.view(below) : [];
    const scratch = () => this.store.scratchDir();
    const tar = await differFor(lower, upper, scratch).compare(lower, upper, { sourceDateEpoch: null });
    this.received = await sink.receive(tar, { what: `squashed layer of image ${this.image.id}`, requireTar: true });
  }

  private async view(parent: Digest): Promise<Mount[]> {
    const key = `squash-${process.pid}-${randomBytes(6).toString('hex')}`;
    this.lease!.protect(snapshotRef(key));
    const mounts = await this.sn!.view(key, parent);
    this.views.push(key);
    return mounts;
  }

  async images(): Promise<SourceImage[]> {
    const blob = this.received;
    if (!blob) throw new NotFoundError('squash: images() before deliver()');
    const { manifest } = await readManifest(this.store.content, this.image.manifestDigest);
    const { config } = await readConfig(this.store.content, this.image.id);
    const family: MediaFamily = (manifest.mediaType ?? DOCKER_MANIFEST) === DOCKER_MANIFEST ? 'docker' : 'oci';
    const kept: LayerDescriptor[] = this.layers.slice(0, this.from).map((l) => ({
      mediaType: parseMediaType(l.blob.mediaType),
      digest: l.blob.blobDigest,
      size: l.blob.size,
      diffId: l.diffId,
      uncompressedSize: l.size,
    }));
    const merged: LayerDescriptor = { mediaType: layerMediaType('none', family), digest: blob.digest, size: blob.size, diffId: blob.diffId, uncompressedSize: blob.uncompressedSize };
    const squashed = squashConfig(config, this.from, merged.diffId);
    const cmt = configMediaType(family);
    const { raw, digest } = serializeConfig(squashed);
    const layers = [...kept, merged];
    const built = buildManifest(family, { raw, mediaType: cmt }, layers);
    return [
      {
        manifest: { raw: built.raw, digest: built.digest, mediaType: built.manifest.mediaType!, parsed: built.manifest },
        config: { raw, digest, mediaType: cmt, parsed: squashed },
        layers,
        names: this.opts.tag ? [this.opts.tag] : [],
        setsLastTagTime: true,
      },
    ];
  }

  async layer(l: LayerDescriptor): Promise<AsyncIterable<Uint8Array>> {
    const s = this.layers.find((r) => r.blob.blobDigest === l.digest);
    return s ? layerBlob(this.store, { chainId: s.chainId, diffId: s.diffId, blobDigest: s.blob.blobDigest, tarSplit: s.tarSplit }) : this.store.content.reader(l.digest);
  }

  async close(): Promise<void> {
    for (const key of this.views) await this.sn?.remove(key);
    this.views = [];
    this.lease?.release();
    this.lease = undefined;
  }
}

/**
 * The config with layers from index `from` up replaced by one layer `diffId`. History keeps
 * every entry: the merged layers' entries become empty-layer entries noting the squash, but
 * the last of them, which now stands for the merged layer.
 */
export function squashConfig(config: ImageConfig, from: number, diffId: Digest): ImageConfig {
  const total = config.rootfs.diff_ids.length;
  const note = `squashed: layers ${from + 1}-${total} merged into layer ${from + 1}`;
  const history = config.history ?? [];
  let layer = 0;
  const lastNonEmpty = history.reduce((last, h, i) => (h.empty_layer ? last : i), -1);
  const out: HistoryEntry[] = history.map((h, i) => {
    if (h.empty_layer) return h;
    const idx = layer++;
    if (idx < from) return h;
    const comment = h.comment ? `${h.comment}; ${note}` : note;
    return i === lastNonEmpty ? { ...h, comment } : { ...h, comment, empty_layer: true };
  });
  return {
    ...config,
    rootfs: { type: 'layers', diff_ids: [...config.rootfs.diff_ids.slice(0, from), diffId] },
    ...(config.history ? { history: out } : {}),
  };
}

/**
 * Squash `name` into a new image in the store. Without `tag`, the name the image was given
 * by (when it was a tag) moves to the squashed image, as a rebuild would.
 */
export async function squashImage(store: Store, name: string, opts: SquashOptions = {}): Promise<StoredImageResult> {
  const r = resolveImage(store.db, name);
  const tag = opts.tag !== undefined ? withDefaultTag(parseNormalizedReference(opts.tag)) : undefined;
  if (tag?.digest) throw new InvalidArgumentError(`refusing to create a tag with a digest reference: ${opts.tag}`);
  const moved = tag ? tag.toString() : r.matchedName && !r.matchedName.includes('@') ? r.matchedName : undefined;
  const source = new SquashSource(store, name, { ...opts, ...(moved ? { tag: moved } : {}) });
  const [stored] = await copyImages(source, new StoreSink(store, { verbs: { active: 'Squashing', done: 'Squashed' } }));
  return stored!;
}
