/**
 * Checks an HTTP answer against the service's own OpenAPI document (GET /docs-json): the status is declared for
 * the operation, the media type is declared, and a JSON body matches the declared schema, with every object
 * closed (a field the document does not name is a failure). Used by the test harness on every answer of the
 * suite (test/support/app.ts) and by the fuzz stage (bench/fuzz.ts).
 */
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Json = Record<string, unknown>;
type MediaTypes = Record<string, { schema?: unknown }>;
export type OpenApiDocument = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: MediaTypes }> }>>;
  components?: { schemas?: Record<string, unknown> };
};

/**
 * OpenAPI 3.0 schema → JSON Schema for ajv: `nullable` becomes a `null` alternative, boolean `exclusiveMinimum`
 * becomes the draft-07 number, and every object with `properties` is closed (`additionalProperties: false`) so a
 * field the server sends but the document does not name is a failure, not silently accepted.
 */
export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const s: Json = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === 'example' || k === 'examples' ? v : toJsonSchema(v)]));
  if (s.exclusiveMinimum === true) {
    s.exclusiveMinimum = s.minimum;
    delete s.minimum;
  }
  if (s.type === 'object' && s.properties && s.additionalProperties === undefined) s.additionalProperties = false;
  if (s.nullable !== true) return s;
  delete s.nullable;
  if (Array.isArray(s.enum)) s.enum = [...new Set([...s.enum, null])];
  if (typeof s.type === 'string') return { ...s, type: [s.type, 'null'] };
  return { anyOf: [s, { type: 'null' }] };
}

/** A JSON pointer into the document, URI-escaped for a $ref (path templates have `{}`). */
export const pointer = (...parts: string[]) =>
  `doc#/${parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;

export interface Answer {
  method: string;
  /** As sent: path and query, percent-encoded. */
  url: string;
  status: number;
  contentType: string | null;
  text: string;
}

/**
 * What is wrong with an answer, or null. An answer on a path the document does not describe must still be an
 * error-shaped 4xx, or a 2xx.
 */
export type AnswerCheck = (answer: Answer) => string | null;

export function answerChecker(doc: OpenApiDocument): AnswerCheck {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(toJsonSchema(doc) as Json, 'doc');
  const compiled = new Map<string, ValidateFunction>();
  const validator = (ref: string) => {
    let v = compiled.get(ref);
    if (!v) compiled.set(ref, (v = ajv.getSchema(ref)!));
    return v;
  };
  // Literal segments before parameters, so /v1/card-loads/batch is not read as /v1/card-loads/{id}. A parameter is
  // at most 100 characters, Fastify's maxParamLength: a longer one matches no route, so the path is unknown (404).
  const templates = Object.keys(doc.paths)
    .map((template) => {
      const escaped = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      return { template, re: new RegExp(`^${escaped.replace(/\\?\{[^}]+\\?\}/g, '[^/]{1,100}')}$`) };
    })
    .sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
  const schemaErrors = (v: ValidateFunction) =>
    (v.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`)
      .join('; ');
  const isErrorShaped = (text: string): string | null => {
    const v = validator('doc#/components/schemas/Error');
    try {
      return v(JSON.parse(text)) ? null : schemaErrors(v);
    } catch {
      return 'not JSON';
    }
  };

  return ({ method, url, status, contentType, text }) => {
    const path = url.split('?')[0];
    const where = `${method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path} → ${status}`;
    const matches = templates.filter((t) => t.re.test(path));
    const verb = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
    const template = matches.find((t) => doc.paths[t.template][verb])?.template;
    if (template === undefined) {
      if (status < 400) return matches.length ? `${where}: ${method} is not an operation of ${matches[0].template}` : null;
      // A method a known path does not take is a 405; Fastify answers 404 before any hook when the path is not
      // even valid percent-encoding (its 404 router's onBadUrl), which is still a refusal in the error shape.
      if (matches.length && ![400, 405, 408, 431].includes(status) && !(status === 404 && !decodable(path))) {
        return `${where}: ${method} on ${matches[0].template} should be 405`;
      }
      return text === '' && method === 'HEAD' ? null : prefix(where, isErrorShaped(text));
    }
    const responses = doc.paths[template][verb].responses;
    const declared = responses[String(status)] ?? responses.default;
    if (!declared) {
      return `${where}: status not declared for ${verb.toUpperCase()} ${template} (declared: ${Object.keys(responses).join(', ')})`;
    }
    if (text === '' || method === 'HEAD') return null;
    const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
    if (!declared.content?.[media]) {
      return `${where}: answered ${contentType}, declared ${Object.keys(declared.content ?? {}).join(', ') || 'no body'}`;
    }
    if (media !== 'application/json') return null;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return `${where}: not JSON: ${text.slice(0, 100)}`;
    }
    const v = validator(
      pointer(
        'paths',
        template,
        verb,
        'responses',
        String(status) in responses ? String(status) : 'default',
        'content',
        'application/json',
        'schema',
      ),
    );
    return v(body) ? null : `${where}: ${schemaErrors(v)}`;
  };
}

function decodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

const prefix = (where: string, problem: string | null) => (problem === null ? null : `${where}: ${problem}`);
