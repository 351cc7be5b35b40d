/**
 * `cairn registry serve [--addr HOST:PORT] [--read-only]`: the store served as a registry until
 * SIGINT or SIGTERM; one line on stderr says where it listens and what it serves.
 */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { withCairn } from '../context.js';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ addr: string; readOnly?: boolean }>();
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:]*)):(\d{1,5})$/.exec(o.addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new CairnError('usage', `invalid --addr ${JSON.stringify(o.addr)}: HOST:PORT, e.g. 127.0.0.1:5000`);
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!);
  await withCairn(program, async (cairn) => {
    const server = await cairn.serveRegistry(host, port, { ...(o.readOnly ? { readOnly: true } : {}) });
    const shown = server.address.family === 'IPv6' ? `[${server.address.address}]` : server.address.address;
    process.stderr.write(`cairn registry: serving the store at ${cairn.root} on http://${shown}:${server.address.port}${o.readOnly ? ' (read-only)' : ''}\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
  });
}
