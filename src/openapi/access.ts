import type { INestApplication } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer, Reflector } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { PUBLIC_KEY, Scope, SCOPES_KEY } from '../auth/scopes';
import { errorExample } from './error.schema';

export const API_KEY_AUTH = 'apiKey';

type Access = { public: true } | { public: false; scopes: Scope[] };
type Operation = {
  operationId?: string;
  description?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
  [ext: `x-${string}`]: unknown;
};

/**
 * Who may call each handler, read from the same metadata ApiKeyGuard reads, keyed by swagger's default
 * operationId (`Controller_method`): the document can then never disagree with what the guard enforces.
 */
export function routeAccess(app: INestApplication): Map<string, Access> {
  const reflector = new Reflector();
  const access = new Map<string, Access>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const cls = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (!cls) continue;
      for (const name of Object.getOwnPropertyNames(cls.prototype)) {
        const handler = (cls.prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const targets = [handler, cls];
        access.set(
          `${cls.name}_${name}`,
          reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)
            ? { public: true }
            : { public: false, scopes: reflector.getAllAndOverride<Scope[]>(SCOPES_KEY, targets) ?? [] },
        );
      }
    }
  }
  return access;
}

const errorContent = (example: unknown) => ({ 'application/json': { schema: { $ref: '#/components/schemas/Error' }, example } });

const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

/**
 * Answers any route may give whatever it does, public ones included: the request or its URL malformed (400, also
 * a bad query or path parameter), its headers too large (431) or too slow (408), and the service shutting down
 * (503); with a method that carries a body, also a body too large (413) or not plain UTF-8 JSON (415).
 */
function protocolResponses(method: string): Record<string, unknown> {
  const responses: Record<string, unknown> = {
    400: {
      description: 'Invalid input: every problem is listed in `details` by field (the first 10, and how many more); nothing was written.',
      content: errorContent(
        errorExample('validation_failed', 'amount: must have at most two decimals', [
          { field: 'amount', message: 'must have at most two decimals' },
        ]),
      ),
    },
    408: {
      description: 'The request did not arrive in time.',
      content: errorContent(errorExample('request_timeout', 'the request did not arrive in time')),
    },
    431: {
      description: 'Request headers over 16 KiB.',
      content: errorContent(errorExample('request_header_fields_too_large', 'the request headers are too large (at most 16 KiB in all)')),
    },
    503: {
      description: 'The service is shutting down (or, where stated, cannot serve this now): retry.',
      content: errorContent(errorExample('service_unavailable', 'the service is shutting down; retry the request')),
    },
  };
  if (BODY_METHODS.has(method)) {
    responses[413] = {
      description: 'Body over 1 MiB.',
      content: errorContent(errorExample('payload_too_large', 'request body is too large')),
    };
    responses[415] = {
      description: 'Body not sent as plain `application/json` in UTF-8 (another type or charset, or a Content-Encoding).',
      content: errorContent(
        errorExample('unsupported_media_type', 'Content-Type must be application/json (UTF-8; no other charset or parameter)'),
      ),
    };
  }
  return responses;
}

/** Answers every authenticated route may give, whatever it does. */
function accessResponses(scopes: Scope[]): Record<string, unknown> {
  return {
    401: {
      description: 'No API key, a malformed Authorization header, or an unknown or revoked key.',
      content: errorContent(errorExample('unauthorized', 'missing or malformed Authorization: Bearer <apiKey>')),
    },
    403: {
      description: `The key lacks the scope (${scopes.join(' or ')}; \`admin\` implies all).`,
      content: errorContent(errorExample('forbidden', `this API key lacks the scope required here (${scopes.join(' or ')})`)),
    },
    429: {
      description: 'Over RATE_LIMIT_PER_MINUTE for this API key (or client address without a key).',
      headers: { 'Retry-After': { description: 'Seconds until the window resets.', schema: { type: 'integer', minimum: 1 } } },
      content: errorContent(errorExample('rate_limited', 'too many requests: at most 6000 a minute for this API key; retry in 12 seconds')),
    },
  };
}

/** Adds to every operation its security requirement, its scopes (`x-required-scopes` and the text) and the common errors. */
export function annotateAccess(document: OpenAPIObject, access: Map<string, Access>): void {
  for (const item of Object.values(document.paths)) {
    for (const [method, op] of Object.entries(item) as Array<[string, Operation]>) {
      if (typeof op !== 'object' || op === null || !('responses' in op)) continue;
      op.responses = { ...protocolResponses(method), ...op.responses };
      // OpenAPI ignores header parameters named Accept (from @Headers('accept')); content types say it instead.
      op.parameters = op.parameters?.filter((p) => !/^(accept|content-type|authorization)$/i.test((p as { name?: string }).name ?? ''));
      const a = op.operationId ? access.get(op.operationId) : undefined;
      if (!a) continue;
      if (a.public) {
        op.security = [];
        op.description = ['**Public:** no API key needed.', op.description].filter(Boolean).join('\n\n');
        continue;
      }
      op.security = [{ [API_KEY_AUTH]: [] }];
      op['x-required-scopes'] = a.scopes;
      op.description = [`**Scope:** ${a.scopes.map((s) => `\`${s}\``).join(' or ')} (\`admin\` implies all).`, op.description]
        .filter(Boolean)
        .join('\n\n');
      op.responses = { ...accessResponses(a.scopes), ...op.responses };
    }
  }
}
