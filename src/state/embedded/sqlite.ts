import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/**
 * The embedded backend's durable part: one SQLite file (better-sqlite3, synchronous) for what
 * must survive a restart: settled spend and records (admin-created keys, thinking blocks).
 *
 * WAL with `synchronous = NORMAL`: a committed transaction survives the process crashing or
 * being killed (the WAL is in the OS's hands); a power loss or kernel crash may lose the last
 * transactions before a checkpoint. FULL would fsync every settlement (milliseconds each), which
 * the per-request budget of the embedded policies (≤ 0.05 ms) cannot pay.
 */
export type Db = Database.Database;

export function openDb(file: string): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 1000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS spend (
      partition TEXT NOT NULL,
      subject   TEXT NOT NULL,
      period    TEXT NOT NULL,
      nano_usd  INTEGER NOT NULL,
      PRIMARY KEY (partition, subject, period)
    ) WITHOUT ROWID;
    -- One row per settled reservation (spend-ledger.ts): keyed by its expiry first, so each insert
    -- lands at the right edge of the B-tree (one page), not at a random leaf as a key of request
    -- ids would. Files written before it have spend_settled (request_id key), read until empty.
    CREATE TABLE IF NOT EXISTS spend_settled_by_expiry (
      expires_at INTEGER NOT NULL,
      request_id TEXT NOT NULL,
      settled_at INTEGER NOT NULL,
      PRIMARY KEY (expires_at, request_id)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS records (
      namespace  TEXT NOT NULL,
      id         TEXT NOT NULL,
      value      TEXT NOT NULL,
      expires_at INTEGER,
      PRIMARY KEY (namespace, id)
    ) WITHOUT ROWID;
  `);
  return db;
}
