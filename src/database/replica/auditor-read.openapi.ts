import type { OpenAPIObject } from '@nestjs/swagger';
import { FALLBACK_REASONS, READ_HEADERS } from './read-plan';

const HEADERS = {
  [READ_HEADERS.source]: {
    description: 'Which database served this answer: `replica` (DATABASE_READ_URL) or `primary`. docs/operations.md, "Read replicas".',
    schema: { type: 'string', enum: ['replica', 'primary'] },
  },
  [READ_HEADERS.fallback]: {
    description: 'Why the primary served although a replica is configured (absent otherwise).',
    schema: {
      type: 'string',
      enum: [...FALLBACK_REASONS],
    },
  },
  [READ_HEADERS.lag]: {
    description:
      'How far behind the primary the replica may be when it served, in ms (an upper bound, measured against the ' +
      "primary's WAL position read by this request). " +
      'Rows newer than that may be missing from a list without `to`; a final cut (`asOf`, `to`) never misses any.',
    schema: { type: 'integer', minimum: 0 },
  },
  [READ_HEADERS.finalBefore]: {
    description: 'The watermark the answer rests on: every change before this moment was final (docs/time.md, "A stable past").',
    schema: { type: 'string', format: 'date-time' },
  },
  [READ_HEADERS.finalLsn]: {
    description:
      "`timeline:LSN` of the primary's WAL when that watermark was read; a replica serves the answer only once it has replayed it.",
    schema: { type: 'string', example: '3:0/5A0C2E8' },
  },
};

/** Every answer of an auditor read (@AuditorRead) documents the read headers (database/replica/read-plan.ts). */
export function auditorReadHeaders(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const op of Object.values(item) as Array<{
      'x-ledger-auditor-read'?: boolean;
      responses?: Record<string, { headers?: object }>;
    }>) {
      if (!op?.['x-ledger-auditor-read']) continue;
      for (const response of Object.values(op.responses ?? {})) response.headers = { ...(response.headers ?? {}), ...HEADERS };
    }
  }
}
