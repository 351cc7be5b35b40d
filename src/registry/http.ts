/**
 * The HTTP transport of the registry client: one request, streamed both ways, over node:http or
 * node:https with keep-alive agents, and nothing more — redirects, authentication and retries
 * are the client's (client.ts), which needs to decide them itself: a redirect to another host
 * must not carry credentials, one from https to http is refused, a 401 asks for a token.
 *
 * Written on node:http rather than the global fetch because fetch in Node 20 takes no TLS
 * options (a registry's own CA and client certificate from certs.d) without bundling undici,
 * and follows redirects with the request's headers unless told not to; rather than undici
 * because the CLI is one bundle loaded by every command, and this is ~150 lines.
 *
 * Errors are one line, in the words Docker prints for the same failure (`Get "URL": dial tcp
 * HOST: connect: connection refused`), as {@link RegistryError}s.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { CairnError } from '../errors.js';

/** A failure talking to a registry: the one-line message names the request. */
export class RegistryError extends CairnError {
  /** The HTTP status, when there was an answer. */
  readonly status: number | undefined;
  constructor(message: string, opts: { status?: number; cause?: unknown; transient?: boolean } = {}) {
    super('registry', message, { ...(opts.cause !== undefined ? { cause: opts.cause } : {}), ...(opts.transient ? { transient: true } : {}) });
    this.name = 'RegistryError';
    this.status = opts.status;
  }
}

/** TLS material for one registry (certs.d). */
export interface TlsOptions {
  /** An insecure registry: a certificate that does not verify is accepted. */
  insecure?: boolean;
  ca?: Buffer[];
  cert?: Buffer;
  key?: Buffer;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  /** A whole body, or a stream of chunks (sent chunked unless Content-Length is given). */
  body?: Buffer | AsyncIterable<Uint8Array>;
  /** Abort when no byte moves for this long (default 60 s). */
  idleTimeoutMs?: number;
  tls?: TlsOptions;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, to be read or discarded ({@link discard}) by the caller. */
  body: IncomingMessage;
  url: URL;
}

const agents = new Map<string, HttpAgent>();

function agentFor(url: URL, tls: TlsOptions | undefined): HttpAgent {
  const key = `${url.protocol}//${url.host}`;
  let a = agents.get(key);
  if (!a) {
    a = url.protocol === 'https:'
      ? new HttpsAgent({ keepAlive: true, maxSockets: 8, ...(tls?.insecure ? { rejectUnauthorized: false } : {}), ...(tls?.ca ? { ca: tls.ca } : {}), ...(tls?.cert ? { cert: tls.cert } : {}), ...(tls?.key ? { key: tls.key } : {}) })
      : new HttpAgent({ keepAlive: true, maxSockets: 8 });
    agents.set(key, a);
  }
  return a;
}

/** Close every kept-alive connection (a command's end; tests). */
export function closeConnections(): void {
  for (const a of agents.values()) a.destroy();
  agents.clear();
}

/** Go's name for the method, as Docker's messages spell it (`Get "…"`). */
function verb(method: string): string {
  return method[0]! + method.slice(1).toLowerCase();
}

/** Docker's words for a failed connection. */
export function describeNetError(method: string, url: URL, e: unknown): string {
  const err = e as NodeJS.ErrnoException & { hostname?: string };
  const host = url.host;
  const where = `${verb(method)} "${url.href}"`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `${where}: dial tcp ${host}: connect: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${where}: dial tcp: lookup ${url.hostname}: no such host`;
    case 'ETIMEDOUT':
    case 'CAIRN_IDLE':
      return `${where}: timeout: no data moved for ${err.message.replace(/^.*for /, '')}`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `${where}: connection reset by peer`;
    // TLS, in Go's words (what Docker prints)
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `${where}: x509: certificate signed by unknown authority`;
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return `${where}: x509: certificate has expired or is not yet valid`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `${where}: x509: certificate is not valid for ${url.hostname}`;
    case 'EPROTO':
      // OpenSSL reading a plain-http answer as a TLS record
      if (/wrong version number|packet length too long|http request/i.test(err.message ?? '')) return `${where}: http: server gave HTTP response to HTTPS client`;
    {
      // `…:SSL routines:FUNCTION:REASON:file:line:` (FUNCTION empty in OpenSSL 3)
      const parts = (err.message ?? '').replace(/^.*routines:/, '').split(':');
      return `${where}: tls: ${parts[1] || parts[0]}`;
    }
    default:
      return `${where}: ${(err.message ?? String(e)).split('\n')[0]}`;
  }
}

