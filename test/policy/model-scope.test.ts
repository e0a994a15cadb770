import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileScope, globMatch, MODEL_PATTERN_RE, UNRESTRICTED_SCOPE } from '../../src/policy/model-scope.ts';

describe('globMatch', () => {
  test('* is any run of characters, also none; everything else is itself', () => {
    assert.equal(globMatch('gpt-4o*', 'gpt-4o'), true);
    assert.equal(globMatch('gpt-4o*', 'gpt-4o-mini'), true);
    assert.equal(globMatch('gemini-*-flash*', 'gemini-2.5-flash'), true);
    assert.equal(globMatch('gemini-*-flash*', 'gemini-2.5-flash-lite'), true);
    assert.equal(globMatch('gemini-*-flash*', 'gemini-2.5-pro'), false);
    assert.equal(globMatch('*', 'anything'), true);
    assert.equal(globMatch('a*b', 'ab'), true);
    assert.equal(globMatch('a*b', 'abc'), false);
    assert.equal(globMatch('gpt.4o', 'gpt-4o'), false, '. is a literal dot, not any character');
  });

  test('a pattern of many stars against a long name that fails stays fast (no backtracking blow-up)', () => {
    // Bounded work is the point: with a backtracking regular expression this shape is exponential.
    assert.equal(globMatch('a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(256)), false);
  });
});

describe('compileScope', () => {
  const scope = compileScope(['gpt-4o-mini', 'gemini-*-flash*', 'cheap']);

  test('exact and case-sensitive: a case change is another, unknown name', () => {
    assert.equal(scope.matches('gpt-4o-mini'), true);
    assert.equal(scope.matches('GPT-4o-mini'), false);
    assert.equal(scope.matches('gpt-4O-mini'), false);
    assert.equal(scope.matches('Gemini-2.5-flash'), false);
  });

  test('unicode look-alikes never match: Cyrillic о, fullwidth letters, a zero-width space', () => {
    assert.equal(scope.matches('gpt-4\u043e-mini'), false, 'Cyrillic о in gpt-4о-mini');
    assert.equal(scope.matches('\uff47pt-4o-mini'), false, 'fullwidth ｇ');
    assert.equal(scope.matches('gemini-2.5-fl\u0430sh'), false, 'Cyrillic а under a glob');
    assert.equal(scope.matches('gemini-\u00e9-flash'), false, 'a glob does not match a non-ASCII run');
    assert.equal(scope.matches('gpt-4o\u200b-mini'), false);
  });

  test('URL-encoded names are not decoded: %2D is not -', () => {
    assert.equal(scope.matches('gpt%2D4o-mini'), false);
    assert.equal(scope.matches('gemini-%2D-flash'), false, 'not even where a glob could take the bytes');
  });

  test('trailing or leading spaces, control characters and the empty name match nothing', () => {
    assert.equal(scope.matches('gpt-4o-mini '), false);
    assert.equal(scope.matches(' gpt-4o-mini'), false);
    assert.equal(scope.matches('gpt-4o-mini\n'), false);
    assert.equal(scope.matches(''), false);
    assert.equal(compileScope(['*']).matches(''), false);
    assert.equal(compileScope(['*']).matches('x'.repeat(257)), false, 'longer than any name');
  });

  test('namesLiterally: only a pattern without wildcards names a name', () => {
    assert.equal(scope.namesLiterally('cheap'), true);
    assert.equal(scope.namesLiterally('gpt-4o-mini'), true);
    assert.equal(scope.namesLiterally('gemini-2.5-flash'), false, 'matched by a glob, not named');
    assert.equal(compileScope(['ch*']).namesLiterally('cheap'), false);
  });

  test('equal pattern sets share an id; unrestricted is its own', () => {
    assert.equal(compileScope(['b', 'a', 'a']).id, compileScope(['a', 'b']).id);
    assert.notEqual(compileScope(['a']).id, compileScope(['b']).id);
    assert.equal(compileScope(undefined), UNRESTRICTED_SCOPE);
    assert.equal(UNRESTRICTED_SCOPE.matches('whatever'), true);
  });

  test('patterns outside the safe character set are refused', () => {
    for (const bad of ['gpt-4\u043e', 'gpt 4o', 'gpt-4o?', 'gpt%2D4o', '[gpt]', '', 'ｇpt']) {
      assert.equal(MODEL_PATTERN_RE.test(bad), false, bad);
      assert.throws(() => compileScope([bad]), /invalid model pattern/);
    }
    for (const ok of ['gpt-4o-mini', 'org/model:tag', 'gemini-*-flash*', '*', 'a.b_c@d+e']) assert.equal(MODEL_PATTERN_RE.test(ok), true, ok);
  });
});
