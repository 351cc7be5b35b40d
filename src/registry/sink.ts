/**
 * A registry repository as an image sink (push): each layer the repository lacks (HEAD) is
 * uploaded as one streamed request; a layer held uncompressed (imported, committed, built) is
 * compressed on the way (gzip by default, or zstd), hashed as it streams — no temporary copy —
 * and the manifest then names the compressed blob. The config goes up if missing, then the
 * manifest under its tag at `commit`. An image whose layers all went as they are keeps its
 * manifest byte for byte, so its digest is the one it was pulled or loaded with.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Digester, type Digest } from '../digest/digest.js';
import { compressStream, DEFAULT_GZIP_LEVEL, gzipPieces } from '../compression/stream.js';
import { layerCompression } from '../oci/mediatypes.js';
import { buildManifest, layerMediaType, type MediaFamily } from '../oci/mutate.js';
import { OCI_MANIFEST } from '../oci/mediatypes.js';
import type { BlobHint, ImageSink, LayerDescriptor, PutLayerOptions, ReceivedBlob, SinkVerbs, SourceImage } from '../transfer/types.js';
import { UnsupportedError } from '../errors.js';
import type { RegistryClient } from './client.js';

/** What the store knows of where a layer's blobs are in this registry (metadata/distribution.ts). */
export interface BlobMemory {
  /** Blobs of layer `diffId` this registry is known to hold, most recent first. */
  known(diffId: Digest): Array<{ digest: Digest; mediaType: string; size: number; repository: string }>;
  remember(blob: { digest: Digest; diffId: Digest; mediaType: string; size: number; repository: string }): void;
  forget(digest: Digest, repository: string): void;
}

/** Uploads at once (copyImages runs up to its maxConcurrent, default 3, when this is above 1). */
const UPLOAD_SLOTS = 2;
/** Layers asked about at once (HEAD, a mount): Docker checks every layer of a push at once. */
const CHECK_SLOTS = 4;

export interface RegistrySinkOptions {
  /** The repository path in the registry (`ref/multi`). */
  repo: string;
  /** The tag the manifest is put under. */
  tag: string;
  /** How an uncompressed layer is compressed for the upload (default gzip). */
  compression?: 'gzip' | 'zstd';
  level?: number;
  /** Where blobs were seen before: lets a layer be skipped under another blob, or mounted. */
  memory?: BlobMemory;
}

export interface PushedImage {
  tag: string;
  digest: Digest;
  /** The manifest's length in bytes (Docker's `size: N`). */
  size: number;
}

export class RegistrySink implements ImageSink<PushedImage[]> {
  readonly verbs: SinkVerbs = { active: 'Pushing', done: 'Pushed', prepare: 'Preparing', exists: 'Layer already exists', id: 'diffId', all: true };
  readonly checkSlots = CHECK_SLOTS;
  /** Config blobs on their way up, by digest (started by prepareImage, waited for by putImage). */
  private readonly configs = new Map<Digest, Promise<void>>();
  /** Uncompressed layers uploaded compressed: the blob the manifest names instead. */
  private readonly replaced = new Map<Digest, LayerDescriptor>();
  private readonly images: Array<{ raw: Buffer; mediaType: string; digest: Digest }> = [];

  constructor(
    private readonly client: RegistryClient,
    private readonly opts: RegistrySinkOptions,
  ) {}

  /** Layers uploaded (and compressed) at once: Docker's max-concurrent-uploads is 5; two cores compress. */
  async receiveSlots(): Promise<number> {
    return UPLOAD_SLOTS;
  }

  async receive(_bytes: AsyncIterable<Uint8Array>, hint: BlobHint): Promise<ReceivedBlob> {
    throw new UnsupportedError(`${hint.what}: a registry takes images from a source that names them first`);
  }

  /**
   * A layer with URLs is foreign: skipped, as Docker skips it. Otherwise the repository has the
   * layer's blob (HEAD); or, from what the store remembers, another blob
   * of the same layer (a compressed form pushed before: the manifest then names that one), or
   * another repository of this registry has one and it is mounted from there.
   */
  async hasLayer(l: LayerDescriptor): Promise<boolean | { said: string }> {
    // A foreign layer (Windows base layers) is fetched from its URLs, never pushed: Docker's rule.
    if (l.urls?.length) return { said: 'Skipped foreign layer' };
    const repo = this.opts.repo;
    const memory = this.opts.memory;
    if (await this.client.hasBlob(repo, l.digest)) {
      memory?.remember({ digest: l.digest, diffId: l.diffId, mediaType: l.mediaType, size: l.size, repository: repo });
      return true;
    }
    for (const b of memory?.known(l.diffId) ?? []) {
      if (b.digest === l.digest && b.repository === repo) continue;
      const as: LayerDescriptor = { mediaType: b.mediaType as LayerDescriptor['mediaType'], digest: b.digest, size: b.size, diffId: l.diffId };
      if (b.repository === repo) {
        if (await this.client.hasBlob(repo, b.digest)) {
          if (b.digest !== l.digest) this.replaced.set(l.digest, as);
          return true;
        }
        memory!.forget(b.digest, b.repository);
        continue;
      }
      if (await this.client.mountBlob(repo, b.digest, b.repository)) {
        if (b.digest !== l.digest) this.replaced.set(l.digest, as);
        memory!.remember({ ...as, repository: repo });
        return { said: `Mounted from ${b.repository}` };
      }
    }
    return false;
  }

