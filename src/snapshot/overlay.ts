/**
 * The overlay driver: a snapshot's fs/ holds only its own layer. An active snapshot's mount
 * stacks its committed parents as overlay lower directories (topmost first) under fs/ as the
 * upper directory, with work/ as overlay's work directory; a view stacks its parents read-only.
 * A snapshot with no parent, and a view of a single layer, is a plain bind mount.
 *
 * Since layers are independent directories, an active snapshot prepared without a parent can
 * be given one when it is committed (capabilities.rebase; see types.ts for what that asks of
 * a layer applied into it).
 */
import { mkdirSync, statfsSync } from 'node:fs';
import { UnsupportedError } from '../errors.js';
import { join } from 'node:path';
import { removeTree } from '../rmtree.js';
import { BaseSnapshotter, bind, type SnapshotterDriver } from './base.js';
import { pinnedOverlayOptions, probeOverlay } from './detect.js';
import type { SnapshotRow } from './meta.js';
import type { Capabilities, Kind, Mount } from './types.js';

export class OverlaySnapshotter extends BaseSnapshotter {
  readonly driver = 'overlay' as const;
  readonly capabilities: Readonly<Capabilities> = Object.freeze({ rebase: true });

  protected async populate(kind: Exclude<Kind, 'committed'>, tmp: string): Promise<void> {
    if (kind !== 'active') return;
    // A store made where overlay works may have been moved to a file system where it does not:
    // an active snapshot's directory is an overlay upper directory, so none is made there.
    const backing = unsupportedBacking(tmp);
    if (backing !== undefined) {
      throw new UnsupportedError(
        `the overlay storage driver's layers in ${this.dir} are on ${backing}, which cannot hold an overlay upper directory (was the store moved?): ` +
          'move the store to a file system that can (ext4, xfs, btrfs, tmpfs) or use a new store; nothing was changed',
      );
    }
    // Made for every active snapshot, with or without a parent: one prepared without a parent
    // may get one at commit time, and its mounts then need a work directory.
    mkdirSync(join(tmp, 'work'), { mode: 0o700 });
  }

  /** A committed layer is only ever a lower (or read-only) directory: its work directory goes. */
  protected override async committed(id: number): Promise<void> {
    await removeTree(join(this.snapDir(id), 'work'));
  }

  /** As Docker's overlay2 describes a layer: its lowers, its own directory, and where a mount of it would merge and work. */
  protected override describe(row: SnapshotRow, parents: SnapshotRow[]): Record<string, string> {
    const dir = this.snapDir(row.id);
    return {
      ...(parents.length > 0 ? { LowerDir: parents.map((p) => this.fsDir(p.id)).join(':') } : {}),
      MergedDir: join(dir, 'merged'),
      UpperDir: this.fsDir(row.id),
      WorkDir: join(dir, 'work'),
    };
  }

  protected mountsOf(row: SnapshotRow, parents: SnapshotRow[]): Mount[] {
    const own = this.fsDir(row.id);
    const lowerdirs = parents.map((p) => this.fsDir(p.id));
    if (row.kind === 'view') {
      if (parents.length === 0) return [bind(own, true)];
      if (parents.length === 1) return [bind(lowerdirs[0]!, true)];
      return [{ type: 'overlay', source: 'overlay', options: ['ro', ...pinnedOverlayOptions()], lowerdirs }];
    }
    if (parents.length === 0) return [bind(own, false)];
    return [
      {
        type: 'overlay',
        source: 'overlay',
        options: ['rw', ...pinnedOverlayOptions()],
        lowerdirs,
        upperdir: own,
        workdir: join(this.snapDir(row.id), 'work'),
      },
    ];
  }
}

/**
 * File systems the kernel's overlay refuses as an upper directory, by statfs magic — those
 * Docker's overlay2 refuses as a backing file system (aufs, ecryptfs, nfs, overlay), and FAT
 * (no xattrs, no device nodes); ZFS is left out (OpenZFS 2.2 holds overlay upper directories).
 */
const UNSUPPORTED_BACKING: ReadonlyMap<number, string> = new Map([
  [0x794c7630, 'an overlay file system'],
  [0x61756673, 'aufs'],
  [0xf15f, 'ecryptfs'],
  [0x6969, 'NFS'],
  [0x4d44, 'a FAT file system'],
  [0x2011bab0, 'exFAT'],
]);

/** What `dir` is on, when that cannot hold an overlay upper directory; undefined otherwise. */
function unsupportedBacking(dir: string): string | undefined {
  return UNSUPPORTED_BACKING.get(statfsSync(dir).type);
}

export const overlayDriver: SnapshotterDriver = {
  name: 'overlay',
  async unusable(base) {
    const probe = await probeOverlay(base);
    return probe.ok ? undefined : probe.reason;
  },
  open: (ctx) => new OverlaySnapshotter(ctx),
};
