/**
 * MemoryContentStore: a ContentStore held in memory, for tests and for building small
 * images (e.g. the OCI layout of an archive) before they are written anywhere. Same
 * semantics as the local store: verify on commit, nothing visible before.
 */
import { Readable } from 'node:stream';
import { algorithmOf, type Digest, Digester, digestOf } from '../digest/digest.js';
import { DataCorruptError, NotFoundError, PreconditionError } from '../errors.js';
import { type BlobInfo, type ByteRange, type ContentStore, type ContentWriter, type Expected, MAX_DOCUMENT_BYTES, type WriterOptions, ingestWith } from './content.js';

export class MemoryContentStore implements ContentStore {
  private readonly blobs = new Map<Digest, Buffer>();

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    const b = this.blobs.get(digest);
    return b ? { digest, size: b.length } : undefined;
  }

  async reader(digest: Digest, range?: ByteRange): Promise<Readable> {
    const b = this.blobs.get(digest);
    if (!b) throw new NotFoundError(`blob ${digest} not found in the content store`);
    return Readable.from([range ? b.subarray(range.start, range.end === undefined ? undefined : range.end + 1) : b]);
  }

  async readBytes(digest: Digest, maxBytes = MAX_DOCUMENT_BYTES): Promise<Buffer> {
    const b = this.blobs.get(digest);
    if (!b) throw new NotFoundError(`blob ${digest} not found in the content store`);
    if (b.length > maxBytes) throw new DataCorruptError(`blob ${digest} is ${b.length} bytes, more than the ${maxBytes} allowed for a document`);
    return Buffer.from(b);
  }

  async writer(opts: WriterOptions = {}): Promise<ContentWriter> {
    const hashedByCaller = opts.hashedByCaller === true;
    const chunks: Buffer[] = [];
    const digester = new Digester();
    const blobs = this.blobs;
    return {
      get offset() {
        return digester.size;
      },
      digest() {
        if (hashedByCaller) throw new PreconditionError('this writer does not hash: its caller does (hashedByCaller)');
        return digester.peek();
      },
      async write(chunk: Uint8Array) {
        digester.update(chunk);
        chunks.push(Buffer.from(chunk));
      },
      async commit(expected?: Expected) {
        const what = expected?.what ?? 'blob';
        const size = digester.size;
        // a digest of another algorithm than the running hash's (sha512): the bytes hashed again in it
        const alg = expected?.digest !== undefined ? algorithmOf(expected.digest) : digester.algorithm;
        const digest = alg === digester.algorithm ? digester.digest() : digestOf(Buffer.concat(chunks), alg);
        if (expected?.size !== undefined && size !== expected.size) throw new DataCorruptError(`${what}: size mismatch: got ${size} bytes, expected ${expected.size}`);
        if (expected?.digest !== undefined && digest !== expected.digest) throw new DataCorruptError(`${what}: digest mismatch: got ${digest}, expected ${expected.digest}`);
        if (!blobs.has(digest)) blobs.set(digest, Buffer.concat(chunks));
        chunks.length = 0;
        return { digest, size };
      },
      async abort() {
        chunks.length = 0;
      },
    };
  }

  ingest(source: AsyncIterable<Uint8Array>, expected?: Expected): Promise<BlobInfo> {
    return this.writer().then((w) => ingestWith(w, source, expected));
  }

  async delete(digest: Digest): Promise<void> {
    this.blobs.delete(digest);
  }

  has(digest: Digest): boolean {
    return this.blobs.has(digest);
  }

  deleteSync(digest: Digest): void {
    this.blobs.delete(digest);
  }

  async *walk(): AsyncIterable<BlobInfo> {
    for (const d of [...this.blobs.keys()].sort()) yield { digest: d, size: this.blobs.get(d)!.length };
  }
}
