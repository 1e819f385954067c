import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { RECONCILIATION_MODELS } from '../reconciliation/reconciliation.openapi';
import { annotateAccess, API_KEY_AUTH, routeAccess } from './access';
import { ApiErrorBody } from './error.schema';
import { documentFrozenOperations } from './frozen-operations';

const DESCRIPTION = `Double-entry ledger for prepaid-card loads, synced to EnKash.

Authenticate with \`Authorization: Bearer <apiKey>\`. Each operation states the scope it needs
(\`loads:write\`, \`ledger:read\`, \`ops:write\`; \`admin\` implies all). Amounts are decimal strings with two
fraction digits; times are ISO 8601 UTC. Lists take \`limit\` (1-500, default 50) and an opaque \`cursor\`, and answer
\`{"data": [...], "nextCursor": "..." | null}\`; auditor lists also answer \`Accept: text/csv\` (or \`?format=csv\`).
Every error has the shape \`{"error": {"code", "message", "details"}}\`.

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
export function setupOpenApi(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('card-ledger')
    .setDescription(DESCRIPTION)
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key (`ckl_...`).' }, API_KEY_AUTH)
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ApiErrorBody, ...RECONCILIATION_MODELS] });
  documentFrozenOperations(document);
  csvAsText(document);
  annotateAccess(document, routeAccess(app));
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json', raw: ['json'], customSiteTitle: 'card-ledger API',
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
        if (response.content?.['text/csv']) response.content['text/csv'] = { schema: { type: 'string', description: 'CSV: a header row, then one line per item.' } };
      }
    }
  }
}
