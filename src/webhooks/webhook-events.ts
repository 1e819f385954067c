/**
 * The events a subscription may ask for; the migrations' CHECK constraints list the same names. `audit.checkpoint`
 * (a signed chain-head checkpoint, docs/audit.md) belongs to no load: every subscription that asks for it hears it.
 */
export const WEBHOOK_EVENTS = ['card_load.posted', 'card_load.reversed', 'card_load.needs_review', 'audit.checkpoint'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
