import { DEFAULT_PATHS, type PathId } from './paths.ts';
import type { Profile } from './profiles.ts';
import { EXTPROC_NODE_FLAGS } from '../src/cli/extproc-process.ts';

export type Mode = 'full' | 'quick';

/** How long and how often everything runs. Slices of all paths are interleaved round by round. */
export interface Settings {
  mode: Mode;
  /** Rounds of the saturation and concurrency-1 slices (each round visits every path). */
  rounds: number;
  /** Rounds per open-loop rate. */
  rateRounds: number;
  /** Streams per path for the stream probe (one per path per round). */
  probeRounds: number;
  warmupS: number;
  satS: number;
  c1S: Record<Exclude<Profile['id'], 'stream64'>, number>;
  rateS: number;
  /** Idle time between two slices. */
  pauseMs: number;
  envoyConcurrency: number;
  paths: PathId[];
  profiles: Array<Profile['id']>;
  /** V8 flags of the compiled ext_proc service (EXTPROC_NODE_FLAGS unless --extproc-flags). */
  extprocFlags: string[];
  /** Envoy → ext_proc over a Unix domain socket (--extproc-uds); loopback TCP when absent. */
  extprocUds?: boolean;
}

export function settingsFor(mode: Mode, cores: number): Settings {
  const paths = [...DEFAULT_PATHS];
  const profiles: Array<Profile['id']> = ['instant', 'latency60', 'stream64'];
  const envoyConcurrency = Math.max(1, cores);
  if (mode === 'quick') {
    return { mode, rounds: 1, rateRounds: 1, probeRounds: 2, warmupS: 0.2, satS: 0.3, c1S: { instant: 0.3, latency60: 0.4 }, rateS: 0.3, pauseMs: 50, envoyConcurrency, paths, profiles, extprocFlags: [...EXTPROC_NODE_FLAGS] };
  }
  return { mode, rounds: 3, rateRounds: 2, probeRounds: 10, warmupS: 2, satS: 4, c1S: { instant: 3, latency60: 4 }, rateS: 3, pauseMs: 300, envoyConcurrency, paths, profiles, extprocFlags: [...EXTPROC_NODE_FLAGS] };
}
