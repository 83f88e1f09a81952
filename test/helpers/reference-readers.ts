import { csvValues, type RawRow } from '../../schemas/record.js';

/**
 * Plain references for the readers' fast paths, written from their documented rules on the whole
 * text at once (no chunks, no byte offsets, no parser engine): the property tests feed the real
 * readers the same text in random pieces and expect the same rows.
 */

/** What the comparison looks at: line, kind, and the content (values, value, raw text, code). */
export type RowView =
  | { line: number; kind: 'csv'; values: Record<string, string> }
  | { line: number; kind: 'jsonl'; value: unknown; text: string | undefined }
  | { line: number; kind: 'error'; code: string; raw: unknown };

export function view(row: RawRow): RowView {
  if (row.kind === 'csv') return { line: row.line, kind: 'csv', values: { ...csvValues(row) } };
  if (row.kind === 'jsonl') return { line: row.line, kind: 'jsonl', value: row.value, text: row.text };
  return { line: row.line, kind: 'error', code: row.code, raw: row.raw };
}

/**
 * JSONL: lines end at "\n" (a "\r" before it belongs to the ending); a line longer than `max` is an
 * error row; a blank line (after a BOM on line 1) is skipped but counted; a line that is not JSON
 * is bad_json, one nested deeper than 100 levels too_deep, anything else a jsonl row.
 */
export function referenceJsonl(text: string, max: number): RowView[] {
  const out: RowView[] = [];
  const parts = text.split('\n');
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    if (last && part === '') return;
    const content = !last && part.endsWith('\r') ? part.slice(0, -1) : part;
    const line = i + 1;
    if (content.length > max) {
      out.push({ line, kind: 'error', code: 'bad_json', raw: undefined });
      return;
    }
    const body = line === 1 && content.startsWith('\uFEFF') ? content.slice(1) : content;
    if (body.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      out.push({ line, kind: 'error', code: 'bad_json', raw: body });
      return;
    }
    if (depth(value) > 100) out.push({ line, kind: 'error', code: 'too_deep', raw: body });
    else out.push({ line, kind: 'jsonl', value, text: body });
  });
  return out;
}

function depth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depth));
}

type Parsed = { cells: string[]; end: number } | { error: true };

/**
 * CSV by RFC 4180 with the file's line ending ("\n" or "\r\n", the first one seen): a field is
 * quoted ("" for a quote inside) or plain (no quote at all); a record that breaks these rules costs
 * its first physical line (an error row) and reading goes on with the next line. A record whose text
 * is empty is a blank line (skipped, counted); the first other record is the header (names
 * trimmed); a record with another cell count is a ragged_row; a record spans one line more per "\n"
 * inside its fields.
 */
export function referenceCsv(input: string): RowView[] {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const firstNl = text.indexOf('\n');
  const eol = firstNl > 0 && text[firstNl - 1] === '\r' ? '\r\n' : '\n';
  const out: RowView[] = [];
  let header: string[] | undefined;
  let line = 1;
  for (let pos = 0; pos < text.length; ) {
    const parsed = parseRecord(text, pos, eol);
    if ('error' in parsed) {
      if (!header) throw new Error('reference: the generated header must parse');
      const nl = text.indexOf('\n', pos);
      const raw = text.slice(pos, nl === -1 ? text.length : nl).replace(/\r$/, '');
      out.push({ line, kind: 'error', code: 'bad_csv', raw });
      line++;
      pos = nl === -1 ? text.length : nl + 1;
      continue;
    }
    const { cells, end } = parsed;
    const start = line;
    line += 1 + cells.join('').split('\n').length - 1;
    const record = text.slice(pos, end);
    const blank = (record.endsWith(eol) ? record.slice(0, -eol.length) : record) === '';
    pos = end;
    if (blank) continue;
    if (!header) {
      header = cells.map((c) => c.trim());
      continue;
    }
    if (cells.length !== header.length) {
      out.push({ line: start, kind: 'error', code: 'ragged_row', raw: cells });
      continue;
    }
    const values: Record<string, string> = {};
    header.forEach((name, i) => {
      values[name] = cells[i]!;
    });
    out.push({ line: start, kind: 'csv', values });
  }
  return out;
}

function parseRecord(text: string, start: number, eol: string): Parsed {
  const cells: string[] = [];
  let i = start;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      for (i++; ; ) {
        if (i >= text.length) return { error: true };
        if (text[i] === '"' && text[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else field += text[i++];
      }
      if (i < text.length && text[i] !== ',' && !text.startsWith(eol, i)) return { error: true };
    } else {
      while (i < text.length && text[i] !== ',' && !text.startsWith(eol, i)) {
        if (text[i] === '"') return { error: true };
        field += text[i++];
      }
    }
    cells.push(field);
    if (i >= text.length) return { cells, end: text.length };
    if (text[i] === ',') i++;
    else return { cells, end: i + eol.length };
  }
}
