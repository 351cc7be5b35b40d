/**
 * The build cache carried between machines (`build --cache-to type=local,dest=DIR[,mode=max]`,
 * `--cache-from type=local,src=DIR`): a directory in OCI image layout — `oci-layout`,
 * `index.json` naming one cache document, `blobs/sha256/…` — whose document maps cache keys
 * (cache-key.ts: parent chainID, resolved step, content of what COPY reads: nothing of the
 * machine) to the layer each step made, a gzip'd tar blob. Because keys are content, another
 * machine building the same input on the same base hits: the layer is applied from the blob
 * onto the step's parent (digest and diffID verified), recorded as a local cache entry, and
 * the step is CACHED.
 *
 * mode=min (default) exports the layers of the image built; mode=max every step's. Blobs
 * already in the directory are kept, and written once; the index is replaced atomically.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { gzipPieces } from '../compression/index.js';
import { Digester, type Digest, hexOf, isDigest } from '../digest/digest.js';
import { AlreadyExistsError, DataCorruptError, InvalidArgumentError, NotFoundError, errnoCode } from '../errors.js';
import { applyRecorded, reemit } from '../image/layertar.js';
import { removeFile } from '../rmtree.js';
import { snapshotRef, type Ref } from '../metadata/refs.js';
import { childChainId } from '../oci/chainid.js';
import { randomHex } from '../random.js';
import { writableLayer } from '../snapshot/index.js';
import type { Store } from '../store/store.js';

export const CACHE_DOCUMENT = 'application/vnd.cairn.buildcache.v1+json';
const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface CacheExportSpec {
  type: 'local';
  dest: string;
  mode: 'min' | 'max';
}

export interface CacheImportSpec {
  type: 'local';
  src: string;
}

/** A step's result as the cache carries it. */
export interface CarriedEntry {
  key: Digest;
  diffId: Digest;
  /** When the layer was first made (its history time: an image built from the cache elsewhere is the same image). */
  createdAt: string;
  blob: { mediaType: string; digest: Digest; size: number };
}

interface CacheDocument {
  schemaVersion: 1;
  entries: CarriedEntry[];
}

/** `type=local,dest=DIR[,mode=min|max]` (--cache-to) or `type=local,src=DIR` (--cache-from), as buildx reads them. */
export function parseCacheSpec(text: string, flag: '--cache-to'): CacheExportSpec;
export function parseCacheSpec(text: string, flag: '--cache-from'): CacheImportSpec;
export function parseCacheSpec(text: string, flag: '--cache-to' | '--cache-from'): CacheExportSpec | CacheImportSpec {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`invalid ${flag} value ${JSON.stringify(text)}: ${JSON.stringify(part)} is not KEY=VALUE`);
    fields.set(part.slice(0, i).trim(), part.slice(i + 1));
  }
  const type = fields.get('type') ?? 'local';
  if (type !== 'local') throw new InvalidArgumentError(`${flag} type=${type} is not supported: use type=local`);
  if (flag === '--cache-to') {
    const dest = fields.get('dest');
    if (dest === undefined || dest === '') throw new InvalidArgumentError(`${flag} type=local needs dest=DIR`);
    const mode = fields.get('mode') ?? 'min';
    if (mode !== 'min' && mode !== 'max') throw new InvalidArgumentError(`invalid ${flag} mode ${JSON.stringify(mode)}: use min or max`);
    return { type: 'local', dest, mode };
  }
  const src = fields.get('src');
  if (src === undefined || src === '') throw new InvalidArgumentError(`${flag} type=local needs src=DIR`);
  return { type: 'local', src };
}

function blobPath(dir: string, digest: Digest): string {
  return join(dir, 'blobs', 'sha256', hexOf(digest));
}

/** A cache directory read for a build: its entries by key. A directory that does not exist yet is an empty cache (as buildx). */
export class ImportedCache {
  private constructor(
    readonly dir: string,
    private readonly entries: Map<string, CarriedEntry>,
  ) {}

  static open(spec: CacheImportSpec): ImportedCache {
    const dir = spec.src;
    let index: { manifests?: Array<{ mediaType?: string; digest?: string }> };
    try {
      index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as typeof index;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return new ImportedCache(dir, new Map());
      throw new DataCorruptError(`--cache-from ${dir}: index.json is not readable JSON: ${(e as Error).message}`);
    }
    const doc = (index.manifests ?? []).find((m) => m.mediaType === CACHE_DOCUMENT);
    if (doc === undefined || !isDigest(doc.digest)) return new ImportedCache(dir, new Map());
    const raw = readFileSync(blobPath(dir, doc.digest as Digest));
    const parsed = JSON.parse(raw.toString('utf8')) as CacheDocument;
    if (parsed.schemaVersion !== 1 || !Array.isArray(parsed.entries)) throw new DataCorruptError(`--cache-from ${dir}: the cache document is not one cairn writes`);
    return new ImportedCache(dir, new Map(parsed.entries.map((e) => [e.key, e])));
  }

