/**
 * An image archive as a source, read once from a stream in its own order: docker-archive
 * (manifest.json, what `docker save` writes, legacy `<id>/layer.tar` or blob layout) or OCI
 * image layout (index.json + oci-layout), plain or compressed as a whole. From an uncompressed
 * archive file, each member can also be read again where it lies (BlobHint's `reread`).
 *
 * A pre-1.10 docker-archive (no manifest.json: a directory per v1 image with `json` and
 * `layer.tar`, tags in `repositories`) is read as Docker's legacy load reads it (legacy.ts).
 *
 * Members arrive in any order (Docker writes manifest.json last), so `deliver` hands every
 * member that is not a small JSON document to the sink as it passes (a member named
 * `blobs/<alg>/<hex>` is verified against its name); JSON documents (manifests, configs,
 * indexes) are kept in memory, bounded. Only then does `images` read the manifests and check
 * every digest, size and diffID against what was delivered; a manifest.json entry's `Parent`
 * (Docker's classic builder's intermediate images) is kept as Docker's load keeps it.
 */
import { type Digest, digestOf, hexOf, parseDigest } from '../digest/digest.js';
import { DataCorruptError, UnsupportedError } from '../errors.js';
import { decompressStream } from '../compression/stream.js';
import { isIndexType, isManifestType, layerCompression, type MediaType, OCI_MANIFEST, parseMediaType } from '../oci/mediatypes.js';
import { buildManifest, configMediaType, familyFor, layerMediaType, type LayerDescriptor } from '../oci/mutate.js';
import { hostPlatform, selectManifest } from '../oci/platform.js';
import type { Descriptor, HistoryEntry, ImageConfig, ImageManifest, Platform } from '../oci/types.js';
import { checkManifestConfig, parseImageConfig, parseIndex, parseManifestOrIndex, parseOciLayout } from '../oci/validate.js';
import { parseNormalizedReference, withDefaultTag } from '../reference/reference.js';
import { readTar } from '../tar/index.js';
import { type ByteOrigin, isFileBytes, OpenFile, rangeOf, streamOf } from '../transfer/origin.js';
import { detectCompression, MAGIC_BYTES } from '../compression/detect.js';
import type { CopyProgress, ImageSink, ImageSource, ReceivedBlob, ResolveOptions, SourceImage } from '../transfer/types.js';
import { legacyImages } from './legacy.js';
import { type LayerLoad, LoadReports } from './load-reports.js';
import { chainIds } from '../oci/chainid.js';
import { memberPath, resolveLink } from './paths.js';

/** Largest member kept in memory as a JSON document; larger ones are blobs. */
const MAX_DOCUMENT = 8 * 1024 * 1024;
/** Most bytes of JSON documents kept in memory for one archive. */
const MAX_DOCUMENTS_TOTAL = 64 * 1024 * 1024;

const BLOB_PATH = /^blobs\/(sha256|sha384|sha512)\/([a-f0-9]+)$/;

/** A member: a JSON document kept in memory, a blob delivered to the sink, or (an empty member) both. */
interface Member {
  path: string;
  doc?: { bytes: Buffer; digest: Digest };
  blob?: ReceivedBlob;
  /** A blob read from the archive: what Docker's load would report reading it (load-reports.ts). */
  reports?: number[];
}

export type ArchiveKind = 'docker-archive' | 'oci-archive';

export class ArchiveSource implements ImageSource {
  readonly verified = false;
  private readonly members = new Map<string, Member>();
  private readonly links = new Map<string, string>();
  /** Top-level directories (a legacy archive's images). */
  private readonly dirs = new Set<string>();
  private delivered = false;
  private documentBytes = 0;

  /**
   * `has`: whether the store the archive goes into has a layer chain already (asked before
   * anything is recorded: Docker's load does not read such a layer, see `loading`).
   */
  constructor(
    private readonly origin: ByteOrigin,
    private readonly has: (chainId: Digest) => boolean = () => false,
  ) {}

  /** Which format the archive turned out to be (known once `images` ran). */
  kind: ArchiveKind | undefined;
  /** A pre-1.10 docker-archive (known once `images` ran): Docker says no "Loaded image" lines for it. */
  legacy = false;
  /**
   * Per image (by ID, in the order `images` gave them), the layers Docker's load would read from
   * the archive for it, labelled and reported as its daemon reports them (known once `images`
   * ran): a layer chain the store has already (`has`), or an image before this one brought, is
   * not read; a pre-1.10 archive's every layer is.
   */
  loading: Array<{ image: Digest; layers: LayerLoad[] }> = [];

