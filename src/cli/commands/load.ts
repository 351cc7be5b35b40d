/**
 * `cairn load [-i FILE] [-q]`: Docker's lines on stdout — per image, per tag, `The image X
 * already exists, renaming the old one with ID … to empty string` when the tag moves, then
 * `Loaded image: X`; then, when the archive's last image has no tag, `Loaded image ID: …` for
 * every image (Docker's rule); for an archive from before Docker 1.10, only the renaming lines
 * (Docker's legacy load says nothing else). `-q` drops only the progress; Docker's CLI shows progress only
 * when stdout is a terminal, drawn there as its jsonmessage display draws it: per image, a
 * "Loading layer" line for each layer its daemon reads from the archive (labelled with the
 * diffID's first 12 hex digits; a pre-1.10 archive's with the v1 ID's), rewritten in place with
 * the byte counts its daemon reports (load-reports.ts), then the image's lines. cairn reads the
 * archive in its own order, as a stream, and knows the labels and Docker's order only at its
 * end: the lines are drawn then, from the counts taken while it was read.
 */
import type { Command } from 'commander';
import { pathOrigin } from '../../transfer/origin.js';
import { parseNormalizedReference } from '../../reference/reference.js';
import { bareError, checkReadable } from '../bare-errors.js';
import { JsonMessageDisplay } from '../jsonmessage.js';
import { out, withCairn } from '../context.js';
import { CairnError } from '../../errors.js';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ input?: string; quiet?: boolean }>();
  // Docker's CLI opens the file first, then refuses a terminal on stdin.
  if (o.input) await checkReadable(o.input);
  if (!o.input && process.stdin.isTTY) throw bareError('requested load from stdin, but stdin is empty');
  await load(program, o);
}

async function load(program: Command, o: { input?: string; quiet?: boolean }): Promise<void> {
  await withCairn(program, async (cairn) => {
    const source = o.input ? await pathOrigin(o.input) : process.stdin;
    // Docker's CLI asks for progress only when its output is a terminal, and draws it there
    const display = (o.quiet ?? false) || !process.stdout.isTTY ? undefined : new JsonMessageDisplay(out, process.stdout.columns ?? 200);
    const result = await cairn.load(source).catch((e: unknown) => {
      throw e instanceof CairnError && !e.bare ? asDockerLoadError(e) : e;
    });
    const say = (line: string): void => (display ? display.stream(line) : out(line));
    const layers = new Map(result.loading.map((l) => [l.image, l.layers]));
    const drawLayers = (id: string): void => {
      for (const l of layers.get(id) ?? []) for (const r of l.reports) display?.progress(l.id, 'Loading layer', r, l.total);
      layers.delete(id);
    };
    // a pre-1.10 archive: every image is loaded, then tagged
    if (result.legacy) for (const img of result.images) drawLayers(img.id);
    for (const img of result.images) {
      drawLayers(img.id);
      const moved = new Map(img.retagged.map(([tag, prev]) => [parseNormalizedReference(tag).familiarString(), prev]));
      for (const t of img.tags) {
        const prev = moved.get(t);
        if (prev !== undefined) say(`The image ${t} already exists, renaming the old one with ID ${prev} to empty string\n`);
        if (!result.legacy) say(`Loaded image: ${t}\n`);
      }
    }
    if (!result.legacy && result.images.at(-1)?.tags.length === 0) say(result.images.map((img) => `Loaded image ID: ${img.id}\n`).join(''));
  });
}

/**
 * Docker's daemon reports a failed load in its response stream, and its CLI prints that message
 * as it is, without "Error: " (the same exit code, 1).
 */
function asDockerLoadError(e: CairnError): CairnError {
  return new CairnError(e.code, e.message, { cause: e, exitCode: e.exitCode, transient: e.transient, bare: true });
}
