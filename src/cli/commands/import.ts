/** `cairn import FILE|- [REF]`: prints the new image ID, as Docker. */
import type { Command } from 'commander';
import { pathOrigin } from '../../transfer/origin.js';
import { parsePlatform } from '../../oci/platform.js';
import { NotFoundError, errnoCode } from '../../errors.js';
import { out, withCairn } from '../context.js';
import { access } from 'node:fs/promises';

interface Opts {
  change: string[];
  message?: string;
  platform?: string;
}

export async function run(program: Command, cmd: Command, file: string, reference?: string): Promise<void> {
  const o = cmd.opts<Opts>();
  if (file !== '-') {
    try {
      await access(file);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new NotFoundError(`open ${file}: no such file or directory`);
      throw e;
    }
  }
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
