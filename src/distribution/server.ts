/**
 * `cairn registry serve`: the OCI distribution spec (the Docker registry API v2) served from a
 * cairn store. Blobs live in the store's content store — an image that is both local and
 * served is stored once — and repositories, manifests and tags in its metadata
 * (metadata/registry.ts), each change one write transaction, so clients pushing to one
 * repository at once never see it half-changed. A blob is visible only once its digest is
 * verified (the final PUT of an upload, uploads.ts); a manifest only once every blob it names
 * is in the repository.
 *
 * Endpoints (api.ts routes them): the base check, catalog and tags lists with pagination
 * (`n`, `last`, a `Link` header), manifests by tag or digest (GET, HEAD, PUT, DELETE), blobs
 * (GET with Range, HEAD, DELETE), uploads (monolithic POST `?digest=`, POST then PUT,
 * chunked PATCHes with `Content-Range` — 416 for one out of order — status, cancel),
 * cross-repository mounts (`?mount=&from=`, and without `from` when any repository holds the
 * blob: automatic content discovery). Errors use the spec's JSON format and codes.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { BlobHandle, ContentWriter } from '../content/content.js';
import { algorithmOf, type Digest, digestOf } from '../digest/digest.js';
import { CairnError, DataCorruptError, errnoCode, InvalidArgumentError } from '../errors.js';
import { writeTx } from '../metadata/db.js';
import { blobRef } from '../metadata/refs.js';
import {
  anyBlobLink,
  deleteManifestRecord,
  deleteRegistryTag,
  getManifestRecord,
  getRegistryTag,
  hasBlobLink,
  linkBlob,
  putManifestRecord,
  referrersOf,
  registryTags,
  repositories,
  repositoryExists,
  setRegistryTag,
  unlinkBlob,
} from '../metadata/registry.js';
import { isIndexType, isManifestType, isNondistributableType } from '../oci/mediatypes.js';
import { parseManifestOrIndex } from '../oci/validate.js';
import type { Store } from '../store/store.js';
import { ApiError, digestArg, isTag, parseContentRange, parseRange, parseRoute, type Route } from './api.js';
import type { Htpasswd } from './auth.js';
import { UploadSessions } from './uploads.js';

/** The most bytes a manifest may have (as Distribution's limit). */
const MANIFEST_MAX = 4 << 20;
/** Page size of tags and catalog lists when the client names none. */
const PAGE_DEFAULT = 1000;

export interface ServeOptions {
  /** Refuse every change (pushes, deletes): a mirror of what the store holds. */
  readOnly?: boolean;
  /** A connection that moves no byte for this long is closed (default 60 s). */
  idleTimeoutMs?: number;
  /** An upload session unused for this long is dropped (default 15 min). */
  uploadIdleMs?: number;
  /** Upload sessions open at once, at most (default 1024: a client that opens more is refused). */
  maxUploads?: number;
  /** Users who may use the registry (basic auth); none: anyone may. */
  htpasswd?: Htpasswd;
  /** Serve https with this certificate and key (PEM). */
  tls?: { cert: Buffer; key: Buffer };
}

