/**
 * Image references: parsing, normalising and printing `name[:tag][@digest]` exactly as
 * Docker does (the grammar and normalisation rules of github.com/distribution/reference).
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [domain "/"] path
 *   domain           := host [":" port]            host: domain-name | IPv4 | "[" IPv6 "]"
 *   domain-component := /[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]/
 *   path             := path-component ["/" path-component]*
 *   (domain "/" path: at most 255 characters, as Docker 20.10's distribution/reference counts it)
 *   path-component   := [a-z0-9]+ ( ("." | "_" | "__" | "-"+) [a-z0-9]+ )*
 *   tag              := /[\w][\w.-]{0,127}/
 *
 * Normalisation (`parseNormalizedReference`, Docker's ParseNormalizedNamed): a first
 * component is a domain only if it is `localhost`, contains "." or ":", or has uppercase
 * letters; otherwise the domain is docker.io. `index.docker.io` becomes docker.io, and a
 * single-component Docker Hub path gets the `library/` prefix. The familiar form (what the
 * Docker UI prints) strips both again: docker.io/library/busybox -> busybox.
 *
 * Parsing never runs one big backtracking regular expression over the input: the string is
 * split at "@", ":" and "/" first and each short piece is checked against an anchored
 * pattern whose matches are unambiguous, so hostile input is rejected in linear time.
 *
 * This module owns only syntax; it knows nothing about registries or the image store.
 */
import { parseDigest, type Digest } from '../digest/digest.js';
import { InvalidArgumentError } from '../errors.js';

/** A parsed, validated image reference. Immutable. */
export interface Reference {
  /** Registry host with optional port, e.g. `docker.io`, `localhost:5000`, `[::1]:5000`. */
  readonly domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: Digest | undefined;
  /** `domain/path`, e.g. `docker.io/library/busybox`. */
  readonly name: string;
  /** The name as Docker prints it: `busybox`, `user/app`, `localhost:5000/app`. */
  readonly familiarName: string;
  /** Canonical form: `docker.io/library/busybox:latest`, `host/app:tag@sha256:...`. */
  toString(): string;
  /** Familiar form: `busybox:latest`, `user/app@sha256:...`. */
  familiarString(): string;
  /** JSON form is the canonical string. */
  toJSON(): string;
}

/** Docker Hub's canonical domain. */
export const DEFAULT_DOMAIN = 'docker.io';
/** The legacy Docker Hub ("Docker Index") domain, normalised to DEFAULT_DOMAIN. */
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
/** Namespace of Docker Hub's official images. */
export const OFFICIAL_REPO_PREFIX = 'library/';
/** The tag `withDefaultTag` adds. */
export const DEFAULT_TAG = 'latest';
/**
 * Maximum length of a repository name, its domain included (`docker.io/library/` counts):
 * docker/distribution's NameTotalLengthMax, which Docker 20.10's CLI and daemon vendor (the later
 * distribution/reference module counts the path alone).
 */
export const NAME_MAX_LENGTH = 255;
/** Docker's ErrNameTooLong. */
const ERR_NAME_TOO_LONG = `repository name must not be more than ${NAME_MAX_LENGTH} characters`;

// Precompiled, anchored patterns; each is applied to one already-split piece of the input.
const DOMAIN_COMPONENT = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const DOMAIN_RE = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^\w[\w.-]{0,127}$/;
/** The reference grammar's digest shape; semantic checks are parseDigest's. */
const DIGEST_SHAPE_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;

const ERR_FORMAT = 'invalid reference format';

