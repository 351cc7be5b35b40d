/**
 * The content checks `--quick` skips: every blob hashed against its digest (streamed, a MiB at
 * a time), and every layer that keeps a tar-split record re-emitted from its snapshot as
 * `save` re-emits it — the whole tar checked against the layer's diffID, its length against
 * the layer's recorded size.
 */
import { algorithmOf, type Digest, digestStream } from '../digest/digest.js';
import { DataCorruptError, NotFoundError } from '../errors.js';
import { reemit } from '../image/layertar.js';
import { writeTx } from '../metadata/db.js';
import { forgetTarSplit, layersWithTarSplit, setLayerSize } from '../metadata/records.js';
import type { Problem } from './findings.js';
import { keptBlobOf, reunpack, unpackRepair } from './unpacked.js';
import type { Survey } from './survey.js';

/** Hash every blob; those that do not match go into `corrupt` and `out`. */
export async function blobProblems(s: Survey, out: Problem[], corrupt: Set<Digest>): Promise<void> {
  const db = s.store.db;
  for (const d of [...s.blobs].sort() as Digest[]) {
    let got: Digest;
    try {
      got = (await digestStream(await s.store.content.reader(d), algorithmOf(d))).digest;
    } catch (e) {
      if (e instanceof NotFoundError) continue; // removed since the listing (another process's collection)
      throw e;
    }
    if (got === d) continue;
    corrupt.add(d);
    const ref = { kind: 'blob', id: d } as const;
    const used = s.marked.blob.has(d);
    out.push({
      finding: {
        kind: 'blob-corrupt',
        object: `blob ${d}`,
        message: `${s.roles.get(d) ?? 'blob'}: content does not match its digest (it hashes to ${got})`,
        affects: s.affects(ref),
        repair: used ? 'remove it, so that a load or pull of the image brings it again' : 'remove it (nothing uses it)',
      },
      ...(used
        ? {
            fix: async () => {
              writeTx(db, () => {
                // A tar-split record goes from its layers too: a load then records it again.
                for (const c of layersWithTarSplit(db, d)) forgetTarSplit(db, c);
                s.store.content.deleteSync(d);
              });
              return false;
            },
          }
        : { collected: async () => !s.store.content.has(d) }),
      damages: s.imagesReaching(ref),
    });
  }
}

/**
 * Re-emit every layer that has a tar-split record, its snapshot and the record intact (`skip`:
 * snapshots found broken already; `corrupt`: blobs found corrupt). A layer whose files do not
 * re-emit its tar is damaged: if nothing stands on it, `--repair` unpacks it again from the blob
 * the store keeps of it (a compressed layer's), else drops its snapshot and record so that a
 * load or pull unpacks it again; a size that differs from the tar's is re-derived.
 */
export async function layerProblems(s: Survey, out: Problem[], skip: ReadonlySet<string>, corrupt: ReadonlySet<Digest>): Promise<void> {
  const sn = s.sn;
  if (sn === undefined) return;
  const db = s.store.db;
  for (const l of s.layers.values()) {
    if (l.tarSplit === null || !s.blobs.has(l.tarSplit) || corrupt.has(l.tarSplit)) continue;
    if (skip.has(l.chainId) || s.snapshots.get(l.chainId)?.kind !== 'committed') continue;
    const ref = { kind: 'snapshot', id: l.chainId } as const;
    let bytes = 0;
    let failure: string | undefined;
    try {
      for await (const chunk of await reemit(s.store, l.chainId, l.diffId, l.tarSplit)) bytes += chunk.length;
    } catch (e) {
      if (!(e instanceof DataCorruptError) && !(e instanceof NotFoundError)) throw e;
      // said of the layer already: its line starts with it
      const said = `layer ${l.diffId}: `;
      failure = e.message.startsWith(said) ? e.message.slice(said.length) : e.message;
    }
    if (failure !== undefined) {
      const removable = !s.hasChildren(l.chainId);
      const blob = removable ? keptBlobOf(s, l.chainId, corrupt) : undefined;
      out.push({
        finding: {
          kind: 'layer-content',
          object: `layer ${l.chainId}`,
          message: `${failure}${removable ? '' : '; other layers stand on it: remove the images and containers above it, then load or pull them again'}`,
          affects: s.affects(ref),
            repair: removable ? unpackRepair(blob) : undefined,
        },
        ...(removable ? { fix: () => reunpack(s, l.chainId, blob) } : {}),
        damages: s.imagesReaching(ref),
      });
    } else if (bytes !== l.size) {
      out.push({
        finding: { kind: 'layer-size', object: `layer ${l.chainId}`, message: `its size is recorded as ${l.size} bytes, its tar has ${bytes}`, affects: s.affects(ref), repair: `record ${bytes} bytes` },
        fix: async () => {
          writeTx(db, () => setLayerSize(db, l.chainId, bytes));
          return true;
        },
        damages: [],
      });
    }
  }
}
