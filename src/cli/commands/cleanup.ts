/** `cairn container cleanup ID`: conmon's exit command — record the container's exit, unmount, and `--rm`. */
import type { Command } from 'commander';
import { withCairn } from '../context.js';

export async function run(program: Command, _cmd: Command, id: string): Promise<void> {
  await withCairn(program, (cairn) => cairn.cleanupContainer(id));
}
