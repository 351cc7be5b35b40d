/**
 * Recording a complete image: its manifest and config go into the content store, then one
 * write transaction makes the image, its layer records and its names visible together —
 * after checking that every blob it names is present. Until that transaction, nothing of the
 * image can be listed; if it fails, nothing is.
 */
import { Readable } from 'node:stream';
import { type Digest, digestOf } from '../digest/digest.js';
import { DataCorruptError } from '../errors.js';
import { writeTx } from '../metadata/db.js';
import { type ImageLayerRecord, getLayer, putImage, reproducibleLayer, setRepoDigest, setTag } from '../metadata/records.js';
import { blobRef, type Ref } from '../metadata/refs.js';
import { chainIds } from '../oci/chainid.js';
import { unpacksHere } from '../oci/platform.js';
import type { ImageConfig, ImageManifest } from '../oci/types.js';
import type { LayerDescriptor } from '../oci/mutate.js';
import type { Store } from '../store/store.js';
import { measureLayer } from './size.js';
import { type UnpackProgress, unpackLayers } from './unpack.js';
import { isoTime } from '../metadata/now.js';

/**
 * A layer of an image to record: its descriptor as the manifest names it (blob digest, size
 * and media type; diffID; uncompressed size), and what the store already knows of it.
 */
export interface LayerForImage extends LayerDescriptor {
  uncompressedSize: number;
  /** The layer's tar-split record, when it was unpacked (and recorded) before the image is stored. */
  tarSplit?: Digest;
  /** A snapshot (not yet recorded) holding the same layer on another chain, to re-emit it from when the store keeps no blob. */
  unpackedAs?: { chainId: Digest; tarSplit: Digest };
}

/** The layers of an image already stored, as storeImages takes them: its manifest's descriptors with their diffIDs and recorded sizes. */
export function storedLayers(manifest: ImageManifest, config: ImageConfig, records: ReadonlyArray<{ size: number }>): LayerForImage[] {
  return manifest.layers.map((l, i) => ({
    mediaType: l.mediaType,
    digest: l.digest,
    size: l.size,
    ...(l.urls?.length ? { urls: l.urls } : {}),
    diffId: config.rootfs.diff_ids[i]!,
    uncompressedSize: records[i]?.size ?? l.size,
  }));
}

export interface NewImage {
  manifestRaw: Buffer;
  manifestMediaType: string;
  configRaw: Buffer;
  configMediaType: string;
  config: ImageConfig;
  layers: LayerForImage[];
  /** Canonical tag names (`docker.io/library/busybox:latest`). */
  tags?: string[];
  /** Canonical digest names (`docker.io/library/busybox@sha256:…`). */
  repoDigests?: string[];
  parent?: Digest;
  /** Its tags set its LastTagTime, as Docker's tagging does (default); false for names an archive or registry brings. */
  setsLastTagTime?: boolean;
}

export interface StoredImage {
  id: Digest;
  manifestDigest: Digest;
  /** Tags that moved here from another image: [tag, previous image]. */
  retagged: Array<[string, Digest]>;
}

export interface StoreOptions {
  /** Shown while layers are unpacked. */
  progress?: UnpackProgress;
}

/**
 * Record several images together (an archive's): all of them become visible in one write
 * transaction, or none does.
 */
