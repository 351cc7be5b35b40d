/**
 * Docker's container.Config (api/types/container, 20.10) as its encoding/json writes it — in
 * an image config's `config` and `container_config`, and in `docker inspect`: the fields in
 * struct order; those without omitempty always present (zero values, nil slices and maps as
 * null); the omitempty ones (ExposedPorts, Healthcheck, ArgsEscaped, NetworkDisabled,
 * MacAddress, StopSignal, StopTimeout, Shell) only when set; the maps (ExposedPorts, Volumes,
 * Labels) with their keys sorted, as Go writes every map. Pure.
 */
import type { ContainerConfig } from './types.js';

/**
 * The `docker_version` cairn writes into the configs it makes (import): Docker writes its own
 * version there; cairn, the Docker release whose command line and configs it reproduces.
 */
export const DOCKER_VERSION = '20.10.24';

/** A Go map's JSON: the same entries, keys in sorted order (UTF-8 byte order). */
function sortedMap<T>(m: unknown): Record<string, T> | null {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return null;
  const entries = Object.entries(m as Record<string, T>).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Object.fromEntries(entries);
}

/** `c` as Docker writes a container.Config (see the module comment). */
export function dockerContainerConfig(c: Record<string, unknown> = {}): ContainerConfig {
  const out: ContainerConfig = {
    Hostname: c.Hostname ?? '',
    Domainname: c.Domainname ?? '',
    User: (c.User as string | undefined) ?? '',
    AttachStdin: c.AttachStdin ?? false,
    AttachStdout: c.AttachStdout ?? false,
    AttachStderr: c.AttachStderr ?? false,
  };
  const ports = sortedMap<Record<string, unknown>>(c.ExposedPorts);
  if (ports && Object.keys(ports).length > 0) out.ExposedPorts = ports;
  Object.assign(out, { Tty: c.Tty ?? false, OpenStdin: c.OpenStdin ?? false, StdinOnce: c.StdinOnce ?? false, Env: c.Env ?? null, Cmd: c.Cmd ?? null });
  if (c.Healthcheck) out.Healthcheck = c.Healthcheck as ContainerConfig['Healthcheck'];
  if (c.ArgsEscaped) out.ArgsEscaped = true;
  Object.assign(out, { Image: c.Image ?? '', Volumes: sortedMap(c.Volumes), WorkingDir: c.WorkingDir ?? '', Entrypoint: c.Entrypoint ?? null });
  if (c.NetworkDisabled) out.NetworkDisabled = c.NetworkDisabled;
  if (c.MacAddress) out.MacAddress = c.MacAddress;
  Object.assign(out, { OnBuild: c.OnBuild ?? null, Labels: sortedMap<string>(c.Labels) });
  if (c.StopSignal) out.StopSignal = c.StopSignal as string;
  if (c.StopTimeout !== undefined && c.StopTimeout !== null) out.StopTimeout = c.StopTimeout;
  if (Array.isArray(c.Shell) && c.Shell.length > 0) out.Shell = c.Shell as string[];
  return out;
}
