/**
 * `cairn create [OPTIONS] IMAGE [COMMAND] [ARG...]`: a container on the image, not started; its
 * ID printed. An image the store lacks is pulled first (`--pull missing`, Docker's default),
 * said on stderr as Docker says it.
 */
import type { Command } from 'commander';
import type { Cairn } from '../../engine.js';
import { CairnError, InvalidArgumentError, NotFoundError } from '../../errors.js';
import { familiarString, parseNormalizedReference, withDefaultTag } from '../../reference/reference.js';
import { containerError, createOptionsFromFlags, reportFlagError, type CreateFlags } from '../container-flags.js';
import { out, withCairn } from '../context.js';
import { pullForContainer } from './pull.js';

/** A reference as Docker's daemon names an image it does not have: familiar, with its default tag (`busybox:latest`). */
function familiarWithTag(image: string): string {
  try {
    return familiarString(withDefaultTag(parseNormalizedReference(image)));
  } catch (e) {
    if (e instanceof InvalidArgumentError) return image;
    throw e;
  }
}

/** The image is in the store, pulled if the policy says so; Docker's errors otherwise. */
export async function ensureImage(cairn: Cairn, image: string, o: Pick<CreateFlags, 'pull' | 'quiet' | 'platform'>): Promise<void> {
  const policy = o.pull;
  if (policy !== 'missing' && policy !== 'always' && policy !== 'never') {
    throw new CairnError('usage', `invalid pull option: '${policy}': must be one of "always", "missing" or "never"`);
  }
  const have = await cairn.hasImage(image);
  if (policy === 'never' || (policy === 'missing' && have)) {
    if (!have) throw new NotFoundError(`No such image: ${familiarWithTag(image)}`);
    return;
  }
  if (!have) process.stderr.write(`Unable to find image '${image.includes(':') || image.includes('@') ? image : `${image}:latest`}' locally\n`);
  await pullForContainer(cairn, image, { ...(o.quiet ? { quiet: true } : {}), ...(o.platform !== undefined ? { platform: o.platform } : {}) });
}

export async function run(program: Command, cmd: Command, image: string, args: string[]): Promise<void> {
  const o = cmd.opts<CreateFlags>();
  let options;
  try {
    options = createOptionsFromFlags('create', image, args, o);
  } catch (e) {
    if (reportFlagError(e, cmd.parent?.name() === 'container' ? 'cairn container create' : 'cairn create')) return;
    if (e instanceof CairnError) throw containerError(e, 'create', 'create');
    throw e;
  }
  const settings = options;
  await withCairn(program, async (cairn) => {
    await ensureImage(cairn, image, o);
    // Docker's create makes the working directory in the container's layer
    const rec = await cairn.createContainer(settings, { makeWorkingDir: true });
    out(`${rec.id}\n`);
  });
}
