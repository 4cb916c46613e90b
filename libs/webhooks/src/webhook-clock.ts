/** The time now. Injected (WEBHOOK_CLOCK) so rotation windows and the schedule can be tested without waiting. */
export type WebhookClock = () => Date;

export const WEBHOOK_CLOCK = Symbol('WEBHOOK_CLOCK');

export const systemClock: WebhookClock = () => new Date();
