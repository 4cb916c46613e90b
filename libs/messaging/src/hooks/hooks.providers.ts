import type { Provider } from '@nestjs/common';
import { adapterFor } from '#channels';
import { CHANNEL_ADAPTERS } from '../delivery/channel-adapters.js';
import { HookService } from './hook.service.js';
import { InboundEventsRepository } from './inbound-events.repository.js';
import { InboundEventsService } from './inbound-events.service.js';
import { InboxRoutes } from './inbox-routes.js';
import { MailDropService } from './mail-drop.service.js';
import { ReceiptsRepository } from './receipts.repository.js';
import { StatusService } from './status.service.js';

/** Provider hooks (store and queue), and the processing of what they stored (inbound.process, status.apply). */
export const HOOK_PROVIDERS: Provider[] = [
  InboundEventsRepository,
  ReceiptsRepository,
  InboxRoutes,
  HookService,
  InboundEventsService,
  StatusService,
  MailDropService,
  { provide: CHANNEL_ADAPTERS, useValue: adapterFor },
];
