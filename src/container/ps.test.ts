/**
 * `ps` rows against what docker 20.10.24 printed (`docker ps -a`, `--no-trunc`,
 * `--format '{{json .}}'`, `--format '{{.Command}}|{{.Mounts}}|...'`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerState, containerStatus, ellipsis, humanDuration, humanSize, psCommand, psImage, psRow, type PsInput } from './ps.js';

const NOW = Date.UTC(2026, 11, 4, 2, 25, 51, 500);
const S = 1000;

describe('ps', () => {
  it('words durations as go-units HumanDuration', () => {
    assert.equal(humanDuration(999), 'Less than a second');
    assert.equal(humanDuration(1500), '1 second');
    assert.equal(humanDuration(59 * S), '59 seconds');
    assert.equal(humanDuration(60 * S), 'About a minute');
    assert.equal(humanDuration(119 * S), 'About a minute');
    assert.equal(humanDuration(120 * S), '2 minutes');
    assert.equal(humanDuration(59 * 60 * S), '59 minutes');
    assert.equal(humanDuration(89 * 60 * S), 'About an hour');
    assert.equal(humanDuration(90 * 60 * S), '2 hours');
    assert.equal(humanDuration(47 * 3600 * S), '47 hours');
    assert.equal(humanDuration(48 * 3600 * S), '2 days');
    assert.equal(humanDuration(14 * 86400 * S), '2 weeks');
    assert.equal(humanDuration(60 * 86400 * S), '2 months');
    assert.equal(humanDuration(730 * 86400 * S), '2 years');
  });

  it('words the STATUS column as State.String()', () => {
    assert.equal(containerStatus({ status: 'created', exitCode: 0 }, NOW), 'Created');
    assert.equal(containerStatus({ status: 'running', exitCode: 0, startedAt: NOW - 300 }, NOW), 'Up Less than a second');
    assert.equal(containerStatus({ status: 'running', exitCode: 0, startedAt: NOW - 3 * S }, NOW), 'Up 3 seconds');
    assert.equal(containerStatus({ status: 'paused', exitCode: 0, startedAt: NOW - 1 * S }, NOW), 'Up 1 second (Paused)');
    assert.equal(containerStatus({ status: 'paused', exitCode: 0, startedAt: NOW - 300, health: { Status: 'healthy' } }, NOW), 'Up Less than a second (Paused)');
    assert.equal(containerStatus({ status: 'running', exitCode: 0, startedAt: NOW - 65 * S, health: { Status: 'healthy' } }, NOW), 'Up About a minute (healthy)');
    assert.equal(containerStatus({ status: 'running', exitCode: 0, startedAt: NOW - 3 * S, health: { Status: 'unhealthy' } }, NOW), 'Up 3 seconds (unhealthy)');
    assert.equal(containerStatus({ status: 'running', exitCode: 0, startedAt: NOW - 2 * S, health: { Status: 'starting' } }, NOW), 'Up 2 seconds (health: starting)');
    assert.equal(containerStatus({ status: 'exited', exitCode: 0, startedAt: NOW - 6 * S, finishedAt: NOW - 5 * S }, NOW), 'Exited (0) 5 seconds ago');
    assert.equal(containerStatus({ status: 'exited', exitCode: 7, startedAt: NOW - 11 * S, finishedAt: NOW - 10 * S }, NOW), 'Exited (7) 10 seconds ago');
    assert.equal(containerStatus({ status: 'exited', exitCode: 137, startedAt: NOW - 11 * S }, NOW), '');
    assert.equal(containerStatus({ status: 'restarting', exitCode: 1, startedAt: NOW - 9 * S, finishedAt: NOW - 2 * S }, NOW), 'Restarting (1) 2 seconds ago');
    assert.equal(containerStatus({ status: 'dead', exitCode: 0 }, NOW), 'Dead');
    assert.equal(containerStatus({ status: 'removing', exitCode: 0, startedAt: NOW }, NOW), 'Removal In Progress');
    assert.equal(containerState({ status: 'created', exitCode: 0 }), 'created');
    assert.equal(containerState({ status: 'exited', exitCode: 0, startedAt: 1 }), 'exited');
    assert.equal(containerState({ status: 'paused', exitCode: 0, startedAt: 1 }), 'paused');
  });

  it('quotes and truncates COMMAND as Docker does', () => {
    assert.equal(psCommand('sh', ['-c', "echo new > /added.txt; mkdir -p /newdir/sub"]), "sh -c 'echo new > /added.txt; mkdir -p /newdir/sub'");
    assert.equal(psCommand('sleep', ['3600']), 'sleep 3600');
    assert.equal(psCommand('true', []), 'true');
    const row = (path: string, args: string[], trunc = true) => psRow(input({ path, args }), { now: NOW, trunc }).Command;
    assert.equal(row('sh', ['-c', 'echo new > /added.txt; mkdir -p /newdir/sub']), '"sh -c \'echo new > /…"');
    assert.equal(row('sh', ['-c', 'echo seven; echo seven-err >&2; exit 7']), '"sh -c \'echo seven; …"');
    assert.equal(row('echo', ['created-output']), '"echo created-output"');
    assert.equal(row('/bin/sh', ['-c', 'sleep 10']), '"/bin/sh -c \'sleep 1…"');
    assert.equal(row('sh', ['-c', 'exit 3'], false), '"sh -c \'exit 3\'"');
    // East Asian wide characters take two columns.
    assert.equal(row('echo', ['日本語日本語日本語日本語']), '"echo 日本語日本語日…"');
    assert.equal(row('echo', ['aé日本語日本語日本語日本語']), '"echo aé日本語日本語…"');
    assert.equal(ellipsis('abc', 1), 'a');
    assert.equal(ellipsis('abc', 0), '');
    assert.equal(ellipsis('abc', 3), 'abc');
  });

  it('shows IMAGE as Docker shows it', () => {
    assert.equal(psImage('bench/busybox:1', 'sha256:e2848b219208105d5518a7c62b23a619087584143c812430a68af96b7f59e3f2', true), 'bench/busybox:1');
    assert.equal(psImage('42eff724027a', 'sha256:42eff724027a28be9236e90d7374adf8ad6f80ee7581f4e4f1782f2cebcb61bd', true), '42eff724027a');
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.equal(psImage(`busybox@${digest}`, 'sha256:b', true), 'busybox');
    assert.equal(psImage(`busybox:1@${digest}`, 'sha256:b', true), 'busybox:1');
    assert.equal(psImage(`busybox@${digest}`, 'sha256:b', false), `busybox@${digest}`);
    assert.equal(psImage('docker.io/library/busybox:latest', 'sha256:b', true), 'busybox:latest');
    assert.equal(psImage('', 'sha256:b', true), '<no image>');
  });

  it('makes the row `--format {{json .}}` prints', () => {
    const c = input({
      path: 'sleep', args: ['3600'], name: 'ref-sleep', labels: { 'ref.role': 'sleeper', a: 'b' },
      mounts: [
        { Type: 'volume', Name: 'averyveryverylongvolumename', Source: '/v/_data', Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
        { Type: 'bind', Source: '/tmp/rf/bind', Destination: '/b', Mode: '', RW: true, Propagation: 'rprivate' },
      ],
      state: { status: 'running', exitCode: 0, startedAt: NOW - 1 * S }, sizeRw: 0, sizeRootFs: 1988788,
    });
    const row = psRow(c, { now: NOW, trunc: true });
    assert.deepEqual(row, {
      ID: 'f56345c06fb3',
      Image: 'bench/busybox:1',
      Command: '"sleep 3600"',
      CreatedAt: row.CreatedAt,
      RunningFor: '2 seconds ago',
      Ports: '',
      State: 'running',
      Status: 'Up 1 second',
      Size: '0B (virtual 1.99MB)',
      Names: 'ref-sleep',
      Labels: 'a=b,ref.role=sleeper',
      Mounts: 'averyveryveryl…,/tmp/rf/bind',
      LocalVolumes: '1',
      Networks: 'host',
    });
    assert.match(row.CreatedAt, /^2026-12-0[34] \d\d:\d\d:49 [+-]\d{4} \S+$/);
    const full = psRow(c, { now: NOW, trunc: false });
    assert.equal(full.ID, c.id);
    assert.equal(full.Mounts, 'averyveryverylongvolumename,/tmp/rf/bind');
    assert.equal(psRow({ ...c, sizeRw: 1000000, sizeRootFs: 0 }, { now: NOW, trunc: true }).Size, '1MB');
    assert.equal(psRow({ ...c, sizeRw: undefined, sizeRootFs: undefined }, { now: NOW, trunc: true }).Size, '');
    assert.equal(humanSize(2988788), '2.99MB');
    assert.equal(humanSize(0), '0B');
  });
});

function input(over: Partial<PsInput>): PsInput {
  return {
    id: 'f56345c06fb3296be281b2c02848a53417cc26bf2a7e08d22eff8558076563c4',
    name: 'c',
    image: 'bench/busybox:1',
    imageId: 'sha256:e2848b219208105d5518a7c62b23a619087584143c812430a68af96b7f59e3f2',
    path: 'true',
    args: [],
    created: NOW - 2 * S,
    state: { status: 'created', exitCode: 0 },
    labels: {},
    mounts: [],
    networks: ['host'],
    ...over,
  };
}
