import type { Type } from '@nestjs/common';

/** Controllers of inboxes, teams, labels and canned responses. */
export const SETTINGS_CONTROLLERS: Type[] = [];
