/**
 * `copyImages`: the one way images move from a source to a sink — load (archive -> store),
 * save (store -> archive), import (root filesystem -> store), and later pull and push. It
 * owns the order of work (a streamed source delivers first; then, per image, each layer unless
 * the sink has it, then the image), layer reuse ("Already exists"), progress events and
 * failure handling: if anything fails, the sink aborts (removing what it added) and the error
 * goes to the caller unchanged.
 */
import { hexOf } from '../digest/digest.js';
import type { CopyProgress, ImageSink, ImageSource, LayerDescriptor, ResolveOptions } from './types.js';

export interface CopyOptions extends ResolveOptions {
  progress?: CopyProgress;
}

/** Copy every image `source` offers into `sink`; returns what the sink's commit returns. */
export async function copyImages<R>(source: ImageSource, sink: ImageSink<R>, opts: CopyOptions = {}): Promise<R> {
  const progress = opts.progress;
  try {
    if (source.deliver) await source.deliver(sink as ImageSink<unknown>, progress);
    const images = await source.images(opts.platform ? { platform: opts.platform } : {});
    const verbs = sink.verbs;
    for (const img of images) {
      const idOf = (l: LayerDescriptor): string => hexOf(verbs.id === 'diffId' ? l.diffId : l.digest).slice(0, 12);
      if (verbs.prepare) for (const layer of img.layers) progress?.status?.(idOf(layer), verbs.prepare);
      const missing: Array<{ i: number; layer: LayerDescriptor }> = [];
      for (const [i, layer] of img.layers.entries()) {
        const has = await sink.hasLayer(layer);
        if (has !== false) {
          const said = has === true ? verbs.exists : has.said;
          if (said) progress?.status?.(idOf(layer), said);
        } else {
          if (verbs.queued) progress?.status?.(idOf(layer), verbs.queued);
          missing.push({ i, layer });
        }
      }
      for (const { i, layer } of missing) {
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
        await sink.putLayer(layer, counted(), { trusted: source.verified, what: `layer ${i} (${layer.digest})` });
        if (shown) progress?.finish(id, verbs.done);
      }
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
