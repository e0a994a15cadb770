import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat utime/stime (100 on every Linux we run on). */
const CLK_TCK = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

export interface ProcReading {
  /** utime + stime, seconds. */
  cpuS: number;
  rssMB: number;
  /** Peak RSS (VmHWM) since the process started. */
  hwmMB: number;
}

/** One reading of /proc/<pid>; undefined once the process is gone. */
export function readProc(pid: number): ProcReading | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuS = (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { cpuS, rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

export type CpuSnapshot = Record<string, number>;

/**
 * Watches a fixed set of processes: CPU snapshots on demand (deltas are attributed to the
 * slice that ran between them) and RSS sampled on a timer, keeping each one's peak and a
 * coarse timeline (for the soak).
 */
export class ProcessSampler {
  readonly peakRssMB: Record<string, number> = {};
  readonly timeline: Array<{ t: number; rssMB: Record<string, number> }> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly t0 = Date.now();

  constructor(private readonly pids: Readonly<Record<string, number>>) {}

  cpu(): CpuSnapshot {
    const out: CpuSnapshot = {};
    for (const [name, pid] of Object.entries(this.pids)) out[name] = readProc(pid)?.cpuS ?? Number.NaN;
    return out;
  }

  /** CPU seconds each process used between two snapshots. */
  static delta(a: CpuSnapshot, b: CpuSnapshot): CpuSnapshot {
    const out: CpuSnapshot = {};
    for (const k of Object.keys(b)) out[k] = (b[k] ?? Number.NaN) - (a[k] ?? Number.NaN);
    return out;
  }

  sampleRss(keepTimeline = false): Record<string, number> {
    const rss: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const r = readProc(pid);
      if (!r) continue;
      rss[name] = Math.round(r.rssMB * 10) / 10;
      this.peakRssMB[name] = Math.max(this.peakRssMB[name] ?? 0, r.rssMB, Number.isFinite(r.hwmMB) ? r.hwmMB : 0);
    }
    if (keepTimeline) this.timeline.push({ t: Math.round((Date.now() - this.t0) / 100) / 10, rssMB: rss });
    return rss;
  }

  start(intervalMs: number, keepTimeline = false): void {
    this.sampleRss(keepTimeline);
    this.timer = setInterval(() => this.sampleRss(keepTimeline), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sampleRss();
  }
}
