/**
 * `cairn port CONTAINER [PRIVATE_PORT[/PROTO]]`: a container's published ports. cairn publishes
 * none yet (containers use the host's network, or none), so the list is empty; a port asked
 * for is Docker's "no public port" error.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import { goQuote } from '../../template/fmt.js';
import { withCairn } from '../context.js';

export async function run(program: Command, _cmd: Command, ref: string, port?: string): Promise<void> {
  await withCairn(program, async (cairn) => {
    await cairn.container(ref);
    if (port !== undefined) {
      // Docker's CLI: PORT[/PROTO] (a proto after the first '/', tcp when none), the port a number or a range
      const slash = port.indexOf('/');
      const [num, proto] = slash >= 0 && slash < port.length - 1 ? [port.slice(0, slash), port.slice(slash + 1)] : [port, 'tcp'];
      const bad = (n: string): string | undefined => (/^\d+$/.test(n) ? (Number(n) > 65535 ? `strconv.ParseUint: parsing ${goQuote(n)}: value out of range` : undefined) : `strconv.ParseUint: parsing ${goQuote(n)}: invalid syntax`);
      const ends = num.includes('-') ? num.split('-', 2) : [num];
      for (const n of ends) {
        const problem = bad(n);
        if (problem !== undefined) throw new InvalidArgumentError(problem, { bare: true });
      }
      if (ends.length === 2 && Number(ends[1]) < Number(ends[0])) throw new InvalidArgumentError(`Invalid range specified for the Port: ${num}`, { bare: true });
      throw new NotFoundError(`No public port '${num}/${proto}' published for ${ref}`);
    }
  });
}
