/**
 * A client of one registry (the OCI distribution spec, as Docker speaks it): which scheme it
 * answers on, authorization per operation's scope, redirects, retries, and the calls the
 * registry source and sink need — manifests, blobs (downloads resumed with Range requests),
 * uploads (streamed, chunked, cross-repository mounts) and tags.
 *
 * Policy, as Docker's:
 * - https with the system's CAs plus a registry's own from `certs.d/HOST[:PORT]/` (`*.crt`,
 *   and a client certificate `*.cert` + `*.key`), looked for in /etc/docker/certs.d,
 *   /etc/containers/certs.d and /etc/cairn/certs.d;
 * - plain http (or an unverified certificate) only for an insecure registry: a loopback host
 *   (127.0.0.0/8, ::1, localhost) or one named insecure by the caller; https is tried first;
 * - a redirect is followed (at most 10) but never from https to http, and credentials are
 *   never sent to another host than the registry's (a blob's storage redirect gets none);
 * - 5xx answers and dropped connections are retried with backoff (bounded) where the request
 *   can be repeated; a download that breaks off resumes from the bytes it has.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { type Digest, digestOf } from '../digest/digest.js';
import { errnoCode, NotFoundError } from '../errors.js';
import { pieces } from '../pieces.js';
import { Authenticator, repositoryScope, statusText } from './auth.js';
import type { Credentials } from './credentials.js';
import { discard, type HttpRequest, type HttpResponse, RegistryError, readBody, send, type TlsOptions } from './http.js';

/** The most bytes a manifest or index may have (Docker's limit is 4 MiB too). */
export const MANIFEST_MAX = 4 << 20;
const REDIRECT_MAX = 10;
/** Bytes sent per PATCH of an upload, kept until the registry has them (see upload). */
const UPLOAD_PIECE = 8 << 20;
/** Bytes passed on at once from a download (see blob). */
const CHUNK = 1 << 20;

export interface RegistryOptions {
  /** Credentials to use (else none: anonymous). */
  credentials?: Credentials;
  /** Hosts (`host[:port]`) allowed plain http and unverified certificates, beside loopback ones. */
  insecure?: readonly string[];
  /** Where `HOST[:PORT]/` certificate directories are looked for. */
  certsDirs?: readonly string[];
  /** Abort a request when no byte moves for this long (default 60 s). */
  idleTimeoutMs?: number;
  /** How often a failed request or a broken download is tried again (default 4). */
  retries?: number;
  /** First backoff delay in ms (doubles each time; default 250). */
  backoffMs?: number;
  /**
   * What an insecure registry was found to speak last time (`http:` or `https:`): tried first,
   * so a plain-http loopback registry costs no TLS attempt (and no TLS set-up) on each
   * command; told when it changes. A wrong memory costs one failed attempt.
   */
  schemes?: SchemeMemory;
}

/** Remembered schemes of insecure registries, by host. */
export interface SchemeMemory {
  get(host: string): 'http:' | 'https:' | undefined;
  set(host: string, scheme: 'http:' | 'https:'): void;
}

export const DEFAULT_CERTS_DIRS = ['/etc/docker/certs.d', '/etc/containers/certs.d', '/etc/cairn/certs.d'];

/** Docker Hub's API host for the `docker.io` domain. */
export function apiHost(domain: string): string {
  return domain === 'docker.io' || domain === 'index.docker.io' ? 'registry-1.docker.io' : domain;
}

/** Whether Docker would treat this registry as insecure by default (loopback). */
export function isLoopback(host: string): boolean {
  let h = host;
  // The port goes: `[v6]:PORT`, or `name:PORT` (one colon; a bare IPv6 address has more). Told
  // apart without net.isIP, which on anything but an IPv4 address runs its IPv6 pattern, whose
  // first use (compiling it) costs ~3 ms of a pull or push.
  const colon = h.indexOf(':');
  if (h.startsWith('[')) h = h.slice(1, h.indexOf(']'));
  else if (colon > 0 && colon === h.lastIndexOf(':')) h = h.slice(0, colon);
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  return h === '::1';
}

