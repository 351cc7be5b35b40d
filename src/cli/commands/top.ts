/**
 * `cairn top CONTAINER [ps OPTIONS]`: the host's `ps` (default `-ef`; the options joined and
 * split on spaces, as Docker passes them) over the container's processes, as Docker 20.10's
 * daemon reads it and its CLI prints it: the header's fields as titles, the rows whose PID is
 * one of the container's (a thread row `-` after one of them too), each cut into as many
 * fields as there are titles (the last keeps its spaces), through Go's tabwriter (minwidth 20,
 * padding 3). A `ps` that fails is "ps: " and the first line it printed on stderr.
 */
import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { out, withCairn } from '../context.js';
import { table } from '../format.js';

export async function run(program: Command, _cmd: Command, ref: string, options: string[]): Promise<void> {
  await withCairn(program, async (cairn) => {
    const pids = new Set(await cairn.containerProcesses(ref));
    const args = options.length > 0 ? options.join(' ').split(' ') : ['-ef'];
    const ps = spawnSync('ps', args, { encoding: 'utf8' });
    if (ps.error !== undefined) throw new CairnError('internal', `ps: ${ps.error.message}`);
    if (ps.status !== 0) throw new CairnError('internal', `ps: ${ps.stderr.split('\n')[0] || `exit status ${ps.status}`}`);
    const lines = ps.stdout.split('\n');
    const titles = (lines[0] ?? '').trim().split(/\s+/).filter((t) => t !== '');
    const at = titles.indexOf('PID');
    if (at < 0) throw new CairnError('invalid-argument', "Couldn't find PID field in ps output");
    const rows: string[][] = [];
    let inContainer = false;
    for (const line of lines.slice(1)) {
      if (line === '') continue;
      const fields = line.trim().split(/\s+/);
      const pid = fields[at] ?? '';
      if (pid === '-') {
        if (inContainer) rows.push(fit(fields, titles.length));
        continue;
      }
      if (!/^\d+$/.test(pid)) throw new CairnError('internal', `Unexpected pid '${pid}': strconv.Atoi: parsing "${pid}": invalid syntax`);
      inContainer = pids.has(Number(pid));
      if (inContainer) rows.push(fit(fields, titles.length));
    }
    out(table([titles, ...rows], 20));
  });
}

/** A row as many fields as there are titles: the overhanging ones joined into the last (Docker's appendProcess2ProcList). */
function fit(fields: string[], n: number): string[] {
  return [...fields.slice(0, n - 1), fields.slice(n - 1).join(' ')];
}
