import { ApiProperty } from '@nestjs/swagger';
import { type Channel, CHANNELS, REACHABILITY_REASONS, type ReachabilityReason } from '#domain';
import type { ContactReachability, IdentityReachability } from '#messaging';

const UUID_EXAMPLE = '01936f8e-b2c3-7d4e-9f50-6a7b8c9d0e1f';

export class IdentityReachabilityDto {
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) identityId: string;
  @ApiProperty({ enum: CHANNELS, example: 'whatsapp' }) channel: Channel;
  @ApiProperty({ format: 'uuid', example: UUID_EXAMPLE }) inboxId: string;
  @ApiProperty({ description: "The customer's address on the inbox (wa_id, OpenID, phone, email...)", example: '14155550123' }) externalId: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When the customer last wrote on this identity', example: '2026-03-10T08:15:00.000Z' })
  lastInboundAt: string | null;

  @ApiProperty({ description: 'A free-form message (text, media) can be sent now', example: true })
  canSendFreeForm: boolean;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: "When the free-form window ends (or ended): WhatsApp 24 h, WeChat 48 h after the customer's last message. null: the channel has no window, or the customer never wrote",
    example: '2026-03-11T08:15:00.000Z',
  })
  freeFormUntil: string | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Free-form messages left in the window (WeChat: 5 per window); null: unlimited', example: null })
  remaining: number | null;

  @ApiProperty({ description: 'A template message can be sent now (WhatsApp: always, outside the window too)', example: true })
  templatesAllowed: boolean;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: "LINE: the customer's reply token is fresh until then (the next reply is free); push is possible either way",
    example: null,
  })
  replyTokenUntil: string | null;

  @ApiProperty({ enum: REACHABILITY_REASONS, nullable: true, description: 'Why a free-form message cannot be sent now; null when it can', example: null })
  reason: ReachabilityReason | null;

  static from(identity: IdentityReachability): IdentityReachabilityDto {
    return {
      identityId: identity.identityId,
      channel: identity.channel,
      inboxId: identity.inboxId,
      externalId: identity.externalId,
      lastInboundAt: identity.lastInboundAt?.toISOString() ?? null,
      canSendFreeForm: identity.canSendFreeForm,
      freeFormUntil: identity.freeFormUntil?.toISOString() ?? null,
      remaining: identity.remaining,
      templatesAllowed: identity.templatesAllowed,
      replyTokenUntil: identity.replyTokenUntil?.toISOString() ?? null,
      reason: identity.reason,
    };
  }
}

export class ContactReachabilityDto {
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The identity a reply leaves by when none is named: the one the customer last wrote on (null: the contact has no identity)',
    example: UUID_EXAMPLE,
  })
  defaultIdentityId: string | null;

  @ApiProperty({ type: [IdentityReachabilityDto], description: "The contact's identities on inboxes that exist, oldest first" })
  identities: IdentityReachabilityDto[];

  static from(reachability: ContactReachability): ContactReachabilityDto {
    return { defaultIdentityId: reachability.defaultIdentityId, identities: reachability.identities.map((identity) => IdentityReachabilityDto.from(identity)) };
  }
}
