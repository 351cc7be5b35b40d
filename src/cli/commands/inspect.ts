/** `cairn inspect` / `cairn image inspect`: Docker's JSON array, or a Go template per image. */
import type { Command } from 'commander';
import type { ImageInspect } from '../../image/query.js';
import type { DockerContainerInspect } from '../../container/inspect.js';
import { CairnError, InvalidArgumentError, NotFoundError, errorLine } from '../../errors.js';
import { TemplateError } from '../../template/index.js';
import { typedContainerInspect, typedImageInspect } from '../inspect-types.js';
import { TEMPLATE_ERROR_PREFIX, daemonJson, parseFormat } from '../format.js';
import { out, withCairn } from '../context.js';

/**
 * Docker's CLI (isErrSkippable) goes on to the next kind of object after an error that is a not
 * found, or that says "invalid reference format" or "not supported"; any other (a name too long)
 * it prints. The daemon's "no such image: NAME: ..." of a bad name is a 400, not a not found.
 */
function skippable(e: CairnError): boolean {
  if (e.message.includes('invalid reference format') || e.message.includes('not supported')) return true;
  return e instanceof NotFoundError && !(e.cause instanceof InvalidArgumentError);
}

export async function run(program: Command, cmd: Command, images: string[]): Promise<void> {
  const o = cmd.opts<{ format?: string; type?: string; size?: boolean }>();
  // `inspect` looks for any object (a container first, as Docker), `image inspect` for images, `container inspect` for containers.
  const parent = cmd.parent?.name();
  const type = parent === 'image' ? 'image' : parent === 'container' ? 'container' : o.type;
  if (type !== undefined && type !== 'image' && type !== 'container') {
    process.stderr.write(`${JSON.stringify(type)} is not a valid value for --type\n`);
    process.exitCode = 1;
    return;
  }
  // Docker names what was not found after what it looked for
  const notFound = (name: string): string => `No such ${type ?? 'object'}: ${name}`;
  // Docker refuses a template that does not parse before it looks anything up: exit 64.
  const tpl = o.format && o.format !== 'json' ? parseFormat(o.format, { exitCode: 64 }) : undefined;
  await withCairn(program, async (cairn) => {
    const results: Array<{ image: ImageInspect } | { container: DockerContainerInspect }> = [];
    let failure: CairnError | undefined;
    for (const name of images) {
      try {
        if (type !== 'image') {
          try {
            results.push({ container: await cairn.inspectContainer(name, { size: o.size ?? false }) });
            continue;
          } catch (e) {
            if (!(e instanceof NotFoundError) || type === 'container') throw e;
          }
        }
        results.push({ image: await cairn.inspect(name) });
        if (o.size) process.stderr.write('WARNING: --size ignored for image\n');
      } catch (e) {
        // Docker prints what it found, then the error for the rest, and exits 1.
        if (!(e instanceof NotFoundError || (type === undefined && e instanceof InvalidArgumentError))) throw e;
        failure ??= e;
        // `image inspect` says what the library found wrong (a bad name in the daemon's words); so
        // does `inspect` when the CLI would not skip on to the next kind of object
        process.stderr.write(`Error: ${type === 'image' || (type === undefined && !skippable(e)) ? e.message : notFound(name)}\n`);
      }
    }
    if (tpl) {
      // As Docker's TemplateInspector: the template runs over the typed struct; when that fails, over the
      // raw JSON (a map) with missingkey=error, and that run's error is the one reported.
      let text = '';
      let templateFailure: CairnError | undefined;
      for (const found of results) {
        const r = 'image' in found ? found.image : found.container;
        try {
          text += tpl.execute('image' in found ? typedImageInspect(found.image) : typedContainerInspect(found.container)) + '\n';
        } catch (e) {
          if (!(e instanceof TemplateError)) throw e;
          try {
            text += tpl.execute(r, { missingKey: 'error' }) + '\n';
          } catch (e2) {
            if (!(e2 instanceof TemplateError)) throw e2;
            templateFailure ??= new InvalidArgumentError(`${TEMPLATE_ERROR_PREFIX}${e2.message}`, { bare: true });
          }
        }
      }
      // Docker's template inspector prints an empty line when it printed nothing
      out(text === '' ? '\n' : text);
      if (templateFailure) process.stderr.write(`${errorLine(templateFailure)}\n`);
      failure ??= templateFailure;
    } else {
      out(daemonJson(results.map((r) => ('image' in r ? r.image : r.container)), 4) + '\n');
    }
    if (failure) {
      process.exitCode = 1;
    }
  });
}
