/**
 * `cairn import FILE|- [REF]`: prints the new image ID, as Docker. What Docker's CLI finds
 * itself — a file it cannot open, a name its client does not parse — is said bare; the rest
 * (a platform, the changes) as its daemon says it.
 */
import type { Command } from 'commander';
import { pathOrigin } from '../../transfer/origin.js';
import { hostPlatform, parsePlatformSpecifier } from '../../oci/platform.js';
import type { Platform } from '../../oci/types.js';
import { InvalidArgumentError } from '../../errors.js';
import { docker20ReferenceProblem } from '../../image/resolve.js';
import { bareError, checkReadable } from '../bare-errors.js';
import { out, withCairn } from '../context.js';

interface Opts {
  change: string[];
  message?: string;
  platform?: string;
}

/**
 * `--platform` as Docker 20.10's daemon takes it for an import: parsed as containerd parses it
 * (its errors in containerd's words), then only its OS is used — its own OS only ("operating
 * system is not supported"); the architecture written is always the host's, as ImportImage
 * writes runtime.GOARCH.
 */
function importPlatform(value: string): Platform {
  const wanted = parsePlatformSpecifier(value);
  const host = hostPlatform();
  if (wanted.os !== host.os) throw new InvalidArgumentError('operating system is not supported');
  return { os: host.os, architecture: host.architecture };
}

export async function run(program: Command, cmd: Command, file: string, reference?: string): Promise<void> {
  const o = cmd.opts<Opts>();
  if (file !== '-') await checkReadable(file);
  const problem = reference ? docker20ReferenceProblem(reference) : undefined;
  if (problem !== undefined) throw bareError(problem);
  await withCairn(program, async (cairn) => {
    const source = file === '-' ? process.stdin : await pathOrigin(file);
    const platform = o.platform ? importPlatform(o.platform) : undefined;
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
