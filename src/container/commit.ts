/**
 * `commit`: a container's writable layer becomes one new layer on top of its image's, in a
 * new image — Docker's commit. The layer is captured by capture.ts (a committed snapshot
 * under its chainID plus a tar-split record: stored once); the config is commit-config.ts's;
 * the image (manifest naming the new layer uncompressed, in the image's media type family)
 * is recorded by the one image-recording path (image/commit.ts storeImages): visible only
 * complete, with its tag, in one write transaction. An empty change adds no layer, only a
 * history entry (`empty_layer`), as Docker 20.10 does.
 *
 * Everything made is leased until the image is recorded; a failure (or a killed process,
 * whose lease then expires) leaves nothing the collector does not remove. The caller pauses
 * a running container first (`--pause`): the container must not change files meanwhile.
 */
import type { Digest } from '../digest/digest.js';
import { InvalidArgumentError, PreconditionError } from '../errors.js';
import { storeImages, storedLayers } from '../image/commit.js';
import { readConfig, readManifest, requireUnpacked } from '../image/config.js';
import { resolveImage } from '../image/resolve.js';
import { writeTx } from '../metadata/db.js';
import { beginCollection, imageLayers } from '../metadata/records.js';
import { DOCKER_MANIFEST } from '../oci/mediatypes.js';
import { buildManifest, configMediaType, layerMediaType, type MediaFamily, serializeConfig } from '../oci/mutate.js';
import type { LayerForImage } from '../image/commit.js';
import { parseNormalizedReference, withDefaultTag } from '../reference/reference.js';
import type { Store } from '../store/store.js';
import { captureLayer } from './capture.js';
import { initLayerKey } from './init-layer.js';
import { type CommitInput, commitConfig, committedRunConfig } from './commit-config.js';

/** Where a commit stands, for progress (and for tests that interrupt it). */
export type CommitStep = 'layer' | 'image';

export interface CommitLayerOptions extends CommitInput {
  /** The container's writable layer: an active snapshot prepared on the image's top layer. */
  snapshotKey: string;
  /** The container's image: its ID (or any name that resolves to it). */
  image: string;
  /** `REPOSITORY[:TAG]` to give the new image (`latest` when no tag is named). */
  tag?: string;
  /** Told when the layer is captured ('layer': a throw there aborts the commit) and when the image is recorded ('image'). */
  progress?: (step: CommitStep) => void;
}

export interface CommitLayerResult {
  imageId: Digest;
  /** The new layer's diffID, or undefined when the container changed nothing (no layer added). */
  diffId: Digest | undefined;
  /** The chainID of the image's top layer: the new layer's, or the image's own top when nothing changed. */
  chainId: Digest | undefined;
  /** The familiar name given (`app:latest`), when a tag was asked for. */
  tag?: string;
}

/** Commit the container whose writable layer is `opts.snapshotKey` (see the module comment). */
export async function commitLayer(store: Store, opts: CommitLayerOptions): Promise<CommitLayerResult> {
  const tag = opts.tag !== undefined ? withDefaultTag(parseNormalizedReference(opts.tag)) : undefined;
  if (tag?.digest) throw new InvalidArgumentError(`refusing to create a tag with a digest reference: ${opts.tag}`);
  const { image } = resolveImage(store.db, opts.image);
  await requireUnpacked(store.content, image.id, opts.image);
  const { config } = await readConfig(store.content, image.id);
  const { manifest } = await readManifest(store.content, image.manifestDigest);
  // The changes are checked before any work is done.
  committedRunConfig(config, opts);
  const sn = await store.snapshots();
  const info = await sn.stat(opts.snapshotKey);
  // A container stands on its image's init layer (or, made elsewhere, on the image's top layer).
  if ((info.parent ?? null) !== image.topChainId && info.parent !== initLayerKey(image.topChainId)) {
    throw new PreconditionError(`snapshot ${opts.snapshotKey} is not a writable layer of image ${image.id}: it stands on ${info.parent ?? 'no layer'}`);
  }
  const records = imageLayers(store.db, image.id);
  const lease = store.lease();
  let recorded = false;
  let empty = false;
  try {
    const layer = await captureLayer(store, opts.snapshotKey, lease.protect, image.topChainId ?? null);
    empty = layer.empty;
    opts.progress?.('layer');
    const diffId = layer.empty ? undefined : layer.diffId;
    const family: MediaFamily = (manifest.mediaType ?? image.manifestMediaType) === DOCKER_MANIFEST ? 'docker' : 'oci';
    const layers: LayerForImage[] = storedLayers(manifest, config, records);
    if (!layer.empty) {
      layers.push({ mediaType: layerMediaType('none', family), digest: layer.diffId, size: layer.size, diffId: layer.diffId, uncompressedSize: layer.size, tarSplit: layer.tarSplit });
    }
    const committed = commitConfig(config, opts, diffId, new Date());
    const { raw } = serializeConfig(committed);
    const cmt = configMediaType(family);
    const built = buildManifest(family, { raw, mediaType: cmt }, layers);
    const [stored] = await storeImages(
      store,
      [
        {
          manifestRaw: built.raw,
          manifestMediaType: built.manifest.mediaType!,
          configRaw: raw,
          configMediaType: cmt,
          config: committed,
          layers,
          ...(tag ? { tags: [tag.toString()] } : {}),
          parent: image.id,
        },
      ],
      lease.protect,
    );
    recorded = true;
    opts.progress?.('image');
    return { imageId: stored!.id, diffId, chainId: layer.empty ? (image.topChainId ?? undefined) : layer.chainId, ...(tag ? { tag: tag.familiarString() } : {}) };
  } finally {
    // Nothing was recorded: what the commit made (snapshot, tar-split record, documents) is
    // reachable from no root now and goes; so does an empty change's tar-split record. The
    // collection is marked before the lease goes: a kill between them leaves it to the next process.
    const collect = !recorded || empty;
    if (collect) writeTx(store.db, () => beginCollection(store.db, process.pid));
    lease.release();
    if (collect) await store.gc();
  }
}
