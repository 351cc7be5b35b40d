/** `cairn build --check`: the Dockerfile frontend's checks, without building. */
import type { Command } from 'commander';
import { UnsupportedError } from '../../errors.js';

export async function run(_program: Command, cmd: Command, _context: string): Promise<void> {
  const o = cmd.opts<{ check?: boolean }>();
  if (!o.check) throw new UnsupportedError('build: only --check is implemented in this version');
  throw new UnsupportedError('build --check: not wired yet');
}
