/**
 * Entry of the gateway bundle (dist/gateway/slopeguard-edge.mjs, built by deploy/build-gateway.ts):
 * the `edge` command alone, as plain JavaScript. The systemd unit runs this rather than the
 * TypeScript sources, because stripping types at start-up (a WebAssembly compiler) and the other
 * commands' modules cost memory a Raspberry Pi should keep; docs/gateway.md has the figures.
 * Same flags as `slopeguard edge`.
 *
 * The version check comes before the agent's code is imported (a dynamic import, so a separate
 * chunk): an older Node gets one line instead of a missing `node:sqlite`.
 */
import { runCommand } from './run-command.ts';

const [major = 0] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(
    `slopeguard-edge needs Node.js 24 or newer (this is ${process.version}); ` +
      'start it with /opt/slopeguard/node_modules/.bin/node (docs/raspberry-pi.md, step 4).',
  );
  process.exit(1);
}
const { edgeCommand } = await import('./commands/edge.ts');
process.exitCode = await runCommand(edgeCommand, process.argv.slice(2));
