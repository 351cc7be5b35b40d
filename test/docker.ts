/**
 * Docker as a peer in interop tests: Debian's docker.io (dockerd 20.10, installed by
 * scripts/setup.sh). The machines cairn is tested on have no service manager, so a test
 * that needs the daemon starts it when it does not answer yet — without a bridge or
 * iptables/NAT rules, which would change the host's network — and stops it again
 * afterwards; a daemon that was already running is left alone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's docker CLI, by path: another docker CLI (without the 20.10 daemon's defaults) may come first in PATH. */
export const DOCKER = '/usr/bin/docker';
export const DOCKERD = '/usr/sbin/dockerd';

/** Run the docker client; its stdout, or an error with its stderr (a test's failure). */
export function docker(args: string[], input?: Buffer): string {
  const r = spawnSync(DOCKER, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...(input ? { input } : {}), timeout: 120_000 });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function answers(): boolean {
  return spawnSync(DOCKER, ['info'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

export interface DockerDaemon {
  /** Whether this process started the daemon (and stop() will end it). */
  started: boolean;
  stop(): Promise<void>;
}

/** Make sure dockerd answers `docker info`; start it (and wait up to a minute) if it does not. */
export async function ensureDockerd(): Promise<DockerDaemon> {
  if (answers()) return { started: false, stop: async () => undefined };
  const log = join(tmpdir(), `cairn-dockerd-${process.pid}.log`);
  const fd = openSync(log, 'w');
  let child: ChildProcess;
  try {
    child = spawn(
      DOCKERD,
      ['--data-root', '/var/lib/docker', '--storage-driver', 'overlay2', '--iptables=false', '--ip-masq=false', '--bridge=none', '--pidfile', '/run/dockerd.pid'],
      { detached: true, stdio: ['ignore', fd, fd] },
    );
  } finally {
    closeSync(fd);
  }
  let spawnError: Error | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (e) => {
      spawnError = e; // e.g. no dockerd installed: reported below
      resolve();
    });
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const stop = async (): Promise<void> => {
    if (!gone) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(log, { force: true });
  };
  const deadline = Date.now() + 60_000;
  while (!answers()) {
    if (spawnError !== null) {
      await stop();
      throw spawnError;
    }
    if (gone || Date.now() > deadline) {
      const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n');
      await stop();
      throw new Error(`dockerd did not start; the end of its log:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { started: true, stop };
}
