/**
 * The runtime spec builder: concrete fields for Docker's rules (command, environment,
 * capabilities, mounts, resources, rlimits clamped, seccomp), the seccomp profile read from
 * the file containers-common installs, and a differential test against the config.json
 * podman writes for the same image and flags.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidArgumentError, PreconditionError, UsageError } from '../errors.js';
import { CAPABILITIES, boundingCapabilities, readHostDevices, readHostFacts, parseLimits, type HostFacts } from './host.js';
import { DEFAULT_SECCOMP_PROFILE, fromProfile, loadSeccompProfile, parseSeccompProfile, seccompForSpec } from './seccomp.js';
import { DEFAULT_CAPABILITIES, DEFAULT_PATH, RLIM_INFINITY, buildSpec, capabilitySet, mergeEnv, parseUlimit, type OciSpec, type RunOptions, type SpecInputs } from './spec.js';
import { specJson } from './bundle.js';

const HOST: HostFacts = {
  rlimits: { nofile: { soft: 1024, hard: 20000 }, nproc: { soft: 96368, hard: 96368 }, core: { soft: 0, hard: undefined } },
  capabilities: [...CAPABILITIES],
  cpus: 2,
  cgroup2: false,
  swapLimit: true,
  arch: 'amd64',
};

const ROOT_USER = { uid: 0, gid: 0, additionalGids: [], home: '/root' };

function inputs(options: Partial<RunOptions>, image: SpecInputs['image'] = { Cmd: ['sh'] }): SpecInputs {
  return {
    id: 'c0ffee',
    image,
    rootfs: '/store/c0ffee/merged',
    options: { user: ROOT_USER, hostname: 'c0ffee', securityOpt: ['seccomp=unconfined'], ...options },
    host: HOST,
    kernel: '6.18.0',
  };
}

const spec = (options: Partial<RunOptions>, image?: SpecInputs['image']) => buildSpec(inputs(options, image)).spec;

describe('spec', () => {
  it('takes the command as Docker does: args replace Cmd, --entrypoint replaces Entrypoint and drops Cmd', () => {
    const image = { Entrypoint: ['/entry.sh'], Cmd: ['serve', '--port=1'] };
    assert.deepEqual(spec({}, image).process.args, ['/entry.sh', 'serve', '--port=1']);
    assert.deepEqual(spec({ args: ['echo', 'hi'] }, image).process.args, ['/entry.sh', 'echo', 'hi']);
    assert.deepEqual(spec({ entrypoint: ['sh', '-c'] }, image).process.args, ['sh', '-c']);
    assert.deepEqual(spec({ entrypoint: [''], args: ['ls'] }, image).process.args, ['ls']);
    assert.throws(() => spec({ entrypoint: [''] }, image), (e: unknown) => e instanceof UsageError && e.message === 'no command specified' && e.exitCode === 125);
    assert.throws(() => spec({}, {}), /no command specified/);
  });

  it("makes the environment in Docker's order: PATH, HOSTNAME, TERM, the image's, -e; HOME from passwd", () => {
    assert.deepEqual(spec({}).process.env, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=c0ffee', 'HOME=/root']);
    const s = spec(
      { tty: true, env: ['A=override', 'B', 'C=new', 'HOME=/h'], user: { uid: 33, gid: 33, additionalGids: [], home: '/var/www' } },
      { Cmd: ['sh'], Env: ['PATH=/custom/bin', 'A=image', 'B=gone'] },
    );
    assert.deepEqual(s.process.env, ['PATH=/custom/bin', 'HOSTNAME=c0ffee', 'TERM=xterm', 'A=override', 'C=new', 'HOME=/h']);
    assert.deepEqual(spec({ user: { uid: 1000, gid: 0, additionalGids: [], home: '/' } }).process.env.at(-1), 'HOME=/');
    assert.deepEqual(mergeEnv(['X=1', 'Y=2'], ['Y', 'Z=3', 'Z=4']), ['X=1', 'Z=4']);
    assert.throws(() => mergeEnv([], ['=x']), InvalidArgumentError);
  });

  it('takes the working directory from -w, else the image, else /; a relative one is refused', () => {
    assert.equal(spec({}).process.cwd, '/');
    assert.equal(spec({}, { Cmd: ['sh'], WorkingDir: '/app' }).process.cwd, '/app');
    assert.equal(spec({ workdir: '/tmp' }, { Cmd: ['sh'], WorkingDir: '/app' }).process.cwd, '/tmp');
    assert.throws(() => spec({ workdir: 'rel' }), /the working directory 'rel' is invalid, it needs to be an absolute path/);
  });

  it("gives Docker's capability set, --cap-add/--cap-drop with ALL, everything with --privileged", () => {
    assert.deepEqual(spec({}).process.capabilities.bounding, [...DEFAULT_CAPABILITIES]);
    assert.equal(DEFAULT_CAPABILITIES.length, 14);
    const c = capabilitySet({ capAdd: ['sys_admin', 'CAP_NET_ADMIN'], capDrop: ['chown', 'CAP_MKNOD'] }, CAPABILITIES);
    assert.ok(c.includes('CAP_SYS_ADMIN') && c.includes('CAP_NET_ADMIN'));
    assert.ok(!c.includes('CAP_CHOWN') && !c.includes('CAP_MKNOD'));
    assert.equal(c.length, 14);
    assert.equal(capabilitySet({ capAdd: ['ALL'], capDrop: ['NET_ADMIN'] }, CAPABILITIES).length, 40);
    assert.deepEqual(capabilitySet({ capAdd: ['KILL'], capDrop: ['ALL'] }, CAPABILITIES), ['CAP_KILL']);
    assert.throws(() => capabilitySet({ capAdd: ['FLY'] }, CAPABILITIES), (e: unknown) => e instanceof InvalidArgumentError && e.message === 'unknown capability: "CAP_FLY"');
    // A process without CAP_SYS_RESOURCE (this machine's case) can give neither it nor "all" of the kernel's.
    const held = boundingCapabilities('Name:\tx\nCapBnd:\t000001fffeffffff\n');
    assert.equal(held.length, 40);
    assert.ok(!held.includes('CAP_SYS_RESOURCE') && held.includes('CAP_CHECKPOINT_RESTORE'));
    assert.deepEqual(capabilitySet({ privileged: true }, held), held);
    assert.ok(!capabilitySet({ capAdd: ['ALL'] }, held).includes('CAP_SYS_RESOURCE'));
    assert.throws(() => capabilitySet({ capAdd: ['SYS_RESOURCE'] }, held), /cannot give the container CAP_SYS_RESOURCE: this process does not hold it/);
    const p = spec({ privileged: true });
    assert.equal(p.process.capabilities.effective.length, 41);
    assert.equal(p.linux.maskedPaths, undefined);
    assert.equal(p.linux.readonlyPaths, undefined);
    assert.deepEqual(p.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
    assert.deepEqual(p.mounts.find((m) => m.destination === '/sys')?.options, ['nosuid', 'noexec', 'nodev']);
  });

  it('gives a privileged container the host devices, and no other container', () => {
    const devices = readHostDevices();
    const nul = devices.find((d) => d.path === '/dev/null');
    assert.deepEqual(nul && { type: nul.type, major: nul.major, minor: nul.minor, fileMode: nul.fileMode }, { type: 'c', major: 1, minor: 3, fileMode: 0o666 });
    assert.ok(!devices.some((d) => d.path === '/dev/ptmx' || d.path === '/dev/console' || d.path.startsWith('/dev/pts/')));
    const p = buildSpec({ ...inputs({ privileged: true }), hostDevices: devices }).spec;
    assert.deepEqual(p.linux.devices, devices);
    assert.equal(buildSpec({ ...inputs({}), hostDevices: devices }).spec.linux.devices, undefined);
  });

  it('masks and makes read-only the paths Docker does, and allows only the default devices', () => {
    const s = spec({});
    assert.ok(s.linux.maskedPaths?.includes('/proc/kcore') && s.linux.maskedPaths.includes('/sys/firmware'));
    assert.deepEqual(s.linux.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
    assert.deepEqual(s.linux.resources.devices[0], { allow: false, access: 'rwm' });
    assert.ok(s.linux.resources.devices.some((d) => d.allow && d.major === 1 && d.minor === 3 && d.access === 'rwm'));
    assert.ok(!s.linux.resources.devices.some((d) => d.allow && d.type === 'b' && d.access.includes('r')));
  });

  it('has its own network namespace (loopback only) with --network none and none with host', () => {
    const none = spec({ network: 'none' });
    assert.deepEqual(none.linux.namespaces.map((n) => n.type), ['mount', 'network', 'uts', 'pid', 'ipc']);
    assert.equal(none.linux.sysctl?.['net.ipv4.ip_unprivileged_port_start'], '0');
    const host = spec({ network: 'host' });
    assert.deepEqual(host.linux.namespaces.map((n) => n.type), ['mount', 'uts', 'pid', 'ipc']);
    assert.equal(host.linux.sysctl, undefined);
    assert.ok(buildSpec({ ...inputs({}), host: { ...HOST, cgroup2: true } }).spec.linux.namespaces.some((n) => n.type === 'cgroup'));
  });

  it('mounts the kernel file systems, then binds and tmpfs shallowest first, then the /etc files', () => {
    const s = spec({
      readOnly: true,
      binds: [
        { source: '/srv/a', destination: '/data/sub' },
        { source: '/srv/b', destination: '/data', readOnly: true, propagation: 'rslave' },
      ],
      tmpfs: [{ destination: '/run', options: ['size=64m'] }],
      etcFiles: { hosts: '/c/hosts', hostname: '/c/hostname', resolvConf: '/c/resolv.conf' },
    });
    assert.deepEqual(
      s.mounts.map((m) => `${m.destination} ${m.type}`),
      ['/proc proc', '/dev tmpfs', '/dev/pts devpts', '/sys sysfs', '/sys/fs/cgroup cgroup', '/dev/mqueue mqueue', '/dev/shm tmpfs',
        '/data bind', '/run tmpfs', '/data/sub bind', '/etc/resolv.conf bind', '/etc/hostname bind', '/etc/hosts bind'],
    );
    assert.deepEqual(s.mounts.find((m) => m.destination === '/data')?.options, ['rbind', 'rslave', 'ro']);
    assert.deepEqual(s.mounts.find((m) => m.destination === '/data/sub')?.options, ['rbind', 'rprivate']);
    assert.deepEqual(s.mounts.find((m) => m.destination === '/run')?.options, ['size=64m', 'noexec', 'nosuid', 'nodev']);
    assert.deepEqual(s.mounts.find((m) => m.destination === '/etc/hosts'), { destination: '/etc/hosts', type: 'bind', source: '/c/hosts', options: ['rbind', 'rprivate', 'ro'] });
    assert.deepEqual(s.root, { path: '/store/c0ffee/merged', readonly: true });
    // --tmpfs /dev/shm replaces the default one.
    const shm = spec({ tmpfs: [{ destination: '/dev/shm', options: ['size=1g'] }] }).mounts.filter((m) => m.destination === '/dev/shm');
    assert.deepEqual(shm.map((m) => m.options), [['size=1g', 'noexec', 'nosuid', 'nodev']]);
    assert.throws(() => spec({ tmpfs: [{ destination: '/x' }, { destination: '/x/' }] }), /Duplicate mount point: \/x/);
    assert.throws(() => spec({ binds: [{ source: 'rel', destination: '/x' }] }), /bind source path must be absolute/);
  });

  it('limits memory (swap twice as Docker), cpus and pids', () => {
    const s = spec({ memory: 64 * 1024 * 1024, cpus: 1.5, pidsLimit: 50 });
    assert.deepEqual(s.linux.resources.memory, { limit: 67108864, swap: 134217728 });
    assert.deepEqual(s.linux.resources.cpu, { quota: 150000, period: 100000 });
    assert.deepEqual(s.linux.resources.pids, { limit: 50 });
    assert.equal(spec({ pidsLimit: -1 }).linux.resources.pids, undefined);
    const noSwap = buildSpec({ ...inputs({ memory: 64 * 1024 * 1024, memorySwap: 128 * 1024 * 1024 }), host: { ...HOST, swapLimit: false } });
    assert.deepEqual(noSwap.spec.linux.resources.memory, { limit: 67108864 });
    assert.match(noSwap.warnings[0]!, /does not support swap limit/);
    assert.throws(() => spec({ memory: 1024 }), /Minimum memory limit allowed is 6MB/);
    assert.throws(() => spec({ cpus: 3 }), /Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available/);
  });

  it("clamps rlimits to the caller's hard limits, with a warning", () => {
    assert.equal(spec({}).process.rlimits, undefined, 'none asked: the caller\'s are inherited');
    const r = buildSpec(inputs({ ulimits: [parseUlimit('nofile=1048576:1048576'), parseUlimit('nproc=100:200'), parseUlimit('core=-1')] }));
    assert.deepEqual(r.spec.process.rlimits, [
      { type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 },
      { type: 'RLIMIT_NPROC', hard: 200, soft: 100 },
      { type: 'RLIMIT_CORE', hard: RLIM_INFINITY, soft: RLIM_INFINITY },
    ]);
    assert.deepEqual(r.warnings, ['ulimit nofile: hard limit 1048576 lowered to 20000, the most this process may set']);
    assert.match(specJson(r.spec), /"hard": 18446744073709551615,/);
    assert.throws(() => parseUlimit('nofile=10:5'), /soft limit must be less than or equal to hard limit: 10 > 5/);
    assert.throws(() => parseUlimit('bogus=1'), /invalid ulimit type: bogus/);
    // Docker 20.10's other messages (go-units v0.4.0), as dockerd's CLI printed them.
    assert.throws(() => parseUlimit('foo'), /^InvalidArgumentError: invalid ulimit argument: foo$/);
    assert.throws(() => parseUlimit('toString=1'), /^InvalidArgumentError: invalid ulimit type: toString$/);
    assert.throws(() => parseUlimit('nofile=x'), /^InvalidArgumentError: strconv.ParseInt: parsing "x": invalid syntax$/);
    assert.throws(() => parseUlimit('nofile=1:2:3'), /^InvalidArgumentError: too many limit value arguments - 1:2:3, can only have up to two, `soft\[:hard\]`$/);
    assert.throws(() => parseUlimit('nofile=-1:5'), /^InvalidArgumentError: ulimit soft limit must be less than or equal to hard limit: soft: -1 \(unlimited\), hard: 5$/);
    assert.deepEqual(parseUlimit('nofile=-1'), { name: 'nofile', soft: -1, hard: -1 });
    assert.deepEqual(parseUlimit('nofile=100:-1'), { name: 'nofile', soft: 100, hard: -1 });
    assert.deepEqual(parseUlimit('nproc=+5'), { name: 'nproc', soft: 5, hard: 5 });
    assert.deepEqual(parseLimits('Limit Soft Limit Hard Limit Units\nMax open files            1024                 20000                files     \nMax core file size        0                    unlimited            bytes     \n'), {
      nofile: { soft: 1024, hard: 20000 },
      core: { soft: 0, hard: undefined },
    });
  });

  it('takes user, hostname, tty, security options and labels', () => {
    const s = spec({
      user: { uid: 65534, gid: 65534, additionalGids: [50], home: '/nonexistent' },
      hostname: 'web',
      tty: true,
      securityOpt: ['seccomp=unconfined', 'no-new-privileges'],
      labels: { a: 'b' },
      stopSignal: 'SIGINT',
    }, { Cmd: ['sh'], Labels: { a: 'image', c: 'd' } });
    // the primary gid among the groups, as Docker's runtime sets them
    assert.deepEqual(s.process.user, { uid: 65534, gid: 65534, additionalGids: [50, 65534] });
    assert.equal(s.hostname, 'web');
    assert.equal(s.process.terminal, true);
    assert.equal(s.process.noNewPrivileges, true);
    assert.equal(s.linux.seccomp, undefined);
    assert.deepEqual(s.annotations, { a: 'b', c: 'd', 'org.opencontainers.image.stopSignal': 'SIGINT' });
    assert.equal(s.linux.cgroupsPath, '/cairn/c0ffee');
    // Docker on a host without AppArmor or SELinux takes these and ignores them; so does cairn.
    assert.equal(spec({ securityOpt: ['seccomp=unconfined', 'apparmor=x', 'label=disable', 'label:type:t', 'disable'] }).process.noNewPrivileges, undefined);
    assert.equal(spec({ securityOpt: ['seccomp:unconfined', 'no-new-privileges:true'] }).process.noNewPrivileges, true);
    assert.throws(() => spec({ securityOpt: ['seccomp=/my/profile.json'] }), UsageError);
    assert.throws(() => spec({ securityOpt: ['no-new-privileges=maybe'] }), /^InvalidArgumentError: invalid --security-opt 2: "no-new-privileges=maybe"$/);
    assert.throws(() => spec({ securityOpt: ['foo'] }), /^InvalidArgumentError: invalid --security-opt 1: "foo"$/);
    assert.throws(() => spec({ securityOpt: ['foo=bar'] }), /^InvalidArgumentError: invalid --security-opt 2: "foo=bar"$/);
  });

  it('needs the seccomp profile unless unconfined', () => {
    assert.throws(() => spec({ securityOpt: [] }), /no seccomp profile given: read \/usr\/share\/containers\/seccomp.json/);
    assert.throws(() => loadSeccompProfile('/nonexistent/seccomp.json'), (e: unknown) =>
      e instanceof PreconditionError && /the default seccomp profile \/nonexistent\/seccomp.json is missing: install containers-common/.test(e.message));
    const dir = mkdtempSync(join(tmpdir(), 'cairn-seccomp-'));
    try {
      writeFileSync(join(dir, 'bad.json'), '{"defaultAction": 3, "syscalls": []}');
      assert.throws(() => loadSeccompProfile(join(dir, 'bad.json')), /seccomp profile .*bad.json: defaultAction is not a string/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("converts the profile: this architecture's entries, rules filtered by capability, arch and kernel", () => {
    const profile = parseSeccompProfile(JSON.stringify({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }, { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] }],
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW', args: [], comment: '', includes: {}, excludes: {} },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
        { names: ['bpf'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['bpf'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
        { names: ['new_call'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '7.0' } },
      ],
    }), 'test');
    const plain = seccompForSpec(profile, { capabilities: DEFAULT_CAPABILITIES, arch: 'amd64', kernel: '6.18.44-fc' });
    assert.deepEqual(plain, {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
        { names: ['bpf'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW' },
      ],
    });
    const admin = seccompForSpec(profile, { capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], arch: 'arm64', kernel: '7.1' });
    assert.deepEqual(admin.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    assert.deepEqual(admin.syscalls?.map((s) => `${s.names[0]} ${s.action}`), ['read SCMP_ACT_ALLOW', 'personality SCMP_ACT_ALLOW', 'bpf SCMP_ACT_ALLOW', 'new_call SCMP_ACT_ALLOW']);
  });

  it('reads the installed default profile (containers-common) at run time', () => {
    const profile = loadSeccompProfile();
    const s = buildSpec({ ...inputs({ securityOpt: [] }), seccomp: fromProfile(profile) }).spec;
    assert.equal(s.linux.seccomp?.defaultAction, profile.defaultAction);
    assert.ok(s.linux.seccomp?.syscalls?.some((c) => c.names.includes('read') && c.action === 'SCMP_ACT_ALLOW'));
    assert.equal(DEFAULT_SECCOMP_PROFILE, '/usr/share/containers/seccomp.json');
  });
});

/** podman, with its own storage in a temporary directory, as the reference for the same flags. */
describe('spec beside podman', { skip: spawnSync('sh', ['-c', 'command -v podman']).status !== 0 ? 'podman is not installed' : false }, () => {
  let dir: string;
  const global = () => ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
  const podman = (...args: string[]): string => execFileSync('podman', [...global(), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

  before(async () => {
    const { busyboxTar } = await import('../../test/helpers.js');
    dir = mkdtempSync(join(tmpdir(), 'cairn-podman-'));
    writeFileSync(join(dir, 'bb.tar'), await busyboxTar());
    podman('import', '-q', '--change', 'ENV FROM_IMAGE=1', '--change', 'WORKDIR /srv', join(dir, 'bb.tar'), 'cairn-spec-test:1');
  });
  after(() => {
    spawnSync('podman', [...global(), 'rm', '-a', '-f'], { stdio: 'ignore' });
    spawnSync('podman', [...global(), 'rmi', '-a', '-f'], { stdio: 'ignore' });
    spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/mounts | xargs -r -n1 umount -l`], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });

  /** The config.json podman writes for `podman create FLAGS IMAGE ARGS` (when it initialises the container). */
  function podmanConfig(flags: string[], args: string[]): OciSpec {
    const id = podman('create', ...flags, 'cairn-spec-test:1', ...args);
    try {
      spawnSync('podman', [...global(), 'init', id], { stdio: 'ignore' });
      return JSON.parse(readFileSync(join(dir, 'storage', 'overlay-containers', id, 'userdata', 'config.json'), 'utf8')) as OciSpec;
    } finally {
      spawnSync('podman', [...global(), 'rm', '-f', id], { stdio: 'ignore' });
    }
  }

  const ours = (options: Partial<RunOptions>) => buildSpec({
    id: 'x',
    image: { Env: ['FROM_IMAGE=1'], WorkingDir: '/srv', Cmd: ['sh'] },
    rootfs: '/unused',
    options: { user: ROOT_USER, hostname: 'hh', ...options },
    host: readHostFacts(),
    kernel: release(),
    seccomp: fromProfile(loadSeccompProfile()),
  }).spec;

  const sorted = (a: readonly string[] | undefined) => [...(a ?? [])].sort();

  it("matches podman's config.json for the same image and flags (command, env, user, caps, seccomp, limits, namespaces, mounts)", () => {
    // Podman's default capabilities lack three of Docker's: add them so both sets are Docker's.
    const t = podmanConfig(['--network', 'none', '--hostname', 'hh', '-e', 'FOO=bar', '-w', '/tmp', '--memory', '64m', '--cpus', '1.5', '--pids-limit', '50',
      '--ulimit', 'nofile=1000:2000', '--cap-add', 'MKNOD,NET_RAW,AUDIT_WRITE,SYS_ADMIN', '--cap-drop', 'CHOWN', '--label', 'a=b'], ['sh', '-c', 'echo hi']);
    const o = ours({
      args: ['sh', '-c', 'echo hi'], env: ['FOO=bar'], workdir: '/tmp', network: 'none',
      memory: 64 * 1024 * 1024, cpus: 1.5, pidsLimit: 50, ulimits: [parseUlimit('nofile=1000:2000')],
      capAdd: ['SYS_ADMIN'], capDrop: ['CHOWN'], labels: { a: 'b' },
    });
    assert.deepEqual(o.process.args, t.process.args);
    assert.equal(o.process.cwd, t.process.cwd);
    assert.equal(o.hostname, t.hostname);
    assert.deepEqual({ uid: o.process.user.uid, gid: o.process.user.gid }, { uid: t.process.user.uid, gid: t.process.user.gid });
    // podman adds container=podman, and TERM=xterm even without a terminal (Docker only with -t).
    assert.deepEqual(sorted(o.process.env), sorted(t.process.env.filter((e) => e !== 'container=podman' && e !== 'TERM=xterm')));
    assert.deepEqual(sorted(o.process.capabilities.bounding), sorted(t.process.capabilities.bounding));
    assert.deepEqual(sorted(o.process.capabilities.effective), sorted(t.process.capabilities.effective));
    assert.deepEqual(o.process.rlimits?.find((r) => r.type === 'RLIMIT_NOFILE'), t.process.rlimits?.find((r) => r.type === 'RLIMIT_NOFILE'));
    assert.deepEqual(o.linux.resources.memory, t.linux.resources.memory);
    assert.deepEqual(o.linux.resources.cpu, t.linux.resources.cpu);
    assert.deepEqual(o.linux.resources.pids, t.linux.resources.pids);
    assert.deepEqual(sorted(o.linux.namespaces.map((n) => n.type)), sorted(t.linux.namespaces.map((n) => n.type)));
    // The seccomp filter, converted from the same file for the same capabilities: identical.
    assert.deepEqual(o.linux.seccomp, t.linux.seccomp);
    // The kernel file systems, with the same options (podman's /dev/shm is a bind of its own tmpfs; its /dev is noexec).
    for (const dest of ['/proc', '/dev', '/dev/pts', '/dev/mqueue', '/sys']) {
      const a = o.mounts.find((m) => m.destination === dest);
      const b = t.mounts.find((m) => m.destination === dest);
      assert.deepEqual({ type: a?.type, source: a?.source }, { type: b?.type, source: b?.source }, dest);
      assert.deepEqual(new Set(a?.options.filter((x) => x !== 'noexec')), new Set(b?.options.filter((x) => x !== 'noexec')), dest);
    }
    // Docker's read-only paths are all podman's too; both mask the kernel's secrets.
    for (const p of o.linux.readonlyPaths ?? []) assert.ok(t.linux.readonlyPaths?.includes(p) ?? false, p);
    for (const p of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware']) assert.ok(o.linux.maskedPaths?.includes(p) && t.linux.maskedPaths?.includes(p), p);
  });

  it('matches podman with every capability dropped but two, no-new-privileges, a read-only root and the host network', () => {
    const t = podmanConfig(['--network', 'host', '--cap-drop', 'ALL', '--cap-add', 'CHOWN,SYS_PTRACE', '--security-opt', 'no-new-privileges', '--read-only', '--read-only-tmpfs=false'], ['true']);
    const o = ours({ args: ['true'], network: 'host', capDrop: ['ALL'], capAdd: ['CHOWN', 'SYS_PTRACE'], securityOpt: ['no-new-privileges'], readOnly: true });
    assert.deepEqual(sorted(o.process.capabilities.bounding), ['CAP_CHOWN', 'CAP_SYS_PTRACE']);
    assert.deepEqual(sorted(o.process.capabilities.bounding), sorted(t.process.capabilities.bounding));
    assert.equal(o.process.noNewPrivileges, true);
    assert.equal(t.process.noNewPrivileges, true);
    assert.equal(o.root.readonly, true);
    assert.equal(t.root.readonly, true);
    assert.ok(!o.linux.namespaces.some((n) => n.type === 'network'));
    assert.deepEqual(sorted(o.linux.namespaces.map((n) => n.type)), sorted(t.linux.namespaces.map((n) => n.type)));
    // CAP_SYS_PTRACE lets kcmp and process_madvise through; without CAP_SYS_ADMIN etc. their rules are the errno ones.
    assert.deepEqual(o.linux.seccomp, t.linux.seccomp);
    assert.ok(o.linux.seccomp?.syscalls?.some((c) => c.names.includes('kcmp') && c.action === 'SCMP_ACT_ALLOW'));
  });
});
