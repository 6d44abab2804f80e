import { z } from 'zod';
import { HttpError } from './errors.js';

/** Parses a request part with a strict schema; every problem is named in one 400 message. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `property ${where ? where + '.' : ''}${k} should not exist`).join(', ');
    return where ? `${where}: ${issue.message}` : issue.message;
  });
  throw new HttpError(400, 'invalid_data', problems.join(', '));
}

export const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
