/**
 * `cairn push [-a] [-q] NAME[:TAG]`: Docker's lines on stdout — `The push refers to repository
 * [REPO]`, a line per layer (`Preparing`, `Layer already exists`, `Pushed`; redrawn in place on
 * a terminal), then `TAG: digest: sha256:… size: N`.
 */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { parseNormalizedReference, withTag } from '../../reference/reference.js';
import { docker20ReferenceProblem } from '../../image/resolve.js';
import { bareError } from '../bare-errors.js';
import { createProgress, NullProgress } from '../progress.js';
import { out, withCairn } from '../context.js';

interface PushFlags {
  allTags?: boolean;
  quiet?: boolean;
  authfile?: string;
  tlsVerify?: boolean;
  compressionFormat?: string;
  compressionLevel?: string;
}

export async function run(program: Command, cmd: Command, name: string): Promise<void> {
  const o = cmd.opts<PushFlags>();
  // the CLI parses the name itself (ParseNormalizedNamed) and says what it finds bare
  const problem = docker20ReferenceProblem(name);
  if (problem !== undefined) throw bareError(problem);
  let ref = parseNormalizedReference(name);
  if (o.allTags && (ref.tag || ref.digest)) throw new CairnError('usage', 'tag can\'t be used with --all-tags/-a', { exitCode: 1 });
  if (o.compressionFormat !== undefined && o.compressionFormat !== 'gzip' && o.compressionFormat !== 'zstd') {
    throw new CairnError('usage', `invalid compression format ${JSON.stringify(o.compressionFormat)}: use gzip or zstd`);
  }
  let level: number | undefined;
  if (o.compressionLevel !== undefined) {
    level = Number(o.compressionLevel);
    if (!Number.isInteger(level) || level < 0 || level > (o.compressionFormat === 'zstd' ? 22 : 9)) {
      throw new CairnError('usage', `invalid compression level ${JSON.stringify(o.compressionLevel)}`);
    }
  }
  if (!o.allTags && !ref.tag && !ref.digest) {
    if (!o.quiet) out('Using default tag: latest\n');
    ref = withTag(ref, 'latest');
  }
  await withCairn(program, async (cairn) => {
    if (!o.quiet) out(`The push refers to repository [${ref.name}]\n`);
    const tags = o.allTags ? await cairn.repositoryTags(ref.name) : [ref.toString()];
    if (tags.length === 0) throw new CairnError('not-found', `An image does not exist locally with the tag: ${ref.familiarName}`);
    for (const t of tags) {
      const progress = o.quiet ? new NullProgress() : createProgress(process.stdout, false, { plainStart: null });
      const r = await cairn.push(t, {
        progress,
        ...(o.authfile ? { authfile: o.authfile } : {}),
        ...(o.tlsVerify === false ? { insecure: [ref.domain] } : {}),
        ...(o.compressionFormat ? { compression: o.compressionFormat as 'gzip' | 'zstd' } : {}),
        ...(level !== undefined ? { level } : {}),
      });
      for (const img of r.images) if (!o.quiet) out(`${img.tag}: digest: ${img.digest} size: ${img.size}\n`);
    }
    if (o.quiet) out(`${parseNormalizedReference(name).toString()}\n`);
  });
}
