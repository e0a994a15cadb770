import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { EXTPROC_NODE_FLAGS, extprocNodeArgs } from '../../src/cli/extproc-process.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

test('the image runs the compiled service with the same V8 flags as npm start, the tests and the benchmark', () => {
  const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  assert.ok(cmd, 'Dockerfile has an exec-form CMD');
  const argv = JSON.parse(cmd[1]!) as string[];
  assert.equal(argv[0], 'node');
  assert.deepEqual(argv.slice(1, 1 + EXTPROC_NODE_FLAGS.length), [...EXTPROC_NODE_FLAGS]);
  assert.equal(argv[1 + EXTPROC_NODE_FLAGS.length], 'dist/main.js');
});

test('source runs through tsx, compiled runs dist/main.js; both after the flags', () => {
  const src = extprocNodeArgs('source');
  assert.deepEqual(src.slice(0, EXTPROC_NODE_FLAGS.length), [...EXTPROC_NODE_FLAGS]);
  assert.ok(src.includes('tsx') && src.at(-1)!.endsWith(path.join('src', 'main.ts')));
  const compiled = extprocNodeArgs('compiled', ['--flag']);
  assert.deepEqual(compiled, ['--flag', path.join(ROOT, 'dist/main.js')]);
});
