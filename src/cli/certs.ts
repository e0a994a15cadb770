import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import selfsigned from 'selfsigned';

export interface CertPaths {
  /** The local CA that signs the server certificate; callers and Envoy trust it. */
  caCert: string;
  cert: string;
  key: string;
}

/**
 * A local CA and a `localhost` server certificate signed by it (SAN localhost, 127.0.0.1, ::1),
 * made on first run and reused after. Envoy serves it on the TLS listener and the simulated
 * providers serve it too, so Envoy's upstream TLS checks (CA, SAN, SNI) run for real.
 */
export async function ensureCerts(dir: string): Promise<CertPaths> {
  const paths = { caCert: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server-key.pem') };
  if (existsSync(paths.caCert) && existsSync(paths.cert) && existsSync(paths.key)) return paths;
  mkdirSync(dir, { recursive: true });
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + 2);
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'llm-extproc local CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: notAfter,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  writeFileSync(paths.caCert, ca.cert);
  writeFileSync(paths.cert, server.cert);
  writeFileSync(paths.key, server.private, { mode: 0o600 });
  return paths;
}

export function readCert(paths: CertPaths): { cert: Buffer; key: Buffer; ca: Buffer } {
  return { cert: readFileSync(paths.cert), key: readFileSync(paths.key), ca: readFileSync(paths.caCert) };
}
