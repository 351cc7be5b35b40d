/**
 * `cairn ps` / `container ls`: Docker's listing of containers (running ones, all with `-a`),
 * newest first: `-q`, `-n`, `-l`, `--no-trunc`, `--filter`, `--format table|json|TEMPLATE`.
 */
import type { Command } from 'commander';
import type { ContainerRecord } from '../../container/model.js';
import { CairnError } from '../../errors.js';
import { createdSince, ellipsis, goTimeString, humanDuration, renderListing, type Listing } from '../format.js';
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

/** Docker's STATUS column. */
export function statusText(c: ContainerRecord, now = Date.now()): string {
  const s = c.state;
  const health = s.health !== undefined ? ` (${s.health.Status === 'starting' ? 'health: starting' : s.health.Status})` : '';
  switch (s.status) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(s.startedAt))}${health}`;
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(s.startedAt))} (Paused)`;
    case 'exited':
      return `Exited (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
    case 'created':
      return 'Created';
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return s.status;
  }
}

/** Docker's COMMAND column: the command quoted, cut to 20 runes (unless --no-trunc). */
function commandText(c: ContainerRecord, trunc: boolean): string {
  const cmd = (c.settings.command ?? []).join(' ');
  return JSON.stringify(trunc ? ellipsis(cmd, 20) : cmd);
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
          return k in c.settings.labels && (eq < 0 || c.settings.labels[k] === v.slice(eq + 1));
        }
        case 'ancestor':
          return c.settings.image === v || c.imageId === v || c.imageId.slice(7).startsWith(v);
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
    let list = (await cairn.containers()).filter((c) => matches(c, filters));
    const last = o.latest ? 1 : o.last !== undefined ? Number(o.last) : -1;
    const all = o.all || last > 0 || filters.has('status') || filters.has('exited');
    if (!all) list = list.filter((c) => c.state.status === 'running' || c.state.status === 'paused' || c.state.status === 'restarting');
    if (last > 0) list = list.slice(0, last);
    const now = Date.now();
    const listing: Listing = {
      rowType: '*formatter.containerContext',
      headers: { CreatedAt: 'CREATED AT', Labels: 'LABELS', LocalVolumes: 'LOCAL VOLUMES', Mounts: 'MOUNTS', Networks: 'NETWORKS', RunningFor: 'CREATED', Size: 'SIZE', State: 'STATE' },
      columns: [
        ['ID', 'CONTAINER ID'],
        ['Image', 'IMAGE'],
        ['Command', 'COMMAND'],
        ['RunningFor', 'CREATED'],
        ['Status', 'STATUS'],
        ['Ports', 'PORTS'],
        ['Names', 'NAMES'],
      ],
      rows: list.map((c) => ({
        Command: commandText(c, o.trunc),
        CreatedAt: goTimeString(Date.parse(c.created)),
        ID: o.trunc ? c.id.slice(0, 12) : c.id,
        Image: c.settings.image,
        Labels: Object.entries(c.settings.labels).map(([k, v]) => `${k}=${v}`).join(','),
        LocalVolumes: String(c.settings.volumes.length),
        Mounts: c.settings.volumes.map((v) => v.name).join(','),
        Names: c.name,
        Networks: c.settings.network,
        Ports: '',
        RunningFor: createdSince(Date.parse(c.created), now),
        Size: '',
        State: c.state.status,
        Status: statusText(c, now),
      })),
    };
    if (o.quiet) {
      out(listing.rows.map((r) => `${r.ID}\n`).join(''));
      return;
    }
    out(renderListing(listing, o.format));
  });
}
