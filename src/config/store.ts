import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { readAndBuild } from './loader.ts';
import { buildRuntimeConfig, type RuntimeConfig } from './runtime.ts';
import type { GatewayConfigFile } from './schema.ts';

export interface ConfigEvents {
  onReload(config: RuntimeConfig): void;
  onRejected(err: unknown): void;
}

/**
 * Holds the current config and swaps it on a valid change to the file. A request keeps the
 * snapshot it started with, so a reload never changes a request in flight. An invalid file is
 * refused and the last good config keeps serving.
 */
export class ConfigStore {
  private currentConfig: RuntimeConfig;
  /** The file's validated content behind currentConfig: what rebuild() compiles again. */
  private currentFile: GatewayConfigFile;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private version = 1;

  constructor(
    private readonly file: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    const { parsed, config } = readAndBuild(file, env, this.version);
    this.currentFile = parsed;
    this.currentConfig = config;
  }

  get current(): RuntimeConfig {
    return this.currentConfig;
  }

  /** Re-reads the file now; returns whether the new config was applied. */
  reload(events?: ConfigEvents): boolean {
    try {
      const { parsed, config: next } = readAndBuild(this.file, this.env, this.version + 1);
      this.version += 1;
      this.currentFile = parsed;
      this.currentConfig = next;
      events?.onReload(next);
      return true;
    } catch (err) {
      events?.onRejected(err);
      return false;
    }
  }

  /**
   * Builds the config in force again and swaps it in, for a new price table
   * (src/pricing/refresh.ts): every target's catalogue price is looked up again. It compiles the
   * last good file content, not the file on disk: a change the reload refused (or one not yet
   * reloaded) must neither fail a price refresh nor slip in through it. Throws the ConfigError
   * (and keeps the current config) when the new prices do not compile.
   */
  rebuild(): RuntimeConfig {
    const next = buildRuntimeConfig(this.currentFile, this.file, this.env, this.version + 1);
    this.version += 1;
    this.currentConfig = next;
    return next;
  }

  /** Watches the directory, not the file: editors and ConfigMaps replace files by rename. */
  watch(events: ConfigEvents): void {
    const dir = path.dirname(path.resolve(this.file));
    const base = path.basename(this.file);
    this.watcher = watch(dir, (_event, name) => {
      if (name !== null && name !== base && !name.startsWith('..')) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => this.reload(events), 100);
    });
    this.watcher.unref();
  }

  close(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
  }
}
