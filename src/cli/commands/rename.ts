/**
 * `cairn rename CONTAINER NEW_NAME`: as Docker's CLI, both names trimmed; a refusal is said,
 * then "Error: failed to rename container named CONTAINER", exit 1.
 */
import type { Command } from 'commander';
import { CairnError, InvalidArgumentError, errorLine } from '../../errors.js';
import { withCairn } from '../context.js';

export async function run(program: Command, _cmd: Command, ref: string, name: string): Promise<void> {
  const oldName = ref.trim();
  const newName = name.trim();
  if (oldName === '' || newName === '') throw new InvalidArgumentError('Neither old nor new names may be empty');
  await withCairn(program, async (cairn) => {
    try {
      await cairn.renameContainer(oldName, newName);
    } catch (e) {
      if (!(e instanceof CairnError)) throw e;
      process.stderr.write(`${errorLine(e)}\n`);
      throw new CairnError('failed-precondition', `failed to rename container named ${oldName}`, { cause: e });
    }
  });
}
