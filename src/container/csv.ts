/**
 * The first record of a CSV text as Go 1.19's encoding/csv Reader.Read returns it (comma
 * separated, RFC 4180 quotes, no lazy quotes, no leading-space trimming): how Docker's CLI
 * splits a `--mount` value. Empty lines before the record are skipped, `\r\n` is read as `\n`,
 * a quoted field may span lines and holds `""` as a quote. Errors are Go's, with its 1-based
 * byte columns: `parse error on line 1, column 33: extraneous or missing " in quoted-field`,
 * `bare " in non-quoted-field`, `record on line 2; parse error on line 3, column 1: ...`, and
 * `EOF` for a text without any record. *pure*
 */
import { InvalidArgumentError } from '../errors.js';

const ERR_BARE_QUOTE = 'bare " in non-quoted-field';
const ERR_QUOTE = 'extraneous or missing " in quoted-field';

function parseError(startLine: number, line: number, column: number, err: string): InvalidArgumentError {
  if (startLine !== line) return new InvalidArgumentError(`record on line ${startLine}; parse error on line ${line}, column ${column}: ${err}`);
  return new InvalidArgumentError(`parse error on line ${line}, column ${column}: ${err}`);
}

/** The first CSV record of `text`. */
export function readCsvRecord(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  let numLine = 0;
  /** readLine: the next line with its `\n` (\r\n normalised), or undefined at the end. */
  const readLine = (): Buffer | undefined => {
    if (offset >= bytes.length) return undefined;
    const nl = bytes.indexOf(0x0a, offset);
    let line = nl < 0 ? bytes.subarray(offset) : bytes.subarray(offset, nl + 1);
    offset = nl < 0 ? bytes.length : nl + 1;
    numLine++;
    if (nl < 0 && line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    const n = line.length;
    if (n >= 2 && line[n - 2] === 0x0d && line[n - 1] === 0x0a) line = Buffer.concat([line.subarray(0, n - 2), Buffer.from('\n')]);
    return line;
  };
  const lengthNL = (b: Buffer): number => (b.length > 0 && b[b.length - 1] === 0x0a ? 1 : 0);

  let line: Buffer | undefined;
  for (;;) {
    line = readLine();
    if (line === undefined) throw new InvalidArgumentError('EOF');
    if (line.length === lengthNL(line)) continue; // empty line
    break;
  }
  const recLine = numLine;
  const fields: string[] = [];
  let field: number[] = [];
  let pos = { line: numLine, col: 1 };
  let rest: Buffer = line;

  for (;;) {
    if (rest.length === 0 || rest[0] !== 0x22) {
      // Non-quoted field.
      const i = rest.indexOf(0x2c);
      const f = i >= 0 ? rest.subarray(0, i) : rest.subarray(0, rest.length - lengthNL(rest));
      const j = f.indexOf(0x22);
      if (j >= 0) throw parseError(recLine, numLine, pos.col + j, ERR_BARE_QUOTE);
      fields.push(f.toString('utf8'));
      if (i >= 0) {
        rest = rest.subarray(i + 1);
        pos.col += i + 1;
        continue;
      }
      return fields;
    }
    // Quoted field.
    rest = rest.subarray(1);
    pos.col += 1;
    field = [];
    for (;;) {
      const i = rest.indexOf(0x22);
      if (i >= 0) {
        field.push(...rest.subarray(0, i));
        rest = rest.subarray(i + 1);
        pos.col += i + 1;
        if (rest.length > 0 && rest[0] === 0x22) {
          field.push(0x22);
          rest = rest.subarray(1);
          pos.col += 1;
        } else if (rest.length > 0 && rest[0] === 0x2c) {
          rest = rest.subarray(1);
          pos.col += 1;
          fields.push(Buffer.from(field).toString('utf8'));
          break;
        } else if (lengthNL(rest) === rest.length) {
          fields.push(Buffer.from(field).toString('utf8'));
          return fields;
        } else {
          throw parseError(recLine, numLine, pos.col - 1, ERR_QUOTE);
        }
      } else if (rest.length > 0) {
        // The field goes on past the end of this line.
        field.push(...rest);
        pos.col += rest.length;
        const next = readLine();
        rest = next ?? Buffer.alloc(0);
        if (next !== undefined && next.length > 0) pos = { line: pos.line + 1, col: 1 };
      } else {
        // The text ended inside a quoted field.
        throw parseError(recLine, pos.line, pos.col, ERR_QUOTE);
      }
    }
  }
}
