import type Database from 'better-sqlite3';
import type { Db } from './sqlite.ts';
import { compareBuckets, type SpendBucket } from '../spend-history.ts';

type Row = { hour: number; team: string; provider: string; model: string; requests: number; tokens_in: number; tokens_out: number; tokens_cached: number; nano_usd: number };

/**
 * Spend history in the SQLite file (src/state/spend-history.ts): one row per hour, team,
 * provider and model, added to in one transaction per batch; rows past their retention are
 * deleted with each batch.
 */
export class EmbeddedSpendHistory {
  private readonly add: Database.Statement<[number, string, string, string, number, number, number, number, number]>;
  private readonly purge: Database.Statement<[number]>;
  private readonly read: Database.Statement<[number, number], Row>;
  private readonly addAll: (buckets: readonly SpendBucket[], keepBefore: number) => void;

  constructor(db: Db, private readonly now: () => number) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS spend_history (
        hour          INTEGER NOT NULL,
        team          TEXT NOT NULL,
        provider      TEXT NOT NULL,
        model         TEXT NOT NULL,
        requests      INTEGER NOT NULL,
        tokens_in     INTEGER NOT NULL,
        tokens_out    INTEGER NOT NULL,
        tokens_cached INTEGER NOT NULL,
        nano_usd      INTEGER NOT NULL,
        PRIMARY KEY (hour, team, provider, model)
      ) WITHOUT ROWID;
    `);
    this.add = db.prepare(
      'INSERT INTO spend_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hour, team, provider, model) DO UPDATE SET ' +
        'requests = requests + excluded.requests, tokens_in = tokens_in + excluded.tokens_in, tokens_out = tokens_out + excluded.tokens_out, ' +
        'tokens_cached = tokens_cached + excluded.tokens_cached, nano_usd = nano_usd + excluded.nano_usd',
    );
    this.purge = db.prepare('DELETE FROM spend_history WHERE hour < ?');
    this.read = db.prepare('SELECT * FROM spend_history WHERE hour >= ? AND hour < ? ORDER BY hour, team, provider, model');
    this.addAll = db.transaction((buckets: readonly SpendBucket[], keepBefore: number) => {
      for (const b of buckets) {
        if (b.hour < keepBefore) continue;
        this.add.run(b.hour, b.team, b.provider, b.model, b.requests, b.tokensIn, b.tokensOut, b.tokensCached, b.nanoUsd);
      }
      this.purge.run(keepBefore);
    });
  }

  addSpendHistory(buckets: readonly SpendBucket[], keepMs: number): void {
    // A bucket is kept while its hour's end is within keepMs.
    this.addAll(buckets, this.now() - keepMs - 3_600_000);
  }

  readSpendHistory(fromMs: number, toMs: number): SpendBucket[] {
    return this.read
      .all(fromMs, toMs)
      .map((r) => ({ hour: r.hour, team: r.team, provider: r.provider, model: r.model, requests: r.requests, tokensIn: r.tokens_in, tokensOut: r.tokens_out, tokensCached: r.tokens_cached, nanoUsd: r.nano_usd }))
      .sort(compareBuckets);
  }
}
