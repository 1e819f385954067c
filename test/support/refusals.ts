import { ApiResponse, TestApp } from './app';

/** The fields an error answer's details name (none when it has no details). */
export const errorFields = (body: { error?: { details?: Array<{ field: string }> } }): string[] =>
  (body.error?.details ?? []).map((d) => d.field);

/** GETs `path` and expects a 400 whose details name `field`; answers the response for any further check. */
export async function expectGetRefused(app: TestApp, path: string, field: string): Promise<ApiResponse> {
  const r = await app.api('GET', path);
  expect(r.status).toBe(400);
  expect(errorFields(r.body)).toContain(field);
  return r;
}

/**
 * What the database answered a write: 'written', or its refusal as `SQLSTATE constraint` (the message when no constraint
 * is named). With `withMessage`, the message as well: which of a trigger's checks refused.
 */
export const databaseRefusal = (p: Promise<unknown>, withMessage = false): Promise<string> =>
  p.then(
    () => 'written',
    (e: { code?: string; constraint?: string; message?: string }) =>
      withMessage ? `${e.code} ${e.constraint} ${e.message}` : `${e.code} ${e.constraint ?? e.message}`,
  );
