import { FieldProblem } from './errors';

/**
 * NUL, which Postgres refuses in text (the caller would get a 500), and lone UTF-16 surrogates, which have no
 * UTF-8 form (the driver would store U+FFFD: not what was sent, so a replayed request would no longer match).
 * In a `u` regex a well-formed surrogate pair is one code point, so \p{Cs} matches only the lone ones.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this finds: Postgres text cannot store it
const UNSTORABLE = /\u0000|\p{Cs}/u;
export const UNSTORABLE_TEXT_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

/**
 * Every string in `value` (object keys too) that the database cannot store as sent, each named by its dotted
 * path under `field` ('' for a whole body or query). The walk is bounded by the body's shape limits
 * (http/json-body.ts) and by what the router hands over for params and queries.
 */
export function unstorableText(value: unknown, field = ''): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const at = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);
  const visit = (v: unknown, path: string): void => {
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) problems.push({ field: path || 'body', message: UNSTORABLE_TEXT_MESSAGE });
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => visit(item, at(path, String(i))));
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        if (UNSTORABLE.test(k)) problems.push({ field: at(path, k), message: `has a name that ${UNSTORABLE_TEXT_MESSAGE}` });
        visit(item, at(path, k));
      }
    }
  };
  visit(value, field);
  return problems;
}
