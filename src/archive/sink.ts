/**
 * An image archive as a sink, streamed into any Writable (a file, stdout):
 *
 * docker-archive: what Docker 25+ writes — an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/sha256/…`) plus Docker's `manifest.json` (with `Parent` links between images saved
 * together), which Docker 20.10, Podman and skopeo read, and the legacy `repositories` file.
 * oci-archive: the OCI image layout alone; Docker schema 2 manifests become OCI manifests
 * (same config and layer bytes, so the same image ID and diffIDs).
 *
 * Each blob is written once, as given (no recompression), as soon as it arrives; manifests,
 * index.json and manifest.json at `commit`. Output is deterministic (fixed member order and
 * metadata: mtime 0, root, 0644; canonical JSON), so the same images give the same bytes.
 * Blobs a streamed source delivers before naming its images are spooled to a scratch
 * directory and written only if an image uses them.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { type Digest, Digester, digestOf, hexOf } from '../digest/digest.js';
import { DataCorruptError } from '../errors.js';
import { decompressStream } from '../compression/stream.js';
import { canonicalJson } from '../oci/json.js';
import { OCI_INDEX, OCI_MANIFEST } from '../oci/mediatypes.js';
import { toOciManifest } from '../oci/mutate.js';
import type { Descriptor, ImageManifest } from '../oci/types.js';
import { parseReference } from '../reference/reference.js';
import { createTarWriter, type TarWriter } from '../tar/index.js';
import type { BlobHint, ImageSink, LayerDescriptor, PutLayerOptions, ReceivedBlob, SourceImage } from '../transfer/types.js';

export type ArchiveFormat = 'docker-archive' | 'oci-archive';

export interface SaveResult {
  images: number;
  blobs: number;
}

interface Written {
  raw: Buffer;
  manifest: ImageManifest;
  configDigest: Digest;
  names: string[];
  parent?: Digest;
}

export class ArchiveSink implements ImageSink<SaveResult> {
  readonly verbs = { active: 'Saving layer', done: 'Saved' };
  private readonly tar: TarWriter;
  private readonly done: Promise<void>;
  private readonly written = new Set<Digest>();
  private readonly spooled = new Map<Digest, { path: string; size: number }>();
  private readonly images: Written[] = [];
  private spoolDir: string | undefined;
  private started = false;

  constructor(
    private readonly format: ArchiveFormat,
    out: NodeJS.WritableStream,
  ) {
    this.tar = createTarWriter();
    this.done = new Promise<void>((resolve, reject) => {
      this.tar.on('error', reject);
      out.on('error', reject);
      out.on('finish', resolve);
      this.tar.pipe(out);
    });
    // A failure is reported by the operation that hit it; this keeps the promise from being unhandled meanwhile.
    this.done.catch(() => undefined);
  }

  async receive(bytes: AsyncIterable<Uint8Array>, hint: BlobHint): Promise<ReceivedBlob> {
    this.spoolDir ??= await mkdtemp(join(tmpdir(), 'cairn-archive-'));
    const path = join(this.spoolDir, String(this.spooled.size));
    const file = createWriteStream(path);
    const blob = new Digester(hint.digest ? (hint.digest.split(':')[0] as 'sha256') : 'sha256');
    async function* tee(): AsyncGenerator<Uint8Array> {
      for await (const c of bytes) {
        blob.update(c);
        if (!file.write(c)) await new Promise<void>((r) => file.once('drain', () => r()));
        yield c;
      }
    }
    const { compression, stream } = await decompressStream(tee());
    const tarDigest = new Digester();
    for await (const c of stream) tarDigest.update(c as Buffer);
    file.end();
    await finished(file);
    const digest = blob.digest();
    if (hint.digest && digest !== hint.digest) throw new DataCorruptError(`${hint.what}: digest mismatch: got ${digest}, expected ${hint.digest}`);
    if (hint.size !== undefined && blob.size !== hint.size) throw new DataCorruptError(`${hint.what}: size mismatch: got ${blob.size} bytes, expected ${hint.size}`);
    this.spooled.set(digest, { path, size: blob.size });
    const diffId = compression === 'none' ? digest : tarDigest.digest();
    return { digest, size: blob.size, compression, diffId, uncompressedSize: tarDigest.size, reused: false };
  }

  async hasLayer(l: LayerDescriptor): Promise<boolean> {
    if (this.written.has(l.digest)) return true;
    const s = this.spooled.get(l.digest);
    if (!s) return false;
    await this.writeBlob(l.digest, s.size, createReadStream(s.path, { highWaterMark: 1 << 20 }), { trusted: true, what: `layer ${l.digest}` });
    return true;
  }

  async putLayer(l: LayerDescriptor, bytes: AsyncIterable<Uint8Array>, opts: PutLayerOptions): Promise<void> {
    await this.writeBlob(l.digest, l.size, bytes, opts);
  }

  async putImage(img: SourceImage): Promise<void> {
    await this.writeBlob(img.config.digest, img.config.raw.length, once(img.config.raw), { trusted: true, what: 'image config' });
    let { raw, parsed: manifest } = img.manifest;
    if (this.format === 'oci-archive') ({ raw, manifest } = toOciManifest(raw, manifest));
    const configDigest = img.config.digest;
    const prev = this.images.find((w) => w.configDigest === configDigest && w.raw.equals(raw));
    if (prev) {
      for (const n of img.names) if (!prev.names.includes(n)) prev.names.push(n);
      return;
    }
    this.images.push({ raw, manifest, configDigest, names: [...img.names], ...(img.parent ? { parent: img.parent } : {}) });
  }

  async commit(): Promise<SaveResult> {
    await this.begin();
    const blobs = this.written.size;
    const manifestDescs: Descriptor[] = [];
    for (const img of this.images) {
      const md = digestOf(img.raw);
      if (!this.written.has(md)) {
        this.written.add(md);
        await addFile(this.tar, `blobs/sha256/${hexOf(md)}`, img.raw);
      }
      const mediaType = img.manifest.mediaType ?? OCI_MANIFEST;
      if (img.names.length === 0) manifestDescs.push({ mediaType, digest: md, size: img.raw.length });
      for (const t of img.names) {
        const ref = parseReference(t);
        manifestDescs.push({
          mediaType,
          digest: md,
          size: img.raw.length,
          annotations: { 'io.containerd.image.name': ref.toString(), 'org.opencontainers.image.ref.name': ref.tag! },
        });
      }
    }
    await addFile(this.tar, 'index.json', canonicalJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: manifestDescs }));
    if (this.format === 'docker-archive') {
      // Docker's save: RepoTags null for an image saved without a name; Parent when the parent
      // is in the archive too (validatedParentLinks); `repositories`, the legacy tag map older
      // tools read: repository -> tag -> the top layer's blob (hex), when any image has a tag.
      const saved = new Set(this.images.map((img) => img.configDigest));
      const entries = this.images.map((img) => ({
        Config: `blobs/sha256/${hexOf(img.manifest.config.digest)}`,
        RepoTags: img.names.length === 0 ? null : img.names.map((t) => parseReference(t).familiarString()),
        Layers: img.manifest.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
        ...(img.parent !== undefined && img.parent !== img.configDigest && saved.has(img.parent) ? { Parent: img.parent } : {}),
      }));
      await addFile(this.tar, 'manifest.json', canonicalJson(entries));
      // (Maps: written with sorted keys, as Go writes its maps.)
      const repositories = new Map<string, Map<string, string>>();
      for (const img of this.images) {
        const top = img.manifest.layers.at(-1);
        if (top === undefined) continue;
        for (const t of img.names) {
          const ref = parseReference(t);
          const tags = repositories.get(ref.familiarName) ?? new Map<string, string>();
          repositories.set(ref.familiarName, tags.set(ref.tag!, hexOf(top.digest)));
        }
      }
      if (repositories.size > 0) await addFile(this.tar, 'repositories', canonicalJson(repositories));
    }
    await addFile(this.tar, 'oci-layout', canonicalJson({ imageLayoutVersion: '1.0.0' }));
    await this.tar.finish();
    await this.done;
    await this.dropSpool();
    return { images: this.images.length, blobs };
  }

  async abort(): Promise<void> {
    this.tar.destroy(new DataCorruptError('archive abandoned'));
    await this.dropSpool();
  }

  private async begin(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.tar.add({ name: 'blobs/', type: 'dir', mode: 0o755, mtime: 0, uname: '', gname: '' });
    await this.tar.add({ name: 'blobs/sha256/', type: 'dir', mode: 0o755, mtime: 0, uname: '', gname: '' });
  }

  private async writeBlob(digest: Digest, size: number, bytes: AsyncIterable<Uint8Array>, opts: Pick<PutLayerOptions, 'trusted' | 'what'>): Promise<void> {
    if (this.written.has(digest)) return;
    await this.begin();
    const check = opts.trusted ? undefined : new Digester(digest.split(':')[0] as 'sha256');
    async function* verified(): AsyncGenerator<Uint8Array> {
      for await (const c of bytes) {
        check?.update(c);
        yield c;
      }
      if (check && check.digest() !== digest) throw new DataCorruptError(`${opts.what}: digest mismatch: got ${check.digest()}, expected ${digest}`);
    }
    await this.tar.add({ name: `blobs/${digest.replace(':', '/')}`, mode: 0o644, size, mtime: 0, uname: '', gname: '' }, verified());
    this.written.add(digest);
  }

  private async dropSpool(): Promise<void> {
    if (this.spoolDir) await rm(this.spoolDir, { recursive: true, force: true });
    this.spoolDir = undefined;
  }
}

async function addFile(tar: TarWriter, name: string, data: Buffer): Promise<void> {
  await tar.add({ name, mode: 0o644, mtime: 0, uname: '', gname: '' }, data);
}

async function* once(b: Buffer): AsyncGenerator<Uint8Array> {
  yield b;
}
