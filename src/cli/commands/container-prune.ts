/**
 * `cairn container prune [-f] [--filter KEY=VALUE]`: Docker's prompt (cli/confirm.ts), then
 * "Deleted Containers:" with each ID and "Total reclaimed space: SIZE".
 */
import type { Command } from 'commander';
import { confirm } from '../confirm.js';
import { out, withCairn } from '../context.js';
import { containersSection, printTotal } from '../prune-output.js';
import { badFilter, flagError } from '../volume.js';

const WARNING = 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ filter: string[]; force?: boolean }>();
  const bad = badFilter(o.filter);
  if (bad !== undefined) return flagError(cmd, '--filter', bad, 'bad format of filter (expected name=value)');
  if (!o.force && !(await confirm(WARNING))) return printTotal(0);
  await withCairn(program, async (cairn) => {
    const r = await cairn.containerPrune(o.filter);
    out(containersSection(r.deleted));
    printTotal(r.reclaimed);
  });
}
