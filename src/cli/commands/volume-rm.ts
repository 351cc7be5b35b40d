/**
 * `cairn volume rm [-f] VOLUME...` (alias `remove`): each name removed is printed; the errors
 * for the others follow, one line each, exit 1 — Docker's "No such volume: X", and
 * "remove X: volume is in use - [CONTAINERS]" for a volume a container uses (even with -f). With
 * -f a volume that is not there is printed as removed, as Docker prints it.
 */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { out, withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, names: string[]): Promise<void> {
  const o = cmd.opts<{ force?: boolean }>();
  await withCairn(program, async (cairn) => {
    const errors: string[] = [];
    for (const name of names) {
      try {
        await cairn.volumeRemove(name, { force: o.force ?? false });
        out(`${name}\n`);
      } catch (e) {
        if (!(e instanceof CairnError)) throw e;
        errors.push(e.message);
      }
    }
    if (errors.length > 0) {
      process.stderr.write(errors.map((m) => `Error: ${m}\n`).join(''));
      process.exitCode = 1;
    }
  });
}
