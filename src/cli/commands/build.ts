/**
 * `cairn build PATH`: the Dockerfile built into an image (build/builder.ts), BuildKit's plain
 * progress on stderr (`-q`: only the image ID on stdout). `--check`: the frontend's build
 * checks without building, findings as `docker build --check` prints them (or JSON with
 * `--format json`); exit 1 when there are findings.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { checkDockerfile, dockerignoreCandidates, formatCheckReport, parseDockerignore } from '../../dockerfile/index.js';
import { InvalidArgumentError, errnoCode } from '../../errors.js';
import { BuildStepError } from '../../build/builder.js';
import { BaseImageError } from '../../build/base-pull.js';
import { PlainProgress, QuietProgress } from '../../build/progress.js';
import { parseCacheSpec } from '../../build/cache-transfer.js';
import { parseSecretSpec } from '../../build/secrets.js';
import { goJson } from '../format.js';
import { out, withCairn } from '../context.js';

interface Opts {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  label: string[];
  iidfile?: string;
  network: string;
  secret: string[];
  cache: boolean;
  /** `--no-cache-filter` (commander names it after its `no-` prefix). */
  cacheFilter: string[];
  explainCache?: boolean;
  cacheTo: string[];
  cacheFrom: string[];
  pull?: boolean;
  quiet?: boolean;
  progress: string;
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

/** `--label K=V` (or `K`: an empty value), as Docker's CLI reads them. */
export function parseLabels(values: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i === 0) throw new InvalidArgumentError(`invalid label ${JSON.stringify(v)}: empty name`);
    if (i < 0) labels[v] = '';
    else labels[v.slice(0, i)] = v.slice(i + 1);
  }
  return labels;
}

/** SOURCE_DATE_EPOCH from a build argument, else the environment: whole seconds since 1970, or undefined when unset or empty. */
export function sourceDateEpoch(buildArgs: Record<string, string>, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = buildArgs.SOURCE_DATE_EPOCH ?? env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new InvalidArgumentError(`invalid SOURCE_DATE_EPOCH ${JSON.stringify(text)}: want whole seconds since 1970-01-01`);
  return Number(text);
}

export async function run(program: Command, cmd: Command, context: string): Promise<void> {
  const o = cmd.opts<Opts>();
  const contextDir = resolve(context);
  const dockerfilePath = o.file ? resolve(o.file) : join(contextDir, 'Dockerfile');
  let text: string;
  try {
    text = await readFile(dockerfilePath, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new InvalidArgumentError(`failed to read dockerfile: open ${dockerfilePath}: no such file or directory`);
    throw e;
  }
  const dockerignore = await readDockerignore(contextDir, dockerfilePath);
  const buildArgs = parseBuildArgs(o.buildArg);
  if (o.check) {
    const report = checkDockerfile({ text, file: basename(dockerfilePath), dockerignore, buildArgs, ...(o.target ? { target: o.target } : {}) });
    if (o.format === 'json') out(goJson(report, 2) + '\n');
    else out(formatCheckReport(report, text));
    process.exitCode = report.exitCode;
    return;
  }
  if (!['auto', 'plain', 'tty', 'quiet'].includes(o.progress)) throw new InvalidArgumentError(`invalid progress mode ${JSON.stringify(o.progress)}: use auto, plain, tty or quiet`);
  if (!['default', 'host', 'none'].includes(o.network)) throw new InvalidArgumentError(`network mode ${JSON.stringify(o.network)} not supported by the builder: use default, host or none`);
  const secrets = o.secret.map((s) => parseSecretSpec(s));
  const epoch = sourceDateEpoch(buildArgs);
  const cacheTo = o.cacheTo.map((c) => parseCacheSpec(c, '--cache-to'));
  const cacheFrom = o.cacheFrom.map((c) => parseCacheSpec(c, '--cache-from'));
  const quiet = o.quiet === true || o.progress === 'quiet';
  const progress = quiet ? new QuietProgress() : new PlainProgress((t) => process.stderr.write(t));
  await withCairn(program, async (cairn) => {
    let result;
    try {
      result = await cairn.build({
        contextDir,
        dockerfile: { text, name: basename(dockerfilePath) },
        dockerignore,
        tags: o.tag,
        buildArgs,
        ...(o.target !== undefined ? { target: o.target } : {}),
        labels: parseLabels(o.label),
        network: o.network as 'default' | 'host' | 'none',
        ...(secrets.length > 0 ? { secrets } : {}),
        progress,
        noCache: !o.cache,
        ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
        ...(cacheTo.length > 0 ? { cacheTo } : {}),
        ...(cacheFrom.length > 0 ? { cacheFrom } : {}),
        noCacheFilter: o.cacheFilter.flatMap((f) => f.split(',')).filter((f) => f !== ''),
        ...(o.explainCache ? { explainCache: true } : {}),
        ...(o.pull ? { pull: true } : {}),
      });
    } catch (e) {
      if ((e instanceof BuildStepError || e instanceof BaseImageError) && !quiet) process.stderr.write(e.box);
      throw e;
    }
    if (o.iidfile !== undefined) await writeFile(o.iidfile, result.imageId);
    if (quiet) out(`${result.imageId}\n`);
  });
}
