/** The most items one transaction takes. */
const MAX_BATCH = 64;

interface Pending<I, O> {
  item: I;
  resolve: (answer: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit, per workspace: items submitted while the workspace's previous batch is running are
 * handed to `run` together as the next batch (one transaction for all of them); an item submitted
 * when nothing runs goes at once, alone, so nothing waits at light load. `run` answers one result
 * per item, in order. A batch that fails is run again one item at a time, so one bad item fails
 * only its own caller.
 */
export class GroupCommit<I, O> {
  private readonly waiting = new Map<string, Array<Pending<I, O>>>();
  private readonly busy = new Set<string>();

  constructor(private readonly run: (workspaceId: string, items: I[]) => Promise<O[]>) {}

  submit(workspaceId: string, item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(workspaceId);
      if (queue) queue.push({ item, resolve, reject });
      else this.waiting.set(workspaceId, [{ item, resolve, reject }]);
      if (!this.busy.has(workspaceId)) void this.drain(workspaceId);
    });
  }

  private async drain(workspaceId: string): Promise<void> {
    this.busy.add(workspaceId);
    try {
      for (;;) {
        const queue = this.waiting.get(workspaceId);
        if (!queue || queue.length === 0) break;
        const batch = queue.splice(0, MAX_BATCH);
        if (queue.length === 0) this.waiting.delete(workspaceId);
        await this.runBatch(workspaceId, batch);
      }
    } finally {
      this.busy.delete(workspaceId);
    }
  }

  private async runBatch(workspaceId: string, batch: Array<Pending<I, O>>): Promise<void> {
    try {
      const answers = await this.run(workspaceId, batch.map((pending) => pending.item));
      batch.forEach((pending, i) => pending.resolve(answers[i]!));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      for (const pending of batch) {
        try {
          pending.resolve((await this.run(workspaceId, [pending.item]))[0]!);
        } catch (alone) {
          pending.reject(alone);
        }
      }
    }
  }
}
