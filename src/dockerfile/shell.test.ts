import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.js';
import { envFromPairs, Lexer, reversePattern, trimSpace } from './shell.js';

interface MatchCase {
  input: string;
  env: Record<string, string>;
  expected?: string;
  error?: true;
  matched?: string[];
  unmatched?: string[];
}

// Expectations from BuildKit's TestProcessWithMatches (frontend/dockerfile/shell/lex_test.go).
const matchCases: MatchCase[] = [
  { input: 'x', env: { DUMMY: 'dummy' }, expected: 'x' },
  { input: 'x ${UNUSED}', env: { DUMMY: 'dummy' }, expected: 'x ', unmatched: ['UNUSED'] },
  { input: 'x ${FOO}', env: { FOO: 'y' }, expected: 'x y', matched: ['FOO'] },
  {
    input: '${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}',
    env: { FOO: 'xxx', BAR: '' },
    expected: 'xxx  ccc',
    matched: ['FOO', 'BAR'],
    unmatched: ['BAZ'],
  },
  {
    input: '${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}',
    env: { FOO: 'xxx', BAR: '' },
    expected: 'xxx bbb ccc',
    matched: ['FOO', 'BAR'],
    unmatched: ['BAZ'],
  },
  { input: '${FOO:-}', env: { FOO: 'xxx', BAR: '' }, expected: 'xxx', matched: ['FOO'] },
  { input: '${FOO:-}', env: {}, expected: '', unmatched: ['FOO'] },
  {
    input: '${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}',
    env: { FOO: 'xxx', BAR: '' },
    expected: 'aaa bbb ',
    matched: ['FOO', 'BAR'],
    unmatched: ['BAZ'],
  },
  {
    input: '${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}',
    env: { FOO: 'xxx', BAR: '' },
    expected: 'aaa  ',
    matched: ['FOO', 'BAR'],
    unmatched: ['BAZ'],
  },
  { input: '${FOO?aaa}', env: { FOO: 'xxx', BAR: '' }, expected: 'xxx', matched: ['FOO'] },
  { input: '${BAR?bbb}', env: { FOO: 'xxx', BAR: '' }, expected: '', matched: ['BAR'] },
  { input: '${BAZ?ccc}', env: { FOO: 'xxx', BAR: '' }, error: true },
  { input: '${FOO:?aaa}', env: { FOO: 'xxx', BAR: '' }, expected: 'xxx', matched: ['FOO'] },
  { input: '${BAR:?bbb}', env: { FOO: 'xxx', BAR: '' }, error: true },
  { input: '${BAZ:?ccc}', env: { FOO: 'xxx', BAR: '' }, error: true },
  { input: '${BAZ:?}', env: { FOO: 'xxx', BAR: '' }, error: true },
  { input: '${FOO=aaa}', env: { FOO: 'xxx', BAR: '' }, error: true },
  { input: '${FOO=:aaa}', env: { FOO: 'xxx', BAR: '' }, error: true },
  { input: '${FOO=}', env: {}, error: true },
  { input: '${FOO#()[]{\\}^$.\\*\\?|\\\\}', env: { FOO: '()[]{}^$.*?|\\x' }, expected: 'x', matched: ['FOO'] },
  { input: '${FOO%%\\**}', env: { FOO: 'xx**' }, expected: 'xx', matched: ['FOO'] },
  { input: '${FOO#*x*y}', env: { FOO: 'xxyy' }, expected: 'y', matched: ['FOO'] },
  { input: '${FOO#*}', env: { FOO: 'xxyy' }, expected: 'xxyy', matched: ['FOO'] },
  { input: '${FOO#$BAR}', env: { FOO: 'xxyy', BAR: 'x' }, expected: 'xyy', matched: ['FOO', 'BAR'] },
  { input: '${FOO#$BAR}', env: { FOO: 'xxyy', BAR: '' }, expected: 'xxyy', matched: ['FOO', 'BAR'] },
  { input: '${FOO#}', env: { FOO: 'xxyy' }, expected: 'xxyy', matched: ['FOO'] },
  { input: '${FOO##*x}', env: { FOO: 'xxyy' }, expected: 'yy', matched: ['FOO'] },
  { input: '${FOO##}', env: { FOO: 'xxyy' }, expected: 'xxyy', matched: ['FOO'] },
  { input: '${FOO#?\\?}', env: { FOO: '???y' }, expected: '?y', matched: ['FOO'] },
  {
    input: '${ABC:-.}${FOO%x}${ABC:-.}',
    env: { FOO: 'xxyy' },
    expected: '.xxyy.',
    matched: ['FOO'],
    unmatched: ['ABC'],
  },
  { input: '${FOO%%\\**\\*}', env: { FOO: 'a***yy*' }, expected: 'a', matched: ['FOO'] },
  { input: '${FOO%}', env: { FOO: 'xxyy' }, expected: 'xxyy', matched: ['FOO'] },
  { input: '${FOO%%$BAR}', env: { FOO: 'xxyy', BAR: '' }, expected: 'xxyy', matched: ['FOO', 'BAR'] },
  { input: '${FOO:#}', env: {}, error: true },
  { input: '${FOO:##}', env: {}, error: true },
  { input: '${FOO:%}', env: {}, error: true },
  { input: '${FOO:%%}', env: {}, error: true },
  {
    input: '${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}',
    env: { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' },
    expected: '/foo.*/*.txt - /foo..*.txt',
    matched: ['FOO', 'NEEDLE'],
  },
  {
    input: '${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}',
    env: { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' },
    expected: '/tmp/bar.txt - /bar.txt',
    matched: ['FOO', 'NEEDLE'],
  },
  {
    input: '${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}',
    env: { FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', REPLACEMENT: '/' },
    expected: '/foo/b/c.txt - /foo/c.txt',
    matched: ['FOO', 'NEEDLE', 'REPLACEMENT'],
  },
  {
    input: '${FOO/$NEEDLE/$REPLACEMENT}',
    env: { FOO: 'http://google.de', NEEDLE: 'http://', REPLACEMENT: 'https://' },
    expected: 'https://google.de',
    matched: ['FOO', 'NEEDLE', 'REPLACEMENT'],
  },
  { input: '${FOO//\\//\\/}', env: { FOO: '/tmp/foo.txt' }, expected: '\\/tmp\\/foo.txt', matched: ['FOO'] },
  { input: '${FOO/$BAR/ww}', env: { FOO: 'xxyy', BAR: '' }, expected: 'wwxxyy', matched: ['FOO', 'BAR'] },
  { input: '${FOO//ww}', env: { FOO: 'xxyy' }, error: true },
  { input: '${FOO//}', env: { FOO: 'xxyy' }, error: true },
  { input: '${FOO///}', env: { FOO: 'xxyy' }, expected: 'xxyy', matched: ['FOO'] },
  { input: '${FOO///}', env: {}, expected: '', unmatched: ['FOO'] },
];

describe('Lexer.processWordWithMatches (BuildKit TestProcessWithMatches)', () => {
  for (const c of matchCases) {
    it(`${c.input} with ${JSON.stringify(c.env)}`, () => {
      const lex = new Lexer('\\');
      const env = envFromPairs(c.env);
      if (c.error) {
        assert.throws(() => lex.processWordWithMatches(c.input, env), InvalidArgumentError);
        return;
      }
      const r = lex.processWordWithMatches(c.input, env);
      assert.equal(r.result, c.expected);
      assert.deepEqual([...r.matched].sort(), (c.matched ?? []).slice().sort());
      assert.deepEqual([...r.unmatched].sort(), (c.unmatched ?? []).slice().sort());
    });
  }
});

describe('Lexer: platform-style release names (BuildKit TestProcessWithMatchesPlatform)', () => {
  const release = 'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz';
  it('appends the variant when set', () => {
    const r = new Lexer('\\').processWordWithMatches(
      release,
      envFromPairs({ VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7' }),
    );
    assert.equal(r.result, 'something-v1.2.3.linux-arm-v7.tar.gz');
  });
  it('omits it when unset, and reports it unmatched', () => {
    const r = new Lexer('\\').processWordWithMatches(
      release,
      envFromPairs({ VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm64' }),
    );
    assert.equal(r.result, 'something-v1.2.3.linux-arm64.tar.gz');
    assert.deepEqual([...r.unmatched], ['TARGETVARIANT']);
  });
});

describe('Lexer: mandatory variables (BuildKit TestShellParserMandatoryEnvVars)', () => {
  const lex = new Lexer('\\');
  const set = envFromPairs({ VAR: 'plain', ARG: 'x' });
  const empty = envFromPairs({ VAR: '', ARG: 'x' });
  const unset = envFromPairs({ ARG: 'x' });
  const noEmpty = '${VAR:?message here$ARG}';
  const noUnset = '${VAR?message here$ARG}';
  it(':? accepts a set value and rejects empty or unset with the expanded message', () => {
    assert.equal(lex.processWord(noEmpty, set), 'plain');
    assert.throws(() => lex.processWord(noEmpty, empty), /VAR: message herex/);
    assert.throws(() => lex.processWord(noEmpty, unset), /VAR: message herex/);
  });
  it('? accepts set and empty values and rejects unset', () => {
    assert.equal(lex.processWord(noUnset, set), 'plain');
    assert.equal(lex.processWord(noUnset, empty), '');
    assert.throws(() => lex.processWord(noUnset, unset), /VAR: message herex/);
  });
  it('uses the default messages without a word', () => {
    assert.throws(() => lex.processWord('${X?}', unset), /X: is not allowed to be unset/);
    assert.throws(() => lex.processWord('${VAR:?}', empty), /VAR: is not allowed to be empty/);
  });
});

describe('Lexer: error messages', () => {
  const lex = new Lexer('\\');
  const env = envFromPairs({});
  const cases: Array<[string, RegExp]> = [
    ['"abc', /^failed to process "\\"abc": unexpected end of statement while looking for matching double-quote$/],
    ["'abc", /matching single-quote$/],
    ['${}', /syntax error: bad substitution$/],
    ['${a', /unsupported modifier \(\uFFFD\) in substitution$/],
    ['${a:-b', /syntax error: missing '}'$/],
    ['${a:=b}', /unsupported modifier \(:=\) in substitution$/],
    ['${a/b', /syntax error: missing '\/' in \$\{\}$/],
    ['${a#\\x}', /invalid pattern \(\\x\) in substitution: invalid escape '\\x'$/],
  ];
  for (const [word, re] of cases) {
    it(word, () => {
      assert.throws(() => lex.processWord(word, env), (err: unknown) => err instanceof InvalidArgumentError && re.test(err.message));
    });
  }
});

describe('Lexer options', () => {
  const env = envFromPairs({ A: 'a' });

  it('rawQuotes keeps quotes but still groups words', () => {
    const lex = new Lexer('\\');
    lex.rawQuotes = true;
    assert.equal(lex.processWord(`'x y' "$A"`, env), `'x y' "a"`);
    assert.deepEqual(lex.processWords(`'x y' "$A"`, env), [`'x y'`, `"a"`]);
  });

  it('rawEscapes keeps escape characters', () => {
    const lex = new Lexer('\\');
    lex.rawEscapes = true;
    assert.equal(lex.processWord('a\\ b\\$A', env), 'a\\ b\\$A');
    // inside double quotes an escape before a non-escapable character is written twice, as BuildKit does
    assert.equal(lex.processWord('"x\\y"', env), 'x\\\\y');
  });

  it('skipUnsetEnv leaves unset references as written', () => {
    const lex = new Lexer('\\');
    lex.skipUnsetEnv = true;
    assert.equal(lex.processWord('$A $B ${B} ${B:-x} ${B/p/r}', env), 'a $B ${B} ${B:-x} ${B/p/r}');
  });

  it('skipProcessQuotes treats quotes as ordinary characters', () => {
    const lex = new Lexer('\\');
    lex.skipProcessQuotes = true;
    assert.equal(lex.processWord(`'$A' "x"`, env), `'a' "x"`);
  });

  it('the backtick escape token escapes and leaves backslashes literal', () => {
    const lex = new Lexer('`');
    assert.equal(lex.processWord('c:\\dir`$A', env), 'c:\\dir$A');
    assert.equal(lex.processWord('"`"x"', env), '"x');
  });
});

describe('Lexer.processWords', () => {
  const env = envFromPairs({ SPACED: ' a  b ', EMPTY: '' });
  const lex = new Lexer('\\');
  it('splits on unquoted whitespace, including whitespace from variables', () => {
    assert.deepEqual(lex.processWords('x$SPACED y', env), ['x', 'a', 'b', 'y']);
    assert.deepEqual(lex.processWords('x"$SPACED"y', env), ['x a  b y']);
  });
  it('keeps the text before and after a nested default', () => {
    assert.deepEqual(lex.processWords('pre${NOPE:-in ner}post', env), ['prein', 'nerpost']);
  });
  it('drops empty quoted words like BuildKit', () => {
    assert.deepEqual(lex.processWords('a "" b', env), ['a', 'b']);
  });
  it('returns no words for blank input', () => {
    assert.deepEqual(lex.processWords('   ', env), []);
  });
});

describe('Lexer: misc BuildKit behaviours', () => {
  const lex = new Lexer('\\');
  const env = envFromPairs({ FOO: 'abc', U: 'ünï' });
  it('replaceAll follows Go regexp empty-match rules', () => {
    assert.equal(lex.processWord('${FOO//*/X}', env), 'X');
    // an empty pattern matches between every character
    assert.equal(lex.processWord('${FOO///-}', env), '-a-b-c-');
  });
  it('replaceAll expands $$ and $0 in the replacement like Go; a single replace does not', () => {
    const e = envFromPairs({ FOO: 'abcb', DD: '$$', Z: '[$0]', N: '$name' });
    assert.equal(lex.processWord('${FOO//b/$DD}', e), 'a$c$');
    assert.equal(lex.processWord('${FOO//b/$Z}', e), 'a[b]c[b]');
    assert.equal(lex.processWord('${FOO//b/$N}', e), 'ac');
    assert.equal(lex.processWord('${FOO/b/$Z}', e), 'a[$0]cb');
    // escapes stay in the replacement text (it is lexed with raw escapes)
    assert.equal(lex.processWord('${FOO//b/\\$\\$}', e), 'a\\$\\$c\\$\\$');
  });
  it('suffix and prefix removal work on code points', () => {
    assert.equal(lex.processWord('${U%?}', env), 'ün');
    assert.equal(lex.processWord('${U#?}', env), 'nï');
  });
  it('ignores a leading byte-order mark', () => {
    assert.equal(lex.processWord('\uFEFF$FOO', env), 'abc');
  });
});

describe('Lexer: linear time on hostile input', () => {
  const lex = new Lexer('\\');
  // A backtracking matcher would not finish these in any reasonable time: the runner's timeout
  // is a hang guard, not a speed assertion (speed is measured in bench/).
  it('patterns with many stars do not backtrack', { timeout: 60_000 }, () => {
    const env = envFromPairs({ V: 'a'.repeat(3000), P: '*a'.repeat(40) + 'b' });
    assert.equal(lex.processWord('${V#$P}', env), 'a'.repeat(3000));
    assert.equal(lex.processWord('${V%%$P}', env), 'a'.repeat(3000));
    assert.equal(lex.processWord('${V//$P/x}', env), 'a'.repeat(3000));
  });
  it('deeply nested substitutions fail cleanly instead of overflowing the stack', () => {
    const word = '${A:-'.repeat(5000) + 'x' + '}'.repeat(5000);
    assert.throws(() => lex.processWord(word, envFromPairs({})), /nested too deeply/);
    assert.equal(lex.processWord('${A:-'.repeat(50) + 'x' + '}'.repeat(50), envFromPairs({})), 'x');
  });
});

describe('reversePattern (BuildKit TestReversePattern)', () => {
  const cases: Array<[string, string]> = [
    ['a\\*c', 'c\\*a'],
    ['\\\\\\ab', 'b\\a\\\\'],
    ['ab\\', '\\ba'],
    ['👽\\🚀🖖', '🖖\\🚀👽'],
    ['\\\\b', 'b\\\\'],
  ];
  for (const [input, expected] of cases) {
    it(input, () => assert.equal(reversePattern(input), expected));
  }
});

describe('envFromPairs', () => {
  it('accepts pairs (last value wins) and records', () => {
    const e = envFromPairs([
      ['car', 'hat'],
      ['car', 'bike'],
      ['foo', ''],
    ]);
    assert.equal(e.get('car'), 'bike');
    assert.equal(e.get('foo'), '');
    assert.equal(e.get('nope'), undefined);
    assert.deepEqual(e.keys(), ['car', 'foo']);
    assert.equal(envFromPairs({ a: '1' }).get('a'), '1');
  });
});

describe('trimSpace', () => {
  it('trims Unicode whitespace like Go', () => {
    assert.equal(trimSpace('\u00a0\t x \u3000\n'), 'x');
    assert.equal(trimSpace('\ufeffx'), '\ufeffx');
  });
});

/**
 * Oracle for the pattern modifiers: BuildKit's own approach (shell pattern → regular
 * expression, leftmost-first), using JS RegExp, which has the same leftmost-first
 * semantics as Go's RE2 for these star/dot/literal expressions. Only fed small inputs.
 */
function oracle(op: string, value: string, pattern: string, repl: string): string {
  const toRe = (p: string, greedy: boolean, anchored: boolean): RegExp => {
    let out = anchored ? '^' : '';
    for (const c of p) {
      if (c === '*') out += greedy ? '[^\\n]*' : '[^\\n]*?';
      else if (c === '?') out += '[^\\n]';
      else out += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(out, 'u');
  };
  const rev = (s: string) => Array.from(s).reverse().join('');
  const prefix = (p: string, v: string, greedy: boolean) => {
    const m = toRe(p, greedy, true).exec(v);
    return m === null ? v : v.slice(m[0].length);
  };
  switch (op) {
    case '#':
      return prefix(pattern, value, false);
    case '##':
      return prefix(pattern, value, true);
    case '%':
      return rev(prefix(rev(pattern), rev(value), false));
    case '%%':
      return rev(prefix(rev(pattern), rev(value), true));
    case '/': {
      const m = toRe(pattern, true, false).exec(value);
      return m === null ? value : value.slice(0, m.index) + repl + value.slice(m.index + m[0].length);
    }
    default: {
      // Go ReplaceAllString loop (no `$` in repl here)
      const re = toRe(pattern, true, false);
      let out = '';
      let last = 0;
      let pos = 0;
      while (pos <= value.length) {
        const m = new RegExp(re.source, 'gu');
        m.lastIndex = pos;
        const r = m.exec(value);
        if (r === null) break;
        const a0 = r.index;
        const a1 = r.index + r[0].length;
        out += value.slice(last, a0);
        if (a1 > last || a0 === 0) out += repl;
        last = a1;
        pos = pos + 1 > a1 ? pos + 1 : a1;
      }
      return out + value.slice(last);
    }
  }
}

describe('Lexer pattern modifiers agree with leftmost-first regular expressions', () => {
  it('on 3,000 random small cases', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = (alphabet: string, max: number) => {
      let s = '';
      const len = rnd(max + 1);
      for (let i = 0; i < len; i++) s += alphabet[rnd(alphabet.length)];
      return s;
    };
    const lex = new Lexer('\\');
    for (let i = 0; i < 3000; i++) {
      const value = pick('abb\n', 8);
      const pattern = pick('ab*?', 5);
      const op = ['#', '##', '%', '%%', '/', '//'][rnd(6)] as string;
      const env = envFromPairs({ V: value, P: pattern });
      const word = op.startsWith('/') ? '${V' + op + '$P/X}' : '${V' + op + '$P}';
      assert.equal(lex.processWord(word, env), oracle(op, value, pattern, 'X'), `${JSON.stringify(value)} ${op} ${JSON.stringify(pattern)}`);
    }
  });
});
