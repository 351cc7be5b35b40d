/**
 * `cairn healthcheck run CONTAINER` (podman's command): the container's health check once,
 * recorded for `ps` and `inspect`; exit 0 when healthy (or still starting), else "unhealthy"
 * and exit 1.
 */
import type { Command } from 'commander';
import { out, withCairn } from '../context.js';

export async function run(program: Command, _cmd: Command, ref: string): Promise<void> {
  await withCairn(program, async (cairn) => {
    const health = await cairn.healthcheck(ref);
    if (health.Status === 'unhealthy' || health.Log[health.Log.length - 1]!.ExitCode !== 0) {
      out('unhealthy\n');
      process.exitCode = 1;
    }
  });
}
