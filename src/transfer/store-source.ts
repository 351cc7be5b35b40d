/**
 * The local store as a source: the images the given names resolve to (each once, with the
 * names that select it: `save busybox` carries every tag of the repository, whichever images
 * they name, `save busybox:1` only that tag, an ID none, as Docker: image/resolve.ts), each
 * with its parent image when it has one, their documents read back from the content store and their
 * layers streamed from their blobs, or re-emitted from their files when the store keeps none
 * (an uncompressed layer; a compressed one whose blob the store dropped is offered
 * uncompressed, under a manifest rewritten to say so). Everything it will read is leased from
 * `images()` until `close()`, so a concurrent rmi cannot remove it mid-copy.
 */
import type { Digest } from '../digest/digest.js';
import { InvalidArgumentError } from '../errors.js';
import { readConfig, readManifest } from '../image/config.js';
import { layerBlob, type StoredLayer } from '../image/layertar.js';
import { resolveForSave } from '../image/resolve.js';
import { imageLayers } from '../metadata/records.js';
import { blobRef, layerRef } from '../metadata/refs.js';
import { OCI_MANIFEST, parseMediaType } from '../oci/mediatypes.js';
import { buildManifest, layerMediaType, type MediaFamily } from '../oci/mutate.js';
import type { Lease, Store } from '../store/store.js';
import type { ImageSource, LayerDescriptor, SourceImage } from './types.js';

export class StoreSource implements ImageSource {
  readonly verified = true;
  private lease: Lease | undefined;
  /** The stored layer behind each blob digest offered. */
  private readonly stored = new Map<Digest, StoredLayer>();

  constructor(
    private readonly store: Store,
    private readonly names: readonly string[],
  ) {
    if (names.length === 0) throw new InvalidArgumentError('at least one image is required');
  }

  async images(): Promise<SourceImage[]> {
    this.lease ??= this.store.lease();
    const lease = this.lease;
    const out = new Map<Digest, SourceImage>();
    const selected = this.names.flatMap((name) => resolveForSave(this.store.db, name));
    for (const { image, tags } of selected) {
      const prev = out.get(image.id);
      if (prev) {
        for (const t of tags) if (!prev.names.includes(t)) prev.names.push(t);
        continue;
      }
      const r = { image };
      const id = image.id;
      lease.protect(blobRef(id));
      lease.protect(blobRef(r.image.manifestDigest));
      const records = imageLayers(this.store.db, id);
      for (const l of records) {
        lease.protect(blobRef(l.blob.blobDigest));
        lease.protect(layerRef(l.chainId)); // its snapshot and tar-split, to re-emit a blob the store does not keep
      }
      const { raw: manifestRaw, manifest } = await readManifest(this.store.content, r.image.manifestDigest);
      const { raw: configRaw, config } = await readConfig(this.store.content, id);
      const manifestMediaType = parseMediaType(r.image.manifestMediaType);
      const family: MediaFamily = manifestMediaType === OCI_MANIFEST ? 'oci' : 'docker';
      let rewritten = false;
      const layers: LayerDescriptor[] = [];
      for (const l of records) {
        // a foreign layer's URLs are the manifest's (the records keep digest, size and type)
        const named = manifest.layers[l.index];
        const urls = named?.digest === l.blob.blobDigest && named.urls?.length ? { urls: named.urls } : {};
        const stored = { chainId: l.chainId, diffId: l.diffId, blobDigest: l.blob.blobDigest, tarSplit: l.tarSplit };
        // A compressed blob the store dropped (compressed-blobs=drop): the layer goes uncompressed,
        // re-emitted from its files, and the manifest names it so.
        if (l.blob.blobDigest !== l.diffId && l.tarSplit !== null && (await this.store.content.info(l.blob.blobDigest)) === undefined) {
          rewritten = true;
          this.stored.set(l.diffId, { ...stored, blobDigest: l.diffId });
          layers.push({ mediaType: layerMediaType('none', family), digest: l.diffId, size: l.size, diffId: l.diffId, uncompressedSize: l.size });
          continue;
        }
        this.stored.set(l.blob.blobDigest, stored);
        layers.push({ mediaType: parseMediaType(l.blob.mediaType, `layer ${l.index} of image ${id}`), digest: l.blob.blobDigest, size: l.blob.size, diffId: l.diffId, uncompressedSize: l.size, ...urls });
      }
      const configMediaType = parseMediaType(r.image.configMediaType);
      const m = rewritten ? buildManifest(family, { raw: configRaw, mediaType: configMediaType }, layers) : undefined;
      out.set(id, {
        manifest: m ? { raw: m.raw, digest: m.digest, mediaType: manifestMediaType, parsed: m.manifest } : { raw: manifestRaw, digest: r.image.manifestDigest, mediaType: manifestMediaType, parsed: manifest },
        config: { raw: configRaw, digest: id, mediaType: configMediaType, parsed: config },
        layers,
        names: [...tags],
        ...(image.parent ? { parent: image.parent } : {}),
      });
    }
    return [...out.values()];
  }

  async layer(l: LayerDescriptor): Promise<AsyncIterable<Uint8Array>> {
    const s = this.stored.get(l.digest);
    return s ? layerBlob(this.store, s) : this.store.content.reader(l.digest);
  }

  async close(): Promise<void> {
    this.lease?.release();
    this.lease = undefined;
  }
}
