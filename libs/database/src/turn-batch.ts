interface Submitted<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * The calls made in one turn of the event loop, sent together: `flush` gets every item submitted in
 * the turn, in call order, and answers one result each. One write to another process (Redis) costs
 * more CPU than most of what is in it, so callers whose work arrived together share it. If the flush
 * fails, every caller of the turn fails (each then does what it does when its own write fails).
 * Unlike GroupCommit, a turn never waits for the previous one's flush to end.
 */
export class TurnBatch<T, R> {
  private waiting: Array<Submitted<T, R>> = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly flush: (items: T[]) => Promise<R[]>) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.scheduled ??= setImmediate(() => this.flushNow());
    });
  }

  /** Sends what waits now, without waiting for the end of the turn (shutdown). */
  flushNow(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    this.flush(batch.map((submitted) => submitted.item)).then(
      (results) => batch.forEach((submitted, i) => submitted.resolve(results[i]!)),
      (error: unknown) => batch.forEach((submitted) => submitted.reject(error)),
    );
  }
}
