/**
 * `cairn image prune [-a] [-f] [--filter KEY=VALUE]`: Docker's prompt (cli/confirm.ts), then
 * "Deleted Images:" with its untagged/deleted lines and "Total reclaimed space: SIZE".
 */
import type { Command } from 'commander';
import { confirm } from '../confirm.js';
import { out, withCairn } from '../context.js';
import { imagesSection, printTotal } from '../prune-output.js';
import { badFilter, flagError } from '../volume.js';

const DANGLING_WARNING = 'WARNING! This will remove all dangling images.\nAre you sure you want to continue?';
const ALL_WARNING = 'WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ filter: string[]; force?: boolean; all?: boolean }>();
  const bad = badFilter(o.filter);
  if (bad !== undefined) return flagError(cmd, '--filter', bad, 'bad format of filter (expected name=value)');
  if (!o.force && !(await confirm(o.all === true ? ALL_WARNING : DANGLING_WARNING))) return printTotal(0);
  await withCairn(program, async (cairn) => {
    const r = await cairn.imagePrune({ all: o.all === true, filters: o.filter });
    out(imagesSection(r.deleted));
    printTotal(r.reclaimed);
  });
}
