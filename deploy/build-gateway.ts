/**
 * Builds the gateway bundle: dist/gateway/slopeguard-edge.mjs and its lazily loaded chunks (serial
 * stack, scenario driver), plain JavaScript for Node 24. `npm run build:gateway`; the systemd unit
 * runs the result (docs/raspberry-pi.md, step 4).
 *
 * Only the serial port's native binding stays outside the bundle: it loads a prebuilt .node file
 * from its own package, found in /opt/slopeguard/node_modules at run time.
 */
import { cpSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'rolldown';

const ROOT = resolve(import.meta.dirname, '..');
export const GATEWAY_DIR = join(ROOT, 'dist', 'gateway');
export const GATEWAY_ENTRY = join(GATEWAY_DIR, 'slopeguard-edge.mjs');

/** Builds into `dir` (default dist/gateway; tests build their own copy under dist/). */
export async function buildGateway(dir = GATEWAY_DIR): Promise<{ files: string[]; bytes: number }> {
  rmSync(dir, { recursive: true, force: true });
  const out = await build({
    input: join(ROOT, 'cli', 'gateway.ts'),
    platform: 'node',
    external: [/^@serialport\/bindings-cpp(\/|$)/],
    logLevel: 'warn',
    // The shipped Modbus register maps are data files: copied next to the chunks (all in one
    // directory, so the same relative URL works from each) and found there by register-map.ts.
    transform: { define: { SLOPEGUARD_BUNDLED_MAPS: JSON.stringify('./maps/') } },
    output: {
      dir,
      format: 'esm',
      entryFileNames: 'slopeguard-edge.mjs',
      chunkFileNames: '[name]-[hash].mjs',
      sourcemap: true,
    },
  });
  cpSync(join(ROOT, 'firmware-bridge', 'maps'), join(dir, 'maps'), { recursive: true });
  const chunks = out.output.filter((o) => o.type === 'chunk');
  return { files: chunks.map((c) => c.fileName), bytes: chunks.reduce((n, c) => n + c.code.length, 0) };
}

if (import.meta.main) {
  const { files, bytes } = await buildGateway();
  console.log(`gateway bundle: ${GATEWAY_ENTRY} (${files.length} files, ${(bytes / 1024).toFixed(0)} KiB)`);
}
