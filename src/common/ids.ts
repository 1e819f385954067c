import { v7 } from 'uuid';

/**
 * A new id for a load or a journal transaction: a UUID of version 7, whose first 48 bits are the time in
 * milliseconds. Rows made together sit together in every index keyed by it (the loads', the transactions', the
 * entries' and history's by transaction or load, the events', the jobs'), so a write touches those indexes' newest
 * pages, which stay in memory, instead of a random page each: on a large ledger random ids made each intake read pages
 * from outside shared_buffers (docs/design.md, "Time-ordered ids"). The rest of it is random, as before.
 */
export const newRowId = (): string => v7();
