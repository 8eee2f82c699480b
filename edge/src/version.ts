import pkg from '../package.json' with { type: 'json' };

/** The gateway's version as reported in status: the edge package's version (inlined by the gateway bundle). */
export const VERSION: string = pkg.version;
