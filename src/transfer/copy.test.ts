/**
 * copyImages' layer checks with a sink that takes several at once (checkSlots): they overlap, at
 * most that many, what they say is told in the image's order, the sink hears of the image first
 * (prepareImage), and a failed check ends the copy only once the checks running have ended.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Digest, digestOf } from '../digest/digest.js';
import { DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST } from '../oci/mediatypes.js';
import { copyImages } from './copy.js';
import type { ImageSink, ImageSource, LayerDescriptor, SourceImage } from './types.js';

const layer = (n: number): LayerDescriptor => {
  const d = digestOf(Buffer.from(`layer ${n}`));
  return { mediaType: DOCKER_LAYER_GZIP, digest: d, size: 10, diffId: d };
};

function image(layers: LayerDescriptor[]): SourceImage {
  const raw = Buffer.from('{}');
  return {
    manifest: { raw, digest: digestOf(raw), mediaType: DOCKER_MANIFEST, parsed: { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: { mediaType: DOCKER_CONFIG, digest: digestOf(raw), size: 2 }, layers } },
    config: { raw, digest: digestOf(raw), mediaType: DOCKER_CONFIG, parsed: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } } },
    layers,
    names: [],
  };
}

function source(img: SourceImage): ImageSource {
  return {
    verified: true,
    images: async () => [img],
    layer: async () => (async function* () {
      yield Buffer.alloc(10);
    })(),
    close: async () => {},
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A sink whose check of layer i takes delays[i] ms; the layers in `has` it holds. */
function sink(delays: number[], has: Set<Digest>, slots: number | undefined, fail?: number) {
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const layers = new Map<Digest, number>();
  const s: ImageSink<string[]> & { log: string[]; most(): number } = {
    verbs: { active: 'Pushing', done: 'Pushed', exists: 'Layer already exists', all: true },
    ...(slots !== undefined ? { checkSlots: slots } : {}),
    prepareImage: () => void log.push('prepare'),
    receive: async () => {
      throw new Error('not used');
    },
    hasLayer: async (l) => {
      const i = layers.get(l.digest)!;
      running++;
      most = Math.max(most, running);
      log.push(`check ${i}`);
      await sleep(delays[i]!);
      running--;
      log.push(`checked ${i}`);
      if (i === fail) throw new Error(`check ${i} failed`);
      return has.has(l.digest);
    },
    putLayer: async (l) => void log.push(`put ${layers.get(l.digest)}`),
    putImage: async () => void log.push('image'),
    commit: async () => log,
    abort: async () => void log.push('abort'),
    log,
    most: () => most,
  };
  return { s, index: (ls: LayerDescriptor[]) => ls.forEach((l, i) => layers.set(l.digest, i)) };
}

function said(): { progress: { start(): void; update(): void; finish(id: string, m: string): void; status(id: string, m: string): void }; lines: string[] } {
  const lines: string[] = [];
  return { lines, progress: { start: () => {}, update: () => {}, finish: (id, m) => void lines.push(`${id}: ${m}`), status: (id, m) => void lines.push(`${id}: ${m}`) } };
}

test('checks run up to checkSlots at once; what they find is said in the layers\' order; the sink hears of the image first', async () => {
  const ls = [0, 1, 2, 3, 4].map(layer);
  const { s, index } = sink([40, 5, 30, 1, 1], new Set([ls[0]!.digest, ls[2]!.digest]), 3);
  index(ls);
  const p = said();
  const log = await copyImages(source(image(ls)), s, { progress: p.progress });
  assert.equal(log[0], 'prepare');
  assert.equal(s.most(), 3, 'three checks at once, never more');
  assert.deepEqual(log.slice(1, 4), ['check 0', 'check 1', 'check 2']);
  const id = (i: number): string => ls[i]!.digest.slice(7, 19);
  // layer 2's check ends before layer 0's: still said after it
  assert.deepEqual(p.lines.filter((l) => l.endsWith('exists')), [`${id(0)}: Layer already exists`, `${id(2)}: Layer already exists`]);
  assert.ok(log.indexOf('put 1') > log.indexOf('checked 4'), 'layers are copied once every check is done');
  assert.deepEqual(log.slice(-1), ['image']);
});

test('without checkSlots, each check starts when the one before it ended', async () => {
  const ls = [0, 1, 2].map(layer);
  const { s, index } = sink([5, 1, 1], new Set(), undefined);
  index(ls);
  const log = await copyImages(source(image(ls)), s);
  assert.equal(s.most(), 1);
  assert.deepEqual(log.slice(0, 7), ['prepare', 'check 0', 'checked 0', 'check 1', 'checked 1', 'check 2', 'checked 2']);
});

test('a failed check: the checks already running end before the sink is aborted, and none starts after it', async () => {
  const ls = [0, 1, 2, 3].map(layer);
  const { s, index } = sink([1, 30, 1, 1], new Set(), 2, 0);
  index(ls);
  await assert.rejects(copyImages(source(image(ls)), s), /check 0 failed/);
  assert.deepEqual(s.log, ['prepare', 'check 0', 'check 1', 'checked 0', 'checked 1', 'abort']);
});