/** A certificate and key for https, read from PEM files (a one-line error naming the one that cannot be read). */
export function loadTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new InvalidArgumentError(`TLS ${what} ${file}: ${errnoCode(e) === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  };
  return { cert: read(certFile, 'certificate'), key: read(keyFile, 'key') };
}

export class RegistryServer {
  private readonly uploads: UploadSessions;
  private server: Server | undefined;

  constructor(
    private readonly store: Store,
    private readonly opts: ServeOptions = {},
  ) {
    this.uploads = new UploadSessions(store.content, store.db, opts.uploadIdleMs, opts.maxUploads);
  }

  /** Listen on `host:port` (port 0: a free one); resolves with the address bound. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    const tls = this.opts.tls;
    let server: Server;
    try {
      server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createServer(handler);
    } catch (e) {
      throw new InvalidArgumentError(`TLS certificate or key: ${(e as Error).message.split('\n')[0]}`);
    }
    // A big upload may take longer than Node's default 5 minutes for a whole request; what is
    // bounded instead is the time a connection may go without moving a byte.
    server.requestTimeout = 0;
    server.setTimeout(this.opts.idleTimeoutMs ?? 60_000, (socket) => socket.destroy());
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new InvalidArgumentError(`cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`)));
      server.listen(port, host, () => resolve());
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    this.uploads.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    try {
      if (this.opts.htpasswd) await this.opts.htpasswd.check(req.headers.authorization);
      // the path as sent: a URL parser would resolve `..` away and name another repository
      const target = req.url ?? '/';
      const q = target.indexOf('?');
      const path = q < 0 ? target : target.slice(0, q);
      const route = parseRoute(path);
      if (!route) throw new ApiError('NAME_UNKNOWN', `no endpoint ${path}`, 404);
      await this.dispatch(route, req, res, new URLSearchParams(q < 0 ? '' : target.slice(q + 1)));
    } catch (e) {
      this.fail(res, e);
    }
  }

  private fail(res: ServerResponse, e: unknown): void {
    const err =
      e instanceof ApiError
        ? e
        : e instanceof DataCorruptError
          ? new ApiError('DIGEST_INVALID', e.message)
          : e instanceof CairnError
            ? new ApiError('BLOB_UPLOAD_INVALID', e.message, 500)
            : new ApiError('UNSUPPORTED', (e as Error).message ?? String(e), 500);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = err.body();
    if (err.code === 'UNAUTHORIZED') res.setHeader('WWW-Authenticate', 'Basic realm="cairn registry"');
    res.writeHead(err.status, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
    res.end(body);
  }

  private readonlyCheck(method: string): void {
    if (this.opts.readOnly && method !== 'GET' && method !== 'HEAD') throw new ApiError('DENIED', 'the registry is read-only');
  }

  private async dispatch(route: Route, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    this.readonlyCheck(method);
    const allow = (...ms: string[]): void => {
      if (!ms.includes(method)) throw new ApiError('UNSUPPORTED', `${method} is not allowed here`);
    };
    switch (route.kind) {
      case 'base':
        allow('GET', 'HEAD');
        return json(res, 200, {});
      case 'catalog': {
        allow('GET');
        const n = pageSize(q);
        const last = q.get('last') ?? undefined;
        const repos = repositories(this.store.db, n, last);
        if (repos.length === n && n > 0) res.setHeader('Link', `</v2/_catalog?last=${encodeURIComponent(repos[repos.length - 1]!)}&n=${n}>; rel="next"`);
        return json(res, 200, { repositories: repos });
      }
      case 'tags': {
        allow('GET');
        if (!repositoryExists(this.store.db, route.name)) throw new ApiError('NAME_UNKNOWN', route.name);
        const n = pageSize(q);
        const tags = registryTags(this.store.db, route.name, n, q.get('last') ?? undefined);
        if (tags.length === n && n > 0) res.setHeader('Link', `</v2/${route.name}/tags/list?last=${encodeURIComponent(tags[tags.length - 1]!)}&n=${n}>; rel="next"`);
        return json(res, 200, { name: route.name, tags });
      }
      case 'manifest':
        allow('GET', 'HEAD', 'PUT', 'DELETE');
        if (method === 'PUT') return this.putManifest(route.name, route.reference, req, res);
        if (method === 'DELETE') return this.deleteManifest(route.name, route.reference, res);
        return this.getManifest(route.name, route.reference, method === 'HEAD', res);
      case 'blob':
        allow('GET', 'HEAD', 'DELETE');
        if (method === 'DELETE') {
          if (!writeTx(this.store.db, () => unlinkBlob(this.store.db, route.name, route.digest))) throw new ApiError('BLOB_UNKNOWN', route.digest);
          return empty(res, 202);
        }
        return this.getBlob(route.name, route.digest, method === 'HEAD', req, res);
      case 'uploads':
        allow('POST');
        return this.startUpload(route.name, req, res, q);
      case 'upload':
        allow('GET', 'PATCH', 'PUT', 'DELETE');
        if (method === 'GET') return this.uploadStatus(route.name, route.id, res, 204);
        if (method === 'PATCH') return this.patchUpload(route.name, route.id, req, res);
        if (method === 'PUT') return this.finishUpload(route.name, route.id, req, res, q);
        await this.uploads.cancel(route.name, route.id);
        return empty(res, 204);
      case 'referrers':
        allow('GET');
        return this.referrers(route.name, route.digest, q.get('artifactType'), res);
    }
  }

  // --- manifests ----------------------------------------------------------------------------

  private resolveManifest(repo: string, reference: { tag: string } | { digest: Digest }): Digest {
    if ('digest' in reference) return reference.digest;
    const d = getRegistryTag(this.store.db, repo, reference.tag);
    if (!d) throw new ApiError('MANIFEST_UNKNOWN', `${repo}:${reference.tag}`);
    return d;
  }

  private async getManifest(repo: string, reference: { tag: string } | { digest: Digest }, head: boolean, res: ServerResponse): Promise<void> {
    const digest = this.resolveManifest(repo, reference);
    const rec = getManifestRecord(this.store.db, repo, digest);
    if (!rec) throw new ApiError('MANIFEST_UNKNOWN', `${repo}@${digest}`);
    const raw = await this.store.content.readBytes(digest, MANIFEST_MAX);
    res.writeHead(200, { 'Content-Type': rec.mediaType, 'Content-Length': String(raw.length), 'Docker-Content-Digest': digest, ETag: `"${digest}"` });
    res.end(head ? undefined : raw);
  }

  private async putManifest(repo: string, reference: { tag: string } | { digest: Digest }, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if ('tag' in reference && !isTag(reference.tag)) throw new ApiError('TAG_INVALID', `invalid tag ${JSON.stringify(reference.tag)}`);
    const raw = await readLimited(req, MANIFEST_MAX);
    // named by a sha512 digest: the manifest is hashed (and kept) in sha512
    const digest = digestOf(raw, 'digest' in reference ? algorithmOf(reference.digest) : 'sha256');
    if ('digest' in reference && reference.digest !== digest) throw new ApiError('DIGEST_INVALID', `the manifest's digest is ${digest}, not ${reference.digest}`);
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    let parsed;
    try {
      parsed = parseManifestOrIndex(raw, 'manifest', contentType || undefined);
    } catch (e) {
      if (e instanceof CairnError) throw new ApiError('MANIFEST_INVALID', e.message);
      throw e;
    }
    const doc = parsed.kind === 'manifest' ? parsed.manifest : parsed.index;
    const mediaType = doc.mediaType ?? (contentType || (parsed.kind === 'manifest' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.oci.image.index.v1+json'));
    if (doc.mediaType !== undefined && contentType !== '' && contentType !== doc.mediaType) {
      throw new ApiError('MANIFEST_INVALID', `Content-Type ${contentType} but the manifest says ${doc.mediaType}`);
    }
    if (parsed.kind === 'manifest' ? !isManifestType(mediaType) : !isIndexType(mediaType)) throw new ApiError('MANIFEST_INVALID', `media type ${mediaType} is not a ${parsed.kind}`);
    const db = this.store.db;
    // leased from its ingest until the repository holds it: another process's collection cannot take it in between
    await this.store.withLease(async (protect) => {
      protect(blobRef(digest));
      await this.store.content.ingest(Readable.from([raw]), { digest, size: raw.length, what: 'manifest' });
      writeTx(db, () => {
        // every blob a manifest names (a foreign layer aside) and every manifest an index names is in the repository
        if (parsed.kind === 'manifest') {
          for (const d of [parsed.manifest.config, ...parsed.manifest.layers]) {
            if (d.urls?.length && isNondistributableType(d.mediaType)) continue;
            if (!hasBlobLink(db, repo, d.digest) || !this.store.content.has(d.digest)) throw new ApiError('MANIFEST_BLOB_UNKNOWN', d.digest, 400);
          }
        } else {
          for (const m of parsed.index.manifests) {
            if (!getManifestRecord(db, repo, m.digest)) throw new ApiError('MANIFEST_BLOB_UNKNOWN', m.digest, 400);
          }
        }
        linkBlob(db, repo, digest);
        // the referrers API lists an image manifest without artifactType by its config's media type
        const artifactType = doc.artifactType ?? (parsed.kind === 'manifest' ? parsed.manifest.config.mediaType : null);
        putManifestRecord(db, { repo, digest, mediaType, size: raw.length, artifactType, subject: doc.subject?.digest ?? null });
        if ('tag' in reference) setRegistryTag(db, repo, reference.tag, digest);
      });
    });
    res.setHeader('Location', `/v2/${repo}/manifests/${digest}`);
    res.setHeader('Docker-Content-Digest', digest);
    if (doc.subject) res.setHeader('OCI-Subject', doc.subject.digest);
    empty(res, 201);
  }

  private async deleteManifest(repo: string, reference: { tag: string } | { digest: Digest }, res: ServerResponse): Promise<void> {
    const db = this.store.db;
    const gone = writeTx(db, () => {
      if ('tag' in reference) return deleteRegistryTag(db, repo, reference.tag);
      if (!deleteManifestRecord(db, repo, reference.digest)) return false;
      unlinkBlob(db, repo, reference.digest);
      return true;
    });
    if (!gone) throw new ApiError('MANIFEST_UNKNOWN', 'tag' in reference ? `${repo}:${reference.tag}` : `${repo}@${reference.digest}`);
    empty(res, 202);
  }

  /**
   * The referrers API: an OCI index of the repository's manifests whose subject is `digest`
   * (whether or not that manifest is here), each with its artifact type and annotations,
   * filtered by `artifactType` when asked (and saying so in `OCI-Filters-Applied`).
   */
  private async referrers(repo: string, digest: Digest, artifactType: string | null, res: ServerResponse): Promise<void> {
    const manifests = [];
    for (const m of referrersOf(this.store.db, repo, digest)) {
      if (artifactType !== null && m.artifactType !== artifactType) continue;
      let annotations: unknown;
      try {
        annotations = (JSON.parse((await this.store.content.readBytes(m.digest, MANIFEST_MAX)).toString('utf8')) as { annotations?: unknown }).annotations;
      } catch (e) {
        if (!(e instanceof CairnError || e instanceof SyntaxError)) throw e;
        continue; // deleted meanwhile
      }
      manifests.push({ mediaType: m.mediaType, digest: m.digest, size: m.size, ...(m.artifactType !== null ? { artifactType: m.artifactType } : {}), ...(annotations !== undefined ? { annotations } : {}) });
    }
    if (artifactType !== null) res.setHeader('OCI-Filters-Applied', 'artifactType');
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json', 'Content-Length': String(body.length) });
    res.end(body);
  }

  // --- blobs --------------------------------------------------------------------------------

  private async getBlob(repo: string, digest: Digest, head: boolean, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const info = hasBlobLink(this.store.db, repo, digest) ? await this.store.content.info(digest) : undefined;
    if (!info) throw new ApiError('BLOB_UNKNOWN', digest);
    const range = parseRange(typeof req.headers.range === 'string' ? req.headers.range : undefined, info.size);
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest, ETag: `"${digest}"`, 'Accept-Ranges': 'bytes' };
    if (range) {
      res.writeHead(206, { ...headers, 'Content-Length': String(range.end - range.start + 1), 'Content-Range': `bytes ${range.start}-${range.end}/${info.size}` });
    } else res.writeHead(200, { ...headers, 'Content-Length': String(info.size) });
    if (head || info.size === 0) {
      res.end();
      return;
    }
    await sendBlob(await this.store.content.open(digest), range ?? { start: 0, end: info.size - 1 }, res);
  }

  // --- uploads ------------------------------------------------------------------------------

  private async startUpload(repo: string, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const mount = q.get('mount');
    if (mount !== null) {
      const digest = digestArg(mount);
      const from = q.get('from');
      const db = this.store.db;
      const mounted = writeTx(db, () => {
        const there = from !== null ? hasBlobLink(db, from, digest) : anyBlobLink(db, digest);
        if (!there || !this.store.content.has(digest)) return false;
        linkBlob(db, repo, digest);
        return true;
      });
      if (mounted) {
        res.setHeader('Location', `/v2/${repo}/blobs/${digest}`);
        res.setHeader('Docker-Content-Digest', digest);
        return empty(res, 201);
      }
      // not there to mount: an ordinary upload session instead, as the spec says
    }
    const monolithic = q.get('digest');
    if (monolithic !== null) {
      const digest = digestArg(monolithic);
      const writer = await this.store.content.writer();
      try {
        for await (const chunk of req as AsyncIterable<Buffer>) await writer.write(chunk);
      } catch (e) {
        await writer.abort();
        throw e;
      }
      return this.commitBlob(repo, writer, digest, req, res);
    }
    await drain(req);
    const id = await this.uploads.start(repo);
    return this.uploadStatus(repo, id, res, 202);
  }

  private async uploadStatus(repo: string, id: string, res: ServerResponse, status: number): Promise<void> {
    const offset = await this.uploads.offset(repo, id);
    res.setHeader('Location', `/v2/${repo}/blobs/uploads/${id}`);
    res.setHeader('Range', `0-${Math.max(0, offset - 1)}`);
    res.setHeader('Docker-Upload-UUID', id);
    empty(res, status);
  }

  /**
   * Append the request's body to the session. A chunk with `Content-Range` must start where the
   * session stands (else 416 with where it stands). Bytes that arrive before a connection drops
   * are kept: the session then reports them, and the client resumes after them.
   */
  private async append(repo: string, id: string, req: IncomingMessage): Promise<void> {
    const range = parseContentRange(typeof req.headers['content-range'] === 'string' ? req.headers['content-range'] : undefined);
    await this.uploads.with(repo, id, async (writer) => {
      if (range && range.start !== writer.offset) throw new ApiError('RANGE_INVALID', `the upload holds ${writer.offset} bytes; the chunk starts at ${range.start}`);
      const begin = writer.offset;
      for await (const chunk of req as AsyncIterable<Buffer>) await writer.write(chunk);
      if (range && writer.offset - begin !== range.end - range.start + 1) {
        throw new ApiError('RANGE_INVALID', `Content-Range ${range.start}-${range.end} names ${range.end - range.start + 1} bytes; the body had ${writer.offset - begin}`);
      }
    });
  }

  private async patchUpload(repo: string, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.append(repo, id, req);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'RANGE_INVALID') {
        res.setHeader('Location', `/v2/${repo}/blobs/uploads/${id}`);
        res.setHeader('Range', `0-${Math.max(0, (await this.uploads.offset(repo, id)) - 1)}`);
      }
      throw e;
    }
    await this.uploadStatus(repo, id, res, 202);
  }

  private async finishUpload(repo: string, id: string, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const d = q.get('digest');
    if (d === null) throw new ApiError('DIGEST_INVALID', 'the final PUT of an upload names its digest (?digest=)');
    const digest = digestArg(d);
    await this.append(repo, id, req);
    await this.uploads.with(repo, id, async (writer, end) => {
      end();
      await this.commitBlob(repo, writer, digest, req, res);
    });
  }

  /**
   * Verify and publish an upload's bytes under `digest`, link the blob into the repository and
   * answer 201; a failure discards the bytes.
   */
  private async commitBlob(repo: string, writer: ContentWriter, digest: Digest, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.readableAborted) {
      await writer.abort();
      throw new ApiError('BLOB_UPLOAD_INVALID', 'the connection closed mid-body');
    }
    await this.store.withLease(async (protect) => {
      protect(blobRef(digest));
      try {
        await writer.commit({ digest, what: `blob ${digest}` });
      } catch (e) {
        if (e instanceof CairnError) throw new ApiError('DIGEST_INVALID', e.message);
        throw e;
      }
      writeTx(this.store.db, () => linkBlob(this.store.db, repo, digest));
    });
    res.setHeader('Location', `/v2/${repo}/blobs/${digest}`);
    res.setHeader('Docker-Content-Digest', digest);
    empty(res, 201);
  }
}

