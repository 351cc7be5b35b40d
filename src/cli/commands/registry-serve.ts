/**
 * `cairn registry serve [--addr HOST:PORT] [--read-only]`: the store served as a registry until
 * SIGINT or SIGTERM; one line on stderr says where it listens and what it serves.
 */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { withCairn } from '../context.js';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ addr: string; readOnly?: boolean; htpasswd?: string; tlsCert?: string; tlsKey?: string }>();
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new CairnError('usage', '--tls-cert and --tls-key go together');
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:]*)):(\d{1,5})$/.exec(o.addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new CairnError('usage', `invalid --addr ${JSON.stringify(o.addr)}: HOST:PORT, e.g. 127.0.0.1:5000`);
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!);
  await withCairn(program, async (cairn) => {
    const tls = o.tlsCert !== undefined && o.tlsKey !== undefined;
    const server = await cairn.serveRegistry(host, port, {
      ...(o.readOnly ? { readOnly: true } : {}),
      ...(o.htpasswd !== undefined ? { htpasswdFile: o.htpasswd } : {}),
      ...(tls ? { tlsCertFile: o.tlsCert!, tlsKeyFile: o.tlsKey! } : {}),
    });
    const shown = server.address.family === 'IPv6' ? `[${server.address.address}]` : server.address.address;
    const notes = [o.readOnly ? 'read-only' : '', o.htpasswd !== undefined ? `users of ${o.htpasswd}` : ''].filter((x) => x !== '');
    const repos = `${server.repositories} ${server.repositories === 1 ? 'repository' : 'repositories'}`;
    process.stderr.write(`cairn registry: serving the store at ${cairn.root} (${repos}) on ${tls ? 'https' : 'http'}://${shown}:${server.address.port}${notes.length ? ` (${notes.join(', ')})` : ''}\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
  });
}

