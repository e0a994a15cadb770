import assert from 'node:assert/strict';

/**
 * Asserts every key path of `ours` exists in `theirs` (a recorded fixture value) with the same
 * JSON type, i.e. the simulator invents no fields and changes no types.
 */
export function assertSubShape(ours: unknown, theirs: unknown, at = '$'): void {
  if (theirs === null || ours === null) {
    assert.equal(ours === null, theirs === null, `${at}: null vs ${JSON.stringify(ours)}/${JSON.stringify(theirs)}`);
    return;
  }
  if (Array.isArray(theirs)) {
    assert.ok(Array.isArray(ours), `${at}: expected array`);
    if (ours.length > 0 && theirs.length > 0) assertSubShape(ours[0], theirs[0], `${at}[0]`);
    return;
  }
  if (typeof theirs === 'object') {
    assert.ok(typeof ours === 'object' && !Array.isArray(ours), `${at}: expected object`);
    const t = theirs as Record<string, unknown>;
    for (const [k, v] of Object.entries(ours as Record<string, unknown>)) {
      assert.ok(k in t, `${at}.${k}: not in the fixture`);
      assertSubShape(v, t[k], `${at}.${k}`);
    }
    return;
  }
  assert.equal(typeof ours, typeof theirs, `${at}: type`);
}

/** Asserts both values have the same key structure in both directions. */
export function assertSameShape(ours: unknown, theirs: unknown): void {
  assertSubShape(ours, theirs);
  assertSubShape(theirs, ours);
}
