/**
 * LocalContentStore: blobs as files under ROOT/content/blobs/<alg>/<hex>.
 *
 * Ingest discipline (containerd's): bytes go to ROOT/content/ingest/<pid>-<random>, hashed
 * while written; commit fsyncs, verifies size and digest, renames into place and fsyncs the
 * directory. A killed writer leaves only an ingest file, which `cleanIngest` removes once its
 * process is gone. A named ingest (`WriterOptions.ref`) is ROOT/content/ingest/ref-<ref>: it
 * outlives its process and is resumed by the next writer with that ref. Blobs are immutable: a blob that already exists is never rewritten.
 */
import { closeSync, createReadStream, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type Digest, Digester, algorithmOf, digestStream, hexOf, parseDigest } from '../digest/digest.js';
import { DataCorruptError, InvalidArgumentError, NotFoundError, PreconditionError, errnoCode } from '../errors.js';
import { type BlobHandle, type BlobInfo, type ByteRange, type ContentStore, type ContentWriter, type Expected, MAX_DOCUMENT_BYTES, type NamedIngest, type WriterOptions, ingestWith, isIngestRef } from './content.js';
import { processAlive } from '../process.js';

export class LocalContentStore implements ContentStore {
  readonly root: string;
  private readonly blobsDir: string;
  private readonly ingestDir: string;

  constructor(root: string) {
    this.root = root;
    this.blobsDir = join(root, 'blobs');
    this.ingestDir = join(root, 'ingest');
  }

  /** Create the directories; remove ingest leftovers of processes that are gone. */
  async init(): Promise<void> {
    // synchronous: a store opens at every command's start, where thread-pool round trips cost more than these calls
    mkdirSync(join(this.blobsDir, 'sha256'), { recursive: true });
    mkdirSync(this.ingestDir, { recursive: true });
    await this.cleanIngest();
  }

  blobPath(digest: Digest): string {
    return join(this.blobsDir, algorithmOf(digest), hexOf(digest));
  }

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const st = await fsp.stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  async diskBytes(digest: Digest): Promise<number | undefined> {
    try {
      return (await fsp.stat(this.blobPath(digest))).blocks * 512;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** The blob's file opened for reading, or NotFoundError. */
  private async openFile(digest: Digest): Promise<fsp.FileHandle> {
    try {
      return await fsp.open(this.blobPath(digest), 'r');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new NotFoundError(`blob ${digest} not found in the content store`);
      throw e;
    }
  }

  async reader(digest: Digest, range?: ByteRange): Promise<Readable> {
    const fh = await this.openFile(digest);
    return createReadStream('', { fd: fh, highWaterMark: 1 << 20, ...(range ? { start: range.start, ...(range.end !== undefined ? { end: range.end } : {}) } : {}) });
  }

  async open(digest: Digest): Promise<BlobHandle> {
    const fh = await this.openFile(digest);
    const size = (await fh.stat()).size;
    return {
      size,
      read: async (buf, offset, length, position) => (await fh.read(buf, offset, length, position)).bytesRead,
      close: () => fh.close(),
    };
  }

  async readBytes(digest: Digest, maxBytes = MAX_DOCUMENT_BYTES): Promise<Buffer> {
    // A document (a config, a manifest) is small and bounded: read with synchronous calls, as
    // the store's start-up is. Each trip to the thread pool costs more than such a read (a
    // pool thread woken on a small VM: 0.1-0.5 ms; fs.promises' readFile takes five).
    let fd: number;
    try {
      fd = openSync(this.blobPath(digest), 'r');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new NotFoundError(`blob ${digest} not found in the content store`);
      throw e;
    }
    try {
      const size = fstatSync(fd).size;
      if (size > maxBytes) throw new DataCorruptError(`blob ${digest} is ${size} bytes, more than the ${maxBytes} allowed for a document`);
      const bytes = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, bytes, got, size - got, got);
        if (n === 0) break;
        got += n;
      }
      return got === size ? bytes : bytes.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  }

  async writer(opts: WriterOptions = {}): Promise<ContentWriter> {
    if (opts.ref !== undefined) {
      // a named ingest: resumed after the bytes it holds, which are hashed again once
      const path = this.refPath(opts.ref);
      const fh = await fsp.open(path, 'a', 0o644);
      const w = new LocalWriter(this, fh, path, opts.hashedByCaller === true);
      const size = (await fh.stat()).size;
      if (size > 0) await w.resumed(createReadStream(path, { highWaterMark: 1 << 20, end: size - 1 }), size);
      return w;
    }
    const name = `${process.pid}-${randomBytes(8).toString('hex')}`;
    const path = join(this.ingestDir, name);
    const fh = await fsp.open(path, 'wx', 0o644);
    return new LocalWriter(this, fh, path, opts.hashedByCaller === true);
  }

  private refPath(ref: string): string {
    if (!isIngestRef(ref)) throw new InvalidArgumentError(`invalid ingest ref ${JSON.stringify(ref)}`);
    return join(this.ingestDir, `ref-${ref}`);
  }

  async dropIngest(ref: string): Promise<void> {
    await fsp.rm(this.refPath(ref), { force: true });
  }

  async namedIngests(): Promise<NamedIngest[]> {
    const out: NamedIngest[] = [];
    for (const name of (await fsp.readdir(this.ingestDir)).sort()) {
      if (!name.startsWith('ref-')) continue;
      try {
        out.push({ ref: name.slice('ref-'.length), updatedAt: (await fsp.stat(join(this.ingestDir, name))).mtimeMs });
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e; // committed or dropped since the listing
      }
    }
    return out;
  }

  ingest(source: AsyncIterable<Uint8Array>, expected?: Expected): Promise<BlobInfo> {
    return this.writer().then((w) => ingestWith(w, source, expected));
  }

  async delete(digest: Digest): Promise<void> {
    await fsp.rm(this.blobPath(digest), { force: true });
  }

  has(digest: Digest): boolean {
    return existsSync(this.blobPath(digest));
  }

  deleteSync(digest: Digest): number {
    const path = this.blobPath(digest);
    // st_blocks are 512-byte units whatever the file system's block size; a blob has one link
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st === undefined) return 0;
    rmSync(path, { force: true });
    return st.blocks * 512;
  }

