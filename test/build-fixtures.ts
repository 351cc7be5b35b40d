/**
 * What the build tests share: a busybox base image as a docker-archive, and the steps a build's
 * plain progress shows as run and as taken from the cache.
 */
import { busyboxRunTar, makeDockerArchive } from './helpers.js';

/** A docker-archive of one busybox image (test/helpers busyboxRunTar) tagged `tag`. */
export async function busyboxArchive(tag: string): Promise<Buffer> {
  return makeDockerArchive([{ layers: [await busyboxRunTar()], repoTags: [tag] }]);
}

/** The names of the step vertices (`[2/5] COPY ...`, FROM left out) that ran (DONE) and that came from the cache (CACHED). */
export function buildSteps(stderr: string): { ran: string[]; cached: string[] } {
  const names = new Map<string, string>();
  const ran: string[] = [];
  const cached: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (m === null) continue;
    const [, id, rest] = m as unknown as [string, string, string];
    if (!names.has(id)) names.set(id, rest);
    else if (rest === 'CACHED') cached.push(names.get(id)!);
    else if (rest.startsWith('DONE ')) ran.push(names.get(id)!);
  }
  const isStep = (s: string) => /^\[.*\d+\/\d+\]/.test(s) && !/ FROM /.test(s);
  return { ran: ran.filter(isStep), cached: cached.filter(isStep) };
}
