import { fieldColumns } from '../common/csv';
import { formatMinor } from '../common/money';
import { FindingKind } from './reconciliation.compare';

export type RunRow = {
  id: string;
  trigger: 'schedule' | 'manual';
  status: 'running' | 'completed' | 'failed';
  started_at: Date;
  finished_at: Date | null;
  window_from: Date | null;
  window_to: Date;
  next_from: Date | null;
  checked_loads: number;
  checked_cards: number;
  findings_count: number;
  error: string | null;
};

export type FindingRow = {
  id: string;
  run_id: string;
  kind: FindingKind;
  load_id: string | null;
  reference: string | null;
  account_code: string | null;
  ledger_amount: string | null;
  enkash_amount: string | null;
  evidence: Record<string, unknown>;
  found_at: Date;
};

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const money = (minor: string | null) => (minor === null ? null : formatMinor(minor));

export function runView(r: RunRow) {
  return {
    id: r.id,
    trigger: r.trigger,
    status: r.status,
    startedAt: iso(r.started_at)!,
    finishedAt: iso(r.finished_at),
    windowFrom: iso(r.window_from),
    windowTo: iso(r.window_to)!,
    checkedLoads: r.checked_loads,
    checkedCards: r.checked_cards,
    findingsCount: r.findings_count,
    error: r.error,
  };
}

export type RunView = ReturnType<typeof runView>;

export function findingView(f: FindingRow) {
  return {
    id: String(f.id),
    runId: f.run_id,
    kind: f.kind,
    loadId: f.load_id,
    reference: f.reference,
    accountCode: f.account_code,
    ledgerAmount: money(f.ledger_amount),
    enkashAmount: money(f.enkash_amount),
    evidence: f.evidence,
    foundAt: f.found_at.toISOString(),
  };
}

export const FINDING_CSV = fieldColumns<FindingView>(
  'id',
  'runId',
  'kind',
  'loadId',
  'reference',
  'accountCode',
  'ledgerAmount',
  'enkashAmount',
  'foundAt',
  'evidence',
);

export type FindingView = ReturnType<typeof findingView>;
