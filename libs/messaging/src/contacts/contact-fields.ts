import { DomainError, type FieldError } from '#domain';

/**
 * The rules a contact's fields follow, whoever writes them (the REST API, a channel's inbound).
 * Pure functions: the API's DTOs call them for their error lists, the services call them again
 * so a non-HTTP caller cannot store what the API would refuse.
 */
export const MAX_CUSTOM_ATTRIBUTES = 50;

const E164 = /^\+[1-9]\d{1,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// Letters first: offsets such as "+01:00" are accepted by ICU but are not IANA zone names.
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;

// ISO 3166-1 alpha-2, officially assigned codes.
const COUNTRIES = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
    'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
    'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP ' +
    'KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT ' +
    'MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
    'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG ' +
    'UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

export function isEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}

/** E.164: a plus, a country code that does not start with 0, at most 15 digits in all. */
export function isE164(value: string): boolean {
  return E164.test(value);
}

/** A zone name the runtime's IANA database knows (aliases such as Asia/Calcutta included). */
export function isTimeZone(value: string): boolean {
  if (!ZONE_NAME.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** A well-formed BCP 47 language tag (en, en-US, zh-Hans-CN). */
export function isLanguageTag(value: string): boolean {
  return canonicalLanguageTag(value) !== null;
}

/** The tag in its canonical case (en-us -> en-US), or null when it is not a language tag. */
export function canonicalLanguageTag(value: string): string | null {
  // ICU also takes 5-8 letter primary subtags (reserved, none registered) such as "english".
  if (value.length > 35 || !/^[A-Za-z]{2,3}(?:-|$)/.test(value)) return null;
  try {
    return Intl.getCanonicalLocales(value)[0] ?? null;
  } catch {
    return null;
  }
}

/** An officially assigned ISO 3166-1 alpha-2 code, upper case (US, CN, TH). */
export function isCountryCode(value: string): boolean {
  return COUNTRIES.has(value);
}

/** Why `value` is not a flat object of at most 50 string/number/boolean/null values, or null when it is. */
export function customAttributesProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object';
  const entries = Object.entries(value);
  if (entries.length > MAX_CUSTOM_ATTRIBUTES) return `must have at most ${MAX_CUSTOM_ATTRIBUTES} keys`;
  for (const [key, item] of entries) {
    if (key.length === 0 || key.length > 100) return 'keys must be 1 to 100 characters';
    const ok =
      item === null ||
      typeof item === 'string' ||
      typeof item === 'boolean' ||
      (typeof item === 'number' && Number.isFinite(item));
    if (!ok) return `"${key}" must be a string, number, boolean or null (no nested objects or arrays)`;
  }
  return null;
}

export interface ContactFields {
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  language?: string | null;
  timezone?: string | null;
  country?: string | null;
  customAttributes?: Record<string, unknown>;
}

/** Every rule a contact's fields break; empty when they are all fine. Absent and null fields pass. */
export function contactFieldErrors(fields: ContactFields): FieldError[] {
  const errors: FieldError[] = [];
  const check = (field: string, value: string | null | undefined, ok: (v: string) => boolean, message: string) => {
    if (value !== undefined && value !== null && !ok(value)) errors.push({ field, message });
  };
  check('name', fields.name, (v) => v.length <= 200, 'name must be at most 200 characters');
  check('email', fields.email, isEmail, 'email must be an email address');
  check('phone', fields.phone, isE164, 'phone must be in E.164 format, e.g. +14155550123');
  check('language', fields.language, isLanguageTag, 'language must be a BCP 47 tag, e.g. en or zh-Hans');
  check('timezone', fields.timezone, isTimeZone, 'timezone must be an IANA time zone, e.g. Asia/Shanghai');
  check('country', fields.country, isCountryCode, 'country must be an ISO 3166-1 alpha-2 code, e.g. US');
  if (fields.customAttributes !== undefined) {
    const problem = customAttributesProblem(fields.customAttributes);
    if (problem) errors.push({ field: 'customAttributes', message: `customAttributes ${problem}` });
  }
  return errors;
}

/** Validates the fields (for callers other than the API, whose DTOs check the same rules) and canonicalises them. */
export function normaliseContactFields(input: ContactFields): ContactFields {
  const errors = contactFieldErrors(input);
  if (errors.length > 0) throw DomainError.invalid('request.invalid', 'The request has invalid fields', errors);
  const fields: ContactFields = { ...input };
  if (typeof fields.language === 'string') fields.language = canonicalLanguageTag(fields.language);
  return fields;
}
