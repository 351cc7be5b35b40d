/**
 * `inspect -f`'s typed pass: Docker's inspector runs a template over the Go struct first
 * (types.ImageInspect, types.ContainerJSON) and only when that fails over the raw JSON map
 * (with missingkey=error). The struct is what decides how Go prints values: a nil slice as
 * `[]`, a nil pointer as `<nil>`, a struct as `{a b}`, a duration as `1m30s`, an absent field
 * as its zero value — so the JSON documents cairn builds are given here as those structs, by a
 * schema of Docker's types (Go field names; `json:` names where they differ).
 *
 * A pointer is followed where a template reaches it (text/template prints a pointer it ends on
 * as its value); inside a struct printed whole, Go prints an address, which nobody can
 * compare: here the value is printed.
 */
import type { ImageInspect } from '../image/query.js';
import type { DockerContainerInspect } from '../container/inspect.js';
import { formatGoDuration } from '../container/units.js';
import { GoNil, GoStruct, goJSON } from '../template/index.js';

/** A Go type: scalars, a set (map[K]struct{}), Go's time.Time and time.Duration, or a slice, map, pointer or struct of them. */
type GoType =
  | 'string'
  | 'bool'
  | 'int'
  | 'time'
  | 'duration'
  | 'raw'
  | { set: string }
  | { slice: GoType; name: string }
  | { map: GoType; name: string }
  | { ptr: GoType; name: string }
  | { struct: string; fields: ReadonlyArray<readonly [goName: string, type: GoType, jsonName?: string]> };

const EMPTY_STRUCT = new GoStruct('struct {}', {});

/** Go's time.Time.String() of an RFC 3339 time: 2026-12-04 02:27:25.5 +0000 UTC. */
export function goTime(rfc: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(rfc);
  if (!m) return rfc;
  const frac = (m[3] ?? '').replace(/0+$/, '').replace(/^\.$/, '');
  const zone = m[4] === 'Z' ? '+0000 UTC' : `${m[4]!.replace(':', '')} ${m[4]!.replace(':', '')}`;
  return `${m[1]} ${m[2]}${frac} ${zone}`;
}

/** `value` (JSON) as the Go value of `type`. */
function typed(value: unknown, type: GoType): unknown {
  if (type === 'string') return typeof value === 'string' ? value : '';
  if (type === 'bool') return value === true;
  if (type === 'int') return typeof value === 'number' ? value : 0;
  if (type === 'time') return goTime(typeof value === 'string' ? value : '0001-01-01T00:00:00Z');
  if (type === 'duration') return formatGoDuration(typeof value === 'number' ? value : 0);
  if (type === 'raw') return value;
  if ('set' in type) return value !== null && typeof value === 'object' ? Object.fromEntries(Object.keys(value).map((k) => [k, EMPTY_STRUCT])) : new GoNil('map', type.set);
  if ('slice' in type) return Array.isArray(value) ? value.map((v) => typed(v, type.slice)) : new GoNil('slice', type.name);
  if ('map' in type) {
    if (value === null || typeof value !== 'object') return new GoNil('map', type.name);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typed(v, type.map)]));
  }
  if ('ptr' in type) return value === null || value === undefined ? new GoNil('ptr', type.name) : typed(value, type.ptr);
  const obj = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  return new GoStruct(type.struct, Object.fromEntries(type.fields.map(([name, t, json]) => [name, typed(obj[json ?? name], t)])), () => goJSON(value ?? null, false));
}

const strings = (name = '[]string'): GoType => ({ slice: 'string', name });
const strMap = (name = 'map[string]string'): GoType => ({ map: 'string', name });

const HEALTH_CONFIG: GoType = {
  ptr: {
    struct: '*container.HealthConfig',
    fields: [['Test', strings()], ['Interval', 'duration'], ['Timeout', 'duration'], ['StartPeriod', 'duration'], ['Retries', 'int']],
  },
  name: '*container.HealthConfig',
};

