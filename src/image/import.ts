/**
 * `import`: a root filesystem tar (plain, gzip or zstd) becomes a one-layer image, as
 * `docker import` does: the blob is stored as given (no recompression), its diffID computed
 * in the same pass, and the config carries the `--change`s and the `--message` comment.
 */
import { type Digest, digestOf, isDigest } from '../digest/digest.js';
import { canonicalJson } from '../oci/json.js';
import { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_CONFIG, OCI_LAYER_ZSTD, OCI_MANIFEST } from '../oci/mediatypes.js';
import { hostPlatform } from '../oci/platform.js';
import type { ImageConfig } from '../oci/types.js';
import { parseNormalizedReference, withDefaultTag } from '../reference/reference.js';
import { InvalidArgumentError } from '../errors.js';
import type { Store } from '../store/store.js';
import { applyChanges } from './changes.js';
import { type StoredImage, storeImage } from './commit.js';
import { ingestLayer } from './ingest.js';
import { collectSnapshots } from './unpack.js';

export interface ImportOptions {
  /** Tag for the new image. */
  reference?: string;
  changes?: string[];
  message?: string;
  /** Where the tar came from, for the default comment (`-` for stdin, as Docker). */
  sourceName?: string;
  platform?: { os: string; architecture: string; variant?: string };
  /** Creation time (default now). */
  created?: Date;
}

export async function importImage(store: Store, source: AsyncIterable<Uint8Array>, opts: ImportOptions = {}): Promise<StoredImage & { tag?: string }> {
  const tag = opts.reference ? withDefaultTag(parseNormalizedReference(opts.reference)) : undefined;
  if (tag?.digest) throw new InvalidArgumentError(`refusing to create a tag with a digest reference: ${opts.reference}`);
  const config = opts.changes?.length ? applyChanges(undefined, opts.changes) : undefined;
  // Everything the import leases (layer blob, config, manifest, snapshot): on failure, what of it
  // nothing else uses goes.
  const leased: Digest[] = [];
  try {
    return await store.withLease((leaseProtect) => {
      const protect = (d: Digest) => {
        leased.push(d);
        leaseProtect(d);
      };
      return recordImport(store, source, opts, tag?.toString(), config, protect);
    });
  } catch (e) {
    await store.collectGarbage(leased.filter((d) => isDigest(d)));
    await collectSnapshots(store, leased.filter((d) => isDigest(d)));
    throw e;
  }
}

async function recordImport(
  store: Store,
  source: AsyncIterable<Uint8Array>,
  opts: ImportOptions,
  tag: string | undefined,
  config: ReturnType<typeof applyChanges> | undefined,
  protect: (d: Digest) => void,
): Promise<StoredImage & { tag?: string }> {
  const layer = await ingestLayer(store, source, { what: 'imported root filesystem', requireTar: true }, protect);
  const created = (opts.created ?? new Date()).toISOString();
  const comment = opts.message ?? `Imported from ${opts.sourceName ?? '-'}`;
  const platform = opts.platform ?? hostPlatform();
  const imageConfig: ImageConfig = {
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    comment,
    ...(config ? { config } : {}),
    created,
    history: [{ created, comment }],
    os: platform.os,
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
  };
  const oci = layer.compression === 'zstd';
  const layerMediaType = oci ? OCI_LAYER_ZSTD : layer.compression === 'gzip' ? DOCKER_LAYER_GZIP : DOCKER_LAYER;
  const configRaw = canonicalJson(imageConfig);
  const configMediaType = oci ? OCI_CONFIG : DOCKER_CONFIG;
  const manifest = {
    schemaVersion: 2,
    mediaType: oci ? OCI_MANIFEST : DOCKER_MANIFEST,
    config: { mediaType: configMediaType, size: configRaw.length, digest: digestOf(configRaw) },
    layers: [{ mediaType: layerMediaType, size: layer.blobSize, digest: layer.blobDigest }],
  };
  const manifestRaw = canonicalJson(manifest);
  const stored = await storeImage(
    store,
    {
      manifestRaw,
      manifestMediaType: manifest.mediaType,
      configRaw,
      configMediaType,
      config: imageConfig,
      layers: [{ blobDigest: layer.blobDigest, blobSize: layer.blobSize, mediaType: layerMediaType, diffId: layer.diffId as Digest, size: layer.size }],
      tags: tag ? [tag] : [],
    },
    protect,
  );
  return { ...stored, ...(tag ? { tag } : {}) };
}
