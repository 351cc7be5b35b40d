/**
 * Typed errors. Every failure that reaches the user is a CairnError: it carries a
 * one-line message (what is wrong, and where) and the process exit code the CLI uses.
 * Lower modules throw these; the CLI prints `Error: <message>` and exits with `exitCode`, or
 * the message alone for a `bare` error (one Docker's CLI finds itself and prints without a
 * prefix: a template that does not run, a path `cp` cannot read on the host).
 *
 * Exit codes follow Docker's CLI: 1 for a failed operation, 125 for bad usage
 * (unknown flag, wrong argument count), as `docker` does for errors of its own.
 */
export type ErrorCode =
  | 'not-found'
  | 'already-exists'
  | 'invalid-argument'
  | 'failed-precondition'
  | 'conflict'
  | 'data-corrupt'
  | 'unsupported'
  | 'permission'
  | 'usage'
  | 'registry'
  | 'no-space'
  | 'internal';

export class CairnError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  /**
   * The same work may succeed if done again from its start (a registry that lost an upload
   * session after a dropped connection): a layer copy is then retried, as Docker retries it.
   */
  readonly transient: boolean;
  /** Printed without the `Error: ` prefix, as Docker's CLI prints the errors it finds itself. */
  readonly bare: boolean;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; exitCode?: number; transient?: boolean; bare?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CairnError';
    this.code = code;
    this.exitCode = options?.exitCode ?? (code === 'usage' ? 125 : 1);
    this.transient = options?.transient ?? false;
    this.bare = options?.bare ?? false;
  }
}

export class NotFoundError extends CairnError {
  constructor(message: string, options?: { cause?: unknown; bare?: boolean }) {
    super('not-found', message, options);
    this.name = 'NotFoundError';
  }
}

export class AlreadyExistsError extends CairnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('already-exists', message, options);
    this.name = 'AlreadyExistsError';
  }
}

/** Input that does not parse or validate: a reference, a manifest, a flag value. */
export class InvalidArgumentError extends CairnError {
  constructor(message: string, options?: { cause?: unknown; exitCode?: number; bare?: boolean }) {
    super('invalid-argument', message, options);
    this.name = 'InvalidArgumentError';
  }
}

/** The store is not in a state that allows the operation (e.g. image in use). */
export class ConflictError extends CairnError {
  constructor(message: string, options?: { cause?: unknown; bare?: boolean }) {
    super('conflict', message, options);
    this.name = 'ConflictError';
  }
}

/** Bytes that are not what they claim to be: digest or size mismatch, truncated or corrupt data. */
export class DataCorruptError extends CairnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('data-corrupt', message, options);
    this.name = 'DataCorruptError';
  }
}

export class UnsupportedError extends CairnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unsupported', message, options);
    this.name = 'UnsupportedError';
  }
}

export class PreconditionError extends CairnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('failed-precondition', message, options);
    this.name = 'PreconditionError';
  }
}

/** The file system holding the store is full (or the user's quota is): the work needed more space than there was. */
export class NoSpaceError extends CairnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('no-space', message, options);
    this.name = 'NoSpaceError';
  }
}

/**
 * Whether `e`, or an error it was caused by, is a full disk: ENOSPC or EDQUOT from the kernel,
 * SQLITE_FULL from the metadata database (its log could not grow).
 */
export function isNoSpace(e: unknown): boolean {
  let x: unknown = e;
  for (let depth = 0; x instanceof Error && depth < 8; depth++) {
    if (x instanceof NoSpaceError) return true;
    const code = errnoCode(x);
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return true;
    x = x.cause;
  }
  return false;
}

export class UsageError extends CairnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('usage', message, options);
    this.name = 'UsageError';
  }
}

export function isCairnError(e: unknown): e is CairnError {
  return e instanceof CairnError;
}

/** The line the CLI prints for an error: `Error: MESSAGE`, or the message alone for a bare one. */
export function errorLine(e: CairnError): string {
  return e.bare ? e.message : `Error: ${e.message}`;
}

/** Node's system errors (ENOENT, EACCES, ...) carry a string `code`. */
export function errnoCode(e: unknown): string | undefined {
  if (e instanceof Error && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return (e as { code: string }).code;
  }
  return undefined;
}
