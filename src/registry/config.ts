/**
 * cairn's configuration file for registries: `$CAIRN_CONFIG`, else `/etc/cairn/config.json`
 * (none: nothing configured). JSON, in the words of Docker's daemon.json where it has them:
 *
 * ```json
 * { "registry-mirrors": ["https://mirror.example"],
 *   "insecure-registries": ["registry.example:5000"],
 *   "registries": { "quay.io": { "mirrors": ["mirror.example/quay", "http://10.0.0.5:5000"] } } }
 * ```
 *
 * `registry-mirrors` are Docker Hub's (as Docker's: a scheme, no path); `registries.HOST.mirrors`
 * are any registry's, each `[scheme://]host[:port][/path-prefix]` (as Podman's registries.conf
 * has them; https when no scheme is given, http only when named). `insecure-registries` may use
 * plain http or an unverified certificate. A pull tries each mirror in order, then the registry
 * itself; a push goes to the registry only.
 */
import { readFileSync } from 'node:fs';
import { errnoCode, InvalidArgumentError } from '../errors.js';
import { DEFAULT_DOMAIN } from '../reference/reference.js';

export const DEFAULT_CONFIG_FILE = '/etc/cairn/config.json';

/** One mirror of a registry: where its API answers, and the repository path prefix there. */
export interface Mirror {
  /** `host[:port]`, as a reference's domain. */
  domain: string;
  /** Put before the repository path (`quay` in `mirror.example/quay`); empty for none. */
  prefix: string;
  /** Named with `http://`: plain http allowed. */
  insecure: boolean;
}

export interface RegistryConfig {
  /** Mirrors of `domain`, in the order to try them. */
  mirrors(domain: string): Mirror[];
  /** Hosts allowed plain http and unverified certificates. */
  insecure: string[];
}

export const EMPTY_CONFIG: RegistryConfig = { mirrors: () => [], insecure: [] };

/** The configuration in `path` (default: `$CAIRN_CONFIG`, else /etc/cairn/config.json if it exists). */
export function loadRegistryConfig(path?: string): RegistryConfig {
  const file = path ?? process.env.CAIRN_CONFIG ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' && path === undefined && process.env.CAIRN_CONFIG === undefined) return EMPTY_CONFIG;
    throw new InvalidArgumentError(`configuration file ${file}: ${(e as Error).message}`);
  }
  return parseRegistryConfig(text, file);
}

/** Parse the configuration's JSON text; `file` names it in errors. */
export function parseRegistryConfig(text: string, file: string): RegistryConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`configuration file ${file}: ${(e as Error).message}`);
  }
  const bad = (key: string, what: string): InvalidArgumentError => new InvalidArgumentError(`configuration file ${file}: ${key}: ${what}`);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('(top)', 'must be a JSON object');
  const o = doc as Record<string, unknown>;
  const strings = (key: string, v: unknown): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw bad(key, 'must be a list of strings');
    return v as string[];
  };
  const byDomain = new Map<string, Mirror[]>();
  byDomain.set(
    DEFAULT_DOMAIN,
    strings('registry-mirrors', o['registry-mirrors']).map((m, i) => parseMirror(m, true, (what) => bad(`registry-mirrors[${i}]`, what))),
  );
  const regs = o['registries'];
  if (regs !== undefined) {
    if (typeof regs !== 'object' || regs === null || Array.isArray(regs)) throw bad('registries', 'must be an object keyed by registry host');
    for (const [host, entry] of Object.entries(regs as Record<string, unknown>)) {
      const key = `registries.${host}`;
      if (!/^[A-Za-z0-9.-]+(:[0-9]+)?$/.test(host) && !/^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$/.test(host)) throw bad(key, 'is not a registry host[:port]');
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw bad(key, 'must be an object');
      const domain = host === 'docker.io' || host === 'index.docker.io' ? DEFAULT_DOMAIN : host;
      const list = strings(`${key}.mirrors`, (entry as Record<string, unknown>)['mirrors']).map((m, i) => parseMirror(m, false, (what) => bad(`${key}.mirrors[${i}]`, what)));
      byDomain.set(domain, [...(byDomain.get(domain) ?? []), ...list]);
    }
  }
  const insecure = strings('insecure-registries', o['insecure-registries']);
  return { mirrors: (domain) => byDomain.get(domain) ?? [], insecure };
}

/** `[scheme://]host[:port][/prefix]`; Docker's `registry-mirrors` need the scheme and take no path. */
function parseMirror(s: string, dockerStyle: boolean, bad: (what: string) => InvalidArgumentError): Mirror {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
  if (dockerStyle && !hasScheme) throw bad(`${JSON.stringify(s)} needs a scheme (https:// or http://)`);
  let url: URL;
  try {
    url = new URL(hasScheme ? s : `https://${s}`);
  } catch {
    throw bad(`${JSON.stringify(s)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad(`${JSON.stringify(s)}: unsupported scheme ${url.protocol.replace(':', '')}`);
  if (url.username || url.password || url.search || url.hash) throw bad(`${JSON.stringify(s)}: credentials, query or fragment are not allowed`);
  const prefix = url.pathname.replace(/^\/+|\/+$/g, '');
  if (dockerStyle && prefix !== '') throw bad(`${JSON.stringify(s)}: a path is not allowed`);
  if (prefix !== '' && !/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(prefix)) throw bad(`${JSON.stringify(s)}: ${prefix} is not a repository path`);
  return { domain: url.host, prefix, insecure: url.protocol === 'http:' };
}
