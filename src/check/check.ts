/**
 * `system check`: the store verified against itself, as podman's `system check` verifies its
 * storage. Structure (structure.ts: images' configs and layer chains, the reference graph
 * against what exists both ways, snapshots' directories, named ingests without their upload
 * session, image mounts with nothing mounted, containers' and volumes' directories
 * against their records both ways, images marked damaged), then, unless `quick`, content
 * (content.ts: every blob re-hashed, every layer re-emitted from its snapshot and tar-split
 * record and checked against its diffID). Each problem is a {@link Finding}.
 *
 * `repair` makes only safe changes: leftovers of work cut short and what nothing uses go
 * (through the one collector, `Store.gc`, and the sweeps it runs); what can be derived again
 * is (a layer's size, a stopped container's directory, a volume's mount point); damaged
 * content is dropped where nothing stands on it (a corrupt blob; a layer's snapshot whose files
 * do not re-emit its tar, with its tar-split record), so that a load or pull brings it again —
 * or, for a layer whose blob the store keeps, unpacked again from it at once;
 * and every image such a problem affects is marked damaged (metadata/records.ts
 * `markImageDamaged`, cleared when the image is recorded again) — never removed, never untagged.
 * Start-up already removed what dead processes left in ROOT/tmp, the ingest directory and the
 * snapshot directories; a check reports what start-up does not handle.
 */
import type { Digest } from '../digest/digest.js';
import { CairnError } from '../errors.js';
import { writeTx } from '../metadata/db.js';
import { markImageDamaged } from '../metadata/records.js';
import type { Store } from '../store/store.js';
import { blobProblems, layerProblems } from './content.js';
import type { CheckReport, Problem } from './findings.js';
import { directoryProblems, graphProblems, imageProblems, ingestProblems, mountProblems, snapshotFileProblems } from './structure.js';
import { Survey } from './survey.js';

export type { Affects, CheckReport, Finding, FindingKind } from './findings.js';

export interface CheckOptions {
  /** Structure only: no blob is re-hashed, no layer re-emitted. */
  quick?: boolean;
  /** Repair what is safe to repair, and mark damaged images (see the module comment). */
  repair?: boolean;
}

export async function checkStore(store: Store, opts: CheckOptions = {}): Promise<CheckReport> {
  const s = await Survey.take(store);
  const problems: Problem[] = [];
  const corrupt = new Set<Digest>();
  if (!opts.quick) await blobProblems(s, problems, corrupt);
  const unpacked = new Set<Digest>();
  await imageProblems(s, problems, unpacked, corrupt);
  graphProblems(s, problems, unpacked, corrupt);
  await ingestProblems(s, problems);
  mountProblems(s, problems);
  const broken = new Set<string>();
  snapshotFileProblems(s, problems, broken, corrupt);
  if (!opts.quick) await layerProblems(s, problems, broken, corrupt);
  directoryProblems(s, problems);
  if (opts.repair) await repair(store, s, problems);
  const findings = problems.map((p) => p.finding);
  return { findings, hashed: !opts.quick, repaired: opts.repair === true, remaining: findings.filter((f) => f.repaired !== true).length };
}

async function repair(store: Store, s: Survey, problems: Problem[]): Promise<void> {
  // What nothing uses goes first (an init layer no container uses may stand on a layer to mend).
  await store.gc();
  for (const p of problems) {
    if (p.fix === undefined) continue;
    try {
      p.finding.repaired = await p.fix();
      p.finding.attempted = true;
    } catch (e) {
      if (!(e instanceof CairnError)) throw e;
      p.finding.repaired = false;
      p.finding.message += `; the repair failed: ${e.message}`;
    }
  }
  // And what the repairs left unused (a layer's forgotten tar-split record), with the leftovers beside the volumes.
  await store.gc();
  for (const p of problems) {
    if (p.collected === undefined) continue;
    p.finding.repaired = await p.collected();
    p.finding.attempted = true;
  }
  // Images with damaged content (a problem not repaired) are marked, each with the first problem found in it.
  const why = new Map<Digest, string>();
  for (const p of problems) {
    if (p.finding.repaired === true) continue;
    for (const id of p.damages) {
      if (!why.has(id)) why.set(id, `${p.finding.object}: ${p.finding.message}`);
      (p.finding.marked ??= []).push(s.imageName(id));
      p.finding.repaired = false;
    }
  }
  writeTx(store.db, () => {
    for (const [id, reason] of why) markImageDamaged(store.db, id, reason);
  });
}
