/**
 * Counting bytes that several holders share, each thing once (pure). What the store holds is
 * named by keys ("snapshot:KEY", "blob:DIGEST", ...) with the bytes each takes; a holder (an
 * image, a container, a cache entry) holds a set of keys and is active or not. A tally says
 * how many bytes the holders hold together (each key once), how many of those no active holder
 * holds (what removing the inactive ones would free), and per holder its bytes and the part of
 * them another holder holds too. Keys in `exclude` are counted elsewhere (an image's layer under
 * a container) and count here for nothing.
 */

/** A thing on disk: `snapshot:KEY`, `blob:DIGEST`, or a directory of its own. */
export type ObjectKey = string;

export interface Holding {
  objects: Iterable<ObjectKey>;
  active: boolean;
}

export interface Tally {
  /** Bytes of every key some holder holds, each once. */
  size: number;
  /** Bytes of the keys no active holder holds. */
  reclaimable: number;
  /** Per holder, in order: its bytes, and the part of them another holder holds too. */
  each: Array<{ size: number; shared: number }>;
}

const NONE: ReadonlySet<ObjectKey> = new Set();

/** The tally of `holdings`; `bytes` of a key (0 when it is not on disk); keys in `exclude` left out. */
export function tally(holdings: readonly Holding[], bytes: (key: ObjectKey) => number, exclude: ReadonlySet<ObjectKey> = NONE): Tally {
  const sets = holdings.map((h) => new Set([...h.objects].filter((k) => !exclude.has(k))));
  const holders = new Map<ObjectKey, number>();
  const activeHeld = new Set<ObjectKey>();
  sets.forEach((set, i) => {
    for (const k of set) {
      holders.set(k, (holders.get(k) ?? 0) + 1);
      if (holdings[i]!.active) activeHeld.add(k);
    }
  });
  let size = 0;
  let reclaimable = 0;
  for (const k of holders.keys()) {
    const b = bytes(k);
    size += b;
    if (!activeHeld.has(k)) reclaimable += b;
  }
  const each = sets.map((set) => {
    let own = 0;
    let shared = 0;
    for (const k of set) {
      const b = bytes(k);
      own += b;
      if (holders.get(k)! > 1) shared += b;
    }
    return { size: own, shared };
  });
  return { size, reclaimable, each };
}

/** Every key of `holdings`, for another tally's `exclude`. */
export function heldKeys(holdings: readonly Holding[]): Set<ObjectKey> {
  const out = new Set<ObjectKey>();
  for (const h of holdings) for (const k of h.objects) out.add(k);
  return out;
}
