/**
 * `save`: several images into one archive, each blob once, streamed (never held in memory).
 *
 * docker-archive: what Docker 25+ writes — an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/sha256/…`) plus Docker's `manifest.json`, which Docker 20.10, Podman and skopeo read.
 * Layer blobs are written as stored (no recompression).
 * oci-archive: the OCI image layout alone; Docker schema 2 manifests are converted to OCI
 * manifests (same config and layer bytes, so the same image ID and diffIDs).
 *
 * Output is deterministic: members in a fixed order with fixed metadata (mtime 0, root, 0644),
 * JSON written canonically, so saving the same images twice gives the same bytes.
 */
import { type Digest, digestOf, hexOf } from '../digest/digest.js';
import { createTarWriter, type TarWriter } from '../tar/index.js';
import { canonicalJson } from '../oci/json.js';
import { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LAYER_GZIP, DOCKER_LAYER_ZSTD, DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST } from '../oci/mediatypes.js';
import type { ImageManifest } from '../oci/types.js';
import { imageLayers, tagsOf } from '../metadata/records.js';
import { parseReference } from '../reference/reference.js';
import type { Store } from '../store/store.js';
import { readManifest } from '../image/config.js';
import { resolveImage } from '../image/resolve.js';
import { InvalidArgumentError } from '../errors.js';

export type ArchiveFormat = 'docker-archive' | 'oci-archive';

export interface SaveProgress {
  start(id: string, label: string, total?: number): void;
  update(id: string, done: number): void;
  finish(id: string, message: string): void;
}

interface SavedImage {
  id: Digest;
  manifestRaw: Buffer;
  manifest: ImageManifest;
  /** Canonical tag names to record. */
  tags: string[];
}

const LAYER_TO_OCI: Record<string, string> = { [DOCKER_LAYER]: OCI_LAYER, [DOCKER_LAYER_GZIP]: OCI_LAYER_GZIP, [DOCKER_LAYER_ZSTD]: OCI_LAYER_ZSTD };

/**
 * An OCI manifest for a Docker schema 2 one: same blobs, OCI media types. Any other manifest is
 * kept byte for byte (re-serialising it would change its digest).
 */
function toOciManifest(raw: Buffer, m: ImageManifest): { raw: Buffer; manifest: ImageManifest } {
  if (m.mediaType !== DOCKER_MANIFEST) return { raw, manifest: m };
  const manifest = {
    schemaVersion: 2 as const,
    mediaType: OCI_MANIFEST,
    config: { mediaType: m.config.mediaType === DOCKER_CONFIG ? OCI_CONFIG : m.config.mediaType, digest: m.config.digest, size: m.config.size },
    layers: m.layers.map((l) => ({ mediaType: LAYER_TO_OCI[l.mediaType] ?? l.mediaType, digest: l.digest, size: l.size })),
  } as ImageManifest;
  return { raw: canonicalJson(manifest), manifest };
}

/** Which images and names `save` writes for the arguments given. */
async function collect(store: Store, names: string[], format: ArchiveFormat): Promise<SavedImage[]> {
  const out = new Map<Digest, SavedImage>();
  for (const name of names) {
    const r = resolveImage(store.db, name);
    let tags: string[] = [];
    if (r.matchedName && !r.matchedName.includes('@')) {
      const explicitTag = r.ref && /:[^/]+$/.test(name) && !name.includes('@');
      if (explicitTag) tags = [r.matchedName];
      else {
        // `save busybox` saves every tag of the repository, as Docker.
        const repo = parseReference(r.matchedName).name;
        tags = tagsOf(store.db, r.image.id).filter((t) => parseReference(t).name === repo);
      }
    }
    const prev = out.get(r.image.id);
    if (prev) {
      for (const t of tags) if (!prev.tags.includes(t)) prev.tags.push(t);
      continue;
    }
    let { raw, manifest } = await readManifest(store.content, r.image.manifestDigest);
    if (format === 'oci-archive') ({ raw, manifest } = toOciManifest(raw, manifest));
    out.set(r.image.id, { id: r.image.id, manifestRaw: raw, manifest, tags: [...tags] });
  }
  return [...out.values()];
}

export interface SaveResult {
  images: number;
  blobs: number;
}

