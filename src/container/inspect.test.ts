/**
 * `inspect` of a container against what docker 20.10.24 printed for the same `docker create`
 * (inspect.fixture.ts): the same keys in the same order with the same kinds of zero values
 * (`null` / `[]` / `""` / `{}`), and the same values except where cairn differs on purpose.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MASKED_PATHS } from '../runtime/spec.js';
import { dockerConfig, dockerHostConfig, pathAndArgs, type DockerConfig } from './config.js';
import { DOCKER_INSPECT_FULL, DOCKER_INSPECT_PLAIN } from './inspect.fixture.js';
import { GO_ZERO_TIME, dockerState, inspectContainer, rfc3339Nano, type ContainerInspectInput } from './inspect.js';
import { containerMounts, dockerMountPoint, type MountSpec } from './mounts.js';
import { parseCreateFlags, type CreateEnv, type RawCreateFlags } from './options.js';

const ENV: CreateEnv = { getenv: () => undefined, cpuCount: 2 };
const ID = 'c'.repeat(64);

/** Keys in order, recursively, and the kind of every leaf: what must match Docker's exactly. */
function shape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.map(shape);
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, shape(x)]);
  return typeof v;
}

function inspectOf(raw: RawCreateFlags, docker: Record<string, unknown>): ReturnType<typeof inspectContainer> {
  const opts = parseCreateFlags({ image: 'bb', ...raw }, ENV);
  const config = dockerConfig(opts, {}, { id: ID, hostHostname: 'vm' });
  const hostConfig = dockerHostConfig(opts, { runtime: 'runc', cgroupnsMode: 'host' });
  // The volumes' names and directories as the fixture has them (anonymous ones get random ids).
  const dockerMounts = docker['Mounts'] as Array<{ Destination: string; Name?: string; Source: string }>;
  const volumeAt = (spec: MountSpec) => {
    const m = dockerMounts.find((d) => d.Destination === spec.destination)!;
    return { name: m.Name!, source: m.Source };
  };
  const mounts = containerMounts({ volumes: opts.volumes, mounts: opts.mounts, tmpfs: opts.tmpfs, imageVolumes: [] })
    .map((spec) => dockerMountPoint(spec, spec.type === 'volume' ? volumeAt(spec) : undefined));
  const input: ContainerInspectInput = {
    id: ID,
    name: opts.name!,
    created: docker['Created'] as string,
    imageId: `sha256:${'i'.repeat(64)}`,
    config,
    hostConfig,
    state: { status: 'created', pid: 0, exitCode: 0, error: '', oomKilled: false },
    driver: 'overlay2',
    graphDriverData: (docker['GraphDriver'] as { Data: Record<string, string> }).Data,
    mounts,
  };
  return inspectContainer(input);
}

/** Docker's Mounts come in map order: compare them by destination. */
function byDestination<T extends { Destination: string }>(ms: T[]): T[] {
  return [...ms].sort((a, b) => a.Destination.localeCompare(b.Destination));
}

