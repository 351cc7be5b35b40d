/**
 * `run`/`create` flags into CreateOptions, against docker 20.10.24: every message below is what
 * `docker create FLAGS bb true` (or `docker run`) printed there, without Docker's framing
 * (`docker: ...`, `Error response from daemon: ...`, `See 'docker create --help'.`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateFlagError, CreateRefusedError } from './errors.js';
import {
  filesToRead,
  parseContainerName,
  parseCreateFlags,
  parseDetachKeys,
  parsePlatformFlag,
  parseRestartPolicy,
  parseUserSpec,
  restartRefusal,
  type CreateEnv,
  type RawCreateFlags,
} from './options.js';
import { isValidSignal, parseSignal, signalName } from './signals.js';

const ENV: CreateEnv = { getenv: (n) => ({ HOME: '/home/x', FOO: 'from-env' })[n], cpuCount: 2 };

function parse(raw: RawCreateFlags, env: Partial<CreateEnv> = {}) {
  return parseCreateFlags({ image: 'bb', ...raw }, { ...ENV, ...env });
}

function fails(raw: RawCreateFlags, message: string, stage: 'flag' | 'client' | 'daemon', exitCode = 125, env: Partial<CreateEnv> = {}): void {
  assert.throws(() => parse(raw, env), (e: unknown) => {
    assert.ok(e instanceof CreateFlagError, `not a CreateFlagError: ${String(e)}`);
    assert.equal(e.message, message);
    assert.equal(e.stage, stage);
    assert.equal(e.exitCode, exitCode);
    return true;
  });
}

function refused(raw: RawCreateFlags, pattern: RegExp): void {
  assert.throws(() => parse(raw), (e: unknown) => {
    assert.ok(e instanceof CreateRefusedError, `not a CreateRefusedError: ${String(e)}`);
    assert.equal(e.exitCode, 125);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

const flag = (name: string, value: string, message: string) => `invalid argument ${JSON.stringify(value)} for "${name}" flag: ${message}`;

describe('options: flag values', () => {
  it('refuses what pflag refuses, with its wording', () => {
    fails({ memory: 'lots' }, flag('-m, --memory', 'lots', "invalid size: 'lots'"), 'flag');
    fails({ memory: '1.5.3g' }, flag('-m, --memory', '1.5.3g', 'strconv.ParseFloat: parsing "1.5.3": invalid syntax'), 'flag');
    fails({ memory: '-1' }, flag('-m, --memory', '-1', "invalid size: '-1'"), 'flag');
    fails({ memory: '' }, flag('-m, --memory', '', "invalid size: ''"), 'flag');
    fails({ memorySwap: '-2' }, flag('--memory-swap', '-2', "invalid size: '-2'"), 'flag');
    fails({ shmSize: 'foo' }, flag('--shm-size', 'foo', "invalid size: 'foo'"), 'flag');
    fails({ cpus: 'foo' }, flag('--cpus', 'foo', 'failed to parse foo as a rational number'), 'flag');
    fails({ cpus: '1.0000000001' }, flag('--cpus', '1.0000000001', 'value is too precise'), 'flag');
    fails({ pidsLimit: 'foo' }, flag('--pids-limit', 'foo', 'strconv.ParseInt: parsing "foo": invalid syntax'), 'flag');
    fails({ stopTimeout: '1.5' }, flag('--stop-timeout', '1.5', 'strconv.ParseInt: parsing "1.5": invalid syntax'), 'flag');
    fails({ healthRetries: 'x' }, flag('--health-retries', 'x', 'strconv.ParseInt: parsing "x": invalid syntax'), 'flag');
    fails({ healthInterval: '10' }, flag('--health-interval', '10', 'time: missing unit in duration "10"'), 'flag');
    fails({ healthInterval: 'foo' }, flag('--health-interval', 'foo', 'time: invalid duration "foo"'), 'flag');
    fails({ healthInterval: '1q' }, flag('--health-interval', '1q', 'time: unknown unit "q" in duration "1q"'), 'flag');
    fails({ env: ['=x'] }, flag('-e, --env', '=x', 'invalid environment variable: =x'), 'flag');
    fails({ env: [''] }, flag('-e, --env', '', 'invalid environment variable: '), 'flag');
    fails({ label: ['=x'] }, flag('-l, --label', '=x', "invalid label '=x': empty name"), 'flag');
    fails({ label: ['a b=1'] }, flag('-l, --label', 'a b=1', "label 'a b' contains whitespaces"), 'flag');
    fails({ attach: ['foo'] }, flag('-a, --attach', 'foo', 'valid streams are STDIN, STDOUT and STDERR'), 'flag');
    fails({ ulimit: ['foo'] }, flag('--ulimit', 'foo', 'invalid ulimit argument: foo'), 'flag');
    fails({ ulimit: ['foo=1'] }, flag('--ulimit', 'foo=1', 'invalid ulimit type: foo'), 'flag');
    fails({ ulimit: ['nofile=x'] }, flag('--ulimit', 'nofile=x', 'strconv.ParseInt: parsing "x": invalid syntax'), 'flag');
    fails({ ulimit: ['nofile=2:1'] }, flag('--ulimit', 'nofile=2:1', 'ulimit soft limit must be less than or equal to hard limit: 2 > 1'), 'flag');
    fails({ ulimit: ['nofile=-1:5'] }, flag('--ulimit', 'nofile=-1:5', 'ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 5'), 'flag');
    fails({ ulimit: ['nofile=1:2:3'] }, flag('--ulimit', 'nofile=1:2:3', 'too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`'), 'flag');
    fails({ mount: ['a:/x'] }, flag('--mount', 'a:/x', "invalid field 'a:/x' must be a key=value pair"), 'flag');
  });

  it("refuses what Docker's CLI refuses", () => {
    fails({ healthInterval: '-1s' }, '--health-interval cannot be negative', 'client');
    fails({ healthRetries: '-1' }, '--health-retries cannot be negative', 'client');
    fails({ healthStartPeriod: '-5s' }, '--health-start-period cannot be negative', 'client');
    fails({ healthTimeout: '-5s' }, '--health-timeout cannot be negative', 'client');
    fails({ noHealthcheck: true, healthCmd: 'true' }, '--no-healthcheck conflicts with --health-* options', 'client');
    fails({ restart: 'on-failure:x' }, 'maximum retry count must be an integer', 'client');
    fails({ restart: 'on-failure:1:2' }, 'invalid restart policy format', 'client');
    fails({ restart: 'always', rm: true }, 'Conflicting options: --restart and --rm', 'client');
    fails({ securityOpt: ['foo'] }, 'Invalid --security-opt: "foo"', 'client');
    fails({ network: '' }, 'no name set for network', 'client');
    fails({ command: 'run', detach: true, attach: ['stdout'] }, 'Conflicting options: -a and -d', 'client', 1);
    fails({ envFile: ['nosuch'] }, 'open nosuch: no such file or directory', 'client', 125, { files: new Map([['nosuch', { errno: 'ENOENT' }]]) });
    fails({ labelFile: ['nosuch'] }, 'open nosuch: no such file or directory', 'client', 125, { files: new Map([['nosuch', { errno: 'ENOENT' }]]) });
    fails({ envFile: ['envf'] }, "poorly formatted environment: variable 'D E' contains whitespaces", 'client', 125, { files: new Map([['envf', 'A=1\nD E=3\n']]) });
    fails({ platform: 'foo' }, 'error parsing specified platform: "foo": unknown operating system or architecture: invalid argument', 'client');
    fails({ platform: 'a/b/c/d' }, 'error parsing specified platform: "a/b/c/d": cannot parse platform specifier: invalid argument', 'client');
  });

  it('refuses what dockerd refuses', () => {
    fails({ memory: '1kb' }, 'Minimum memory limit allowed is 6MB', 'daemon');
    fails({ memory: '1m' }, 'Minimum memory limit allowed is 6MB', 'daemon');
    fails({ memory: '10m', memorySwap: '5m' }, 'Minimum memoryswap limit should be larger than memory limit, see usage', 'daemon');
    fails({ memorySwap: '10m' }, 'You should always set the Memory limit when using Memoryswap limit, see usage', 'daemon');
    fails({ cpus: '-1' }, 'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available', 'daemon');
    fails({ cpus: '100' }, 'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available', 'daemon');
    fails({ healthInterval: '500us' }, 'Interval in Healthcheck cannot be less than 1ms', 'daemon');
    fails({ healthTimeout: '1us' }, 'Timeout in Healthcheck cannot be less than 1ms', 'daemon');
    fails({ healthStartPeriod: '1ns' }, 'StartPeriod in Healthcheck cannot be less than 1ms', 'daemon');
    fails({ stopSignal: 'FOO' }, 'Invalid signal: FOO', 'daemon');
    fails({ stopSignal: '0' }, 'Invalid signal: 0', 'daemon');
    fails({ stopSignal: 'RTMIN+16' }, 'Invalid signal: RTMIN+16', 'daemon');
    fails({ restart: 'foo' }, "invalid restart policy 'foo'", 'daemon');
    fails({ restart: 'always:3' }, "maximum retry count cannot be used with restart policy 'always'", 'daemon');
    fails({ restart: 'on-failure:-1' }, 'maximum retry count cannot be negative', 'daemon');
    fails({ name: 'a' }, 'Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed', 'daemon');
    fails({ name: 'bad name' }, 'Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed', 'daemon');
    fails({ name: '_x' }, 'Invalid container name (_x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed', 'daemon');
    fails({ workdir: 'rel' }, "the working directory 'rel' is invalid, it needs to be an absolute path", 'daemon');
    fails({ capAdd: ['foo'] }, 'invalid CapAdd: unknown capability: "CAP_FOO"', 'daemon');
    fails({ capDrop: ['bar'] }, 'invalid CapDrop: unknown capability: "CAP_BAR"', 'daemon');
    fails({ capAdd: ['CAP_ALL'] }, 'invalid CapAdd: unknown capability: "CAP_ALL"', 'daemon');
    fails({ capAdd: [' net_raw'] }, 'invalid CapAdd: unknown capability: "CAP_ NET_RAW"', 'daemon');
    fails({ capAdd: [''] }, 'invalid CapAdd: unknown capability: "CAP_"', 'daemon');
    fails({ securityOpt: ['no-new-privileges=maybe'] }, 'invalid --security-opt 2: "no-new-privileges=maybe"', 'daemon');
    fails({ tmpfs: ['rel'] }, "invalid mount path: 'rel' mount path must be absolute", 'daemon');
    fails({ tmpfs: ['/'] }, "invalid specification: destination can't be '/'", 'daemon');
    fails({ volume: ['a:b:c:d'] }, "invalid volume specification: 'a:b:c:d'", 'daemon');
    fails({ volume: ['/tmp:/x', 'vol:/x'] }, 'Duplicate mount point: /x', 'daemon');
    fails({ volumesFrom: [''] }, 'volumes-from specification cannot be an empty string', 'daemon');
    fails({ mount: ['type=bind,dst=/x'] }, 'invalid mount config for type "bind": field Source must not be empty', 'daemon');
    fails({ runtime: 'kata' }, 'Unknown runtime specified kata', 'daemon');
    fails({ detachKeys: 'foo' }, 'Invalid detach keys (foo) provided', 'daemon');
  });

  it('reports the first problem in the order Docker finds them', () => {
    // A bad flag value before any check of the CLI, and those before the daemon's.
    fails({ memory: 'lots', restart: 'always', rm: true, name: 'a' }, flag('-m, --memory', 'lots', "invalid size: 'lots'"), 'flag');
    fails({ restart: 'always', rm: true, name: 'a', workdir: 'rel' }, 'Conflicting options: --restart and --rm', 'client');
    fails({ name: 'a', workdir: 'rel' }, "the working directory 'rel' is invalid, it needs to be an absolute path", 'daemon');
    fails({ restart: 'foo', rm: true }, 'Conflicting options: --restart and --rm', 'client');
    fails({ restart: 'foo', capAdd: ['bogus'] }, "invalid restart policy 'foo'", 'daemon');
    // --mount configs are checked with the request, -v binds when the container is made.
    fails({ volume: ['a:b:c:d'], mount: ['type=bind,dst=/x'], name: 'a' }, 'invalid mount config for type "bind": field Source must not be empty', 'daemon');
    fails({ volume: ['a:b:c:d'], name: 'a' }, 'Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed', 'daemon');
    fails({ volume: ['a:b:c:d'], memory: '1m' }, 'Minimum memory limit allowed is 6MB', 'daemon');
  });

  it("refuses in one line what cairn cannot do", () => {
    refused({ restart: 'always' }, /^--restart always is not supported: cairn has no daemon to restart containers; run the container from a service manager instead \(e\.g\. a systemd unit with Restart=always and ExecStart=cairn start -a NAME/);
    refused({ restart: 'unless-stopped' }, /Restart=always/);
    refused({ restart: 'on-failure:3' }, /^--restart on-failure:3 is not supported: .*Restart=on-failure and StartLimitBurst=3/);
    refused({ network: 'bridge' }, /^--network bridge is not supported yet: cairn has no container networks; use --network host \(the default\) or --network none$/);
    refused({ network: 'container:web' }, /^--network container:web is not supported yet/);
    refused({ network: 'mynet' }, /^--network mynet is not supported yet: cairn has no user-defined networks/);
    refused({ securityOpt: ['seccomp=/my/profile.json'] }, /^--security-opt seccomp=\/my\/profile.json is not supported/);
    refused({ securityOpt: ['systempaths=unconfined'] }, /^--security-opt systempaths=unconfined is not supported yet/);
    assert.match(restartRefusal({ Name: 'on-failure', MaximumRetryCount: 0 }).message, /^--restart on-failure is not supported: .*Restart=on-failure and ExecStart/);
  });
});

describe('options: CreateOptions', () => {
  it('has Docker defaults for a bare create', () => {
    const o = parse({ args: ['sleep', '10'] });
    assert.deepEqual(o, {
      image: 'bb',
      attachStdin: false,
      attachStdout: true,
      attachStderr: true,
      tty: false,
      openStdin: false,
      stdinOnce: false,
      env: [],
      labels: {},
      volumes: [],
      volumesFrom: [],
      mounts: [],
      tmpfs: [],
      network: 'host',
      restartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      autoRemove: false,
      capAdd: [],
      capDrop: [],
      privileged: false,
      readOnly: false,
      securityOpt: [],
      security: { seccomp: 'default', noNewPrivileges: false, label: [] },
      memory: 0,
      memorySwap: 0,
      shmSize: 0,
      nanoCpus: 0,
      ulimits: [],
      detach: false,
      cmd: ['sleep', '10'],
    });
  });

  it('takes every flag', () => {
    const o = parse(
      {
        command: 'run',
        name: '/web-1',
        hostname: 'myhost',
        user: '1000:1000',
        workdir: '/data',
        entrypoint: '/bin/sh',
        args: ['-c', 'sleep 10'],
        interactive: true,
        tty: true,
        env: ['FOO', 'EMPTY=', 'NOPE', 'A=1'],
        envFile: ['e1'],
        label: ['ref.kind=full', 'lc'],
        labelFile: ['l1'],
        volume: ['/tmp/rf/bind:/bind:ro', 'rfvol:/data', '/anon'],
        mount: ['type=tmpfs,dst=/scratch,tmpfs-size=1m,tmpfs-mode=1770'],
        tmpfs: ['/run:size=1m'],
        volumesFrom: ['other:ro'],
        memory: '64m',
        memorySwap: '128m',
        shmSize: '32m',
        cpus: '1.5',
        pidsLimit: '100',
        ulimit: ['nproc=10', 'nofile=100:200', 'nofile=300:400'],
        capAdd: ['SYS_ADMIN'],
        capDrop: ['net_raw'],
        securityOpt: ['no-new-privileges', 'label=disable'],
        init: true,
        readOnly: true,
        rm: true,
        restart: 'no',
        network: 'none',
        platform: 'linux/amd64',
        runtime: 'runc',
        stopSignal: 'SIGINT',
        stopTimeout: '5',
        healthCmd: 'true',
        healthInterval: '30s',
        healthRetries: '3',
        healthTimeout: '5s',
        healthStartPeriod: '1s',
        detachKeys: 'ctrl-x,x',
      },
      { files: new Map([['e1', 'A=0\nHOME\nB=2\n'], ['l1', 'la=1\nlb\n']]) },
    );
    assert.equal(o.name, 'web-1');
    assert.deepEqual([o.attachStdin, o.attachStdout, o.attachStderr, o.openStdin, o.stdinOnce, o.tty], [true, true, true, true, true, true]);
    assert.deepEqual(o.env, ['A=0', 'HOME=/home/x', 'B=2', 'FOO=from-env', 'EMPTY=', 'NOPE', 'A=1']);
    assert.deepEqual(o.labels, { la: '1', lc: '', 'ref.kind': 'full' });
    assert.deepEqual(o.entrypoint, ['/bin/sh']);
    assert.deepEqual(o.cmd, ['-c', 'sleep 10']);
    assert.deepEqual(o.volumes.map((v) => [v.text, v.spec.type]), [['/tmp/rf/bind:/bind:ro', 'bind'], ['rfvol:/data', 'volume'], ['/anon', 'volume']]);
    assert.deepEqual(o.mounts.map((m) => m.spec), [{ type: 'tmpfs', destination: '/scratch', readOnly: false, sizeBytes: 1048576, mode: 0o1770 }]);
    assert.deepEqual(o.tmpfs, [{ destination: '/run', options: ['size=1m'] }]);
    assert.deepEqual(o.volumesFrom, [{ text: 'other:ro', container: 'other', mode: 'ro' }]);
    assert.deepEqual([o.memory, o.memorySwap, o.shmSize, o.nanoCpus, o.pidsLimit], [67108864, 134217728, 33554432, 1500000000, 100]);
    assert.deepEqual(o.ulimits, [{ name: 'nofile', soft: 300, hard: 400 }, { name: 'nproc', soft: 10, hard: 10 }]);
    assert.deepEqual(o.security, { seccomp: 'default', noNewPrivileges: true, label: ['disable'] });
    assert.deepEqual([o.init, o.readOnly, o.autoRemove, o.network, o.runtime, o.stopSignal, o.stopTimeout], [true, true, true, 'none', 'runc', 'SIGINT', 5]);
    assert.deepEqual(o.platform, { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(o.healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 30e9, Timeout: 5e9, StartPeriod: 1e9, Retries: 3 });
    assert.equal(o.detachKeys, 'ctrl-x,x');
    assert.deepEqual(filesToRead({ envFile: ['a', 'b'], labelFile: ['a', 'c'] }), ['a', 'b', 'c']);
    // A container record keeps it as JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(o)), o);
  });

  it('keeps Docker’s attach rules', () => {
    const a = parse({ attach: ['STDIN', 'stdout'] });
    assert.deepEqual([a.attachStdin, a.attachStdout, a.attachStderr, a.stdinOnce], [true, true, false, false]);
    const d = parse({ command: 'run', detach: true, interactive: true, rm: true });
    assert.deepEqual([d.attachStdin, d.attachStdout, d.attachStderr, d.openStdin, d.stdinOnce, d.detach, d.autoRemove], [false, false, false, true, false, true, true]);
    // `create` has no -d: a detach flag given to it changes nothing.
    assert.equal(parse({ detach: true, attach: ['stdout'] }).detach, false);
  });

  it('takes what Docker accepts', () => {
    assert.equal(parse({ memory: '1t' }).memory, 1024 ** 4);
    assert.equal(parse({ memory: '1 g' }).memory, 1024 ** 3);
    assert.equal(parse({ memory: '10m', memorySwap: '-1' }).memorySwap, -1);
    assert.equal(parse({ shmSize: '0' }).shmSize, 0);
    assert.equal(parse({ cpus: '1/2' }).nanoCpus, 5e8);
    assert.equal(parse({ cpus: '0.001' }).nanoCpus, 1e6);
    assert.equal(parse({ pidsLimit: '0x10' }).pidsLimit, 16);
    assert.equal(parse({ pidsLimit: '-1' }).pidsLimit, undefined);
    assert.equal(parse({ pidsLimit: '0' }).pidsLimit, undefined);
    assert.equal(parse({ stopTimeout: '-1' }).stopTimeout, -1);
    assert.equal(parse({ stopSignal: 'sigkill' }).stopSignal, 'sigkill');
    assert.equal(parse({ stopSignal: '+5' }).stopSignal, '+5');
    assert.equal(parse({ stopSignal: '' }).stopSignal, undefined);
    assert.equal(parse({ healthInterval: '1ms' }).healthcheck?.Interval, 1e6);
    assert.equal(parse({ healthCmd: '' }).healthcheck, undefined);
    assert.deepEqual(parse({ healthRetries: '2' }).healthcheck, { Retries: 2 });
    assert.deepEqual(parse({ noHealthcheck: true }).healthcheck, { Test: ['NONE'] });
    assert.equal(parse({ name: '/ok-name' }).name, 'ok-name');
    assert.equal(parse({ name: '' }).name, undefined);
    assert.equal(parse({ workdir: '' }).workdir, undefined);
    assert.deepEqual(parse({ entrypoint: '' }).entrypoint, ['']);
    assert.equal(parse({ restart: 'no:0' }).restartPolicy.Name, 'no');
    assert.equal(parse({ restart: '' }).restartPolicy.Name, ''); // docker inspect: {"Name":"","MaximumRetryCount":0}
    assert.equal(parse({ restart: 'no', rm: true }).autoRemove, true);
    assert.equal(parse({ network: 'host' }).network, 'host');
    assert.equal(parse({ network: 'default' }).network, 'host');
    assert.equal(parse({ platform: '' }).platform, undefined);
    assert.deepEqual(parse({ capAdd: ['all', 'CAP_SYS_ADMIN', 'sys_admin'], capDrop: ['ALL'] }).capAdd, ['all', 'CAP_SYS_ADMIN', 'sys_admin']);
    assert.deepEqual(parse({ securityOpt: ['label=disable', 'apparmor=x', 'seccomp:unconfined'] }).security, { seccomp: 'unconfined', noNewPrivileges: false, label: ['disable'], apparmor: 'x' });
    assert.deepEqual(parse({ env: ['A B=1'] }).env, ['A B=1']);
    assert.deepEqual(parse({ label: [' k=1'] }).labels, { ' k': '1' });
    assert.deepEqual(parse({ volume: ['/tmp:/x:'] }).volumes.length, 1);
    assert.equal(parse({ tmpfs: ['/x:size=foo'] }).tmpfs.length, 1); // the kernel refuses it at start
    assert.equal(parse({ user: 'a b' }).user, 'a b');
    assert.equal(parse({ hostname: 'bad host' }).hostname, 'bad host');
    fails({ hostname: 'h'.repeat(65) }, `invalid hostname "${'h'.repeat(65)}": longer than 64 bytes, the most a hostname may have`, 'client');
  });

  it('needs the files it is told to read', () => {
    assert.throws(() => parse({ envFile: ['unread'] }), /the file unread was not read/);
  });
});

describe('options: single values', () => {
  it('reads names, users, restart policies, platforms, detach keys', () => {
    assert.equal(parseContainerName('ab'), 'ab');
    assert.deepEqual(parseUserSpec('www'), { user: 'www' });
    assert.deepEqual(parseUserSpec('1000:1000'), { user: '1000', group: '1000' });
    assert.deepEqual(parseUserSpec(':staff'), { user: '', group: 'staff' });
    assert.deepEqual(parseRestartPolicy('on-failure'), { Name: 'on-failure', MaximumRetryCount: 0 });
    assert.deepEqual(parseRestartPolicy('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
    assert.deepEqual(parseRestartPolicy('unless-stopped'), { Name: 'unless-stopped', MaximumRetryCount: 0 });
    assert.deepEqual(parsePlatformFlag('linux'), parsePlatformFlag('linux'));
    assert.equal(parsePlatformFlag('linux').os, 'linux');
    assert.deepEqual(parsePlatformFlag('arm64'), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(parsePlatformFlag('linux/aarch64'), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(parsePlatformFlag('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v6' });
    assert.throws(() => parsePlatformFlag('linux/x.y'), /^CreateFlagError: error parsing specified platform: "x.y" is an invalid component of "linux\/x.y": platform specifier component must match "\^\[A-Za-z0-9_-\]\+\$": invalid argument$/);
    assert.throws(() => parsePlatformFlag('linux/*'), /wildcards not yet supported/);
    assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
    assert.deepEqual(parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-_,a,DEL'), [0, 27, 28, 31, 97, 127]);
    assert.throws(() => parseDetachKeys('ctrl-A'), /Invalid detach keys \(ctrl-A\) provided/);
  });

  it('reads signals as pkg/signal', () => {
    assert.equal(parseSignal('SIGTERM'), 15);
    assert.equal(parseSignal('term'), 15);
    assert.equal(parseSignal('sigkill'), 9);
    assert.equal(parseSignal('9'), 9);
    assert.equal(parseSignal('+5'), 5);
    assert.equal(parseSignal('RTMIN'), 34);
    assert.equal(parseSignal('SIGRTMIN+3'), 37);
    assert.equal(parseSignal('rtmax-2'), 62);
    // Docker takes any number but 0 (`--stop-signal -1` and `99` were accepted).
    assert.equal(parseSignal('-1'), -1);
    assert.equal(parseSignal('99'), 99);
    assert.equal(isValidSignal(99), false);
    assert.equal(isValidSignal(64), true);
    assert.throws(() => parseSignal('0'), /^InvalidArgumentError: Invalid signal: 0$/);
    assert.throws(() => parseSignal('RTMIN+16'), /^InvalidArgumentError: Invalid signal: RTMIN\+16$/);
    assert.throws(() => parseSignal('FOO'), /^InvalidArgumentError: Invalid signal: FOO$/);
    assert.throws(() => parseSignal(''), /^InvalidArgumentError: Invalid signal: $/);
    assert.equal(signalName(15), 'SIGTERM');
    assert.equal(signalName(6), 'SIGABRT');
    assert.equal(signalName(35), 'SIGRTMIN+1');
    assert.equal(signalName(99), undefined);
    // cairn refuses a stop signal no signal has, where Docker would fail later at stop.
    fails({ stopSignal: '99' }, 'Invalid signal: 99', 'daemon');
    fails({ stopSignal: '-1' }, 'Invalid signal: -1', 'daemon');
  });
});

describe('options: totality', () => {
  it('throws nothing but CairnErrors, whatever the values', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['a', 'Z', '0', '1', '9', '/', ':', ',', '=', '"', ' ', '-', '+', '.', '_', 'x', 'e', 'm', 'g', 's', '\n', 'é', '日', '*', '\\', 'ro', 'rw', 'tmpfs', 'type=', 'dst=', 'src=/', 'ctrl-'];
    const word = (): string => Array.from({ length: rand(8) }, () => alphabet[rand(alphabet.length)]).join('');
    const keys: Array<keyof RawCreateFlags> = ['memory', 'memorySwap', 'shmSize', 'cpus', 'pidsLimit', 'stopTimeout', 'stopSignal', 'healthInterval', 'healthTimeout', 'healthStartPeriod', 'healthRetries', 'healthCmd', 'restart', 'network', 'platform', 'name', 'hostname', 'user', 'workdir', 'entrypoint', 'runtime', 'detachKeys'];
    const lists: Array<keyof RawCreateFlags> = ['attach', 'env', 'label', 'volume', 'volumesFrom', 'mount', 'tmpfs', 'ulimit', 'capAdd', 'capDrop', 'securityOpt'];
    for (let i = 0; i < 3000; i++) {
      const raw: Record<string, unknown> = {};
      const k = keys[rand(keys.length)]!;
      raw[k] = word();
      const l = lists[rand(lists.length)]!;
      raw[l] = [word(), word()];
      try {
        parse(raw as RawCreateFlags);
      } catch (e) {
        assert.ok(e instanceof CreateFlagError || e instanceof CreateRefusedError, `${JSON.stringify(raw)}: ${String(e)}`);
        assert.ok(!e.message.includes('\n') || /[\n]/.test(JSON.stringify(raw)), `${JSON.stringify(raw)}: ${e.message}`);
      }
    }
  });
});
