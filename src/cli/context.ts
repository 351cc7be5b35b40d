/** What every command needs: the global options and an open store. */
import type { Command } from 'commander';
import { Cairn } from '../engine.js';
import { CairnError, InvalidArgumentError } from '../errors.js';
import { flagValueMessage } from '../container/errors.js';
import { parseGoInt } from '../container/units.js';
import { isDriverName } from '../snapshot/index.js';
import type { CompressedBlobs } from '../store/store.js';
import type { GlobalOptions } from './main.js';

export async function openCairn(program: Command): Promise<Cairn> {
  const g = program.opts<GlobalOptions>();
  if (g.storageDriver !== undefined && !isDriverName(g.storageDriver)) {
    throw new InvalidArgumentError(`unknown storage driver ${JSON.stringify(g.storageDriver)}: use overlay or native`);
  }
  const compressedBlobs = storageOpts(g.storageOpt);
  return Cairn.open({
    // each command is a process that ends when it is done (bin/cairn.js)
    endsWithProcess: true,
    ...(g.root !== undefined ? { root: g.root } : {}),
    ...(g.storageDriver !== undefined ? { storageDriver: g.storageDriver } : {}),
    ...(compressedBlobs !== undefined ? { compressedBlobs } : {}),
  });
}

/** `--storage-opt KEY=VALUE` (podman's flag): the one option known is compressed-blobs=keep|drop. */
function storageOpts(opts: readonly string[]): CompressedBlobs | undefined {
  let compressedBlobs: CompressedBlobs | undefined;
  for (const o of opts) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    const value = eq < 0 ? '' : o.slice(eq + 1);
    if (key !== 'compressed-blobs') throw new InvalidArgumentError(`unknown storage option ${JSON.stringify(key)}: the one known is compressed-blobs=keep|drop`);
    if (value !== 'keep' && value !== 'drop') throw new InvalidArgumentError(`invalid storage option ${JSON.stringify(o)}: compressed-blobs is keep or drop`);
    compressedBlobs = value;
  }
  return compressedBlobs;
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

/** The command as Docker's hints name it: `cairn stop`, `cairn container stop`. */
export function commandPathOf(cmd: Command): string {
  const words: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) words.unshift(c.name());
  return ['cairn', ...words].join(' ');
}

/**
 * A flag's value refused as Docker's flag parser (pflag) refuses it: `invalid argument "V" for
 * "FLAG" flag: ...` and the help hint, bare, exit 125.
 */
export function flagError(cmd: Command, flag: string, value: string, message: string): CairnError {
  return new CairnError('usage', `${flagValueMessage(flag, value, message)}\nSee '${commandPathOf(cmd)} --help'.`, { bare: true });
}

/** An int flag's value as pflag reads it (strconv.ParseInt(s, 0, 64)); its error as pflag says it. */
export function intFlag(cmd: Command, flag: string, value: string): number {
  try {
    return parseGoInt(value);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw flagError(cmd, flag, value, e.message);
    throw e;
  }
}

/** Docker's CLI refuses a terminal for a container when its own input is none (CheckTty): said bare, exit 1. */
export function checkTty(attachStdin: boolean, tty: boolean): void {
  if (attachStdin && tty && !process.stdin.isTTY) throw new CairnError('failed-precondition', 'the input device is not a TTY', { bare: true });
}
