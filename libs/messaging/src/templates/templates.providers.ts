import type { Provider } from '@nestjs/common';
import { TemplateSyncService } from './template-sync.service.js';
import { TemplatesRepository } from './templates.repository.js';
import { TemplatesService } from './templates.service.js';
import { WhatsappTemplatesClient } from './whatsapp-templates.client.js';

/** Message templates of inboxes: kept by hand, synced from the provider, checked on send. */
export const TEMPLATE_PROVIDERS: Provider[] = [TemplatesRepository, TemplatesService, TemplateSyncService, WhatsappTemplatesClient];
