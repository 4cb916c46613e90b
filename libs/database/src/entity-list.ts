import { ApiKeyEntity } from './entities/api-key.entity.js';
import { CannedResponseEntity } from './entities/canned-response.entity.js';
import { ContactEntity, ContactIdentityEntity } from './entities/contact.entity.js';
import { ConversationEntity } from './entities/conversation.entity.js';
import { InboxEntity } from './entities/inbox.entity.js';
import { InvitationEntity } from './entities/invitation.entity.js';
import { LabelEntity } from './entities/label.entity.js';
import { MemberEntity } from './entities/member.entity.js';
import { MessageTemplateEntity } from './entities/message-template.entity.js';
import { DeliveryAttemptEntity, MessageEntity } from './entities/message.entity.js';
import { IdempotencyKeyEntity, OutboxEntity } from './entities/outbox.entity.js';
import { RefreshTokenEntity } from './entities/refresh-token.entity.js';
import { TeamEntity, TeamMemberEntity } from './entities/team.entity.js';
import { UserEntity } from './entities/user.entity.js';
import { WorkspaceEntity } from './entities/workspace.entity.js';
import { InboundEventEntity } from './entities/inbound-event.entity.js';


export {
  ApiKeyEntity,
  CannedResponseEntity,
  ContactEntity,
  ContactIdentityEntity,
  ConversationEntity,
  DeliveryAttemptEntity,
  IdempotencyKeyEntity,
  InboundEventEntity,
  InboxEntity,
  InvitationEntity,
  LabelEntity,
  MemberEntity,
  MessageEntity,
  MessageTemplateEntity,
  OutboxEntity,
  RefreshTokenEntity,
  TeamEntity,
  TeamMemberEntity,
  UserEntity,
  WorkspaceEntity,
};
export type { MessageAttachment, TemplateRef } from './entities/message.entity.js';
export type { InboundEventKind } from './entities/inbound-event.entity.js';
export {
  TEMPLATE_CATEGORIES,
  TEMPLATE_SOURCES,
  TEMPLATE_STATUSES,
  type TemplateCategory,
  type TemplateSource,
  type TemplateStatus,
} from './entities/message-template.entity.js';

export const ENTITIES = [
  ApiKeyEntity,
  CannedResponseEntity,
  ContactEntity,
  ContactIdentityEntity,
  ConversationEntity,
  DeliveryAttemptEntity,
  IdempotencyKeyEntity,
  InboundEventEntity,
  InboxEntity,
  InvitationEntity,
  LabelEntity,
  MemberEntity,
  MessageEntity,
  MessageTemplateEntity,
  OutboxEntity,
  RefreshTokenEntity,
  TeamEntity,
  TeamMemberEntity,
  UserEntity,
  WorkspaceEntity,
];
