import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

describe('GroupCommit', () => {
  const deferred = () => {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    return { promise, release };
  };

  it('flushes a lone caller at once, and callers arriving during a flush together in the next one', async () => {
    const flushes: Array<{ key: string; items: number[] }> = [];
    const gate = deferred();
    const commit = new GroupCommit<string, number, number>(async (key, items) => {
      flushes.push({ key, items });
      if (flushes.length === 1) await gate.promise;
      return items.map((item) => item * 10);
    });
    const first = commit.submit('a', 1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4].map((item) => commit.submit('a', item));
    const otherKey = commit.submit('b', 9);
    gate.release();
    expect(await Promise.all([first, ...later, otherKey])).toEqual([10, 20, 30, 40, 90]);
    expect(flushes.filter((flush) => flush.key === 'a').map((flush) => flush.items)).toEqual([[1], [2, 3, 4]]);
    expect(flushes.filter((flush) => flush.key === 'b').map((flush) => flush.items)).toEqual([[9]]);
  });

  it('without gatherTick, a lone caller is flushed in its own tick; callers arriving during that flush share the next', async () => {
    const flushes: number[][] = [];
    const gate = deferred();
    const commit = new GroupCommit<string, number, number>(
      async (_key, items) => {
        flushes.push(items);
        if (flushes.length === 1) await gate.promise;
        return items;
      },
      200,
      false,
    );
    const first = commit.submit('a', 1);
    expect(flushes, 'flushed before the tick ends').toEqual([[1]]);
    const later = [2, 3].map((item) => commit.submit('a', item));
    gate.release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3]);
    expect(flushes).toEqual([[1], [2, 3]]);
  });

  it('when a shared flush fails, flushes each item alone: only the bad one fails', async () => {
    const flushes: number[][] = [];
    const commit = new GroupCommit<string, number, string>(async (_key, items) => {
      flushes.push(items);
      if (items.includes(13)) throw new Error('unlucky');
      return items.map(String);
    });
    const outcomes = await Promise.allSettled([12, 13, 14].map((item) => commit.submit('k', item)));
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).message))).toEqual(['12', 'unlucky', '14']);
    expect(flushes).toEqual([[12, 13, 14], [12], [13], [14]]);
  });

  it('caps a flush at maxItems', async () => {
    const sizes: number[] = [];
    const commit = new GroupCommit<string, number, number>(async (_key, items) => {
      sizes.push(items.length);
      return items;
    }, 2);
    expect(await Promise.all([1, 2, 3, 4, 5].map((item) => commit.submit('k', item)))).toEqual([1, 2, 3, 4, 5]);
    expect(sizes).toEqual([2, 2, 1]);
  });
  it('submitMany without gatherTick: the items of one call share one flush on an idle key, each gets its own answer', async () => {
    const flushes: number[][] = [];
    const commit = new GroupCommit<string, number, number>(
      async (_key, items) => {
        flushes.push(items);
        return items.map((item) => item + 1);
      },
      200,
      false,
    );
    expect(await Promise.all(commit.submitMany('a', [1, 2, 3]))).toEqual([2, 3, 4]);
    expect(commit.submitMany('a', [])).toEqual([]);
    expect(flushes).toEqual([[1, 2, 3]]);
  });
});
