/**
 * Docker (Debian's dockerd 20.10, started by test/docker.ts) as the other client of the same
 * Distribution registry: an image cairn pushes, docker pulls — same manifest digest and image
 * ID — and runs; an image docker pushes, cairn pulls with the same image ID and manifest digest.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cairnOk, makeDockerArchive, makeTar, busyboxTar, tempDir } from './helpers.js';
import { DOCKER, docker, ensureDockerd, type DockerDaemon } from './docker.js';
import { startRegistry, type Registry } from './registry.js';

let dir: { path: string; cleanup: () => Promise<void> };
let reg: Registry;
let daemon: DockerDaemon;
const dockerImages: string[] = [];

before(async () => {
  dir = await tempDir('cairn-registry-docker-');
  reg = await startRegistry(join(dir.path, 'registry'));
  daemon = await ensureDockerd();
});

after(async () => {
  for (const i of dockerImages) spawnSync(DOCKER, ['rmi', '-f', i], { stdio: 'ignore' });
  await daemon?.stop();
  await reg?.stop();
  await dir?.cleanup();
});

test('an image cairn pushes, docker pulls with the same digest and image ID, and runs', async () => {
  const root = join(dir.path, 'store-1');
  const ref = `${reg.host}/t/from-cairn:1`;
  const marker = await makeTar([{ path: 'marker.txt', content: Buffer.from('pushed by cairn\n') }]);
  // two layers: busybox, then the marker (a docker-archive load keeps them uncompressed: push gzips them)
  await cairnOk(root, ['load'], { input: await makeDockerArchive([{ layers: [await busyboxTar(), marker], repoTags: [ref] }]) });
  const id = JSON.parse((await cairnOk(root, ['inspect', ref])).stdout)[0].Id as string;
  const pushed = (await cairnOk(root, ['push', ref])).stdout.trim().split('\n').at(-1)!;
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)![1]!;

  dockerImages.push(ref);
  const out = docker(['pull', ref]);
  assert.match(out, new RegExp(`Digest: ${digest}`));
  assert.equal(docker(['inspect', '-f', '{{.Id}}', ref]).trim(), id, 'docker computes the same image ID');
  const ran = docker(['run', '--rm', '--network', 'none', '--ulimit', 'nofile=1024:1024', ref, 'cat', '/marker.txt']);
  assert.equal(ran, 'pushed by cairn\n');
});

test('an image docker pushes, cairn pulls with the same image ID and manifest digest', async () => {
  const root = join(dir.path, 'store-2');
  const ref = `${reg.host}/t/from-docker:1`;
  const extra = await makeTar([{ path: 'etc/from-docker', content: Buffer.from('docker\n') }]);
  docker(['load'], await makeDockerArchive([{ layers: [await busyboxTar(), extra], repoTags: [ref] }]));
  dockerImages.push(ref);
  const id = docker(['inspect', '-f', '{{.Id}}', ref]).trim();
  const push = docker(['push', ref]);
  const digest = /1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(push)![1]!;

  const pull = (await cairnOk(root, ['pull', ref])).stdout;
  assert.match(pull, new RegExp(`Digest: ${digest}`));
  const inspect = JSON.parse((await cairnOk(root, ['inspect', ref])).stdout)[0] as { Id: string; RepoDigests: string[] };
  assert.equal(inspect.Id, id);
  assert.deepEqual(inspect.RepoDigests, [`${reg.host}/t/from-docker@${digest}`]);
  // pushed back by cairn unchanged: the registry keeps the same manifest digest
  const again = (await cairnOk(root, ['push', ref])).stdout.trim().split('\n').at(-1)!;
  assert.match(again, new RegExp(`^1: digest: ${digest} size: \\d+$`));
});
