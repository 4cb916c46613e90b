import { Injectable } from '@nestjs/common';
import { fetch as guardedFetch } from 'undici';
import { DomainError } from '#domain';
import type { WhatsappConfig } from '#channels';
import { OutboundGuard } from '#net';
import type { TemplateCategory, TemplateStatus } from '#database';
import { placeholdersOf } from './template-body.js';

const GRAPH_API = 'https://graph.facebook.com/v21.0';
const PAGE_SIZE = 100;
/** A business account has at most a few hundred templates; this bounds a provider that pages forever. */
const MAX_PAGES = 50;

/** A template as the provider lists it. */
export interface ProviderTemplate {
  providerTemplateId: string | null;
  name: string;
  language: string;
  category: TemplateCategory | null;
  status: TemplateStatus;
  body: string;
  components: unknown[];
  parameterCount: number;
}

type Json = Record<string, unknown>;

/**
 * WhatsApp Cloud API: `GET /{waba-id}/message_templates`, every page. Meta's statuses fold into ours:
 * APPROVED is approved, PENDING and IN_APPEAL pending, anything else (REJECTED, PAUSED, DISABLED...)
 * is not sendable and stored as rejected.
 */
@Injectable()
export class WhatsappTemplatesClient {
  constructor(private readonly guard: OutboundGuard) {}

  async list(config: WhatsappConfig & { businessAccountId: string }, timeoutMs: number): Promise<ProviderTemplate[]> {
    const base = `${(config.apiBaseUrl ?? GRAPH_API).replace(/\/+$/, '')}/${encodeURIComponent(config.businessAccountId)}/message_templates`;
    const templates: ProviderTemplate[] = [];
    let after: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const url = new URL(base);
      url.searchParams.set('fields', 'id,name,language,status,category,components');
      url.searchParams.set('limit', String(PAGE_SIZE));
      if (after) url.searchParams.set('after', after);
      const answer = await get(this.guard, url, config.accessToken, timeoutMs);
      const data = Array.isArray(answer['data']) ? answer['data'] : [];
      for (const item of data) {
        const template = isObject(item) ? providerTemplate(item) : null;
        if (template) templates.push(template);
      }
      const paging = isObject(answer['paging']) ? answer['paging'] : {};
      const cursors = isObject(paging['cursors']) ? paging['cursors'] : {};
      after = typeof paging['next'] === 'string' && typeof cursors['after'] === 'string' ? cursors['after'] : undefined;
      if (!after || data.length === 0) break;
    }
    return templates;
  }
}

async function get(guard: OutboundGuard, url: URL, accessToken: string, timeoutMs: number): Promise<Json> {
  const problem = guard.urlProblem(url.href);
  if (problem) throw new DomainError('templates.sync_failed', 'unprocessable', `The inbox's apiBaseUrl ${problem}`);
  let response: Awaited<ReturnType<typeof guardedFetch>>;
  try {
    // Not following redirects: the base URL is the inbox's, and a redirect could point anywhere.
    response = await guardedFetch(url, { headers: { authorization: `Bearer ${accessToken}` }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), dispatcher: guard.dispatcher });
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'the connection failed';
    throw new DomainError('templates.provider_unavailable', 'unavailable', `WhatsApp could not be reached to list the templates: ${reason}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (response.ok && isObject(body)) return body;
  const error = isObject(body) && isObject(body['error']) ? body['error'] : {};
  const message = typeof error['message'] === 'string' ? error['message'] : `HTTP ${response.status}`;
  if (response.status === 429 || response.status >= 500) {
    throw new DomainError('templates.provider_unavailable', 'unavailable', `WhatsApp could not list the templates now (${message}); try again later`);
  }
  throw new DomainError('templates.sync_failed', 'unprocessable', `WhatsApp refused to list the templates: ${message}. Check the inbox's accessToken and businessAccountId`);
}

function providerTemplate(item: Json): ProviderTemplate | null {
  const name = item['name'];
  const language = item['language'];
  if (typeof name !== 'string' || typeof language !== 'string' || name === '' || language === '') return null;
  const components = Array.isArray(item['components']) ? (item['components'] as unknown[]) : [];
  const bodyComponent = components.find((component) => isObject(component) && String(component['type']).toUpperCase() === 'BODY');
  const body = isObject(bodyComponent) && typeof bodyComponent['text'] === 'string' ? bodyComponent['text'] : '';
  const placeholders = placeholdersOf(body);
  return {
    providerTemplateId: typeof item['id'] === 'string' ? item['id'] : null,
    name,
    language,
    category: categoryOf(item['category']),
    // A body whose placeholders we cannot number cannot be filled in: not sendable from here.
    status: placeholders.ok ? statusOf(item['status']) : 'rejected',
    body,
    components,
    parameterCount: placeholders.ok ? placeholders.parameterCount : 0,
  };
}

function statusOf(value: unknown): TemplateStatus {
  const status = String(value).toUpperCase();
  if (status === 'APPROVED') return 'approved';
  if (status === 'PENDING' || status === 'IN_APPEAL') return 'pending';
  return 'rejected';
}

function categoryOf(value: unknown): TemplateCategory | null {
  const category = String(value).toLowerCase();
  return category === 'marketing' || category === 'utility' || category === 'authentication' ? category : null;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