/** container.Config. */
const CONFIG: GoType = {
  ptr: {
    struct: '*container.Config',
    fields: [
      ['Hostname', 'string'], ['Domainname', 'string'], ['User', 'string'], ['AttachStdin', 'bool'], ['AttachStdout', 'bool'], ['AttachStderr', 'bool'],
      ['ExposedPorts', { set: 'nat.PortSet' }], ['Tty', 'bool'], ['OpenStdin', 'bool'], ['StdinOnce', 'bool'], ['Env', strings()], ['Cmd', strings('strslice.StrSlice')],
      ['Healthcheck', HEALTH_CONFIG], ['ArgsEscaped', 'bool'], ['Image', 'string'], ['Volumes', { set: 'map[string]struct {}' }], ['WorkingDir', 'string'],
      ['Entrypoint', strings('strslice.StrSlice')], ['NetworkDisabled', 'bool'], ['MacAddress', 'string'], ['OnBuild', strings()], ['Labels', strMap()],
      ['StopSignal', 'string'], ['StopTimeout', { ptr: 'int', name: '*int' }], ['Shell', strings('strslice.StrSlice')],
    ],
  },
  name: '*container.Config',
};

const GRAPH_DRIVER: GoType = { struct: 'types.GraphDriverData', fields: [['Data', strMap()], ['Name', 'string']] };

const IMAGE_INSPECT: GoType = {
  struct: 'types.ImageInspect',
  fields: [
    ['ID', 'string', 'Id'], ['RepoTags', strings()], ['RepoDigests', strings()], ['Parent', 'string'], ['Comment', 'string'], ['Created', 'string'],
    ['Container', 'string'], ['ContainerConfig', CONFIG], ['DockerVersion', 'string'], ['Author', 'string'], ['Config', CONFIG], ['Architecture', 'string'],
    ['Variant', 'string'], ['Os', 'string'], ['OsVersion', 'string'], ['Size', 'int'], ['VirtualSize', 'int'], ['GraphDriver', GRAPH_DRIVER],
    ['RootFS', { struct: 'types.RootFS', fields: [['Type', 'string'], ['Layers', strings()], ['BaseLayer', 'string']] }],
    ['Metadata', { struct: 'types.ImageMetadata', fields: [['LastTagTime', 'time']] }],
  ],
};

const HEALTH: GoType = {
  ptr: {
    struct: '*types.Health',
    fields: [
      ['Status', 'string'], ['FailingStreak', 'int'],
      ['Log', { slice: { struct: '*types.HealthcheckResult', fields: [['Start', 'time'], ['End', 'time'], ['ExitCode', 'int'], ['Output', 'string']] }, name: '[]*types.HealthcheckResult' }],
    ],
  },
  name: '*types.Health',
};

const STATE: GoType = {
  ptr: {
    struct: '*types.ContainerState',
    fields: [
      ['Status', 'string'], ['Running', 'bool'], ['Paused', 'bool'], ['Restarting', 'bool'], ['OOMKilled', 'bool'], ['Dead', 'bool'], ['Pid', 'int'],
      ['ExitCode', 'int'], ['Error', 'string'], ['StartedAt', 'string'], ['FinishedAt', 'string'], ['Health', HEALTH],
    ],
  },
  name: '*types.ContainerState',
};

const PORT_MAP: GoType = { map: { slice: { struct: 'nat.PortBinding', fields: [['HostIP', 'string', 'HostIp'], ['HostPort', 'string']] }, name: '[]nat.PortBinding' }, name: 'nat.PortMap' };
const THROTTLE: GoType = { slice: { struct: '*blkiodev.ThrottleDevice', fields: [['Path', 'string'], ['Rate', 'int']] }, name: '[]*blkiodev.ThrottleDevice' };

