/**
 * Errors Docker's CLI meets on the host itself — a file it cannot open, stat or rename, an
 * output path it refuses — printed as Go prints them (`open PATH: no such file or directory`),
 * bare: without the `Error: ` of the errors cairn's library reports, exit 1.
 */
import { CairnError } from '../errors.js';

/** A host-side failure said bare (see the module comment). */
export class HostError extends CairnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('failed-precondition', message, options);
    this.name = 'HostError';
  }
}

/** The errno text of a Node system error as Go prints it ("no such file or directory"): libuv's message without its code and call. */
export function errnoText(e: unknown): string {
  const m = /^E[A-Z0-9]+: ([^,]+)/.exec(e instanceof Error ? e.message : String(e));
  return m ? m[1]! : e instanceof Error ? e.message : String(e);
}

/** Go's *PathError text: `OP PATH: errno text`. */
export function pathError(op: string, path: string, e: unknown): HostError {
  return new HostError(`${op} ${path}: ${errnoText(e)}`, { cause: e });
}

/** Run a command's body; a HostError is printed bare and exits 1, anything else goes on to the CLI's handler. */
export async function sayingHostErrors(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof HostError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exitCode = e.exitCode;
  }
}
