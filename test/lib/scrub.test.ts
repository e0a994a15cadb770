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
    "Invalid value at 'contents[0].parts[0].generation_config.response_schema' (type.googleapis)",
    'messages.1.content.0.image.source.base64: invalid base64 data',
    'claude-sonnet-4.5 and gemini-2.5-flash and o1-pro and 1.5 seconds',
    'The organization must be verified to stream this model.',
  ]) {
    assert.equal(scrubSecrets(text), text);
  }
});

test('URLs go whole (with any key= in them); a bare key= parameter is redacted too', () => {
  assert.equal(scrubSecrets('GET https://generativelanguage.googleapis.com/v1beta/models?alt=sse&key=abc123 failed'), 'GET [redacted] failed');
  assert.equal(scrubSecrets('path /v1/models?alt=sse&key=abc123 failed'), 'path /v1/models?alt=sse&key=[redacted] failed');
});

test('host names, IP addresses and account or project ids are redacted', () => {
  const cases: Array<[string, string]> = [
    ['upstream connect error to api.openai.com:443', 'upstream connect error to [redacted]'],
    ['via generativelanguage.googleapis.com', 'via [redacted]'],
    ['proxy llm-egress.prod.svc.cluster.local refused', 'proxy [redacted] refused'],
    ['proxy gw.corp.internal refused', 'proxy [redacted] refused'],
    ['at 10.12.0.7:8080 and localhost:50051', 'at [redacted] and [redacted]'],
    ['in organization org-AbCdEf1234567890 on tokens', 'in organization [redacted] on tokens'],
    ['project proj_AbCdEf1234567890 limit', 'project [redacted] limit'],
    ['project proj_AbC123xyz limit', 'project [redacted] limit'],
    ['from 2001:db8::1 and [fe80::1%eth0]:443 at 12:30:45', 'from [redacted] and [[redacted]]:443 at 12:30:45'],
    ['std::vector stays', 'std::vector stays'],
    ['from ::ffff:10.0.0.1 now', 'from [redacted] now'],
    ['use key=abcdEFGH1234567890ijklMNOP or api_key=xyz', 'use key=[redacted] or api_key=[redacted]'],
    ["consumer 'projects/812345678901'", "consumer '[redacted]'"],
    ['consumer project_number:812345678901.', 'consumer [redacted].'],
    ['used in project 812345678901 before', 'used in [redacted] before'],
  ];
  for (const [input, expected] of cases) assert.equal(scrubSecrets(input), expected, input);
});

test('long plain words survive; long mixed tokens do not', () => {
  const word = 'a'.repeat(40);
  assert.equal(scrubSecrets(`x ${word} y`), `x ${word} y`);
  assert.equal(scrubSecrets(`id ${'ab12'.repeat(10)} y`), 'id [redacted] y');
});

test('every occurrence is redacted', () => {
  assert.equal(scrubSecrets('sk-aaaaaaaaaa and sk-bbbbbbbbbb'), '[redacted] and [redacted]');
});
