import { describe, expect, it } from 'vitest';
import { type ChunkLines, sentChunk, type TrackBody } from '../../schemas/track.js';
import { classifyResponse, retryAfterMs, splitInHalves } from '../../src/send/classify.js';

const body: TrackBody = {
  attributes: [
    { external_id: 'a', x: 1 },
    { external_id: 'b', x: 2 },
  ],
  events: [{ external_id: 'a', name: 'e', time: '2025-01-01' }],
  purchases: [{ external_id: 'b', product_id: 'p', currency: 'USD', price: 1, time: '2025-01-01' }],
};
const lines: ChunkLines = { attributes: [[2, 9], [3]], events: [4], purchases: [5] };
const sent = sentChunk(Buffer.from(JSON.stringify(body)), { objects: 4, lines });
const classify = (status: number, text: string, headers = {}) =>
  classifyResponse(status, headers, text, sent, 0);

describe('classifyResponse', () => {
  it('201 success accepts every object', () => {
    expect(classify(201, '{"message":"success","attributes_processed":2}')).toEqual({
      kind: 'accepted',
      accepted: 4,
      failed: [],
    });
  });

  it('201 with errors maps each index back to its object and source lines', () => {
    const o = classify(
      201,
      JSON.stringify({
        message: 'success',
        errors: [
          { type: "'external_id' must be fewer than 988 bytes", input_array: 'attributes', index: 0 },
          { type: 'INVALID_CURRENCY', input_array: 'purchases', index: 0 },
          { type: 'dup', input_array: 'purchases', index: 0 },
          { type: 'out of range', input_array: 'events', index: 7 },
        ],
      }),
    );
    expect(o.kind).toBe('accepted');
    if (o.kind !== 'accepted') return;
    expect(o.accepted).toBe(2);
    expect(o.failed.map((f) => [f.array, f.lines, f.code])).toEqual([
      ['attributes', [2, 9], 'braze_external_id_must_be_fewer_than_988_bytes'],
      ['purchases', [5], 'invalid_currency'],
    ]);
    expect(o.failed[0]!.object).toEqual(body.attributes![0]);
  });

  it('400 with per-object errors dead-letters those and re-sends the rest', () => {
    const o = classify(
      400,
      JSON.stringify({
        message: 'Valid data must be provided',
        errors: [{ type: 'bad', input_array: 'attributes', index: 1 }],
      }),
    );
    expect(o.kind).toBe('partial');
    if (o.kind !== 'partial') return;
    expect(o.failed.map((f) => f.lines)).toEqual([[3]]);
    expect(o.remainder.body.attributes).toEqual([body.attributes![0]]);
    expect(o.remainder.lines).toEqual({ attributes: [[2, 9]], events: [4], purchases: [5] });
  });

  it('400 naming every object is a plain rejection', () => {
    const errors = [0, 1]
      .map((index) => ({ type: 't', input_array: 'attributes', index }))
      .concat([
        { type: 't', input_array: 'events', index: 0 },
        { type: 't', input_array: 'purchases', index: 0 },
      ]);
    expect(classify(400, JSON.stringify({ errors })).kind).toBe('rejected');
  });

  it('400 without details rejects the whole chunk with the message', () => {
    const o = classify(400, '{"message":"Bad Request"}');
    expect(o).toMatchObject({ kind: 'rejected' });
    if (o.kind === 'rejected')
      expect(o.failed.map((f) => f.code)).toEqual(['http_400', 'http_400', 'http_400', 'http_400']);
  });

  it('413 and Max Input Length Exceeded split the chunk', () => {
    expect(classify(413, '')).toEqual({ kind: 'split' });
    expect(classify(400, '{"message":"Max Input Length Exceeded"}')).toEqual({ kind: 'split' });
  });

  it('401, 403 and 404 are fatal with a message that says what to check', () => {
    expect(classify(401, '{"message":"Invalid API Key"}')).toMatchObject({
      kind: 'fatal',
      status: 401,
      message: expect.stringMatching(/BRAZE_API_KEY/),
    });
    expect(classify(403, '{"message":"Access Denied"}')).toMatchObject({ kind: 'fatal', status: 403 });
    expect(classify(404, '')).toMatchObject({
      kind: 'fatal',
      message: expect.stringMatching(/BRAZE_REST_ENDPOINT/),
    });
  });

  it('5xx and 408 retry; 429 waits as the headers say', () => {
    for (const s of [500, 502, 503, 504, 408]) expect(classify(s, 'oops').kind).toBe('retry');
    expect(classify(429, '', { 'x-ratelimit-retry-after': '2' })).toEqual({
      kind: 'rate-limited',
      waitMs: 2000,
    });
  });

  it('a non-JSON body never throws', () => {
    expect(classify(201, '<html>')).toMatchObject({ kind: 'accepted', accepted: 4 });
  });
});

describe('retryAfterMs', () => {
  it('reads Retry-After, then Reset as epoch or as seconds remaining, then defaults to 1 s', () => {
    expect(retryAfterMs({ 'x-ratelimit-retry-after': '3' }, 0)).toBe(3000);
    expect(retryAfterMs({ 'x-ratelimit-reset': '1700000002' }, 1_700_000_000_500)).toBe(1500);
    expect(retryAfterMs({ 'x-ratelimit-reset': '2' }, 0)).toBe(2000);
    expect(retryAfterMs({}, 0)).toBe(1000);
    expect(retryAfterMs({ 'x-ratelimit-retry-after': '9999' }, 0)).toBe(60_000);
  });
});

describe('splitInHalves', () => {
  it('keeps every object exactly once with its lines', () => {
    const [a, b] = splitInHalves(body, lines);
    expect(a.body).toEqual({ attributes: body.attributes });
    expect(a.lines.attributes).toEqual([[2, 9], [3]]);
    expect(b.body).toEqual({ events: body.events, purchases: body.purchases });
    expect(b.lines).toEqual({ attributes: [], events: [4], purchases: [5] });
  });
});
