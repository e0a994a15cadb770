import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/errors.ts';

test('ConfigError: "file: where: problem", fields kept', () => {
  const err = new ConfigError('/etc/gw.yaml', 'models.x', 'bad');
  assert.equal(err.message, '/etc/gw.yaml: models.x: bad');
  assert.equal(err.name, 'ConfigError');
  assert.deepEqual([err.file, err.where, err.problem], ['/etc/gw.yaml', 'models.x', 'bad']);
  assert.ok(err instanceof Error);
});

test('ConfigError without a path leaves it out', () => {
  assert.equal(new ConfigError('f.yaml', '', 'cannot be read').message, 'f.yaml: cannot be read');
});

test('a ConfigError with a line reads file:line: path: problem', () => {
  const err = new ConfigError('gw.yaml', 'models.x', 'bad', 12);
  assert.equal(err.message, 'gw.yaml:12: models.x: bad');
  assert.equal(err.line, 12);
});
