/**
 * Here-documents in RUN and COPY/ADD, as BuildKit's Dockerfile frontend treats them (dockerfile
 * syntax 1.4 and later: dockerfile2llb's dispatchRun and dispatchCopy at BuildKit master). Docker
 * 20.10's built-in frontend (BuildKit v0.8) cannot parse heredocs at all, so these rules follow
 * BuildKit's source and reference, not a captured docker:
 *
 * RUN
 * - a heredoc that is the whole command line (`RUN <<EOF`): when its body starts with `#!` it is
 *   written as the executable file NAME (0755) in a read-only directory mounted at /dev/pipes/,
 *   and the shell runs `/dev/pipes/NAME`; otherwise the body itself is the shell's command
 *   (`/bin/sh -c BODY`). `<<-` strips leading tabs; the frontend never expands variables in it
 *   (quoting the delimiter changes nothing: the shell sees the body);
 * - anything else (`RUN python3 <<EOF`, several heredocs, `cat <<A <<B`): the command line, then
 *   each body followed by its delimiter, joined by newlines, is given to the shell, which reads
 *   the heredocs itself;
 * - the history shows the command the shell got (`RUN /bin/sh -c BODY # buildkit`,
 *   `RUN /bin/sh -c /dev/pipes/EOF # buildkit`); the first form's vertex name gets
 *   ` (FIRST LINE...)`.
 *
 * COPY/ADD
 * - each heredoc source is a file named after its delimiter (mode 0644, owner 0:0, then --chmod
 *   and --chown as for any source), its body expanded by the plan unless the delimiter was
 *   quoted; heredocs are copied after the path sources, to the same destination, never unpacked;
 * - the history names them `<<NAME` after the path sources (`COPY a <<EOF /dest/`).
 *
 * The inline files are materialised in a scratch directory for the step only.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, isCairnError } from '../errors.js';
import { LineError, chompHeredocContent, parseHeredocWord } from '../dockerfile/parser.js';
import type { CopyStep, RunStep, Step } from '../dockerfile/steps.js';
import type { Store } from '../store/store.js';

/** Where a RUN's shebang heredoc is mounted (BuildKit's destPath). */
export const INLINE_DIR = '/dev/pipes';

/** A file the frontend writes for a step: a RUN's shebang script, a COPY's heredoc source. */
export interface InlineFile {
  name: string;
  data: string;
  mode: number;
}

/** A step as the builder runs it: RUN's command rewritten for its heredocs, and the files it mounts. */
export interface PreparedStep {
  step: Step;
  /** RUN: the files to mount read-only at INLINE_DIR (none: no mount). */
  inline: InlineFile[];
}

/** The step the builder runs for `step` (see the module comment); steps without heredocs are returned as they are. */
export function prepareStep(step: Step, os: string): PreparedStep {
  if (step.instruction !== 'RUN' || step.heredocs.length === 0) return { step, inline: [] };
  return prepareRun(step, os);
}

function prepareRun(step: RunStep, os: string): PreparedStep {
  const first = step.heredocs[0]!;
  if (step.command.length !== 1 || !step.shell) throw new InvalidArgumentError(`parsing produced an invalid run command: [${step.command.join(' ')}]`);
  const line = step.command[0]!;
  if (isHeredocWord(line)) {
    const data = first.chomp ? chompHeredocContent(first.content) : first.content;
    const original = `${step.original} (${summarizeHeredoc(first.content)})`;
    if (os !== 'windows' && data.startsWith('#!')) {
      if (first.name.includes('/') || first.name === '.' || first.name === '..') throw new InvalidArgumentError(`invalid heredoc name ${JSON.stringify(first.name)}: not a file name`);
      return { step: { ...step, original, command: [`${INLINE_DIR}/${first.name}`] }, inline: [{ name: first.name, data, mode: 0o755 }] };
    }
    return { step: { ...step, original, command: [data] }, inline: [] };
  }
  // BuildKit reconstitutes the heredocs for the shell to read.
  let text = line;
  for (const h of step.heredocs) text += `\n${h.content}${h.name}`;
  return { step: { ...step, command: [text] }, inline: [] };
}

/** BuildKit's MustParseHeredoc: whether the whole word is one heredoc marker (a word that does not lex is not). */
function isHeredocWord(word: string): boolean {
  try {
    return parseHeredocWord(word) !== null;
  } catch (e) {
    if (e instanceof LineError || isCairnError(e)) return false;
    throw e;
  }
}

/** BuildKit's summarizeHeredoc: the first line of the trimmed body, `...` when there are more. */
export function summarizeHeredoc(doc: string): string {
  const lines = doc.trim().replaceAll('\r\n', '\n').split('\n');
  return lines.length > 1 ? `${lines[0]}...` : lines[0]!;
}

/** A COPY/ADD's heredoc sources as files (mode 0644; --chmod applies on the copy). */
export function copyInlineFiles(step: CopyStep): InlineFile[] {
  return step.heredocs.map((h) => {
    if (h.path === '' || h.path.includes('/') || h.path === '.' || h.path === '..') throw new InvalidArgumentError(`invalid heredoc name ${JSON.stringify(h.path)}: not a file name`);
    return { name: h.path, data: h.data, mode: 0o644 };
  });
}

/** Run `fn` with `files` written into a scratch directory of the store (removed afterwards). */
export async function withInlineFiles<T>(store: Store, files: readonly InlineFile[], fn: (dir: string) => Promise<T>): Promise<T> {
  const scratch = await store.scratchDir();
  try {
    for (const f of files) {
      const path = join(scratch.path, f.name);
      await writeFile(path, f.data, { mode: f.mode });
      // The umask may have narrowed the mode at creation.
      await chmod(path, f.mode);
    }
    return await fn(scratch.path);
  } finally {
    await scratch.dispose();
  }
}
