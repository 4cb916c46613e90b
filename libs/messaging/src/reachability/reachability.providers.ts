import type { Provider } from '@nestjs/common';
import { CLOCK, systemClock } from './clock.js';
import { ReachabilityRepository } from './reachability.repository.js';
import { ReachabilityService } from './reachability.service.js';

/** Reachability of contact identities (windows, quotas, unsubscribes) and the send check. */
export const REACHABILITY_PROVIDERS: Provider[] = [ReachabilityRepository, ReachabilityService, { provide: CLOCK, useValue: systemClock }];
