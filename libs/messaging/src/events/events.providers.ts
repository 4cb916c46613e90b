import type { Provider } from '@nestjs/common';
import { EventWriter } from './event-writer.js';

/** The event catalogue's writer (libs/messaging/src/events). */
export const EVENT_PROVIDERS: Provider[] = [EventWriter];
