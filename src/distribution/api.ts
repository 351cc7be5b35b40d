/**
 * The distribution spec's HTTP API as data (pure): which endpoint a request names (the
 * repository name may hold slashes, so a path is read from its end), the spec's error codes with
 * their HTTP statuses, and the `Range` / `Content-Range` forms the API uses.
 */
import { type Digest, parseDigest } from '../digest/digest.js';

/** A repository name as the spec's grammar has it (path components of lower-case alphanumerics and separators). */
const NAME_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Whether `s` is a tag by the spec's grammar. */
export function isTag(s: string): boolean {
  return TAG_RE.test(s);
}
/** Names longer than this are refused (Distribution's limit on the whole name). */
const NAME_MAX = 255;

export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: { tag: string } | { digest: Digest } }
  | { kind: 'blob'; name: string; digest: Digest }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'referrers'; name: string; digest: Digest };

/** The spec's error codes and the status each is answered with. */
export const ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 404,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  TAG_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

const MESSAGES: Record<ErrorCode, string> = {
  BLOB_UNKNOWN: 'blob unknown to registry',
  BLOB_UPLOAD_INVALID: 'blob upload invalid',
  BLOB_UPLOAD_UNKNOWN: 'blob upload unknown to registry',
  DIGEST_INVALID: 'provided digest did not match uploaded content',
  MANIFEST_BLOB_UNKNOWN: 'manifest references a blob unknown to the repository',
  MANIFEST_INVALID: 'manifest invalid',
  MANIFEST_UNKNOWN: 'manifest unknown',
  NAME_INVALID: 'invalid repository name',
  NAME_UNKNOWN: 'repository name not known to registry',
  SIZE_INVALID: 'provided length did not match content length',
  TAG_INVALID: 'manifest tag did not match URI',
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  UNSUPPORTED: 'the operation is unsupported',
  TOOMANYREQUESTS: 'too many requests',
  RANGE_INVALID: 'requested range not satisfiable',
};

/** An answer in the spec's error format: `{"errors":[{"code","message","detail"}]}`. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    status?: number,
  ) {
    super(detail ? `${MESSAGES[code]}: ${detail}` : MESSAGES[code]);
    this.status = status ?? ERROR_STATUS[code];
  }

  body(): Buffer {
    return Buffer.from(JSON.stringify({ errors: [{ code: this.code, message: MESSAGES[this.code], ...(this.detail !== undefined ? { detail: this.detail } : {}) }] }));
  }
}

function repoName(parts: readonly string[]): string {
  const name = parts.join('/');
  if (name.length === 0 || name.length > NAME_MAX || !NAME_RE.test(name)) throw new ApiError('NAME_INVALID', `invalid repository name ${JSON.stringify(name)}`);
  return name;
}

/** A digest named in a path or a query (`?digest=`, `?mount=`), or DIGEST_INVALID. */
export function digestArg(s: string, code: ErrorCode = 'DIGEST_INVALID'): Digest {
  try {
    return parseDigest(s);
  } catch {
    throw new ApiError(code, `invalid digest ${JSON.stringify(s)}`);
  }
}

/**
 * The endpoint a request path names (`/v2/…`, query excluded); undefined when it names none.
 * Throws an ApiError for a name or digest that does not parse.
 */
export function parseRoute(path: string): Route | undefined {
  if (path === '/v2/' || path === '/v2') return { kind: 'base' };
  if (path === '/v2/_catalog') return { kind: 'catalog' };
  if (!path.startsWith('/v2/')) return undefined;
  let parts: string[];
  try {
    parts = path.slice(4).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const n = parts.length;
  if (n >= 3 && parts[n - 2] === 'tags' && parts[n - 1] === 'list') return { kind: 'tags', name: repoName(parts.slice(0, n - 2)) };
  if (n >= 3 && parts[n - 2] === 'manifests') {
    const ref = parts[n - 1]!;
    const name = repoName(parts.slice(0, n - 2));
    if (ref.includes(':')) return { kind: 'manifest', name, reference: { digest: digestArg(ref) } };
    // a tag outside the grammar names no manifest (404 for a read); a PUT under it is refused (isTag)
    return { kind: 'manifest', name, reference: { tag: ref } };
  }
  if (n >= 4 && parts[n - 3] === 'blobs' && parts[n - 2] === 'uploads') {
    const id = parts[n - 1]!;
    const name = repoName(parts.slice(0, n - 3));
    if (id === '') return { kind: 'uploads', name };
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new ApiError('BLOB_UPLOAD_UNKNOWN', `invalid upload id ${JSON.stringify(id)}`);
    return { kind: 'upload', name, id };
  }
  if (n >= 3 && parts[n - 2] === 'blobs') {
    if (parts[n - 1] === 'uploads') return { kind: 'uploads', name: repoName(parts.slice(0, n - 2)) };
    return { kind: 'blob', name: repoName(parts.slice(0, n - 2)), digest: digestArg(parts[n - 1]!) };
  }
  if (n >= 3 && parts[n - 2] === 'referrers') return { kind: 'referrers', name: repoName(parts.slice(0, n - 2)), digest: digestArg(parts[n - 1]!) };
  return undefined;
}

/**
 * A request's `Range: bytes=A-B` / `bytes=A-` against a blob of `size` bytes: the inclusive
 * range, undefined when there is no header, or RANGE_INVALID when it cannot be served.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m) throw new ApiError('RANGE_INVALID', `unsupported range ${JSON.stringify(header)}`);
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start > end || start >= size) throw new ApiError('RANGE_INVALID', `range ${header} of a ${size}-byte blob`);
  return { start, end };
}

/** An upload chunk's `Content-Range: A-B` (the spec's form, no unit), inclusive. */
export function parseContentRange(header: string | undefined): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(header.trim());
  if (!m) throw new ApiError('RANGE_INVALID', `invalid Content-Range ${JSON.stringify(header)}`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw new ApiError('RANGE_INVALID', `invalid Content-Range ${JSON.stringify(header)}`);
  return { start, end };
}
