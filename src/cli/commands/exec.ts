/**
 * `cairn exec [OPTIONS] CONTAINER COMMAND [ARG...]`: a command in a running container; its
 * output here, its exit code ours (126 when it cannot be invoked, 127 when not found, as the
 * runtime's error says); `-d` leaves it running in the container.
 */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { envFromFiles } from '../container-flags.js';
import { withCairn } from '../context.js';

interface ExecFlags {
  detach?: boolean;
  env: string[];
  envFile: string[];
  interactive?: boolean;
  privileged?: boolean;
  tty?: boolean;
  user?: string;
  workdir?: string;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export async function run(program: Command, cmd: Command, container: string, args: string[]): Promise<void> {
  const o = cmd.opts<ExecFlags>();
  if (o.workdir !== undefined && o.workdir !== '' && !o.workdir.startsWith('/')) throw new CairnError('usage', `the working directory '${o.workdir}' is invalid, it needs to be an absolute path`);
  await withCairn(program, async (cairn) => {
    const opts = {
      args,
      env: [...envFromFiles(o.envFile), ...o.env],
      ...(o.user !== undefined ? { user: o.user } : {}),
      ...(o.workdir !== undefined ? { workdir: o.workdir } : {}),
      tty: o.tty ?? false,
    };
    const tty = (o.tty ?? false) && !o.detach;
    const proc = await cairn.exec(container, opts, o.detach ? 'ignore' : tty ? 'inherit' : 'pipe', o.detach ?? false);
    const forward = (sig: NodeJS.Signals) => proc.signal(sig);
    for (const s of FORWARDED) process.on(s, forward);
    try {
      if (proc.stdout) proc.stdout.pipe(process.stdout, { end: false });
      if (proc.stderr) proc.stderr.pipe(process.stderr, { end: false });
      if (proc.stdin) {
        if (o.interactive) process.stdin.pipe(proc.stdin);
        else proc.stdin.end();
      }
      process.exitCode = await proc.wait();
    } finally {
      for (const s of FORWARDED) process.off(s, forward);
      if (o.interactive) process.stdin.unpipe();
      process.stdin.destroy();
    }
  });
}
