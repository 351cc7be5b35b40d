/** What every command needs: the global options and an open store. */
import type { Command } from 'commander';
import { Cairn } from '../engine.js';
import { InvalidArgumentError } from '../errors.js';
import { isDriverName } from '../snapshot/index.js';
import type { GlobalOptions } from './main.js';

export async function openCairn(program: Command): Promise<Cairn> {
  const g = program.opts<GlobalOptions>();
  if (g.storageDriver !== undefined && !isDriverName(g.storageDriver)) {
    throw new InvalidArgumentError(`unknown storage driver ${JSON.stringify(g.storageDriver)}: use overlay or native`);
  }
  return Cairn.open({ ...(g.root !== undefined ? { root: g.root } : {}), ...(g.storageDriver !== undefined ? { storageDriver: g.storageDriver } : {}) });
}

/** Open the store, run `fn`, always close. */
export async function withCairn<T>(program: Command, fn: (cairn: Cairn) => Promise<T>): Promise<T> {
  const cairn = await openCairn(program);
  try {
    return await fn(cairn);
  } finally {
    cairn.close();
  }
}

export function out(s: string): void {
  process.stdout.write(s);
}
