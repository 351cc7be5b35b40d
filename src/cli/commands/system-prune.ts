/**
 * `cairn system prune [-a] [-f] [--volumes] [--filter KEY=VALUE]`: Docker's prompt listing
 * what goes (no answer: nothing removed, nothing more printed, as Docker's), then each part's
 * section in Docker's order — containers, volumes, images, build cache — and the total.
 */
import type { Command } from 'commander';
import { confirm } from '../confirm.js';
import { out, withCairn } from '../context.js';
import { buildCacheSection, containersSection, imagesSection, printTotal, volumesSection } from '../prune-output.js';
import { badFilter, flagError } from '../volume.js';

/** Docker's confirmation message. cairn has no networks: Docker's "all networks not used by at least one container" is left out. */
function warning(all: boolean, volumes: boolean): string {
  const what = ['all stopped containers'];
  // Docker 23's wording: only anonymous volumes are pruned
  if (volumes) what.push('all anonymous volumes not used by at least one container');
  what.push(all ? 'all images without at least one container associated to them' : 'all dangling images');
  what.push(all ? 'all build cache' : 'all dangling build cache');
  return `WARNING! This will remove:\n${what.map((w) => `  - ${w}\n`).join('')}\nAre you sure you want to continue?`;
}

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ filter: string[]; force?: boolean; all?: boolean; volumes?: boolean }>();
  const bad = badFilter(o.filter);
  if (bad !== undefined) return flagError(cmd, '--filter', bad, 'bad format of filter (expected name=value)');
  const all = o.all === true;
  const volumes = o.volumes === true;
  if (!o.force && !(await confirm(warning(all, volumes)))) return;
  await withCairn(program, async (cairn) => {
    const r = await cairn.systemPrune({ all, volumes, filters: o.filter });
    out(containersSection(r.containers.deleted));
    if (r.volumes !== undefined) out(volumesSection(r.volumes.deleted));
    out(imagesSection(r.images.deleted));
    out(buildCacheSection(r.buildCache.deleted));
    printTotal(r.reclaimed);
  });
}
