import type { Provider } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { OutboundGuard } from '#net';
import { TemplateSyncService } from './template-sync.service.js';
import { TemplatesRepository } from './templates.repository.js';
import { TemplatesService } from './templates.service.js';
import { WhatsappTemplatesClient } from './whatsapp-templates.client.js';

/** Message templates of inboxes: kept by hand, synced from the provider, checked on send. */
export const TEMPLATE_PROVIDERS: Provider[] = [
  TemplatesRepository,
  TemplatesService,
  TemplateSyncService,
  WhatsappTemplatesClient,
  // The SSRF guard of every call to a workspace-given URL: template sync here, and delivery (DeliveryModule imports this module).
  { provide: OutboundGuard, inject: [CONFIG], useFactory: (config: FerryConfig) => new OutboundGuard({ allowPrivateUrls: config.allowPrivateUrls }) },
];