  private detectKind(): ArchiveKind {
    if (this.members.has('manifest.json')) return 'docker-archive';
    if (this.members.has('index.json')) return 'oci-archive';
    if (this.members.has('repositories') || this.dirs.size > 0) {
      this.legacy = true;
      return 'docker-archive';
    }
    throw new DataCorruptError('not an image archive: it has neither manifest.json (docker-archive) nor index.json (OCI layout) nor repositories (docker-archive before Docker 1.10)');
  }

  async deliver(sink: ImageSink<unknown>, progress?: CopyProgress): Promise<void> {
    // An uncompressed archive file is read by position: each member is handed to the sink as a
    // span of it (read again where it lies, big bodies never read into JavaScript).
    let open: OpenFile | undefined;
    if (isFileBytes(this.origin)) {
      const f = new OpenFile(this.origin.file);
      const head = await f.span(0, MAGIC_BYTES).read(0, MAGIC_BYTES);
      if (head.length === MAGIC_BYTES && detectCompression(head) === 'none') open = f;
      else f.close();
    }
    try {
      await this.deliverFrom(sink, open, progress);
      open?.checkUnchanged(`archive ${open.path}`);
    } finally {
      open?.close();
    }
    this.delivered = true;
  }

  private async deliverFrom(sink: ImageSink<unknown>, open: OpenFile | undefined, progress?: CopyProgress): Promise<void> {
    const { compression, stream } = open !== undefined ? { compression: 'none', stream: open.span(0, open.size) } : await decompressStream(streamOf(this.origin));
    // An uncompressed archive file: each member can be read again where it lies.
    const file = compression === 'none' && isFileBytes(this.origin) ? this.origin.file : undefined;
    // Members received at once (from a file only), and the first failure among them.
    const slots = open !== undefined ? ((await sink.receiveSlots?.()) ?? 1) : 1;
    const receiving = new Set<Promise<void>>();
    let failure: unknown;
    try {
      for await (const entry of readTar(stream)) {
        const h = entry.header;
        const path = memberPath(h.name);
        const slash = path.indexOf('/');
        if (slash > 0) this.dirs.add(path.slice(0, slash));
        else if (h.type === 'dir' && path !== '') this.dirs.add(path);
        if (h.type === 'symlink') {
          this.links.set(path, resolveLink(path, h.linkname));
          continue;
        }
        if (h.type === 'hardlink') {
          this.links.set(path, memberPath(h.linkname, `archive member ${JSON.stringify(h.name)} link target`));
          continue;
        }
        if (h.type !== 'file') continue;
        const m = BLOB_PATH.exec(path);
        const named = m ? parseDigest(`${m[1]}:${m[2]}`, `archive member ${path}`) : undefined;
        const first = h.size > 0 ? await entry.body.read() : null;
        if (h.size === 0 || (h.size <= MAX_DOCUMENT && first !== null && (looksLikeJson(first) || cannotBeLayer(first, h.size)))) {
          const chunks: Buffer[] = first ? [first] : [];
          for (let c = await entry.body.read(); c !== null; c = await entry.body.read()) chunks.push(c);
          const bytes = Buffer.concat(chunks);
          this.documentBytes += bytes.length;
          if (this.documentBytes > MAX_DOCUMENTS_TOTAL) throw new DataCorruptError(`archive holds more than ${MAX_DOCUMENTS_TOTAL} bytes of JSON documents`);
          const digest = digestOf(bytes, named ? (named.split(':')[0] as 'sha256') : 'sha256');
          if (named && digest !== named) throw new DataCorruptError(`archive member ${path}: digest mismatch: got ${digest}, expected ${named}`);
          // An empty member may be a (degenerate) layer too: the sink gets it as well.
          const blob = bytes.length === 0 ? await sink.receive(empty(), { digest, size: 0, what: `archive member ${path}` }) : undefined;
          this.members.set(path, { path, doc: { bytes, digest }, ...(blob ? { blob } : {}) });
          continue;
        }
        const id = m ? m[2]!.slice(0, 12) : path.split('/')[0]!.slice(0, 12);
        const big = h.size >= 1 << 20;
        if (big) progress?.start(id, sink.verbs.active, h.size);
        const reports = new LoadReports(h.size);
        let seen = 0;
        const body = entry.body;
        async function* bytes(): AsyncGenerator<Uint8Array> {
          for (let c = first; c !== null; c = await body.read()) {
            seen += c.length;
            reports.advance(seen);
            if (big) progress?.update(id, seen);
            yield c;
          }
        }
        const hint = { ...(named ? { digest: named } : {}), size: h.size, what: `archive member ${path}`, ...(file !== undefined ? { reread: rangeOf(file, entry.dataOffset, h.size) } : {}) };
        const receive = async (b: AsyncIterable<Uint8Array>): Promise<void> => {
          const blob = await sink.receive(b, hint);
          this.members.set(path, { path, blob, ...(blob.reused ? {} : { reports: reports.end() }) });
          if (big) progress?.finish(id, blob.reused ? 'Already exists' : sink.verbs.done);
        };
        if (open === undefined) {
          await receive(bytes());
          continue;
        }
        // A member cut short by the end of the file: the reader says so (truncated archive) as it moves on.
        if (entry.dataOffset + h.size > open.size) continue;
        // Members of a file lie where they are: the next one is read while this one is received.
        const span = open.span(entry.dataOffset, h.size, (done) => {
          reports.advance(done);
          if (big) progress?.update(id, done);
        });
        const job: Promise<void> = receive(span).finally(() => receiving.delete(job));
        job.catch((e: unknown) => void (failure ??= e));
        receiving.add(job);
        while (receiving.size >= slots && failure === undefined) await Promise.race(receiving).catch(() => undefined);
        if (failure !== undefined) break;
      }
    } finally {
      // nothing of this copy goes on after it failed: the sink is aborted next
      while (receiving.size > 0) await Promise.allSettled([...receiving]);
    }
    if (failure !== undefined) throw failure;
  }

