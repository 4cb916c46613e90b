import type { MessageStatus } from './enums.js';

const RANK: Record<MessageStatus, number> = {
  received: 0,
  queued: 0,
  sent: 1,
  delivered: 2,
  read: 3,
  failed: 4,
};

/**
 * Status only moves forward: receipts arrive late, twice and out of order, and a stale one must
 * never undo a newer state. `failed` is final, and a delivered or read message cannot fail.
 */
export function canTransition(from: MessageStatus, to: MessageStatus): boolean {
  if (from === to || from === 'failed' || from === 'received' || to === 'received' || to === 'queued') return false;
  if (to === 'failed') return from === 'queued' || from === 'sent';
  return RANK[to] > RANK[from];
}
