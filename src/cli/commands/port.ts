/**
 * `cairn port CONTAINER [PRIVATE_PORT[/PROTO]]`: a container's published ports. cairn publishes
 * none yet (containers use the host's network, or none), so the list is empty; a port asked
 * for is Docker's "no public port" error.
 */
import type { Command } from 'commander';
import { NotFoundError } from '../../errors.js';
import { withCairn } from '../context.js';

export async function run(program: Command, _cmd: Command, ref: string, port?: string): Promise<void> {
  await withCairn(program, async (cairn) => {
    const rec = await cairn.container(ref);
    if (port !== undefined) {
      const [num, proto] = port.split('/');
      throw new NotFoundError(`No public port '${num}/${proto ?? 'tcp'}' published for ${rec.name}`);
    }
  });
}
