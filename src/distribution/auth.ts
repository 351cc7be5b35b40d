/**
 * Basic authentication for `registry serve` from an htpasswd file (bcrypt entries, as
 * `htpasswd -B` writes them and as Distribution accepts them). Every request must carry the
 * credentials of a user in the file; a request without them is answered 401 with a Basic
 * challenge (what `docker login` and the clients expect). A verified pair is remembered (by a
 * hash of it) so that bcrypt's deliberate cost is paid once per client, not per request.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { errnoCode, InvalidArgumentError } from '../errors.js';
import { ApiError } from './api.js';

/** Verified pairs remembered at most (a client's pair is checked once while it stays). */
const REMEMBERED_MAX = 1024;
const BCRYPT_RE = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

export class Htpasswd {
  private readonly remembered = new Set<string>();

  private constructor(private readonly users: ReadonlyMap<string, string>) {}

  /** Read `file`; each entry must be `user:bcrypt-hash`. */
  static load(file: string): Htpasswd {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new InvalidArgumentError(`htpasswd file ${file}: ${errnoCode(e) === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    const users = new Map<string, string>();
    for (const [i, raw] of text.split('\n').entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const colon = line.indexOf(':');
      const user = line.slice(0, colon);
      const hash = line.slice(colon + 1);
      if (colon <= 0 || !BCRYPT_RE.test(hash)) throw new InvalidArgumentError(`htpasswd file ${file}, line ${i + 1}: not a user with a bcrypt hash (make entries with htpasswd -B)`);
      users.set(user, hash);
    }
    if (users.size === 0) throw new InvalidArgumentError(`htpasswd file ${file}: no users`);
    return new Htpasswd(users);
  }

  /** Throw UNAUTHORIZED (401) unless `authorization` names a user of the file with the right password. */
  async check(authorization: string | undefined): Promise<void> {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
    if (!m) throw new ApiError('UNAUTHORIZED', 'authentication required');
    const pair = Buffer.from(m[1]!, 'base64').toString('utf8');
    const key = createHash('sha256').update(pair).digest('hex');
    if (this.remembered.has(key)) return;
    const colon = pair.indexOf(':');
    const hash = colon > 0 ? this.users.get(pair.slice(0, colon)) : undefined;
    if (hash === undefined || !(await bcrypt.compare(pair.slice(colon + 1), hash))) throw new ApiError('UNAUTHORIZED', 'incorrect username or password');
    if (this.remembered.size >= REMEMBERED_MAX) this.remembered.clear();
    this.remembered.add(key);
  }
}
