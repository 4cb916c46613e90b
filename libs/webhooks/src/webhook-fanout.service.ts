import { Injectable } from '@nestjs/common';
import type { EventEnvelope } from '#domain';

/**
 * Turns one committed event into one delivery per subscribed, enabled endpoint of its workspace.
 * Idempotent on (endpoint, event id): a re-run of the event job writes nothing twice.
 */
@Injectable()
export class WebhookFanout {
  async fanOut(event: EventEnvelope): Promise<void> {
    void event; // stub: the delivery rows arrive with the endpoints (issue 5)
  }
}
