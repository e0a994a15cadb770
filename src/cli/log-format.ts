import { prettyFactory, type MessageFormatFunc } from 'pino-pretty';

type Fields = Record<string, unknown>;

const num = (v: unknown): string => (typeof v === 'number' ? String(Math.round(v)) : '–');

/**
 * The request line in a few columns:
 * `200 gpt-4o-mini → openai-primary  12 in / 34 out tok  85 ms  completed`. An estimated count
 * is marked `~`; stream requests say `stream`; refused requests show method and path instead
 * of the model.
 */
export const formatRequest: MessageFormatFunc = (log: Fields, _messageKey, _level, { colors }) => {
  const status = typeof log.status === 'number' ? log.status : 0;
  const paint = status >= 500 || status === 0 ? colors.red : status >= 400 ? colors.yellow : colors.green;
  const what = log.model ? `${String(log.model)} → ${String(log.provider || '–')}` : `${String(log.method ?? '')} ${String(log.path ?? '')}`.trim();
  const est = log.tokens_estimated === true ? '~' : '';
  const tokens = log.tokens_in !== undefined || log.tokens_out !== undefined ? `  ${est}${num(log.tokens_in)} in / ${est}${num(log.tokens_out)} out tok` : '';
  const latency = typeof log.latency_ms === 'number' ? `  ${log.latency_ms < 10 ? log.latency_ms.toFixed(1) : Math.round(log.latency_ms)} ms` : '';
  const outcome = `${String(log.outcome ?? '')}${log.error_code ? ` ${String(log.error_code)}` : ''}`;
  return `${paint(String(status))} ${what}${log.stream === true ? ' stream' : ''}${tokens}${latency}  ${outcome}`;
};

/**
 * Turns the ext_proc's JSON log lines into one readable line each, for a terminal next to
 * `npm start`'s banner (pino-pretty does the parsing, time and level). Request lines become
 * formatRequest's columns; other lines keep their fields on the same line. Anything that is
 * not a JSON log line passes as it is. The returned text has no trailing newline.
 */
export function createLineFormatter(colorize: boolean): (line: string) => string {
  const common = { colorize, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service', singleLine: true } as const;
  const request = prettyFactory({ ...common, hideObject: true, messageFormat: formatRequest });
  const other = prettyFactory(common);
  return (line) => {
    if (!line.startsWith('{')) return line;
    const out = line.includes('"msg":"request"') ? request(line) : other(line);
    return out.replace(/\n$/, '');
  };
}
