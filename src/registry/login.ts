/**
 * `login` and `logout`: credentials checked against the registry (its /v2/ answered with them,
 * through a token when it asks for one) and then kept where Docker keeps them
 * (credentials.ts); removed again by logout.
 */
import { parseNormalizedReference } from '../reference/reference.js';
import { RegistryClient } from './client.js';
import { loadRegistryConfig, type RegistryConfig } from './config.js';
import { type Credentials, defaultConfigPath, removeCredentials, storeCredentials } from './credentials.js';

export interface LoginOptions {
  authfile?: string;
  insecure?: readonly string[];
  /** Insecure registries configured (default: cairn's configuration file, see config.ts). */
  registries?: RegistryConfig;
}

/** The registry a login names: a host (`127.0.0.1:5000`, `https://host/v1/`), default Docker Hub. */
export function loginServer(server: string | undefined): string {
  if (server === undefined || server === '') return 'docker.io';
  const bare = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (bare === 'index.docker.io' || bare === 'registry-1.docker.io' || bare === 'docker.io') return 'docker.io';
  // a host the reference grammar accepts (lower case, port)
  return parseNormalizedReference(`${bare}/x`).domain;
}

/** Check the credentials with the registry, then store them; returns the file written. */
export async function login(server: string | undefined, creds: Credentials, opts: LoginOptions = {}): Promise<string> {
  const host = loginServer(server);
  const insecure = [...(opts.insecure ?? []), ...(opts.registries ?? loadRegistryConfig()).insecure];
  const client = new RegistryClient(host, { credentials: creds, ...(insecure.length ? { insecure } : {}) });
  await client.checkLogin();
  const file = opts.authfile ?? defaultConfigPath();
  storeCredentials(host, creds, file);
  return file;
}

/** Forget the credentials of a registry; false when there were none. */
export function logout(server: string | undefined, opts: LoginOptions = {}): { host: string; removed: boolean } {
  const host = loginServer(server);
  return { host, removed: removeCredentials(host, opts.authfile ?? defaultConfigPath()) };
}
