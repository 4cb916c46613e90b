import { describe, expect, it } from 'vitest';
import { TurnBatch } from './turn-batch.js';

describe('TurnBatch', () => {
  it('flushes the items of one turn together, in call order, and a later turn on its own', async () => {
    const flushes: number[][] = [];
    const batch = new TurnBatch<number, number>(async (items) => {
      flushes.push(items);
      return items.map((item) => item * 10);
    });
    expect(await Promise.all([batch.submit(1), batch.submit(2), batch.submit(3)])).toEqual([10, 20, 30]);
    expect(await batch.submit(4)).toBe(40);
    expect(flushes).toEqual([[1, 2, 3], [4]]);
  });

  it('fails every caller of a turn whose flush fails', async () => {
    const batch = new TurnBatch<number, number>(async () => Promise.reject(new Error('Connection is closed.')));
    const results = await Promise.allSettled([batch.submit(1), batch.submit(2)]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
  });

  it('sends what waits at once when asked (shutdown)', async () => {
    const flushes: number[][] = [];
    const batch = new TurnBatch<number, void>(async (items) => {
      flushes.push(items);
      return items.map(() => undefined);
    });
    const sent = batch.submit(7);
    batch.flushNow();
    expect(flushes).toEqual([[7]]);
    await sent;
  });
});