function loadTls(host: string, dirs: readonly string[]): TlsOptions | undefined {
  const tls: TlsOptions = {};
  for (const base of dirs) {
    const dir = join(base, host.replace(/:/g, ':'));
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') continue;
      throw e;
    }
    for (const n of names.sort()) {
      if (n.endsWith('.crt')) (tls.ca ??= []).push(readFileSync(join(dir, n)));
      else if (n.endsWith('.cert')) {
        tls.cert = readFileSync(join(dir, n));
        tls.key = readFileSync(join(dir, n.replace(/\.cert$/, '.key')));
      }
    }
  }
  return tls.ca || tls.cert ? tls : undefined;
}

export interface Manifest {
  raw: Buffer;
  mediaType: string;
  digest: Digest;
}

/** One call: a path below the registry's base (or a whole URL from a Location), and its scopes. */
interface Call {
  method: HttpRequest['method'];
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | AsyncIterable<Uint8Array>;
  scopes: readonly string[];
  /** The request may be sent again (no streamed body). */
  repeatable?: boolean;
}

/**
 * Where a redirect answer leads (undefined when `res` is none): followed at most
 * {@link REDIRECT_MAX} times, never from https down to http. The answer's body is discarded.
 */
function redirectOf(method: string, url: URL, res: HttpResponse, hops: number): URL | undefined {
  if (res.status < 300 || res.status >= 400 || res.status === 304 || !res.headers.location) return undefined;
  discard(res);
  if (hops >= REDIRECT_MAX) throw new RegistryError(`${method} ${url.href}: stopped after ${REDIRECT_MAX} redirects`);
  const next = new URL(res.headers.location, url);
  if (url.protocol === 'https:' && next.protocol !== 'https:') {
    throw new RegistryError(`${method} ${url.href}: refused a redirect from https to ${next.protocol.replace(':', '')} (${next.origin})`);
  }
  return next;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class RegistryClient {
  private base: URL | undefined;
  private pinging: Promise<void> | undefined;
  private readonly auth: Authenticator;
  private readonly tls: TlsOptions | undefined;
  private readonly insecure: boolean;
  private readonly retries: number;
  private readonly backoffMs: number;

  /** `domain` as a reference names it (`docker.io`, `127.0.0.1:5000`). */
  constructor(
    readonly domain: string,
    private readonly opts: RegistryOptions = {},
  ) {
    const host = apiHost(domain);
    this.insecure = isLoopback(host) || (opts.insecure ?? []).includes(domain) || (opts.insecure ?? []).includes(host);
    const tls = loadTls(host, opts.certsDirs ?? DEFAULT_CERTS_DIRS);
    this.tls = this.insecure ? { ...(tls ?? {}), insecure: true } : tls;
    this.auth = new Authenticator(host, opts.credentials, this.tls);
    this.retries = opts.retries ?? 4;
    this.backoffMs = opts.backoffMs ?? 250;
  }

  /** The host requests go to. */
  get host(): string {
    return apiHost(this.domain);
  }

  /**
   * `GET /v2/`: find the scheme the registry answers on and its authentication challenge.
   * Throws when it cannot be reached, in Docker's words.
   */
  async ping(): Promise<void> {
    if (this.base) return;
    // calls made at once (a push's layer checks and its config) share one ping
    this.pinging ??= this.findScheme().finally(() => (this.pinging = undefined));
    return this.pinging;
  }

  private async findScheme(): Promise<void> {
    const known = this.insecure ? this.opts.schemes?.get(this.host) : undefined;
    const schemes: Array<'http:' | 'https:'> = this.insecure ? (known === 'http:' ? ['http:', 'https:'] : ['https:', 'http:']) : ['https:'];
    let last: unknown;
    for (const scheme of schemes) {
      const url = new URL(`${scheme}//${this.host}/v2/`);
      let res: HttpResponse;
      try {
        res = await send({ method: 'GET', url, ...(this.reqTls(url)) });
      } catch (e) {
        last = e;
        continue;
      }
      discard(res);
      // A remembered http tried first must answer as a registry does (/v2/: 200 or 401): a TLS
      // server that took over the port may answer plain http with a 400 of its own.
      if (scheme === 'http:' && known === 'http:' && schemes[0] === 'http:' && res.status !== 200 && res.status !== 401) continue;
      this.base = new URL(`${scheme}//${this.host}/`);
      if (this.insecure && scheme !== known) this.opts.schemes?.set(this.host, scheme);
      if (res.status === 401) this.auth.onUnauthorized(res, [], undefined);
      return;
    }
    throw last;
  }

  /** Whether the registry will take these credentials (login): a token or /v2/ with them. */
  async checkLogin(): Promise<void> {
    await this.ping();
    const res = await this.call({ method: 'GET', path: 'v2/', scopes: [], repeatable: true });
    discard(res);
    if (res.status === 401) throw new RegistryError(`${this.domain}: unauthorized: incorrect username or password`, { status: 401 });
    if (res.status !== 200) throw new RegistryError(`${this.domain}: login answered ${res.status} ${statusText(res.status)}`, { status: res.status });
  }

  private reqTls(url: URL): { tls?: TlsOptions } {
    return url.protocol === 'https:' && url.host === this.host && this.tls ? { tls: this.tls } : {};
  }

  /**
   * One call with authorization (asked again once on a 401), redirects followed by policy, and
   * 5xx answers or dropped connections retried with backoff when the call is repeatable.
   */
  private async call(c: Call): Promise<HttpResponse> {
    await this.ping();
    let attempt = 0;
    for (;;) {
      try {
        const res = await this.once(c);
        if (res.status >= 500 && c.repeatable && attempt < this.retries) {
          discard(res);
          await sleep(this.backoffMs * 2 ** attempt++);
          continue;
        }
        return res;
      } catch (e) {
        if (!c.repeatable || attempt >= this.retries || (e instanceof RegistryError && e.status !== undefined)) throw e;
        await sleep(this.backoffMs * 2 ** attempt++);
      }
    }
  }

  private async once(c: Call): Promise<HttpResponse> {
    let url = new URL(c.path, this.base);
    let authorization = await this.auth.header(c.scopes);
    let authRetried = false;
    for (let hops = 0; ; hops++) {
      const sameHost = url.host === this.host;
      const headers: Record<string, string> = { ...(c.headers ?? {}) };
      if (sameHost && authorization) headers.Authorization = authorization;
      const res = await send({
        method: c.method,
        url,
        headers,
        ...(c.body !== undefined ? { body: c.body } : {}),
        ...(this.opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.opts.idleTimeoutMs } : {}),
        ...this.reqTls(url),
      });
      if (res.status === 401 && sameHost && !authRetried && (c.repeatable || c.body === undefined)) {
        authRetried = true;
        const retry = this.auth.onUnauthorized(res, c.scopes, authorization);
        discard(res);
        if (!retry) throw new RegistryError(`${this.domain}: unauthorized: authentication required`, { status: res.status });
        authorization = await this.auth.header(c.scopes);
        continue;
      }
      const next = redirectOf(c.method, url, res, hops);
      if (next) {
        if (c.body !== undefined && !Buffer.isBuffer(c.body)) throw new RegistryError(`${c.method} ${url.href}: the registry redirected a streamed upload`);
        url = next;
        continue;
      }
      return res;
    }
  }

  /**
   * GET a URL outside the registry's API (a foreign layer's): no credentials, the client's
   * timeout, redirects followed by the same policy; from byte `offset` on when above 0.
   */
  private async getUrl(url: URL, offset: number): Promise<HttpResponse> {
    for (let hops = 0; ; hops++) {
      const res = await send({
        method: 'GET',
        url,
        headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
        ...(this.opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.opts.idleTimeoutMs } : {}),
      });
      const next = redirectOf('GET', url, res, hops);
      if (!next) return res;
      url = next;
    }
  }

  /** A registry's error answer as Docker words it: `manifest unknown: manifest unknown`. */
  private async failure(res: HttpResponse, what: string): Promise<RegistryError> {
    let detail = `${res.status} ${statusText(res.status)}`.trim();
    try {
      const body = await readBody(res, 64 << 10, what);
      const parsed = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown; message?: unknown }> };
      const e = parsed.errors?.[0];
      if (e && typeof e.code === 'string') {
        const code = e.code.toLowerCase().replace(/_/g, ' ');
        detail = typeof e.message === 'string' && e.message !== '' ? `${code}: ${e.message}` : code;
      }
    } catch {
      // not a distribution error body: the status says it
    }
    if (res.status === 401 || res.status === 403) return new RegistryError(`${what}: ${res.status === 401 ? 'unauthorized' : 'denied'}: ${detail}`, { status: res.status });
    return new RegistryError(`${what}: ${detail}`, { status: res.status });
  }

  /** GET a manifest or index by tag or digest; `accept` lists the media types wanted. */
  async manifest(repo: string, ref: string, accept: readonly string[], display: string): Promise<Manifest> {
    const res = await this.call({ method: 'GET', path: `v2/${repo}/manifests/${ref}`, headers: { Accept: accept.join(', ') }, scopes: [repositoryScope(repo, ['pull'])], repeatable: true });
    if (res.status === 404) {
      const err = await this.failure(res, `manifest for ${display} not found`);
      throw new NotFoundError(err.message);
    }
    if (res.status !== 200) throw await this.failure(res, `manifest for ${display}`);
    const raw = await readBody(res, MANIFEST_MAX, `manifest for ${display}`);
    const digest = digestOf(raw);
    if (ref.includes(':') && ref !== digest) throw new RegistryError(`manifest for ${display}: the registry sent content with digest ${digest}`);
    const header = res.headers['docker-content-digest'];
    if (typeof header === 'string' && header.startsWith('sha256:') && header !== digest) {
      throw new RegistryError(`manifest for ${display}: the registry says its digest is ${header}, its content's is ${digest}`);
    }
    const ct = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
    return { raw, mediaType: ct, digest };
  }

  /** Whether the repository has this blob (HEAD). */
  async hasBlob(repo: string, digest: Digest): Promise<boolean> {
    const res = await this.call({ method: 'HEAD', path: `v2/${repo}/blobs/${digest}`, scopes: [repositoryScope(repo, ['pull'])], repeatable: true });
    discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.failure(res, `blob ${digest} in ${this.domain}/${repo}`);
  }

  /** A small blob whole (a config): at most `max` bytes. */
  async blobBytes(repo: string, digest: Digest, max: number): Promise<Buffer> {
    const res = await this.call({ method: 'GET', path: `v2/${repo}/blobs/${digest}`, scopes: [repositoryScope(repo, ['pull'])], repeatable: true });
    if (res.status !== 200) throw await this.failure(res, `blob ${digest} of ${this.domain}/${repo}`);
    return readBody(res, max, `blob ${digest}`);
  }

  /**
   * A blob's bytes as a stream: when the connection breaks off, asked again from the byte it
   * stopped at (a Range request), at most `retries` times. The caller verifies the digest.
   */
  blob(repo: string, digest: Digest, size: number, first?: HttpResponse): AsyncGenerator<Uint8Array> {
    return this.ranged(digest, size, `blob ${digest} of ${this.domain}/${repo}`, (offset) => this.blobResponse(repo, digest, offset), first);
  }

  /**
   * The answer to a blob's GET (from byte `offset` on), its body not yet read: asked for ahead
   * of time, it is then handed to {@link blob} as its first answer.
   */
  blobResponse(repo: string, digest: Digest, offset = 0): Promise<HttpResponse> {
    return this.call({ method: 'GET', path: `v2/${repo}/blobs/${digest}`, headers: offset > 0 ? { Range: `bytes=${offset}-` } : {}, scopes: [repositoryScope(repo, ['pull'])], repeatable: true });
  }

  /**
   * A foreign layer's blob from one of the URLs its descriptor names (Windows base layers):
   * no credentials go there. The first request is made now, so that a URL that does not
   * answer throws here and the caller can try the next; the stream then resumes as {@link blob}'s.
   */
  async foreignBlob(url: URL, digest: Digest, size: number): Promise<AsyncGenerator<Uint8Array>> {
    const first = await this.getUrl(url, 0);
    if (first.status !== 200) {
      discard(first);
      throw new RegistryError(`${url.href}: ${first.status} ${statusText(first.status)}`.trim(), { status: first.status });
    }
    return this.ranged(digest, size, `blob ${digest} from ${url.href}`, (offset) => this.getUrl(url, offset), first);
  }

  /** The resumed download behind {@link blob} and {@link foreignBlob}: `request(offset)` asks from a byte on. */
  private async *ranged(digest: Digest, size: number, what: string, request: (offset: number) => Promise<HttpResponse>, first?: HttpResponse): AsyncGenerator<Uint8Array> {
    let got = 0;
    let failures = 0;
    let next = first;
    // The socket gives chunks of at most 64 KiB; every stage after this (hashing, gunzip, the
    // applier, the content-store writer) costs per chunk, so they are passed on ~1 MiB at a time.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = (): Buffer => {
      const b = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      return b;
    };
    for (;;) {
      const res = next ?? (await request(got));
      next = undefined;
      if (res.status === 404) throw new NotFoundError((await this.failure(res, `${what} not found`)).message);
      if (res.status !== 200 && res.status !== 206) throw await this.failure(res, what);
      // a server that ignores Range starts again from 0: skip what was already given
      let skip = got > 0 && res.status === 200 ? got : 0;
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          let c = chunk;
          if (skip > 0) {
            if (c.length <= skip) {
              skip -= c.length;
              continue;
            }
            c = c.subarray(skip);
            skip = 0;
          }
          got += c.length;
          if (got > size) throw new RegistryError(`blob ${digest}: the registry sent more than its ${size} bytes`);
          pending.push(c);
          pendingBytes += c.length;
          if (pendingBytes >= CHUNK) yield flush();
        }
        if (got >= size) {
          if (pendingBytes > 0) yield flush();
          return;
        }
        throw new RegistryError(`blob ${digest}: the connection closed after ${got} of ${size} bytes`);
      } catch (e) {
        if (e instanceof RegistryError && /more than its/.test(e.message)) throw e;
        if (++failures > this.retries) throw e instanceof RegistryError ? e : new RegistryError(`blob ${digest}: ${(e as Error).message}`, { cause: e });
        // what arrived before the break is good: passed on, and asked for from there
        if (pendingBytes > 0) yield flush();
        await sleep(this.backoffMs * 2 ** (failures - 1));
      }
    }
  }

  /** Try a cross-repository mount of `digest` from `from`: true when the registry mounted it. */
  async mountBlob(repo: string, digest: Digest, from: string): Promise<boolean> {
    const res = await this.call({
      method: 'POST',
      path: `v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      scopes: [repositoryScope(repo, ['pull', 'push']), repositoryScope(from, ['pull'])],
      repeatable: true,
    });
    discard(res);
    if (res.status === 201) return true;
    if (res.status === 202) {
      // an upload session was opened instead: cancel it
      const loc = res.headers.location;
      if (loc) discard(await this.call({ method: 'DELETE', path: new URL(loc, this.base).href, scopes: [repositoryScope(repo, ['pull', 'push'])], repeatable: true }));
      return false;
    }
    return false;
  }

  /**
   * Upload a blob: POST an upload session; then either one PUT with the whole body (a small blob
   * given whole, its digest known) or the bytes as PATCHes of UPLOAD_PIECE each, with
   * Content-Range, and a PUT with the digest (known only at the end when `digest` is a
   * function). A PATCH that fails (the connection drops, a 5xx) is resumed from the offset the
   * registry reports for the session (GET of its Location: `Range: 0-N`), resending only what it
   * lacks — the piece in hand is kept until the registry has it — at most `retries` times in a
   * row, with backoff.
   */
  async upload(repo: string, body: AsyncIterable<Uint8Array> | Buffer, digest: Digest | (() => Digest)): Promise<void> {
    const scopes = [repositoryScope(repo, ['pull', 'push'])];
    const start = await this.call({ method: 'POST', path: `v2/${repo}/blobs/uploads/`, scopes, repeatable: true });
    discard(start);
    if (start.status !== 202 || !start.headers.location) throw await this.failure(start, `upload to ${this.domain}/${repo}`);
    let location = new URL(start.headers.location, this.base);
    if (Buffer.isBuffer(body) && typeof digest === 'string' && body.length <= UPLOAD_PIECE) {
      location.searchParams.set('digest', digest);
      const put = await this.call({ method: 'PUT', path: location.href, headers: { 'Content-Type': 'application/octet-stream' }, body, scopes, repeatable: true });
      discard(put);
      if (put.status !== 201) throw await this.failure(put, `upload of ${digest} to ${this.domain}/${repo}`);
      return;
    }
    let offset = 0;
    // one 8 MiB buffer filled again for every piece: each is sent and answered before the next
    for await (const piece of pieces(Buffer.isBuffer(body) ? [body] : body, UPLOAD_PIECE, { reuse: true })) {
      location = await this.patch(repo, location, piece, offset, scopes);
      offset += piece.length;
    }
    const d = typeof digest === 'string' ? digest : digest();
    location.searchParams.set('digest', d);
    const put = await this.call({ method: 'PUT', path: location.href, scopes, repeatable: true });
    discard(put);
    if (put.status !== 201) throw await this.failure(put, `upload of ${d} to ${this.domain}/${repo}`);
  }

  /** PATCH `piece` at `offset` of an upload session, resuming after failures; returns the session's next Location. */
  private async patch(repo: string, location: URL, piece: Buffer, offset: number, scopes: readonly string[]): Promise<URL> {
    let failures = 0;
    let sent = 0; // bytes of the piece the registry has
    for (;;) {
      const rest = piece.subarray(sent);
      let why: string;
      try {
        const res = await this.call({
          method: 'PATCH',
          path: location.href,
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset + sent}-${offset + piece.length - 1}` },
          body: rest,
          scopes,
        });
        discard(res);
        if (res.status === 202) return res.headers.location ? new URL(res.headers.location, this.base) : location;
        if (res.status < 500 && res.status !== 416) throw await this.failure(res, `upload to ${this.domain}/${repo}`);
        why = `${res.status} ${statusText(res.status)}`;
      } catch (e) {
        if (e instanceof RegistryError && e.status !== undefined) throw e;
        why = (e as Error).message;
      }
      if (++failures > this.retries) throw new RegistryError(`upload to ${this.domain}/${repo}: ${why}`);
      await sleep(this.backoffMs * 2 ** (failures - 1));
      // where the session stands: Range 0-N means N+1 bytes received
      const st = await this.call({ method: 'GET', path: location.href, scopes, repeatable: true });
      if (st.status === 400 || st.status === 404) {
        // The session is gone (Distribution: BLOB_UPLOAD_INVALID once a PATCH was cut, its state
        // no longer matching the bytes written): the blob can only be sent again from its start.
        const lost = await this.failure(st, `upload to ${this.domain}/${repo}`);
        throw new RegistryError(`${lost.message} (the session was lost after: ${why})`, { status: st.status, transient: true });
      }
      discard(st);
      if (st.status !== 204) throw await this.failure(st, `upload to ${this.domain}/${repo}`);
      if (st.headers.location) location = new URL(st.headers.location, this.base);
      const m = /^(?:bytes=)?0-(\d+)$/.exec(String(st.headers.range ?? ''));
      const have = m ? Number(m[1]) + 1 : 0;
      if (have < offset || have > offset + piece.length) throw new RegistryError(`upload to ${this.domain}/${repo}: the registry holds ${have} bytes, ${offset} were acknowledged`);
      sent = have - offset;
      if (sent === piece.length) return location;
    }
  }

  /** PUT a manifest under a tag or digest; returns the digest the registry gives it. */
  async putManifest(repo: string, ref: string, raw: Buffer, mediaType: string): Promise<void> {
    const res = await this.call({ method: 'PUT', path: `v2/${repo}/manifests/${ref}`, headers: { 'Content-Type': mediaType }, body: raw, scopes: [repositoryScope(repo, ['pull', 'push'])], repeatable: true });
    discard(res);
    if (res.status !== 201) throw await this.failure(res, `manifest ${ref} of ${this.domain}/${repo}`);
  }

  /** The repository's tags. */
  async tags(repo: string): Promise<string[]> {
    const res = await this.call({ method: 'GET', path: `v2/${repo}/tags/list`, scopes: [repositoryScope(repo, ['pull'])], repeatable: true });
    if (res.status === 404) throw new NotFoundError((await this.failure(res, `repository ${this.domain}/${repo} not found`)).message);
    if (res.status !== 200) throw await this.failure(res, `tags of ${this.domain}/${repo}`);
    const body = await readBody(res, 16 << 20, `tags of ${repo}`);
    const o = JSON.parse(body.toString('utf8')) as { tags?: unknown };
    if (o.tags === null || o.tags === undefined) return [];
    if (!Array.isArray(o.tags) || !o.tags.every((t) => typeof t === 'string')) throw new RegistryError(`tags of ${this.domain}/${repo}: not a list of tags`);
    return o.tags as string[];
  }
}
