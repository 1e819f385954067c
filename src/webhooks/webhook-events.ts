/** The events a subscription may ask for; the migration's CHECK constraints list the same names. */
export const WEBHOOK_EVENTS = ['card_load.posted', 'card_load.reversed', 'card_load.needs_review'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
