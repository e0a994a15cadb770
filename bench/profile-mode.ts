import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Clients, openLoop, saturate } from './load.ts';
import { ALL_PATHS, requestFor, type PathId } from './paths.ts';
import { profilesFor, type Profile } from './profiles.ts';
import { startTopology } from './topology.ts';

export interface ProfileOptions {
  runDir: string;
  outDir: string;
  seconds: number;
  envoyConcurrency: number;
  stamp: string;
  log: (m: string) => void;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  fn: string;
  where: string;
  category: string;
  ms: number;
  share: number;
}

function category(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const src = /\/(src|bench|dist)\/(.+)$/.exec(url);
  if (src) return `${src[1]}/${src[2]!.split('/').slice(0, -1).join('/') || '.'}`;
  if (url.startsWith('node:')) return 'node core';
  return url;
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = /\/((?:src|bench|dist)\/.+)$/.exec(url);
  return src ? src[1]! : url.replace(/^file:\/\//, '');
}

/**
 * Self time per function from a .cpuprofile, counting only samples inside [fromUs, toUs] of
 * the profile's monotonic clock (the load window). Idle time is left out of the shares.
 */
export function topSelfTime(prof: CpuProfile, fromUs = -Infinity, toUs = Infinity): { busyMs: number; idleMs: number; functions: SelfTime[]; categories: Array<{ category: string; ms: number; share: number }> } {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { fn: string; where: string; category: string; us: number }>();
  let t = prof.startTime;
  let idle = 0;
  let busy = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const dt = prof.timeDeltas[i + 1] ?? 0;
    const node = byId.get(prof.samples[i]!);
    if (!node) continue;
    const cf = node.callFrame;
    const fn = cf.functionName || '(anonymous)';
    if (fn === '(idle)') {
      idle += dt;
      continue;
    }
    busy += dt;
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${fn}@${where}`;
    const e = self.get(key) ?? { fn, where, category: category(cf.url, fn), us: 0 };
    e.us += dt;
    self.set(key, e);
  }
  const functions = [...self.values()].sort((a, b) => b.us - a.us).map((e) => ({ fn: e.fn, where: e.where, category: e.category, ms: Math.round(e.us / 100) / 10, share: busy > 0 ? Math.round((e.us / busy) * 1000) / 10 : 0 }));
  const cats = new Map<string, number>();
  for (const e of self.values()) cats.set(e.category, (cats.get(e.category) ?? 0) + e.us);
  const categories = [...cats.entries()].sort((a, b) => b[1] - a[1]).map(([c, us]) => ({ category: c, ms: Math.round(us / 100) / 10, share: busy > 0 ? Math.round((us / busy) * 1000) / 10 : 0 }));
  return { busyMs: Math.round(busy / 1000), idleMs: Math.round(idle / 1000), functions, categories };
}

const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * `--profile`: the ext_proc under `node --cpu-prof`, loaded through the full gateway (instant
 * JSON at saturation on both providers, then streams open loop), then stopped so the profile is
 * written; reports the top self-time functions of the load window.
 */
export async function runProfile(o: ProfileOptions): Promise<number> {
  const profDir = path.join(o.runDir, 'cpuprofile');
  mkdirSync(profDir, { recursive: true });
  o.log(`bench: CPU profile of the ext_proc, ${o.seconds} s per scenario (logs in ${o.runDir})`);
  const topo = await startTopology({ runDir: o.runDir, envoyConcurrency: o.envoyConcurrency, extprocNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`], log: o.log });
  const clients = new Clients();
  const profiles = profilesFor(false);
  const spec = (p: PathId, prof: Profile['id']) => requestFor(ALL_PATHS.find((x) => x.id === p)!, profiles.find((x) => x.id === prof)!, topo);
  const lines: string[] = [];
  let from = 0;
  let to = 0;
  try {
    await saturate(spec('gateway-openai', 'instant'), 32, 3);
    await saturate(spec('gateway-anthropic', 'instant'), 32, 3);
    from = monoUs();
    for (const p of ['gateway-openai', 'gateway-anthropic'] as const) {
      const r = await saturate(spec(p, 'instant'), 64, o.seconds);
      lines.push(`- ${p}/instant, closed loop 64 connections, ${o.seconds} s: ${Math.round(r.rps)} rps, ${r.non2xx + r.errors} failed`);
      o.log(lines.at(-1)!);
    }
    for (const p of ['gateway-openai', 'gateway-anthropic'] as const) {
      const r = await openLoop(clients.pool(topo.gateway.url), spec(p, 'stream64'), 100, o.seconds);
      lines.push(`- ${p}/stream64, open loop 100 streams/s, ${o.seconds} s: ${r.ok}/${r.sent} ok`);
      o.log(lines.at(-1)!);
    }
    to = monoUs();
  } finally {
    await clients.close();
    // SIGTERM: the service stops cleanly and node writes the profile on exit.
    await topo.gateway.extproc.stop(15_000);
    await topo.stop();
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    o.log('bench: no .cpuprofile was written');
    return 1;
  }
  const prof = JSON.parse(readFileSync(path.join(profDir, file), 'utf8')) as CpuProfile;
  let top = topSelfTime(prof, from, to);
  let window = 'load window only';
  if (top.busyMs === 0) {
    top = topSelfTime(prof);
    window = 'whole process (the load window did not match the profile clock)';
  }
  const md = [
    `# ext_proc CPU profile, ${o.stamp}`,
    '',
    ...lines,
    '',
    `Self time, ${window}: ${top.busyMs} ms busy, ${top.idleMs} ms idle. Shares are of busy time.`,
    '',
    '## By package / source folder',
    '',
    '| category | self ms | share |',
    '| --- | ---: | ---: |',
    ...top.categories.slice(0, 20).map((c) => `| ${c.category} | ${c.ms} | ${c.share}% |`),
    '',
    '## Top 40 functions by self time',
    '',
    '| # | function | where | self ms | share |',
    '| ---: | --- | --- | ---: | ---: |',
    ...top.functions.slice(0, 40).map((f, i) => `| ${i + 1} | \`${f.fn}\` | ${f.where || f.category} | ${f.ms} | ${f.share}% |`),
  ].join('\n');
  const dest = path.join(o.outDir, `profile-${o.stamp}`);
  copyFileSync(path.join(profDir, file), `${dest}.cpuprofile`);
  writeFileSync(`${dest}.md`, `${md}\n`);
  process.stdout.write(`${md}\n`);
  o.log(`bench: wrote ${dest}.md and ${dest}.cpuprofile (open it in Chrome DevTools → Performance)`);
  rmSync(o.runDir, { recursive: true, force: true });
  return 0;
}
