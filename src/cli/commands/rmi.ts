/**
 * `cairn rmi`: Docker's `Untagged:` / `Deleted:` lines; errors for some images do not stop the
 * rest; with `-f`, images that are not there are said on stderr but exit 0, as Docker's.
 */
import type { Command } from 'commander';
import { CairnError, NotFoundError } from '../../errors.js';
import { out, withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, images: string[]): Promise<void> {
  const o = cmd.opts<{ force?: boolean; prune: boolean }>();
  await withCairn(program, async (cairn) => {
    let failed = false;
    for (const name of images) {
      try {
        const events = await cairn.remove(name, { force: o.force ?? false, prune: o.prune });
        for (const e of events) out('untagged' in e ? `Untagged: ${e.untagged}\n` : `Deleted: ${e.deleted}\n`);
      } catch (e) {
        if (!(e instanceof CairnError)) throw e;
        process.stderr.write(`Error: ${e.message}\n`);
        // with -f, an image that is not there is said but is no failure (Docker's rule)
        if (!(o.force && e instanceof NotFoundError)) failed = true;
      }
    }
    if (failed) process.exitCode = 1;
  });
}
