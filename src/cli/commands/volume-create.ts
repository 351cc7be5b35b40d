/**
 * `cairn volume create [OPTIONS] [VOLUME]`: prints the volume's name (an existing volume's
 * too, as Docker). `--label` and `--opt` as Docker's CLI reads them (a word without `=` is a
 * key with an empty value; a later value for a key wins); the hidden `--name` as Docker's.
 */
import type { Command } from 'commander';
import { out, withCairn } from '../context.js';
import { flagError } from '../volume.js';

interface Opts {
  driver: string;
  label: string[];
  opt: string[];
  name?: string;
}

/** opts.ConvertKVStringsToMap: KEY=VALUE, or KEY alone for an empty value. */
function toMap(words: readonly string[]): Record<string, string> {
  const m: Record<string, string> = {};
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq < 0) m[w] = '';
    else m[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return m;
}

/** Docker's ValidateLabel: why a --label value is refused, or undefined. */
function labelProblem(label: string): string | undefined {
  const eq = label.indexOf('=');
  const key = (eq < 0 ? label : label.slice(0, eq)).replace(/^[ \t]+/, '');
  if (key === '') return `invalid label '${label}': empty name`;
  if (/[ \t]/.test(key)) return `label '${key}' contains whitespaces`;
  return undefined;
}

export async function run(program: Command, cmd: Command, volume?: string): Promise<void> {
  const o = cmd.opts<Opts>();
  for (const l of o.label) {
    const why = labelProblem(l);
    if (why !== undefined) return flagError(cmd, '--label', l, why);
  }
  if (o.name !== undefined && volume !== undefined) {
    process.stderr.write('conflicting options: either specify --name or provide positional arg, not both\n');
    process.exitCode = 1;
    return;
  }
  const name = volume ?? o.name;
  await withCairn(program, async (cairn) => {
    // Docker's CLI always sends its maps, empty or not: such a volume shows {} where a container's shows null.
    const v = await cairn.volumeCreate({ ...(name ? { name } : {}), driver: o.driver, labels: toMap(o.label), options: toMap(o.opt) });
    out(`${v.name}\n`);
  });
}
