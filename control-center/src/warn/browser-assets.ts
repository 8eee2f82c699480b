import { readFileSync } from 'node:fs';

/**
 * The two browser scripts of the public page, for the server to serve as they are: `push.js` (the
 * push button) and `sw.js` (the service worker; serve it from the folder of the pages it controls,
 * e.g. /p/sw.js, so its scope covers /p/...). Plain JavaScript with no build step.
 */
export const BROWSER_ASSETS = {
  'push.js': new URL('./browser/push.js', import.meta.url),
  'sw.js': new URL('./browser/sw.js', import.meta.url),
} as const;

export function browserAsset(name: keyof typeof BROWSER_ASSETS): {
  body: string;
  headers: Record<string, string>;
} {
  return {
    body: readFileSync(BROWSER_ASSETS[name], 'utf8'),
    headers: {
      'content-type': 'text/javascript; charset=utf-8',
      // A changed worker must reach phones within minutes (browsers also re-check sw.js daily).
      'cache-control': 'public, max-age=300',
      'x-content-type-options': 'nosniff',
    },
  };
}
