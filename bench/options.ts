/**
 * `npm run bench` option checks, a pure function of parseArgs' values: a mode's own options need their mode,
 * fixed-path modes refuse path selections, numbers are in range. Throws `UsageError` (one line naming the
 * option); bench/run.ts prints it and exits 2 before anything starts.
 */

/** A bad command line: printed as one line, exit code 2, no stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The raw values this checks (strings as typed; booleans for the modes). */
export interface BenchArgs {
  quick?: boolean;
  soak?: boolean;
  'soak-redis'?: boolean;
  'soak-minutes'?: string;
  tail?: boolean;
  'tail-seconds'?: string;
  profile?: boolean;
  'profile-seconds'?: string;
  'head-of-line'?: boolean;
  'head-of-line-seconds'?: string;
  'limits-off'?: boolean;
  anchors?: boolean;
  'anchors-seconds'?: string;
  'anchors-rounds'?: string;
  paths?: string;
  profiles?: string;
  policies?: boolean;
  'envoy-concurrency'?: string;
}

/** The numbers, checked; undefined = the mode's default. Seconds (s) and minutes (min) as the options say. */
export interface BenchNumbers {
  soakMinutes?: number;
  tailSeconds?: number;
  profileSeconds?: number;
  headOfLineSeconds?: number;
  anchorsSeconds?: number;
  anchorsRounds?: number;
  envoyConcurrency?: number;
}

/** Shortest soak: the verdicts compare the first settled minute with the last one (bench/soak-verdict.ts). */
export const SOAK_MIN_MINUTES = 2;
/** Shortest anchors slice: below it the c=1 and stream rows hold a handful of samples. */
export const ANCHORS_MIN_SLICE_S = 0.5;

function num(name: string, raw: string | undefined, o: { integer?: boolean; min: number; minText?: string }): number | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim() === '' ? Number.NaN : Number(raw);
  const ok = Number.isFinite(v) && (!o.integer || Number.isInteger(v)) && (o.minText ? v >= o.min : v > o.min);
  if (!ok) throw new UsageError(`--${name} takes ${o.integer ? 'a whole number' : 'a number'} ${o.minText ?? `> ${o.min}`}, not "${raw}"`);
  return v;
}

/** Checks the options against each other and their ranges; throws UsageError on the first problem. */
export function checkBenchArgs(a: BenchArgs): BenchNumbers {
  const soakMode = a.soak === true || a['soak-redis'] === true;
  const needs: Array<[keyof BenchArgs, boolean, string]> = [
    ['soak-minutes', soakMode, '--soak or --soak-redis'],
    ['tail-seconds', a.tail === true, '--tail'],
    ['profile-seconds', a.profile === true, '--profile'],
    ['head-of-line-seconds', a['head-of-line'] === true, '--head-of-line'],
    ['limits-off', a['head-of-line'] === true, '--head-of-line'],
    ['anchors-seconds', a.anchors === true, '--anchors'],
    ['anchors-rounds', a.anchors === true, '--anchors'],
  ];
  for (const [opt, modeOn, mode] of needs) {
    const given = a[opt] !== undefined && a[opt] !== false;
    if (given && !modeOn) throw new UsageError(`--${opt} needs ${mode} (without it the full benchmark would start)`);
  }
  const fixed = a.anchors ? '--anchors' : soakMode ? (a.soak ? '--soak' : '--soak-redis') : a.tail ? '--tail' : a.profile ? '--profile' : a['head-of-line'] ? '--head-of-line' : undefined;
  if (fixed) {
    for (const opt of ['paths', 'profiles', 'policies'] as const) {
      if (a[opt] !== undefined && a[opt] !== false) throw new UsageError(`--${opt} does not apply to ${fixed}: that mode measures fixed paths`);
    }
  }
  return {
    soakMinutes: num('soak-minutes', a['soak-minutes'], { min: SOAK_MIN_MINUTES, minText: `≥ ${SOAK_MIN_MINUTES} (the verdicts need a settled minute and a last minute)` }),
    tailSeconds: num('tail-seconds', a['tail-seconds'], { min: 0 }),
    profileSeconds: num('profile-seconds', a['profile-seconds'], { min: 0 }),
    headOfLineSeconds: num('head-of-line-seconds', a['head-of-line-seconds'], { min: 0 }),
    anchorsSeconds: num('anchors-seconds', a['anchors-seconds'], { min: ANCHORS_MIN_SLICE_S, minText: `≥ ${ANCHORS_MIN_SLICE_S}` }),
    anchorsRounds: num('anchors-rounds', a['anchors-rounds'], { integer: true, min: 0 }),
    envoyConcurrency: num('envoy-concurrency', a['envoy-concurrency'], { integer: true, min: 0 }),
  };
}

/** One line for a parseArgs error (unknown option, a value starting with a dash): its first line, with the `=` hint. */
export function parseArgsErrorLine(err: Error & { code?: string }): string {
  const first = err.message.split('\n')[0]!;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const opt = /'(--[\w-]+)'/.exec(err.message)?.[1] ?? '--option';
    return `${opt} needs a value; a value starting with a dash goes as ${opt}=VALUE`;
  }
  return first;
}