  async images(opts: ResolveOptions = {}): Promise<SourceImage[]> {
    if (!this.delivered) throw new DataCorruptError('archive: images() before deliver()');
    const platform = opts.platform ?? hostPlatform();
    this.kind = this.detectKind();
    if (this.legacy) return this.legacyImages();
    const images = this.kind === 'docker-archive' ? this.dockerImages(platform) : this.ociImages(platform);
    // Docker's load reads a layer unless its chain is in the store (before, or from an image before)
    const read = new Map<Digest, Member>();
    for (const m of this.members.values()) if (m.blob && m.reports && !read.has(m.blob.digest)) read.set(m.blob.digest, m);
    const chains = new Set<Digest>();
    this.loading = images.map((img) => {
      const ids = chainIds(img.layers.map((l) => l.diffId));
      const layers: LayerLoad[] = [];
      img.layers.forEach((l, i) => {
        const mem = read.get(l.digest);
        if (mem !== undefined && !chains.has(ids[i]!) && !this.has(ids[i]!)) layers.push({ id: hexOf(l.diffId).slice(0, 12), total: l.size, reports: mem.reports! });
        chains.add(ids[i]!);
      });
      return { image: img.config.digest, layers };
    });
    return images;
  }

  private legacyImages(): SourceImage[] {
    const found = legacyImages({
      dirs: this.dirs,
      document: (path) => {
        const mem = this.find(path, 'archive member');
        return mem === undefined ? undefined : this.document(mem, `archive member ${path}`).bytes;
      },
      blob: (path, what) => this.blob(this.resolve(path, what), what),
    });
    this.loading = found.map((f) => {
      const mem = this.resolve(f.layerPath, 'archive member');
      const size = this.sizeOf(mem);
      return { image: f.image.config.digest, layers: [{ id: f.v1Id.slice(0, 12), total: size, reports: mem.reports ?? LoadReports.readAtOnce(size) }] };
    });
    return found.map((f) => f.image);
  }

  async layer(l: LayerDescriptor): Promise<AsyncIterable<Uint8Array>> {
    // Every blob went to the sink during deliver(); a layer the sink lacks was never in the archive.
    throw new DataCorruptError(`layer ${l.digest} is missing from the archive`);
  }

  async close(): Promise<void> {
    this.members.clear();
  }

  // --- members ------------------------------------------------------------------------

  private resolve(p: string, what: string): Member {
    const mem = this.find(p, what);
    if (!mem) throw new DataCorruptError(`${what} ${JSON.stringify(p)} is missing from the archive`);
    return mem;
  }

