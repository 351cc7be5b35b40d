/**
 * What `system check` reports: one {@link Finding} per problem — what kind, which object,
 * what is wrong, what it affects (images and containers, by the names a user knows them by)
 * and what `--repair` does about it — and, inside the check, the {@link Problem} behind it:
 * the repair to run, the images to mark damaged, whether the collector's pass settles it.
 */
import type { Digest } from '../digest/digest.js';

export type FindingKind =
  /** A blob's bytes do not hash to its digest. */
  | 'blob-corrupt'
  /** A blob something needs is not in the content store. */
  | 'blob-missing'
  /** A layer something needs has no record. */
  | 'layer-missing'
  /** An image's layers do not chain: parents, chainIDs, or diffIDs against its config. */
  | 'layer-chain'
  /** A layer's snapshot and tar-split record do not re-emit its tar (its diffID). */
  | 'layer-content'
  /** A layer's recorded size is not its tar's. */
  | 'layer-size'
  /** A snapshot something needs does not exist. */
  | 'snapshot-missing'
  /** A snapshot's record is there, its directory is not. */
  | 'snapshot-files'
  /** An image's config cannot be read. */
  | 'image-config'
  /** An image marked damaged by an earlier repair, not loaded or pulled again since. */
  | 'image-damaged'
  /** A blob, layer record or snapshot that nothing uses: a collection cut short. */
  | 'unreachable'
  /** A named ingest no upload session owns (a registry server killed before it removed a dropped session's bytes). */
  | 'ingest-leftover'
  /** An image recorded as mounted with nothing mounted where it was. */
  | 'mount-stale'
  /** A container's record without its directory. */
  | 'container-dir'
  /** A directory of ROOT/containers that no container record names. */
  | 'container-orphan'
  /** A container's writable snapshot does not exist. */
  | 'container-snapshot'
  /** A volume's record without its data directory. */
  | 'volume-data'
  /** What a volume's creation or removal left (its process gone), or a directory no volume record names. */
  | 'volume-leftover';

export interface Affects {
  /** Images, by their first name (else their short ID). */
  images: string[];
  /** Containers, by name. */
  containers: string[];
}

export interface Finding {
  kind: FindingKind;
  /** The object at fault: `blob sha256:…`, `layer sha256:…` (a chainID), `snapshot KEY`, `image NAME`, `container NAME`, `volume NAME`, `directory containers/ENTRY`. */
  object: string;
  /** What is wrong with it, one line. */
  message: string;
  affects: Affects;
  /** What `--repair` does about it, in the imperative ("remove it"); undefined when it can do nothing (a person must: pull, load, remove). */
  repair: string | undefined;
  /** After a repair: whether the problem is gone. */
  repaired?: boolean;
  /** After a repair: whether its repair ran (it may leave an image to load or pull again: see `marked`). */
  attempted?: boolean;
  /** After a repair: the images it marked damaged because of this problem. */
  marked?: string[];
}

export interface CheckReport {
  /** Every problem found, in the order checked. */
  findings: Finding[];
  /** Whether content was re-hashed (false for `--quick`). */
  hashed: boolean;
  /** Whether repairs were made. */
  repaired: boolean;
  /** Problems left after the repair (all of them without one). */
  remaining: number;
}

/** A finding with what the check knows how to do about it. */
export interface Problem {
  finding: Finding;
  /** The repair of its own, if any (run by `--repair`): true when the problem is gone. */
  fix?: () => Promise<boolean>;
  /** Settled by the collection `--repair` ends with: true when the problem is gone afterwards. */
  collected?: () => Promise<boolean>;
  /** Images whose content the problem damages: marked by `--repair` (never removed). */
  damages: Digest[];
}