/** container.HostConfig, with its embedded Resources' fields promoted, as Go promotes them. */
const HOST_CONFIG: GoType = {
  ptr: {
    struct: '*container.HostConfig',
    fields: [
      ['Binds', strings()], ['ContainerIDFile', 'string'], ['LogConfig', { struct: 'container.LogConfig', fields: [['Type', 'string'], ['Config', strMap()]] }],
      ['NetworkMode', 'string'], ['PortBindings', PORT_MAP], ['RestartPolicy', { struct: 'container.RestartPolicy', fields: [['Name', 'string'], ['MaximumRetryCount', 'int']] }],
      ['AutoRemove', 'bool'], ['VolumeDriver', 'string'], ['VolumesFrom', strings()], ['CapAdd', strings('strslice.StrSlice')], ['CapDrop', strings('strslice.StrSlice')],
      ['CgroupnsMode', 'string'], ['DNS', strings(), 'Dns'], ['DNSOptions', strings(), 'DnsOptions'], ['DNSSearch', strings(), 'DnsSearch'], ['ExtraHosts', strings()],
      ['GroupAdd', strings()], ['IpcMode', 'string'], ['Cgroup', 'string'], ['Links', strings()], ['OomScoreAdj', 'int'], ['PidMode', 'string'], ['Privileged', 'bool'],
      ['PublishAllPorts', 'bool'], ['ReadonlyRootfs', 'bool'], ['SecurityOpt', strings()], ['StorageOpt', strMap()], ['Tmpfs', strMap()], ['UTSMode', 'string'],
      ['UsernsMode', 'string'], ['ShmSize', 'int'], ['Sysctls', strMap()], ['Runtime', 'string'], ['ConsoleSize', { slice: 'int', name: '[2]uint' }], ['Isolation', 'string'],
      ['CPUShares', 'int', 'CpuShares'], ['Memory', 'int'], ['NanoCPUs', 'int', 'NanoCpus'], ['CgroupParent', 'string'], ['BlkioWeight', 'int'],
      ['BlkioWeightDevice', { slice: { struct: '*blkiodev.WeightDevice', fields: [['Path', 'string'], ['Weight', 'int']] }, name: '[]*blkiodev.WeightDevice' }],
      ['BlkioDeviceReadBps', THROTTLE], ['BlkioDeviceWriteBps', THROTTLE], ['BlkioDeviceReadIOps', THROTTLE], ['BlkioDeviceWriteIOps', THROTTLE],
      ['CPUPeriod', 'int', 'CpuPeriod'], ['CPUQuota', 'int', 'CpuQuota'], ['CPURealtimePeriod', 'int', 'CpuRealtimePeriod'], ['CPURealtimeRuntime', 'int', 'CpuRealtimeRuntime'],
      ['CpusetCpus', 'string'], ['CpusetMems', 'string'],
      ['Devices', { slice: { struct: 'container.DeviceMapping', fields: [['PathOnHost', 'string'], ['PathInContainer', 'string'], ['CgroupPermissions', 'string']] }, name: '[]container.DeviceMapping' }],
      ['DeviceCgroupRules', strings()], ['DeviceRequests', { slice: 'raw', name: '[]container.DeviceRequest' }], ['KernelMemory', 'int'], ['KernelMemoryTCP', 'int'],
      ['MemoryReservation', 'int'], ['MemorySwap', 'int'], ['MemorySwappiness', { ptr: 'int', name: '*int64' }], ['OomKillDisable', { ptr: 'bool', name: '*bool' }],
      ['PidsLimit', { ptr: 'int', name: '*int64' }],
      ['Ulimits', { slice: { struct: '*units.Ulimit', fields: [['Name', 'string'], ['Hard', 'int'], ['Soft', 'int']] }, name: '[]*units.Ulimit' }],
      ['CPUCount', 'int', 'CpuCount'], ['CPUPercent', 'int', 'CpuPercent'], ['IOMaximumIOps', 'int'], ['IOMaximumBandwidth', 'int'],
      ['Mounts', { slice: 'raw', name: '[]mount.Mount' }], ['MaskedPaths', strings()], ['ReadonlyPaths', strings()], ['Init', { ptr: 'bool', name: '*bool' }],
    ],
  },
  name: '*container.HostConfig',
};