  /** The member at `p`, links followed inside the archive; undefined if there is none. */
  private find(p: string, what: string): Member | undefined {
    let path = memberPath(p, what);
    for (let hops = 0; this.links.has(path); hops++) {
      if (hops > 32) throw new DataCorruptError(`${what} ${JSON.stringify(p)}: too many levels of links`);
      path = this.links.get(path)!;
    }
    return this.members.get(path);
  }

  private byDigest(d: Digest, what: string): Member {
    return this.resolve(`blobs/${d.replace(':', '/')}`, what);
  }

  private document(mem: Member, what: string): { bytes: Buffer; digest: Digest } {
    if (!mem.doc) throw new DataCorruptError(`${what}: not a JSON document`);
    return mem.doc;
  }

  private blob(mem: Member, what: string): ReceivedBlob {
    if (mem.blob) return mem.blob;
    // A small member that looked like JSON cannot be a layer.
    throw new DataCorruptError(`${what} (${mem.path}): not a layer: does not parse as a tar archive`);
  }

  private sizeOf(mem: Member): number {
    return mem.blob ? mem.blob.size : mem.doc!.bytes.length;
  }

  // --- docker-archive -----------------------------------------------------------------

  private dockerImages(platform: Platform): SourceImage[] {
    const entries = parseDockerManifestJson(this.document(this.members.get('manifest.json')!, 'manifest.json').bytes);
    // Docker 25+ (and cairn) also write an OCI index: keep the real manifests it names.
    const known = new Map<Digest, { raw: Buffer; manifest: ImageManifest }>();
    if (this.members.has('index.json')) {
      for (const { raw, manifest } of this.ociManifests(platform)) known.set(manifest.config.digest, { raw, manifest });
    }
    const images = entries.map((e, i): SourceImage => {
      const what = `manifest.json[${i}]`;
      const configMem = this.resolve(e.Config, `${what}.Config`);
      const { bytes: configRaw, digest: configId } = this.document(configMem, `${what}.Config`);
      const config = parseImageConfig(configRaw, `image config ${e.Config}`);
      const blobs = e.Layers.map((l, j) => ({ path: l, blob: this.blob(this.resolve(l, `${what}.Layers[${j}]`), `${what}.Layers[${j}]`) }));
      const names = e.RepoTags.map((t) => tagName(t, `${what}.RepoTags`));
      const k = known.get(configId);
      if (k && k.manifest.layers.length === blobs.length && k.manifest.layers.every((d, j) => d.digest === blobs[j]!.blob.digest)) {
        const layers = pairLayers(config, blobs, k.manifest.layers.map((d) => d.mediaType), what);
        return {
          manifest: { raw: k.raw, digest: digestOf(k.raw), mediaType: k.manifest.mediaType ?? OCI_MANIFEST, parsed: k.manifest },
          config: { raw: configRaw, digest: configId, mediaType: k.manifest.config.mediaType, parsed: config },
          layers,
          names,
        };
      }
      // Legacy docker-archive: no manifest; Docker's schema 2 manifest for the blobs as they are.
      const family = familyFor(blobs.map((b) => b.blob.compression), 'docker');
      const layers = pairLayers(config, blobs, blobs.map((b) => layerMediaType(b.blob.compression, family)), what);
      const cmt = configMediaType(family);
      const built = buildManifest(family, { raw: configRaw, mediaType: cmt }, layers);
      return {
        manifest: { raw: built.raw, digest: built.digest, mediaType: built.manifest.mediaType!, parsed: built.manifest },
        config: { raw: configRaw, digest: configId, mediaType: cmt, parsed: config },
        layers,
        names,
      };
    });
    linkParents(images, entries);
    return images;
  }

  // --- OCI layout ---------------------------------------------------------------------

