import { ApiFailure } from '../api';

/** An API answer that was not a success, shown as the API gave it (status, code, message, Retry-After). */
export function ErrorBox({ error, context }: { error: ApiFailure | null; context?: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {context ? `${context}: ` : ''}
      <code>{error.describe()}</code>
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}