/** Quote user input for a one-line message, shortening very long input. */
function q(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 117)}...` : s);
}

class ImageReference implements Reference {
  readonly domain: string;
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: Digest | undefined;
  readonly name: string;
  readonly familiarName: string;
  constructor(domain: string, path: string, tag: string | undefined, digest: Digest | undefined) {
    this.domain = domain;
    this.path = path;
    this.tag = tag;
    this.digest = digest;
    this.name = domain === '' ? path : `${domain}/${path}`;
    this.familiarName = familiarizeName(domain, path);
    Object.freeze(this);
  }
  toString(): string {
    return withSuffix(this.name, this);
  }
  familiarString(): string {
    return withSuffix(this.familiarName, this);
  }
  toJSON(): string {
    return this.toString();
  }
}

function withSuffix(name: string, r: Reference): string {
  let s = name;
  if (r.tag !== undefined) s += `:${r.tag}`;
  if (r.digest !== undefined) s += `@${r.digest}`;
  return s;
}

function familiarizeName(domain: string, path: string): string {
  if (domain !== DEFAULT_DOMAIN) return domain === '' ? path : `${domain}/${path}`;
  if (path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return path;
}

function isValidPath(path: string): boolean {
  // split() keeps empty pieces, so "a//b" and "a/" fail the component pattern.
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT_RE.test(component)) return false;
  }
  return true;
}

/** Split a name into domain and path like distribution's anchored name regexp: the first
 *  component is the domain when it is a valid domain and the rest is a valid path. */
function splitName(name: string): { domain: string; path: string } | undefined {
  const slash = name.indexOf('/');
  if (slash > 0) {
    const domain = name.slice(0, slash);
    const path = name.slice(slash + 1);
    if (DOMAIN_RE.test(domain) && isValidPath(path)) return { domain, path };
  }
  return isValidPath(name) ? { domain: '', path: name } : undefined;
}

type Parts = { domain: string; path: string; tag: string | undefined; digest: string | undefined };

/** Match `s` against the reference grammar; returns the problem as a string on failure. */
function matchReference(s: string): Parts | string {
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_SHAPE_RE.test(digest)) return `invalid digest ${q(digest)}`;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  // A tag holds neither ":" nor "/", and a path holds no ":", so the tag is whatever follows
  // the last ":" when that ":" comes after the last "/".
  if (colon >= 0 && colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) return `invalid tag ${q(tag)}`;
  }
  if (rest === '') return 'missing repository name';
  const name = splitName(rest);
  if (name === undefined) return describeBadName(rest);
  return { ...name, tag, digest };
}

/** Say which part of an invalid name is wrong (the name always has a domain when normalised). */
function describeBadName(name: string): string {
  const slash = name.indexOf('/');
  if (slash < 0) return `invalid repository name ${q(name)}`;
  const domain = name.slice(0, slash);
  if (!DOMAIN_RE.test(domain)) return `invalid registry host ${q(domain)}`;
  const bad = name.slice(slash + 1).split('/').find((c) => !PATH_COMPONENT_RE.test(c));
  if (bad === '' || bad === undefined) return 'invalid repository name: empty path component';
  return `invalid repository name component ${q(bad)}: only [a-z0-9] separated by ".", "_", "__" or "-"`;
}

/**
 * distribution's Parse: grammar check, uppercase diagnosis, path length, digest semantics.
 * `original` is what the user typed, used in messages.
 */
function parseRaw(s: string, original: string): ImageReference {
  const m = matchReference(s);
  if (typeof m === 'string') {
    const lower = s.toLowerCase();
    if (lower !== s && typeof matchReference(lower) !== 'string') {
      throw new InvalidArgumentError(`${ERR_FORMAT}: repository name must be lowercase: ${q(original)}`);
    }
    throw new InvalidArgumentError(`${ERR_FORMAT}: ${m} in ${q(original)}`);
  }
  if (m.domain.length + 1 + m.path.length > NAME_MAX_LENGTH) throw new InvalidArgumentError(ERR_NAME_TOO_LONG);
  const digest = m.digest === undefined ? undefined : parseDigest(m.digest, `${ERR_FORMAT}: ${q(original)}`);
  return new ImageReference(m.domain, m.path, m.tag, digest);
}

/** Docker's splitDockerDomain: decide whether the first component is a registry. */
function splitDockerDomain(s: string): { domain: string; remainder: string } {
  const slash = s.indexOf('/');
  if (slash < 0) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_REPO_PREFIX + s };
  const first = s.slice(0, slash);
  const after = s.slice(slash + 1);
  let domain: string;
  let remainder: string;
  if (first === 'localhost') {
    [domain, remainder] = [first, after];
  } else if (first === LEGACY_DEFAULT_DOMAIN) {
    [domain, remainder] = [DEFAULT_DOMAIN, after];
  } else if (first.includes('.') || first.includes(':') || first.toLowerCase() !== first) {
    // Looks like a host name, IP address or host:port; uppercase is never valid in a path.
    [domain, remainder] = [first, after];
  } else {
    [domain, remainder] = [DEFAULT_DOMAIN, s];
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/**
 * Parse a reference the way the Docker CLI does (ParseNormalizedNamed): `busybox` becomes
 * docker.io/library/busybox, `user/app` docker.io/user/app, `index.docker.io/x`
 * docker.io/library/x. No default tag is added (see withDefaultTag).
 */
export function parseNormalizedReference(s: string): Reference {
  if (IDENTIFIER_RE.test(s)) {
    throw new InvalidArgumentError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  if (s === '') throw new InvalidArgumentError(`${ERR_FORMAT}: empty reference`);
  const { domain, remainder } = splitDockerDomain(s);
  const colon = remainder.indexOf(':');
  const remote = colon >= 0 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw new InvalidArgumentError(`${ERR_FORMAT}: repository name (${remote}) must be lowercase`);
  }
  return parseRaw(`${domain}/${remainder}`, s);
}

/**
 * What Docker's CLI says of `s` as a name to give an image (distribution's
 * ParseNormalizedNamed, whose errors are short: "invalid reference format", "invalid
 * reference format: repository name must be lowercase", ...); undefined when it parses.
 */
export function dockerReferenceError(s: string): string | undefined {
  if (IDENTIFIER_RE.test(s)) return `invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`;
  if (s === '') return 'repository name must have at least one component';
  // Docker 20.10's splitDockerDomain: a first component is a registry only with a '.' or ':', or as localhost
  const slash = s.indexOf('/');
  const first = slash < 0 ? '' : s.slice(0, slash);
  const named = slash >= 0 && (/[.:]/.test(first) || first === 'localhost') ? s.slice(slash + 1) : s;
  const remote = named.includes(':') ? named.slice(0, named.indexOf(':')) : named;
  if (remote.toLowerCase() !== remote) return 'invalid reference format: repository name must be lowercase';
  const { domain, remainder } = splitDockerDomain(s);
  const full = `${domain}/${remainder}`;
  const m = matchReference(full);
  if (typeof m === 'string') return typeof matchReference(full.toLowerCase()) !== 'string' ? 'repository name must be lowercase' : 'invalid reference format';
  if (m.domain.length + 1 + m.path.length > NAME_MAX_LENGTH) return ERR_NAME_TOO_LONG;
  if (m.digest !== undefined) {
    try {
      parseDigest(m.digest, ERR_FORMAT);
    } catch (e) {
      if (e instanceof InvalidArgumentError) return ERR_FORMAT;
      throw e;
    }
  }
  return undefined;
}

/**
 * What Docker's CLI says of `s` as an image to run (distribution's ParseAnyReference): an image
 * ID (64 hex digits) or a digest (`sha256:<hex>`) is one; anything else must be a name
 * ({@link dockerReferenceError}, the empty name "invalid reference format"). Undefined when it parses.
 */
export function dockerAnyReferenceError(s: string): string | undefined {
  if (IDENTIFIER_RE.test(s)) return undefined;
  if (DIGEST_SHAPE_RE.test(s)) {
    try {
      parseDigest(s, ERR_FORMAT);
      return undefined;
    } catch (e) {
      if (!(e instanceof InvalidArgumentError)) throw e;
    }
  }
  return s === '' ? ERR_FORMAT : dockerReferenceError(s);
}

/**
 * Parse a reference that must already be in canonical form (ParseNamed): exactly what
 * `toString()` of the normalised reference prints, e.g. `docker.io/library/busybox:latest`.
 * Use for references read back from storage, where a familiar form means corruption or a bug.
 */
export function parseReference(s: string): Reference {
  const ref = parseNormalizedReference(s);
  const canonical = ref.toString();
  if (canonical !== s) {
    throw new InvalidArgumentError(`${ERR_FORMAT}: repository name must be canonical: ${q(s)} (canonical form: ${q(canonical)})`);
  }
  return ref;
}

/** Docker's ParseDockerRef: normalise, drop the tag when a digest is present, else add `latest`. */
export function parseDockerRef(s: string): Reference {
  const ref = parseNormalizedReference(s);
  if (ref.tag !== undefined && ref.digest !== undefined) return new ImageReference(ref.domain, ref.path, undefined, ref.digest);
  return withDefaultTag(ref);
}

/** True when the reference has neither tag nor digest. */
export function isNameOnly(ref: Reference): boolean {
  return ref.tag === undefined && ref.digest === undefined;
}

/** TagNameOnly: add the `latest` tag when the reference has neither tag nor digest. */
export function withDefaultTag(ref: Reference): Reference {
  return isNameOnly(ref) ? new ImageReference(ref.domain, ref.path, DEFAULT_TAG, undefined) : ref;
}

/** True when `tag` is a valid tag (`[\w][\w.-]{0,127}`). */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** The same repository with `tag` (replacing any tag; a digest is kept, as Docker does). */
export function withTag(ref: Reference, tag: string): Reference {
  if (!TAG_RE.test(tag)) {
    throw new InvalidArgumentError(`invalid tag ${q(tag)}: a tag is up to 128 of [A-Za-z0-9_.-] and cannot start with "." or "-"`);
  }
  return new ImageReference(ref.domain, ref.path, tag, ref.digest);
}

/** The same repository with `digest` (replacing any digest; a tag is kept). */
export function withDigest(ref: Reference, digest: Digest | string): Reference {
  return new ImageReference(ref.domain, ref.path, ref.tag, parseDigest(digest, `reference ${q(ref.name)}`));
}

/** TrimNamed: the repository alone, without tag or digest. */
export function nameOnly(ref: Reference): Reference {
  return isNameOnly(ref) ? ref : new ImageReference(ref.domain, ref.path, undefined, undefined);
}

/** FamiliarName: `busybox`, `user/app`, `localhost:5000/app`. */
export function familiarName(ref: Reference): string {
  return ref.familiarName;
}

/** FamiliarString: `busybox:latest`, `user/app@sha256:...`. */
export function familiarString(ref: Reference): string {
  return ref.familiarString();
}

/** The REPOSITORY, TAG and DIGEST columns `docker images [--digests]` prints for a reference. */
export function imageListColumns(ref: Reference): { repository: string; tag: string; digest: string } {
  return {
    repository: ref.familiarName,
    tag: ref.tag ?? '<none>',
    digest: ref.digest ?? '<none>',
  };
}
