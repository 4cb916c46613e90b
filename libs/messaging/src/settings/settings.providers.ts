import type { Provider } from '@nestjs/common';

/** Teams, labels and canned responses. */
export const SETTINGS_PROVIDERS: Provider[] = [];
