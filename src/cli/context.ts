/** What every command needs: the global options and an open store. */
import type { Command } from 'commander';
import { Store } from '../store/store.js';
import type { GlobalOptions } from './main.js';

export async function openStore(program: Command): Promise<Store> {
  const g = program.opts<GlobalOptions>();
  return Store.open(g.root !== undefined ? { root: g.root } : {});
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
