import { randomDigits } from '../ids.js';
import { type Json, SimInputError, asRecord, optString, reqString } from '../input.js';

/** A message template as the Graph API lists it (GET /{waba-id}/message_templates). */
export interface SimTemplate {
  id: string;
  name: string;
  language: string;
  status: string;
  category: string;
  parameter_format: 'POSITIONAL';
  components: Json[];
}

const STATUSES = new Set(['APPROVED', 'PENDING', 'REJECTED', 'PAUSED', 'DISABLED', 'IN_APPEAL']);
const CATEGORIES = new Set(['MARKETING', 'UTILITY', 'AUTHENTICATION']);
const PLACEHOLDER = /\{\{\s*(\d+)\s*\}\}/g;

const template = (name: string, language: string, status: string, category: string, body: string, extra: Json[] = []): SimTemplate => ({
  id: `1${randomDigits(15)}`,
  name,
  language,
  status,
  category,
  parameter_format: 'POSITIONAL',
  components: [...extra.filter((c) => c['type'] === 'HEADER'), { type: 'BODY', text: body }, ...extra.filter((c) => c['type'] !== 'HEADER')],
});

/** What every business account has until a test gives it another list. */
function defaultTemplates(): SimTemplate[] {
  return [
    template('hello_world', 'en_US', 'APPROVED', 'UTILITY', 'Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta.', [
      { type: 'HEADER', format: 'TEXT', text: 'Hello World' },
      { type: 'FOOTER', text: 'WhatsApp Business Platform sample message' },
    ]),
    template('booking_reminder', 'en_US', 'APPROVED', 'UTILITY', 'Hi {{1}}, a reminder that your tour starts on {{2}}. Reply here if anything changed.'),
    template('booking_reminder', 'pt_BR', 'APPROVED', 'UTILITY', 'Olá {{1}}, lembrete: seu passeio começa em {{2}}. Responda aqui se algo mudou.'),
    template('booking_update', 'en_US', 'APPROVED', 'UTILITY', 'There is an update to your booking. Reply to this message to see it.'),
    template('seasonal_offer', 'en_US', 'PENDING', 'MARKETING', 'Hi {{1}}, our {{2}} season tours are open for booking.'),
    template('old_promo', 'en_US', 'REJECTED', 'MARKETING', 'Last chance!!! {{1}}% off everything'),
  ];
}

/** The templates of each WhatsApp account (by simulator account id; an account without a list has the defaults). */
export class WhatsappTemplates {
  private readonly byAccount = new Map<string, SimTemplate[]>();

  of(accountId: string): SimTemplate[] {
    let list = this.byAccount.get(accountId);
    if (!list) {
      list = defaultTemplates();
      this.byAccount.set(accountId, list);
    }
    return list;
  }

  /** Replaces an account's list: `[{name, language, status?, category?, body?, components?}]`. */
  replace(accountId: string, input: unknown): SimTemplate[] {
    if (!Array.isArray(input)) throw new SimInputError('templates must be an array');
    const list = input.map((item, i) => {
      const spec = asRecord(item, `templates[${i}]`);
      const status = (optString(spec, 'status') ?? 'APPROVED').toUpperCase();
      if (!STATUSES.has(status)) throw new SimInputError(`templates[${i}].status must be one of ${[...STATUSES].join(', ')}`);
      const category = (optString(spec, 'category') ?? 'UTILITY').toUpperCase();
      if (!CATEGORIES.has(category)) throw new SimInputError(`templates[${i}].category must be one of ${[...CATEGORIES].join(', ')}`);
      const base = template(reqString(spec, 'name'), reqString(spec, 'language'), status, category, optString(spec, 'body') ?? '');
      if (spec['components'] !== undefined) {
        if (!Array.isArray(spec['components'])) throw new SimInputError(`templates[${i}].components must be an array`);
        base.components = spec['components'].map((c, j) => asRecord(c, `templates[${i}].components[${j}]`));
      }
      return base;
    });
    this.byAccount.set(accountId, list);
    return list;
  }

  /**
   * The checks the Cloud API makes on a template send: an approved template of that name and
   * language (else #132001), given exactly its body's parameters (else #132000).
   */
  checkSend(accountId: string, requested: Json | undefined): { code: number; message: string; details: string } | undefined {
    const name = requested?.['name'];
    const language = (requested?.['language'] as Json | undefined)?.['code'];
    const found = this.of(accountId).find((t) => t.name === name && t.language === language && t.status === 'APPROVED');
    if (!found) {
      return { code: 132001, message: '(#132001) Template name does not exist in the translation', details: `template name (${String(name)}) does not exist in ${String(language)}` };
    }
    const expected = bodyParameterCount(found);
    const components = Array.isArray(requested?.['components']) ? (requested['components'] as Json[]) : [];
    const given = components
      .filter((c) => String(c['type']).toLowerCase() === 'body')
      .reduce((sum, c) => sum + (Array.isArray(c['parameters']) ? c['parameters'].length : 0), 0);
    if (given !== expected) {
      return { code: 132000, message: '(#132000) Number of parameters does not match the expected number of params', details: `body: number of localizable_params (${given}) does not match the expected number of params (${expected})` };
    }
    return undefined;
  }
}

function bodyParameterCount(t: SimTemplate): number {
  const body = t.components.find((c) => c['type'] === 'BODY');
  const text = typeof body?.['text'] === 'string' ? body['text'] : '';
  return new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1])).size;
}
