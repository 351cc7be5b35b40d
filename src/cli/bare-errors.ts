/**
 * Errors Docker's CLI finds itself, before or without asking its daemon — a file it cannot
 * open, stat or rename, an output path it refuses, a name its client does not parse — printed
 * as it prints them, bare (`open PATH: no such file or directory`, as Go says an errno):
 * without the `Error: ` of the errors cairn's library reports (the daemon's, in Docker), exit 1.
 * They are CairnErrors with the `bare` flag (errors.ts), the one way any module marks an error
 * to be printed as it is; the CLI's handler prints them and exits with their code.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { CairnError } from '../errors.js';

/** A failure Docker's CLI says bare (see the module comment). */
export function bareError(message: string, options?: { cause?: unknown; exitCode?: number }): CairnError {
  return new CairnError('failed-precondition', message, { ...options, bare: true });
}

/** The errno text of a Node system error as Go prints it ("no such file or directory"): libuv's message without its code and call. */
export function errnoText(e: unknown): string {
  const m = /^E[A-Z0-9]+: ([^,]+)/.exec(e instanceof Error ? e.message : String(e));
  return m ? m[1]! : e instanceof Error ? e.message : String(e);
}

/**
 * A file Docker's CLI hands to its daemon as a stream (load -i, import): opened, then read —
 * a directory opens and fails on the read, as Go says it (`read PATH: is a directory`).
 */
export async function checkReadable(path: string): Promise<void> {
  let st;
  try {
    await access(path, constants.R_OK);
    st = await stat(path);
  } catch (e) {
    throw pathError('open', path, e);
  }
  if (st.isDirectory()) throw bareError(`read ${path}: is a directory`);
}

/** Go's *PathError text: `OP PATH: errno text`. */
export function pathError(op: string, path: string, e: unknown): CairnError {
  return bareError(`${op} ${path}: ${errnoText(e)}`, { cause: e });
}
