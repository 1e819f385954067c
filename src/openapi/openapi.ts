import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { annotateAccess, API_KEY_AUTH, routeAccess } from './access';
import { auditorReadHeaders } from '../database/replica/auditor-read.openapi';
import { ApiErrorBody } from './error.schema';

const DESCRIPTION = `Double-entry ledger for prepaid-card loads, synced to EnKash.

Authenticate with \`Authorization: Bearer <apiKey>\`. Each operation states the scope it needs
(\`loads:write\`, \`ledger:read\`, \`ops:write\`; \`admin\` implies all). Amounts are decimal strings with two
fraction digits; times are ISO 8601 UTC. Lists take \`limit\` (1-500, default 50) and an opaque \`cursor\`, and answer
\`{"data": [...], "nextCursor": "..." | null}\`; auditor lists also answer \`Accept: text/csv\` (or \`?format=csv\`).
Every error has the shape \`{"error": {"code", "message", "details"}}\`; \`details\` lists the first 10 problems (the message says how
many more). Bodies are plain \`application/json\` in UTF-8, uncompressed, at most 1 MiB, objects of at most 50 keys nesting at
most 6 levels, arrays of at most 1,000 items. No text may hold NUL or an unpaired UTF-16 surrogate. A path asked with a method
it does not take answers \`405 method_not_allowed\` with \`Allow\`.

Time (docs/time.md): every row one ledger transaction writes carries one moment, at millisecond precision.
\`asOf=T\` includes every change at or before T, \`from\` is inclusive and \`to\` exclusive, everywhere, to the
microsecond. A read as of T answers only once nothing that may still commit at or before T is in flight (else 503
with \`Retry-After\`), so the same question always gets the same answer; a time copied from an answer names exactly
what was seen. Who sees which loads: a key with \`loads:write\` alone sees the loads it created; \`ledger:read\` and
\`admin\` see all. Proof: GET /v1/audit/verify, signed checkpoints and the public key (docs/audit.md).`;

/**
 * The OpenAPI document is generated from the controllers and DTOs, then annotated with each route's scope
 * from the guard's own metadata. Served at GET /docs (UI) and GET /docs-json: plain Fastify routes, outside
 * the Nest guard, so they are public.
 */
const DOCUMENTS = new WeakMap<NestFastifyApplication, OpenAPIObject>();

/** The document GET /docs-json serves, as an object (the test harness checks every answer against it). */
export function openApiDocument(app: NestFastifyApplication): OpenAPIObject | undefined {
  return DOCUMENTS.get(app);
}

export function setupOpenApi(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('card-ledger')
    .setDescription(DESCRIPTION)
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key (`ckl_...`).' }, API_KEY_AUTH)
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ApiErrorBody] });
  csvAsText(document);
  auditorReadHeaders(document);
  nullableRefsAsAnyOf(document);
  annotateAccess(document, routeAccess(app));
  DOCUMENTS.set(app, document);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    raw: ['json'],
    customSiteTitle: 'card-ledger API',
    // No validator badge: it would send the document's URL to validator.swagger.io (and CSP blocks the image anyway).
    swaggerOptions: { validatorUrl: null },
  });
}

/**
 * @ApiProduces('application/json', 'text/csv') gives the CSV the JSON page's schema; a CSV body is text (a header
 * row, then one line per item), and a generated client must not expect to parse it as that object.
 */
function csvAsText(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const op of Object.values(item) as Array<{ responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>) {
      for (const response of Object.values(op?.responses ?? {})) {
        if (response.content?.['text/csv'])
          response.content['text/csv'] = { schema: { type: 'string', description: 'CSV: a header row, then one line per item.' } };
      }
    }
  }
}

/**
 * `@ApiProperty({ type: Model, nullable: true })` comes out as `{ nullable: true, allOf: [{ $ref }] }`: OpenAPI 3.0
 * ignores `nullable` without a `type`, and the referenced object schema refuses null, so contract tools read it
 * as "never null" (or reject it). Written instead as "the model, or null", which 3.0 tools all read alike.
 */
function nullableRefsAsAnyOf(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(nullableRefsAsAnyOf);
  if (typeof node !== 'object' || node === null) return;
  const s = node as Record<string, unknown>;
  const refs = s.allOf as Array<{ $ref?: string }> | undefined;
  if (s.nullable === true && s.type === undefined && Array.isArray(refs) && refs.length === 1 && refs[0].$ref) {
    delete s.nullable;
    delete s.allOf;
    s.anyOf = [refs[0], { type: 'object', nullable: true, enum: [null] }];
  }
  Object.values(s).forEach(nullableRefsAsAnyOf);
}