function pageSize(q: URLSearchParams): number {
  const n = q.get('n');
  if (n === null) return PAGE_DEFAULT;
  if (!/^\d{1,6}$/.test(n)) throw new ApiError('UNSUPPORTED', `invalid page size n=${n}`, 400);
  return Number(n);
}

/** Bytes read and written at once when a blob is served. */
const SEND_PIECE = 256 << 10;

/**
 * Send bytes `start`..`end` of an open blob: two buffers in turn, one filled while the other is
 * being written, each reused only once the socket has taken it — no allocation per chunk, so
 * many downloads at once cost a few buffers each, not a stream of garbage.
 */
async function sendBlob(blob: BlobHandle, range: { start: number; end: number }, res: ServerResponse): Promise<void> {
  const bufs = [Buffer.allocUnsafe(SEND_PIECE), Buffer.allocUnsafe(SEND_PIECE)];
  const written: Array<Promise<void> | undefined> = [undefined, undefined];
  let failed: Error | undefined;
  // a connection that closes mid-way may never call back the writes it had: waiting ends there too
  let closed!: () => void;
  const whenClosed = new Promise<void>((r) => (closed = r));
  const onClose = (): void => {
    failed ??= new Error('the client closed the connection');
    closed();
  };
  res.on('close', onClose);
  try {
    let pos = range.start;
    for (let i = 0; pos <= range.end; i ^= 1) {
      await Promise.race([written[i], whenClosed]);
      if (failed) throw failed;
      const n = await blob.read(bufs[i]!, 0, Math.min(SEND_PIECE, range.end - pos + 1), pos);
      if (n === 0) throw new DataCorruptError(`blob ended at byte ${pos} of ${range.end + 1}`);
      pos += n;
      const piece = n === SEND_PIECE ? bufs[i]! : bufs[i]!.subarray(0, n);
      written[i] = new Promise<void>((resolve) => res.write(piece, (e) => (e ? ((failed ??= e), resolve()) : resolve())));
    }
    await Promise.race([Promise.all(written), whenClosed]);
    if (failed) throw failed;
    res.end();
  } finally {
    res.off('close', onClose);
    await blob.close();
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const b = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(b.length) });
  res.end(b);
}

function empty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'Content-Length': '0' });
  res.end();
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req as AsyncIterable<Buffer>) void _;
}

async function readLimited(req: IncomingMessage, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) throw new ApiError('SIZE_INVALID', `a manifest is at most ${max} bytes`, 413);
    parts.push(c);
  }
  return Buffer.concat(parts, n);
}
