/**
 * A carried build cache in a directory (`--cache-to type=local,dest=DIR`, `--cache-from
 * type=local,src=DIR`), in OCI image layout: `oci-layout`, `index.json` naming one cache
 * document (media type {@link CACHE_DOCUMENT}), `blobs/sha256/…` holding it and the layers.
 * Blobs are written to a temporary name while hashed, then renamed to their digest; the
 * document and the index are replaced atomically. A directory that does not exist (or has no
 * index) holds no document.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { Digester, type Digest, hexOf, isDigest } from '../digest/digest.js';
import { DataCorruptError, NotFoundError, errnoCode } from '../errors.js';
import { randomHex } from '../random.js';
import { removeFile } from '../rmtree.js';
import { CACHE_DOCUMENT, parseCacheDocument, type BlobDescriptor, type CacheDocument, type CacheStore } from './cache-transfer.js';

export class LocalCacheStore implements CacheStore {
  constructor(readonly dir: string) {}

  get name(): string {
    return this.dir;
  }

  private blobPath(digest: Digest): string {
    return join(this.dir, 'blobs', 'sha256', hexOf(digest));
  }

  async document(): Promise<CacheDocument | undefined> {
    let index: { manifests?: Array<{ mediaType?: string; digest?: string }> };
    try {
      index = JSON.parse(readFileSync(join(this.dir, 'index.json'), 'utf8')) as typeof index;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw new DataCorruptError(`${this.dir}: index.json is not readable JSON: ${(e as Error).message}`);
    }
    const doc = (index.manifests ?? []).find((m) => m.mediaType === CACHE_DOCUMENT);
    if (doc === undefined || !isDigest(doc.digest)) return undefined;
    let raw: Buffer;
    try {
      raw = readFileSync(this.blobPath(doc.digest as Digest));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new DataCorruptError(`${this.dir}: the cache document ${doc.digest} is missing`);
      throw e;
    }
    return parseCacheDocument(raw, this.dir);
  }

  async has(blob: BlobDescriptor): Promise<boolean> {
    return existsSync(this.blobPath(blob.digest));
  }

  async blob(blob: BlobDescriptor): Promise<AsyncIterable<Uint8Array>> {
    const path = this.blobPath(blob.digest);
    try {
      statSync(path);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new NotFoundError(`${this.dir}: blob ${blob.digest} not found`);
      throw e;
    }
    return createReadStream(path);
  }

  async putBlob(bytes: AsyncIterable<Uint8Array>, mediaType: string): Promise<BlobDescriptor> {
    mkdirSync(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    const tmp = join(this.dir, 'blobs', 'sha256', `.tmp-${process.pid}-${randomHex(6)}`);
    const out = createWriteStream(tmp);
    const d = new Digester();
    try {
      for await (const piece of bytes) {
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
    renameSync(tmp, this.blobPath(digest));
    return { mediaType, digest, size: d.size };
  }

  async putDocument(doc: CacheDocument): Promise<void> {
    mkdirSync(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    const raw = Buffer.from(JSON.stringify(doc));
    const d = new Digester();
    d.update(raw);
    const digest = d.digest();
    writeAtomic(this.blobPath(digest), raw);
    writeAtomic(join(this.dir, 'oci-layout'), Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: CACHE_DOCUMENT, digest, size: raw.length }] };
    writeAtomic(join(this.dir, 'index.json'), Buffer.from(JSON.stringify(index)));
  }
}

function writeAtomic(path: string, bytes: Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
