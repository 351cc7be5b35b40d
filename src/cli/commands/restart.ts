/**
 * `cairn restart [-t SECONDS] CONTAINER...`: each container stopped (a running one: its stop
 * signal, then SIGKILL after the timeout) and started again under conmon, whatever its state
 * was; each name printed as given, Docker's errors after them (exit 1).
 */
import type { Command } from 'commander';
import { intFlag, out, withCairn } from '../context.js';
import { eachContainer } from './each.js';

export async function run(program: Command, cmd: Command, refs: string[]): Promise<void> {
  const o = cmd.opts<{ time?: string }>();
  const time = o.time === undefined ? undefined : intFlag(cmd, '-t, --time', o.time);
  await withCairn(program, (cairn) =>
    eachContainer(refs, async (ref) => {
      const started = await cairn.restartContainer(ref, time);
      for (const w of started.warnings) process.stderr.write(`WARNING: ${w}\n`);
      out(`${ref}\n`);
    }),
  );
}
