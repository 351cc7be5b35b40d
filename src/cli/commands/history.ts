/** `cairn history`: Docker's layout, `<missing>` rows where Docker prints them. */
import type { Command } from 'commander';
import { shortId } from '../../digest/digest.js';
import { bareError } from '../bare-errors.js';
import { createdSince, ellipsis, humanSize, renderListing, rfc3339, type Listing } from '../format.js';
import { out, withCairn } from '../context.js';

interface Opts {
  format?: string;
  human: string;
  trunc: boolean;
  quiet?: boolean;
}

export async function run(program: Command, cmd: Command, image: string): Promise<void> {
  const o = cmd.opts<Opts>();
  // pflag's bool flag: strconv.ParseBool's words, said bare with the help hint, exit 125
  const human = parseBool(o.human);
  if (human === undefined) {
    throw bareError(`invalid argument "${o.human}" for "-H, --human" flag: strconv.ParseBool: parsing ${JSON.stringify(o.human)}: invalid syntax\nSee 'cairn ${cmd.parent?.name() === 'image' ? 'image history' : 'history'} --help'.`, { exitCode: 125 });
  }
  await list(program, image, o, human);
}

/** Go's strconv.ParseBool. */
function parseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

async function list(program: Command, image: string, o: Opts, human: boolean): Promise<void> {
  await withCairn(program, async (cairn) => {
    const rows = await cairn.history(image);
    const now = Date.now();
    const listing: Listing = {
      rowType: '*image.historyContext',
      headers: { CreatedSince: 'CREATED', CreatedAt: 'CREATED AT' },
      columns: [
        ['ID', 'IMAGE'],
        [human ? 'CreatedSince' : 'CreatedAt', human ? 'CREATED' : 'CREATED AT'],
        ['CreatedBy', 'CREATED BY'],
        ['Size', 'SIZE'],
        ['Comment', 'COMMENT'],
      ],
      rows: rows.map((r) => {
        const createdBy = r.createdBy.replace(/\t/g, ' ');
        return {
          Comment: r.comment,
          CreatedAt: r.created ? rfc3339(r.created) : 'N/A',
          CreatedBy: o.trunc ? ellipsis(createdBy, 45) : createdBy,
          // Docker's historyContext: CreatedSince is CreatedAt when not human
          CreatedSince: human ? createdSince(r.created, now) : r.created ? rfc3339(r.created) : 'N/A',
          ID: r.id ? (o.trunc ? shortId(r.id) : r.id) : '<missing>',
          Size: human ? humanSize(r.size) : String(r.size),
        };
      }),
    };
    if (o.quiet) {
      out(listing.rows.map((r) => `${r.ID}\n`).join(''));
      return;
    }
    out(renderListing(listing, o.format));
  });
}