  /** Every image manifest index.json names (nested indexes: the one for `platform`). */
  private ociManifests(platform: Platform): Array<{ raw: Buffer; manifest: ImageManifest; names: string[] }> {
    const index = parseIndex(this.document(this.resolve('index.json', 'index.json'), 'index.json').bytes, 'index.json');
    const out: Array<{ raw: Buffer; manifest: ImageManifest; names: string[] }> = [];
    const visit = (d: Descriptor, where: string, names: string[], depth: number): void => {
      if (depth > 4) throw new DataCorruptError(`${where}: indexes nested too deeply`);
      const mem = this.byDigest(d.digest, where);
      if (this.sizeOf(mem) !== d.size) throw new DataCorruptError(`${where}: size mismatch: the descriptor says ${d.size} bytes, the blob has ${this.sizeOf(mem)}`);
      const raw = this.document(mem, where).bytes;
      const doc = parseManifestOrIndex(raw, `${where} (${d.digest})`, d.mediaType);
      if (doc.kind === 'manifest') {
        out.push({ raw, manifest: doc.manifest, names });
        return;
      }
      const pick = selectManifest(doc.index, platform);
      if (!pick) throw new UnsupportedError(`${where}: no image for ${platform.os}/${platform.architecture} in this index`);
      visit(pick, `${where}.manifests[${doc.index.manifests.indexOf(pick)}]`, names, depth + 1);
    };
    for (const [i, d] of index.manifests.entries()) {
      if (!isManifestType(d.mediaType) && !isIndexType(d.mediaType)) continue;
      const ann = d.annotations ?? {};
      const names: string[] = [];
      const full = ann['io.containerd.image.name'];
      const refName = ann['org.opencontainers.image.ref.name'];
      if (full) names.push(full);
      else if (refName && /[:/]/.test(refName)) names.push(refName);
      visit(d, `index.json manifests[${i}]`, names.map((n) => tagName(n, `index.json manifests[${i}] annotations`)), 0);
    }
    if (out.length === 0) throw new DataCorruptError('index.json: names no image manifest');
    return out;
  }

  private ociImages(platform: Platform): SourceImage[] {
    parseOciLayout(this.document(this.resolve('oci-layout', 'oci-layout'), 'oci-layout').bytes, 'oci-layout');
    // One index entry per tag: merge entries that name the same manifest.
    const byManifest = new Map<Digest, { raw: Buffer; manifest: ImageManifest; names: string[] }>();
    for (const f of this.ociManifests(platform)) {
      const d = digestOf(f.raw);
      const prev = byManifest.get(d);
      if (prev) prev.names.push(...f.names);
      else byManifest.set(d, { ...f, names: [...f.names] });
    }
    return [...byManifest].map(([d, { raw, manifest, names }]) => {
      const what = `manifest ${d}`;
      const { bytes: configRaw } = this.document(this.byDigest(manifest.config.digest, `${what} config`), `${what} config`);
      const config = parseImageConfig(configRaw, `image config ${manifest.config.digest}`);
      checkManifestConfig(manifest, config, what);
      const blobs = manifest.layers.map((l, i) => {
        const b = this.blob(this.byDigest(l.digest, `${what} layers[${i}]`), `${what} layers[${i}]`);
        if (b.size !== l.size) throw new DataCorruptError(`${what} layers[${i}]: size mismatch: the manifest says ${l.size} bytes, the blob has ${b.size}`);
        const declared = layerCompression(l.mediaType);
        if (declared !== b.compression) throw new DataCorruptError(`${what} layers[${i}]: media type ${l.mediaType} says ${declared}, the blob is ${b.compression}`);
        return { path: l.digest, blob: b };
      });
      const layers = pairLayers(config, blobs, manifest.layers.map((l) => l.mediaType), what);
      return {
        manifest: { raw, digest: d, mediaType: manifest.mediaType ?? OCI_MANIFEST, parsed: manifest },
        config: { raw: configRaw, digest: manifest.config.digest, mediaType: manifest.config.mediaType, parsed: config },
        layers,
        names,
      };
    });
  }
}

async function* empty(): AsyncGenerator<Uint8Array> {}

/**
 * The parents manifest.json names, as Docker's load keeps them (tarexport's
 * validatedParentLinks and checkValidParent): a parent the archive does not also hold is
 * ignored; one it holds must be the image's history minus its last entry, else the archive is
 * refused with Docker's words.
 */
function linkParents(images: SourceImage[], entries: readonly DockerManifestEntry[]): void {
  const byId = new Map(images.map((img) => [img.config.digest as string, img]));
  for (const [i, img] of images.entries()) {
    const named = entries[i]!.Parent;
    if (named === undefined || named === img.config.digest) continue;
    const parent = byId.get(named);
    if (parent === undefined) continue;
    if (!validParent(img.config.parsed.history ?? [], parent.config.parsed.history ?? [])) {
      throw new DataCorruptError(`image ${parent.config.digest} is not a valid parent for ${img.config.digest}`);
    }
    img.parent = parent.config.digest;
  }
}

