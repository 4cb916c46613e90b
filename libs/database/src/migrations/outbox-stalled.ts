/*
 * The branches of ferry_outbox_stalled (SECURITY DEFINER: the relay's one global read), one per kind
 * of job whose pending work Postgres can see. A migration that adds a branch redefines the function
 * with every branch so far: a redefinition that forgets one silently stops reviving those jobs.
 * Each branch also has its PENDING_* twin below, which keeps ferry_outbox_prune from deleting the rows
 * the branch may yet need: a new branch needs its twin, and ferry_outbox_prune redefined with it.
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
// As Fallback1764500000000 defined it, kept for the migrations that use it: it also matched, for good,
// a check that had run and left the message as it was (no next identity at the deadline), which the
// relay then revived every minute, and enough of them (max_rows) hid a check truly lost.
// STALLED_FALLBACK_CHECKS_UNDECIDED replaces it.
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

// Since FallbackChecked1765500000000: the same, of checks whose deadline no run has decided yet. A run
// that finds the hop still current and undelivered at the deadline records its decision on the attempt
// (fallback_checked_at) in the transaction that makes it (FallbackService.check); any other run finds
// the message moved on, which these conditions exclude for good (its status only moves forward, and a
// hop's provider id is never the message's current one again).
export const STALLED_FALLBACK_CHECKS_UNDECIDED = `SELECT o.id, o.workspace_id, o.job_name, o.payload
   FROM outbox o
   JOIN messages m ON m.workspace_id = o.workspace_id AND m.id = (o.payload->>'messageId')::uuid
   JOIN delivery_attempts a ON a.workspace_id = o.workspace_id AND a.id = (o.payload->>'attemptId')::uuid
   WHERE o.job_name = 'message.fallback_check' AND o.published_at IS NOT NULL
     AND (o.payload->>'dueAt')::timestamptz < now() - older_than
     AND m.status = 'sent' AND a.provider_message_id = m.external_id
     AND a.identity_id IS NOT DISTINCT FROM m.identity_id
     AND a.receipt_status IS DISTINCT FROM 'delivered' AND a.receipt_status IS DISTINCT FROM 'read'
     AND a.fallback_checked_at IS NULL
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

/*
 * The twins of the branches above, for ferry_outbox_prune: each holds of an outbox row `o` of its jobs
 * while the work its branch joins the row to is still pending, by the branch's own join and conditions
 * minus its time conditions (work pending now is what may stall later, whatever its age). The prune
 * deletes no row for which its job's twin holds, so a job lost in BullMQ can be revived however long
 * its work waits: a reply queued through a long outage, an event left unprocessed until a fix ships,
 * a webhook retry or a fallback deadline days ahead. Each is evaluated only for rows of its jobs
 * (pruneFunction). No twin bounds its rows in time (the first fallback twin did, see there), so the
 * retention window need not be longer than the recovery's stall period for the prune to be safe.
 */
export interface PendingWork {
  jobs: string[];
  /** True of the outbox row `o` while its work is pending (may read `cutoff`, the retention's start). */
  condition: string;
}

export const PENDING_SENDS: PendingWork = {
  jobs: ['message.send'],
  condition: `EXISTS (SELECT 1 FROM messages m
    WHERE m.id = (o.payload->>'messageId')::uuid AND m.workspace_id = o.workspace_id AND m.direction = 'out' AND m.status = 'queued')`,
};

// Found from the events the job names (their primary key), not by reading every pending event for the
// job's id: one statement writes a job and the job_id of each event it names (InboundEventsRepository
// .insertBatch), and the inbound-batches migration gave older events the job whose payload named them
// (`eventId`, from before a job named several).
export const PENDING_EVENT_JOBS: PendingWork = {
  jobs: ['inbound.process', 'status.apply'],
  condition: `EXISTS (SELECT 1 FROM inbound_events e
    WHERE e.id = ANY (ARRAY(SELECT jsonb_array_elements_text(coalesce(o.payload->'eventIds', jsonb_build_array(o.payload->'eventId'))))::uuid[])
      AND e.job_id = o.id AND e.workspace_id = o.workspace_id AND e.processed_at IS NULL AND e.error IS NULL)`,
};

// The twin of STALLED_FALLBACK_CHECKS, as OutboxPrune1765300000000 defined it (kept for that migration),
// the one twin bounded in time: under that branch a check that had run and left the message as it was
// (FallbackService.leave: 'stayed') matched for good, so a check was kept only while its deadline was
// within the retention window (`cutoff`). That bound also let the prune delete the row of a check that
// never ran, its job lost and not revived within the window. PENDING_FALLBACK_CHECKS_UNDECIDED replaces it.
export const PENDING_FALLBACK_CHECKS: PendingWork = {
  jobs: ['message.fallback_check'],
  condition: `(o.payload->>'dueAt')::timestamptz >= cutoff AND EXISTS (SELECT 1 FROM messages m
    JOIN delivery_attempts a ON a.workspace_id = m.workspace_id AND a.id = (o.payload->>'attemptId')::uuid
    WHERE m.id = (o.payload->>'messageId')::uuid AND m.workspace_id = o.workspace_id
      AND m.status = 'sent' AND a.provider_message_id = m.external_id
      AND a.identity_id IS NOT DISTINCT FROM m.identity_id
      AND a.receipt_status IS DISTINCT FROM 'delivered' AND a.receipt_status IS DISTINCT FROM 'read')`,
};

