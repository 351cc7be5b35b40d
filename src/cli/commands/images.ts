/** `cairn images` / `cairn image ls`: Docker's listing, plus --format json. */
import type { Command } from 'commander';
import { shortId } from '../../digest/digest.js';
import { createdSince, goTimeString, humanSize, renderListing, type Listing } from '../format.js';
import { out, withCairn } from '../context.js';

interface Opts {
  all?: boolean;
  digests?: boolean;
  filter: string[];
  format?: string;
  trunc: boolean;
  quiet?: boolean;
}

export async function run(program: Command, cmd: Command, repository?: string): Promise<void> {
  const o = cmd.opts<Opts>();
  // A filter that is not name=value is a flag error, as Docker's CLI has it (exit 125).
  const bad = o.filter.find((f) => !f.includes('='));
  if (bad !== undefined) {
    process.stderr.write(`invalid argument ${JSON.stringify(bad)} for "-f, --filter" flag: bad format of filter (expected name=value)\nSee 'cairn ${cmd.parent?.name() === 'image' ? 'image ls' : 'images'} --help'.\n`);
    process.exitCode = 125;
    return;
  }
  await withCairn(program, async (cairn) => {
    const filters = [...o.filter];
    if (repository) filters.push(`reference=${repository}`);
    const rows = await cairn.images({ all: o.all ?? false, digests: o.digests ?? false, filters });
    const now = Date.now();
    const listing: Listing = {
      rowType: '*formatter.imageContext',
      headers: { Containers: 'CONTAINERS', CreatedAt: 'CREATED AT', Digest: 'DIGEST', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', VirtualSize: 'VIRTUAL SIZE' },
      columns: [
        ['Repository', 'REPOSITORY'],
        ['Tag', 'TAG'],
        ...(o.digests ? ([['Digest', 'DIGEST']] as Array<[string, string]>) : []),
        ['ID', 'IMAGE ID'],
        ['CreatedSince', 'CREATED'],
        ['Size', 'SIZE'],
      ],
      rows: rows.map((r) => ({
        Containers: 'N/A',
        CreatedAt: r.created ? goTimeString(r.created) : 'N/A',
        CreatedSince: createdSince(r.created, now),
        Digest: r.digest,
        ID: o.trunc ? shortId(r.id) : r.id,
        Repository: r.repository,
        SharedSize: 'N/A',
        Size: humanSize(r.size),
        Tag: r.tag,
        UniqueSize: 'N/A',
        VirtualSize: humanSize(r.size, 4),
      })),
    };
    if (o.quiet) {
      out(listing.rows.map((r) => `${r.ID}\n`).join(''));
      return;
    }
    out(renderListing(listing, o.format));
  });
}
