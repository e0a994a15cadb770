import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scrubSecrets } from '../../src/lib/scrub.ts';

test('provider keys, bearer tokens and long opaque tokens are redacted', () => {
  const cases: Array<[string, string]> = [
    ['Incorrect API key provided: sk-proj-AbCdEf123456.', 'Incorrect API key provided: [redacted].'],
    ['key sk-ant-api03-abcdefgh_ijkl-mnop was rejected', 'key [redacted] was rejected'],
    ['API key AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv not valid', 'API key [redacted] not valid'],
    ['header was Bearer abc.def-ghi_123', 'header was [redacted]'],
    [`token ${'x9'.repeat(25)} end`, 'token [redacted] end'],
  ];
  for (const [input, expected] of cases) assert.equal(scrubSecrets(input), expected);
});

test('ordinary error text is left alone', () => {
  for (const text of [
    "Invalid value for 'temperature': must be at most 2.",
    'This model maximum context length is 128000 tokens.',
    'Rate limit reached for gpt-4.1-mini on tokens per min (TPM). Please try again in 336ms.',
    'sk- alone is fine',
  ]) {
    assert.equal(scrubSecrets(text), text);
  }
});

test('a key= query parameter echoed back is redacted, the rest of the URL kept', () => {
  assert.equal(
    scrubSecrets('GET https://generativelanguage.googleapis.com/v1beta/models?alt=sse&key=abc123 failed'),
    'GET https://generativelanguage.googleapis.com/v1beta/models?alt=sse&key=[redacted] failed',
  );
});

test('long plain words survive; long mixed tokens do not', () => {
  const word = 'a'.repeat(40);
  assert.equal(scrubSecrets(`x ${word} y`), `x ${word} y`);
  assert.equal(scrubSecrets(`id ${'ab12'.repeat(10)} y`), 'id [redacted] y');
});

test('every occurrence is redacted', () => {
  assert.equal(scrubSecrets('sk-aaaaaaaaaa and sk-bbbbbbbbbb'), '[redacted] and [redacted]');
});
