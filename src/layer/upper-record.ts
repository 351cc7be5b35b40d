/**
 * An overlay upper directory made a layer where it is: its layer tar — the differ's reading of
 * the upper (upper.ts, as diffOverlayUpper and copyUpperRecorded read it) — hashed for the
 * diffID and told to a tar-split recorder, each body read from the upper's own file on the
 * pool, never in JavaScript, and nothing copied; overlay's own attributes that are not part of
 * the snapshot format (origin, impure, nlink, ...: the caller's `keep`) removed from the
 * entries in place. Afterwards the upper directory is exactly a layer directory of the
 * snapshot format (whiteouts as 0:0 devices or xattr whiteouts, opaque directories by their
 * attribute) holding what the tar says, so its snapshot can be committed as the layer itself:
 * a build step's layer is written once, where the step wrote it.
 *
 * The upper must not change meanwhile (its overlay unmounted). Sockets are passed over by the
 * walk, as the differ passes them over: they stay in the directory, in no tar.
 */
import type { Digest } from '../digest/digest.js';
import { constants, errnoCode, lremovexattr, openat, type NativeStat } from '../native/index.js';
import { LayerHeaders } from './headers.js';
import { RecordedTar, type RecordedTarSink } from './recorded-tar.js';
import { type OverlayXattrs, type UpperDir, walkOverlayUpper } from './upper.js';
import { joinRel } from './walk.js';

export interface UpperRecordOptions {
  /** Whether an attribute of an upper entry stays in the layer (overlay's own but opaque/whiteout do not). */
  keep: (name: string) => boolean;
  /** The xattr namespaces overlay keeps its own attributes in. */
  overlayXattrNamespaces?: ReadonlyArray<'trusted' | 'user'>;
  record: RecordedTarSink;
  /** SOURCE_DATE_EPOCH for the tar's mtimes; default none. */
  clampMtime?: number;
}

/** Record the layer tar of upper directory `upperDir` in place (see the module comment): its diffID and size. */
export async function recordUpperInPlace(upperDir: string, opts: UpperRecordOptions): Promise<{ diffId: Digest; size: number }> {
  const headers = new LayerHeaders(upperDir);
  const tar = new RecordedTar(opts.record, opts.clampMtime !== undefined ? { clampMtime: opts.clampMtime } : {});
  const base = Buffer.from(`${upperDir}/`);
  /** Remove the attributes of entry `rel` (or the root: empty) that are overlay's bookkeeping. */
  const strip = (rel: Buffer, raw: ReadonlyMap<string, Buffer>): void => {
    for (const k of raw.keys()) {
      if (opts.keep(k)) continue;
      try {
        lremovexattr(rel.length === 0 ? upperDir : Buffer.concat([base, rel]), k);
      } catch (e) {
        if (errnoCode(e) !== 'ENODATA') throw e;
      }
    }
  };
  const visitor = {
    async entry(dir: UpperDir, name: Buffer, rel: Buffer, st: NativeStat, x: OverlayXattrs): Promise<void> {
      const { header } = headers.entry(dir.fd, name, rel, st, x.visible);
      strip(rel, x.raw);
      if (header.type === 'file' && st.size > 0) {
        const fd = openat(dir.fd, name, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_CLOEXEC);
        await tar.add(header, Promise.resolve(fd));
        return;
      }
      await tar.add(header);
    },
    async whiteout(dir: UpperDir, name: Buffer, _st: unknown, x: OverlayXattrs | null): Promise<void> {
      if (x !== null) strip(joinRel(dir.rel, name), x.raw);
      await tar.add(headers.whiteout(dir.rel, name));
    },
    async opaque(rel: Buffer): Promise<void> {
      await tar.add(headers.opaque(rel));
    },
  };
  try {
    const root = await walkOverlayUpper(upperDir, opts.overlayXattrNamespaces !== undefined ? { overlayXattrNamespaces: opts.overlayXattrNamespaces } : {}, visitor);
    strip(Buffer.alloc(0), root.raw);
    return await tar.finish();
  } catch (e) {
    await tar.abort(e);
    throw e;
  }
}