export async function storeImages(store: Store, imgs: NewImage[], protect: (ref: Ref) => void, opts: StoreOptions = {}): Promise<StoredImage[]> {
  const prepared: Array<{ img: NewImage; id: Digest; manifestDigest: Digest; chains: Digest[]; layers: ImageLayerRecord[]; unpacked: boolean }> = [];
  for (const img of imgs) {
    const id = digestOf(img.configRaw);
    const manifestDigest = digestOf(img.manifestRaw);
    protect(blobRef(id));
    protect(blobRef(manifestDigest));
    // written at once: each waits for its fsyncs (file and directory) on the pool
    await Promise.all([
      store.content.ingest(Readable.from([img.configRaw]), { digest: id, what: 'image config' }),
      store.content.ingest(Readable.from([img.manifestRaw]), { digest: manifestDigest, what: 'manifest' }),
    ]);
    const chains = chainIds(img.layers.map((l) => l.diffId));
    const layers: ImageLayerRecord[] = img.layers.map((l, i) => ({
      index: i,
      chainId: chains[i]!,
      diffId: l.diffId,
      parent: i === 0 ? null : chains[i - 1]!,
      size: l.uncompressedSize,
      tarSplit: null,
      filesSize: null,
      blob: { blobDigest: l.digest, diffId: l.diffId, mediaType: l.mediaType, size: l.size },
    }));
    prepared.push({ img, id, manifestDigest, chains, layers, unpacked: unpacksHere(img.config) });
  }
  // Unpack every layer (each chainID once) before anything is recorded: an image whose
  // layers do not apply is never listed. An image of another OS (Windows) keeps its layers as
  // blobs only: they are never applied here.
  for (const p of prepared) {
    if (!p.unpacked) {
      // A layer a streamed load unpacked before its image was known keeps its record: it
      // re-emits from its files when the store kept no blob of it.
      for (const [i, l] of p.layers.entries()) l.tarSplit = p.img.layers[i]!.tarSplit ?? null;
      continue;
    }
    const splits = await unpackLayers(
      store,
      p.layers.map((l, i) => {
        const from = p.img.layers[i]!.unpackedAs;
        return { chainId: l.chainId, parent: l.parent, blobDigest: l.blob.blobDigest, diffId: l.diffId, ...(from ? { reemitFrom: from } : {}) };
      }),
      protect,
      opts.progress,
    );
    for (const [i, l] of p.layers.entries()) l.tarSplit = splits.get(l.chainId) ?? p.img.layers[i]!.tarSplit ?? null;
  }
  const sn = await store.snapshots();
  // Each layer's size as Docker counts it, measured once from its snapshot (image/size.ts).
  const measured = new Map<Digest, number>();
  for (const p of prepared) {
    if (!p.unpacked) continue;
    for (const l of p.layers) {
      const known = measured.get(l.chainId) ?? getLayer(store.db, l.chainId)?.filesSize ?? (await measureLayer(store, sn, { ...l, blobDigest: l.blob.blobDigest }));
      measured.set(l.chainId, known);
      l.filesSize = known;
    }
  }
  return writeTx(store.db, () => {
    const out: StoredImage[] = [];
    for (const { img, id, manifestDigest, chains, layers, unpacked } of prepared) {
      for (const d of [id, manifestDigest]) {
        if (!store.content.has(d)) throw new DataCorruptError(`blob ${d} vanished from the content store while the image was being recorded; retry`);
      }
      // A layer blob is in the store, or is an uncompressed tar a layer's files re-emit.
      for (const l of layers) {
        const d = l.blob.blobDigest;
        if (store.content.has(d)) continue;
        if ((d === l.diffId || store.compressedBlobs === 'drop') && (l.tarSplit !== null || reproducibleLayer(store.db, l.diffId) !== undefined)) continue;
        throw new DataCorruptError(`blob ${d} vanished from the content store while the image was being recorded; retry`);
      }
      for (const c of unpacked ? chains : []) {
        if (!sn.isCommitted(c)) throw new DataCorruptError(`layer ${c} was removed by another process while the image was being recorded; retry`);
      }
      putImage(
        store.db,
        {
          id,
          manifestDigest,
          manifestMediaType: img.manifestMediaType,
          manifestSize: img.manifestRaw.length,
          configMediaType: img.configMediaType,
          configSize: img.configRaw.length,
          created: img.config.created ?? null,
          size: layers.reduce((a, l) => a + (l.filesSize ?? l.size), 0),
          parent: img.parent ?? null,
          topChainId: chains.length ? chains[chains.length - 1]! : null,
          lastTagTime: null,
          addedAt: isoTime(),
        },
        layers,
        store.compressedBlobs === 'keep',
      );
      const retagged: Array<[string, Digest]> = [];
      for (const t of img.tags ?? []) {
        const prev = setTag(store.db, t, id, img.setsLastTagTime ?? true);
        if (prev) retagged.push([t, prev]);
      }
      for (const d of img.repoDigests ?? []) setRepoDigest(store.db, d, id);
      out.push({ id, manifestDigest, retagged });
    }
    return out;
  });
}
