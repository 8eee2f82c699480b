import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import webpush from 'web-push';
import { WarnError } from './errors.ts';

/**
 * The VAPID key pair (RFC 8292) that identifies this control center to push services. Made at the
 * first start and kept in a file only the service's user can read (mode 0600): browsers bind every
 * subscription to the public key, so a new pair would silently orphan every subscriber. The private
 * key is never logged; a file that others can read is refused rather than used.
 */
export interface VapidKeys {
  /** Uncompressed P-256 point, base64url: what the page hands to pushManager.subscribe(). */
  publicKey: string;
  privateKey: string;
}

export function loadOrCreateVapidKeys(file: string): { keys: VapidKeys; created: boolean } {
  let text: string | undefined;
  try {
    const st = statSync(file);
    if ((st.mode & 0o077) !== 0)
      throw new WarnError(
        'SG_ERR_WARN_KEYS',
        `${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`,
      );
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof WarnError) throw err;
      throw new WarnError('SG_ERR_WARN_KEYS', `${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (text !== undefined) return { keys: parseKeys(file, text), created: false };
  const keys = webpush.generateVAPIDKeys();
  // Written under another name and renamed: a crash leaves either no file or a whole one.
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ publicKey: keys.publicKey, privateKey: keys.privateKey })}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return { keys, created: true };
}

function parseKeys(file: string, text: string): VapidKeys {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new WarnError('SG_ERR_WARN_KEYS', `${file}: not JSON`);
  }
  const k = v as Partial<VapidKeys>;
  const ok =
    typeof k.publicKey === 'string' &&
    Buffer.from(k.publicKey, 'base64url').length === 65 &&
    typeof k.privateKey === 'string' &&
    Buffer.from(k.privateKey, 'base64url').length === 32;
  if (!ok)
    throw new WarnError('SG_ERR_WARN_KEYS', `${file}: expected {publicKey, privateKey} of a P-256 key pair`);
  return { publicKey: k.publicKey as string, privateKey: k.privateKey as string };
}
