/**
 * The unique constraint (or index) a failed statement broke, or null when it failed for another reason.
 * Races are settled by the database's unique indexes; the services turn a violation into a 409
 * or into one retry of the work that lost the race.
 */
export function uniqueViolation(error: unknown): string | null {
  const driver = (error as { driverError?: { code?: string; constraint?: string } } | null)?.driverError;
  const source = driver ?? (error as { code?: string; constraint?: string } | null);
  if (source?.code !== '23505') return null;
  return source.constraint ?? 'unknown';
}
