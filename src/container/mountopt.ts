/**
 * `--mount` as Docker 20.10 reads it: docker/cli's MountOpt (a CSV record, csv.ts, of
 * key=value fields, keys in any case; type (volume by default) bind|volume|tmpfs; source/src;
 * target/dst/destination; readonly/ro[=bool]; consistency; bind-propagation,
 * bind-nonrecursive[=bool]; volume-nocopy[=bool], volume-label=K=V, volume-driver,
 * volume-opt=K=V (repeatable); tmpfs-size (RAMInBytes), tmpfs-mode (octal)), then the daemon's
 * check of the Mount it makes (mounts.ts validateMount). *pure*
 *
 * The CLI's messages, which pflag prefixes with `invalid argument "V" for "--mount" flag: `:
 * `invalid field 'a:/x' must be a key=value pair`, `unexpected key 'foo' in 'foo=bar'`,
 * `invalid value for readonly: maybe`, `target is required`, `type is required`, `cannot mix
 * 'volume-*' options with mount type 'bind'`, csv's `parse error on line 1, column 33: ...`;
 * then the daemon's: `invalid mount config for type "bind": field Source must not be empty`,
 * `... bind source path does not exist: /x` (the caller checks the disk:
 * {@link bindSourceMissingMessage}), `invalid mount config for type "foo": mount type unknown`,
 * `invalid mount config for type "volume": must not set ReadOnly mode when using anonymous
 * volumes`, `invalid mount config for type "tmpfs": field Source must not be specified`.
 */
import { InvalidArgumentError } from '../errors.js';
import { readCsvRecord } from './csv.js';
import { daemonError, parseFlagValue } from './errors.js';
import { cleanPath, sortedKeys, validateMount, type DockerMount, type MountFlag, type MountSpec, type Propagation, type TmpfsSpec, type VolumeSpec } from './mounts.js';
import { parseGoBool, ramInBytes } from './units.js';

const MOUNT_FLAG = '--mount';

/** The message Docker gives when a `--mount type=bind` source does not exist (the caller checks the disk). */
export function bindSourceMissingMessage(source: string): string {
  return `invalid mount config for type "bind": bind source path does not exist: ${source}`;
}