  async *walk(): AsyncIterable<BlobInfo> {
    let algs: string[];
    try {
      algs = await fsp.readdir(this.blobsDir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      throw e;
    }
    for (const alg of algs.sort()) {
      for (const hex of (await fsp.readdir(join(this.blobsDir, alg))).sort()) {
        const digest = parseDigest(`${alg}:${hex}`, `content store file ${alg}/${hex}`);
        let size: number;
        try {
          size = (await fsp.stat(join(this.blobsDir, alg, hex))).size;
        } catch (e) {
          if (errnoCode(e) === 'ENOENT') continue; // removed by another process since the listing
          throw e;
        }
        yield { digest, size };
      }
    }
  }

  async digests(): Promise<Digest[]> {
    let algs: string[];
    try {
      algs = await fsp.readdir(this.blobsDir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
    const out: Digest[] = [];
    for (const alg of algs.sort()) {
      for (const hex of (await fsp.readdir(join(this.blobsDir, alg))).sort()) out.push(parseDigest(`${alg}:${hex}`, `content store file ${alg}/${hex}`));
    }
    return out;
  }

  /** Remove ingest files whose writing process no longer exists. Returns how many were removed. */
  async cleanIngest(): Promise<number> {
    let removed = 0;
    for (const name of readdirSync(this.ingestDir)) {
      if (name.startsWith('ref-')) continue; // a named ingest: its owner expires it
      const pid = Number(name.split('-', 1)[0]);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) continue;
      if (pid === process.pid) continue; // ours, in progress
      await fsp.rm(join(this.ingestDir, name), { force: true, recursive: true });
      removed++;
    }
    return removed;
  }

  /** Publish a verified ingest file. */
  async publish(tmpPath: string, digest: Digest): Promise<void> {
    const dest = this.blobPath(digest);
    await fsp.mkdir(join(this.blobsDir, algorithmOf(digest)), { recursive: true });
    await fsp.rename(tmpPath, dest);
    const dir = await fsp.open(join(this.blobsDir, algorithmOf(digest)), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}


class LocalWriter implements ContentWriter {
  /** null when the caller hashes the bytes (see WriterOptions.hashedByCaller). */
  private readonly digester: Digester | null;
  private written = 0;
  private done = false;
  constructor(
    private readonly store: LocalContentStore,
    private readonly fh: fsp.FileHandle,
    private readonly path: string,
    hashedByCaller: boolean,
  ) {
    this.digester = hashedByCaller ? null : new Digester();
  }

  get offset(): number {
    return this.written;
  }

  /** The ingest already holds `size` bytes (a named ingest resumed): they are hashed, not written. */
  async resumed(bytes: AsyncIterable<Uint8Array>, size: number): Promise<void> {
    if (this.digester) for await (const c of bytes) this.digester.update(c);
    this.written = size;
  }

  digest(): Digest {
    if (!this.digester) throw new PreconditionError('this writer does not hash: its caller does (hashedByCaller)');
    return this.digester.peek();
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.digester?.update(chunk);
    this.written += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
  }

  async commit(expected?: Expected): Promise<BlobInfo> {
    const what = expected?.what ?? 'blob';
    const size = this.written;
    this.done = true;
    try {
      // The caller's verified digest, or the bytes' own (hashed here, or read back and hashed).
      // (a digest of another algorithm than the running hash's — sha512 — is computed again from the file)
      const alg = expected?.digest !== undefined ? algorithmOf(expected.digest) : 'sha256';
      const digest =
        this.digester && this.digester.algorithm === alg
          ? this.digester.digest()
          : this.digester
            ? (await digestStream(createReadStream(this.path, { highWaterMark: 1 << 20 }), alg)).digest
            : (expected?.digest ?? (await digestStream(createReadStream(this.path, { highWaterMark: 1 << 20 }))).digest);
      if (expected?.size !== undefined && size !== expected.size) {
        throw new DataCorruptError(`${what}: size mismatch: got ${size} bytes, expected ${expected.size}`);
      }
      if (expected?.digest !== undefined && digest !== expected.digest) {
        throw new DataCorruptError(`${what}: digest mismatch: got ${digest}, expected ${expected.digest}`);
      }
      if (await this.store.info(digest)) {
        await this.fh.close();
        await fsp.rm(this.path, { force: true });
        return { digest, size };
      }
      await this.fh.sync();
      await this.fh.close();
      await this.store.publish(this.path, digest);
      return { digest, size };
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  async abort(): Promise<void> {
    this.done = true;
    try {
      await this.fh.close();
    } catch (e) {
      // Already closed by a commit that failed after closing: nothing left to release.
      if (errnoCode(e) !== 'EBADF' && !(e instanceof Error && /closed/i.test(e.message))) throw e;
    }
    await fsp.rm(this.path, { force: true });
  }

  get finished(): boolean {
    return this.done;
  }
}
