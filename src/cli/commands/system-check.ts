/**
 * `cairn system check [--repair] [--quick] [--format json]`: podman's `system check` — every
 * problem of the store on one line (what is wrong, with what, what it affects, what --repair
 * does or did), then a summary; exit status 0 when the store is clean (or repaired clean), 1
 * when problems remain.
 */
import type { Command } from 'commander';
import type { CheckReport, Finding } from '../../check/check.js';
import { InvalidArgumentError } from '../../errors.js';
import { goJson } from '../format.js';
import { out, withCairn } from '../context.js';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ repair?: boolean; quick?: boolean; format?: string }>();
  if (o.format !== undefined && o.format !== 'json') throw new InvalidArgumentError(`unknown --format ${JSON.stringify(o.format)}: the one known is json`);
  await withCairn(program, async (cairn) => {
    const report = await cairn.systemCheck({ quick: o.quick === true, repair: o.repair === true });
    if (o.format === 'json') out(goJson(report.findings, 2) + '\n');
    else out(report.findings.map((f) => findingLine(f, report.repaired) + '\n').join('') + summaryLine(report) + '\n');
    if (report.remaining > 0) process.exitCode = 1;
  });
}

/** One finding on one line: `OBJECT: MESSAGE (affects image A, container B) [repair: …]`. */
export function findingLine(f: Finding, repairing: boolean): string {
  const affects = [...f.affects.images.map((n) => `image ${n}`), ...f.affects.containers.map((n) => `container ${n}`)];
  let line = `${f.object}: ${f.message}`;
  if (affects.length > 0) line += ` (affects ${affects.join(', ')})`;
  const notes: string[] = [];
  if (f.repair !== undefined) notes.push(`repair: ${f.repair}${repairing && f.attempted === true ? ': done' : ''}`);
  if (f.marked !== undefined && f.marked.length > 0) notes.push(`marked damaged: ${f.marked.map((n) => `image ${n}`).join(', ')}`);
  return notes.length > 0 ? `${line} [${notes.join('; ')}]` : line;
}

export function summaryLine(r: CheckReport): string {
  const n = r.findings.length;
  const quick = r.hashed ? '' : ' (--quick: contents not re-hashed)';
  if (n === 0) return `no problems found${quick}`;
  const found = `${n} problem${n === 1 ? '' : 's'} found`;
  if (!r.repaired) return `${found}${quick}`;
  return `${found}: ${n - r.remaining} repaired, ${r.remaining} remain${r.remaining === 1 ? 's' : ''}${quick}`;
}
