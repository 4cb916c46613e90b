/**
 * Group commit: items added for one key while that key's write is running (or within the same tick)
 * are written together by the next write, so concurrent deliveries of a workspace share one
 * transaction. Each add() settles with the write that carried its item: a failed write fails only
 * its own items.
 */
export class GroupCommit<T> {
  private readonly queued = new Map<string, { items: T[]; promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void }>();
  private readonly writing = new Set<string>();

  constructor(private readonly write: (key: string, items: T[]) => Promise<void>) {}

  add(key: string, item: T): Promise<void> {
    let group = this.queued.get(key);
    if (!group) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      group = { items: [], promise, resolve, reject };
      this.queued.set(key, group);
      if (!this.writing.has(key)) setImmediate(() => this.flush(key));
    }
    group.items.push(item);
    return group.promise;
  }

  private flush(key: string): void {
    const group = this.queued.get(key);
    if (!group || this.writing.has(key)) return;
    this.queued.delete(key);
    this.writing.add(key);
    this.write(key, group.items)
      .then(group.resolve, group.reject)
      .finally(() => {
        this.writing.delete(key);
        if (this.queued.has(key)) this.flush(key);
      });
  }
}
