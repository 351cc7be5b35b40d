/**
 * Volumes with containers, through the real CLI on real crun and overlayfs: a named volume
 * keeps its data after `rm` and is shared by two containers at once; an empty named volume is
 * filled from the image at its mount point (not with `nocopy`); an image VOLUME gets an
 * anonymous volume that `rm -v` and `--rm` remove; `volume rm` refuses a volume in use;
 * `--volumes-from`; binds read-only and read-write; `inspect` shows the mounts and the
 * GraphDriver's directories. And commit/diff/cp/export through the CLI: commit adds one layer
 * whose whiteouts a new container sees, with author and message in history.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { busyboxRunTar, cairn, cairnOk, makeDockerArchive, makeTar, tempDir, unmountUnder } from './helpers.js';

describe('containers with volumes, commit, diff, cp', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let root: string;

  before(async () => {
    dir = await tempDir('cairn-ctr-volumes-');
    root = join(dir.path, 'root');
    await cairnOk(root, ['import', '-', 'bb:1'], { input: await busyboxRunTar() });
    // An image with a VOLUME and content at it (Docker copies that into a fresh volume).
    const archive = await makeDockerArchive([
      {
        layers: [await busyboxRunTar(), await makeTar([{ path: 'data/', type: 'dir' }, { path: 'data/seed', content: 'seeded\n' }])],
        repoTags: ['withvol:1'],
        config: { config: { Cmd: ['sh'], Volumes: { '/data': {} } } },
      },
    ]);
    await cairnOk(root, ['load'], { input: archive });
  });

  after(async () => {
    const ids = (await cairn(root, ['ps', '-aq'])).stdout.split('\n').filter((l) => l !== '');
    if (ids.length > 0) await cairn(root, ['rm', '-f', '-v', ...ids]);
    unmountUnder(dir.path);
    await dir.cleanup();
  });

  const volumes = async () => (await cairnOk(root, ['volume', 'ls', '-q'])).stdout.split('\n').filter((l) => l !== '').sort();

  it('a named volume keeps its data after rm and is shared by two containers at once', async () => {
    await cairnOk(root, ['run', '--rm', '-v', 'keep:/v', 'bb:1', 'sh', '-c', 'echo first > /v/f']);
    assert.ok((await volumes()).includes('keep'), 'made on first use, as Docker makes it');
    assert.equal((await cairnOk(root, ['run', '--rm', '-v', 'keep:/w', 'bb:1', 'cat', '/w/f'])).stdout, 'first\n');
    await cairnOk(root, ['run', '-d', '--name', 'writer', '-v', 'keep:/v', 'bb:1', 'sh', '-c', 'echo shared > /v/g; sleep 30']);
    const seen = await cairnOk(root, ['run', '--rm', '-v', 'keep:/v:ro', 'bb:1', 'sh', '-c', 'sleep 0.3; cat /v/g; touch /v/x 2>/dev/null || echo read-only']);
    assert.equal(seen.stdout, 'shared\nread-only\n');
    const busy = await cairn(root, ['volume', 'rm', 'keep']);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /volume is in use/);
    await cairnOk(root, ['rm', '-f', 'writer']);
    assert.equal((await cairnOk(root, ['volume', 'rm', 'keep'])).stdout, 'keep\n');
  });

  it('an empty volume is filled from the image at its mount point, unless nocopy', async () => {
    assert.equal((await cairnOk(root, ['run', '--rm', '-v', 'fill:/etc', 'bb:1', 'cat', '/etc/motd'])).stdout, 'from the image\n');
    assert.equal((await cairnOk(root, ['run', '--rm', '-v', 'fill:/mnt', 'bb:1', 'cat', '/mnt/motd'])).stdout, 'from the image\n', 'the data stays in the volume');
    assert.equal((await cairnOk(root, ['run', '--rm', '-v', 'bare:/data:nocopy', 'withvol:1', 'ls', '/data'])).stdout, '');
    await cairnOk(root, ['volume', 'rm', 'fill', 'bare']);
  });

  it("an image VOLUME gets an anonymous volume, filled from the image; rm -v removes it, --rm too", async () => {
    const before = await volumes();
    await cairnOk(root, ['create', '--name', 'anon', 'withvol:1', 'cat', '/data/seed']);
    const made = (await volumes()).filter((v) => !before.includes(v));
    assert.equal(made.length, 1);
    assert.match(made[0]!, /^[0-9a-f]{64}$/);
    assert.equal((await cairnOk(root, ['start', '-a', 'anon'])).stdout, 'seeded\n');
    const mounts = JSON.parse((await cairnOk(root, ['inspect', '-f', '{{json .Mounts}}', 'anon'])).stdout) as Array<{ Type: string; Name: string; Destination: string; Source: string }>;
    assert.deepEqual(mounts.map((m) => [m.Type, m.Name, m.Destination]), [['volume', made[0], '/data']]);
    assert.equal(mounts[0]!.Source, join(root, 'volumes', made[0]!, '_data'));
    await cairnOk(root, ['rm', '-v', 'anon']);
    assert.deepEqual(await volumes(), before);
    await cairnOk(root, ['run', '--rm', 'withvol:1', 'true']);
    assert.deepEqual(await volumes(), before, '--rm takes its anonymous volume too');
  });

  it('--volumes-from mounts another container\'s volumes; binds are read-only or read-write', async () => {
    await cairnOk(root, ['create', '--name', 'source', '-v', 'vf:/shared', 'bb:1', 'true']);
    await cairnOk(root, ['run', '--rm', '--volumes-from', 'source', 'bb:1', 'sh', '-c', 'echo via > /shared/x']);
    assert.equal((await cairnOk(root, ['run', '--rm', '-v', 'vf:/y', 'bb:1', 'cat', '/y/x'])).stdout, 'via\n');
    const host = join(dir.path, 'bind');
    mkdirSync(host);
    writeFileSync(join(host, 'in'), 'host file\n');
    const r = await cairnOk(root, ['run', '--rm', '-v', `${host}:/b:ro`, 'bb:1', 'sh', '-c', 'cat /b/in; touch /b/new 2>/dev/null || echo refused']);
    assert.equal(r.stdout, 'host file\nrefused\n');
    await cairnOk(root, ['run', '--rm', '--mount', `type=bind,src=${host},dst=/b`, 'bb:1', 'sh', '-c', 'echo back > /b/out']);
    assert.equal(readFileSync(join(host, 'out'), 'utf8'), 'back\n');
    await cairnOk(root, ['rm', 'source']);
    await cairnOk(root, ['volume', 'rm', 'vf']);
  });

  it('inspect shows Docker\'s document: state, config, the GraphDriver\'s directories', async () => {
    await cairnOk(root, ['create', '--name', 'ins', '-e', 'A=1', '--label', 'k=v', 'bb:1', 'sh', '-c', 'exit 2']);
    await cairn(root, ['start', '-a', 'ins']);
    const [doc] = JSON.parse((await cairnOk(root, ['inspect', 'ins'])).stdout) as Array<Record<string, unknown> & { State: { Status: string; ExitCode: number }; Config: { Env: string[]; Labels: Record<string, string>; Cmd: string[] }; GraphDriver: { Data: { UpperDir: string; LowerDir: string } } }>;
    assert.equal(doc!.State.Status, 'exited');
    assert.equal(doc!.State.ExitCode, 2);
    assert.ok(doc!.Config.Env.includes('A=1'));
    assert.deepEqual(doc!.Config.Labels, { k: 'v' });
    assert.deepEqual(doc!.Config.Cmd, ['sh', '-c', 'exit 2']);
    assert.ok(existsSync(doc!.GraphDriver.Data.UpperDir), 'the writable layer');
    assert.ok(doc!.GraphDriver.Data.LowerDir.split(':').every((d) => existsSync(d)));
    assert.equal((await cairnOk(root, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'ins'])).stdout, 'exited 2\n');
    await cairnOk(root, ['rm', 'ins']);
  });

  it('diff lists the changes; commit adds one layer with author and message that a new container sees; cp both ways; export', async () => {
    await cairnOk(root, ['run', '--name', 'chg', 'bb:1', 'sh', '-c', 'echo new > /new; rm -f /etc/motd; mkdir -p /d/e; echo f > /d/e/f; rm -rf /tmp']);
    assert.equal((await cairnOk(root, ['diff', 'chg'])).stdout, 'A /d\nA /d/e\nA /d/e/f\nC /etc\nD /etc/motd\nA /new\nD /tmp\n');
    const before = JSON.parse((await cairnOk(root, ['image', 'inspect', 'bb:1'])).stdout)[0].RootFS.Layers.length as number;
    const id = (await cairnOk(root, ['commit', '-a', 'Ann <ann@example.com>', '-m', 'the changes', 'chg', 'changed:1'])).stdout.trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const [img] = JSON.parse((await cairnOk(root, ['image', 'inspect', 'changed:1'])).stdout) as Array<{ Author: string; Comment: string; RootFS: { Layers: string[] } }>;
    assert.equal(img!.RootFS.Layers.length, before + 1, 'exactly one layer added');
    assert.equal(img!.Author, 'Ann <ann@example.com>');
    assert.match((await cairnOk(root, ['history', '--format', '{{.Comment}}', 'changed:1'])).stdout, /^the changes\n/);
    const seen = await cairnOk(root, ['run', '--rm', 'changed:1', 'sh', '-c', 'cat /new /d/e/f; ls /etc/motd /tmp 2>&1 | wc -l']);
    assert.equal(seen.stdout, 'new\nf\n2\n');
    // cp out (a directory), in (a file), and a stream of it.
    const out = join(dir.path, 'cp-out');
    await cairnOk(root, ['cp', 'chg:/d', out]);
    assert.equal(readFileSync(join(out, 'e', 'f'), 'utf8'), 'f\n');
    writeFileSync(join(dir.path, 'payload'), 'payload\n');
    await cairnOk(root, ['cp', join(dir.path, 'payload'), 'chg:/d/e/']);
    assert.equal((await cairnOk(root, ['start', '-a', 'chg'])).code, 0);
    const streamed = await cairnOk(root, ['cp', 'chg:/d/e/payload', '-']);
    assert.match(streamed.stdout, /^payload\0/);
    const escape = await cairn(root, ['cp', 'chg:/../../../etc/passwd', join(dir.path, 'stolen')]);
    assert.notEqual(escape.code, 0);
    assert.equal(existsSync(join(dir.path, 'stolen')), false);
    const tar = await cairnOk(root, ['export', '-o', join(dir.path, 'export.tar'), 'chg']);
    assert.equal(tar.stdout, '');
    assert.ok(readFileSync(join(dir.path, 'export.tar')).includes('d/e/payload'));
    await cairnOk(root, ['rm', 'chg']);
    await cairnOk(root, ['rmi', 'changed:1']);
  });
});
