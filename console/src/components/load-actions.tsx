import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, CardLoadWithEvents, CardLoad, Session, api, can } from '../api';
import { money, time } from '../format';
import { asFailure } from '../hooks';

type Action = 'resolve' | 'requeue' | 'undo';

const TITLES: Record<Action, string> = { resolve: 'Resolve a load in review', requeue: 'Ask EnKash again', undo: 'Undo a posted load' };

/**
 * The operator's buttons for one load: resolve and requeue while it is in review, undo once posted. Only a key with
 * ops:write sees them (the API would refuse the others anyway). Each opens a confirmation that restates the load.
 */
export function LoadActions({
  load,
  session,
  onChanged,
}: {
  load: CardLoad;
  session: Session;
  onChanged: (l: CardLoadWithEvents, done: string) => void;
}) {
  const [action, setAction] = useState<Action | null>(null);
  if (!can(session, 'ops:write')) return null;
  const actions: Action[] =
    load.status === 'needs_review' ? ['resolve', 'requeue'] : load.status === 'posted' && !load.undoneAt ? ['undo'] : [];
  if (actions.length === 0) return null;
  const label = (a: Action) => `${a === 'resolve' ? 'Resolve' : a === 'requeue' ? 'Requeue' : 'Undo'}…`;
  return (
    <span class="actions">
      {actions.map((a) => (
        <button
          type="button"
          key={a}
          class={a === 'undo' ? 'danger' : ''}
          onClick={() => setAction(a)}
          aria-label={`${label(a)} load ${load.id.slice(0, 8)} of ${load.amount} ${load.currency} to card ${load.enKashCardId}`}
        >
          {label(a)}
        </button>
      ))}
      {action && (
        <ConfirmLoadAction
          load={load}
          action={action}
          onClose={() => setAction(null)}
          onDone={(l, done) => {
            setAction(null);
            onChanged(l, done);
          }}
        />
      )}
    </span>
  );
}

function ConfirmLoadAction({
  load,
  action,
  onClose,
  onDone,
}: {
  load: CardLoad;
  action: Action;
  onClose: () => void;
  onDone: (l: CardLoadWithEvents, done: string) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [outcome, setOutcome] = useState<'posted' | 'reversed'>('posted');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiFailure | null>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const needsReason = action !== 'requeue';
  const confirmText = action === 'resolve' ? `Resolve as ${outcome}` : action === 'requeue' ? 'Requeue' : 'Undo the load';
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = action === 'resolve' ? { outcome, reason } : action === 'undo' ? { reason } : undefined;
      const updated = await api<CardLoadWithEvents>('POST', `/v1/card-loads/${load.id}/${action}`, body);
      const done =
        action === 'resolve'
          ? `resolved as ${updated.status}`
          : action === 'requeue'
            ? `requeued: the worker asks EnKash again (the load stays ${updated.status} until it settles)`
            : 'undone';
      onDone(updated, `Load ${load.id.slice(0, 8)} (${load.amount} ${load.currency} to ${load.enKashCardId}) ${done}.`);
    } catch (err) {
      setError(asFailure(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <dialog ref={dialog} class="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-load" onClose={onClose}>
      <form method="dialog" onSubmit={(e) => void submit(e)}>
        <h2 id="confirm-title">{TITLES[action]}</h2>
        <dl id="confirm-load" class="restate">
          <dt>Amount</dt>
          <dd data-testid="confirm-amount">{money(load.amount, load.currency)}</dd>
          <dt>Card</dt>
          <dd data-testid="confirm-card">{load.enKashCardId}</dd>
          <dt>Load</dt>
          <dd>
            <code>{load.id}</code>
          </dd>
          <dt>Created</dt>
          <dd>{time(load.createdAt)}</dd>
          <dt>Status</dt>
          <dd>
            {load.status}
            {load.statusReason ? ` (${load.statusReason})` : ''}
          </dd>
        </dl>
        {action === 'resolve' && (
          <fieldset>
            <legend>What EnKash did with it</legend>
            <label>
              <input type="radio" name="outcome" value="posted" checked={outcome === 'posted'} onChange={() => setOutcome('posted')} />{' '}
              posted: EnKash applied it (the card keeps the money)
            </label>
            <label>
              <input
                type="radio"
                name="outcome"
                value="reversed"
                checked={outcome === 'reversed'}
                onChange={() => setOutcome('reversed')}
              />{' '}
              reversed: EnKash did not apply it (the money returns to the parent account)
            </label>
          </fieldset>
        )}
        {action === 'requeue' && (
          <p>The worker looks the reference up at EnKash and sends it again, with the same reference, only if EnKash shows it absent.</p>
        )}
        {action === 'undo' && <p>An opposite posted transfer is appended; the posted load itself is never edited.</p>}
        {needsReason && (
          <p>
            <label for="confirm-reason">Reason (kept in the load's events with your key's name)</label>
            <textarea
              id="confirm-reason"
              required
              maxLength={1000}
              rows={3}
              value={reason}
              onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
            />
          </p>
        )}
        <div role="alert" aria-live="assertive">
          {error && (
            <p class="error">
              <code>{error.describe()}</code>
            </p>
          )}
        </div>
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy || (needsReason && !reason.trim())}>
            {busy ? 'Sending…' : confirmText}
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
