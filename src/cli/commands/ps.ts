/**
 * `cairn ps` / `container ls`: Docker's listing of containers (running ones, all with `-a`),
 * newest first: `-q`, `-n`, `-l`, `--no-trunc`, `--filter`, `--format table|json|TEMPLATE`.
 */
import type { Command } from 'commander';
import type { ContainerRecord } from '../../container/model.js';
import { CairnError } from '../../errors.js';
import { PS_COLUMNS } from '../../container/ps.js';
import { renderListing, type Listing } from '../format.js';
import { out, withCairn } from '../context.js';

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

function matches(c: ContainerRecord, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    const ok = values.some((v) => {
      switch (key) {
        case 'id':
          return c.id.startsWith(v);
        case 'name':
          return new RegExp(v).test(c.name);
        case 'status':
          return c.state.status === v;
        case 'exited':
          return c.state.status === 'exited' && String(c.state.exitCode) === v;
        case 'label': {
          const eq = v.indexOf('=');
          const k = eq < 0 ? v : v.slice(0, eq);
          const labels = c.settings.create.labels;
          return k in labels && (eq < 0 || labels[k] === v.slice(eq + 1));
        }
        case 'ancestor':
          return c.settings.create.image === v || c.imageId === v || c.imageId.slice(7).startsWith(v);
        default:
          throw new CairnError('invalid-argument', `invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<Opts>();
  const filters = new Map<string, string[]>();
  for (const f of o.filter) {
    const eq = f.indexOf('=');
    if (eq < 0) {
      process.stderr.write(`invalid argument ${JSON.stringify(f)} for "-f, --filter" flag: bad format of filter (expected name=value)\nSee 'cairn ps --help'.\n`);
      process.exitCode = 125;
      return;
    }
    filters.set(f.slice(0, eq), [...(filters.get(f.slice(0, eq)) ?? []), f.slice(eq + 1)]);
  }
  if (filters.has('status')) {
    for (const v of filters.get('status')!) {
      if (!['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'].includes(v)) {
        throw new CairnError('invalid-argument', `Invalid filter 'status=${v}'`);
      }
    }
  }
  await withCairn(program, async (cairn) => {
    let list = (await cairn.containerRows({ trunc: o.trunc })).filter((c) => matches(c.container, filters));
    const last = o.latest ? 1 : o.last !== undefined ? Number(o.last) : -1;
    const all = o.all || last > 0 || filters.has('status') || filters.has('exited');
    if (!all) list = list.filter((c) => c.container.state.status === 'running' || c.container.state.status === 'paused' || c.container.state.status === 'restarting');
    if (last > 0) list = list.slice(0, last);
    const listing: Listing = {
      rowType: '*formatter.containerContext',
      headers: { CreatedAt: 'CREATED AT', Labels: 'LABELS', LocalVolumes: 'LOCAL VOLUMES', Mounts: 'MOUNTS', Networks: 'NETWORKS', RunningFor: 'CREATED', Size: 'SIZE', State: 'STATE' },
      columns: PS_COLUMNS.map(([f, h]) => [f, h] as [string, string]),
      rows: list.map((c) => ({ ...c.row })),
    };
    if (o.quiet) {
      out(listing.rows.map((r) => `${r.ID}\n`).join(''));
      return;
    }
    out(renderListing(listing, o.format));
  });
}
