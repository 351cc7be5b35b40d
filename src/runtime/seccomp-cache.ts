/**
 * Compiled seccomp filters, kept: turning the default profile (some 350 syscall rules) into
 * BPF costs crun ~16 ms of every container start here — more than everything else it does.
 * crun has a cache of its own, but only where it was built to compute the profile's checksum,
 * and Debian's 1.8.1 never uses it. So cairn keeps one: a filter is compiled once by crun
 * itself (a `create` of a throwaway container with the same seccomp section and an empty root,
 * whose `seccomp.bpf` crun writes into its state directory; then deleted), and later
 * containers hand crun the compiled bytes in its `run.oci.seccomp_bpf_data` annotation (base64),
 * which crun loads as they are instead of compiling.
 *
 * Entries are keyed by the SHA-256 of the seccomp section and of the crun binary's identity
 * (path, size, mtime): another profile, other capabilities or another crun is another entry.
 * Written atomically; a partial or unreadable entry is compiled again.
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashDigest, hashNew, hashUpdate } from '../native/index.js';
import { randomBytes } from '../random.js';
import type { OciSeccomp } from './seccomp.js';
import type { OciSpec } from './spec.js';
import { readTextIfPresent } from '../text-file.js';

/** crun's annotation for a precompiled filter. */
export const BPF_ANNOTATION = 'run.oci.seccomp_bpf_data';

/** The cache key of `seccomp` for the runtime binary `binaryIdentity` (hashed by the addon: node:crypto costs a start ~2 ms to load). */
export async function seccompKey(seccomp: OciSeccomp, binaryIdentity: string): Promise<string> {
  const h = hashNew('sha256');
  await hashUpdate(h, [Buffer.from(`${binaryIdentity}\0${JSON.stringify(seccomp)}`)]);
  return hashDigest(h);
}

/** A binary's identity for the cache: its path, size and modification time. */
export function binaryIdentity(path: string): string {
  const st = statSync(path);
  return `${path}:${st.size}:${st.mtimeMs}`;
}

/** The cached filter (base64) of `key`, if there is one. */
export function cachedFilter(dir: string, key: string): string | undefined {
  const text = readTextIfPresent(join(dir, key));
  return text !== undefined && /^[A-Za-z0-9+/]+=*$/.test(text) ? text : undefined;
}

export function storeFilter(dir: string, key: string, bpf: Buffer): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const b64 = bpf.toString('base64');
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, b64, { mode: 0o600 });
  renameSync(tmp, join(dir, key));
  return b64;
}

/**
 * The spec of the throwaway container that makes crun compile `seccomp`: nothing but an empty
 * root (`rootfs`), a mount namespace and the filter; it is created, never started.
 */
export function compileSpec(seccomp: OciSeccomp, rootfs: string, id: string): OciSpec {
  return {
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/never-started'], env: [], cwd: '/', capabilities: { bounding: [], effective: [], permitted: [] } },
    root: { path: rootfs, readonly: true },
    hostname: '',
    mounts: [],
    annotations: {},
    linux: { namespaces: [{ type: 'mount' }], resources: { devices: [] }, cgroupsPath: `/cairn/${id}`, seccomp },
  };
}

/** Remove a compile's scratch directory. */
export function dropScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
