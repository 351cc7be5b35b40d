/**
 * `cairn start [-a] [-i] CONTAINER...`: start stopped containers. With `-a`, one container, in
 * the foreground: its output here, signals forwarded, its exit code ours.
 */
import type { Command } from 'commander';
import { CairnError, ConflictError } from '../../errors.js';
import { out, withCairn } from '../context.js';
import { eachContainer } from './each.js';
import { attached, foreground } from './run.js';

/** Docker's daemon's words for starting a paused container. */
const PAUSED = 'cannot start a paused container, try unpause instead';

export async function run(program: Command, cmd: Command, refs: string[]): Promise<void> {
  const o = cmd.opts<{ attach?: boolean; interactive?: boolean }>();
  await withCairn(program, async (cairn) => {
    if (o.attach || o.interactive) {
      if (refs.length > 1) throw new CairnError('usage', 'you cannot start and attach multiple containers at once', { exitCode: 1, bare: true });
      const rec = await cairn.container(refs[0]!);
      if (rec.state.status === 'paused') throw new ConflictError(PAUSED);
      const interactive = (o.interactive ?? false) && rec.settings.create.openStdin;
      process.exitCode = rec.settings.create.tty ? await attached(cairn, rec.id, interactive, false, rec.settings.create.detachKeys) : await foreground(cairn, rec.id, false, interactive, true, false, undefined, rec.settings.create.autoRemove);
      return;
    }
    await eachContainer(refs, async (ref) => {
      const rec = await cairn.container(ref);
      // Docker: starting a running container is no error; a paused one is
      if (rec.state.status === 'paused') throw new ConflictError(PAUSED);
      if (rec.state.status !== 'running') {
        const started = await cairn.startDetached(rec.id);
        for (const w of started.warnings) process.stderr.write(`WARNING: ${w}\n`);
      }
      out(`${ref}\n`);
    }, { summary: (failed) => `failed to start containers: ${failed.join(', ')}` });
  });
}
