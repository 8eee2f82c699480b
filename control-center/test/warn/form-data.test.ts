import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PARTS, parseFormData } from '../../src/warn/form-data.ts';

/** What undici's FormData encoder (not written here) sends: its Content-Type and body. */
async function encoded(fields: [string, string | Blob, string?][]): Promise<{ type: string; body: string }> {
  const form = new FormData();
  for (const [name, value, filename] of fields) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, value, filename);
  }
  const res = new Response(form);
  return { type: res.headers.get('content-type') ?? '', body: await res.text() };
}

const part = (name: string, value: string) =>
  `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;

describe('multipart/form-data for one-click unsubscribe (RFC 7578, RFC 8058)', () => {
  it("reads what undici's FormData sends", async () => {
    const one = await encoded([['List-Unsubscribe', 'One-Click']]);
    expect(parseFormData(one.type, one.body)).toEqual({
      ok: true,
      fields: { 'List-Unsubscribe': 'One-Click' },
    });
    const two = await encoded([
      ['token', 'abc_-123'],
      ['note', '수신 거부\r\nline two'],
    ]);
    expect(parseFormData(two.type, two.body)).toEqual({
      ok: true,
      fields: { token: 'abc_-123', note: '수신 거부\r\nline two' },
    });
  });

  it('takes a quoted boundary, a preamble, transport padding and an epilogue', () => {
    const body = `preamble\r\n--b 1  \r\n${part('a', '1')}\r\n--b 1\r\n${part('b', '')}\r\n--b 1--\r\nepilogue`;
    expect(parseFormData('multipart/form-data; boundary="b 1"', body)).toEqual({
      ok: true,
      fields: { a: '1', b: '' },
    });
  });

  it('refuses what is not a small set of named text fields, saying why', async () => {
    const t = 'multipart/form-data; boundary=XyZ';
    const refused = (type: string, body: string) => {
      const r = parseFormData(type, body);
      return r.ok ? 'accepted' : r.error;
    };
    expect(refused('multipart/form-data', `--XyZ\r\n${part('a', '1')}\r\n--XyZ--`)).toMatch(/boundary/);
    expect(refused(t, `--XyZ\r\n${part('a', '1')}\r\n`)).toMatch(/not closed/);
    expect(refused(t, '--XyZ--')).toMatch(/not closed/);
    expect(refused(t, `--XyZ\r\n${part('a', '1')}\r\n--XyZ\r\n${part('a', '2')}\r\n--XyZ--`)).toMatch(
      /twice/,
    );
    expect(refused(t, `--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--`)).toMatch(/without a name/);
    expect(refused(t, `--XyZ\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--XyZ--`)).toMatch(
      /not form-data/,
    );
    expect(refused(t, `--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--`)).toMatch(/malformed part header/);
    expect(refused(t, `--XyZ\r\n${part('a', '1').replace('\r\n\r\n', '\r\n')}\r\n--XyZ--`)).toMatch(
      /blank line/,
    );
    expect(refused(t, `--XyZjunk\r\n${part('a', '1')}\r\n--XyZ--`)).toMatch(/delimiter/);
    const many = Array.from({ length: MAX_PARTS + 1 }, (_, i) => `--XyZ\r\n${part(`f${i}`, 'x')}\r\n`).join(
      '',
    );
    expect(refused(t, `${many}--XyZ--`)).toMatch(/more than 8/);
    const file = await encoded([['List-Unsubscribe', new Blob(['One-Click']), 'x.txt']]);
    expect(refused(file.type, file.body)).toMatch(/files/);
  });

  it('never throws, whatever the header and body', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 80 }),
        fc.array(
          fc.constantFrom(
            '--b',
            '\r\n',
            '\r\n\r\n',
            'Content-Disposition: form-data; name="x"',
            'v',
            '--',
            ':',
            ';',
          ),
          {
            maxLength: 30,
          },
        ),
        (type, pieces) => {
          for (const ct of [type, 'multipart/form-data; boundary=b']) {
            const r = parseFormData(ct, pieces.join(''));
            expect(typeof r.ok).toBe('boolean');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
