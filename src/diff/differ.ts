/**
 * The Differ (containerd's core/diff): `compare` turns the difference between two file
 * systems, given as mounts, into a layer tar; `apply` unpacks a layer into the writable
 * mounts of an active snapshot. Mounts are data (snapshot/types.ts); a differ performs them
 * where it needs them (scratch directories it is given) and always undoes them.
 *
 * Two comparers:
 *   OverlayDiffer   the upper side is one overlay mount whose upper directory is exactly the
 *                   change (a container's writable layer over its image): that directory is
 *                   read alone, whiteouts and opaque markers included — no walk of the lower
 *                   layers. UnsupportedError for any other shape.
 *   WalkingDiffer   any two mounts: both mounted read-only, both trees walked side by side
 *                   (layer/diff.ts diffDirs) — what squash needs, and a fallback for anything.
 * Both produce deterministic tars (sorted names, fixed header fields).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UnsupportedError } from '../errors.js';
import { type ApplyOptions, type ApplyResult, applyLayer } from '../layer/apply.js';
import { type DiffOptions, diffDirs, diffOverlayUpper, treeReleased } from '../layer/diff.js';
import { type Mount, mountAll, unmount, writableLayer } from '../snapshot/index.js';

export interface Differ {
  readonly name: string;
  /**
   * The changes that turn `lower` into `upper` as an uncompressed layer tar, streamed. An
   * empty `lower` is the empty file system.
   */
  compare(lower: readonly Mount[], upper: readonly Mount[], opts?: DiffOptions): Promise<AsyncIterable<Uint8Array>>;
  /** Unpack `layer` into the writable layer of an active snapshot's mounts. */
  apply(layer: AsyncIterable<Uint8Array>, mounts: readonly Mount[], opts?: ApplyOptions): Promise<ApplyResult>;
}

/** A scratch directory the differ may mount into, removed by `dispose`. */
export type Scratch = () => Promise<{ path: string; dispose: () => Promise<void> }>;

async function applyInto(layer: AsyncIterable<Uint8Array>, mounts: readonly Mount[], opts: ApplyOptions = {}): Promise<ApplyResult> {
  const w = writableLayer(mounts);
  return applyLayer({ dir: w.dir, whiteoutMode: w.deletions === 'whiteout' ? 'overlay' : 'oci-remove' }, layer, opts);
}

export class OverlayDiffer implements Differ {
  readonly name = 'overlay';

  /** Whether `upper` is a writable overlay over exactly `lower`'s layers. */
  static applies(lower: readonly Mount[], upper: readonly Mount[]): boolean {
    if (upper.length !== 1 || upper[0]!.type !== 'overlay' || upper[0]!.upperdir === undefined) return false;
    const below = upper[0]!.lowerdirs ?? [];
    if (lower.length === 0) return below.length === 0;
    if (lower.length !== 1) return false;
    const l = lower[0]!;
    const dirs = l.type === 'overlay' ? (l.lowerdirs ?? []) : [l.source];
    return dirs.length === below.length && dirs.every((d, i) => d === below[i]);
  }

  async compare(lower: readonly Mount[], upper: readonly Mount[], opts: DiffOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    if (!OverlayDiffer.applies(lower, upper)) throw new UnsupportedError('overlay differ: the upper mount is not a writable overlay over exactly the lower mounts');
    return diffOverlayUpper(upper[0]!.upperdir!, opts);
  }

  apply(layer: AsyncIterable<Uint8Array>, mounts: readonly Mount[], opts?: ApplyOptions): Promise<ApplyResult> {
    return applyInto(layer, mounts, opts);
  }
}

export class WalkingDiffer implements Differ {
  readonly name = 'walking';

  constructor(private readonly scratch: Scratch) {}

  async compare(lower: readonly Mount[], upper: readonly Mount[], opts: DiffOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const s = await this.scratch();
    const lowerDir = join(s.path, 'lower');
    const upperDir = join(s.path, 'upper');
    const mounted: string[] = [];
    const undo = async (): Promise<void> => {
      for (const m of mounted.reverse()) unmount(m);
      mounted.length = 0;
      await s.dispose();
    };
    try {
      await mkdir(lowerDir);
      await mkdir(upperDir);
      if (lower.length > 0) {
        mountAll(readOnly(lower), lowerDir);
        mounted.push(lowerDir);
      }
      mountAll(readOnly(upper), upperDir);
      mounted.push(upperDir);
    } catch (e) {
      await undo();
      throw e;
    }
    const tar = diffDirs(lowerDir, upperDir, opts);
    return (async function* () {
      try {
        for await (const c of tar) yield c as Uint8Array;
      } finally {
        tar.destroy();
        // Its files are closed before the trees are unmounted (a stream returned early is still reading).
        await treeReleased(tar);
        await undo();
      }
    })();
  }

  apply(layer: AsyncIterable<Uint8Array>, mounts: readonly Mount[], opts?: ApplyOptions): Promise<ApplyResult> {
    return applyInto(layer, mounts, opts);
  }
}

/** The same mounts, read-only (a comparer never writes). */
function readOnly(mounts: readonly Mount[]): Mount[] {
  return mounts.map((m) => ({ ...m, options: [...m.options.filter((o) => o !== 'rw' && o !== 'ro'), 'ro'] }));
}

/** The fastest differ for these mounts: overlay's upper directory when it is the change, else a walk. */
export function differFor(lower: readonly Mount[], upper: readonly Mount[], scratch: Scratch): Differ {
  return OverlayDiffer.applies(lower, upper) ? new OverlayDiffer() : new WalkingDiffer(scratch);
}
