import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsOptional, IsString, MaxLength } from 'class-validator';
import { EVENT_TYPES } from '#domain';
import type { WebhookAttemptView, WebhookDeliveryView, WebhookEndpointView, WebhookEndpointWithSecret } from '#webhooks';

const ID_EXAMPLE = '0195f3a2-7c1e-7d40-9a6b-2f4c8e1d3b5d';
const URL_DESCRIPTION =
  'Where Ferry POSTs the events: https, resolving to public addresses only (private, loopback, link-local and cloud-metadata addresses are refused, ' +
  'at saving and again at every connection). ALLOW_PRIVATE_URLS lifts this for local development.';

export class CreateWebhookEndpointDto {
  @ApiProperty({ example: 'https://crm.example.com/ferry/webhooks', maxLength: 2048, description: URL_DESCRIPTION })
  @IsString()
  @MaxLength(2048)
  url: string;

  @ApiProperty({ enum: EVENT_TYPES, isArray: true, example: ['message.created', 'conversation.updated'], description: 'The event types to receive (at least one)' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVENT_TYPES.length)
  @IsString({ each: true })
  events: string[];
}

export class UpdateWebhookEndpointDto {
  @ApiPropertyOptional({ example: 'https://crm.example.com/ferry/webhooks', maxLength: 2048, description: URL_DESCRIPTION })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ enum: EVENT_TYPES, isArray: true, example: ['message.created'] })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVENT_TYPES.length)
  @IsString({ each: true })
  events?: string[];

  @ApiPropertyOptional({ example: true, description: 'true turns a disabled endpoint back on (clears disabledAt); false turns it off' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class WebhookEndpointDto implements WebhookEndpointView {
  @ApiProperty({ example: ID_EXAMPLE, format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'https://crm.example.com/ferry/webhooks' })
  url: string;

  @ApiProperty({ enum: EVENT_TYPES, isArray: true, example: ['message.created'] })
  events: string[];

  @ApiProperty({ example: true, description: 'false once disabled (by a 410 answer, 5 days of failures, or a member)' })
  enabled: boolean;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  disabledAt: string | null;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Why the endpoint was disabled' })
  disabledReason: string | null;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  updatedAt: string;
}

export class WebhookEndpointWithSecretDto extends WebhookEndpointDto implements WebhookEndpointWithSecret {
  @ApiProperty({
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description: 'The signing secret, shown once: verify webhook-signature with it (any Standard Webhooks library). Ferry keeps it encrypted.',
  })
  secret: string;
}

export class WebhookEndpointsPageDto {
  @ApiProperty({ type: [WebhookEndpointDto] })
  data: WebhookEndpointDto[];

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;
}

export class WebhookAttemptDto implements WebhookAttemptView {
  @ApiProperty({ example: 1, description: '1 for the first try' })
  attempt: number;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  attemptedAt: string;

  @ApiProperty({ example: true })
  succeeded: boolean;

  @ApiProperty({ type: Number, nullable: true, example: 200, description: 'null when no answer came (timeout, refused address, network error)' })
  statusCode: number | null;

  @ApiProperty({ example: 84 })
  latencyMs: number;

  @ApiProperty({ type: String, nullable: true, example: 'ok', description: 'The first 1000 characters of the answer' })
  responseExcerpt: string | null;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Why the try failed, e.g. "No answer within 15000 ms", "HTTP 503"' })
  error: string | null;
}

export class WebhookDeliveryDto implements WebhookDeliveryView {
  @ApiProperty({ example: ID_EXAMPLE, format: 'uuid' })
  id: string;

  @ApiProperty({ example: ID_EXAMPLE, format: 'uuid' })
  endpointId: string;

  @ApiProperty({ example: ID_EXAMPLE, format: 'uuid', description: 'The event id: the webhook-id header, the same on every try and replay' })
  eventId: string;

  @ApiProperty({ example: 'message.created' })
  eventType: string;

  @ApiProperty({ example: false, description: 'A test-send' })
  test: boolean;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: null, description: 'The delivery this one replays' })
  replayOf: string | null;

  @ApiProperty({ enum: ['pending', 'succeeded', 'failed'], example: 'succeeded' })
  status: 'pending' | 'succeeded' | 'failed';

  @ApiProperty({ example: 1 })
  attemptCount: number;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null, description: 'When the next try is due (pending only)' })
  nextAttemptAt: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  failureReason: string | null;

  @ApiProperty({ example: '2026-01-15T09:30:00.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: [WebhookAttemptDto] })
  attempts: WebhookAttemptDto[];
}

export class WebhookDeliveriesPageDto {
  @ApiProperty({ type: [WebhookDeliveryDto] })
  data: WebhookDeliveryDto[];

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next (older) page; null on the last' })
  nextCursor: string | null;
}
