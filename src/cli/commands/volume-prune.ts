/**
 * `cairn volume prune [-a] [-f] [--filter label=...]`: Docker 23's prune — anonymous volumes
 * only unless `-a` — with its prompt (cli/confirm.ts: no answer removes nothing and still
 * prints the total), "Deleted Volumes:" with each name, a blank line, and "Total reclaimed
 * space: SIZE" (what the removals gave back on disk).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import { humanSize } from '../format.js';
import { confirm } from '../confirm.js';
import { out, withCairn } from '../context.js';
import { badFilter, flagError } from '../volume.js';

const UNUSED_WARNING = 'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?';
const ALL_WARNING = 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ filter: string[]; force?: boolean; all?: boolean }>();
  const bad = badFilter(o.filter);
  if (bad !== undefined) return flagError(cmd, '--filter', bad, 'bad format of filter (expected name=value)');
  // Docker 23's CLI: -a is the filter all=true, and not both
  if (o.all === true && o.filter.some((f) => f.startsWith('all='))) throw new InvalidArgumentError('conflicting options: cannot specify both --all and --filter all=1');
  if (!o.force && !(await confirm(o.all === true ? ALL_WARNING : UNUSED_WARNING))) {
    out(`Total reclaimed space: ${humanSize(0, 4)}\n`);
    return;
  }
  await withCairn(program, async (cairn) => {
    const r = await cairn.volumePrune(o.filter, { all: o.all === true });
    if (r.deleted.length > 0) out(`Deleted Volumes:\n${r.deleted.map((n) => `${n}\n`).join('')}\n`);
    out(`Total reclaimed space: ${humanSize(r.reclaimed, 4)}\n`);
  });
}
