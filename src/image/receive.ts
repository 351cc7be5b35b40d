/**
 * Unpacking a layer as it arrives, before anyone knows where it goes (a single-pass load):
 * with a snapshotter that can rebase (overlay: a layer is an independent directory), the
 * bytes are applied into a parentless active snapshot with overlay whiteouts while they
 * stream — decompressed once, hashed once (digest and diffID), the tar-split recorded — and
 * the snapshot gets its parent and its chainID later, when the image is recorded
 * ({@link commitDetached}). The bytes also go to a content-store writer: a compressed layer
 * keeps its blob (save and push keep its digest); an uncompressed one whose files reproduce
 * it does not (the writer is abandoned before it is ever synced).
 *
 * Bytes that turn out not to be a layer (an archive member no manifest names as one, or a
 * layer that does not apply) are kept as a plain blob, and the failure is kept: it is
 * reported, naming the layer by its diffID as an unpack would, only if an image uses them.
 */
import { randomBytes } from 'node:crypto';
import type { Digest } from '../digest/digest.js';
import { Digester } from '../digest/digest.js';
import { CairnError, DataCorruptError } from '../errors.js';
import { type Compression, detectCompression, MAGIC_BYTES } from '../compression/detect.js';
import { CompressedDataError, decompressStream } from '../compression/stream.js';
import { applyLayer } from '../layer/apply.js';
import { type FileSpanBytes, isFileSpanBytes, type TarTap } from '../tar/index.js';
import { reassembleTar } from '../layer/tarsplit.js';
import { classifyWhiteout } from '../layer/whiteout.js';
import { blobRef, type Ref, snapshotRef } from '../metadata/refs.js';
import { AlreadyExistsError } from '../errors.js';
import { writableLayer } from '../snapshot/index.js';
import type { ContentWriter } from '../content/content.js';
import type { Store } from '../store/store.js';
import { applyRecorded, contentRecorder } from './layertar.js';

export interface Detached {
  /** The active snapshot holding the layer (parentless), until it is committed. */
  key: string;
  digest: Digest;
  size: number;
  diffId: Digest;
  uncompressedSize: number;
  compression: Compression;
  tarSplit: Digest | undefined;
  /** The layer holds whiteouts (as overlay devices): committed as a base layer it must be re-applied. */
  whiteouts: boolean;
  /** Whether the blob was kept in the content store. */
  blobKept: boolean;
}

export interface NotALayer {
  digest: Digest;
  size: number;
  diffId: Digest;
  uncompressedSize: number;
  compression: Compression;
  /** Why it could not be unpacked, as the applier said it, without the subject. */
  failure: string;
}

export type Received = { kind: 'layer'; layer: Detached } | { kind: 'blob'; blob: NotALayer };

export interface ReceiveHint {
  digest?: Digest;
  size?: number;
  what: string;
  /** The same bytes read again (see BlobHint): an uncompressed layer is then not copied while it streams. */
  reread?: () => AsyncIterable<Uint8Array>;
}

/**
 * Apply `source` into a new parentless snapshot as it streams (the snapshotter must rebase). A
 * span of a file ({@link FileSpanBytes}) that is not kept as a blob is read by position.
 */
