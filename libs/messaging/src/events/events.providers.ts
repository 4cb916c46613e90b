import type { Provider } from '@nestjs/common';
import { EventWriter } from './event-writer.js';
import { LivePublisher } from './live-publisher.js';

/** The event catalogue's writer, and the live stream's publisher (libs/messaging/src/events). */
export const EVENT_PROVIDERS: Provider[] = [EventWriter, LivePublisher];
