import { parse } from 'csv-parse/sync';
import { isRole, ROLES, type Role } from '../members/roles.js';
import { InvalidInput } from '../shared/errors.js';
import { parseEmailList } from './email-list.js';

/** The most rows a file may hold: a batch people can still check afterwards. */
export const MAX_FILE_ROWS = 10_000;
/** The largest list file read: Slack takes far larger files, and a list of 10,000 rows is far smaller. */
export const MAX_FILE_BYTES = 5 * 1024 * 1024;

/** One entry of a list file: as written (the email list rules read it), and the row's own role. */
export interface ListFileRow {
  entry: string;
  role: Role | null;
}

export interface ListFile {
  rows: ListFileRow[];
  /** Rows refused before their address is read (an unknown role). */
  invalid: Array<{ entry: string; reason: string }>;
}

const EMAIL_HEADERS = ['email', 'email_address', 'e_mail', 'e_mail_address', 'mail'];

/** A header cell as the column names above are written ("E-mail Address" → "e_mail_address"). */
function headerName(cell: string): string {
  return cell.toLowerCase().replace(/[\s-]+/g, '_');
}

/**
 * A list from a file (`.csv` or `.txt`): a header row naming an `email` column, with optional
 * `first_name`, `last_name` and `role` columns, or one entry per line. Anything else is refused
 * with one message saying what the file should look like.
 */
export function parseListFile(content: Buffer | string, name: string): ListFile {
  const given = typeof content === 'string' ? Buffer.from(content) : content;
  if (given.length > MAX_FILE_BYTES) throw tooLarge(name);
  const { bytes, sep } = withoutSepLine(fromUtf16(given));
  if (bytes.subarray(0, 8192).includes(0)) throw notAList(name, 'it is not a text file');
  const headerDelimiter = headerDelimiterOf(bytes, sep);
  // Each record with the line it ends on, so a row is named as an editor numbers it, blank lines included.
  let records: Array<{ record: string[]; line: number }>;
  try {
    const lines: number[] = [];
    const parsed = parse(bytes, {
      delimiter: headerDelimiter ?? ',', bom: true, skip_empty_lines: true, relax_column_count: true, relax_quotes: true, trim: true, encoding: 'utf8',
      on_record: (record, context) => {
        lines.push(context.lines);
        return record;
      },
    });
    records = parsed.map((record, i) => ({ record, line: lines[i]! }));
  } catch (error) {
    // Without a header row, a list is read line by line: `"Doe, Jane" <jane@x.io>`, as mail clients
    // copy it, is one entry there, where CSV reads a closing quote followed by more text as an error.
    if (!headerDelimiter) return headerless(linesOf(bytes), name);
    throw notAList(name, `it could not be read as CSV (${(error as Error).message.split('\n')[0]!.slice(0, 200)})`);
  }
  records = records.filter(({ record }) => record.some((cell) => cell !== ''));
  if (records.length === 0) throw notAList(name, 'it is empty');

  const header = records[0]!.record.map(headerName);
  const emailColumn = header.findIndex((cell) => EMAIL_HEADERS.includes(cell));
  // No header row: each line's cells, split at any separator ("jane@x.io;admin" is two cells).
  if (emailColumn < 0) return headerless(linesOf(bytes).filter(({ cells }) => cells.length > 0), name);
  const data = records.slice(1);
  if (data.length === 0) throw notAList(name, 'it has a header row but no addresses under it');
  if (data.length > MAX_FILE_ROWS) throw tooManyRows(name, data.length);
  const roleColumn = header.indexOf('role');
  const first = header.indexOf('first_name');
  const last = header.indexOf('last_name');
  const file: ListFile = { rows: [], invalid: [] };
  for (const { record, line } of data) {
    const email = record[emailColumn] ?? '';
    if (!email) {
      file.invalid.push({ entry: `(row ${line})`, reason: 'no email address' });
      continue;
    }
    // A cell may hold a line break (quoted, from a spreadsheet): one line, or the list rules split there.
    const fullName = [record[first] ?? '', record[last] ?? ''].filter(Boolean).join(' ').replace(/\s*[\r\n]+\s*/g, ' ');
    // A name goes with the address in the form the email list rules read ("Jane Doe <jane@x.io>"); a
    // cell of several addresses is read as they are (one name cannot stand for them all).
    const single = email.indexOf('@') === email.lastIndexOf('@');
    const named = fullName && single && !email.includes('<') ? `"${fullName.replace(/["\\<>]/g, '')}" <${email}>` : email;
    // Cells past the header's (`jane@x.io,bob@x.io` under `email`) are more of the row's list when
    // they hold an address; anything else there is named as not read, never dropped unsaid.
    const beyond = record.slice(header.length).filter(Boolean);
    for (const cell of beyond.filter((c) => !c.includes('@'))) file.invalid.push({ entry: cell.slice(0, 80), reason: `row ${line} has more cells than the header row names; this one was not read` });
    const entry = [named, ...beyond.filter((c) => c.includes('@'))].join(', ');
    const role = roleColumn >= 0 ? (record[roleColumn] ?? '').toLowerCase() : '';
    if (role && !isRole(role)) {
      file.invalid.push({ entry: email, reason: `unknown role "${role.slice(0, 40)}" (use ${ROLES.join(', ')})` });
      continue;
    }
    file.rows.push({ entry, role: role ? (role as Role) : null });
  }
  return withoutRepeats(file, name);
}