/**
 * Write the archive for `names` to `sink` (any Writable: a file, stdout). Resolves once every
 * byte has been handed to the sink.
 */
export async function saveImages(store: Store, names: string[], format: ArchiveFormat, sink: NodeJS.WritableStream, progress?: SaveProgress): Promise<SaveResult> {
  if (names.length === 0) throw new InvalidArgumentError('save: at least one image is required');
  return store.withLease(async (protect) => {
    const images = await collect(store, names, format);
    // Protect every blob we will read from a concurrent rmi, then check they are all there.
    const blobs: Array<{ digest: Digest; size: number; layer: boolean }> = [];
    const seen = new Set<Digest>();
    for (const img of images) {
      const layerSizes = new Map(imageLayers(store.db, img.id).map((l) => [l.blob.blobDigest, l.size]));
      for (const d of [{ digest: img.manifest.config.digest, size: img.manifest.config.size, layer: false }, ...img.manifest.layers.map((l) => ({ digest: l.digest, size: l.size, layer: layerSizes.has(l.digest) }))]) {
        if (seen.has(d.digest)) continue;
        seen.add(d.digest);
        protect(d.digest);
        blobs.push(d);
      }
    }
    const tar = createTarWriter();
    const done = new Promise<void>((resolve, reject) => {
      tar.on('error', reject);
      sink.on('error', reject);
      sink.on('finish', resolve);
      tar.pipe(sink);
    });
    const writing = (async () => {
      await addDir(tar, 'blobs/');
      await addDir(tar, 'blobs/sha256/');
      for (const b of blobs) {
        const big = b.size >= 1 << 20;
        const id = hexOf(b.digest).slice(0, 12);
        if (big) progress?.start(id, 'Saving layer', b.size);
        const reader = await store.content.reader(b.digest);
        let n = 0;
        async function* body(): AsyncGenerator<Uint8Array> {
          for await (const c of reader) {
            n += (c as Buffer).length;
            if (big) progress?.update(id, n);
            yield c as Buffer;
          }
        }
        await tar.add({ name: `blobs/sha256/${hexOf(b.digest)}`, mode: 0o644, size: b.size, mtime: 0, uname: '', gname: '' }, body());
        if (big) progress?.finish(id, 'Saved');
      }
      // Manifests (docker-archive keeps the stored bytes; oci-archive may have converted ones).
      const manifestDescs = [];
      for (const img of images) {
        const md = digestOf(img.manifestRaw);
        if (!seen.has(md)) {
          seen.add(md);
          await addFile(tar, `blobs/sha256/${hexOf(md)}`, img.manifestRaw);
        }
        const mediaType = img.manifest.mediaType ?? OCI_MANIFEST;
        if (img.tags.length === 0) manifestDescs.push({ mediaType, digest: md, size: img.manifestRaw.length });
        for (const t of img.tags) {
          const ref = parseReference(t);
          manifestDescs.push({
            mediaType,
            digest: md,
            size: img.manifestRaw.length,
            annotations: { 'io.containerd.image.name': ref.toString(), 'org.opencontainers.image.ref.name': ref.tag! },
          });
        }
      }
      await addFile(tar, 'index.json', canonicalJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: manifestDescs }));
      if (format === 'docker-archive') {
        const entries = images.map((img) => ({
          Config: `blobs/sha256/${hexOf(img.manifest.config.digest)}`,
          RepoTags: img.tags.map((t) => parseReference(t).familiarString()),
          Layers: img.manifest.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
        }));
        await addFile(tar, 'manifest.json', canonicalJson(entries));
      }
      await addFile(tar, 'oci-layout', canonicalJson({ imageLayoutVersion: '1.0.0' }));
      await tar.finish();
    })();
    writing.catch((e: unknown) => tar.destroy(e as Error));
    await Promise.all([writing, done]);
    return { images: images.length, blobs: blobs.length };
  });
}

async function addDir(tar: TarWriter, name: string): Promise<void> {
  await tar.add({ name, type: 'dir', mode: 0o755, mtime: 0, uname: '', gname: '' });
}

async function addFile(tar: TarWriter, name: string, data: Buffer): Promise<void> {
  await tar.add({ name, mode: 0o644, mtime: 0, uname: '', gname: '' }, data);
}

