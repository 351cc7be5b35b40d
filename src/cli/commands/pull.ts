/**
 * `cairn pull [-a] [-q] [--platform P] NAME[:TAG|@DIGEST]`: Docker's lines on stdout — `TAG:
 * Pulling from REPO`, a line per layer (`Already exists`, `Pulling fs layer`, `Download
 * complete`, `Pull complete`; redrawn in place on a terminal), `Digest:`, `Status:` and the
 * reference.
 */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { parsePlatformSpecifier } from '../../oci/platform.js';
import { parseNormalizedReference, withTag } from '../../reference/reference.js';
import type { Cairn } from '../../engine.js';
import type { PullResult } from '../../registry/transfer.js';
import { docker20ReferenceProblem } from '../../image/resolve.js';
import { bareError } from '../bare-errors.js';
import { createProgress, NullProgress, type ProgressSink } from '../progress.js';
import { out, withCairn } from '../context.js';

interface PullFlags {
  allTags?: boolean;
  quiet?: boolean;
  platform?: string;
  authfile?: string;
  tlsVerify?: boolean;
  maxConcurrentDownloads?: string;
}

/**
 * Docker's progress for one image. Plain lines (as Docker's when stdout is not a terminal):
 * "Verifying Checksum" and "Download complete" as each layer is in, "Pull complete" for each
 * once the image is recorded. On a terminal, a layer's line goes through Docker's states:
 * "Downloading [bar]"; with its last byte "Verifying Checksum", "Download complete" and
 * "Extracting [bar]" while the layer, unpacked as it streamed, is finished (the sink verifies
 * and closes it); then "Pull complete".
 */
function pullProgress(quiet: boolean, stream: NodeJS.WriteStream): { sink: ProgressSink; complete(): void } {
  if (quiet) return { sink: new NullProgress(), complete() {} };
  const inner = createProgress(stream, false, { plainStart: null });
  const downloaded: string[] = [];
  const tty = stream.isTTY === true;
  const totals = new Map<string, number | undefined>();
  const sink: ProgressSink = {
    start: (id, label, total) => {
      totals.set(id, total);
      inner.start(id, label, total);
    },
    update: (id, done) => {
      const total = totals.get(id);
      if (tty && total !== undefined && done >= total) {
        inner.status(id, 'Verifying Checksum');
        inner.status(id, 'Download complete');
        inner.start(id, 'Extracting', total);
      }
      inner.update(id, done);
    },
    finish: (id, message) => {
      if (tty) {
        inner.finish(id, 'Pull complete');
        return;
      }
      inner.status(id, 'Verifying Checksum');
      inner.finish(id, message);
      downloaded.push(id);
    },
    status: (id, message) => inner.status(id, message),
  };
  return { sink, complete: () => downloaded.forEach((id) => inner.status(id, 'Pull complete')) };
}

async function pullOne(cairn: Cairn, reference: string, label: string, o: PullFlags, stream: NodeJS.WriteStream = process.stdout): Promise<PullResult> {
  const ref = parseNormalizedReference(reference);
  // the daemon parses the platform before it says anything
  const platform = o.platform ? parsePlatformSpecifier(o.platform) : undefined;
  const say = (s: string) => stream.write(s);
  if (!o.quiet) say(`${label}: Pulling from ${ref.path}\n`);
  const progress = pullProgress(o.quiet ?? false, stream);
  const result = await cairn.pull(reference, {
    progress: progress.sink,
    ...(o.maxConcurrentDownloads !== undefined ? { maxConcurrent: Number(o.maxConcurrentDownloads) } : {}),
    ...(platform ? { platform } : {}),
    ...(o.authfile ? { authfile: o.authfile } : {}),
    ...(o.tlsVerify === false ? { insecure: [ref.domain] } : {}),
  });
  progress.complete();
  if (!o.quiet) say(`Digest: ${result.digest}\n`);
  return result;
}

/**
 * The pull `run` and `create` do for an image the store lacks, said on stderr as Docker says
 * it: "Unable to find image 'NAME' locally", the pull's lines, its status.
 */
export async function pullForContainer(cairn: Cairn, name: string, o: { quiet?: boolean; platform?: string }): Promise<void> {
  let ref = parseNormalizedReference(name);
  if (!ref.tag && !ref.digest) ref = withTag(ref, 'latest');
  const shown = ref.digest ? ref.familiarString().replace(/:[^/@]+@/, '@') : ref.familiarString();
  const flags: PullFlags = { ...(o.quiet ? { quiet: true } : {}), ...(o.platform !== undefined ? { platform: o.platform } : {}) };
  const r = await pullOne(cairn, ref.toString(), ref.digest ? shown : ref.tag!, flags, process.stderr);
  if (!o.quiet) process.stderr.write(`Status: ${r.upToDate ? 'Image is up to date for' : 'Downloaded newer image for'} ${shown}\n`);
}

export async function run(program: Command, cmd: Command, name: string): Promise<void> {
  const o = cmd.opts<PullFlags>();
  if (o.maxConcurrentDownloads !== undefined && !/^[1-9][0-9]?$/.test(o.maxConcurrentDownloads)) {
    throw new CairnError('usage', `invalid --max-concurrent-downloads ${JSON.stringify(o.maxConcurrentDownloads)}: a number from 1 to 99`);
  }
  // the CLI parses the name itself (ParseNormalizedNamed) and says what it finds bare
  const problem = docker20ReferenceProblem(name);
  if (problem !== undefined) throw bareError(problem);
  let ref = parseNormalizedReference(name);
  await withCairn(program, async (cairn) => {
    if (o.allTags) {
      const tags = await cairn.remoteTags(ref.name, { ...(o.authfile ? { authfile: o.authfile } : {}), ...(o.tlsVerify === false ? { insecure: [ref.domain] } : {}) });
      // every tag the registry names checked before anything is pulled (a hostile list: `../x`)
      const refs = tags.map((t) => ({ t, name: withTag(ref, t).toString() }));
      let newer = false;
      for (const { t, name } of refs) {
        const r = await pullOne(cairn, name, t, o);
        newer ||= !r.upToDate;
      }
      if (o.quiet) out(`${ref.toString()}\n`);
      else out(`Status: ${newer ? 'Downloaded newer image for' : 'Image is up to date for'} ${ref.familiarName}\n${ref.toString()}\n`);
      return;
    }
    if (!ref.tag && !ref.digest) {
      if (!o.quiet) out('Using default tag: latest\n');
      ref = withTag(ref, 'latest');
    }
    const shown = ref.digest ? ref.familiarString().replace(/:[^/@]+@/, '@') : ref.tag!;
    const r = await pullOne(cairn, ref.toString(), shown, o);
    if (!o.quiet) {
      const named = ref.digest ? ref.familiarString().replace(/:[^/@]+@/, '@') : ref.familiarString();
      out(`Status: ${r.upToDate ? 'Image is up to date for' : 'Downloaded newer image for'} ${named}\n`);
    }
    out(`${ref.toString()}\n`);
  });
}