/**
 * A list without a header row: one entry per line ("jane@x.io" or "Jane Doe <jane@x.io>"), each
 * line with its cells. Several addresses on a line are a list; a line of several cells with one that
 * is no address ("jane@x.io,admin") is a table without the header naming its email column.
 */
function headerless(lines: Array<{ entry: string; cells: string[] }>, name: string): ListFile {
  if (lines.length > MAX_FILE_ROWS) throw tooManyRows(name, lines.length);
  if (lines.some(({ cells }) => cells.length > 1 && cells.some((cell) => !cell.includes('@')))) throw notAList(name, 'it has several columns but no header row naming the email column');
  if (!lines.some(({ entry }) => entry.includes('@'))) throw notAList(name, 'no line holds an email address');
  return withoutRepeats({ rows: lines.map(({ entry }) => ({ entry, role: null })), invalid: [] }, name);
}

/**
 * A file's non-empty lines, each with its cells: split at commas, semicolons and tabs outside double
 * quotes. A line is its entry as written (`"Doe, Jane" <jane@x.io>`, as mail clients copy it), but a
 * cell a spreadsheet quoted whole because it held a separator (`"jane@x.io, john@x.io"`) is read
 * without its quotes, or the quotes would stick to its addresses.
 */
function linesOf(bytes: Buffer): Array<{ entry: string; cells: string[] }> {
  return textLines(bytes).map((line) => {
    const cells: string[] = [];
    let quoted = false;
    let from = 0;
    for (let i = 0; i <= line.length; i++) {
      const c = line[i];
      if (c === '"') quoted = !quoted;
      else if (i === line.length || (!quoted && (c === ',' || c === ';' || c === '\t'))) {
        const cell = line.slice(from, i).trim();
        if (cell) cells.push(cell);
        from = i + 1;
      }
    }
    const whole = /^"((?:[^"]|"")*)"$/;
    if (!cells.some((cell) => whole.test(cell))) return { entry: line, cells };
    const unquoted = cells.map((cell) => cell.replace(whole, (_, inner: string) => inner.replace(/""/g, '"')));
    return { entry: unquoted.join(', '), cells: unquoted };
  });
}

/**
 * The file with each address once, as its first row gives it: a file is stored in batches, and
 * a repeat in a later batch would otherwise be reported as already invited, by this very import.
 * A repeat naming another role is reported; the first row's role is the one used. A line holding
 * several addresses, some of them repeats, keeps only its new ones; its role goes with each.
 */
