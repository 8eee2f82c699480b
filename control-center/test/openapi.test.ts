import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../src/http/errors.ts';
import type { ControlCenter } from '../src/index.ts';
import { centerBed } from './center-bed.ts';
import { warnOptions } from './warn/helpers.ts';

/**
 * Issue 10, acceptance 5: /docs/json passes an OpenAPI validator nobody here wrote
 * (@apidevtools/swagger-parser) and lists every API route; errors share one body with SG_ERR codes.
 */
describe('OpenAPI document and error shape', () => {
  const bed = centerBed('openapi', { readings: false });
  let center: ControlCenter;

  beforeAll(async () => {
    center = await bed.start({
      // Residents' warnings on, so that their routes are covered too.
      warn: warnOptions(bed.dir),
    });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('is a valid OpenAPI 3 document listing every API route', async () => {
    const res = await fetch(`${center.url}docs/json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    await SwaggerParser.validate(structuredClone(doc) as never);
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      ),
    );
    const api = center.routes
      .filter(
        (r) =>
          (r.url.startsWith('/api/') ||
            r.url.startsWith('/cap/') ||
            r.url.startsWith('/p/') ||
            r.url.startsWith('/warn/') ||
            ['/healthz', '/readyz', '/metrics'].includes(r.url)) &&
          r.method !== 'HEAD',
      )
      .map((r) => `${r.method} ${r.url}`);
    expect(api.length).toBeGreaterThan(20);
    for (const route of api) expect(documented, route).toContain(route);
    expect((await fetch(`${center.url}docs/`)).status).toBe(200);
  });

  it('answers errors as { error: SG_ERR_..., message } with a registered code and no stack', async () => {
    const cases = [
      await fetch(`${center.url}api/v1/nothing-here`),
      await fetch(`${center.url}api/v1/sites`),
      await fetch(`${center.url}api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"username": ',
      }),
    ];
    expect(cases.map((r) => r.status)).toEqual([404, 401, 400]);
    for (const r of cases) {
      const body = (await r.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['error', 'message']);
      expect(Object.keys(ERRORS)).toContain(body.error);
      expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
    }
  });
});
