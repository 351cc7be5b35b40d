/**
 * The runtime foundation end to end, as root, on real crun and runc and kernel overlayfs: a
 * busybox image imported into a temporary store by the CLI, a writable snapshot prepared on
 * its top layer and mounted as overlay, a bundle written from the image's config by spec.ts,
 * and containers run on it — output and exit codes (Docker's 126/127 included), `-u nobody`,
 * `--network none`, the /etc files, and writes landing in the snapshot's upper directory
 * only. Every mount, snapshot, runtime container and process is removed in `finally`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readConfig } from '../src/image/config.js';
import { resolveImage } from '../src/image/resolve.js';
import { secureSpec, writeBundle } from '../src/runtime/bundle.js';
import { readAll } from '../src/runtime/conformance.js';
import { readHostDevices, readHostFacts, type OciDevice } from '../src/runtime/host.js';
import { RuntimeFailure, ociRuntime, type OciRuntime } from '../src/runtime/oci-runtime.js';
import { fromProfile, loadSeccompProfile } from '../src/runtime/seccomp.js';
import { buildSpec, type RunOptions } from '../src/runtime/spec.js';
import { resolveUser } from '../src/runtime/user.js';
import { mountAll, unmount, writableLayer, type Snapshotter } from '../src/snapshot/index.js';
import type { ContainerConfig } from '../src/oci/types.js';
import { Store } from '../src/store/store.js';
import { cairnOk, makeTar, tempDir, unmountUnder } from './helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A busybox image: the static binary, the applets the tests use, passwd with nobody, a file that is not executable. */
async function busyboxImage(): Promise<Buffer> {
  return makeTar([
    { path: 'bin/', type: 'dir' },
    { path: 'bin/busybox', content: readFileSync('/bin/busybox'), mode: 0o755 },
    ...['sh', 'cat', 'echo', 'id', 'hostname', 'cut', 'tail', 'tr'].map((a) => ({ path: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
    { path: 'etc/', type: 'dir' },
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
    { path: 'etc/group', content: 'root:x:0:\nnogroup:x:65534:\n' },
    { path: 'etc/motd', content: 'from the image\n' },
    { path: 'tmp/', type: 'dir', mode: 0o1777 },
  ]);
}

for (const runtimeName of ['crun', 'runc'] as const) {
  describe(`containers on ${runtimeName}`, () => {
    let dir: { path: string; cleanup: () => Promise<void> };
    let store: Store;
    let sn: Snapshotter;
    let rt: OciRuntime;
    let image: ContainerConfig | undefined;
    let rootfs: string;
    let upper: string;
    let layerDir: string;
    let files: string;
    let seq = 0;
    const key = `container-${runtimeName}`;
    let mounted = false;
    let prepared = false;

    before(async () => {
      dir = await tempDir(`cairn-runtime-${runtimeName}-`);
      const root = join(dir.path, 'root');
      await cairnOk(root, ['import', '-', 'busybox:rt'], { input: await busyboxImage() });
      store = await Store.open({ root });
      const { image: img } = resolveImage(store.db, 'busybox:rt');
      image = (await readConfig(store.content, img.id)).config.config;
      sn = await store.snapshots();
      // The container's writable layer: a snapshot prepared on the image's top layer.
      const mounts = await sn.prepare(key, img.topChainId!);
      prepared = true;
      const w = writableLayer(mounts);
      upper = w.dir;
      layerDir = w.lowerdirs[0]!;
      rootfs = join(dir.path, 'merged');
      mkdirSync(rootfs);
      mountAll(mounts, rootfs);
      mounted = true;
      rt = ociRuntime(join(root, 'runtime'), runtimeName);
      files = join(dir.path, 'etc-files');
      mkdirSync(files);
      writeFileSync(join(files, 'hosts'), '127.0.0.1\tlocalhost\n');
      writeFileSync(join(files, 'hostname'), 'rt-test\n');
      writeFileSync(join(files, 'resolv.conf'), 'nameserver 127.0.0.53\n');
    });

    after(async () => {
      try {
        if (mounted) unmount(rootfs);
        if (prepared) await sn.remove(key);
        const state = join(dir.path, 'root', 'runtime', runtimeName);
        assert.deepEqual(existsSync(state) ? readdirSync(state) : [], [], 'no runtime container left');
      } finally {
        store?.close();
        unmountUnder(dir.path);
        await dir.cleanup();
      }
    });

    /** Run one foreground container on the snapshot; the runtime's container is gone afterwards whatever happened. */
    async function run(args: string[], options: Partial<RunOptions> = {}, hostDevices?: OciDevice[]): Promise<{ out: string; err: string; code: number }> {
      const id = `rt-${process.pid}-${runtimeName}-${++seq}`;
      const bundle = join(dir.path, 'bundles', id);
      const { spec } = buildSpec({
        id,
        image,
        rootfs,
        options: { args, user: resolveUser(rootfs, image?.User), hostname: 'rt-test', network: 'none', etcFiles: {
          hosts: join(files, 'hosts'), hostname: join(files, 'hostname'), resolvConf: join(files, 'resolv.conf'),
        }, ...options },
        host: readHostFacts(),
        kernel: release(),
        seccomp: fromProfile(loadSeccompProfile()),
        ...(hostDevices !== undefined ? { hostDevices } : {}),
      });
      writeBundle(bundle, secureSpec(spec));
      const p = rt.run(id, bundle, { stdio: 'pipe' });
      try {
        p.stdin?.end();
        const [out, err, code] = await Promise.all([readAll(p.stdout), readAll(p.stderr), p.wait()]);
        return { out, err, code };
      } finally {
        if (rt.exists(id)) await rt.delete(id, { force: true });
      }
    }

    it("runs sh -c 'echo hi; exit 3': stdout hi, exit code 3", async () => {
      const r = await run(['sh', '-c', 'echo hi; exit 3']);
      assert.equal(r.out, 'hi\n');
      assert.equal(r.code, 3);
    });

    it('a missing command is 127, a file that is not executable 126', async () => {
      await assert.rejects(run(['no-such-command']), (e: unknown) => e instanceof RuntimeFailure && e.exitCode === 127 && /no-such-command/.test(e.message));
      await assert.rejects(run(['/etc/passwd']), (e: unknown) => e instanceof RuntimeFailure && e.exitCode === 126);
    });

    it('-u nobody runs as uid 65534 with the image passwd entry', async () => {
      const r = await run(['sh', '-c', 'id -u; id -g; echo $HOME'], { user: resolveUser(rootfs, 'nobody') });
      assert.equal(r.out, '65534\n65534\n/nonexistent\n');
      assert.equal(r.code, 0);
    });

    it('--network none sees only lo; the /etc files are the ones given', async () => {
      const r = await run(['sh', '-c', 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; hostname; cat /etc/hostname /etc/resolv.conf']);
      assert.equal(r.out, 'lo\nrt-test\nrt-test\nnameserver 127.0.0.53\n');
      assert.equal(r.code, 0);
    });

    it('--privileged gets every capability this process holds; the default set is Docker\'s 14', async () => {
      const held = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
      const devices = readHostDevices();
      const check = `cat /proc/self/status; for d in ${devices.map((d) => d.path).join(' ')}; do test -c $d -o -b $d || echo "missing $d"; done`;
      const p = await run(['sh', '-c', check], { privileged: true }, devices);
      assert.equal(p.code, 0);
      assert.equal(/^CapEff:\s*([0-9a-f]+)$/m.exec(p.out)![1], held);
      assert.doesNotMatch(p.out, /missing/, 'the host devices are in the privileged container');
      const d = await run(['sh', '-c', 'cat /proc/self/status']);
      // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
      assert.equal(/^CapEff:\s*([0-9a-f]+)$/m.exec(d.out)![1], '00000000a80425fb');
    });

    it("a write lands in the snapshot's upper directory, never in the image's layer", async () => {
      const motdBefore = sha(readFileSync(join(layerDir, 'etc', 'motd')));
      const r = await run(['sh', '-c', `echo new > /created-${runtimeName}; echo changed > /etc/motd; cat /etc/motd`]);
      assert.equal(r.out, 'changed\n');
      assert.equal(readFileSync(join(upper, `created-${runtimeName}`), 'utf8'), 'new\n');
      assert.equal(readFileSync(join(upper, 'etc', 'motd'), 'utf8'), 'changed\n', 'copied up');
      assert.equal(existsSync(join(layerDir, `created-${runtimeName}`)), false);
      assert.equal(sha(readFileSync(join(layerDir, 'etc', 'motd'))), motdBefore, "the image's layer is untouched");
      // The kernel file systems' mount points were made in the container's layer, not the image's.
      for (const d of ['proc', 'sys', 'dev']) assert.equal(existsSync(join(layerDir, d)), false, d);
    });
  });
}
