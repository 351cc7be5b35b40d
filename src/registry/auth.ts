/**
 * Registry authentication (the distribution spec's token flow, as Docker does it): a 401 names
 * a challenge in `WWW-Authenticate`; `Basic` is answered with the credentials themselves,
 * `Bearer realm=…,service=…,scope=…` with a token fetched from the realm (with the credentials,
 * if any, as basic auth; anonymously otherwise) for exactly the scopes the operation needs.
 * A token is kept for its scopes and reused until it expires. Credentials never leave for
 * another host: the token realm gets them only because the registry named it.
 */
import type { Credentials } from './credentials.js';
import { type HttpResponse, RegistryError, readBody, send, type TlsOptions } from './http.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse a `WWW-Authenticate` value: one or more `Scheme k="v", k2=v2` challenges. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  const out: Challenge[] = [];
  let i = 0;
  const n = text.length;
  const skipWs = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  while (i < n) {
    skipWs();
    if (text[i] === ',') {
      i++;
      continue;
    }
    const m = /^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*/.exec(text.slice(i));
    if (!m) break;
    const scheme = m[0];
    i += scheme.length;
    const params: Record<string, string> = {};
    // parameters until the next scheme (a token not followed by '=')
    for (;;) {
      skipWs();
      const k = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*/.exec(text.slice(i));
      if (!k) break;
      i += k[0].length;
      let v = '';
      if (text[i] === '"') {
        i++;
        while (i < n && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < n) i++;
          v += text[i];
          i++;
        }
        i++; // closing quote
      } else {
        const t = /^[^,\s]*/.exec(text.slice(i))![0];
        v = t;
        i += t.length;
      }
      params[k[1]!.toLowerCase()] = v;
      skipWs();
      if (text[i] === ',') i++;
    }
    out.push({ scheme: scheme.toLowerCase(), params });
  }
  return out;
}

/** `repository:NAME:pull,push` — what a token is asked for. */
export function repositoryScope(repo: string, actions: readonly string[]): string {
  return `repository:${repo}:${actions.join(',')}`;
}

interface Token {
  value: string;
  expires: number;
}

/** The authorization state for one registry host: its credentials, and tokens by scope. */
export class Authenticator {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, Token>();
  /** Tokens being fetched, by scope: calls made at once (a push's layer checks) share one request. */
  private readonly fetching = new Map<string, Promise<Token>>();

  constructor(
    readonly host: string,
    private readonly credentials: Credentials | undefined,
    private readonly tls: TlsOptions | undefined,
  ) {}

  /** The Authorization header for a request needing `scopes`, when one is known to be needed. */
  async header(scopes: readonly string[]): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') return this.basic();
    if (c.scheme === 'bearer') {
      const key = [...scopes].sort().join(' ');
      const t = this.tokens.get(key);
      if (t && t.expires > Date.now() + 10_000) return `Bearer ${t.value}`;
      let fetching = this.fetching.get(key);
      if (fetching === undefined) {
        fetching = this.fetchToken(c, scopes).finally(() => this.fetching.delete(key));
        this.fetching.set(key, fetching);
      }
      const token = await fetching;
      this.tokens.set(key, token);
      return `Bearer ${token.value}`;
    }
    return undefined;
  }

  /**
   * A 401 came back: remember its challenge. Returns whether a retry with new authorization can
   * help (a challenge cairn can answer that differs from what was sent).
   */
  onUnauthorized(res: HttpResponse, scopes: readonly string[], sent: string | undefined): boolean {
    const all = parseChallenges(res.headers['www-authenticate']);
    const c = all.find((x) => x.scheme === 'bearer') ?? all.find((x) => x.scheme === 'basic');
    if (!c) return false;
    if (c.scheme === 'bearer' && !c.params.realm) return false;
    if (c.scheme === 'basic' && !this.credentials) return false;
    const before = this.challenge;
    this.challenge = c;
    if (sent === undefined) return true;
    if (c.scheme === 'bearer') {
      // a token that was refused: drop it; retry only if the challenge asks for more than it had
      this.tokens.delete([...scopes].sort().join(' '));
      return before === undefined || before.scheme !== 'bearer' || before.params.scope !== c.params.scope;
    }
    return before === undefined || before.scheme !== 'basic';
  }

  private basic(): string | undefined {
    if (!this.credentials) return undefined;
    return `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
  }

  private async fetchToken(c: Challenge, scopes: readonly string[]): Promise<Token> {
    let realm: URL;
    try {
      realm = new URL(c.params.realm!);
    } catch {
      throw new RegistryError(`${this.host}: the registry names an invalid token realm ${JSON.stringify(c.params.realm)}`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new RegistryError(`${this.host}: unsupported token realm ${realm.href}`);
    if (c.params.service) realm.searchParams.set('service', c.params.service);
    const wanted = scopes.length > 0 ? scopes : c.params.scope ? [c.params.scope] : [];
    for (const s of wanted) realm.searchParams.append('scope', s);
    if (this.credentials?.username) realm.searchParams.set('account', this.credentials.username);
    const headers: Record<string, string> = {};
    const basic = this.basic();
    if (basic) headers.Authorization = basic;
    const res = await send({ method: 'GET', url: realm, headers, ...(this.tls && realm.host === this.host ? { tls: this.tls } : {}) });
    const body = await readBody(res, 1 << 20, `token from ${realm.origin}${realm.pathname}`);
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(`${this.host}: unauthorized: authentication required${this.credentials ? ' (the credentials were refused)' : ''}`, { status: res.status });
    }
    if (res.status !== 200) throw new RegistryError(`${this.host}: the token server answered ${res.status} ${statusText(res.status)}`, { status: res.status });
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new RegistryError(`${this.host}: the token server answered something that is not JSON`);
    }
    const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
    const value = typeof o.token === 'string' && o.token !== '' ? o.token : typeof o.access_token === 'string' ? o.access_token : '';
    if (value === '' || /[\r\n]/.test(value)) throw new RegistryError(`${this.host}: the token server answered without a token`);
    const ttl = typeof o.expires_in === 'number' && o.expires_in > 0 ? o.expires_in : 60;
    return { value, expires: Date.now() + ttl * 1000 };
  }
}

export function statusText(status: number): string {
  return (
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 416: 'Range Not Satisfiable', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' } as Record<number, string>
  )[status] ?? '';
}
