import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayUnique, IsArray, IsIn } from 'class-validator';
import { CHANNELS, type Channel } from '#domain';
import type { WorkspaceSettingsView } from '#messaging';

const FALLBACK_DOC = {
  enum: CHANNELS,
  isArray: true,
  example: ['whatsapp', 'sms', 'email'],
  maxItems: CHANNELS.length,
  description:
    'Default fallback policy: channels in order of preference. A reply posted without `fallback` goes on, when its identity ' +
    'fails for good, is out of its window, or reports no delivery in time, to the contact\'s identity on each of these channels in turn ' +
    '(the one the customer last wrote on). Empty: no default fallback. A reply with `fallback: []` opts out.',
};

export class WorkspaceSettingsDto {
  @ApiProperty(FALLBACK_DOC)
  fallbackChannels: Channel[];

  static from(view: WorkspaceSettingsView): WorkspaceSettingsDto {
    return { fallbackChannels: view.fallbackChannels };
  }
}

export class UpdateWorkspaceSettingsDto {
  @ApiPropertyOptional(FALLBACK_DOC)
  @IsArray()
  @ArrayMaxSize(CHANNELS.length)
  @ArrayUnique({ message: 'fallbackChannels must not list a channel twice' })
  @IsIn(CHANNELS, { each: true, message: `each of fallbackChannels must be one of ${CHANNELS.join(', ')}` })
  fallbackChannels?: Channel[];
}
