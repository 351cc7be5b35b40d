/** `cairn volume ls` (alias `list`): Docker's listing, filters and formats, plus --format json. */
import type { Command } from 'commander';
import { renderListing } from '../format.js';
import { out, withCairn } from '../context.js';
import { badFilter, flagError, volumeListing } from '../volume.js';

interface Opts {
  filter: string[];
  format?: string;
  quiet?: boolean;
}

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<Opts>();
  const bad = badFilter(o.filter);
  if (bad !== undefined) return flagError(cmd, '-f, --filter', bad, 'bad format of filter (expected name=value)');
  await withCairn(program, async (cairn) => {
    const volumes = await cairn.volumes(o.filter);
    // -q prints names, unless a format other than the default table is given (Docker's rule).
    if (o.quiet && (o.format === undefined || o.format === '' || o.format === 'table')) {
      out(volumes.map((v) => `${v.name}\n`).join(''));
      return;
    }
    out(renderListing(volumeListing(volumes), o.format));
  });
}