describe('inspect', () => {
  it('prints a fully flagged create as Docker does', () => {
    const docker = structuredClone(DOCKER_INSPECT_FULL) as unknown as Record<string, unknown>;
    const ours = inspectOf(
      {
        name: 'rf-full', network: 'none', volume: ['/tmp/rf/bind:/bind:ro', 'rfvol:/data', '/anon'],
        mount: ['type=tmpfs,dst=/scratch,tmpfs-size=1m,tmpfs-mode=1770', 'type=volume,src=rfvol2,dst=/v2,volume-nocopy,volume-label=a=b', 'type=bind,src=/tmp/rf/bind,dst=/b2,bind-propagation=rshared'],
        tmpfs: ['/run:size=1m'], env: ['FOO=bar', 'EMPTY='], label: ['ref.kind=full'], workdir: '/data', user: '1000:1000', entrypoint: '/bin/sh',
        hostname: 'myhost', memory: '64m', memorySwap: '128m', shmSize: '32m', cpus: '1.5', pidsLimit: '100', ulimit: ['nofile=100:200'],
        capAdd: ['SYS_ADMIN'], capDrop: ['NET_RAW'], securityOpt: ['no-new-privileges'], init: true, readOnly: true, stopSignal: 'SIGINT',
        stopTimeout: '5', healthCmd: 'true', healthInterval: '30s', healthRetries: '3', healthTimeout: '5s', healthStartPeriod: '1s', rm: true,
        interactive: true, tty: true, args: ['-c', 'sleep 10'],
      },
      docker,
    ) as unknown as Record<string, unknown>;
    // cairn masks /sys/devices/virtual/powercap too, as later Dockers do.
    assert.deepEqual(MASKED_PATHS.filter((p) => !((docker['HostConfig'] as Record<string, string[]>)['MaskedPaths']!.includes(p))), ['/sys/devices/virtual/powercap']);
    (docker['HostConfig'] as Record<string, unknown>)['MaskedPaths'] = [...MASKED_PATHS];
    docker['Mounts'] = byDestination(docker['Mounts'] as Array<{ Destination: string }>);
    ours['Mounts'] = byDestination(ours['Mounts'] as Array<{ Destination: string }>);
    assert.deepEqual(shape(ours), shape(docker));
    assert.deepEqual(ours, docker);
  });

  it('prints a bare create with the keys and zero values Docker prints', () => {
    const docker = structuredClone(DOCKER_INSPECT_PLAIN) as unknown as Record<string, unknown>;
    const ours = inspectOf({ name: 'rf-plain', args: ['sleep', '10'] }, docker) as unknown as Record<string, unknown>;
    // cairn's default network is the host's (Docker's is its bridge, "default"): the container
    // gets the host's name and a "host" network entry.
    const hc = docker['HostConfig'] as Record<string, unknown>;
    hc['NetworkMode'] = 'host';
    hc['MaskedPaths'] = [...MASKED_PATHS];
    (docker['Config'] as Record<string, unknown>)['Hostname'] = 'vm';
    const ns = docker['NetworkSettings'] as { Networks: Record<string, unknown> };
    ns.Networks = { host: ns.Networks['bridge'] };
    assert.deepEqual(shape(ours), shape(docker));
    assert.deepEqual(ours, docker);
  });

  it('prints states as dockerd keeps them', () => {
    assert.deepEqual(dockerState({ status: 'created', pid: 0, exitCode: 0, error: '', oomKilled: false }), {
      Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: GO_ZERO_TIME, FinishedAt: GO_ZERO_TIME,
    });
    const paused = dockerState({ status: 'paused', pid: 42, exitCode: 0, error: '', oomKilled: false, startedAt: '2026-12-04T23:18:54.615248146Z' });
    assert.deepEqual([paused.Status, paused.Running, paused.Paused, paused.Pid], ['paused', true, true, 42]);
    // docker inspect of a running container with a passing health check (--health-cmd 'exit 0').
    const health = { Status: 'healthy' as const, FailingStreak: 0, Log: [{ Start: '2026-12-04T23:18:55.616162061Z', End: '2026-12-04T23:18:55.654879859Z', ExitCode: 0, Output: '' }] };
    const running = dockerState({ status: 'running', pid: 25433, exitCode: 0, error: '', oomKilled: false, startedAt: '2026-12-04T23:18:54.615248146Z', health });
    assert.deepEqual(Object.keys(running), ['Status', 'Running', 'Paused', 'Restarting', 'OOMKilled', 'Dead', 'Pid', 'ExitCode', 'Error', 'StartedAt', 'FinishedAt', 'Health']);
    assert.deepEqual(running.Health, health);
    const exited = dockerState({ status: 'exited', pid: 0, exitCode: 3, error: '', oomKilled: false, startedAt: '2026-12-04T02:26:54.825129969Z', finishedAt: '2026-12-04T02:26:54.829841517Z' });
    assert.deepEqual([exited.Running, exited.ExitCode, exited.FinishedAt], [false, 3, '2026-12-04T02:26:54.829841517Z']);
    assert.equal(rfc3339Nano(Date.UTC(2026, 11, 4, 2, 26, 54, 825), 129969), '2026-12-04T02:26:54.825129969Z');
    assert.equal(rfc3339Nano(Date.UTC(2026, 11, 4, 2, 26, 54, 0)), '2026-12-04T02:26:54Z');
    assert.equal(rfc3339Nano(Date.UTC(2026, 11, 4, 2, 26, 54, 500)), '2026-12-04T02:26:54.5Z');
  });

  it('puts the sizes between GraphDriver and Mounts, only with --size', () => {
    const docker = DOCKER_INSPECT_PLAIN as unknown as Record<string, unknown>;
    const opts = parseCreateFlags({ image: 'bb', args: ['true'] }, ENV);
    const base: ContainerInspectInput = {
      id: ID, name: 'x', created: rfc3339Nano(0), imageId: 'sha256:i', config: dockerConfig(opts, {}, { id: ID, hostHostname: 'vm' }),
      hostConfig: dockerHostConfig(opts, { runtime: 'crun', cgroupnsMode: 'private' }), state: { status: 'created', pid: 0, exitCode: 0, error: '', oomKilled: false },
      driver: 'native', graphDriverData: null, mounts: [], execIds: ['e1'],
    };
    const plain = inspectContainer(base);
    assert.deepEqual(Object.keys(plain), Object.keys(docker));
    assert.deepEqual(plain.GraphDriver, { Data: null, Name: 'native' });
    assert.deepEqual(plain.ExecIDs, ['e1']);
    assert.equal(plain.HostConfig.Runtime, 'crun');
    const sized = inspectContainer({ ...base, sizeRw: 0, sizeRootFs: 1988788 });
    const keys = Object.keys(sized);
    assert.deepEqual(keys.slice(keys.indexOf('GraphDriver'), keys.indexOf('GraphDriver') + 4), ['GraphDriver', 'SizeRw', 'SizeRootFs', 'Mounts']);
  });
});

