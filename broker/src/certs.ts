import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { isId } from '@slopeguard/core';
import { BrokerError } from './errors.ts';

/**
 * A private CA and server/device certificates for small deployments (`slopeguard certs`).
 * node:crypto can make keys but cannot sign X.509 certificates, so this drives the `openssl`
 * command (Debian package `openssl`). Keys are EC P-256, written with mode 0600.
 */
export interface CertFiles {
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new BrokerError(
          'SG_ERR_CERTS',
          missing
            ? 'openssl not found (install the Debian package `openssl`)'
            : `openssl ${args[0]} failed: ${stderr.trim()}`,
          { cause: err },
        ),
      );
    });
  });
}

async function newKey(dir: string, name: string): Promise<string> {
  const key = join(dir, `${name}.key`);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], dir);
  chmodSync(key, 0o600);
  return key;
}

function caPaths(dir: string): CertFiles {
  return { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
}

/** Creates `ca.crt` and `ca.key` in `dir` unless they exist (then refuses unless `force`). */
export async function createCa(dir: string, options: { cn?: string; days?: number; force?: boolean } = {}) {
  mkdirSync(dir, { recursive: true });
  const ca = caPaths(dir);
  if (existsSync(ca.cert) && !options.force) {
    throw new BrokerError('SG_ERR_CERTS', `${ca.cert} exists; pass force to replace the CA`);
  }
  await newKey(dir, 'ca');
  await openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      ca.key,
      '-sha256',
      '-days',
      String(options.days ?? 3650),
      '-subj',
      `/CN=${options.cn ?? 'Slopeguard private CA'}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      ca.cert,
    ],
    dir,
  );
  return ca;
}

async function issue(dir: string, name: string, cn: string, ext: string[], days: number): Promise<CertFiles> {
  const ca = caPaths(dir);
  if (!existsSync(ca.cert) || !existsSync(ca.key)) {
    throw new BrokerError('SG_ERR_CERTS', `no CA in ${dir}; run \`slopeguard certs ca\` first`);
  }
  const key = await newKey(dir, name);
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  const cert = join(dir, `${name}.crt`);
  writeFileSync(extFile, `${ext.join('\n')}\n`);
  try {
    await openssl(['req', '-new', '-key', key, '-subj', `/CN=${cn}`, '-out', csr], dir);
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca.cert,
        '-CAkey',
        ca.key,
        '-CAcreateserial',
        '-days',
        String(days),
        '-sha256',
        '-extfile',
        extFile,
        '-out',
        cert,
      ],
      dir,
    );
  } finally {
    rmSync(csr, { force: true });
    rmSync(extFile, { force: true });
  }
  return { cert, key };
}

/** A server certificate for the broker's TLS listener; `hosts` are DNS names or IP addresses. */
export function createServerCert(dir: string, hosts: readonly string[], options: { days?: number } = {}) {
  if (hosts.length === 0)
    throw new BrokerError('SG_ERR_CERTS', 'at least one host name or address is needed');
  const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  return issue(
    dir,
    'server',
    hosts[0] ?? 'localhost',
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${san}`,
    ],
    options.days ?? 825,
  );
}

/** A client certificate for a gateway; its CN is the gateway's MQTT username `{site}.{gateway}`. */
export function createDeviceCert(
  dir: string,
  site: string,
  gateway: string,
  options: { days?: number } = {},
) {
  if (!isId(site) || !isId(gateway))
    throw new BrokerError('SG_ERR_CERTS', `invalid site or gateway ${site}/${gateway}`);
  const cn = `${site}.${gateway}`;
  return issue(
    dir,
    cn,
    cn,
    ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'],
    options.days ?? 825,
  );
}
