import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

describe('GroupCommit', () => {
  it('writes the items of one tick together, per key', async () => {
    const writes: Array<[string, number[]]> = [];
    const group = new GroupCommit<number>(async (key, items) => void writes.push([key, items]));
    await Promise.all([group.add('a', 1), group.add('b', 2), group.add('a', 3)]);
    expect(writes).toEqual([['a', [1, 3]], ['b', [2]]]);
  });

  it('holds what arrives during a write for the next one, one write at a time per key', async () => {
    const writes: number[][] = [];
    let running = 0;
    let overlapped = false;
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const group = new GroupCommit<number>(async (_key, items) => {
      overlapped ||= running > 0;
      running++;
      writes.push(items);
      if (writes.length === 1) await first;
      running--;
    });
    const one = group.add('a', 1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [group.add('a', 2), group.add('a', 3)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual([[1]]);
    release();
    await Promise.all([one, ...later]);
    expect(writes).toEqual([[1], [2, 3]]);
    expect(overlapped).toBe(false);
  });

  it('fails only the items of a failed write', async () => {
    let calls = 0;
    const group = new GroupCommit<number>(async () => {
      if (calls++ === 0) throw new Error('database down');
    });
    const failed = group.add('a', 1);
    await expect(failed).rejects.toThrow('database down');
    await expect(group.add('a', 2)).resolves.toBeUndefined();
  });
});
