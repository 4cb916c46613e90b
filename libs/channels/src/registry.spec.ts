import { describe, expect, it } from 'vitest';
import { CHANNELS } from '#domain';
import { ADAPTERS, adapterFor } from './registry.js';

describe('ADAPTERS', () => {
  it.each(CHANNELS)('has an adapter for %s that names its channel', (channel) => {
    expect(adapterFor(channel)).toBe(ADAPTERS[channel]);
    expect(adapterFor(channel).channel).toBe(channel);
  });

  it('lists exactly the channels', () => {
    expect(Object.keys(ADAPTERS).sort()).toEqual([...CHANNELS].sort());
  });
});
