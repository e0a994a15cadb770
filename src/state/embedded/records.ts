import type Database from 'better-sqlite3';
import type { Db } from './sqlite.ts';

/**
 * Records in the SQLite file (admin-created keys must survive a restart; thinking blocks may as
 * well). Expired rows are invisible at once and deleted lazily: on read and every 1,000 writes.
 */
export class EmbeddedRecords {
  private readonly put: Database.Statement<[string, string, string, number | null]>;
  private readonly get: Database.Statement<[string, string, number], { value: string }>;
  private readonly del: Database.Statement<[string, string]>;
  private readonly list: Database.Statement<[string, number], { id: string; value: string }>;
  private readonly purge: Database.Statement<[number]>;
  private writes = 0;

  constructor(
    db: Db,
    private readonly now: () => number,
  ) {
    this.put = db.prepare(
      'INSERT INTO records (namespace, id, value, expires_at) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (namespace, id) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at',
    );
    this.get = db.prepare('SELECT value FROM records WHERE namespace = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)');
    this.del = db.prepare('DELETE FROM records WHERE namespace = ? AND id = ?');
    this.list = db.prepare(
      'SELECT id, value FROM records WHERE namespace = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY id',
    );
    this.purge = db.prepare('DELETE FROM records WHERE expires_at IS NOT NULL AND expires_at <= ?');
  }

  putRecord(namespace: string, id: string, value: string, ttlMs: number | undefined): void {
    const now = this.now();
    this.put.run(namespace, id, value, ttlMs === undefined ? null : now + ttlMs);
    if (++this.writes >= 1000) {
      this.writes = 0;
      this.purge.run(now);
    }
  }

  getRecord(namespace: string, id: string): string | undefined {
    return this.get.get(namespace, id, this.now())?.value;
  }

  /** True when a live record was deleted. */
  deleteRecord(namespace: string, id: string): boolean {
    const live = this.getRecord(namespace, id) !== undefined;
    this.del.run(namespace, id);
    return live;
  }

  listRecords(namespace: string): Array<{ id: string; value: string }> {
    return this.list.all(namespace, this.now()).map((r) => ({ id: r.id, value: r.value }));
  }
}
