/** `cairn inspect` / `cairn image inspect`: Docker's JSON array, or a Go template per image. */
import type { Command } from 'commander';
import type { ImageInspect } from '../../image/query.js';
import type { DockerContainerInspect } from '../../container/inspect.js';
import { CairnError, InvalidArgumentError, NotFoundError } from '../../errors.js';
import { GoNil, GoStruct, TemplateError, goJSON } from '../../template/index.js';
import { daemonJson, parseFormat } from '../format.js';
import { out, withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, images: string[]): Promise<void> {
  const o = cmd.opts<{ format?: string; type?: string }>();
  // `inspect` looks for any object (a container first, as Docker), `image inspect` for images, `container inspect` for containers.
  const parent = cmd.parent?.name();
  const type = parent === 'image' ? 'image' : parent === 'container' ? 'container' : o.type;
  if (type !== undefined && type !== 'image' && type !== 'container') {
    process.stderr.write(`${JSON.stringify(type)} is not a valid value for --type\n`);
    process.exitCode = 1;
    return;
  }
  // Docker names what was not found after what it looked for
  const notFound = (name: string): string => `No such ${type ?? 'object'}: ${name}`;
  // Docker refuses a template that does not parse before it looks anything up: exit 64.
  const tpl = o.format && o.format !== 'json' ? parseFormat(o.format, { exitCode: 64 }) : undefined;
  await withCairn(program, async (cairn) => {
    const results: Array<{ image: ImageInspect } | { container: DockerContainerInspect }> = [];
    let failure: CairnError | undefined;
    for (const name of images) {
      try {
        if (type !== 'image') {
          try {
            results.push({ container: await cairn.inspectContainer(name) });
            continue;
          } catch (e) {
            if (!(e instanceof NotFoundError) || type === 'container') throw e;
          }
        }
        results.push({ image: await cairn.inspect(name) });
      } catch (e) {
        // Docker prints what it found, then the error for the rest, and exits 1.
        if (!(e instanceof NotFoundError || (type === undefined && e instanceof InvalidArgumentError))) throw e;
        failure ??= e;
        // `image inspect` says what the library found wrong (a bad name in the daemon's words)
        process.stderr.write(`Error: ${type === 'image' ? e.message : notFound(name)}\n`);
      }
    }
    if (tpl) {
      // As Docker's TemplateInspector: the template runs over the typed struct; when that fails, over the
      // raw JSON (a map) with missingkey=error, and that run's error is the one reported.
      let text = '';
      let templateFailure: CairnError | undefined;
      for (const found of results) {
        const r = 'image' in found ? found.image : found.container;
        try {
          // A container's document goes as the raw map (its typed struct is not modelled).
          text += ('image' in found ? tpl.execute(typedImageInspect(found.image)) : tpl.execute(r, { missingKey: 'error' })) + '\n';
        } catch (e) {
          if (!(e instanceof TemplateError)) throw e;
          try {
            text += tpl.execute(r, { missingKey: 'error' }) + '\n';
          } catch (e2) {
            if (!(e2 instanceof TemplateError)) throw e2;
            templateFailure ??= new InvalidArgumentError(`Template parsing error: ${e2.message}`);
          }
        }
      }
      out(text);
      if (templateFailure) process.stderr.write(`Error: ${templateFailure.message}\n`);
      failure ??= templateFailure;
    } else {
      out(daemonJson(results.map((r) => ('image' in r ? r.image : r.container)), 4) + '\n');
    }
    if (failure) {
      process.exitCode = 1;
    }
  });
}

const nilSlice = (t: string): GoNil => new GoNil('slice', t);
const nilMap = (t: string): GoNil => new GoNil('map', t);
const nilPtr = (t: string): GoNil => new GoNil('ptr', t);
const EMPTY_STRUCT = new GoStruct('struct {}', {});

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function strings(v: unknown, nilType: string): unknown {
  return Array.isArray(v) ? v : nilSlice(nilType);
}

/** A set (ExposedPorts, Volumes): map[K]struct{}, its values printed `{}`. */
function set(v: unknown, nilType: string): unknown {
  if (!v || typeof v !== 'object') return nilMap(nilType);
  return Object.fromEntries(Object.keys(v).map((k) => [k, EMPTY_STRUCT]));
}

