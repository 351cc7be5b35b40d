/** `cairn inspect` / `cairn image inspect`: Docker's JSON array, or a Go template per image. */
import type { Command } from 'commander';
import type { ImageInspect } from '../../image/query.js';
import { CairnError, NotFoundError } from '../../errors.js';
import { goJson, renderTemplate } from '../format.js';
import { out, withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, images: string[]): Promise<void> {
  const o = cmd.opts<{ format?: string }>();
  await withCairn(program, async (cairn) => {
    const results: ImageInspect[] = [];
    let failure: CairnError | undefined;
    for (const name of images) {
      try {
        results.push(await cairn.inspect(name));
      } catch (e) {
        // Docker prints what it found, then the error for the rest, and exits 1.
        if (!(e instanceof NotFoundError)) throw e;
        failure ??= e;
        process.stderr.write(`Error: ${e.message}\n`);
      }
    }
    if (o.format && o.format !== 'json') {
      for (const r of results) {
        out(renderTemplate(o.format, (f) => {
          const v = (r as unknown as Record<string, unknown>)[f];
          // Go's template on a map prints "<no value>" for a key that is not there.
          if (v === undefined) return '<no value>';
          return typeof v === 'string' ? v : goJson(v);
        }, () => goJson(r)) + '\n');
      }
    } else {
      out(goJson(results, 4) + '\n');
    }
    if (failure) {
      process.exitCode = 1;
    }
  });
}
