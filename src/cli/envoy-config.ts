import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Renders envoy/envoy.yaml's {{NAME}} placeholders (ports, certificate paths). Every
 * placeholder must be given a value: a leftover is an error, not a silently broken Envoy.
 */
export function renderEnvoyConfig(templateFile: string, outFile: string, values: Record<string, string | number>): void {
  const text = readFileSync(templateFile, 'utf8').replace(/\{\{([A-Z0-9_]+)\}\}/g, (whole, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`${templateFile}: no value for placeholder ${whole}`);
    return String(v);
  });
  writeFileSync(outFile, text);
}
