/**
 * `cairn build PATH | -`: the Dockerfile built into an image (build/builder.ts), BuildKit's plain
 * progress on stderr (`-q`: only the image ID on stdout). `--check`: the frontend's build
 * checks without building, findings as `docker build --check` prints them (or JSON with
 * `--format json`); exit 1 when there are findings.
 *
 * Inputs and outputs as Docker's and buildx's flags: `-f -` reads the Dockerfile from stdin;
 * context `-` reads a (compressed) tar archive of the context from stdin, extracted into a
 * scratch directory of the store for the build (build/stdin-context.ts) — or, when stdin is
 * no archive, a Dockerfile with an empty context; `--build-context NAME=DIR|docker-image://REF`
 * (build/named-contexts.ts); `-o/--output` (build/outputs.ts); `--platform` (build/platform.ts).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Cairn } from '../../engine.js';
import { parseBuildContext, type NamedContext } from '../../build/named-contexts.js';
import { parseOutputs, type OutputRequest } from '../../build/outputs.js';
import { readStdinContext } from '../../build/stdin-context.js';
import { hostPlatform, parsePlatformSpecifier, platformString } from '../../oci/platform.js';
import { resolveInRoot } from '../../runtime/rootpath.js';
import type { Command } from 'commander';
import { checkDockerfile, dockerignoreCandidates, formatCheckReport, parseDockerignore } from '../../dockerfile/index.js';
import { InvalidArgumentError, errnoCode } from '../../errors.js';
import { BuildStepError } from '../../build/builder.js';
import { BaseImageError } from '../../build/base-pull.js';
import { PlainProgress, QuietProgress, TtyProgress, type BuildProgress } from '../../build/progress.js';
import { parseCacheSpec } from '../../build/cache-transfer.js';
import { parseSecretSpec } from '../../build/secrets.js';
import { goJson } from '../format.js';
import { flagError, out, withCairn } from '../context.js';
import { dockerReferenceError } from '../../reference/reference.js';

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
  squash?: boolean;
  quiet?: boolean;
  progress: string;
  check?: boolean;
  format?: string;
  output: string[];
  buildContext: string[];
  platform?: string;
}

/** The Dockerfile and the context of a build, wherever they came from. */
interface Inputs {
  contextDir: string;
  text: string;
  /** The Dockerfile's name in messages. */
  name: string;
  dockerignore: string[];
}