/** Docker's checkValidParent: the child's history is the parent's plus one entry (or neither has any). */
function validParent(child: readonly HistoryEntry[], parent: readonly HistoryEntry[]): boolean {
  if (child.length === 0 && parent.length === 0) return true;
  if (child.length - parent.length !== 1) return false;
  const key = (h: HistoryEntry): string => JSON.stringify([h.created ?? '', h.author ?? '', h.created_by ?? '', h.comment ?? '', h.empty_layer ?? false]);
  return parent.every((h, j) => key(h) === key(child[j]!));
}

/** A JSON document starts with `{` or `[` (after white space); a tar, gzip or zstd stream never does in practice. */
/**
 * A member too short for a tar header and not compressed (docker-archive's `VERSION` files):
 * no layer, so it is kept with the documents instead of being handed to the sink to unpack.
 */
function cannotBeLayer(first: Buffer, size: number): boolean {
  return size < 512 && first.length === size && detectCompression(first) === 'none';
}

function looksLikeJson(b: Buffer): boolean {
  for (const c of b) {
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    return (c === 0x7b || c === 0x5b) && !isTarHeader(b);
  }
  return false;
}

/** A 512-byte block whose checksum field matches: a tar header (a file named `{…` would be one). */
function isTarHeader(b: Buffer): boolean {
  if (b.length < 512) return false;
  const field = b.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i]!;
  return sum === parseInt(field, 8);
}

/** The layers of an image, each blob paired with the config's diffID at its index (checked). */
function pairLayers(config: ImageConfig, blobs: Array<{ path: string; blob: ReceivedBlob }>, mediaTypes: MediaType[], what: string): LayerDescriptor[] {
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== blobs.length) {
    throw new DataCorruptError(`${what}: the config names ${diffIds.length} layers but the manifest has ${blobs.length}`);
  }
  return blobs.map(({ path, blob }, i) => {
    if (blob.diffId !== diffIds[i]) {
      throw new DataCorruptError(`${what}: layer ${i} (${path}): diffID mismatch: the config names ${diffIds[i]}, the layer's content is ${blob.diffId}`);
    }
    return { mediaType: parseMediaType(mediaTypes[i], `${what} layers[${i}].mediaType`), digest: blob.digest, size: blob.size, diffId: blob.diffId, uncompressedSize: blob.uncompressedSize };
  });
}

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
  /** The parent image's ID (`sha256:…`), as Docker's save writes it for a parent saved alongside. */
  Parent?: string;
}

function parseJsonValue(raw: Buffer, what: string): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new DataCorruptError(`${what}: invalid JSON: ${(e as Error).message}`);
  }
}

function parseDockerManifestJson(raw: Buffer): DockerManifestEntry[] {
  const v = parseJsonValue(raw, 'manifest.json');
  if (!Array.isArray(v)) throw new DataCorruptError('manifest.json: expected an array of images');
  if (v.length === 0) throw new DataCorruptError('manifest.json: no images in the archive');
  return v.map((e: unknown, i: number) => {
    const at = `manifest.json[${i}]`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new DataCorruptError(`${at}: expected an object`);
    const o = e as Record<string, unknown>;
    if (typeof o.Config !== 'string') throw new DataCorruptError(`${at}.Config: expected a string path`);
    if (!Array.isArray(o.Layers) || !o.Layers.every((l) => typeof l === 'string')) throw new DataCorruptError(`${at}.Layers: expected an array of string paths`);
    const tags = o.RepoTags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw new DataCorruptError(`${at}.RepoTags: expected an array of strings`);
    const parent = o.Parent ?? '';
    if (typeof parent !== 'string') throw new DataCorruptError(`${at}.Parent: expected a string`);
    return { Config: o.Config, RepoTags: tags as string[], Layers: o.Layers as string[], ...(parent !== '' ? { Parent: parent } : {}) };
  });
}

function tagName(t: string, what: string): string {
  let ref;
  try {
    ref = parseNormalizedReference(t);
  } catch (e) {
    throw new DataCorruptError(`${what}: invalid tag ${JSON.stringify(t)}: ${(e as Error).message}`);
  }
  if (ref.digest) throw new DataCorruptError(`${what}: ${JSON.stringify(t)} is a digest reference, not a tag`);
  return withDefaultTag(ref).toString();
}
