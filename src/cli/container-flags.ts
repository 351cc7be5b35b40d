/**
 * `create`'s and `run`'s flags, as commander hands them over, parsed by the container module
 * (container/options.ts: Docker's checks, order and messages) after the `--env-file` and
 * `--label-file` files are read here; and a flag error said as Docker's flag parser says it.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { CreateFlagError } from '../container/errors.js';
import { filesToRead, parseCreateFlags, type CreateOptions, type FileContent, type RawCreateFlags } from '../container/options.js';
import { errnoCode } from '../errors.js';

/** commander's names of the flags (camelCase; `--no-healthcheck` arrives as `healthcheck: false`). */
export interface CreateFlags extends Omit<RawCreateFlags, 'command' | 'image' | 'args' | 'noHealthcheck'> {
  healthcheck?: boolean;
  pull: string;
  quiet?: boolean;
}

function readFiles(names: readonly string[]): Map<string, FileContent> {
  const out = new Map<string, FileContent>();
  for (const n of names) {
    try {
      out.set(n, readFileSync(n));
    } catch (e) {
      const code = errnoCode(e);
      if (code === undefined) throw e;
      out.set(n, { errno: code });
    }
  }
  return out;
}

/** The container's options from the image named, the command after it and the flags. */
export function createOptionsFromFlags(command: 'run' | 'create', image: string, args: string[], o: CreateFlags): CreateOptions {
  const { healthcheck, pull: _pull, quiet: _quiet, ...rest } = o;
  const raw: RawCreateFlags = { ...rest, command, image, args, ...(healthcheck === false ? { noHealthcheck: true } : {}) };
  return parseCreateFlags(raw, {
    getenv: (k) => process.env[k],
    files: readFiles(filesToRead(raw)),
    cpuCount: availableParallelism(),
  });
}

/** The variables of `--env-file` files, in order (exec's flag). */
export function envFromFiles(files: readonly string[]): string[] {
  if (files.length === 0) return [];
  const opts = parseCreateFlags({ command: 'create', image: 'x', envFile: [...files] }, { getenv: (k) => process.env[k], files: readFiles(files), cpuCount: availableParallelism() });
  return opts.env;
}

/**
 * A flag's value refused by the flag parser, said as Docker's CLI says it: the message and the
 * help hint on stderr, no "Error:" prefix, exit 125. True when `e` was one.
 */
export function reportFlagError(e: unknown, commandPath: string): boolean {
  if (!(e instanceof CreateFlagError) || e.stage !== 'flag') return false;
  process.stderr.write(`${e.message}\nSee '${commandPath} --help'.\n`);
  process.exitCode = e.exitCode;
  return true;
}
