import { readFileSync, writeFileSync } from 'node:fs';

/** A section's opening or closing line: `# {{#NAME}}` / `# {{/NAME}}` (a YAML comment, so the template stays valid YAML). */
const SECTION_LINE = /^[ \t]*#[ \t]*\{\{([#/])([A-Z0-9_]+)\}\}[ \t]*$/;

/**
 * Renders envoy/envoy.yaml's {{NAME}} placeholders (ports, certificate paths). Every
 * placeholder must be given a value: a leftover is an error, not a silently broken Envoy.
 *
 * Optional parts sit between the comment lines `# {{#NAME}}` and `# {{/NAME}}`: kept (without
 * those two lines) when `values[NAME]` is given and not '' or '0', else dropped with every
 * placeholder inside them (so an optional part costs Envoy nothing when off: the tracing block).
 * Sections do not nest; an unclosed one is an error.
 */
export function renderEnvoyConfig(templateFile: string, outFile: string, values: Record<string, string | number>): void {
  const kept: string[] = [];
  let open: { name: string; keep: boolean } | undefined;
  for (const line of readFileSync(templateFile, 'utf8').split('\n')) {
    const section = SECTION_LINE.exec(line);
    if (section) {
      const [, mark, name] = section as unknown as [string, '#' | '/', string];
      if (mark === '#') {
        if (open) throw new Error(`${templateFile}: section {{#${name}}} opened inside {{#${open.name}}}`);
        const v = values[name];
        open = { name, keep: v !== undefined && v !== '' && v !== '0' && v !== 0 };
      } else {
        if (open?.name !== name) throw new Error(`${templateFile}: {{/${name}}} closes no open section`);
        open = undefined;
      }
      continue;
    }
    if (!open || open.keep) kept.push(line);
  }
  if (open) throw new Error(`${templateFile}: section {{#${open.name}}} is never closed`);
  const text = kept.join('\n').replace(/\{\{([A-Z0-9_]+)\}\}/g, (whole, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`${templateFile}: no value for placeholder ${whole}`);
    return String(v);
  });
  writeFileSync(outFile, text);
}