/** docker/cli's MountOpt.Set: the `--mount` CSV into Docker's Mount (the client's checks). */
export function parseMountCsv(value: string): DockerMount {
  const fields = readCsvRecord(value);
  const mount: DockerMount = { Type: 'volume' };
  let volumeOptions: NonNullable<DockerMount['VolumeOptions']> | undefined;
  let bindOptions: NonNullable<DockerMount['BindOptions']> | undefined;
  let tmpfsOptions: NonNullable<DockerMount['TmpfsOptions']> | undefined;
  const volume = (): NonNullable<DockerMount['VolumeOptions']> => {
    volumeOptions ??= { Labels: {} };
    volumeOptions.DriverConfig ??= {};
    return volumeOptions;
  };
  const bind = (): NonNullable<DockerMount['BindOptions']> => (bindOptions ??= {});
  const tmpfs = (): NonNullable<DockerMount['TmpfsOptions']> => (tmpfsOptions ??= {});
  const setOnMap = (target: Record<string, string>, v: string): void => {
    const eq = v.indexOf('=');
    if (eq < 0) target[v] = '';
    else target[v.slice(0, eq)] = v.slice(eq + 1);
  };
  const bool = (key: string, v: string, message = `invalid value for ${key}: ${v}`): boolean => {
    const b = parseGoBool(v);
    if (b === undefined) throw new InvalidArgumentError(message);
    return b;
  };

  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') {
        mount.ReadOnly = true;
        continue;
      }
      if (key === 'volume-nocopy') {
        volume().NoCopy = true;
        continue;
      }
      if (key === 'bind-nonrecursive') {
        bind().NonRecursive = true;
        continue;
      }
      throw new InvalidArgumentError(`invalid field '${field}' must be a key=value pair`);
    }
    const v = field.slice(eq + 1);
    switch (key) {
      case 'type':
        mount.Type = v.toLowerCase();
        break;
      case 'source':
      case 'src':
        mount.Source = v;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.Target = v;
        break;
      case 'readonly':
      case 'ro':
        mount.ReadOnly = bool(key, v);
        break;
      case 'consistency':
        mount.Consistency = v.toLowerCase();
        break;
      case 'bind-propagation':
        bind().Propagation = v.toLowerCase();
        break;
      case 'bind-nonrecursive':
        bind().NonRecursive = bool(key, v);
        break;
      case 'volume-nocopy':
        volume().NoCopy = bool(key, v, `invalid value for volume-nocopy: ${v}`);
        break;
      case 'volume-label':
        setOnMap(volume().Labels!, v);
        break;
      case 'volume-driver':
        volume().DriverConfig!.Name = v;
        break;
      case 'volume-opt': {
        const dc = volume().DriverConfig!;
        dc.Options ??= {};
        setOnMap(dc.Options, v);
        break;
      }
      case 'tmpfs-size': {
        let size: number;
        try {
          size = ramInBytes(v);
        } catch (e) {
          if (e instanceof InvalidArgumentError) throw new InvalidArgumentError(`invalid value for ${key}: ${v}`, { cause: e });
          throw e;
        }
        tmpfs().SizeBytes = size;
        break;
      }
      case 'tmpfs-mode': {
        // strconv.ParseUint(v, 8, 32)
        if (!/^[0-7]+$/.test(v) || parseInt(v, 8) > 0xffffffff) throw new InvalidArgumentError(`invalid value for ${key}: ${v}`);
        tmpfs().Mode = parseInt(v, 8);
        break;
      }
      default:
        throw new InvalidArgumentError(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (mount.Type === '') throw new InvalidArgumentError('type is required');
  if ((mount.Target ?? '') === '') throw new InvalidArgumentError('target is required');
  if (volumeOptions !== undefined && mount.Type !== 'volume') throw new InvalidArgumentError(`cannot mix 'volume-*' options with mount type '${mount.Type}'`);
  if (bindOptions !== undefined && mount.Type !== 'bind') throw new InvalidArgumentError(`cannot mix 'bind-*' options with mount type '${mount.Type}'`);
  if (tmpfsOptions !== undefined && mount.Type !== 'tmpfs') throw new InvalidArgumentError(`cannot mix 'tmpfs-*' options with mount type '${mount.Type}'`);
  // Field order as Docker's JSON has it.
  const out: DockerMount = { Type: mount.Type };
  if ((mount.Source ?? '') !== '') out.Source = mount.Source!;
  out.Target = mount.Target!;
  if (mount.ReadOnly) out.ReadOnly = true;
  if ((mount.Consistency ?? '') !== '') out.Consistency = mount.Consistency!;
  // Options as Go's JSON writes them: fields in order, zero values left out (omitempty).
  if (bindOptions !== undefined) {
    out.BindOptions = {};
    if ((bindOptions.Propagation ?? '') !== '') out.BindOptions.Propagation = bindOptions.Propagation!;
    if (bindOptions.NonRecursive) out.BindOptions.NonRecursive = true;
  }
  if (volumeOptions !== undefined) {
    const vo: NonNullable<DockerMount['VolumeOptions']> = {};
    if (volumeOptions.NoCopy) vo.NoCopy = true;
    if (Object.keys(volumeOptions.Labels ?? {}).length > 0) vo.Labels = sortedKeys(volumeOptions.Labels!);
    const dc = volumeOptions.DriverConfig ?? {};
    vo.DriverConfig = {};
    if ((dc.Name ?? '') !== '') vo.DriverConfig.Name = dc.Name!;
    if (Object.keys(dc.Options ?? {}).length > 0) vo.DriverConfig.Options = sortedKeys(dc.Options!);
    out.VolumeOptions = vo;
  }
  if (tmpfsOptions !== undefined) {
    out.TmpfsOptions = {};
    if (tmpfsOptions.SizeBytes) out.TmpfsOptions.SizeBytes = tmpfsOptions.SizeBytes;
    if (tmpfsOptions.Mode) out.TmpfsOptions.Mode = tmpfsOptions.Mode;
  }
  return out;
}

/**
 * One `--mount` value: the client's parse (errors of stage `flag`, wrapped as pflag does), then
 * the daemon's check of the Mount (stage `daemon`).
 */
export function parseMountFlag(value: string): MountFlag {
  return validateMountFlag(parseFlagValue(MOUNT_FLAG, value, parseMountCsv));
}

/** The daemon's check of a `--mount`'s Mount (stage `daemon`), and its typed spec. */
export function validateMountFlag(mount: DockerMount): MountFlag {
  try {
    validateMount(mount);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw daemonError(e.message);
    throw e;
  }
  return { mount, spec: mountSpecOf(mount) };
}

/** The typed spec of a validated Mount (ParseMountSpec). */
function mountSpecOf(m: DockerMount): MountSpec {
  const destination = cleanPath(m.Target!);
  const readOnly = m.ReadOnly === true;
  switch (m.Type) {
    case 'bind':
      return {
        type: 'bind',
        source: cleanPath(m.Source!),
        destination,
        readOnly,
        propagation: (m.BindOptions?.Propagation || 'rprivate') as Propagation,
        nonRecursive: m.BindOptions?.NonRecursive === true,
        createSource: false,
        mode: '',
      };
    case 'volume': {
      const spec: VolumeSpec = {
        type: 'volume',
        destination,
        readOnly,
        noCopy: m.VolumeOptions?.NoCopy === true,
        driver: m.VolumeOptions?.DriverConfig?.Name || 'local',
        driverOpts: { ...(m.VolumeOptions?.DriverConfig?.Options ?? {}) },
        labels: { ...(m.VolumeOptions?.Labels ?? {}) },
        mode: 'z',
      };
      if ((m.Source ?? '') !== '') spec.name = m.Source!;
      return spec;
    }
    default: {
      const spec: TmpfsSpec = { type: 'tmpfs', destination, readOnly };
      if (m.TmpfsOptions?.SizeBytes) spec.sizeBytes = m.TmpfsOptions.SizeBytes;
      if (m.TmpfsOptions?.Mode) spec.mode = m.TmpfsOptions.Mode;
      return spec;
    }
  }
}

