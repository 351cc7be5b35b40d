/**
 * `cairn rm [-f] [-v] CONTAINER...`: each container and its writable layer; each name printed as
 * given (`/` around it trimmed, as Docker's CLI trims it; an empty name refused). With `-f`, a
 * container that is not there is said but is no failure, as in Docker.
 */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { out, withCairn } from '../context.js';
import { eachContainer, forgiveMissing } from './each.js';

export async function run(program: Command, cmd: Command, refs: string[]): Promise<void> {
  const o = cmd.opts<{ force?: boolean; volumes?: boolean }>();
  await withCairn(program, (cairn) =>
    eachContainer(
      refs,
      async (ref) => {
        const name = ref.replace(/^\/+|\/+$/g, '');
        if (name === '') throw new CairnError('invalid-argument', 'Container name cannot be empty', { bare: true });
        await cairn.removeContainer(name, { force: o.force ?? false, volumes: o.volumes ?? false });
        out(`${ref}\n`);
      },
      o.force ? { forgive: forgiveMissing } : {},
    ),
  );
}
