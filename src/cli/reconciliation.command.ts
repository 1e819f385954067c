import { Command, Option } from 'nest-commander';
import { CardLoadsStore } from '../card-loads/card-loads.store';
import { ApiError } from '../common/errors';
import { formatMinor } from '../common/money';
import { Instant, msIso, parseInstant } from '../common/instant';
import { LedgerClock } from '../ledger/ledger-clock';
import { CliCommand, JsonOption } from './cli-command';
import { CliUsageError, emit, formatAge, table } from './output';

const STATUSES = ['pending', 'posted', 'reversed', 'needs_review'] as const;
const OPEN_STATUSES = ['pending', 'needs_review'] as const;

interface OldestOpen {
  loadId: string;
  createdAt: string;
  ageSeconds: number;
}

/**
 * Loads created in [from, to) by currency and status, and the oldest load still waiting in each open status.
 * Amounts are summed per currency (never across currencies) in SQL as bigint and printed with formatMinor.
 * Ages use the database clock, like every other time in the service.
 */
@Command({ name: 'reconciliation', description: 'loads by status (count, amount) and the age of the oldest pending / needs_review load' })
export class ReconciliationCommand extends CliCommand {
  constructor(
    private readonly clock: LedgerClock,
    private readonly loads: CardLoadsStore,
  ) {
    super();
  }

  @Option({ flags: '--from <time>', description: 'loads created at or after this ISO 8601 time' })
  parseFrom(value: string): Instant | null {
    return cliDate('--from', value);
  }

  @Option({ flags: '--to <time>', description: 'loads created before this ISO 8601 time' })
  parseTo(value: string): Instant | null {
    return cliDate('--to', value);
  }

  async run(_args: string[], opts: JsonOption & { from?: Instant | null; to?: Instant | null }): Promise<void> {
    const from = opts.from ?? null;
    const to = opts.to ?? null;
    if (from && to && from.iso >= to.iso) throw new CliUsageError('--from must be before --to');
    await this.db.connect();
    // The loads created before --to are a fixed set once every row before it is final (docs/time.md).
    if (to) await this.clock.finalBefore(to, false);
    const { groups, oldest, now } = await this.loads.windowSummary(from?.iso ?? null, to?.iso ?? null, OPEN_STATUSES);

    // Every status for every currency that has loads, zeros included, so the shape never depends on the data.
    const currencies = [...new Set(groups.map((g) => g.currency))].sort();
    const loads = currencies.flatMap((currency) =>
      STATUSES.map((status) => {
        const g = groups.find((r) => r.currency === currency && r.status === status);
        return { currency, status, count: Number(g?.count ?? 0), amount: formatMinor(g?.amount ?? 0) };
      }),
    );
    const totals = currencies.map((currency) => {
      const rows = groups.filter((g) => g.currency === currency);
      return {
        currency,
        count: rows.reduce((n, r) => n + Number(r.count), 0),
        amount: formatMinor(rows.reduce((s, r) => s + BigInt(r.amount), 0n)),
      };
    });
    const oldestOpen = Object.fromEntries(
      OPEN_STATUSES.map((status) => {
        const o = oldest.find((r) => r.status === status);
        const value: OldestOpen | null = o?.id
          ? { loadId: o.id, createdAt: o.created_at!.toISOString(), ageSeconds: Math.floor(o.age_seconds!) }
          : null;
        return [status, value];
      }),
    ) as Record<(typeof OPEN_STATUSES)[number], OldestOpen | null>;
    const report = { from: from ? msIso(from) : null, to: to ? msIso(to) : null, asOf: now.toISOString(), loads, totals, oldestOpen };

    emit(opts.json === true, report, () =>
      [
        `card loads created ${report.from ?? 'from the start'} .. ${report.to ?? 'now'} (as of ${report.asOf})`,
        loads.length === 0
          ? 'no card loads in this window'
          : table(
              ['CURRENCY', 'STATUS', 'COUNT', 'AMOUNT'],
              [
                ...loads.map((l) => [l.currency, l.status, String(l.count), l.amount]),
                ...totals.map((t) => [t.currency, 'total', String(t.count), t.amount]),
              ],
              [2, 3],
            ),
        ...OPEN_STATUSES.map((s) => {
          const o = oldestOpen[s];
          return `oldest ${s}: ${o ? `${formatAge(o.ageSeconds)} (load ${o.loadId}, created ${o.createdAt})` : 'none'}`;
        }),
      ].join('\n'),
    );
  }
}

/** The API's date rules (ISO 8601, no offset = UTC), reported as a usage error naming the flag. */
function cliDate(flag: string, raw: string | undefined): Instant | null {
  try {
    return parseInstant(flag, raw);
  } catch (e) {
    if (e instanceof ApiError) throw new CliUsageError(`${flag} must be an ISO 8601 date or time, such as 2026-03-05T10:03:00Z`);
    throw e;
  }
}
