import { expect } from 'vitest';
import type { CliResult } from './service.js';

/** Exactly one line on stderr, starting "doorman:" (and, when given, that exit code); returns the line. */
export function expectOneErrorLine(result: CliResult, code?: number): string {
  if (code !== undefined) expect(result.code).toBe(code);
  const lines = result.stderr.split('\n').filter(Boolean);
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^doorman: /);
  return lines[0]!;
}
