import { Option } from 'commander';
import type { Services } from '../app.js';
import { ROLES } from '../members/roles.js';
import type { Actor } from '../shared/actor.js';

/** What every group of commands works with: the services (schema brought up to date), output, the operator and standard input. */
export interface CommandDeps {
  open(): Promise<Services>;
  print(text: string): void;
  operator: Actor;
  stdin(): string;
  /** Progress for the operator, on standard error (standard output stays what scripts read). */
  progress(text: string): void;
}

/** --json, on every command that prints something a script may read. */
export function jsonOption(): Option {
  return new Option('--json', 'print JSON for scripts');
}

/** --role, on commands that create someone. */
export function roleOption(): Option {
  return new Option('--role <role>', 'role for the new member').choices([...ROLES]).default('member');
}
