/** The time now. Injected (CLOCK) so the reachability edges can be tested to the millisecond. */
export type Clock = () => Date;

export const CLOCK = Symbol('CLOCK');

export const systemClock: Clock = () => new Date();