  async putLayer(l: LayerDescriptor, bytes: AsyncIterable<Uint8Array>, _opts: PutLayerOptions): Promise<void> {
    const memory = this.opts.memory;
    if (layerCompression(l.mediaType) !== 'none') {
      await this.client.upload(this.opts.repo, bytes, l.digest);
      memory?.remember({ digest: l.digest, diffId: l.diffId, mediaType: l.mediaType, size: l.size, repository: this.opts.repo });
      return;
    }
    const kind = this.opts.compression ?? 'gzip';
    const hasher = new Digester();
    let stream: AsyncIterable<Uint8Array>;
    let feeding: Promise<void> = Promise.resolve();
    // the upload copies each chunk into its piece before it asks for the next: buffers are reused
    if (kind === 'gzip') stream = gzipPieces(bytes, this.opts.level ?? DEFAULT_GZIP_LEVEL, { reuse: true });
    else {
      const z = compressStream(kind, this.opts.level);
      feeding = pipeline(Readable.from(bytes, { objectMode: false }), z);
      stream = z;
    }
    async function* compressed(): AsyncGenerator<Uint8Array> {
      for await (const c of stream) {
        hasher.update(c);
        yield c;
      }
      await feeding;
    }
    let digest: Digest | undefined;
    await this.client.upload(this.opts.repo, compressed(), () => (digest = hasher.digest()));
    const family: MediaFamily = l.mediaType.startsWith('application/vnd.oci.') ? 'oci' : 'docker';
    const blob: LayerDescriptor = { mediaType: layerMediaType(kind, family), digest: digest!, size: hasher.size, diffId: l.diffId };
    this.replaced.set(l.digest, blob);
    memory?.remember({ ...blob, repository: this.opts.repo });
  }

  /**
   * The config goes up while the layers are checked and pushed: the registry takes blobs in any
   * order, and only the manifest (at commit) must come after all of them.
   */
  prepareImage(img: SourceImage): void {
    this.pushConfig(img);
  }

  private pushConfig(img: SourceImage): Promise<void> {
    const cfg = img.config;
    let p = this.configs.get(cfg.digest);
    if (p === undefined) {
      p = (async () => {
        if (!(await this.client.hasBlob(this.opts.repo, cfg.digest))) await this.client.upload(this.opts.repo, cfg.raw, cfg.digest);
      })();
      // its failure is putImage's to report (or abort's to pass over): never an unhandled rejection
      p.catch(() => undefined);
      this.configs.set(cfg.digest, p);
    }
    return p;
  }

  async putImage(img: SourceImage): Promise<void> {
    const cfg = img.config;
    await this.pushConfig(img);
    if (!img.layers.some((l) => this.replaced.has(l.digest))) {
      this.images.push({ raw: img.manifest.raw, mediaType: img.manifest.mediaType, digest: img.manifest.digest });
      return;
    }
    const family: MediaFamily = img.manifest.mediaType === OCI_MANIFEST ? 'oci' : 'docker';
    const layers = img.layers.map((l) => this.replaced.get(l.digest) ?? l);
    const m = buildManifest(family, { raw: cfg.raw, mediaType: cfg.mediaType }, layers);
    this.images.push({ raw: m.raw, mediaType: m.manifest.mediaType ?? OCI_MANIFEST, digest: m.digest });
  }

  async commit(): Promise<PushedImage[]> {
    const out: PushedImage[] = [];
    for (const m of this.images) {
      await this.client.putManifest(this.opts.repo, this.opts.tag, m.raw, m.mediaType);
      out.push({ tag: this.opts.tag, digest: m.digest, size: m.raw.length });
    }
    return out;
  }

  /** Blobs already uploaded stay: the registry's own garbage collection reclaims unreferenced ones. A config still on its way is waited for. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.configs.values());
  }
}