function withoutRepeats(file: ListFile, name: string): ListFile {
  const roles = new Map<string, Role | null>();
  const out: ListFile = { rows: [], invalid: [...file.invalid] };
  for (const row of file.rows) {
    const { emails, invalid } = parseEmailList(row.entry);
    const fresh = emails.filter((email) => !roles.has(email));
    for (const email of emails) {
      if (!roles.has(email) || !row.role || roles.get(email) === row.role) continue;
      const first = roles.get(email) ?? 'the role chosen for the list';
      out.invalid.push({ entry: email, reason: `listed again with the role ${row.role}; invited once, as ${first} (its first row)` });
    }
    for (const email of fresh) roles.set(email, row.role);
    if (fresh.length === emails.length) {
      out.rows.push(row);
      continue;
    }
    // Split: the new addresses go on, and what was not an address is reported here.
    for (const email of fresh) out.rows.push({ entry: email, role: row.role });
    for (const entry of invalid) out.invalid.push(entry);
  }
  // A line may hold many addresses: the cap counts addresses, or one line could carry any number.
  const addresses = roles.size;
  if (addresses > MAX_FILE_ROWS) throw notAList(name, `it holds ${addresses.toLocaleString('en')} addresses, and at most ${MAX_FILE_ROWS.toLocaleString('en')} are taken at a time`);
  return out;
}

/**
 * A file saved as UTF-16 with its byte-order mark (Excel's "Unicode text"), as UTF-8; any other
 * file as it is. Without this its every other byte is a NUL, and it would be refused as not text.
 */
function fromUtf16(bytes: Buffer): Buffer {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return Buffer.from(bytes.subarray(2).toString('utf16le'), 'utf8');
  // An odd last byte (a cut file) goes, as utf16le's reading drops it, or swap16 would refuse the whole file.
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(Buffer.from(bytes.subarray(2, bytes.length - (bytes.length % 2))).swap16().toString('utf16le'), 'utf8');
  return bytes;
}

/**
 * The header row's separator: a comma, or what spreadsheets write where the comma is the decimal
 * mark (a semicolon) and what a TSV has (a tab). The one that makes an email column of the first
 * line wins; undefined when the first line names no email column (a list without a header row).
 */
function headerDelimiterOf(bytes: Buffer, sep?: string): string | undefined {
  const firstLine = textLines(bytes.subarray(0, 4096))[0] ?? '';
  const names = (cells: string[]) => cells.map((cell) => headerName(cell.trim().replace(/^"|"$/g, '')));
  return (sep ? [sep] : [',', ';', '\t']).find((d) => names(firstLine.split(d)).some((cell) => EMAIL_HEADERS.includes(cell)));
}

/** Excel's first line `sep=;`, naming the separator of the rest: taken off, and its separator kept. */
function withoutSepLine(bytes: Buffer): { bytes: Buffer; sep?: string } {
  const match = /^(\uFEFF)?sep=(.)[ \t]*\r?\n/i.exec(bytes.subarray(0, 16).toString('utf8'));
  if (!match) return { bytes };
  return { bytes: bytes.subarray(Buffer.byteLength(match[0])), sep: match[2] };
}

/** A file's lines, trimmed, without its byte-order mark and empty lines. */
function textLines(bytes: Buffer): string[] {
  return bytes.toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
}

function tooManyRows(name: string, rows: number): InvalidInput {
  return notAList(name, `it has ${rows.toLocaleString('en')} rows, and at most ${MAX_FILE_ROWS.toLocaleString('en')} are taken at a time`);
}

/** A file over MAX_FILE_BYTES, told before or after its download. */
export function tooLarge(name: string): InvalidInput {
  return notAList(name, `it is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB`);
}

/** The one answer for a file that is not a list: what is wrong, and what a list looks like. */
export function notAList(name: string, why: string): InvalidInput {
  return new InvalidInput(
    `${name.slice(0, 100)} is not a list Doorman can read: ${why}. Use a .csv with a header row (email, and optionally first_name, last_name, role) or a .txt with one address per line, at most ${MAX_FILE_ROWS.toLocaleString('en')} addresses.`,
    'file',
  );
}
