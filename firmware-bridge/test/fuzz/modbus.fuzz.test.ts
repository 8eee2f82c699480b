import { describe, expect, it } from 'vitest';
import {
  encodeException,
  encodeReadRequest,
  encodeReadResponse,
  type ReadRequest,
  scanRequest,
  scanResponse,
} from '../../src/modbus/frame.ts';
import { concat, FUZZ_CASES, Gen } from './gen.ts';

/** Acceptance item 4: Modbus RTU decoders, 100,000 random and mutated frames each, no exception escapes. */
describe('fuzz: Modbus RTU response decoder (scanResponse)', () => {
  it(`${FUZZ_CASES} random and mutated frames: never throws, and a good frame after the noise is decoded`, () => {
    const seed = 0x5eed01;
    const g = new Gen(seed);
    const reqs: ReadRequest[] = [
      { unit: 1, fc: 4, address: 0, count: 6 },
      { unit: 2, fc: 3, address: 0, count: 3 },
      { unit: 247, fc: 3, address: 100, count: 1 },
    ];
    const good = (req: ReadRequest) =>
      encodeReadResponse(
        req.unit,
        req.fc,
        Array.from({ length: req.count }, () => g.int(65536)),
      );
    const corpus = reqs.flatMap((r) => [
      good(r),
      good(r),
      encodeException(r.unit, r.fc, 1 + g.int(11)),
      encodeReadRequest(r),
    ]);
    for (let i = 0; i < FUZZ_CASES; i++) {
      const req = g.pick(reqs);
      const noise = g.fuzzFrame(corpus, 300);
      // As the master does: scan the growing buffer after every received chunk.
      let buf: Uint8Array = new Uint8Array(0);
      try {
        for (const c of g.chunks(noise)) {
          buf = concat(buf, c);
          scanResponse(buf, req);
        }
      } catch (err) {
        throw new Error(`seed ${seed} case ${i}: ${(err as Error).message}`);
      }
      // Then the device's real answer: it must come out, whatever noise preceded it.
      const registers = Array.from({ length: req.count }, () => g.int(65536));
      const r = scanResponse(concat(buf, encodeReadResponse(req.unit, req.fc, registers)), req);
      if (r.kind !== 'ok' || r.registers.join() !== registers.join()) {
        expect.fail(
          `seed ${seed} case ${i}: noise ${Buffer.from(buf).toString('hex')} hid the answer: ${JSON.stringify(r)}`,
        );
      }
    }
  });
});

describe('fuzz: Modbus RTU request decoder (scanRequest, slave side)', () => {
  it(`${FUZZ_CASES} random and mutated frames: never throws, drop is in bounds, a good request after noise is found`, () => {
    const seed = 0x5eed02;
    const g = new Gen(seed);
    const corpus = [1, 2, 3].map((u) =>
      encodeReadRequest({ unit: u, fc: 3, address: g.int(100), count: 1 + g.int(10) }),
    );
    const accepts = (u: number) => u === 1 || u === 2;
    for (let i = 0; i < FUZZ_CASES; i++) {
      let buf = g.fuzzFrame(corpus, 64);
      // As the slave does: consume requests, drop what can never start one.
      for (;;) {
        const s = scanRequest(buf, accepts);
        if (s.kind === 'none') {
          if (s.drop > buf.length) expect.fail(`seed ${seed} case ${i}: drop ${s.drop} > ${buf.length}`);
          buf = buf.subarray(s.drop);
          break;
        }
        buf = buf.subarray(s.end);
      }
      const req = { unit: 1 + g.int(2), fc: 4 as const, address: g.int(1000), count: 1 + g.int(125) };
      // Residue left by the slave is at most 7 bytes that could still start a frame; behind it the
      // good request must be found (the residue cannot complete a frame of its own with a good CRC
      // except by chance, which the loop above already consumed).
      const s = scanRequest(concat(buf, encodeReadRequest(req)), accepts);
      if (s.kind !== 'ok') expect.fail(`seed ${seed} case ${i}: request after noise not found`);
    }
  });
});
