/**
 * `cairn start [-a] [-i] CONTAINER...`: start stopped containers. With `-a`, one container, in
 * the foreground: its output here, signals forwarded, its exit code ours.
 */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { withCairn } from '../context.js';
import { foreground } from './run.js';

export async function run(program: Command, cmd: Command, refs: string[]): Promise<void> {
  const o = cmd.opts<{ attach?: boolean; interactive?: boolean }>();
  await withCairn(program, async (cairn) => {
    if (o.attach || o.interactive) {
      if (refs.length > 1) throw new CairnError('usage', 'you cannot start and attach multiple containers at once');
      const rec = await cairn.container(refs[0]!);
      process.exitCode = await foreground(cairn, rec.id, rec.settings.tty, (o.interactive ?? false) && rec.settings.interactive, true, false);
      return;
    }
    throw new CairnError('unsupported', 'start without -a is not available yet');
  });
}
