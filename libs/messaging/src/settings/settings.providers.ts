import type { Provider } from '@nestjs/common';
import { CannedResponsesRepository } from './canned-responses.repository.js';
import { CannedResponsesService } from './canned-responses.service.js';
import { LabelsRepository } from './labels.repository.js';
import { LabelsService } from './labels.service.js';
import { TeamsRepository } from './teams.repository.js';
import { TeamsService } from './teams.service.js';
import { WorkspaceSettingsService } from './workspace-settings.service.js';

/** Teams, labels, canned responses and the workspace's settings. */
export const SETTINGS_PROVIDERS: Provider[] = [
  TeamsRepository,
  TeamsService,
  LabelsRepository,
  LabelsService,
  CannedResponsesRepository,
  CannedResponsesService,
  WorkspaceSettingsService,
];
