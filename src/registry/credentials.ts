/**
 * Registry credentials where Docker keeps them: the client configuration file
 * (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; `--authfile` names another), its
 * `auths` (base64 `user:password` per registry; Docker Hub under `https://index.docker.io/v1/`),
 * and its credential helpers (`credHelpers` per registry, `credsStore` for all): the program
 * `docker-credential-NAME`, asked with `get` and the server on stdin, as Docker asks it.
 * `login` stores into the same file (or the helper), `logout` removes.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { errnoCode, InvalidArgumentError } from '../errors.js';

export interface Credentials {
  username: string;
  password: string;
}

/** Docker Hub's key in the auths map. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

export function defaultConfigPath(): string {
  const dir = process.env.DOCKER_CONFIG || join(homedir(), '.docker');
  return join(dir, 'config.json');
}

/** The auths key for a registry host (`docker.io` is Docker Hub's URL key). */
export function authKey(host: string): string {
  return host === 'docker.io' || host === 'registry-1.docker.io' || host === 'index.docker.io' ? DOCKER_HUB_AUTH_KEY : host;
}

function readConfig(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return {};
    throw e;
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as ConfigFile;
  } catch (e) {
    throw new InvalidArgumentError(`${path}: invalid client configuration: ${(e as Error).message}`);
  }
}

/** Keys an auths entry may be under for `host` (Docker accepts `https://host`, `http://host/v2/`, …). */
function matches(key: string, host: string): boolean {
  const want = authKey(host);
  if (key === want) return true;
  const stripped = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return want !== DOCKER_HUB_AUTH_KEY && stripped === host;
}

function helperGet(helper: string, server: string): Credentials | undefined {
  const r = spawnSync(`docker-credential-${helper}`, ['get'], { input: server, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new InvalidArgumentError(`credential helper docker-credential-${helper}: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found in PATH' : r.error.message}`);
  if (r.status !== 0) {
    if (/credentials not found/i.test(r.stdout + r.stderr)) return undefined;
    throw new InvalidArgumentError(`credential helper docker-credential-${helper} failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  }
  try {
    const o = JSON.parse(r.stdout) as { Username?: unknown; Secret?: unknown };
    if (typeof o.Username !== 'string' || typeof o.Secret !== 'string') throw new Error('no Username and Secret');
    return { username: o.Username, password: o.Secret };
  } catch (e) {
    throw new InvalidArgumentError(`credential helper docker-credential-${helper} answered badly: ${(e as Error).message}`);
  }
}

/** The credentials stored for `host`, if any. */
export function lookupCredentials(host: string, configPath = defaultConfigPath()): Credentials | undefined {
  const cfg = readConfig(configPath);
  const helper = cfg.credHelpers?.[authKey(host)] ?? cfg.credHelpers?.[host] ?? cfg.credsStore;
  if (helper) return helperGet(helper, authKey(host));
  for (const [key, entry] of Object.entries(cfg.auths ?? {})) {
    if (!matches(key, host)) continue;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new InvalidArgumentError(`${configPath}: the auth of ${key} is not base64 of user:password`);
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/** Write the configuration atomically, readable by its owner only (it holds passwords). */
function writeConfig(path: string, cfg: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(cfg, null, '\t')}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Store credentials for `host` (login). */
export function storeCredentials(host: string, creds: Credentials, configPath = defaultConfigPath()): void {
  const cfg = readConfig(configPath);
  const helper = cfg.credHelpers?.[authKey(host)] ?? cfg.credsStore;
  if (helper) {
    const r = spawnSync(`docker-credential-${helper}`, ['store'], { input: JSON.stringify({ ServerURL: authKey(host), Username: creds.username, Secret: creds.password }), encoding: 'utf8', timeout: 30_000 });
    if (r.error || r.status !== 0) throw new InvalidArgumentError(`credential helper docker-credential-${helper} could not store the credentials`);
    return;
  }
  cfg.auths = { ...(cfg.auths ?? {}) };
  for (const key of Object.keys(cfg.auths)) if (matches(key, host)) delete cfg.auths[key];
  cfg.auths[authKey(host)] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  writeConfig(configPath, cfg);
}

/** Remove the credentials for `host` (logout); false when there were none. */
export function removeCredentials(host: string, configPath = defaultConfigPath()): boolean {
  const cfg = readConfig(configPath);
  const helper = cfg.credHelpers?.[authKey(host)] ?? cfg.credsStore;
  if (helper) {
    const r = spawnSync(`docker-credential-${helper}`, ['erase'], { input: authKey(host), encoding: 'utf8', timeout: 30_000 });
    return !r.error && r.status === 0;
  }
  const keys = Object.keys(cfg.auths ?? {}).filter((k) => matches(k, host));
  if (keys.length === 0) return false;
  for (const k of keys) delete cfg.auths![k];
  writeConfig(configPath, cfg);
  return true;
}