export async function receiveLayer(store: Store, source: AsyncIterable<Uint8Array> | FileSpanBytes, hint: ReceiveHint, protect: (ref: Ref) => void): Promise<Received> {
  const sn = await store.snapshots();
  const key = `extract-${process.pid}-${randomBytes(6).toString('hex')}`;
  protect(snapshotRef(key));
  const dir = writableLayer(await sn.prepare(key)).dir;
  // The bytes go to a content-store writer as they stream (a tee), unless they can be read
  // again and will not be kept (uncompressed, or compressed in a store that drops those): such
  // a layer keeps no blob when its files reproduce it, and is read again in the rare case they
  // do not. The applier hashes the bytes (digest and diffID): the tee's writer does not.
  let writer: ContentWriter | undefined;
  let teeing: boolean | undefined;
  // A span of a file is applied by position unless its bytes are to be kept (then teed as they stream).
  let span: FileSpanBytes | undefined;
  if (isFileSpanBytes(source) && hint.reread !== undefined) {
    const head = await source.read(0, MAGIC_BYTES);
    const compressed = head.length < MAGIC_BYTES || detectCompression(head) !== 'none';
    if (!(compressed && store.compressedBlobs === 'keep')) {
      span = source;
      teeing = false;
    }
  }
  const it = source[Symbol.asyncIterator]();
  let sourceError: unknown;
  let ended = false;
  // Writes go behind the applier, in order, a few chunks at most in flight: the file is
  // written while the next chunk is parsed and applied.
  let queue: Promise<void> = Promise.resolve();
  let inFlight = 0;
  let writeError: unknown;
  const enqueue = async (w: ContentWriter, chunk: Uint8Array): Promise<void> => {
    if (writeError !== undefined) throw writeError;
    inFlight++;
    queue = queue
      .then(() => w.write(chunk))
      .then(
        () => void inFlight--,
        (e: unknown) => {
          inFlight--;
          writeError ??= e;
        },
      );
    if (inFlight >= 4) await queue;
  };
  const flush = async (): Promise<void> => {
    await queue;
    if (writeError !== undefined) throw writeError;
  };
  // The bytes go to the writer as the applier pulls them; the source is not closed if the applier stops early.
  async function* tee(): AsyncGenerator<Uint8Array> {
    for (;;) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await it.next();
      } catch (e) {
        sourceError = e;
        throw e;
      }
      if (r.done) {
        ended = true;
        return;
      }
      if (teeing === undefined) {
        const compressed = r.value.length < MAGIC_BYTES || detectCompression(r.value) !== 'none';
        teeing = hint.reread === undefined || (compressed && store.compressedBlobs === 'keep');
        if (teeing) writer = await store.content.writer({ hashedByCaller: true });
      }
      if (writer !== undefined) await enqueue(writer, r.value);
      yield r.value;
    }
  }
  // Not teed: the bytes read again (none arrived at all when there is no way to read them again).
  const again = (): AsyncIterable<Uint8Array> => (hint.reread !== undefined ? hint.reread() : noBytes());
  let whiteouts = false;
  const { recorder, recorded } = contentRecorder(store, protect, { what: hint.what });
  const tap: TarTap = {
    raw: recorder.tap.raw,
    body: recorder.tap.body,
    ...(recorder.tap.bodySpan ? { bodySpan: recorder.tap.bodySpan } : {}),
    ...(recorder.tap.plain ? { plain: recorder.tap.plain } : {}), // a plain run holds no whiteout
    entry: (h: Parameters<typeof recorder.tap.entry>[0]) => {
      const base = h.name.replace(/\/+$/, '').split('/').pop() ?? '';
      if (!whiteouts && classifyWhiteout(base) !== null) whiteouts = true;
      return recorder.tap.entry(h);
    },
  };
  try {
    const r = await applyLayer({ dir, whiteoutMode: 'overlay' }, span ?? tee(), {
      ...(hint.digest ? { expectedDigest: hint.digest } : {}),
      ...(hint.size !== undefined ? { expectedSize: hint.size } : {}),
      what: hint.what,
      tap,
    });
    const split = await recorder.finish();
    await flush();
    // kept: a layer its files cannot reproduce, and a compressed one unless the store drops those
    const keep = !split.reproducible || (r.compression !== 'none' && store.compressedBlobs === 'keep');
    if (keep) {
      protect(blobRef(r.digest));
      if (writer !== undefined) await writer.commit({ digest: r.digest, size: r.size, what: hint.what });
      else await storeAgain(store, again(), { digest: r.digest, size: r.size, what: hint.what });
    } else {
      await writer?.abort();
    }
    return {
      kind: 'layer',
      layer: { key, digest: r.digest, size: r.size, diffId: r.diffId, uncompressedSize: r.uncompressedSize, compression: r.compression, tarSplit: split.reproducible ? recorded() : undefined, whiteouts, blobKept: keep },
    };
  } catch (e) {
    recorder.abort(e);
    // The source's own failure (a truncated archive) is the copy's, as it said it; bytes that
    // do not decompress or do not match their digest or size fail the copy at once; only a
    // tar that does not apply may still be a blob that is not a layer.
    await queue; // nothing in flight while the writer is aborted or written on
    if (sourceError !== undefined) {
      await writer?.abort();
      throw sourceError;
    }
    if (!(e instanceof DataCorruptError) || e instanceof CompressedDataError || e.cause instanceof CompressedDataError || /: (digest|size) mismatch|data after the end of the/.test(e.message)) {
      await writer?.abort();
      throw e;
    }
    // Not a layer (or a layer that does not apply): keep the bytes as a blob, and why.
    try {
      if (writeError !== undefined) throw writeError;
      let blob: { digest: Digest; size: number };
      if (hint.digest) protect(blobRef(hint.digest));
      const expected = { ...(hint.size !== undefined ? { size: hint.size } : {}), what: hint.what };
      if (writer !== undefined) {
        if (!ended) for (let r = await it.next(); !r.done; r = await it.next()) await writer.write(r.value);
        // Hashed by the writer now (read back): nothing verified these bytes whole.
        blob = await writer.commit(expected);
      } else {
        if (!ended && span === undefined) for (let r = await it.next(); !r.done; r = await it.next());
        blob = await storeAgain(store, again(), expected);
      }
      protect(blobRef(blob.digest));
      if (hint.digest && blob.digest !== hint.digest) throw new DataCorruptError(`${hint.what}: digest mismatch: got ${blob.digest}, expected ${hint.digest}`);
      const { compression, diffId, uncompressedSize } = await diffIdOf(store, blob.digest);
      const failure = e.message.startsWith(`${hint.what}: `) ? e.message.slice(hint.what.length + 2) : e.message;
      return { kind: 'blob', blob: { digest: blob.digest, size: blob.size, diffId, uncompressedSize, compression, failure } };
    } catch (e2) {
      await writer?.abort();
      throw e2;
    }
  }
}