const MOUNT_POINT: GoType = {
  slice: {
    struct: 'types.MountPoint',
    fields: [['Type', 'string'], ['Name', 'string'], ['Source', 'string'], ['Destination', 'string'], ['Driver', 'string'], ['Mode', 'string'], ['RW', 'bool'], ['Propagation', 'string']],
  },
  name: '[]types.MountPoint',
};

const ENDPOINT: GoType = {
  ptr: {
    struct: '*network.EndpointSettings',
    fields: [
      ['IPAMConfig', { ptr: 'raw', name: '*network.EndpointIPAMConfig' }], ['Links', strings()], ['Aliases', strings()], ['NetworkID', 'string'], ['EndpointID', 'string'],
      ['Gateway', 'string'], ['IPAddress', 'string'], ['IPPrefixLen', 'int'], ['IPv6Gateway', 'string'], ['GlobalIPv6Address', 'string'], ['GlobalIPv6PrefixLen', 'int'],
      ['MacAddress', 'string'], ['DriverOpts', strMap()],
    ],
  },
  name: '*network.EndpointSettings',
};

const ADDRESSES: GoType = { slice: { struct: 'network.Address', fields: [['Addr', 'string'], ['PrefixLen', 'int']] }, name: '[]network.Address' };

/** types.NetworkSettings, its embedded structs' fields promoted. */
const NETWORK_SETTINGS: GoType = {
  ptr: {
    struct: '*types.NetworkSettings',
    fields: [
      ['Bridge', 'string'], ['SandboxID', 'string'], ['HairpinMode', 'bool'], ['LinkLocalIPv6Address', 'string'], ['LinkLocalIPv6PrefixLen', 'int'], ['Ports', PORT_MAP],
      ['SandboxKey', 'string'], ['SecondaryIPAddresses', ADDRESSES], ['SecondaryIPv6Addresses', ADDRESSES], ['EndpointID', 'string'], ['Gateway', 'string'],
      ['GlobalIPv6Address', 'string'], ['GlobalIPv6PrefixLen', 'int'], ['IPAddress', 'string'], ['IPPrefixLen', 'int'], ['IPv6Gateway', 'string'], ['MacAddress', 'string'],
      ['Networks', { map: ENDPOINT, name: 'map[string]*network.EndpointSettings' }],
    ],
  },
  name: '*types.NetworkSettings',
};

/** types.ContainerJSON (ContainerJSONBase's fields promoted). */
const CONTAINER_JSON: GoType = {
  struct: 'types.ContainerJSON',
  fields: [
    ['ID', 'string', 'Id'], ['Created', 'string'], ['Path', 'string'], ['Args', strings()], ['State', STATE], ['Image', 'string'], ['ResolvConfPath', 'string'],
    ['HostnamePath', 'string'], ['HostsPath', 'string'], ['LogPath', 'string'], ['Node', { ptr: 'raw', name: '*types.ContainerNode' }], ['Name', 'string'],
    ['RestartCount', 'int'], ['Driver', 'string'], ['Platform', 'string'], ['MountLabel', 'string'], ['ProcessLabel', 'string'], ['AppArmorProfile', 'string'],
    ['ExecIDs', strings()], ['HostConfig', HOST_CONFIG], ['GraphDriver', GRAPH_DRIVER], ['SizeRw', { ptr: 'int', name: '*int64' }],
    ['SizeRootFs', { ptr: 'int', name: '*int64' }], ['Mounts', MOUNT_POINT], ['Config', CONFIG], ['NetworkSettings', NETWORK_SETTINGS],
  ],
};

/** Docker's types.ImageInspect: the struct `inspect -f` runs its template over first. */
export function typedImageInspect(r: ImageInspect): unknown {
  return typed(r, IMAGE_INSPECT);
}

/** Docker's types.ContainerJSON: the struct `inspect -f` runs its template over first for a container. */
export function typedContainerInspect(r: DockerContainerInspect): unknown {
  return typed(r, CONTAINER_JSON);
}
