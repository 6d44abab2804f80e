import { describe, expect, it } from 'vitest';
import { parseEmailList } from '../../src/invites/email-list.js';
import { MAX_FILE_ROWS, parseListFile } from '../../src/invites/list-file.js';
import { InvalidInput } from '../../src/shared/errors.js';

const refusal = (content: string | Buffer, name = 'list.csv') => {
  try {
    parseListFile(content, name);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInput);
    return (error as InvalidInput).message;
  }
  throw new Error('the file was taken');
};

describe('parseListFile', () => {
  it('reads a header row in any case and order, with quoted cells, a BOM and CRLF; names go with the address', () => {
    const file = parseListFile('\uFEFFRole,Last Name,E-mail,first_name\r\nadmin,"Doe, Jr.",jane@x.io,Jane\r\n,,sam@y.io,\r\nDeveloper,Lee,ann@z.io,\r\n', 'people.csv');
    expect(file).toEqual({
      rows: [
        { entry: '"Jane Doe, Jr." <jane@x.io>', role: 'admin' },
        { entry: 'sam@y.io', role: null },
        { entry: '"Lee" <ann@z.io>', role: 'developer' },
      ],
      invalid: [],
    });
  });

  it('reads a spreadsheet saved with semicolons (where the comma is the decimal mark) or tabs, roles included', () => {
    const expected = { rows: [{ entry: '"Jane Doe" <jane@x.io>', role: 'admin' }, { entry: 'sam@y.io', role: null }], invalid: [] };
    expect(parseListFile('\uFEFFemail;first_name;last_name;role\r\njane@x.io;Jane;Doe;Admin\r\nsam@y.io;;;\r\n', 'excel.csv')).toEqual(expected);
    expect(parseListFile('"E-mail"\t"First Name"\t"Last Name"\t"Role"\njane@x.io\tJane\tDoe\tadmin\nsam@y.io\t\t\t\n', 'sheet.tsv.csv')).toEqual(expected);
    // Saved as UTF-16 (Excel's "Unicode text", tab-separated), little- or big-endian, with its BOM.
    const tsv = 'email\tfirst_name\tlast_name\trole\r\njane@x.io\tJane\tDoe\tadmin\r\nsam@y.io\t\t\t\r\n';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(tsv, 'utf16le')]);
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(tsv, 'utf16le').swap16()]);
    for (const file of [le, be]) expect(parseListFile(file, 'unicode.txt')).toEqual(expected);
    // A name cell with a line break in it (quoted) stays with its address.
    expect(parseListFile('email,first_name,last_name\njane@x.io,"Jane\r\nMary",Doe\n', 'list.csv').rows).toEqual([{ entry: '"Jane Mary Doe" <jane@x.io>', role: null }]);
    // A comma list whose names hold semicolons stays a comma list.
    expect(parseListFile('email,first_name\njane@x.io,"Jane; the first"\n', 'list.csv').rows).toEqual([{ entry: '"Jane; the first" <jane@x.io>', role: null }]);
  });

  it('names a row with an unknown role or without an address, and keeps the others', () => {
    const file = parseListFile('email,role\na@x.io,owner\n,member\nb@x.io,MEMBER\n', 'roles.csv');
    expect(file.rows).toEqual([{ entry: 'b@x.io', role: 'member' }]);
    expect(file.invalid).toEqual([
      { entry: 'a@x.io', reason: 'unknown role "owner" (use admin, member, developer)' },
      { entry: '(row 3)', reason: 'no email address' },
    ]);
  });

  it('names a row by its line in the file, blank lines and empty rows (",," from a spreadsheet) counted', () => {
    const file = parseListFile('email,role\n\na@x.io,member\n,,\n"b@x.io",member\n,member\n', 'gaps.csv');
    expect(file.rows.map((r) => r.entry)).toEqual(['a@x.io', 'b@x.io']);
    expect(file.invalid).toEqual([{ entry: '(row 6)', reason: 'no email address' }]);
  });

  it('reads one entry per line without a header (a .txt)', () => {
    expect(parseListFile('jane@x.io\n\n  Sam Roe <sam@y.io>  \nnot-an-address\n', 'list.txt').rows.map((r) => r.entry)).toEqual(['jane@x.io', 'Sam Roe <sam@y.io>', 'not-an-address']);
  });

  it('reads a line as mail clients copy an address with its name, quoted, with or without a comma in the quotes', () => {
    const file = parseListFile('"Jane Doe" <jane@x.io>\r\n"Doe, John" <john@x.io>\nbob@x.io\n', 'copied.txt');
    expect(file).toEqual({ rows: [{ entry: '"Jane Doe" <jane@x.io>', role: null }, { entry: '"Doe, John" <john@x.io>', role: null }, { entry: 'bob@x.io', role: null }], invalid: [] });
  });

  it('a table without its header row is refused, however its lines are quoted', () => {
    expect(refusal('jane@x.io,admin\n"Doe, Jane" <jane@x.io> "x\n', 'roles.txt')).toContain('several columns but no header row');
    expect(refusal('jane@x.io,admin\nbob@x.io,member\n', 'roles.csv')).toContain('several columns but no header row');
    // Whatever separates its cells: a role read as an address would invite as member.
    expect(refusal('jane@x.io;admin\n', 'roles.csv')).toContain('several columns but no header row');
    expect(refusal('jane@x.io\tadmin\n', 'roles.tsv')).toContain('several columns but no header row');
  });

  it('a cell a spreadsheet quoted whole (it held a comma or semicolon) is read without its quotes, with each address in it', () => {
    expect(parseListFile('"jane@x.io, john@x.io"\nann@x.io\n', 'one-column.csv').rows.map((r) => r.entry)).toEqual(['jane@x.io, john@x.io', 'ann@x.io']);
    const semicolons = parseListFile('"jane@x.io; john@x.io"\n', 'one-column.csv');
    expect(semicolons.invalid).toEqual([]);
    expect(semicolons.rows.map((r) => r.entry)).toEqual(['jane@x.io; john@x.io']);
  });

  it('a named row whose email cell holds several addresses invites each (one name cannot stand for them all)', () => {
    const file = parseListFile('email,first_name\n"two1@acme.com, two2@acme.com",Two\none@acme.com,One\n', 'people.csv');
    expect(file.invalid).toEqual([]);
    expect(parseEmailList(file.rows.map((r) => r.entry)).emails).toEqual(['two1@acme.com', 'two2@acme.com', 'one@acme.com']);
  });

  it('takes Excel\'s first line "sep=;" as naming the separator, not as a row', () => {
    expect(parseListFile('sep=;\r\nemail;role\r\nsep1@x.io;admin\r\n', 'excel.csv')).toEqual({ rows: [{ entry: 'sep1@x.io', role: 'admin' }], invalid: [] });
    expect(parseListFile('\uFEFFsep=,\nEmail,Role\nsep2@x.io,developer\n', 'excel.csv').rows).toEqual([{ entry: 'sep2@x.io', role: 'developer' }]);
  });

  it('a line of several addresses is a list, read by CSV or line by line alike', () => {
    const outlook = parseListFile('"Doe, Jane" <jane@x.io>; "Roe, Sam" <sam@x.io>\nann@x.io, bob@x.io\n', 'outlook.txt');
    expect(outlook.rows.map((r) => r.entry)).toEqual(['"Doe, Jane" <jane@x.io>; "Roe, Sam" <sam@x.io>', 'ann@x.io, bob@x.io']);
    expect(parseListFile('ann@x.io, bob@x.io\ncid@x.io\n', 'plain.txt').rows.map((r) => r.entry)).toEqual(['ann@x.io, bob@x.io', 'cid@x.io']);
    // A repeat on such a line is dropped; what on it was no address is still reported.
    const mixed = parseListFile('sam@x.io\n"Roe" <sam@x.io> ann@x.io not-an-address\n', 'mixed.txt');
    expect(mixed.rows.map((r) => r.entry)).toEqual(['sam@x.io', 'ann@x.io']);
    expect(mixed.invalid.map((i) => i.entry)).toEqual(['not-an-address']);
  });

  it('reads cells past the header\'s as more of the row: addresses are taken, anything else is named', () => {
    const file = parseListFile('email\njane@x.io,bob@x.io\nann@x.io,call her first\n', 'extra.csv');
    expect(file.rows).toEqual([
      { entry: 'jane@x.io, bob@x.io', role: null },
      { entry: 'ann@x.io', role: null },
    ]);
    expect(parseEmailList(file.rows.map((r) => r.entry)).emails).toEqual(['jane@x.io', 'bob@x.io', 'ann@x.io']);
    expect(file.invalid).toEqual([{ entry: 'call her first', reason: 'row 3 has more cells than the header row names; this one was not read' }]);
  });

  it('reads a UTF-16 file cut at an odd byte as far as it goes', () => {
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('email\na@x.io\n', 'utf16le').swap16(), Buffer.from([0x00])]);
    expect(parseListFile(be, 'cut.txt').rows).toEqual([{ entry: 'a@x.io', role: null }]);
  });

  it('takes Outlook\'s "E-mail Address" header', () => {
    expect(parseListFile('First Name,Last Name,E-mail Address\nJane,Doe,jane@x.io\n', 'contacts.csv').rows).toEqual([{ entry: '"Jane Doe" <jane@x.io>', role: null }]);
  });

  it('keeps each address once, as its first row gives it, across the whole file; a repeat with another role is named', () => {
    const file = parseListFile('email,role\njane@x.io,admin\nbob@x.io,\nJANE@x.io,developer\nbob@x.io,\njane@x.io,admin\n', 'repeats.csv');
    expect(file.rows).toEqual([{ entry: 'jane@x.io', role: 'admin' }, { entry: 'bob@x.io', role: null }]);
    expect(file.invalid).toEqual([{ entry: 'jane@x.io', reason: 'listed again with the role developer; invited once, as admin (its first row)' }]);
    const lines = Array.from({ length: 2_500 }, (_, i) => `person${i % 1_200}@x.io`).join('\n');
    expect(parseListFile(lines, 'long.txt').rows).toHaveLength(1_200);
    // A first row with no role takes the list's; a repeat naming one is still said.
    expect(parseListFile('email,role\nann@x.io,\nann@x.io,admin\n', 'late-role.csv').invalid).toEqual([{ entry: 'ann@x.io', reason: 'listed again with the role admin; invited once, as the role chosen for the list (its first row)' }]);
    // A line with several addresses keeps only those not listed before.
    expect(parseListFile('"Doe, Jane" <jane@x.io>\n"Roe" <sam@x.io> jane@x.io\n', 'two-a-line.txt').rows).toEqual([{ entry: '"Doe, Jane" <jane@x.io>', role: null }, { entry: 'sam@x.io', role: null }]);
  });

  it('refuses what is not a list, each time saying what a list looks like', () => {
    const cases: Array<[string | Buffer, RegExp]> = [
      [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]), /it is not a text file/],
      ['a@x.io,Ann,Lee\nb@x.io,Bo,Lee\n', /several columns but no header row/],
      ['\n \n', /it is empty/],
      ['email\n', /it has a header row but no addresses under it/],
      ['Email;Role\r\n;;\r\n', /it has a header row but no addresses under it/],
      ['just words\nno addresses here\n', /no line holds an email address/],
      ['email\n"unclosed\n', /could not be read as CSV/],
      ['email\n' + 'a@x.io\n'.repeat(MAX_FILE_ROWS + 1), /10,001 rows, and at most 10,000/],
      [Buffer.alloc(5 * 1024 * 1024 + 1, 'a'), /larger than 5 MB/],
      // The cap counts addresses: one line could otherwise carry any number.
      [Array.from({ length: MAX_FILE_ROWS + 1 }, (_, i) => `a${i}@x.io`).join(', '), /10,001 addresses, and at most 10,000/],
      ['email\n' + Array.from({ length: 11 }, (_, r) => `"${Array.from({ length: 1_000 }, (_, i) => `r${r}n${i}@x.io`).join(';')}"`).join('\n'), /11,000 addresses, and at most 10,000/],
    ];
    for (const [content, why] of cases) {
      const message = refusal(content);
      expect(message).toMatch(why);
      expect(message).toContain('Use a .csv with a header row (email, and optionally first_name, last_name, role) or a .txt with one address per line, at most 10,000 addresses.');
    }
    expect(parseListFile('email\n' + Array.from({ length: MAX_FILE_ROWS }, (_, i) => `a${i}@x.io\n`).join(''), 'max.csv').rows).toHaveLength(MAX_FILE_ROWS);
  });
});
