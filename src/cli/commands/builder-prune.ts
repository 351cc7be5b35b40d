/**
 * `cairn builder prune [-a] [-f] [--filter until=DURATION] [--keep-storage SIZE]`: Docker's
 * one-line prompt (cli/confirm.ts), then "Deleted build cache objects:" with each ID and
 * "Total reclaimed space: SIZE".
 */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { ramInBytes } from '../../container/units.js';
import { confirm } from '../confirm.js';
import { out, withCairn } from '../context.js';
import { buildCacheSection, printTotal } from '../prune-output.js';
import { badFilter, flagError } from '../volume.js';

const DANGLING_WARNING = 'WARNING! This will remove all dangling build cache. Are you sure you want to continue?';
const ALL_WARNING = 'WARNING! This will remove all build cache. Are you sure you want to continue?';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ filter: string[]; force?: boolean; all?: boolean; keepStorage?: string }>();
  const bad = badFilter(o.filter);
  if (bad !== undefined) return flagError(cmd, '--filter', bad, 'bad format of filter (expected name=value)');
  let keepStorage: number | undefined;
  if (o.keepStorage !== undefined) {
    try {
      keepStorage = ramInBytes(o.keepStorage);
    } catch (e) {
      // Docker's opts.MemBytes: the flag's value refused by pflag
      if (!(e instanceof CairnError)) throw e;
      return flagError(cmd, '--keep-storage', o.keepStorage, e.message);
    }
  }
  if (!o.force && !(await confirm(o.all === true ? ALL_WARNING : DANGLING_WARNING))) return printTotal(0);
  await withCairn(program, async (cairn) => {
    const r = await cairn.builderPrune({ all: o.all === true, filters: o.filter, ...(keepStorage !== undefined ? { keepStorage } : {}) });
    out(buildCacheSection(r.deleted));
    printTotal(r.reclaimed);
  });
}
