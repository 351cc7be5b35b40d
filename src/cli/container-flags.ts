/**
 * `create`'s and `run`'s flags, as commander hands them over, parsed by the container module
 * (container/options.ts: Docker's checks, order and messages) after the `--env-file` and
 * `--label-file` files are read here; a flag error said as Docker's flag parser says it, and
 * the other errors of `run` and `create` as Docker's CLI frames them.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { CreateFlagError } from '../container/errors.js';
import { WorkingDirError } from '../runtime/rootpath.js';
import { CairnError, errnoCode, errorLine } from '../errors.js';
import { filesToRead, parseCreateFlags, type CreateOptions, type FileContent, type RawCreateFlags } from '../container/options.js';

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

/**
 * An error of `run` or `create` as Docker's CLI says it (cli/command/container: reportError):
 * - a check of the CLI: `cairn: MSG.` and `See 'cairn run --help'.` (or `create`), exit 125 —
 *   one Docker returns as it is (`-a` with `-d`, exit 1) bare;
 * - `run`, anything else: `cairn: Error: MSG.` (Docker: "docker: Error response from daemon:
 *   MSG."), with the help hint when the container could not be made (`stage` 'create'), exit
 *   125, or the runtime's 126/127 when its command could not be invoked or found;
 * - `create`, anything else: `Error: MSG` as it is; a check Docker's daemon makes exits 1 (as
 *   Docker's create does; `run` exits 125 for it).
 * The result is bare: main prints it as it is.
 */
export function containerError(e: CairnError, command: 'run' | 'create', stage: 'create' | 'start'): CairnError {
  const framed = (text: string, help: boolean, exitCode: number): CairnError =>
    new CairnError(e.code, `cairn: ${text.replace(/\.$/, '')}.${help ? `\nSee 'cairn ${command} --help'.` : ''}`, { cause: e, exitCode, bare: true });
  if (e instanceof CreateFlagError && e.stage === 'client') {
    return e.exitCode === 1 ? new CairnError(e.code, e.message, { cause: e, exitCode: 1, bare: true }) : framed(e.message, true, e.exitCode);
  }
  if (command === 'run') {
    const runtimeCode = e.exitCode === 126 || e.exitCode === 127 ? e.exitCode : 125;
    // Docker makes the working directory when it creates the container; cairn when it starts it
    const made = stage === 'create' || e instanceof WorkingDirError || e.cause instanceof WorkingDirError;
    return framed(errorLine(e), made, stage === 'start' ? runtimeCode : 125);
  }
  if (e instanceof CreateFlagError && e.stage === 'daemon') return new CairnError(e.code, e.message, { cause: e, exitCode: 1 });
  return e;
}
