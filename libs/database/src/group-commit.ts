interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

interface Lane<T, R> {
  waiting: Array<Waiting<T, R>>;
  running: boolean;
}

/**
 * Group commit: concurrent callers with the same key (a workspace) share one flush (one transaction)
 * instead of each paying for its own. A caller arriving while its key's flush is running waits for
 * it to end and goes in the next one, with everyone else who arrived meanwhile; an idle key flushes
 * at once, so a lone caller waits for nothing but its own write. One flush runs per key at a time.
 *
 * `flush` answers one result per item, in order. When a flush of several items fails, each item is
 * flushed again on its own: one bad item fails only its own caller.
 */
export class GroupCommit<K, T, R> {
  private readonly lanes = new Map<K, Lane<T, R>>();

  /**
   * `gatherTick` false: an idle key flushes a lone caller at once, without waiting for the rest of
   * its tick (a setImmediate hop costs a latency-bound path a few milliseconds on a busy machine);
   * callers still gather while a flush runs.
   */
  constructor(
    private readonly flush: (key: K, items: T[]) => Promise<R[]>,
    private readonly maxItems = 200,
    private readonly gatherTick = true,
  ) {}

  submit(key: K, item: T): Promise<R> {
    return this.submitMany(key, [item])[0]!;
  }

  /** Several items of one caller, in one flush when their key is idle (one answer each, in order). */
  submitMany(key: K, items: T[]): Array<Promise<R>> {
    if (items.length === 0) return [];
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { waiting: [], running: false };
      this.lanes.set(key, lane);
    }
    const waiting = lane.waiting;
    const answers = items.map((item) => new Promise<R>((resolve, reject) => void waiting.push({ item, resolve, reject })));
    if (!lane.running) void this.drain(key, lane);
    return answers;
  }

  private async drain(key: K, lane: Lane<T, R>): Promise<void> {
    lane.running = true;
    // Callers of the same tick (one request's events, a burst parsed together) join the first flush.
    if (this.gatherTick) await new Promise<void>((resolve) => setImmediate(resolve));
    while (lane.waiting.length > 0) await this.run(key, lane.waiting.splice(0, this.maxItems));
    lane.running = false;
    this.lanes.delete(key);
  }

  private async run(key: K, batch: Array<Waiting<T, R>>): Promise<void> {
    let results: R[];
    try {
      results = await this.flush(key, batch.map((waiting) => waiting.item));
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      for (const waiting of batch) await this.run(key, [waiting]);
      return;
    }
    batch.forEach((waiting, i) => waiting.resolve(results[i]!));
  }
}