  get(key: Digest): CarriedEntry | undefined {
    return this.entries.get(key);
  }

  /**
   * The entry's layer applied onto `parent` as a committed snapshot (digest and diffID checked),
   * with its tar-split record; leased with `protect`.
   */
  async importLayer(store: Store, entry: CarriedEntry, parent: Digest | undefined, protect: (ref: Ref) => void): Promise<{ chainId: Digest; diffId: Digest; size: number; tarSplit: Digest }> {
    const path = blobPath(this.dir, entry.blob.digest);
    if (!existsSync(path)) throw new NotFoundError(`--cache-from ${this.dir}: blob ${entry.blob.digest} of step ${entry.key} is missing`);
    const sn = await store.snapshots();
    const key = `cache-import-${process.pid}-${randomHex(6)}`;
    protect(snapshotRef(key));
    const made = writableLayer(await sn.prepare(key, parent));
    try {
      const applied = await applyRecorded(
        store,
        { dir: made.dir, whiteoutMode: made.deletions === 'whiteout' ? 'overlay' : 'oci-remove' },
        createReadStream(path),
        { expectedDigest: entry.blob.digest, expectedSize: entry.blob.size, expectedDiffId: entry.diffId, what: `cached layer ${entry.diffId}` },
        protect,
      );
      if (applied.tarSplit === undefined) throw new DataCorruptError(`cached layer ${entry.diffId}: its files cannot re-make its tar`);
      const chainId = childChainId(parent, entry.diffId);
      protect(snapshotRef(chainId));
      try {
        await sn.commit(chainId, key);
      } catch (e) {
        if (!(e instanceof AlreadyExistsError)) throw e;
        await sn.remove(key);
      }
      return { chainId, diffId: entry.diffId, size: applied.result.uncompressedSize, tarSplit: applied.tarSplit };
    } catch (e) {
      await sn.remove(key).catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
      throw e;
    }
  }
}

/** A step's result to export: its key and its layer in the store. */
export interface ExportEntry {
  key: Digest;
  chainId: Digest;
  diffId: Digest;
  tarSplit: Digest;
  createdAt: string;
}

/**
 * Write `entries` into the cache directory of `spec` (made if missing): each layer's tar
 * re-emitted from its snapshot, gzip'd on the pool, as a blob (kept when already there, by the
 * diffID it carries), then the cache document and the index, replaced atomically.
 */
export async function exportCache(store: Store, spec: CacheExportSpec, entries: readonly ExportEntry[]): Promise<void> {
  const dir = spec.dest;
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const previous = ImportedCache.open({ type: 'local', src: dir });
  const carried: CarriedEntry[] = [];
  const byDiffId = new Map<string, CarriedEntry['blob']>();
  for (const e of entries) {
    let blob = byDiffId.get(e.diffId) ?? reusable(previous, dir, e);
    if (blob === undefined) blob = await writeLayerBlob(store, dir, e);
    byDiffId.set(e.diffId, blob);
    carried.push({ key: e.key, diffId: e.diffId, createdAt: e.createdAt, blob });
  }
  const doc = Buffer.from(JSON.stringify({ schemaVersion: 1, entries: carried } satisfies CacheDocument));
  const d = new Digester();
  d.update(doc);
  const docDigest = d.digest();
  writeAtomic(blobPath(dir, docDigest), doc);
  writeAtomic(join(dir, 'oci-layout'), Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: CACHE_DOCUMENT, digest: docDigest, size: doc.length }] };
  writeAtomic(join(dir, 'index.json'), Buffer.from(JSON.stringify(index)));
}

/** The blob an earlier export wrote for the same layer, if it is still there. */
function reusable(previous: ImportedCache, dir: string, e: ExportEntry): CarriedEntry['blob'] | undefined {
  const old = previous.get(e.key);
  if (old === undefined || old.diffId !== e.diffId || !existsSync(blobPath(dir, old.blob.digest))) return undefined;
  return old.blob;
}

async function writeLayerBlob(store: Store, dir: string, e: ExportEntry): Promise<CarriedEntry['blob']> {
  const tmp = join(dir, 'blobs', 'sha256', `.tmp-${process.pid}-${randomHex(6)}`);
  const out = createWriteStream(tmp);
  const d = new Digester();
  const tar = await reemit(store, e.chainId, e.diffId, e.tarSplit);
  try {
    for await (const piece of gzipPieces(tar)) {
      d.update(piece);
      if (!out.write(piece)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    removeFile(tmp);
    throw err;
  }
  const digest = d.digest();
  renameSync(tmp, blobPath(dir, digest));
  return { mediaType: LAYER_GZIP, digest, size: d.size };
}

function writeAtomic(path: string, bytes: Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
