/**
 * Build secrets: `cairn build --secret id=NAME,src=FILE` or `--secret id=NAME,env=VAR`, read as
 * Docker 20.10's CLI reads them (cli/command/image/build_buildkit.go parseSecret, then
 * BuildKit's secretsprovider.NewStore):
 *
 * - the value is CSV (`"src=a,b"` quoted); fields `type=file|env`, `id`, `src`/`source`, `env`;
 *   keys case-insensitive, anything else refused ("unexpected key 'x' in 'x=1'");
 * - `type=env` with `src=` but no `env=` names the variable with `src`;
 * - with neither `src` nor `env`, the id names an environment variable when one is set, else a
 *   file;
 * - a file is checked when the flag is read (it must exist and hold at most 500 KiB) and read
 *   when a RUN mounts it; a variable is read when a RUN mounts it (unset: an empty secret, as
 *   BuildKit's os.Getenv gives).
 *
 * The later of two secrets with the same id wins (NewStore's map). Values are held only in
 * memory and in the tmpfs a RUN sees them in (run-mounts.ts): never in the store.
 */
import { readFileSync, statSync } from 'node:fs';
import { InvalidArgumentError, errnoCode } from '../errors.js';
import { parseCsvRecord } from '../dockerfile/instructions.js';

/** One `--secret`: where its value comes from. */
export interface SecretSource {
  id: string;
  /** A file on this host (read when a RUN mounts the secret). */
  file?: string;
  /** An environment variable of the cairn process. */
  env?: string;
}

/** BuildKit's limit on a secret's size (secretsprovider.MaxSecretSize). */
export const MAX_SECRET_SIZE = 500 * 1024;

/** Parse one `--secret` value; the file (if any) is checked now. */
export function parseSecretSpec(value: string, env: NodeJS.ProcessEnv = process.env): SecretSource {
  let fields: string[];
  try {
    fields = parseCsvRecord(value);
  } catch (e) {
    throw new InvalidArgumentError(`failed to parse csv secret: ${(e as Error).message}`, { cause: e });
  }
  let type: string | undefined;
  let id = '';
  let file = '';
  let envName = '';
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq < 0) throw new InvalidArgumentError(`invalid field '${field}' must be a key=value pair`);
    const key = field.slice(0, eq).toLowerCase();
    const v = field.slice(eq + 1);
    switch (key) {
      case 'type':
        if (v !== 'file' && v !== 'env') throw new InvalidArgumentError(`unsupported secret type ${JSON.stringify(v)}`);
        type = v;
        break;
      case 'id':
        id = v;
        break;
      case 'source':
      case 'src':
        file = v;
        break;
      case 'env':
        envName = v;
        break;
      default:
        throw new InvalidArgumentError(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (type === 'env' && envName === '') {
    envName = file;
    file = '';
  }
  if (id === '') throw new InvalidArgumentError('secret missing ID');
  if (envName === '' && file === '') {
    if (env[id] !== undefined) envName = id;
    else file = id;
  }
  if (envName !== '') return { id, env: envName };
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    throw new InvalidArgumentError(`failed to stat ${file}: ${statWhy(e)}`, { cause: e });
  }
  if (size > MAX_SECRET_SIZE) throw new InvalidArgumentError(`secret ${id} too big. max size 500KB`);
  return { id, file };
}

function statWhy(e: unknown): string {
  switch (errnoCode(e)) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
      return 'permission denied';
    case 'ENOTDIR':
      return 'not a directory';
    default:
      return (e as Error).message;
  }
}

/** The secret `id` among `secrets` (the last given wins), or undefined. */
export function findSecret(secrets: readonly SecretSource[], id: string): SecretSource | undefined {
  for (let i = secrets.length - 1; i >= 0; i--) if (secrets[i]!.id === id) return secrets[i];
  return undefined;
}

/** A secret's bytes, read now. */
export function readSecret(secret: SecretSource, env: NodeJS.ProcessEnv = process.env): Buffer {
  if (secret.env !== undefined) return Buffer.from(env[secret.env] ?? '');
  const file = secret.file!;
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw new InvalidArgumentError(`secret ${secret.id}: cannot read ${file}: ${statWhy(e)}`, { cause: e });
  }
  if (data.length > MAX_SECRET_SIZE) throw new InvalidArgumentError(`secret ${secret.id} too big. max size 500KB`);
  return data;
}
