/**
 * The console's only way to the service: same-origin requests to the /v1 API (and the session routes), with the
 * session cookie the browser holds (HttpOnly: no script here can read it) and, on every write, the session's CSRF
 * token. Answers are shown as the API gives them: an error keeps its status, code, message and Retry-After.
 */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: string | null,
  ) {
    super(message);
  }

  /** As shown to the operator: `409 load_in_flight: …` (and how long to wait when the API said). */
  describe(): string {
    return `${this.status} ${this.code}: ${this.message}${this.retryAfter ? ` (Retry-After: ${this.retryAfter} s)` : ''}`;
  }
}

let csrfToken: string | null = null;
let onSessionEnded: () => void = () => undefined;

export function useCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when the API says the session has ended (401): the console goes back to sign-in. */
export function whenSessionEnds(handler: () => void): void {
  onSessionEnded = handler;
}

export async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    const failure = new ApiFailure(
      res.status,
      error?.code ?? 'http_error',
      error?.message ?? text.slice(0, 200),
      res.headers.get('retry-after'),
    );
    if (res.status === 401 && !path.startsWith('/console/api/session')) onSessionEnded();
    throw failure;
  }
  return parsed as T;
}

/** `?a=1&b=2` from the defined values only. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export type Scope = 'loads:write' | 'ledger:read' | 'ops:write' | 'admin';

export interface Session {
  name: string;
  scopes: Scope[];
  expiresAt: string;
  maxExpiresAt: string;
  csrfToken: string;
}

/** The same rule as the API's guard: `admin` implies every scope. */
export const can = (session: Session, ...any: Scope[]) => session.scopes.includes('admin') || any.some((s) => session.scopes.includes(s));

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface CardLoad {
  id: string;
  reference: string;
  enKashCardId: string;
  companyId: string;
  cardAccountId: string;
  amount: string;
  currency: string;
  status: 'pending' | 'posted' | 'reversed' | 'needs_review';
  attempts: number;
  createdAt: string;
  updatedAt: string;
  postedAt: string | null;
  reversedAt: string | null;
  undoneAt: string | null;
  statusReason: string | null;
  journalTransactionId: string;
  description: string | null;
  remarks: string | null;
  metadata: Record<string, string>;
}

export interface LoadEvent {
  at: string;
  type: string;
  outcome: string | null;
  httpStatus: number | null;
  code: string | null;
  message: string | null;
  durationMs: number | null;
  actor: string | null;
}

export type CardLoadWithEvents = CardLoad & { events: LoadEvent[] };
