/**
 * `cairn login [-u USER] [-p PASS | --password-stdin] [SERVER]` and `cairn logout [SERVER]`:
 * Docker's flags, prompts and messages; the password is never printed.
 */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { login, loginServer, logout } from '../../registry/login.js';
import { out } from '../context.js';
// static: the CLI runs from a bundle compiled by vm.Script, which has no dynamic import of node's modules
import { createInterface } from 'node:readline';

interface LoginFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  authfile?: string;
  tlsVerify?: boolean;
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}

/** Ask on the terminal; the password without echo. */
async function prompt(question: string, secret: boolean): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  if (secret) {
    const w = rl as unknown as { _writeToOutput?: (s: string) => void };
    w._writeToOutput = (s: string) => {
      if (s.startsWith(question)) process.stdout.write(question);
    };
  }
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
    if (secret) process.stdout.write('\n');
  }
}

export async function run(_program: Command, cmd: Command, server?: string): Promise<void> {
  const o = cmd.opts<LoginFlags>();
  if (o.password !== undefined && o.passwordStdin) throw new CairnError('usage', '--password and --password-stdin are mutually exclusive', { exitCode: 1 });
  let username = o.username;
  let password = o.password;
  if (o.password !== undefined) process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (o.passwordStdin) {
    if (!username) throw new CairnError('usage', 'Must provide --username with --password-stdin', { exitCode: 1 });
    password = (await readStdin()).replace(/\r?\n$/, '');
  }
  if (username === undefined || password === undefined) {
    if (!process.stdin.isTTY) throw new CairnError('usage', 'Cannot perform an interactive login from a non TTY device', { exitCode: 1 });
    if (username === undefined) username = (await prompt('Username: ', false)).trim();
    if (password === undefined) password = await prompt('Password: ', true);
  }
  if (!username) throw new CairnError('usage', 'Username is required', { exitCode: 1 });
  if (!password) throw new CairnError('usage', 'Password is required', { exitCode: 1 });
  const host = loginServer(server);
  const file = await login(server, { username, password }, { ...(o.authfile ? { authfile: o.authfile } : {}), ...(o.tlsVerify === false ? { insecure: [host] } : {}) });
  out(`WARNING! Your password will be stored unencrypted in ${file}.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\nLogin Succeeded\n`);
}

export async function runLogout(_program: Command, cmd: Command, server?: string): Promise<void> {
  const o = cmd.opts<{ authfile?: string }>();
  const r = logout(server, o.authfile ? { authfile: o.authfile } : {});
  const shown = r.host === 'docker.io' ? 'https://index.docker.io/v1/' : r.host;
  out(r.removed ? `Removing login credentials for ${shown}\n` : `Not logged in to ${shown}\n`);
}