describe('config', () => {
  const base = (raw: RawCreateFlags = {}) => parseCreateFlags({ image: 'img', ...raw }, ENV);
  const ctx = { id: ID, hostHostname: 'vm' };
  const image = {
    User: 'app', Env: ['PATH=/usr/bin', 'FOO=image'], Cmd: ['serve'], Entrypoint: ['/entry'], WorkingDir: '/srv',
    Labels: { a: 'image', b: 'image' }, StopSignal: 'SIGQUIT', Volumes: { '/data': {} }, ExposedPorts: { '80/tcp': {} },
    Healthcheck: { Test: ['CMD', 'check'], Interval: 10e9, Retries: 5 },
  };

  it("merges the image's config under the flags as dockerd does", () => {
    const c: DockerConfig = dockerConfig(base({ env: ['FOO=flag', 'BAR=1'], label: ['a=flag'], volume: ['/anon'], healthRetries: '2' }), image, ctx);
    assert.equal(c.User, 'app');
    assert.deepEqual(c.Env, ['FOO=flag', 'BAR=1', 'PATH=/usr/bin']);
    assert.deepEqual(c.Cmd, ['serve']);
    assert.deepEqual(c.Entrypoint, ['/entry']);
    assert.equal(c.WorkingDir, '/srv');
    assert.deepEqual(c.Labels, { a: 'flag', b: 'image' });
    assert.equal(c.StopSignal, 'SIGQUIT');
    assert.deepEqual(c.Volumes, { '/anon': {}, '/data': {} });
    assert.deepEqual(c.ExposedPorts, { '80/tcp': {} });
    assert.deepEqual(c.Healthcheck, { Test: ['CMD', 'check'], Interval: 10e9, Retries: 2 });
    assert.equal(c.Hostname, 'vm');
    assert.deepEqual(Object.keys(c), ['Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts', 'Tty', 'OpenStdin', 'StdinOnce', 'Env', 'Cmd', 'Healthcheck', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'Labels', 'StopSignal']);
    assert.deepEqual(pathAndArgs(c), { path: '/entry', args: ['serve'] });
  });

  it('takes the command from the flags: arguments replace Cmd, --entrypoint drops it', () => {
    assert.deepEqual(pathAndArgs(dockerConfig(base({ args: ['a', 'b c'] }), image, ctx)), { path: '/entry', args: ['a', 'b c'] });
    const ep = dockerConfig(base({ entrypoint: 'sh' }), image, ctx);
    assert.deepEqual([ep.Entrypoint, ep.Cmd], [['sh'], null]);
    const cleared = dockerConfig(base({ entrypoint: '', args: ['ls'] }), image, ctx);
    assert.deepEqual([cleared.Entrypoint, cleared.Cmd], [null, ['ls']]);
    assert.throws(() => dockerConfig(base({ entrypoint: '' }), image, ctx), /^CreateFlagError: No command specified$/);
    assert.throws(() => dockerConfig(base(), {}, ctx), /^CreateFlagError: No command specified$/);
    assert.deepEqual(pathAndArgs(dockerConfig(base({ args: ['true'] }), undefined, ctx)), { path: 'true', args: [] });
  });

  it('fills in what dockerd fills in', () => {
    const none = dockerConfig(base({ network: 'none', args: ['x'] }), undefined, ctx);
    assert.equal(none.Hostname, 'cccccccccccc');
    const h = dockerHostConfig(base({ memory: '64m', init: false, privileged: true, volumesFrom: ['web', 'db:ro'] }), { runtime: 'crun', cgroupnsMode: 'private', logDriver: 'k8s-file' });
    assert.equal(h.MemorySwap, 134217728);
    assert.equal(h.ShmSize, 67108864);
    assert.equal(h.Init, false);
    assert.equal(h.MaskedPaths, null);
    assert.equal(h.ReadonlyPaths, null);
    assert.deepEqual(h.VolumesFrom, ['web', 'db:ro']);
    assert.deepEqual(h.LogConfig, { Type: 'k8s-file', Config: {} });
    assert.equal(h.CgroupnsMode, 'private');
    assert.equal(dockerHostConfig(base({ memory: '10m', memorySwap: '-1' }), { runtime: 'crun', cgroupnsMode: 'host' }).MemorySwap, -1);
  });
});
