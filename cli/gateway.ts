/**
 * Entry of the gateway bundle (dist/gateway/slopeguard-edge.mjs, built by deploy/build-gateway.ts):
 * the `edge` command alone, as plain JavaScript. The systemd unit runs this rather than the
 * TypeScript sources, because stripping types at start-up (a WebAssembly compiler) and the other
 * commands' modules cost memory a Raspberry Pi should keep; docs/gateway.md has the figures.
 * Same flags as `slopeguard edge`.
 */
import { edgeCommand } from './commands/edge.ts';
import { runCommand } from './run-command.ts';

process.exitCode = await runCommand(edgeCommand, process.argv.slice(2));
