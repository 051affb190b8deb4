/**
 * The table layout of `flux get` and `flux events` (olekukonko/tablewriter with no borders,
 * tab padding and no white space), so scripts that cut Flux's columns read ours:
 * - every cell is padded with spaces to its column's width and followed by a tab, the
 *   last one included;
 * - the header is upper-cased ("Last scan" → "LAST SCAN") and its last cell is followed
 *   by a space instead of a tab;
 * - a cell with line breaks spans several lines, the other cells padding blank.
 */

/** tablewriter's header formatting: `_` and a `.` between non-digits become spaces, then upper case. */
export function headerTitle(name: string): string {
  const rs = Array.from(name);
  const numOrSpace = (c: string | undefined): boolean => c !== undefined && /[0-9 ]/.test(c);
  for (let i = 0; i < rs.length; i++) {
    if (rs[i] === '_') rs[i] = ' ';
    else if (rs[i] === '.' && ((i !== 0 && !numOrSpace(rs[i - 1])) || (i !== rs.length - 1 && !numOrSpace(rs[i + 1])))) rs[i] = ' ';
  }
  const trimmed = rs.join('').trim();
  return (trimmed === '' && name !== '' ? ' ' : trimmed).toUpperCase();
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** Terminal columns a text takes (escape sequences take none). */
export function displayWidth(text: string): number {
  return Array.from(text.replace(ANSI, '')).length;
}

function padRight(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/**
 * Renders rows (and a header unless it is empty) exactly as Flux's TablePrinter does.
 * Returns the text with a trailing newline, or '' for no header and no rows.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const columns = Math.max(header.length, ...rows.map((r) => r.length));
  const widths = new Array<number>(columns).fill(0);
  const measure = (cells: readonly string[]): void => {
    cells.forEach((cell, i) => {
      for (const line of cell.split('\n')) widths[i] = Math.max(widths[i] ?? 0, displayWidth(line));
    });
  };
  measure(header);
  rows.forEach(measure);

  let out = '';
  if (header.length > 0) {
    for (let i = 0; i < columns; i++) {
      out += padRight(headerTitle(header[i] ?? ''), widths[i] ?? 0) + (i === columns - 1 ? ' ' : '\t');
    }
    out += '\n';
  }
  for (const row of rows) {
    const cellLines = Array.from({ length: columns }, (_, i) => (row[i] ?? '').split('\n'));
    const height = Math.max(...cellLines.map((l) => l.length));
    for (let line = 0; line < height; line++) {
      for (let i = 0; i < columns; i++) out += `${padRight(cellLines[i]?.[line] ?? '', widths[i] ?? 0)}\t`;
      out += '\n';
    }
  }
  return out;
}
