/**
 * `cairn build --check`: the Dockerfile frontend's plan and build checks, without building
 * (the builder itself comes with a later issue). Findings as `docker build --check` prints
 * them, or the report as JSON with `--format json`; exit 1 when there are findings.
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { checkDockerfile, dockerignoreCandidates, formatCheckReport, parseDockerignore } from '../../dockerfile/index.js';
import { InvalidArgumentError, UnsupportedError, errnoCode } from '../../errors.js';
import { goJson } from '../format.js';
import { out } from '../context.js';

interface Opts {
  file?: string;
  buildArg: string[];
  target?: string;
  check?: boolean;
  format?: string;
}

/** `--build-arg K=V`, or `--build-arg K` to take K from the environment (as Docker). */
export function parseBuildArgs(args: string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const i = a.indexOf('=');
    if (i === 0) throw new InvalidArgumentError(`invalid build-arg ${JSON.stringify(a)}: empty name`);
    if (i < 0) {
      const v = env[a];
      if (v !== undefined) out[a] = v;
    } else out[a.slice(0, i)] = a.slice(i + 1);
  }
  return out;
}

/**
 * The patterns of the .dockerignore that applies to a build: the first of
 * dockerignoreCandidates that exists; none when there is no ignore file.
 */
export async function readDockerignore(contextDir: string, dockerfilePath: string): Promise<string[]> {
  for (const file of dockerignoreCandidates(contextDir, dockerfilePath)) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') continue;
      throw e;
    }
    return parseDockerignore(text);
  }
  return [];
}

export async function run(_program: Command, cmd: Command, context: string): Promise<void> {
  const o = cmd.opts<Opts>();
  if (!o.check) throw new UnsupportedError('build: this version runs only `build --check`; building images comes with the builder');
  const contextDir = resolve(context);
  const dockerfilePath = o.file ? resolve(o.file) : join(contextDir, 'Dockerfile');
  let text: string;
  try {
    text = await readFile(dockerfilePath, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new InvalidArgumentError(`failed to read dockerfile: open ${dockerfilePath}: no such file or directory`);
    throw e;
  }
  const report = checkDockerfile({
    text,
    file: basename(dockerfilePath),
    dockerignore: await readDockerignore(contextDir, dockerfilePath),
    buildArgs: parseBuildArgs(o.buildArg),
    ...(o.target ? { target: o.target } : {}),
  });
  if (o.format === 'json') out(goJson(report, 2) + '\n');
  else out(formatCheckReport(report, text));
  process.exitCode = report.exitCode;
}
