/**
 * A key's model scope: the public model names (and alias names) it may use, as glob patterns
 * from gateway.yaml `keys[].models`. Matching is exact and case-sensitive, on the characters of
 * MODEL_NAME_CHARS only: nothing is normalized (no case folding, no Unicode NFKC, no percent
 * decoding), because every normalization widens what a pattern grants. A name with any other
 * character (a Cyrillic 'о', a fullwidth letter, '%', a space) matches no pattern at all.
 */

/** Characters a model name, an alias name and a scope pattern may hold (ASCII only). */
export const MODEL_NAME_CHARS = 'A-Za-z0-9._:/@+-';
/** A public model or alias name as gateway.yaml may declare it. */
export const MODEL_NAME_RE = new RegExp(`^[${MODEL_NAME_CHARS}]{1,256}$`);
/** A scope pattern: the name characters plus `*` (any run of name characters, also none). */
export const MODEL_PATTERN_RE = new RegExp(`^[*${MODEL_NAME_CHARS}]{1,256}$`);

/** Longest name a pattern is matched against; longer names match nothing (and exist nowhere). */
const MAX_NAME = 256;

export interface ModelScope {
  /** True when the key may use every model (no `models:` in its config). */
  readonly unrestricted: boolean;
  /** The patterns as configured, deduplicated and sorted; empty when unrestricted. */
  readonly patterns: readonly string[];
  /** Cache key for what this scope sees (pre-rendered model lists): equal scopes share one. */
  readonly id: string;
  /** Whether some pattern matches `name` as a glob (canonical model names). */
  matches(name: string): boolean;
  /** Whether some pattern is exactly `name`, without wildcards (the only way an alias name is granted). */
  namesLiterally(name: string): boolean;
}

/** The scope of a key without `models:`: everything. */
export const UNRESTRICTED_SCOPE: ModelScope = Object.freeze({
  unrestricted: true,
  patterns: Object.freeze([]) as readonly string[],
  id: '*',
  matches: () => true,
  namesLiterally: () => true,
});

/**
 * Compiles validated patterns (MODEL_PATTERN_RE; the config schema refuses others) into a scope.
 * Throws on a pattern outside the safe character set, so a caller of this function cannot
 * build a scope the config would have refused.
 */
export function compileScope(patterns: readonly string[] | undefined): ModelScope {
  if (patterns === undefined) return UNRESTRICTED_SCOPE;
  const unique = [...new Set(patterns)].sort();
  for (const p of unique) {
    if (!MODEL_PATTERN_RE.test(p)) throw new Error(`invalid model pattern ${JSON.stringify(p)}`);
  }
  const literals = new Set(unique.filter((p) => !p.includes('*')));
  const globs = unique.filter((p) => p.includes('*'));
  return Object.freeze({
    unrestricted: false,
    patterns: Object.freeze(unique),
    id: JSON.stringify(unique),
    matches: (name: string) => isSafeName(name) && (literals.has(name) || globs.some((g) => globMatch(g, name))),
    namesLiterally: (name: string) => isSafeName(name) && literals.has(name),
  });
}

function isSafeName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME && MODEL_NAME_RE.test(name);
}

/**
 * `*` matches any run of characters (the name is already known to hold only safe ones), every
 * other character itself. Iterative with one backtrack point: O(pattern × name) at worst, no
 * regular expression, so no catastrophic backtracking on `a*a*a*…b`.
 */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = n;
    } else if (star !== -1) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
