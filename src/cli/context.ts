/** What every command needs: the global options and an open store. */
import type { Command } from 'commander';
import { Store } from '../store/store.js';
import { InvalidArgumentError } from '../errors.js';
import { isDriverName } from '../snapshot/index.js';
import type { GlobalOptions } from './main.js';

export async function openStore(program: Command): Promise<Store> {
  const g = program.opts<GlobalOptions>();
  if (g.storageDriver !== undefined && !isDriverName(g.storageDriver)) {
    throw new InvalidArgumentError(`unknown storage driver ${JSON.stringify(g.storageDriver)}: use overlay or native`);
  }
  return Store.open({ ...(g.root !== undefined ? { root: g.root } : {}), ...(g.storageDriver !== undefined ? { storageDriver: g.storageDriver } : {}) });
}

/** Open the store, run `fn`, always close. */
export async function withStore<T>(program: Command, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(program);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

export function out(s: string): void {
  process.stdout.write(s);
}
