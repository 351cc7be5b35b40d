/**
 * `cairn ps` / `container ls`: Docker 20.10's listing of containers (running ones, all with
 * `-a`), newest first: `-q`, `-n`, `-l`, `-s`, `--no-trunc`, `--filter` (the engine selects as
 * Docker's daemon does), `--format table|raw|json|TEMPLATE`.
 *
 * As Docker's CLI: a `--format` is parsed ("failed to parse template: ...") and run once over
 * an empty row before anything is listed ("failed to execute template: ..."), both said bare;
 * a template that uses `.Size` (or prints the whole row) gets the sizes as `-s` does; `-q`
 * applies to the default table and `raw` only (a template of one's own prints as written);
 * `-s` adds the SIZE column to the default table.
 */
import type { Command } from 'commander';
import { PS_COLUMNS } from '../../container/ps.js';
import { GoStruct } from '../../template/index.js';
import { execute, labelHeader, parseFormat, renderListing, type Listing } from '../format.js';
import { commandPathOf, out, withCairn } from '../context.js';

interface Opts {
  all?: boolean;
  filter: string[];
  format?: string;
  last?: string;
  latest?: boolean;
  trunc: boolean;
  quiet?: boolean;
  size?: boolean;
}

/** The struct Docker's formatter hands a `ps` template (its name shows in template errors). */
const ROW_TYPE = '*formatter.ContainerContext';

/** Docker's `raw` format of a row (formatter.NewContainerFormat). */
function rawFormat(quiet: boolean, size: boolean): string {
  if (quiet) return 'container_id: {{.ID}}';
  return `container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n${size ? 'size: {{.Size}}\\n' : ''}`;
}

/**
 * Run the user's template once over an empty row, as Docker's CLI does before listing: its
 * errors then, and whether it used `.Size`.
 */
function preflight(format: string): { usesSize: boolean } {
  const tpl = parseFormat(format, { prefix: 'failed to parse template: ' });
  let usesSize = false;
  const empty: Record<string, unknown> = {
    ID: '', Image: '<no image>', Command: '""', CreatedAt: '1970-01-01 00:00:00 +0000 UTC', RunningFor: '', Ports: '', State: '', Status: '',
    Size: () => {
      usesSize = true;
      return '0B';
    },
    Names: '', Labels: '', Mounts: '', LocalVolumes: '0', Networks: '', Label: (_key: string) => '',
  };
  execute(tpl, new GoStruct(ROW_TYPE, empty, () => {
    usesSize = true;
    return '{}';
  }), { prefix: 'failed to execute template: ' });
  return { usesSize };
}

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<Opts>();
  const filters = new Map<string, string[]>();
  for (const f of o.filter) {
    const eq = f.indexOf('=');
    if (eq < 0) {
      process.stderr.write(`invalid argument ${JSON.stringify(f)} for "-f, --filter" flag: bad format of filter (expected name=value)\nSee '${commandPathOf(cmd)} --help'.\n`);
      process.exitCode = 125;
      return;
    }
    filters.set(f.slice(0, eq), [...(filters.get(f.slice(0, eq)) ?? []), f.slice(eq + 1)]);
  }
  const format = o.format === undefined || o.format === '' ? 'table' : o.format;
  const quiet = o.quiet === true;
  const { usesSize } = o.format !== undefined && o.format !== '' ? preflight(o.format) : { usesSize: false };
  const size = (o.size ?? false) || usesSize;
  const last = o.latest ? 1 : o.last !== undefined ? Number(o.last) : -1;
  await withCairn(program, async (cairn) => {
    const list = await cairn.containerRows({ all: o.all ?? false, limit: last, filters }, { trunc: o.trunc, size });
    const rows = list.map((c) => ({ ...c.row }));
    if (quiet && format === 'table') {
      out(rows.map((r) => `${r.ID}\n`).join(''));
      return;
    }
    const columns: Array<[string, string]> = PS_COLUMNS.map(([f, h]) => [f, h]);
    if (size) columns.push(['Size', 'SIZE']);
    const listing: Listing = {
      rowType: ROW_TYPE,
      headers: { CreatedAt: 'CREATED AT', Labels: 'LABELS', LocalVolumes: 'LOCAL VOLUMES', Mounts: 'MOUNTS', Networks: 'NETWORKS', RunningFor: 'CREATED', Size: 'SIZE', State: 'STATE' },
      columns,
      rows,
      // Docker's {{.Label "KEY"}}: a label's value; in the header, the key's last part
      methods: (i) => ({ Label: (key: string) => list[i]!.container.settings.create.labels[key] ?? '' }),
      headerMethods: { Label: labelHeader },
    };
    out(renderListing(listing, format === 'raw' ? rawFormat(quiet, size) : format));
  });
}
