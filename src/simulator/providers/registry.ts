import type { SimFormat } from '../types.ts';
import { anthropicProvider } from './anthropic/index.ts';
import { geminiProvider } from './gemini/index.ts';
import { openaiProvider } from './openai/index.ts';
import type { Provider } from './provider.ts';

const DEFAULT_BASE: Record<SimFormat, string> = { openai: '/v1', anthropic: '/v1', gemini: '/v1beta' };

/** The provider for a format, mounted at `basePath` (trailing slash ignored) or its default. */
export function createProvider(format: SimFormat, basePath?: string): Provider {
  const base = (basePath ?? DEFAULT_BASE[format]).replace(/\/+$/, '');
  switch (format) {
    case 'openai':
      return openaiProvider(base);
    case 'anthropic':
      return anthropicProvider(base);
    case 'gemini':
      return geminiProvider(base);
  }
}
