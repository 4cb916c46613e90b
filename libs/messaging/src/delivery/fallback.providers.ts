import type { Provider } from '@nestjs/common';
import { DeliveryAttemptsRepository } from './delivery-attempts.repository.js';
import { FallbackRepository } from './fallback.repository.js';
import { FallbackService } from './fallback.service.js';
import { OutboundMessagesRepository } from './outbound-messages.repository.js';

/**
 * Fallback hops: in the messaging module (not only the worker's delivery module) because delivery
 * receipts (StatusService) hop too, and the API reads the workspace's fallback policy.
 */
export const FALLBACK_PROVIDERS: Provider[] = [FallbackRepository, FallbackService, OutboundMessagesRepository, DeliveryAttemptsRepository];
