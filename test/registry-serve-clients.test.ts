/**
 * `cairn registry serve` with the other engines as its clients (issue 13, point 3): docker
 * (Debian's dockerd 20.10, test/docker.ts) and podman (its own storage under the test's
 * directory) push to it and pull from it, and the images they get back have the same image ID
 * and manifest digest as cairn's; eight clients (cairn and skopeo) push and pull at once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cairnOk, busyboxTar, makeDockerArchive, makeTar, podmanIn, randomBytesSeeded, tempDir } from './helpers.js';
import { DOCKER, docker, ensureDockerd, type DockerDaemon } from './docker.js';
import { startCairnRegistry, type Registry } from './registry.js';

let dir: { path: string; cleanup: () => Promise<void> };
let reg: Registry;
let daemon: DockerDaemon;
const dockerImages: string[] = [];
let n = 0;
const fresh = (name: string): string => join(dir.path, `${name}-${++n}`);

function podman(args: string[]): string {
  return podmanIn(join(dir.path, 'podman'), args);
}

before(async () => {
  dir = await tempDir('cairn-serve-clients-');
  reg = await startCairnRegistry(join(dir.path, 'served'));
  daemon = await ensureDockerd();
});

after(async () => {
  for (const i of dockerImages) spawnSync(DOCKER, ['rmi', '-f', i], { stdio: 'ignore' });
  await daemon?.stop();
  await reg?.stop();
  await dir?.cleanup();
});

test('docker pulls what cairn pushed (same digest and image ID) and runs it; cairn pulls what docker pushed', async () => {
  const root = fresh('store');
  const ref = `${reg.host}/t/from-cairn:1`;
  const marker = await makeTar([{ path: 'marker.txt', content: 'served by cairn\n' }]);
  await cairnOk(root, ['load'], { input: await makeDockerArchive([{ layers: [await busyboxTar(), marker], repoTags: [ref] }]) });
  const id = JSON.parse((await cairnOk(root, ['inspect', ref])).stdout)[0].Id as string;
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec((await cairnOk(root, ['push', ref])).stdout)![1]!;
  dockerImages.push(ref);
  assert.match(docker(['pull', ref]), new RegExp(`Digest: ${digest}`));
  assert.equal(docker(['inspect', '-f', '{{.Id}}', ref]).trim(), id);
  assert.equal(docker(['run', '--rm', '--network', 'none', '--ulimit', 'nofile=1024:1024', ref, 'cat', '/marker.txt']), 'served by cairn\n');

  const ref2 = `${reg.host}/t/from-docker:1`;
  const extra = await makeTar([{ path: 'etc/from-docker', content: 'docker\n' }]);
  docker(['load'], await makeDockerArchive([{ layers: [await busyboxTar(), extra], repoTags: [ref2] }]));
  dockerImages.push(ref2);
  const id2 = docker(['inspect', '-f', '{{.Id}}', ref2]).trim();
  const push = docker(['push', ref2]);
  const digest2 = /1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(push)![1]!;
  const other = fresh('store');
  assert.match((await cairnOk(other, ['pull', ref2])).stdout, new RegExp(`Digest: ${digest2}`));
  assert.equal(JSON.parse((await cairnOk(other, ['inspect', ref2])).stdout)[0].Id, id2);
});

test('podman pushes to it and pulls from it with the same digests', async () => {
  const root = fresh('store');
  const ref = `${reg.host}/t/podman:1`;
  await cairnOk(root, ['import', '-', `${reg.host}/t/seed:1`], { input: await busyboxTar() });
  const seedDigest = /digest: (sha256:[0-9a-f]{64})/.exec((await cairnOk(root, ['push', `${reg.host}/t/seed:1`])).stdout)![1]!;
  podman(['pull', '--tls-verify=false', `${reg.host}/t/seed:1`]);
  const pulled = JSON.parse(podman(['inspect', `${reg.host}/t/seed:1`]))[0] as { Id: string; Digest: string };
  assert.equal(pulled.Digest, seedDigest);
  assert.equal(`sha256:${pulled.Id}`, JSON.parse((await cairnOk(root, ['inspect', `${reg.host}/t/seed:1`])).stdout)[0].Id);
  podman(['tag', `${reg.host}/t/seed:1`, ref]);
  const digestFile = join(dir.path, 'podman-digest');
  podman(['push', '--tls-verify=false', '--digestfile', digestFile, ref]);
  const { readFileSync } = await import('node:fs');
  const pushedDigest = readFileSync(digestFile, 'utf8').trim();
  const other = fresh('store');
  assert.match((await cairnOk(other, ['pull', ref])).stdout, new RegExp(`Digest: ${pushedDigest}`));
  assert.equal(JSON.parse((await cairnOk(other, ['inspect', ref])).stdout)[0].Id, `sha256:${pulled.Id}`);
});

test('eight clients at once, pushing to and pulling from one repository: every image whole, every digest its own', async () => {
  // four cairn stores push four images sharing a base to one repository under four tags, while
  // four skopeo copies pull the first image; then each image is pulled back and checked
  const base = await makeTar([{ path: 'opt/base.bin', content: randomBytesSeeded(4 << 20, 9) }]);
  const seeded = fresh('store');
  await cairnOk(seeded, ['import', '-', `${reg.host}/t/many:seed`], { input: base });
  await cairnOk(seeded, ['push', `${reg.host}/t/many:seed`]);
  const stores: Array<{ root: string; tag: string; id: string }> = [];
  for (let i = 0; i < 4; i++) {
    const root = fresh('store');
    const own = await makeTar([{ path: `opt/own-${i}.bin`, content: randomBytesSeeded(2 << 20, 100 + i) }]);
    await cairnOk(root, ['load'], { input: await makeDockerArchive([{ layers: [base, own], repoTags: [`${reg.host}/t/many:${i}`] }]) });
    stores.push({ root, tag: `${reg.host}/t/many:${i}`, id: JSON.parse((await cairnOk(root, ['inspect', `${reg.host}/t/many:${i}`])).stdout)[0].Id });
  }
  const run = (cmd: string, args: string[]): Promise<{ code: number; err: string }> =>
    new Promise((resolve) => {
      const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('close', (code) => resolve({ code: code ?? -1, err }));
    });
  const cairnJs = new URL('../../bin/cairn.js', import.meta.url).pathname;
  const results = await Promise.all([
    ...stores.map((s) => run(process.execPath, [cairnJs, '--root', s.root, 'push', s.tag])),
    ...[0, 1, 2, 3].map((i) => run('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/t/many:seed`, `oci:${join(dir.path, `many-oci-${i}`)}:x`])),
  ]);
  for (const r of results) assert.equal(r.code, 0, r.err);
  for (const s of stores) {
    const root = fresh('store');
    await cairnOk(root, ['pull', s.tag]);
    assert.equal(JSON.parse((await cairnOk(root, ['inspect', s.tag])).stdout)[0].Id, s.id);
  }
  const tags = (await (await fetch(`http://${reg.host}/v2/t/many/tags/list`)).json()) as { tags: string[] };
  assert.deepEqual(tags.tags, ['0', '1', '2', '3', 'seed']);
});
