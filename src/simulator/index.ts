export type { Fault, ReceivedRequest, SimFormat, SimProvider, SimProviderOptions } from './types.ts';
export { startSimProvider } from './server.ts';
