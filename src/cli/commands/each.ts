/**
 * Docker's way with commands over several containers (`stop`, `kill`, `rm`, `wait`, `pause`,
 * `unpause`, `start`): each is done in turn and what went is printed as it goes; one that fails
 * does not stop the rest; the errors are said after them all (Docker's CLI joins them into one
 * error), or — `start` — each as it happens and then one line naming the containers that failed;
 * the exit code is 1 if any failed. `rm -f` says a container that is not there but does not
 * fail for it.
 */
import { CairnError, NotFoundError, errorLine } from '../../errors.js';

export interface EachOptions {
  /** Said after the errors, naming the containers that failed (Docker's `start`); errors are then said at once. */
  summary?: (failed: readonly string[]) => string;
  /** Errors of this kind are said (at once) but are no failure (Docker's `rm -f` of a container that is not there). */
  forgive?: (e: CairnError) => boolean;
}

export async function eachContainer(refs: readonly string[], fn: (ref: string) => Promise<void>, opts: EachOptions = {}): Promise<void> {
  const failed: string[] = [];
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      await fn(ref);
    } catch (e) {
      if (!(e instanceof CairnError)) throw e;
      if (opts.forgive?.(e) || opts.summary !== undefined) process.stderr.write(`${errorLine(e)}\n`);
      else errors.push(errorLine(e));
      if (!opts.forgive?.(e)) failed.push(ref);
    }
  }
  if (errors.length > 0) process.stderr.write(errors.map((l) => `${l}\n`).join(''));
  if (failed.length > 0 && opts.summary !== undefined) process.stderr.write(`Error: ${opts.summary(failed)}\n`);
  if (failed.length > 0) process.exitCode = 1;
}

/** `rm -f`: a container that is not there is said, and is no failure. */
export const forgiveMissing = (e: CairnError): boolean => e instanceof NotFoundError;
