#!/usr/bin/env node
// Plain JavaScript on purpose: this file must parse on any Node version so that an old runtime gets
// one clear line instead of a syntax error from the TypeScript sources it loads.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(
    `slopeguard needs Node.js 24 or newer (this is ${process.version}). ` +
      'Run it through npm (`npm start`, `npx slopeguard ...`), which uses the Node 24 the project installs, ' +
      'or install Node 24 LTS.',
  );
  process.exit(1);
}
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
