/** A config file problem: which file, where in it, and what was expected. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly where: string,
    readonly problem: string,
    /** 1-based line in the file, when known: the message then starts `file:line:` as compilers' do. */
    readonly line?: number,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${where ? `${where}: ` : ''}${problem}`);
    this.name = 'ConfigError';
  }
}
