/*
 * The branches of ferry_outbox_stalled (SECURITY DEFINER: the relay's one global read), one per kind
 * of job whose pending work Postgres can see. A migration that adds a branch redefines the function
 * with every branch so far: a redefinition that forgets one silently stops reviving those jobs.
 */
export const STALLED_SENDS = `SELECT o.id, o.workspace_id, o.job_name, o.payload
   FROM messages m
   JOIN outbox o ON o.workspace_id = m.workspace_id AND o.job_name = 'message.send'
                AND o.payload->>'messageId' = m.id::text
   WHERE m.direction = 'out' AND m.status = 'queued'
     AND o.published_at IS NOT NULL AND o.created_at < now() - older_than
   ORDER BY o.created_at LIMIT max_rows`;

export const STALLED_EVENTS = `SELECT o.id, o.workspace_id, o.job_name, o.payload
   FROM inbound_events e
   JOIN outbox o ON o.workspace_id = e.workspace_id AND o.job_name IN ('inbound.process', 'status.apply')
                AND o.payload->>'eventId' = e.id::text
   WHERE e.processed_at IS NULL AND e.error IS NULL
     AND o.published_at IS NOT NULL AND o.created_at < now() - older_than
   ORDER BY o.created_at LIMIT max_rows`;

// Since inbound batches: each stored event names the job that processes it (job_id), several events
// sharing one inbound.process job.
export const STALLED_EVENT_JOBS = `SELECT DISTINCT ON (o.created_at, o.id) o.id, o.workspace_id, o.job_name, o.payload
   FROM inbound_events e
   JOIN outbox o ON o.id = e.job_id AND o.workspace_id = e.workspace_id
   WHERE e.processed_at IS NULL AND e.error IS NULL
     AND o.published_at IS NOT NULL AND o.created_at < now() - older_than
   ORDER BY o.created_at, o.id LIMIT max_rows`;

// A check is pending while its attempt is still the message's current hop, sent, not delivered.
// Driven from the checks' own partial index: the relay runs this often, over all workspaces.
export const STALLED_FALLBACK_CHECKS = `SELECT o.id, o.workspace_id, o.job_name, o.payload
   FROM outbox o
   JOIN messages m ON m.workspace_id = o.workspace_id AND m.id = (o.payload->>'messageId')::uuid
   JOIN delivery_attempts a ON a.workspace_id = o.workspace_id AND a.id = (o.payload->>'attemptId')::uuid
   WHERE o.job_name = 'message.fallback_check' AND o.published_at IS NOT NULL
     AND (o.payload->>'dueAt')::timestamptz < now() - older_than
     AND m.status = 'sent' AND a.provider_message_id = m.external_id
     AND a.identity_id IS NOT DISTINCT FROM m.identity_id
     AND a.receipt_status IS DISTINCT FROM 'delivered' AND a.receipt_status IS DISTINCT FROM 'read'
   ORDER BY o.created_at LIMIT max_rows`;

export function stalledFunction(branches: string[]): string {
  return `CREATE OR REPLACE FUNCTION ferry_outbox_stalled(older_than interval, max_rows integer)
    RETURNS TABLE (id uuid, workspace_id uuid, job_name text, payload jsonb)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
    $$ ${branches.map((branch) => `(${branch})`).join(' UNION ALL ')} $$`;
}

// A webhook delivery still pending long after its next try was due (a scheduled retry is not stalled).
export const STALLED_WEBHOOK_DELIVERIES = `SELECT o.id, o.workspace_id, o.job_name, o.payload
   FROM webhook_deliveries d
   JOIN outbox o ON o.workspace_id = d.workspace_id AND o.job_name = 'webhook.deliver'
   AND o.payload->>'deliveryId' = d.id::text
   WHERE d.status = 'pending' AND coalesce(d.next_attempt_at, d.created_at) < now() - older_than
   AND o.published_at IS NOT NULL AND o.created_at < now() - older_than
   ORDER BY o.created_at LIMIT max_rows`;

// A delivery still pending long after it was due, written by a fan-out that gave its event's
// deliveries one `webhook.deliver_batch` job (the job's outbox row id is the delivery's batch_id).
export const STALLED_WEBHOOK_BATCHES = `SELECT o.id, o.workspace_id, o.job_name, o.payload
   FROM outbox o
   WHERE o.id IN (SELECT d.batch_id FROM webhook_deliveries d
                  WHERE d.status = 'pending' AND d.batch_id IS NOT NULL AND coalesce(d.next_attempt_at, d.created_at) < now() - older_than)
   AND o.job_name = 'webhook.deliver_batch' AND o.published_at IS NOT NULL AND o.created_at < now() - older_than
   ORDER BY o.created_at LIMIT max_rows`;
