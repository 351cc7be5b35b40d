/**
 * `--change` for import (and later commit): Dockerfile instructions applied to an image
 * config, as Docker's BuildFromConfig does. Allowed: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
 * ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL, HEALTHCHECK is not (Docker refuses it too).
 * Words are expanded with the image's environment, as in a Dockerfile.
 */
import { InvalidArgumentError } from '../errors.js';
import { Lexer, envFromPairs, parse, type Node } from '../dockerfile/index.js';
import type { ContainerConfig } from '../oci/types.js';

const ALLOWED = new Set(['cmd', 'entrypoint', 'env', 'expose', 'label', 'onbuild', 'user', 'volume', 'workdir', 'stopsignal']);

function args(node: Node): string[] {
  const out: string[] = [];
  for (let n = node.next; n; n = n.next) out.push(n.value);
  return out;
}

function envOf(c: ContainerConfig): Array<[string, string]> {
  return (c.Env ?? []).map((e) => {
    const i = e.indexOf('=');
    return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
  });
}

/** Apply `changes` to a copy of `config` (the image config's `config` object). */
export function applyChanges(config: ContainerConfig | undefined, changes: string[]): ContainerConfig {
  const c: ContainerConfig = structuredClone(config ?? {});
  for (const change of changes) {
    let root: Node;
    try {
      root = parse(change).ast;
    } catch (e) {
      throw new InvalidArgumentError(`invalid --change ${JSON.stringify(change)}: ${(e as Error).message}`);
    }
    if (root.children.length !== 1) throw new InvalidArgumentError(`invalid --change ${JSON.stringify(change)}: expected one instruction`);
    const node = root.children[0]!;
    const instr = node.value;
    if (!ALLOWED.has(instr)) throw new InvalidArgumentError(`${instr.toUpperCase()} is not a valid change command`);
    const lex = new Lexer('\\');
    const env = envFromPairs(envOf(c));
    const expand = (w: string) => lex.processWord(w, env);
    const a = args(node);
    const shellForm = (): string[] => (node.attributes.json ? a : ['/bin/sh', '-c', a.join(' ')]);
    switch (instr) {
      case 'cmd':
        c.Cmd = shellForm();
        break;
      case 'entrypoint':
        c.Entrypoint = shellForm();
        break;
      case 'env': {
        // The parser gives (name, value, separator) triples.
        if (a.length === 0 || a.length % 3 !== 0) throw new InvalidArgumentError(`ENV requires name=value pairs: ${change}`);
        for (let i = 0; i < a.length; i += 3) {
          const k = a[i]!;
          const v = expand(a[i + 1]!);
          const envs = (c.Env ?? []).filter((e) => e.split('=', 1)[0] !== k);
          envs.push(`${k}=${v}`);
          c.Env = envs;
        }
        break;
      }
      case 'label': {
        if (a.length === 0 || a.length % 3 !== 0) throw new InvalidArgumentError(`LABEL requires name=value pairs: ${change}`);
        c.Labels = { ...(c.Labels ?? {}) };
        for (let i = 0; i < a.length; i += 3) c.Labels[expand(a[i]!)] = expand(a[i + 1]!);
        break;
      }
      case 'expose': {
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of a.map(expand)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw new InvalidArgumentError(`invalid port in EXPOSE: ${p}`);
          c.ExposedPorts[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        break;
      }
      case 'volume': {
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of a.map(expand)) {
          if (v === '') throw new InvalidArgumentError('VOLUME specified can not be an empty string');
          c.Volumes[v] = {};
        }
        break;
      }
      case 'user':
        c.User = expand(a[0] ?? '');
        break;
      case 'workdir': {
        const w = expand(a[0] ?? '');
        c.WorkingDir = w.startsWith('/') ? w : `${(c.WorkingDir ?? '/').replace(/\/$/, '')}/${w}`;
        break;
      }
      case 'stopsignal':
        c.StopSignal = expand(a[0] ?? '');
        break;
      case 'onbuild': {
        const trigger = node.original.replace(/^\s*onbuild\s+/i, '');
        c.OnBuild = [...(c.OnBuild ?? []), trigger];
        break;
      }
    }
  }
  return c;
}
