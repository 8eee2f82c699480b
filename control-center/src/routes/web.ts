import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Slopeguard</title>
<p>The dashboard has not been built. Run <code>npm run build:web</code> (npm start does it for you).</p>
<p>대시보드가 빌드되지 않았습니다. <code>npm run build:web</code>을 실행하세요.</p>`;

/** Serves the Vite-built dashboard; says plainly what to do when it has not been built. */
export async function registerWebRoutes(app: FastifyInstance, webRoot: string): Promise<void> {
  if (existsSync(join(webRoot, 'index.html'))) {
    await app.register(fastifyStatic, { root: webRoot, prefix: '/' });
    return;
  }
  app.get('/', async (_req, reply) => reply.type('text/html').send(NOT_BUILT));
}
