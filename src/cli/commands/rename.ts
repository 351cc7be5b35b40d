/** `cairn rename CONTAINER NEW_NAME`. */
import type { Command } from 'commander';
import { withCairn } from '../context.js';

export async function run(program: Command, _cmd: Command, ref: string, name: string): Promise<void> {
  await withCairn(program, (cairn) => cairn.renameContainer(ref, name));
}
