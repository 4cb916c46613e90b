import { describe, expect, it } from 'vitest';
import { canTransition } from './message-status.js';
import type { MessageStatus } from './enums.js';

describe('canTransition: status only moves forward', () => {
  const cases: Array<[MessageStatus, MessageStatus, boolean]> = [
    ['queued', 'sent', true],
    ['queued', 'delivered', true],
    ['queued', 'read', true],
    ['queued', 'failed', true],
    ['sent', 'delivered', true],
    ['sent', 'read', true],
    ['sent', 'failed', true],
    ['delivered', 'read', true],
    ['delivered', 'sent', false],
    ['read', 'delivered', false],
    ['read', 'sent', false],
    ['delivered', 'failed', false],
    ['read', 'failed', false],
    ['failed', 'sent', false],
    ['failed', 'delivered', false],
    ['sent', 'sent', false],
    ['sent', 'queued', false],
    ['received', 'sent', false],
    ['queued', 'received', false],
  ];
  it.each(cases)('%s -> %s is %s', (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
  });
});