// The twin of STALLED_FALLBACK_CHECKS_UNDECIDED, with no bound in time: a check that has run is
// recorded on its attempt (or has moved the message on), so what this keeps is a check that has not
// run yet, its deadline ahead or its job lost, until it runs. Rows no longer pile up, and a bound
// would only let the prune delete a lost check before the recovery revives it.
export const PENDING_FALLBACK_CHECKS_UNDECIDED: PendingWork = {
  jobs: ['message.fallback_check'],
  condition: `EXISTS (SELECT 1 FROM messages m
    JOIN delivery_attempts a ON a.workspace_id = m.workspace_id AND a.id = (o.payload->>'attemptId')::uuid
    WHERE m.id = (o.payload->>'messageId')::uuid AND m.workspace_id = o.workspace_id
      AND m.status = 'sent' AND a.provider_message_id = m.external_id
      AND a.identity_id IS NOT DISTINCT FROM m.identity_id
      AND a.receipt_status IS DISTINCT FROM 'delivered' AND a.receipt_status IS DISTINCT FROM 'read'
      AND a.fallback_checked_at IS NULL)`,
};

export const PENDING_WEBHOOK_DELIVERIES: PendingWork = {
  jobs: ['webhook.deliver'],
  condition: `EXISTS (SELECT 1 FROM webhook_deliveries d
    WHERE d.id = (o.payload->>'deliveryId')::uuid AND d.workspace_id = o.workspace_id AND d.status = 'pending')`,
};

// Found from the deliveries the job names, as above: the fan-out writes a batch's deliveries and the
// job naming them in one statement (WebhookDeliveriesRepository.fanOut).
export const PENDING_WEBHOOK_BATCHES: PendingWork = {
  jobs: ['webhook.deliver_batch'],
  condition: `EXISTS (SELECT 1 FROM webhook_deliveries d
    WHERE d.id = ANY (ARRAY(SELECT jsonb_array_elements_text(o.payload->'deliveryIds'))::uuid[])
      AND d.batch_id = o.id AND d.workspace_id = o.workspace_id AND d.status = 'pending')`,
};

/** The advisory lock key of a prune in progress (migrate() holds 7261100 while it migrates). */
const PRUNE_LOCK = 7261101;

/**
 * ferry_outbox_prune(older_than, max_rows): deletes at most max_rows published rows older than
 * older_than whose work is not pending (`pending`: the twins of every branch), oldest first, and
 * answers how many. The twins sit in a CASE on the job name, which keeps the planner from turning
 * them into anti-joins over every pending row (merge joins that read all pending events and
 * deliveries, the errored ones kept for replay included, on every call): each runs only for rows of
 * its jobs, by primary key (or, where the planner finds it cheaper, as one hashed pass over the
 * queued messages or pending deliveries). Rows another transaction holds are skipped (SKIP LOCKED), and
 * a second prune while one is running answers 0 at once (a transaction-scoped advisory lock), so
 * workers pruning at the same moment never queue up on each other. Unpublished rows are never
 * deleted: they are the relay's to publish. No JIT: the probes' estimated cost over the whole range
 * made the planner compile the statement on every call (about a second, for a 50 ms batch).
 */
export function pruneFunction(pending: PendingWork[]): string {
  const jobs = [...new Set(pending.flatMap((work) => work.jobs))];
  const cases = jobs.map((job) => {
    const conditions = pending.filter((work) => work.jobs.includes(job)).map((work) => work.condition);
    return `WHEN '${job}' THEN ${conditions.join(' OR ')}`;
  });
  return `CREATE OR REPLACE FUNCTION ferry_outbox_prune(older_than interval, max_rows integer) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET jit = off AS $$
    DECLARE
      cutoff timestamptz := now() - older_than;
      -- The least UUIDv7 of the cutoff's millisecond: the primary key's range below it holds the old rows.
      below uuid := (lpad(to_hex(floor(extract(epoch FROM cutoff) * 1000)::bigint), 12, '0') || repeat('0', 20))::uuid;
      removed integer;
    BEGIN
      IF NOT pg_try_advisory_xact_lock(${PRUNE_LOCK}) THEN
        RETURN 0;
      END IF;
      DELETE FROM outbox WHERE id IN (
        SELECT o.id FROM outbox o
        WHERE o.id < below AND o.created_at < cutoff AND o.published_at IS NOT NULL
          AND NOT (CASE o.job_name
            ${cases.join('\n            ')}
            ELSE false END)
        ORDER BY o.id LIMIT max_rows
        FOR UPDATE OF o SKIP LOCKED);
      GET DIAGNOSTICS removed = ROW_COUNT;
      RETURN removed;
    END $$`;
}

/**
 * The branches and twins as the latest migration defines ferry_outbox_stalled and ferry_outbox_prune.
 * A migration names its own (what it defined must not change later) and updates these with them; a
 * test checks the migrated database against these, so a migration that redefines either function
 * with a superseded constant (STALLED_FALLBACK_CHECKS, say, in a branch written before
 * FallbackChecked1765500000000 and merged after it) is caught.
 */
export const CURRENT_STALLED_BRANCHES = [
  STALLED_SENDS,
  STALLED_EVENT_JOBS,
  STALLED_FALLBACK_CHECKS_UNDECIDED,
  STALLED_WEBHOOK_DELIVERIES,
  STALLED_WEBHOOK_BATCHES,
];
export const CURRENT_PENDING_WORK = [
  PENDING_SENDS,
  PENDING_EVENT_JOBS,
  PENDING_FALLBACK_CHECKS_UNDECIDED,
  PENDING_WEBHOOK_DELIVERIES,
  PENDING_WEBHOOK_BATCHES,
];
