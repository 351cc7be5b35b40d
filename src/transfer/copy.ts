/**
 * `copyImages`: the one way images move from a source to a sink — load (archive -> store),
 * save (store -> archive), import (root filesystem -> store), and later pull and push. It
 * owns the order of work (a streamed source delivers first; then, per image, each layer unless
 * the sink has it, then the image), layer reuse ("Already exists"), progress events and
 * failure handling: if anything fails, the sink aborts (removing what it added) and the error
 * goes to the caller unchanged.
 */
import { hexOf } from '../digest/digest.js';
import { CairnError } from '../errors.js';
import { unpacksHere } from '../oci/platform.js';
import type { CopyProgress, ImageSink, ImageSource, LayerDescriptor, ResolveOptions } from './types.js';

export interface CopyOptions extends ResolveOptions {
  progress?: CopyProgress;
  /**
   * Layers read from the source at once, at most as many as the sink can take (`receiveSlots`:
   * two for the store on overlay, where each layer is unpacked into its own snapshot, and for a
   * registry); default 3, as Docker's max-concurrent-downloads. Layers beyond it are "Waiting".
   */
  maxConcurrent?: number;
  /** One second of a retry's countdown, in ms (default 1000; tests shorten it). */
  retryTickMs?: number;
}

/** Attempts per layer when a failure is transient (Docker's maxDownloadAttempts and maxUploadAttempts). */
const LAYER_ATTEMPTS = 5;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Copy every image `source` offers into `sink`; returns what the sink's commit returns. */
export async function copyImages<R>(source: ImageSource, sink: ImageSink<R>, opts: CopyOptions = {}): Promise<R> {
  const progress = opts.progress;
  try {
    if (source.deliver) await source.deliver(sink as ImageSink<unknown>, progress);
    const images = await source.images(opts.platform ? { platform: opts.platform } : {});
    const verbs = sink.verbs;
    for (const img of images) {
      const unpack = unpacksHere(img.config.parsed);
      const idOf = (l: LayerDescriptor): string => hexOf(verbs.id === 'diffId' ? l.diffId : l.digest).slice(0, 12);
      if (verbs.prepare) for (const layer of img.layers) progress?.status?.(idOf(layer), verbs.prepare);
      sink.prepareImage?.(img);
      const missing: Array<{ i: number; layer: LayerDescriptor }> = [];
      const answers = inOrder(img.layers, sink.checkSlots ?? 1, (layer) => sink.hasLayer(layer));
      for (const [i, layer] of img.layers.entries()) {
        const has = await answers.next(i);
        if (has !== false) {
          const said = has === true ? verbs.exists : has.said;
          if (said) progress?.status?.(idOf(layer), said);
        } else {
          if (verbs.queued) progress?.status?.(idOf(layer), verbs.queued);
          missing.push({ i, layer });
        }
      }
      const slots = sink.receiveSlots ? await sink.receiveSlots() : 1;
      const width = Math.max(1, Math.min(opts.maxConcurrent ?? 3, slots));
      if (width > 1 && verbs.queued) for (const { layer } of missing.slice(width)) progress?.status?.(idOf(layer), 'Waiting');
      const copyOnce = async ({ i, layer }: { i: number; layer: LayerDescriptor }): Promise<void> => {
        const id = idOf(layer);
        const shown = verbs.all === true || layer.size >= 1 << 20;
        if (shown) progress?.start(id, verbs.active, layer.size);
        const bytes = await source.layer(layer);
        let seen = 0;
        async function* counted(): AsyncGenerator<Uint8Array> {
          for await (const c of bytes) {
            seen += c.length;
            if (shown) progress?.update(id, seen);
            yield c;
          }
        }
        await sink.putLayer(layer, counted(), { trusted: source.verified, what: `layer ${i} (${layer.digest})`, unpack });
        if (shown) progress?.finish(id, verbs.done);
      };
      // Docker's retries of a layer (xfer's download and upload managers): after a transient
      // failure, "Retrying in N seconds" counted down, N = 5 x the attempts so far, at most 5 attempts.
      const copyOne = async (item: { i: number; layer: LayerDescriptor }): Promise<void> => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await copyOnce(item);
          } catch (e) {
            if (!(e instanceof CairnError && e.transient) || attempt >= LAYER_ATTEMPTS) throw e;
            for (let left = attempt * 5; left > 0; left--) {
              progress?.status?.(idOf(item.layer), `Retrying in ${left} second${left === 1 ? '' : 's'}`);
              await sleep(opts.retryTickMs ?? 1000);
            }
          }
        }
      };
      await inParallel(missing, width, copyOne);
      await sink.putImage(img);
    }
    return await sink.commit();
  } catch (e) {
    await sink.abort();
    throw e;
  } finally {
    await source.close();
  }
}

/**
 * `fn` over `items`, at most `width` at once, started in order; `next(i)` is the answer for
 * item i, asked for in order. A failure is thrown by its `next` once every call started has
 * settled (a sink's work must end before an abort), and no more are started after it.
 */
function inOrder<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): { next(i: number): Promise<R> } {
  const started: Array<Promise<R>> = [];
  let failed = false;
  const start = (): void => {
    if (failed || started.length >= items.length) return;
    const p = fn(items[started.length]!);
    started.push(p);
    p.then(start, () => void (failed = true));
  };
  for (let k = 0; k < Math.max(1, width); k++) start();
  return {
    next: async (i: number): Promise<R> => {
      // started by then: each answer given starts the next, and answers are asked for in order
      try {
        return await started[i]!;
      } catch (e) {
        await Promise.allSettled(started);
        throw e;
      }
    },
  };
}

/**
 * Run `fn` over `items`, at most `width` at once, in order of start. The first failure stops
 * new starts; the ones running are waited for (their sink work must end before an abort), then
 * it is thrown.
 */
async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let first: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        if (!failed) first = e;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  if (failed) throw first;
}
