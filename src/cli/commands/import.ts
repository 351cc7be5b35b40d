/**
 * `cairn import FILE|- [REF]`: prints the new image ID, as Docker. What Docker's CLI finds
 * itself — a file it cannot open, a name its client does not parse — is said bare.
 */
import type { Command } from 'commander';
import { pathOrigin } from '../../transfer/origin.js';
import { parsePlatform } from '../../oci/platform.js';
import { docker20ReferenceProblem } from '../../image/resolve.js';
import { bareError, checkReadable } from '../bare-errors.js';
import { out, withCairn } from '../context.js';

interface Opts {
  change: string[];
  message?: string;
  platform?: string;
}

export async function run(program: Command, cmd: Command, file: string, reference?: string): Promise<void> {
  const o = cmd.opts<Opts>();
  if (file !== '-') await checkReadable(file);
  const problem = reference ? docker20ReferenceProblem(reference) : undefined;
  if (problem !== undefined) throw bareError(problem);
  await withCairn(program, async (cairn) => {
    const source = file === '-' ? process.stdin : await pathOrigin(file);
    const platform = o.platform ? parsePlatform(o.platform) : undefined;
    const r = await cairn.import(source, {
      ...(reference ? { reference } : {}),
      changes: o.change,
      ...(o.message !== undefined ? { message: o.message } : {}),
      sourceName: '-',
      ...(platform ? { platform } : {}),
    });
    out(`${r.id}\n`);
  });
}
