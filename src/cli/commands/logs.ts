/**
 * `cairn logs [-f] [--tail N] [-t] [--since T] [--until T] CONTAINER`: what the container wrote,
 * stdout here to stdout and stderr to stderr, as Docker prints it.
 */
import type { Command } from 'commander';
import { writeLogLines } from '../../container/logfile.js';
import { parseLogTime } from '../../container/logtime.js';
import { withCairn } from '../context.js';

interface LogsFlags {
  follow?: boolean;
  tail: string;
  timestamps?: boolean;
  since?: string;
  until?: string;
  details?: boolean;
}

export async function run(program: Command, cmd: Command, ref: string): Promise<void> {
  const o = cmd.opts<LogsFlags>();
  const now = new Date();
  // Docker's daemon reads --tail with strconv.Atoi: anything else (`all`, `x`) means every line, as does a negative count
  const tail = /^[+-]?\d+$/.test(o.tail) ? Number(o.tail) : undefined;
  const since = o.since !== undefined && o.since !== '' ? parseLogTime(o.since, now, 'since') : undefined;
  const until = o.until !== undefined && o.until !== '' ? parseLogTime(o.until, now, 'until') : undefined;
  await withCairn(program, async (cairn) => {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    try {
      const lines = await cairn.logs(ref, {
        ...(tail !== undefined && tail >= 0 ? { tail } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        follow: o.follow ?? false,
        signal: stop.signal,
      });
      await writeLogLines(lines, { stdout: process.stdout, stderr: process.stderr }, { timestamps: o.timestamps ?? false, details: o.details ?? false });
    } finally {
      process.off('SIGINT', onSignal);
    }
  });
}
