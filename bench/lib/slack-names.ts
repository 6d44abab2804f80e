/** Who and what the benchmark's Slack requests name: shared by the load generator and the servers. */

export const BENCH_SIGNING_SECRET = 'bench-signing-secret-0123456789abcdef';
/** A bootstrap admin (SLACK_ADMIN_USER_IDS): Doorman decides who they are without a Slack call. */
export const BENCH_ADMIN = 'U0ADMIN';
/** The workspace: the one the Slack stand-in's auth.test and users.info answer with. */
export const BENCH_TEAM = 'T0TEST';
/** Doorman's one slash command (SLACK_COMMAND's default), which the bare Bolt floor answers too. */
export const BENCH_COMMAND = '/doorman';
