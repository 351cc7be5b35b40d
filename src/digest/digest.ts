/**
 * Digests: the names of content. A Digest is a branded string `algorithm:hex`, so a bare
 * string can never be passed where verified content is meant. Hashing is streaming:
 * a Digester is fed chunks and counts bytes; a DigestVerifier is a Transform that passes
 * data through and fails the stream if the bytes do not match the expected digest/size.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DataCorruptError, InvalidArgumentError } from '../errors.js';

export type Digest = string & { readonly __brand: 'Digest' };
export type Algorithm = 'sha256' | 'sha384' | 'sha512';

const HEX_LENGTH: Record<Algorithm, number> = { sha256: 64, sha384: 96, sha512: 128 };
const DIGEST_RE = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** Validate `s` as a digest; `where` names the field for the error message. */
export function parseDigest(s: string, where = 'digest'): Digest {
  const m = DIGEST_RE.exec(s);
  if (!m) throw new InvalidArgumentError(`${where}: invalid digest ${JSON.stringify(s)}: expected algorithm:hex`);
  const alg = m[1] as Algorithm;
  const hex = m[2]!;
  const want = HEX_LENGTH[alg];
  if (want === undefined) throw new InvalidArgumentError(`${where}: unsupported digest algorithm ${JSON.stringify(m[1])} in ${JSON.stringify(s)}`);
  if (hex.length !== want || !/^[a-f0-9]+$/.test(hex)) {
    throw new InvalidArgumentError(`${where}: invalid ${alg} digest ${JSON.stringify(s)}: expected ${want} lowercase hex characters`);
  }
  return s as Digest;
}

export function isDigest(s: unknown): s is Digest {
  if (typeof s !== 'string') return false;
  try {
    parseDigest(s);
    return true;
  } catch {
    return false; // not a digest: that is the answer, not an error
  }
}

export function algorithmOf(d: Digest): Algorithm {
  return d.slice(0, d.indexOf(':')) as Algorithm;
}

export function hexOf(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** The 12-character short ID Docker prints for images and layers. */
export function shortId(d: Digest): string {
  return hexOf(d).slice(0, 12);
}

export function fromHex(hex: string, alg: Algorithm = 'sha256'): Digest {
  return parseDigest(`${alg}:${hex}`);
}

export function digestOf(data: Buffer | Uint8Array | string, alg: Algorithm = 'sha256'): Digest {
  return `${alg}:${createHash(alg).update(data).digest('hex')}` as Digest;
}

/** Incremental hasher that also counts bytes. */
export class Digester {
  readonly algorithm: Algorithm;
  private readonly hash: Hash;
  private bytes = 0;
  constructor(alg: Algorithm = 'sha256') {
    this.algorithm = alg;
    this.hash = createHash(alg);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }
  get size(): number {
    return this.bytes;
  }
  digest(): Digest {
    return `${this.algorithm}:${this.hash.digest('hex')}` as Digest;
  }
  /** The digest of what was fed so far, leaving the hasher usable. */
  peek(): Digest {
    return `${this.algorithm}:${this.hash.copy().digest('hex')}` as Digest;
  }
}

/** Hash a whole stream (consumes it). */
export async function digestStream(
  source: AsyncIterable<Uint8Array>,
  alg: Algorithm = 'sha256',
): Promise<{ digest: Digest; size: number }> {
  const d = new Digester(alg);
  for await (const chunk of source) d.update(chunk);
  return { digest: d.digest(), size: d.size };
}

/**
 * A pass-through Transform that hashes what flows through it. With `expected`, the stream
 * errors (DataCorruptError) at its end when the digest or size does not match, and as soon as
 * more bytes than the expected size arrive.
 */
export class DigestTransform extends Transform {
  private readonly digester: Digester;
  private readonly expected: { digest?: Digest; size?: number; what: string } | undefined;
  private result: Digest | undefined;
  constructor(expected?: { digest?: Digest; size?: number; what?: string }) {
    super();
    this.digester = new Digester(expected?.digest ? algorithmOf(expected.digest) : 'sha256');
    this.expected = expected ? { ...expected, what: expected.what ?? 'content' } : undefined;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.digester.update(chunk);
    const exp = this.expected;
    if (exp?.size !== undefined && this.digester.size > exp.size) {
      cb(new DataCorruptError(`${exp.what}: size mismatch: more than the expected ${exp.size} bytes`));
      return;
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    this.result = this.digester.digest();
    const exp = this.expected;
    if (exp?.size !== undefined && this.digester.size !== exp.size) {
      cb(new DataCorruptError(`${exp.what}: size mismatch: got ${this.digester.size} bytes, expected ${exp.size}`));
      return;
    }
    if (exp?.digest !== undefined && this.result !== exp.digest) {
      cb(new DataCorruptError(`${exp.what}: digest mismatch: got ${this.result}, expected ${exp.digest}`));
      return;
    }
    cb();
  }
  get size(): number {
    return this.digester.size;
  }
  /** The digest of everything that passed; only after the stream has finished. */
  digest(): Digest {
    if (this.result === undefined) throw new Error('DigestTransform.digest() called before the stream finished');
    return this.result;
  }
}
