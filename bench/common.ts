/**
 * What the benchmarks share: running a command (failing loudly), dropping the page cache before a
 * timed step, timing a command under /usr/bin/time (wall time measured here, peak RSS and CPU
 * time from time's report; `timedQuick` for short commands), and medians.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { DOCKER } from '../test/docker.js';
import { spawnProcess, waitProcess } from '../src/native/index.js';
import { performance } from 'node:perf_hooks';

const TIME = '/usr/bin/time';

export interface Sample {
  ms: number;
  rssKb: number;
  /** User + system CPU time of the command and its children. */
  cpuMs: number;
}

/** Run a command; its stdout, or an error with its stderr when it fails. */
export function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...(env ? { env } : {}) });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** `sync; echo 1 > /proc/sys/vm/drop_caches` (root only). */
export function dropCaches(): void {
  sh('sync', []);
  writeFileSync('/proc/sys/vm/drop_caches', '1\n');
}

/** Run argv under /usr/bin/time; wall time measured here (spawn overhead is the same for all). */
export function timed(argv: string[], env: NodeJS.ProcessEnv, rssFile: string): Sample {
  const t0 = performance.now();
  const r = spawnSync(TIME, ['-f', '%M %U %S', '-o', rssFile, ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  const [rss, user, sys] = readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { ms, rssKb: rss!, cpuMs: (user! + sys!) * 1000 };
}

/**
 * timed() for commands of a few tens of milliseconds, in this process's environment: the same
 * /usr/bin/time, started with posix_spawn and waited for on a pidfd (cairn's addon) instead of
 * spawnSync, whose fork of this Node process (its page tables copied, then dropped by exec)
 * added ~1 ms to every sample of every tool — a constant that pulls ratios towards 1.
 * The command's stderr is kept in `${rssFile}.stderr`; its stdout in `outFile` when given
 * (otherwise it goes to /dev/null).
 */
export async function timedQuick(argv: string[], rssFile: string, outFile?: string): Promise<Sample> {
  const errFile = `${rssFile}.stderr`;
  const fds = [openSync('/dev/null', 'r'), openSync(outFile ?? '/dev/null', 'w'), openSync(errFile, 'w')] as const;
  let status: number;
  let ms: number;
  try {
    const t0 = performance.now();
    const child = spawnProcess(TIME, [TIME, '-f', '%M %U %S', '-o', rssFile, ...argv], fds);
    status = await waitProcess(child);
    ms = performance.now() - t0;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  if (status !== 0) throw new Error(`${argv.join(' ')} exited ${status}: ${readFileSync(errFile, 'utf8')}`);
  const [rss, user, sys] = readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { ms, rssKb: rss!, cpuMs: (user! + sys!) * 1000 };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Drop the page cache, then leave the machine quiet for `settle` seconds. */
export function settleDown(settle: number): void {
  dropCaches();
  if (settle > 0) spawnSync('sleep', [String(settle)]);
}

/** Deterministic incompressible bytes: AES-128-CTR over zeros, keyed by the seed. */
export function pseudoRandom(size: number, seed: number): Buffer {
  const key = createHash('sha256').update(`cairn-bench-registry-${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Bytes used by these paths, as one `du -s -B1` (a hard-linked file counts once); missing paths count 0. */
export function duBytes(paths: string[]): number {
  const present = paths.filter((p) => existsSync(p));
  if (present.length === 0) return 0;
  return sh('du', ['-s', '-B1', ...present]).trim().split('\n').reduce((n, line) => n + Number(line.split('\t')[0]), 0);
}

/**
 * docker's images holding any of `diffIds` (a leftover of another benchmark on the same base):
 * while one is there, docker reuses that layer ("Already exists") instead of doing the work
 * being measured, so a benchmark removes them first.
 */
export function dockerImagesHolding(diffIds: Set<string>): string[] {
  const ids = sh(DOCKER, ['images', '-a', '-q', '--no-trunc']).split('\n').filter((l) => l !== '');
  if (ids.length === 0) return [];
  const inspected = JSON.parse(sh(DOCKER, ['image', 'inspect', ...new Set(ids)])) as Array<{ Id: string; RootFS?: { Layers?: string[] } }>;
  return inspected.filter((i) => (i.RootFS?.Layers ?? []).some((l) => diffIds.has(l))).map((i) => i.Id);
}
