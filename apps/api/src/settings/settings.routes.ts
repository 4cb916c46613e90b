import type { Type } from '@nestjs/common';
import { CannedResponsesController } from './canned-responses.controller.js';
import { InboxesController } from './inboxes.controller.js';
import { LabelsController } from './labels.controller.js';
import { TeamsController } from './teams.controller.js';
import { TemplatesController } from './templates.controller.js';
import { WorkspaceSettingsController } from './workspace-settings.controller.js';

/** Controllers of inboxes (and their message templates), teams, labels, canned responses and the workspace's settings. */
export const SETTINGS_CONTROLLERS: Type[] = [InboxesController, TeamsController, LabelsController, CannedResponsesController, TemplatesController, WorkspaceSettingsController];
