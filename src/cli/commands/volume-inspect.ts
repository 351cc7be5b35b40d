/**
 * `cairn volume inspect [-f FORMAT] VOLUME...`: Docker's JSON array (4-space indent), or a Go
 * template per volume over Docker's types.Volume; what is not found is said after what is
 * ("Error: No such volume: X"), exit 1. A template that does not parse: exit 64, as Docker.
 */
import type { Command } from 'commander';
import { CairnError, NotFoundError } from '../../errors.js';
import { execute, goJson, parseFormat } from '../format.js';
import { out, withCairn } from '../context.js';
import { typedVolume, volumeDocument, type VolumeDocument } from '../volume.js';

export async function run(program: Command, cmd: Command, names: string[]): Promise<void> {
  const o = cmd.opts<{ format?: string }>();
  const tpl = o.format && o.format !== 'json' ? parseFormat(o.format, { exitCode: 64 }) : undefined;
  await withCairn(program, async (cairn) => {
    const docs: VolumeDocument[] = [];
    const errors: string[] = [];
    for (const name of names) {
      try {
        docs.push(volumeDocument(await cairn.volumeInspect(name)));
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
        errors.push(e.message);
      }
    }
    if (tpl) {
      let text = '';
      for (const d of docs) {
        try {
          text += execute(tpl, typedVolume(d)) + '\n';
        } catch (e) {
          if (!(e instanceof CairnError)) throw e;
          errors.push(e.message);
        }
      }
      // Docker's template inspector writes a newline when it has nothing else to write.
      out(text === '' ? '\n' : text);
    } else {
      out(goJson(docs, 4) + '\n');
    }
    if (errors.length > 0) {
      process.stderr.write(errors.map((m) => `Error: ${m}\n`).join(''));
      process.exitCode = 1;
    }
  });
}
