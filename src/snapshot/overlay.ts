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
import { mkdirSync } from 'node:fs';
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
    // Made for every active snapshot, with or without a parent: one prepared without a parent
    // may get one at commit time, and its mounts then need a work directory.
    if (kind === 'active') mkdirSync(join(tmp, 'work'), { mode: 0o700 });
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

export const overlayDriver: SnapshotterDriver = {
  name: 'overlay',
  async unusable(base) {
    const probe = await probeOverlay(base);
    return probe.ok ? undefined : probe.reason;
  },
  open: (ctx) => new OverlaySnapshotter(ctx),
};