async function* noBytes(): AsyncGenerator<Uint8Array> {}

/** Store bytes read again from their origin as a blob, hashed and checked on the way in. */
async function storeAgain(store: Store, bytes: AsyncIterable<Uint8Array>, expected: { digest?: Digest; size?: number; what: string }): Promise<{ digest: Digest; size: number }> {
  const w = await store.content.writer();
  try {
    for await (const c of bytes) await w.write(c);
  } catch (e) {
    await w.abort();
    throw e;
  }
  return w.commit(expected);
}

/** The diffID of a stored blob: its digest when uncompressed, else the digest of what it decompresses to. */
async function diffIdOf(store: Store, digest: Digest): Promise<{ compression: Compression; diffId: Digest; uncompressedSize: number }> {
  try {
    const { compression, stream } = await decompressStream(await store.content.reader(digest));
    if (compression === 'none') {
      stream.destroy();
      const info = await store.content.info(digest);
      return { compression, diffId: digest, uncompressedSize: info?.size ?? 0 };
    }
    const d = new Digester();
    for await (const c of stream) d.update(c as Buffer);
    return { compression, diffId: d.digest(), uncompressedSize: d.size };
  } catch (e) {
    // A compressed blob that does not decompress has no diffID: its own digest names it.
    if (e instanceof DataCorruptError) return { compression: 'none', diffId: digest, uncompressedSize: 0 };
    throw e;
  }
}

/**
 * Give a detached layer its place: commit it as `chainId` on `parent`. A base layer holding
 * whiteouts is re-applied from its own re-emitted tar into a fresh snapshot (whiteouts mean
 * nothing there, and a base layer is mounted as a plain directory). Returns false when the
 * chainID existed already (the detached snapshot is then left for the collector).
 */
export async function commitDetached(store: Store, l: Detached, chainId: Digest, parent: Digest | null, protect: (ref: Ref) => void): Promise<{ committed: boolean; tarSplit: Digest | undefined }> {
  const sn = await store.snapshots();
  protect(snapshotRef(chainId));
  try {
    await sn.stat(chainId);
    return { committed: false, tarSplit: undefined };
  } catch (e) {
    if (!(e instanceof CairnError) || e.code !== 'not-found') throw e;
  }
  if (parent === null && l.whiteouts) {
    if (l.tarSplit === undefined && !l.blobKept) throw new DataCorruptError(`layer ${l.diffId}: cannot be re-applied as a base layer`);
    const from = writableLayer(await sn.mounts(l.key)).dir;
    const bytes = l.blobKept ? await store.content.reader(l.digest) : reassembleTar(await store.content.reader(l.tarSplit!), from, { expectedDiffId: l.diffId });
    const key = `extract-${process.pid}-${randomBytes(6).toString('hex')}`;
    protect(snapshotRef(key));
    const w = writableLayer(await sn.prepare(key));
    const { tarSplit } = await applyRecorded(store, { dir: w.dir, whiteoutMode: w.deletions === 'whiteout' ? 'overlay' : 'oci-remove' }, bytes, { trusted: { digest: l.digest, diffId: l.diffId }, what: `layer ${l.diffId}` }, protect);
    await commitOrDrop(store, key, chainId, undefined);
    return { committed: true, tarSplit };
  }
  const committed = await commitOrDrop(store, l.key, chainId, parent ?? undefined);
  return { committed, tarSplit: l.tarSplit };
}

async function commitOrDrop(store: Store, key: string, chainId: Digest, parent: string | undefined): Promise<boolean> {
  const sn = await store.snapshots();
  try {
    await sn.commit(chainId, key, parent !== undefined ? { parent } : {});
    return true;
  } catch (e) {
    // Another process committed the same chainID meanwhile: theirs stands; ours is collected.
    if (e instanceof AlreadyExistsError) return false;
    throw e;
  }
}
