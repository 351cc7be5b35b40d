/**
 * Docker's way with commands over several containers (`stop`, `kill`, `rm`, `wait`, `start`):
 * each is done in turn; one that fails is said on stderr and the rest still go; the exit code
 * is 1 if any failed.
 */
import { CairnError, errorLine } from '../../errors.js';

export async function eachContainer(refs: readonly string[], fn: (ref: string) => Promise<void>): Promise<void> {
  let failed = false;
  for (const ref of refs) {
    try {
      await fn(ref);
    } catch (e) {
      if (!(e instanceof CairnError)) throw e;
      process.stderr.write(`${errorLine(e)}\n`);
      failed = true;
    }
  }
  if (failed) process.exitCode = 1;
}
