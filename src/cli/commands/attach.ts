/**
 * `cairn attach [--no-stdin] [--detach-keys K] CONTAINER`: this terminal joined to a running
 * container conmon holds, until it exits (its exit code ours) or the detach keys are typed.
 */
import type { Command } from 'commander';
import { checkTty, withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, ref: string): Promise<void> {
  const o = cmd.opts<{ stdin: boolean; detachKeys?: string }>();
  await withCairn(program, async (cairn) => {
    const rec = await cairn.container(ref);
    // Docker's CLI: a terminal container needs one here (after the state's refusals)
    if (rec.state.status === 'running') checkTty(o.stdin, rec.settings.create.tty);
    const withStdin = o.stdin && rec.settings.create.openStdin;
    const r = await cairn.attach(ref, {
      ...(withStdin ? { stdin: process.stdin } : {}),
      stdout: process.stdout,
      stderr: process.stderr,
      tty: rec.settings.create.tty,
      ...(o.detachKeys !== undefined ? { detachKeys: o.detachKeys } : {}),
    });
    if (withStdin) process.stdin.destroy();
    process.exitCode = r.detached ? 0 : (r.exitCode ?? 0);
  });
}
