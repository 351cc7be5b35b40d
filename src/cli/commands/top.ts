/**
 * `cairn top CONTAINER [ps OPTIONS]`: the host's `ps` (default `-ef`) over the container's
 * processes, as Docker prints it: ps's header, then the rows whose PID is one of the
 * container's.
 */
import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { out, withCairn } from '../context.js';

export async function run(program: Command, _cmd: Command, ref: string, options: string[]): Promise<void> {
  await withCairn(program, async (cairn) => {
    const pids = new Set(await cairn.containerProcesses(ref));
    const args = options.length > 0 ? options : ['-ef'];
    const ps = spawnSync('ps', args, { encoding: 'utf8' });
    if (ps.error !== undefined) throw new CairnError('internal', `cannot run ps: ${ps.error.message}`);
    if (ps.status !== 0) throw new CairnError('internal', `ps ${args.join(' ')} failed: ${ps.stderr.trim()}`);
    const lines = ps.stdout.split('\n').filter((l) => l !== '');
    const header = lines[0]!.trim().split(/\s+/);
    const at = header.indexOf('PID');
    if (at < 0) throw new CairnError('invalid-argument', `Couldn't find PID field in ps output`);
    const rows = lines.slice(1).filter((l) => pids.has(Number(l.trim().split(/\s+/)[at])));
    out([lines[0]!, ...rows].join('\n') + '\n');
  });
}
