import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.js';
import type { Node } from './ast.js';
import { dump, goQuote } from './dump.js';
import {
  chompHeredocContent,
  DockerfileSyntaxError,
  extractBuilderFlags,
  parse,
  parseHeredocWord,
  parseWords,
  type ParsedHeredoc,
} from './parser.js';

function lines(...ls: string[]): string {
  return ls.join('\n') + '\n';
}

function dumpOf(text: string): string {
  return dump(parse(text).ast);
}

function args(node: Node): string[] {
  const out: string[] = [];
  for (let n = node.next; n !== null; n = n.next) out.push(n.value);
  return out;
}

function child(text: string, i = 0): Node {
  const c = parse(text).ast.children[i];
  assert.ok(c, `no instruction ${i}`);
  return c;
}

function rejects(text: string, message: RegExp): void {
  assert.throws(
    () => parse(text),
    (err: unknown) => err instanceof DockerfileSyntaxError && err instanceof InvalidArgumentError && message.test(err.message),
  );
}

describe('parser directives', () => {
  it('switches the escape character to backtick', () => {
    const r = parse(lines('# escape=`', 'FROM x', 'RUN a `', '  b \\', 'RUN c'));
    assert.equal(r.escapeToken, '`');
    assert.equal(r.directives.escapeToken, '`');
    assert.equal(dump(r.ast), '(from "x")\n(run "a   b \\\\")\n(run "c")');
  });

  it('records syntax and check with their lines and keeps them out of comments', () => {
    const r = parse(lines('# syntax=docker/dockerfile:1', '#check=skip=all;error=true', '# hello', 'FROM x'));
    assert.deepEqual(r.directives.syntax, { value: 'docker/dockerfile:1', line: 1 });
    assert.deepEqual(r.directives.check, { value: 'skip=all;error=true', line: 2 });
    assert.deepEqual(r.ast.children[0]?.prevComment, ['hello']);
  });

  it('are case-insensitive and trim spaces around name and value', () => {
    const r = parse(lines('#  ESCAPE  =  `  ', 'FROM a `', 'b'));
    assert.equal(r.escapeToken, '`');
    assert.equal(dump(r.ast), '(from "a" "b")');
  });

  it('are ignored after a blank line, a comment, an unknown directive or an instruction', () => {
    for (const text of [
      lines('', '# escape=`', 'FROM x'),
      lines('# hello', '# escape=`', 'FROM x'),
      lines('# foo=bar', '# escape=`', 'FROM x'),
      lines('FROM x', '# escape=`'),
    ]) {
      assert.equal(parse(text).escapeToken, '\\', text);
    }
  });

  it('strips a leading byte-order mark', () => {
    const r = parse('\uFEFF# escape=`\nFROM x\n');
    assert.equal(r.escapeToken, '`');
  });

  it('rejects a repeated directive and an invalid escape token, naming the line', () => {
    rejects(lines('# escape=`', '# escape=\\', 'FROM x'), /^Dockerfile:2: only one escape parser directive can be used$/);
    rejects(lines('# syntax=a', '# escape=x', 'FROM x'), /^Dockerfile:2: invalid escape token 'x' does not match ` or \\$/);
  });
});

describe('comments and continuations', () => {
  it('collects comments directly above an instruction; an empty # resets them', () => {
    const r = parse(lines('# one', '#', '# two', '  # three', '', 'FROM x', '# four', 'RUN y', 'RUN z'));
    const [from, run1, run2] = r.ast.children;
    assert.deepEqual(from?.prevComment, ['two', '# three']);
    assert.deepEqual(run1?.prevComment, ['four']);
    assert.deepEqual(run2?.prevComment, []);
  });

  it('joins continuation lines, skipping comment lines inside them', () => {
    const c = child(lines('RUN a \\', '  # not a comment of the command', '  b \\', '\tc'));
    assert.deepEqual(args(c), ['a   b \tc']);
    assert.equal(c.original, 'RUN a   b \tc');
    assert.equal(c.startLine, 1);
    assert.equal(c.endLine, 4);
  });

  it('treats an escaped escape character at end of line as literal', () => {
    assert.equal(dumpOf(lines('RUN echo \\\\', 'RUN next')), '(run "echo \\\\\\\\")\n(run "next")');
  });

  it('warns about empty continuation lines like BuildKit', () => {
    const text = [
      '',
      'FROM alpine:3.6',
      '',
      'RUN something \\',
      '',
      '    following \\',
      '',
      '    more',
      '',
      'RUN another \\',
      '',
      '    thing',
      'RUN non-indented \\',
      '# this is a comment',
      '   after-comment',
      '',
      'RUN indented \\',
      '    # this is an indented comment',
      '    comment',
      '\t',
    ].join('\n');
    const r = parse(text);
    assert.equal(r.warnings.length, 2);
    assert.equal(r.warnings[0]?.short, 'Empty continuation line found in: RUN something     following     more');
    assert.equal(r.warnings[1]?.short, 'Empty continuation line found in: RUN another     thing');
    for (const w of r.warnings) {
      assert.deepEqual(w.detail, ['Empty continuation lines will become errors in a future release']);
      assert.equal(w.url, 'https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/');
    }
    assert.deepEqual(r.warnings[0]?.location, [{ start: { line: 8, character: 0 }, end: { line: 8, character: 0 } }]);
    assert.deepEqual(r.warnings[1]?.location, [{ start: { line: 12, character: 0 }, end: { line: 12, character: 0 } }]);
    assert.equal(r.ast.children.length, 5);
  });

  it('handles CRLF line endings', () => {
    const r = parse('FROM x\r\nRUN a \\\r\n  b\r\n');
    assert.equal(dump(r.ast), '(from "x")\n(run "a   b")');
    assert.equal(r.ast.children[1]?.endLine, 3);
  });
});

describe('instructions and argument shapes', () => {
  it('lower-cases keywords whatever their case; unknown instructions keep an empty argument', () => {
    assert.equal(dumpOf(lines('FrOm x AS y', 'bogus a b', 'from z')), '(from "x" "AS" "y")\n(bogus "")\n(from "z")');
  });

  it('keeps the original text of each instruction', () => {
    const c = child(lines('  RUN  echo  hi  '));
    assert.equal(c.original, 'RUN  echo  hi  ');
    assert.deepEqual(args(c), ['echo  hi']);
  });

  it('exec (JSON) form: one argument per element, json attribute set', () => {
    const c = child(lines('ENTRYPOINT ["a", "b c", "\\u00e9\\n"]'));
    assert.deepEqual(args(c), ['a', 'b c', 'é\n']);
    assert.equal(c.attributes.json, true);
    assert.equal(child(lines('CMD []')).next, null);
    assert.equal(dumpOf(lines('CMD []')), '(cmd)');
  });

  it('JSON ignores text after the closing bracket, like Go json.Decoder', () => {
    assert.deepEqual(args(child(lines('CMD ["a"] trailing'))), ['a']);
  });

  it('invalid JSON falls back to the shell form', () => {
    for (const text of ["CMD ['a']", 'CMD ["a",]', 'CMD ["a" "b"]', 'CMD [1', 'RUN [ -f x ] && y', 'CMD ["\\x"]']) {
      const c = child(lines(text));
      assert.deepEqual(args(c), [text.slice(4)], text);
      assert.notEqual(c.attributes.json, true);
    }
  });

  it('a JSON array with a non-string element is an error', () => {
    for (const bad of ['["a",42,"b"]', '["a",{},"b"]', '["a",["c"],"b"]', '["a",true,"b"]', '["a",null,"b"]', '["a",1.5e3]']) {
      rejects(lines('FROM x', `CMD ${bad}`), /^Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only$/);
    }
    rejects(lines('COPY ["a", 1]'), /arrays must be comprised of strings only/);
  });

  it('COPY/ADD/VOLUME shell form splits on whitespace without interpreting quotes', () => {
    assert.deepEqual(args(child(lines('COPY "a b"\tc  d'))), ['"a', 'b"', 'c', 'd']);
    assert.deepEqual(args(child(lines('VOLUME /a /b'))), ['/a', '/b']);
  });

  it('ENV and LABEL: legacy and key=value forms', () => {
    assert.equal(
      dumpOf(lines('ENV A b c  d', 'ENV A=1 B="x y" C=a\\ b', 'LABEL "k"="v" x=')),
      [
        '(env "A" "b c  d" "")',
        '(env "A" "1" "=" "B" "\\"x y\\"" "=" "C" "a\\\\ b" "=")',
        '(label "\\"k\\"" "\\"v\\"" "=" "x" "" "=")',
      ].join('\n'),
    );
  });

  it('ENV errors: missing value, and a word without = in the pair form', () => {
    rejects(lines('FROM x', 'ENV PATH'), /^Dockerfile:2: ENV must have two arguments$/);
    rejects(lines('LABEL k'), /^Dockerfile:1: LABEL must have two arguments$/);
    rejects(lines('ENV a=1 \\', '  b'), /^Dockerfile:1: Syntax error - can't find = in "b". Must be of the form: name=value$/);
  });

  it('ARG keeps quotes in its words; an empty ENV has no arguments', () => {
    assert.equal(dumpOf(lines('ARG a="1 2" b', 'ENV')), '(arg "a=\\"1 2\\"" "b")\n(env)');
  });

  it('MAINTAINER, USER, WORKDIR, STOPSIGNAL take the rest of the line', () => {
    assert.equal(
      dumpOf(lines('MAINTAINER A B <a@b>', 'USER a b', 'WORKDIR /x y', 'STOPSIGNAL SIGTERM')),
      '(maintainer "A B <a@b>")\n(user "a b")\n(workdir "/x y")\n(stopsignal "SIGTERM")',
    );
  });

  it('HEALTHCHECK: NONE, CMD in both forms, flags', () => {
    const c = child(lines('HEALTHCHECK --interval=5s CMD ["curl", "-f", "x"]'));
    assert.deepEqual(c.flags, ['--interval=5s']);
    assert.deepEqual(args(c), ['CMD', 'curl', '-f', 'x']);
    assert.equal(c.attributes.json, true);
    assert.equal(dumpOf(lines('HEALTHCHECK NONE')), '(healthcheck "NONE")');
  });

  it('ONBUILD nests the trigger instruction with its own flags and attributes', () => {
    const r = parse(lines('FROM x', 'ONBUILD COPY --from=a ["s", "d"]', 'onbuild run echo hi'));
    assert.equal(dump(r.ast), '(from "x")\n(onbuild (copy ["--from=a"] "s" "d"))\n(onbuild (run "echo hi"))');
    const trigger = r.ast.children[1]?.next?.children[0];
    assert.equal(trigger?.value, 'copy');
    assert.equal(trigger?.attributes.json, true);
    assert.equal(trigger?.original, 'COPY --from=a ["s", "d"]');
    assert.equal(trigger?.startLine, 2);
  });

  it('a file without instructions is rejected', () => {
    rejects('', /^Dockerfile:1: file with no instructions$/);
    rejects(lines('# only', '', '# comments'), /^Dockerfile:3: file with no instructions$/);
  });

  it('lines longer than BuildKit’s scanner limit are rejected', () => {
    rejects(lines('FROM x', 'LABEL a=' + 'b'.repeat(70000)), /^Dockerfile:2: dockerfile line greater than max allowed size of 65535$/);
    assert.equal(parse(lines('FROM x', 'LABEL a=' + 'b'.repeat(60000))).ast.children.length, 2);
  });
});

describe('flags', () => {
  it('are extracted as written, quotes removed, before the arguments', () => {
    const c = child(lines('COPY --from=build --chown=1:2 --chmod=0755 --link src dst'));
    assert.deepEqual(c.flags, ['--from=build', '--chown=1:2', '--chmod=0755', '--link']);
    assert.deepEqual(args(c), ['src', 'dst']);
  });

  it('RUN --mount and --network with quoted values', () => {
    const c = child(lines('RUN --mount=type=cache,target="/root/.cache" --network=none make'));
    assert.deepEqual(c.flags, ['--mount=type=cache,target=/root/.cache', '--network=none']);
    assert.deepEqual(args(c), ['make']);
  });

  it('`--` ends the flags and is not recorded', () => {
    const c = child(lines('COPY --a=1 -- --b c'));
    assert.deepEqual(c.flags, ['--a=1']);
    assert.deepEqual(args(c), ['--b', 'c']);
  });

  it('extractBuilderFlags handles escapes and quoted spaces', () => {
    assert.deepEqual(extractBuilderFlags('--x="a b" --y=c\\ d rest of line'), {
      rest: 'rest of line',
      flags: ['--x=a b', '--y=c d'],
    });
    assert.deepEqual(extractBuilderFlags('--only'), { rest: '', flags: ['--only'] });
    assert.deepEqual(extractBuilderFlags('-x y'), { rest: '-x y', flags: [] });
  });
});

describe('parseWords (BuildKit TestParseWords)', () => {
  const cases: Array<[string, string[]]> = [
    ['foo', ['foo']],
    ['foo bar', ['foo', 'bar']],
    ['foo\\ bar', ['foo\\ bar']],
    ['foo=bar', ['foo=bar']],
    ["foo bar 'abc xyz'", ['foo', 'bar', "'abc xyz'"]],
    ['foo bar "abc xyz"', ['foo', 'bar', '"abc xyz"']],
    ['àöû', ['àöû']],
    ['föo bàr "âbc xÿz"', ['föo', 'bàr', '"âbc xÿz"']],
  ];
  for (const [input, expected] of cases) {
    it(input, () => assert.deepEqual(parseWords(input, '\\'), expected));
  }
});

describe('dump notation', () => {
  it('goQuote follows Go strconv.Quote', () => {
    assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goQuote('\x00\x07\b\f\n\r\t\v\x1b\x7f'), '"\\x00\\a\\b\\f\\n\\r\\t\\v\\x1b\\x7f"');
    assert.equal(goQuote('♥ é 한'), '"♥ é 한"');
    assert.equal(goQuote('\u00a0\u00ad\u200b\u{1F600}\u{E0001}'), '"\\u00a0\\u00ad\\u200b\u{1F600}\\U000e0001"');
  });
});

describe('heredocs', () => {
  function docs(text: string, i: number): ParsedHeredoc[] {
    return (parse(text).ast.children[i]?.heredocs ?? []) as ParsedHeredoc[];
  }
  function doc(name: string, content: string, extra: Partial<ParsedHeredoc> = {}): ParsedHeredoc {
    return { name, content, expand: true, chomp: false, fileDescriptor: 0, ...extra };
  }

  it('reference: RUN <<EOT bash runs a script with an interpreter', () => {
    const text = lines('# syntax=docker/dockerfile:1', 'FROM debian', 'RUN <<EOT bash', '  set -ex', '  apt-get update', '  apt-get install -y vim', 'EOT', 'RUN next');
    const r = parse(text);
    const run = r.ast.children[1] as Node;
    assert.deepEqual(args(run), ['<<EOT bash']);
    assert.deepEqual(run.heredocs, [doc('EOT', '  set -ex\n  apt-get update\n  apt-get install -y vim\n')]);
    assert.equal(run.startLine, 3);
    assert.equal(run.endLine, 7);
    assert.equal(r.ast.children[2]?.startLine, 8);
  });

  it('reference: RUN <<EOF with a shebang script', () => {
    const text = lines('FROM python:3.6', 'RUN <<EOT', '#!/usr/bin/env python', 'print("hello world")', 'EOT');
    assert.deepEqual(docs(text, 1), [doc('EOT', '#!/usr/bin/env python\nprint("hello world")\n')]);
  });

  it('reference: several heredocs in one RUN are read in order', () => {
    const text = lines('FROM alpine', 'RUN cat <<FILE1 > file1 && cat <<FILE2 > file2', 'I am', 'first', 'FILE1', 'I am', 'second', 'FILE2');
    assert.deepEqual(docs(text, 1), [doc('FILE1', 'I am\nfirst\n'), doc('FILE2', 'I am\nsecond\n')]);
    assert.equal(parse(text).ast.children[1]?.endLine, 8);
  });

  it('reference: COPY <<EOF /dest, <<- strips leading tabs, quoted delimiter disables expansion', () => {
    const text = lines(
      'FROM alpine',
      'ARG FOO=bar',
      'COPY <<-EOT /script.sh',
      '\t\techo "hello ${FOO}"',
      '\tEOT',
      'COPY <<-"EOT" /script.sh',
      '\techo "hello ${FOO}"',
      'EOT',
      "COPY <<'EOF' /x",
      '$HOME',
      'EOF',
    );
    assert.deepEqual(docs(text, 2), [doc('EOT', 'echo "hello ${FOO}"\n', { chomp: true })]);
    assert.deepEqual(docs(text, 3), [doc('EOT', 'echo "hello ${FOO}"\n', { chomp: true, expand: false })]);
    assert.deepEqual(docs(text, 4), [doc('EOF', '$HOME\n', { expand: false })]);
    assert.deepEqual(args(parse(text).ast.children[2] as Node), ['<<-EOT', '/script.sh']);
  });

  it('BuildKit TestParseExtractsHeredoc', () => {
    const text = [
      '',
      'FROM alpine:3.6',
      '',
      'ENV NAME=me',
      '',
      'RUN ls',
      '',
      'USER <<INVALID',
      'INVALID',
      '',
      'RUN <<EMPTY',
      'EMPTY',
      '',
      'RUN 3<<EMPTY2',
      'EMPTY2',
      '',
      'RUN "<<NOHEREDOC"',
      '',
      'RUN <<INDENT',
      '\tfoo',
      '\tbar',
      'INDENT',
      '',
      'RUN <<-UNINDENT',
      '\tbaz',
      '\tquux',
      'UNINDENT',
      '',
      'RUN <<-UNINDENT2',
      '\tbaz',
      '\tquux',
      '\tUNINDENT2',
      '',
      'RUN <<-EXPAND',
      '\texpand $NAME',
      'EXPAND',
      '',
      "RUN <<-'NOEXPAND'",
      "\tdon't expand $NAME",
      'NOEXPAND',
      '',
      'RUN <<COPY',
      'echo hello world',
      'echo foo bar',
      'COPY',
      '',
      'RUN <<COMMENT',
      '# internal comment',
      'echo hello world',
      'echo foo bar # trailing comment',
      'COMMENT',
      '',
      'RUN --mount=type=cache,target=/foo <<MOUNT',
      'echo hello',
      'MOUNT',
      '',
      'COPY <<FILE1 <<FILE2 /dest',
      'content 1',
      'FILE1',
      'content 2',
      'FILE2',
      '',
      'COPY <<X <<Y /dest',
      'Y',
      'X',
      'X',
      'Y',
      '\t',
    ].join('\n');
    const expected: ParsedHeredoc[][] = [
      [], // ENV
      [], // RUN ls
      [], // USER <<INVALID: USER takes no heredocs
      [], // INVALID (an unknown instruction)
      [doc('EMPTY', '')],
      [doc('EMPTY2', '', { fileDescriptor: 3 })],
      [], // RUN "<<NOHEREDOC"
      [doc('INDENT', '\tfoo\n\tbar\n')],
      [doc('UNINDENT', 'baz\nquux\n', { chomp: true })],
      [doc('UNINDENT2', 'baz\nquux\n', { chomp: true })],
      [doc('EXPAND', 'expand $NAME\n', { chomp: true })],
      [doc('NOEXPAND', "don't expand $NAME\n", { chomp: true, expand: false })],
      [doc('COPY', 'echo hello world\necho foo bar\n')],
      [doc('COMMENT', '# internal comment\necho hello world\necho foo bar # trailing comment\n')],
      [doc('MOUNT', 'echo hello\n')],
      [doc('FILE1', 'content 1\n'), doc('FILE2', 'content 2\n')],
      [doc('X', 'Y\n'), doc('Y', 'X\n')],
    ];
    const r = parse(text);
    assert.equal(r.ast.children.length, expected.length + 1);
    expected.forEach((want, i) => assert.deepEqual(r.ast.children[i + 1]?.heredocs, want, `instruction ${i + 1}`));
    assert.deepEqual(r.ast.children[15]?.flags, ['--mount=type=cache,target=/foo']);
  });

  it('JSON-form instructions take no heredocs (BuildKit TestParseJSONHeredoc)', () => {
    const r = parse(lines('FROM alpine:3.6', 'RUN ["whoami"]', 'RUN ["<<EOF"]', `RUN ["<<'EOF'"]`, 'RUN ok'));
    for (const c of r.ast.children) assert.deepEqual(c.heredocs, []);
    assert.equal(r.ast.children.length, 5);
  });

  it('ONBUILD RUN/COPY carry heredocs on the ONBUILD instruction', () => {
    const r = parse(lines('FROM x', 'ONBUILD RUN <<EOF', 'echo hi', 'EOF', 'RUN done'));
    assert.deepEqual(r.ast.children[1]?.heredocs, [doc('EOF', 'echo hi\n')]);
    assert.equal(r.ast.children[2]?.startLine, 5);
  });

  it('heredoc bodies are not parsed as instructions or directives; CRLF kept in content', () => {
    const r = parse('FROM x\r\nRUN <<EOF\r\nFROM y \\\r\n# escape=`\r\nEOF\r\nRUN z\r\n');
    assert.equal(r.ast.children.length, 3);
    assert.equal(r.ast.children[1]?.heredocs[0]?.content, 'FROM y \\\r\n# escape=`\r\n');
  });

  it('an unterminated heredoc is an error naming the instruction line', () => {
    rejects(lines('FROM x', 'RUN <<EOF', 'echo'), /^Dockerfile:2: unterminated heredoc "EOF"$/);
  });

  it('parseHeredocWord (BuildKit TestParseHeredocHelpers)', () => {
    for (const w of ['<<EOF', "<<'EOF'", '<<"EOF"', '<<-EOF', "<<-'EOF'", '<<-"EOF"']) {
      assert.equal(parseHeredocWord(w)?.name, 'EOF', w);
    }
    for (const w of ["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"']) {
      assert.throws(() => parseHeredocWord(w), InvalidArgumentError, w);
    }
    for (const w of ['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF']) {
      assert.equal(parseHeredocWord(w), null, w);
    }
    assert.equal(parseHeredocWord('<<E"O"F')?.expand, false);
    assert.equal(parseHeredocWord('<<E"O"F')?.name, 'EOF');
  });

  it('heredoc words are found anywhere in the line (BuildKit TestHeredocsFromLine)', () => {
    const cases: Array<[string, string[]]> = [
      ['RUN <<EOF', ['EOF']],
      ['RUN <<-EOF', ['EOF']],
      ["RUN <<'EOF'", ['EOF']],
      ['RUN 4<<EOF', ['EOF']],
      ['RUN <<EOF <<EOF2', ['EOF', 'EOF2']],
      ["RUN '<<EOF'", []],
      ['RUN "<<EOF"', []],
    ];
    for (const [line, names] of cases) {
      const bodies = names.map((n) => `x\n${n}\n`).join('');
      const hd = parse(`${line}\n${bodies}`).ast.children[0]?.heredocs ?? [];
      assert.deepEqual(
        hd.map((h) => h.name),
        names,
        line,
      );
    }
  });

  it('chompHeredocContent removes leading tabs on every line only', () => {
    assert.equal(chompHeredocContent('\thello\n\t\tworld\n \tx\t\n'), 'hello\nworld\n \tx\t\n');
  });
});

describe('performance', () => {
  it('parses a 1,000-instruction Dockerfile in a few milliseconds', () => {
    const parts: string[] = ['# syntax=docker/dockerfile:1', 'FROM alpine AS base'];
    for (let i = 0; i < 1000; i++) {
      switch (i % 5) {
        case 0:
          parts.push(`RUN --mount=type=cache,target=/c${i} apk add pkg${i} \\`, `    && echo ${i}`);
          break;
        case 1:
          parts.push(`ENV K${i}=v${i} L${i}="a b"`);
          break;
        case 2:
          parts.push(`COPY --from=base ["/src${i}", "/dst${i}"]`);
          break;
        case 3:
          parts.push(`RUN <<EOF`, `echo ${i}`, `EOF`);
          break;
        default:
          parts.push(`LABEL a${i}=b${i}`);
      }
    }
    const text = lines(...parts);
    // Speed is measured by bench/dockerfile-parse.ts, not asserted here.
    const r = parse(text);
    assert.equal(r.ast.children.length, 1001);
  });

  // The runner's timeout is a hang guard against super-linear behaviour, not a speed assertion.
  it('stays linear on pathological lines', { timeout: 60_000 }, () => {
    const n = 60000;
    const inputs = [
      lines('# escape=' + ' '.repeat(n), 'FROM x'),
      lines('FROM x', 'RUN ' + ' \\ '.repeat(n / 3)),
      lines('FROM x', 'CMD ' + '['.repeat(n / 2)),
      lines('FROM x', 'ENV ' + 'a=" '.repeat(n / 4)),
      lines('FROM x', 'RUN ' + '<<'.repeat(n / 4)),
    ];
    for (const text of inputs) {
      try {
        parse(text);
      } catch (err) {
        // Some of these are invalid Dockerfiles: they must fail with a clean error, not hang.
        assert.ok(err instanceof InvalidArgumentError);
      }
    }
  });
});
