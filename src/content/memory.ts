/**
 * MemoryContentStore: a ContentStore held in memory, for tests and for building small
 * images (e.g. the OCI layout of an archive) before they are written anywhere. Same
 * semantics as the local store: verify on commit, nothing visible before.
 */
import { Readable } from 'node:stream';
import { algorithmOf, type Digest, Digester, digestOf } from '../digest/digest.js';
import { DataCorruptError, InvalidArgumentError, NotFoundError, PreconditionError } from '../errors.js';
import { type BlobHandle, type BlobInfo, type ByteRange, type ContentStore, type ContentWriter, type Expected, MAX_DOCUMENT_BYTES, type NamedIngest, type WriterOptions, ingestWith, isIngestRef } from './content.js';

export class MemoryContentStore implements ContentStore {
  private readonly blobs = new Map<Digest, Buffer>();

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    const b = this.blobs.get(digest);
    return b ? { digest, size: b.length } : undefined;
  }

  async diskBytes(digest: Digest): Promise<number | undefined> {
    return this.blobs.get(digest)?.length;
  }

  async reader(digest: Digest, range?: ByteRange): Promise<Readable> {
    const b = this.blobs.get(digest);
    if (!b) throw new NotFoundError(`blob ${digest} not found in the content store`);
    return Readable.from([range ? b.subarray(range.start, range.end === undefined ? undefined : range.end + 1) : b]);
  }

  async open(digest: Digest): Promise<BlobHandle> {
    const b = this.blobs.get(digest);
    if (!b) throw new NotFoundError(`blob ${digest} not found in the content store`);
    return {
      size: b.length,
      read: async (buf, offset, length, position) => b.copy(buf, offset, position, Math.min(b.length, position + length)),
      close: async () => undefined,
    };
  }

  async readBytes(digest: Digest, maxBytes = MAX_DOCUMENT_BYTES): Promise<Buffer> {
    const b = this.blobs.get(digest);
    if (!b) throw new NotFoundError(`blob ${digest} not found in the content store`);
    if (b.length > maxBytes) throw new DataCorruptError(`blob ${digest} is ${b.length} bytes, more than the ${maxBytes} allowed for a document`);
    return Buffer.from(b);
  }

  /** Named ingests (WriterOptions.ref): their bytes, kept between writers. */
  private readonly refs = new Map<string, Buffer[]>();

  /** When each named ingest was last written to. */
  private readonly refTimes = new Map<string, number>();

  async dropIngest(ref: string): Promise<void> {
    this.refs.delete(ref);
    this.refTimes.delete(ref);
  }

  async namedIngests(): Promise<NamedIngest[]> {
    return [...this.refs.keys()].sort().map((ref) => ({ ref, updatedAt: this.refTimes.get(ref) ?? 0 }));
  }

  async writer(opts: WriterOptions = {}): Promise<ContentWriter> {
    const hashedByCaller = opts.hashedByCaller === true;
    const ref = opts.ref;
    if (ref !== undefined && !isIngestRef(ref)) throw new InvalidArgumentError(`invalid ingest ref ${JSON.stringify(ref)}`);
    const chunks: Buffer[] = ref !== undefined ? (this.refs.get(ref) ?? []) : [];
    const refs = this.refs;
    const times = this.refTimes;
    if (ref !== undefined) {
      refs.set(ref, chunks);
      if (!times.has(ref)) times.set(ref, Date.now());
    }
    const done = (): void => {
      if (ref === undefined) return;
      refs.delete(ref);
      times.delete(ref);
    };
    const digester = new Digester();
    for (const c of chunks) digester.update(c);
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
        if (ref !== undefined) times.set(ref, Date.now());
      },
      async commit(expected?: Expected) {
        const what = expected?.what ?? 'blob';
        const size = digester.size;
        // a digest of another algorithm than the running hash's (sha512): the bytes hashed again in it
        const alg = expected?.digest !== undefined ? algorithmOf(expected.digest) : digester.algorithm;
        const digest = alg === digester.algorithm ? digester.digest() : digestOf(Buffer.concat(chunks), alg);
        // a commit that fails discards the bytes, as the local store's does
        const fail = (m: string): never => {
          chunks.length = 0;
          done();
          throw new DataCorruptError(m);
        };
        if (expected?.size !== undefined && size !== expected.size) fail(`${what}: size mismatch: got ${size} bytes, expected ${expected.size}`);
        if (expected?.digest !== undefined && digest !== expected.digest) fail(`${what}: digest mismatch: got ${digest}, expected ${expected.digest}`);
        if (!blobs.has(digest)) blobs.set(digest, Buffer.concat(chunks));
        chunks.length = 0;
        done();
        return { digest, size };
      },
      async abort() {
        chunks.length = 0;
        done();
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

  deleteSync(digest: Digest): number {
    const size = this.blobs.get(digest)?.length ?? 0;
    this.blobs.delete(digest);
    return size;
  }

  async *walk(): AsyncIterable<BlobInfo> {
    for (const d of [...this.blobs.keys()].sort()) yield { digest: d, size: this.blobs.get(d)!.length };
  }

  async digests(): Promise<Digest[]> {
    return [...this.blobs.keys()].sort();
  }
}
