/**
 * `--change` for `import` and `commit`: Dockerfile instructions applied to an image config, as
 * Docker 20.10's BuildFromConfig does it —
 * - the changes joined by newlines and parsed as one Dockerfile (a parse error in its words);
 * - every instruction checked first: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL,
 *   ONBUILD, USER, VOLUME, WORKDIR; another is "NAME is not a valid change command" (the name
 *   lower-cased, as the parser gives it);
 * - then every instruction parsed ("EXPOSE requires at least one argument", ...);
 * - then each applied in turn, as the classic builder's dispatchers do: words expanded with
 *   the config's environment (ENV, LABEL, USER, VOLUME, WORKDIR; EXPOSE into several words),
 *   ENV replacing a variable where it stands, ENTRYPOINT clearing a CMD not set by these
 *   changes, EXPOSE read as port specs ("Invalid containerPort: 99999", ranges expanded), a
 *   relative WORKDIR joined to the current one.
 * Every error is an InvalidArgumentError with Docker's message (no location).
 */
import { InvalidArgumentError } from '../errors.js';
import { DockerfileError, DockerfileSyntaxError, Lexer, envFromPairs, parse, parseInstruction, type Instruction, type Node } from '../dockerfile/index.js';
import type { ContainerConfig } from '../oci/types.js';

const VALID = new Set(['cmd', 'entrypoint', 'healthcheck', 'env', 'expose', 'label', 'onbuild', 'user', 'volume', 'workdir']);

const DEFAULT_SHELL = ['/bin/sh', '-c'];

function envOf(c: ContainerConfig): Array<[string, string]> {
  return (c.Env ?? []).map((e) => {
    const i = e.indexOf('=');
    return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
  });
}

/** A Dockerfile error as Docker's daemon says it: the problem, without file and line. */
function bare(e: unknown): unknown {
  if (e instanceof DockerfileError) return new InvalidArgumentError(e.problem, { cause: e });
  if (e instanceof DockerfileSyntaxError) return new InvalidArgumentError(e.detail, { cause: e });
  if (e instanceof InvalidArgumentError) return new InvalidArgumentError(e.message, { cause: e });
  return e;
}

/** strconv.ParseUint(s, 10, 16). */
function port16(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

/** nat.ParsePortSpecs of EXPOSE's words: the `port/proto` keys exposed. */
export function exposedPorts(specs: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of specs) {
    const parts = raw.split(':');
    const container = parts[parts.length - 1]!;
    const host = parts.length >= 2 ? parts[parts.length - 2]! : '';
    const slash = container.indexOf('/');
    const proto = slash < 0 ? 'tcp' : container.slice(slash + 1);
    const port = slash < 0 ? container : container.slice(0, slash);
    if (port === '') throw new InvalidArgumentError(`No port specified: ${raw}<empty>`);
    const range = (p: string): [number, number] | undefined => {
      const dash = p.indexOf('-');
      if (dash < 0) {
        const n = port16(p);
        return n === undefined ? undefined : [n, n];
      }
      const a = port16(p.slice(0, dash));
      const b = port16(p.slice(dash + 1));
      return a === undefined || b === undefined || b < a ? undefined : [a, b];
    };
    const r = range(port);
    if (r === undefined) throw new InvalidArgumentError(`Invalid containerPort: ${port}`);
    if (host !== '') {
      const h = range(host);
      if (h === undefined) throw new InvalidArgumentError(`Invalid hostPort: ${host}`);
      if (r[1] - r[0] !== h[1] - h[0] && r[1] !== r[0]) throw new InvalidArgumentError(`Invalid ranges specified for container and host Ports: ${port} and ${host}`);
    }
    if (!['tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) throw new InvalidArgumentError(`Invalid proto: ${proto}`);
    for (let p = r[0]; p <= r[1]; p++) out.push(`${p}/${proto.toLowerCase()}`);
  }
  return out;
}

/** Docker's normalizeWorkdir: a relative directory joined to the current one (cleaned); an absolute one as given. */
function workdir(current: string, requested: string): string {
  if (requested === '') throw new InvalidArgumentError('cannot normalize nothing');
  if (requested.startsWith('/')) return requested;
  const parts: string[] = [];
  for (const p of `/${current}/${requested}`.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return `/${parts.join('/')}`;
}

/** Apply `changes` to a copy of `config` (the image config's `config` object). */
export function applyChanges(config: ContainerConfig | undefined, changes: string[]): ContainerConfig {
  const c: ContainerConfig = structuredClone(config ?? {});
  if (changes.length === 0) return c;
  let nodes: Node[];
  try {
    nodes = parse(changes.join('\n')).ast.children;
  } catch (e) {
    throw bare(e);
  }
  for (const n of nodes) if (!VALID.has(n.value.toLowerCase())) throw new InvalidArgumentError(`${n.value.toLowerCase()} is not a valid change command`);
  const instructions: Instruction[] = nodes.map((n) => {
    try {
      return parseInstruction(n);
    } catch (e) {
      throw bare(e);
    }
  });
  const lex = new Lexer('\\');
  let cmdSet = false;
  for (const ins of instructions) {
    const env = envFromPairs(envOf(c));
    const expand = (w: string): string => {
      try {
        return lex.processWord(w, env);
      } catch (e) {
        throw bare(e);
      }
    };
    const shell = (words: string[], prepend: boolean): string[] => (prepend ? [...(c.Shell ?? DEFAULT_SHELL), ...words] : words);
    switch (ins.kind) {
      case 'cmd':
        c.Cmd = shell(ins.command, ins.prependShell);
        cmdSet = true;
        break;
      case 'entrypoint':
        c.Entrypoint = shell(ins.command, ins.prependShell);
        if (!cmdSet) delete c.Cmd;
        break;
      case 'env':
        for (const kv of ins.pairs) {
          const key = expand(kv.key);
          const entry = `${key}=${expand(kv.value)}`;
          const env2 = [...(c.Env ?? [])];
          const at = env2.findIndex((e) => e.split('=', 1)[0] === key);
          if (at >= 0) env2[at] = entry;
          else env2.push(entry);
          c.Env = env2;
        }
        break;
      case 'label':
        c.Labels = { ...(c.Labels ?? {}) };
        for (const kv of ins.pairs) c.Labels[expand(kv.key)] = expand(kv.value);
        break;
      case 'expose': {
        const words = ins.ports.flatMap((p) => lex.processWords(p, env));
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of exposedPorts(words)) c.ExposedPorts[p] = {};
        break;
      }
      case 'volume':
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of ins.volumes.map(expand)) {
          if (v === '') throw new InvalidArgumentError('VOLUME specified can not be an empty string');
          c.Volumes[v] = {};
        }
        break;
      case 'user':
        c.User = expand(ins.user);
        break;
      case 'workdir':
        c.WorkingDir = workdir(c.WorkingDir ?? '', expand(ins.path));
        break;
      case 'onbuild':
        c.OnBuild = [...(c.OnBuild ?? []), ins.expression];
        break;
      case 'healthcheck':
        c.Healthcheck = {
          Test: ins.test,
          ...(ins.interval !== 0 ? { Interval: ins.interval } : {}),
          ...(ins.timeout !== 0 ? { Timeout: ins.timeout } : {}),
          ...(ins.startPeriod !== 0 ? { StartPeriod: ins.startPeriod } : {}),
          ...(ins.retries !== 0 ? { Retries: ins.retries } : {}),
        };
        break;
      default:
        throw new InvalidArgumentError(`${ins.name.toLowerCase()} is not a valid change command`);
    }
  }
  return c;
}