/** Docker's container.Config as the struct its template sees: absent fields are zero values or typed nils. */
function typedConfig(c: Record<string, unknown> | null): unknown {
  if (!c) return nilPtr('*container.Config');
  return new GoStruct(
    '*container.Config',
    {
      Hostname: str(c.Hostname),
      Domainname: str(c.Domainname),
      User: str(c.User),
      AttachStdin: c.AttachStdin === true,
      AttachStdout: c.AttachStdout === true,
      AttachStderr: c.AttachStderr === true,
      ExposedPorts: set(c.ExposedPorts, 'nat.PortSet'),
      Tty: c.Tty === true,
      OpenStdin: c.OpenStdin === true,
      StdinOnce: c.StdinOnce === true,
      Env: strings(c.Env, '[]string'),
      Cmd: strings(c.Cmd, 'strslice.StrSlice'),
      Healthcheck: c.Healthcheck && typeof c.Healthcheck === 'object' ? c.Healthcheck : nilPtr('*container.HealthConfig'),
      ArgsEscaped: c.ArgsEscaped === true,
      Image: str(c.Image),
      Volumes: set(c.Volumes, 'map[string]struct {}'),
      WorkingDir: str(c.WorkingDir),
      Entrypoint: strings(c.Entrypoint, 'strslice.StrSlice'),
      NetworkDisabled: c.NetworkDisabled === true,
      MacAddress: str(c.MacAddress),
      OnBuild: strings(c.OnBuild, '[]string'),
      Labels: c.Labels && typeof c.Labels === 'object' ? c.Labels : nilMap('map[string]string'),
      StopSignal: str(c.StopSignal),
      StopTimeout: typeof c.StopTimeout === 'number' ? c.StopTimeout : nilPtr('*int'),
      Shell: strings(c.Shell, 'strslice.StrSlice'),
    },
    () => goJSON(c, false),
  );
}

/** Go's time.Time.String() of an RFC 3339 time: 2026-12-04 02:27:25.5 +0000 UTC. */
function goTime(rfc: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(rfc);
  if (!m) return rfc;
  const frac = (m[3] ?? '').replace(/0+$/, '').replace(/^\.$/, '');
  const zone = m[4] === 'Z' ? '+0000 UTC' : `${m[4]!.replace(':', '')} ${m[4]!.replace(':', '')}`;
  return `${m[1]} ${m[2]}${frac} ${zone}`;
}

/** Docker's types.ImageInspect: the struct `docker inspect -f` runs its template over first. */
function typedImageInspect(r: ImageInspect): GoStruct {
  const x = r as unknown as Record<string, unknown>;
  return new GoStruct(
    'types.ImageInspect',
    {
      ID: r.Id,
      RepoTags: strings(r.RepoTags, '[]string'),
      RepoDigests: strings(r.RepoDigests, '[]string'),
      Parent: r.Parent,
      Comment: r.Comment,
      Created: r.Created,
      Container: r.Container,
      ContainerConfig: typedConfig(r.ContainerConfig),
      DockerVersion: r.DockerVersion,
      Author: r.Author,
      Config: typedConfig(r.Config),
      Architecture: r.Architecture,
      Variant: str(x.Variant),
      Os: r.Os,
      OsVersion: str(x.OsVersion),
      Size: r.Size,
      VirtualSize: r.VirtualSize,
      GraphDriver: new GoStruct('types.GraphDriverData', { Data: r.GraphDriver.Data ?? nilMap('map[string]string'), Name: r.GraphDriver.Name }, () => goJSON(r.GraphDriver, false)),
      RootFS: new GoStruct('types.RootFS', { Type: r.RootFS.Type, Layers: strings(r.RootFS.Layers, '[]string'), BaseLayer: '' }, () => goJSON(r.RootFS, false)),
      Metadata: new GoStruct('types.ImageMetadata', { LastTagTime: goTime(r.Metadata.LastTagTime) }, () => goJSON(r.Metadata, false)),
    },
    () => goJSON(r, false),
  );
}