/** Send one request; resolves when the response headers arrive. */
export function send(req: HttpRequest): Promise<HttpResponse> {
  const { url } = req;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new RegistryError(`unsupported URL scheme in ${url.href}`));
  const idle = req.idleTimeoutMs ?? 60_000;
  return new Promise<HttpResponse>((resolve, reject) => {
    const fn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { 'User-Agent': 'cairn', ...(req.headers ?? {}) };
    if (Buffer.isBuffer(req.body)) headers['Content-Length'] = String(req.body.length);
    else if (req.body === undefined && (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH')) headers['Content-Length'] ??= '0';
    let settled = false;
    const fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      reject(e instanceof CairnError ? e : new RegistryError(describeNetError(req.method, url, e), { cause: e }));
    };
    const r = fn(url, { method: req.method, headers, agent: agentFor(url, req.tls), timeout: idle });
    r.on('timeout', () => {
      const e = Object.assign(new Error(`timed out: no data moved for ${Math.round(idle / 1000)} s`), { code: 'CAIRN_IDLE' });
      r.destroy(e);
    });
    r.on('error', fail);
    r.on('response', (res) => {
      if (settled) {
        res.resume();
        return;
      }
      settled = true;
      // The same idle limit while the body streams. The socket is kept alive for later requests:
      // the listener goes with this response, or every reuse would add one.
      const socket = res.socket;
      const onIdle = (): void => {
        res.destroy(new RegistryError(describeNetError(req.method, url, Object.assign(new Error(`for ${Math.round(idle / 1000)} s`), { code: 'CAIRN_IDLE' }))));
      };
      if (socket) {
        socket.setTimeout(idle);
        socket.on('timeout', onIdle);
        res.once('close', () => socket.off('timeout', onIdle));
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    if (req.body === undefined) r.end();
    else if (Buffer.isBuffer(req.body)) r.end(req.body);
    else void pump(req.body, r).catch((e: unknown) => r.destroy(e instanceof Error ? e : new Error(String(e))));
  });
}

/** Write a stream of chunks into the request, with backpressure. */
async function pump(body: AsyncIterable<Uint8Array>, r: import('node:http').ClientRequest): Promise<void> {
  for await (const chunk of body) {
    if (r.destroyed) return;
    if (!r.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const done = (): void => {
          r.off('drain', done);
          r.off('close', done);
          r.off('error', onErr);
          resolve();
        };
        const onErr = (e: Error): void => {
          r.off('drain', done);
          r.off('close', done);
          reject(e);
        };
        r.once('drain', done);
        r.once('close', done);
        r.once('error', onErr);
      });
    }
  }
  r.end();
}

/** Read a whole (small) body, refusing more than `max` bytes. */
export async function readBody(res: HttpResponse, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    res.body.destroy();
    throw new RegistryError(`${what}: ${declared} bytes is more than the ${max} allowed`);
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      res.body.destroy();
      throw new RegistryError(`${what}: more than the ${max} bytes allowed`);
    }
    parts.push(c);
  }
  return Buffer.concat(parts, n);
}

/** Drop a body nobody needs, so that its connection can be reused. */
export function discard(res: HttpResponse): void {
  res.body.resume();
  res.body.on('error', () => undefined); // the answer was already judged by its status
}
