import type { Channel } from '#domain';
import type { ChannelAdapter, ChannelConfigs } from '#channels';

/** Finds a channel's adapter: the registry in production, a fake in tests. */
export type AdapterLookup = <C extends Channel>(channel: C) => ChannelAdapter<ChannelConfigs[C]>;

export const CHANNEL_ADAPTERS = Symbol('CHANNEL_ADAPTERS');
