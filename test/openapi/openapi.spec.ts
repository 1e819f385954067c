import SwaggerParser from '@apidevtools/swagger-parser';
import { answerChecker } from '../../bench/openapi-check';
import { CARD_LOAD_EXAMPLE } from '../../src/card-loads/card-load.openapi';
import { registeredRoutes } from '../../src/http/route-registry';
import { startTestApp, TestApp } from '../support/app';

type Operation = {
  security?: unknown[];
  requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  'x-required-scopes'?: string[];
};

describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
  };
  beforeAll(async () => {
    t = await startTestApp();
    const res = await t.api('GET', '/docs-json', { key: null });
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(() => t.close());

  it('should be a valid OpenAPI 3 document', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('should document every registered /v1 route', () => {
    const missing = registeredRoutes(t.app)
      .filter((r) => r.url.startsWith('/v1/') && r.method !== 'HEAD')
      .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`)
      .filter((route) => {
        const [method, path] = route.split(' ');
        return !doc.paths[path]?.[method.toLowerCase()];
      });
    expect(missing).toEqual([]);
  });

  it('should state the scope, the key requirement, a success answer and the error shape of every /v1 operation', () => {
    const problems: string[] = [];
    for (const [path, item] of Object.entries(doc.paths).filter(([p]) => p.startsWith('/v1/'))) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        if (!op['x-required-scopes']?.length) problems.push(`${where}: no scope`);
        if (JSON.stringify(op.security) !== JSON.stringify([{ apiKey: [] }])) problems.push(`${where}: no bearer key requirement`);
        if (!Object.keys(op.responses).some((s) => /^2\d\d$/.test(s))) problems.push(`${where}: no success answer`);
        for (const status of ['401', '403', '429']) {
          if (op.responses[status]?.content?.['application/json']?.schema?.$ref !== '#/components/schemas/Error')
            problems.push(`${where}: ${status} without the error shape`);
        }
        if (method === 'post' && op.requestBody && !op.responses['400']) problems.push(`${where}: body without a 400`);
      }
    }
    expect(problems).toEqual([]);
    expect(Object.keys(doc.components.schemas.ErrorDetail.properties ?? {})).toEqual(['code', 'message', 'details']);
  });

  it('should declare, with the error shape, the answers any route may give: 400, 408, 431, 503; 413, 415 where a body may be sent', () => {
    const problems: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const expected = ['400', '408', '431', '503', ...(['post', 'put', 'patch', 'delete'].includes(method) ? ['413', '415'] : [])];
        for (const status of expected) {
          if (op.responses[status]?.content?.['application/json']?.schema?.$ref !== '#/components/schemas/Error') {
            problems.push(`${method.toUpperCase()} ${path}: ${status} not declared with the error shape`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('should have no schema that OpenAPI 3.0 tools read differently: nullable needs a type, objects need their properties', () => {
    const problems: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}/${i}`));
      if (typeof node !== 'object' || node === null) return;
      const s = node as Record<string, unknown>;
      if (s.nullable === true && s.type === undefined) problems.push(`${at}: nullable without a type`);
      Object.entries(s).forEach(([k, v]) => k !== 'example' && k !== 'examples' && walk(v, `${at}/${k}`));
    };
    walk(doc, '#');
    expect(problems).toEqual([]);
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      if ((schema as { type?: string }).type === 'object' && !('additionalProperties' in schema)) {
        expect({ name, properties: Object.keys(schema.properties ?? {}).length > 0 }).toEqual({ name, properties: true });
      }
    }
    expect(doc.components.schemas.ReasonDto.properties).toEqual({ reason: expect.objectContaining({ type: 'string', maxLength: 1000 }) });
  });

  it('should catch an answer that the document does not promise (the check every test answer gets)', () => {
    const check = answerChecker(structuredClone(doc));
    const json = 'application/json; charset=utf-8';
    const answer = (method: string, url: string, status: number, text: string) => check({ method, url, status, contentType: json, text });
    expect(answer('GET', '/health/live', 200, '{"status":"ok"}')).toBeNull();
    expect(answer('GET', '/health/live', 418, '{}')).toMatch(/status not declared/);
    expect(answer('GET', '/health/live', 200, '{"status":"ok","extra":1}')).toMatch(/additional properties/);
    expect(answer('GET', '/v1/card-loads/x', 404, '{"error":"Not Found"}')).toMatch(/must be object/);
    expect(answer('PUT', '/v1/card-loads', 404, '{"error":{"code":"not_found","message":"x"}}')).toMatch(/should be 405/);
  });

  it('should mark health, metrics and docs public and show the API.md card-load example, which the API takes as it is', async () => {
    for (const path of ['/health/live', '/health/ready', '/metrics']) expect(doc.paths[path].get.security).toEqual([]);
    const create = doc.paths['/v1/card-loads'].post;
    const examples = Object.values(create.requestBody!.content['application/json'].examples ?? {}).map((e) => e.value);
    expect(examples).toContainEqual(CARD_LOAD_EXAMPLE);
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '409', '413', '415', '422']));
    // Every field of the example is one the API reads back as sent (API.md's example request and its answer).
    const made = await t.api('POST', '/v1/card-loads', { body: CARD_LOAD_EXAMPLE, headers: { 'idempotency-key': 'openapi-example' } });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ ...CARD_LOAD_EXAMPLE, status: 'pending' });
  });

  it('should serve the UI at /docs without a key, with its assets', async () => {
    const html = await t.api('GET', '/docs', { key: null });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toContain('text/html');
    // Resolved the way a browser resolves them against /docs.
    const assets = [...html.text.matchAll(/(?:src|href)=["']([^"']+\.(?:js|css))["']/g)].map(
      (m) => new URL(m[1], `${t.url}/docs`).pathname,
    );
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect({ asset, status: (await t.api('GET', asset, { key: null })).status }).toEqual({ asset, status: 200 });
    }
  });
});
