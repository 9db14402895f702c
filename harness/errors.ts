// Errors the CLI turns into one line and exit code 2.

/** Bad usage or bad input (flag, fixture, policy name). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A policy module failed to load, or one of its hooks threw or returned
 *  something the Policy API does not allow. */
export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(
    readonly policy: string,
    readonly hook: string,
    readonly where: string,
    override readonly cause: unknown,
  ) {
    super(`policy ${policy}: hook ${hook} ${where}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