const STDIN_CONFLICT = "invalid argument: can't use stdin for both build context and dockerfile";
const DOCKERFILE_CONFLICT = 'ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles';

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
export async function readDockerignore(contextDir: string, dockerfilePath?: string): Promise<string[]> {
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

/** All of a stream's bytes (a Dockerfile on stdin: small). */
async function readAll(input: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

/** The inputs of `build PATH`: `-f FILE` (or PATH/Dockerfile; `-f -`: stdin) and PATH's .dockerignore. */
async function readDirInputs(contextDir: string, file: string | undefined): Promise<Inputs> {
  if (file === '-') {
    const text = await readAll(process.stdin);
    return { contextDir, text, name: 'Dockerfile', dockerignore: await readDockerignore(contextDir) };
  }
  const dockerfilePath = file ? resolve(file) : join(contextDir, 'Dockerfile');
  let text: string;
  try {
    text = await readFile(dockerfilePath, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new InvalidArgumentError(`failed to read dockerfile: open ${dockerfilePath}: no such file or directory`);
    throw e;
  }
  return { contextDir, text, name: basename(dockerfilePath), dockerignore: await readDockerignore(contextDir, dockerfilePath) };
}

/**
 * The inputs of `build -`, stdin read into `dir`: an archive's Dockerfile (`-f NAME` inside
 * it, resolved within it) and .dockerignore; a Dockerfile alone has the empty `dir` as context.
 */
async function readStdinInputs(dir: string, file: string | undefined): Promise<Inputs> {
  const got = await readStdinContext(process.stdin, dir);
  if (got.kind === 'dockerfile') {
    if (file !== undefined) throw new InvalidArgumentError(DOCKERFILE_CONFLICT);
    return { contextDir: dir, text: got.text, name: 'Dockerfile', dockerignore: [] };
  }
  const name = file ?? 'Dockerfile';
  const found = resolveInRoot(dir, name);
  if (found.kind !== 'file') throw new InvalidArgumentError(`failed to read dockerfile: open ${name}: no such file or directory`);
  const text = await readFile(found.hostPath, 'utf8');
  return { contextDir: dir, text, name: basename(found.path), dockerignore: await readDockerignore(dir, found.hostPath) };
}

/** `--platform` (or DOCKER_DEFAULT_PLATFORM), normalised; `local` is the host's. Docker's message for a bad one. */
function targetPlatform(value: string | undefined): string | undefined {
  const v = value ?? (process.env.DOCKER_DEFAULT_PLATFORM || undefined);
  if (v === undefined || v === '') return undefined;
  if (v.toLowerCase() === 'local') return platformString(hostPlatform());
  return platformString(parsePlatformSpecifier(v));
}

export async function run(program: Command, cmd: Command, context: string): Promise<void> {
  const o = cmd.opts<Opts>();
  // Docker's CLI checks the tags as it reads its flags: before anything else, in its words.
  for (const t of o.tag) {
    const problem = dockerReferenceError(t);
    if (problem !== undefined) throw flagError(cmd, '-t, --tag', t, `invalid reference format: ${problem.replace(/^invalid reference format: /, '')}`);
  }
  if (context === '-' && o.file === '-') throw new InvalidArgumentError(STDIN_CONFLICT);
  const buildArgs = parseBuildArgs(o.buildArg);
  if (o.check) {
    const check = (inputs: Inputs): void => {
      const report = checkDockerfile({ text: inputs.text, file: inputs.name, dockerignore: inputs.dockerignore, buildArgs, ...(o.target ? { target: o.target } : {}) });
      if (o.format === 'json') out(goJson(report, 2) + '\n');
      else out(formatCheckReport(report, inputs.text));
      process.exitCode = report.exitCode;
    };
    if (context === '-') await withCairn(program, (cairn) => cairn.withScratchDir(async (dir) => check(await readStdinInputs(dir, o.file))));
    else check(await readDirInputs(resolve(context), o.file));
    return;
  }
  if (!['auto', 'plain', 'tty', 'quiet'].includes(o.progress)) throw new InvalidArgumentError(`invalid progress mode ${JSON.stringify(o.progress)}: use auto, plain, tty or quiet`);
  if (!['default', 'host', 'none'].includes(o.network)) throw new InvalidArgumentError(`network mode ${JSON.stringify(o.network)} not supported by the builder: use default, host or none`);
  const secrets = o.secret.map((s) => parseSecretSpec(s));
  const epoch = sourceDateEpoch(buildArgs);
  const cacheTo = o.cacheTo.map((c) => parseCacheSpec(c, '--cache-to'));
  const cacheFrom = o.cacheFrom.map((c) => parseCacheSpec(c, '--cache-from'));
  const platform = targetPlatform(o.platform);
  const output = parseOutputs(o.output, o.tag, { stream: process.stdout, isTerminal: process.stdout.isTTY === true });
  const namedContexts: NamedContext[] = [];
  for (const spec of o.buildContext) namedContexts.push(await parseBuildContext(spec));
  const quiet = o.quiet === true || o.progress === 'quiet';
  const write = (t: string) => void process.stderr.write(t);
  const tty = o.progress === 'tty' || (o.progress === 'auto' && process.stderr.isTTY === true);
  const progress: BuildProgress = quiet ? new QuietProgress() : tty ? new TtyProgress(write, () => process.stderr.columns ?? 80) : new PlainProgress(write);
  const go = async (cairn: Cairn, inputs: Inputs): Promise<void> => {
    let result;
    try {
      result = await cairn.build({
        contextDir: inputs.contextDir,
        dockerfile: { text: inputs.text, name: inputs.name },
        dockerignore: inputs.dockerignore,
        tags: tagsFor(o.tag, output),
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
        ...(o.squash ? { squash: true } : {}),
        ...(namedContexts.length > 0 ? { namedContexts } : {}),
        ...(platform !== undefined ? { platform } : {}),
        ...(output !== undefined && 'export' in output ? { output: output.export } : {}),
      });
    } catch (e) {
      progress.finish?.();
      if ((e instanceof BuildStepError || e instanceof BaseImageError) && !quiet) process.stderr.write(e.box);
      throw e;
    }
    progress.finish?.();
    // An image ID exists for a stored image and an image archive; a file system export has none (Docker writes an empty --iidfile).
    const exported = output !== undefined && 'export' in output ? output.export : undefined;
    const id = exported === undefined || exported.type === 'docker' || exported.type === 'oci' ? result.imageId : '';
    if (o.iidfile !== undefined) await writeFile(o.iidfile, id);
    const onStdout = exported !== undefined && 'to' in exported && 'stream' in exported.to;
    if (quiet && id !== '' && !onStdout) out(`${id}\n`);
  };
  await withCairn(program, async (cairn) => {
    if (context === '-') await cairn.withScratchDir(async (dir) => go(cairn, await readStdinInputs(dir, o.file)));
    else await go(cairn, await readDirInputs(resolve(context), o.file));
  });
}

/** The tags the image is stored under: `-t`s, and the names of an `--output type=docker|image` that loads it. */
function tagsFor(tags: string[], output: OutputRequest | undefined): string[] {
  if (output === undefined || !('store' in output)) return tags;
  return [...new Set([...tags, ...output.store.names])];
}
