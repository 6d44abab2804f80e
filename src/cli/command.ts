import { InvalidArgumentError, Option } from 'commander';
import type { Services } from '../app.js';
import type { ServedWith } from '../served-with.js';
import { ROLES } from '../members/roles.js';
import type { Actor } from '../shared/actor.js';
import { InvalidInput } from '../shared/errors.js';

/** A command given the wrong options together (a usage mistake, exit 2), found after Commander parsed them. */
export class UsageError extends Error {}

/** An option's value checked before anything is opened: a refusal is a mistake in the command (exit 2), in the domain's words. */
export function optionValue<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof InvalidInput) throw new UsageError(error.message);
    throw error;
  }
}

export interface OpenOptions {
  /**
   * What this run must do as the service last started does it (src/served-with.ts), refused otherwise:
   * `publicUrl` for links, `mail` for delivering emails, `slack` for a command that may tell someone in
   * Slack (a decision, a lapse, a refused email; the operator's own invitations are never held, so
   * inviting asks no approver).
   */
  asTheService?: Array<keyof ServedWith>;
}

/** What every group of commands works with: the services (schema brought up to date), output, the operator and standard input. */
export interface CommandDeps {
  open(options?: OpenOptions): Promise<Services>;
  print(text: string): void;
  operator: Actor;
  stdin(): string;
  /** Progress for the operator, on standard error (standard output stays what scripts read). */
  progress(text: string): void;
  /** Where relative paths start: where the operator typed `npm run` (INIT_CWD), not the package's folder npm runs in. */
  cwd: string;
  /**
   * Asks before something that cannot be undone, on a terminal only (a script is never stopped):
   * refuses (NotConfirmed) unless the answer is yes. `--yes` skips the question. Answers whether it asked.
   */
  confirm(question: string, opts: { yes?: boolean }): Promise<boolean>;
}

/** The operator answered no: nothing was changed. */
export class NotConfirmed extends Error {
  constructor() {
    super('Nothing was changed.');
  }
}

/** --yes, on commands that ask before they change something for good. */
export function yesOption(): Option {
  return new Option('-y, --yes', 'do not ask for confirmation on a terminal');
}

/** --json, on every command that prints something a script may read. */
export function jsonOption(): Option {
  return new Option('--json', 'print JSON for scripts');
}

/** --role, on commands that create someone. */
export function roleOption(): Option {
  return new Option('--role <role>', 'role for the new member').choices([...ROLES]).default('member');
}

/** An option's whole number from `min` to `max`, or commander's usual refusal naming the option. */
export function wholeNumber(value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `must be a whole number of at least ${min}` : `must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/**
 * What a command failed with, as the operator reads it. SQLite's "busy" after every wait is another
 * process holding the file's write lock (a long write, or a sqlite3 shell with a transaction open),
 * not a fault of Doorman's: said so, instead of the statement that met it.
 */
export function failureWords(error: unknown): string {
  if ((error as { code?: string }).code === 'SQLITE_BUSY') {
    return 'the database file (DATABASE_URL) stayed locked by another process, so this step was not done; try again once the other process (a long write, or a sqlite3 shell with a transaction open) lets go';
  }
  return (error as Error).message;
}
