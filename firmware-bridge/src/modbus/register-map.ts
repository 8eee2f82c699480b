import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Static, Type } from '@sinclair/typebox';
import { SensorKindSchema, validator } from '@slopeguard/core';
import { parse as parseYaml } from 'yaml';
import { BridgeError } from '../errors.ts';
import { round9 } from '../round.ts';
import { MAX_READ_REGISTERS, type ReadFunction } from './frame.ts';

/**
 * A register map describes one device model in data: which registers hold which quantity and how to
 * turn the raw 16-bit words into engineering units. value = raw * scale + offset.
 */
export const RegisterField = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z][a-z0-9_]{0,31}$',
      description: 'value name; supply_v goes to health',
    }),
    address: Type.Integer({
      minimum: 0,
      maximum: 65535,
      description: 'register address (0-based, on the wire)',
    }),
    function: Type.Optional(
      Type.Union([Type.Literal(3), Type.Literal(4)], { description: 'default: map function' }),
    ),
    type: Type.Union(
      [
        Type.Literal('int16'),
        Type.Literal('uint16'),
        Type.Literal('int32'),
        Type.Literal('uint32'),
        Type.Literal('float32'),
      ],
      { description: '32-bit types span two registers' },
    ),
    wordOrder: Type.Optional(
      Type.Union([Type.Literal('high-first'), Type.Literal('low-first')], {
        description: '32-bit only: high-first = ABCD (Modbus convention), low-first = CDAB',
      }),
    ),
    scale: Type.Optional(Type.Number({ default: 1 })),
    offset: Type.Optional(Type.Number({ default: 0 })),
    unit: Type.Optional(Type.String()),
    range: Type.Optional(
      Type.Tuple([Type.Number(), Type.Number()], { description: 'device range, after scaling' }),
    ),
  },
  { additionalProperties: false },
);

export const RegisterMap = Type.Object(
  {
    model: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    description: Type.Optional(Type.String()),
    kind: SensorKindSchema,
    function: Type.Union([Type.Literal(3), Type.Literal(4)], { description: 'default function code' }),
    fields: Type.Array(RegisterField, { minItems: 1, maxItems: 32 }),
    counter: Type.Optional(
      Type.Object(
        {
          field: Type.String({ description: 'the cumulative tip count field' }),
          mmPerCount: Type.Number({ exclusiveMinimum: 0 }),
          wrap: Type.Optional(Type.Integer({ minimum: 2, description: 'modulus of the counter' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type RegisterField = Static<typeof RegisterField>;
export type RegisterMap = Static<typeof RegisterMap>;

const checkMap = validator(RegisterMap);

export interface ReadBlock {
  fc: ReadFunction;
  address: number;
  count: number;
}

/** Widths in registers. */
export function fieldWidth(f: RegisterField): 1 | 2 {
  return f.type === 'int16' || f.type === 'uint16' ? 1 : 2;
}

/** One read per function code covering all its fields (a few wasted registers beat extra round trips). */
export function planReads(map: RegisterMap): ReadBlock[] {
  const blocks: ReadBlock[] = [];
  for (const fc of [3, 4] as const) {
    const fields = map.fields.filter((f) => (f.function ?? map.function) === fc);
    if (fields.length === 0) continue;
    const start = Math.min(...fields.map((f) => f.address));
    const end = Math.max(...fields.map((f) => f.address + fieldWidth(f)));
    blocks.push({ fc, address: start, count: end - start });
  }
  return blocks;
}

/** Turns the registers of the planned blocks into named engineering values. Pure. */
export function decodeFields(
  map: RegisterMap,
  blocks: readonly ReadBlock[],
  regs: readonly number[][],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of map.fields) {
    const fc = f.function ?? map.function;
    const bi = blocks.findIndex((b) => b.fc === fc);
    const block = blocks[bi];
    const words = regs[bi];
    if (!block || !words) continue;
    const at = f.address - block.address;
    const raw = rawValue(f, words[at], words[at + 1]);
    if (raw === undefined) continue;
    out[f.name] = round9(raw * (f.scale ?? 1) + (f.offset ?? 0));
  }
  return out;
}

function rawValue(f: RegisterField, w0: number | undefined, w1: number | undefined): number | undefined {
  if (w0 === undefined) return undefined;
  switch (f.type) {
    case 'uint16':
      return w0;
    case 'int16':
      return w0 >= 0x8000 ? w0 - 0x10000 : w0;
  }
  if (w1 === undefined) return undefined;
  const [hi, lo] = f.wordOrder === 'low-first' ? [w1, w0] : [w0, w1];
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint16(0, hi);
  dv.setUint16(2, lo);
  if (f.type === 'uint32') return dv.getUint32(0);
  if (f.type === 'int32') return dv.getInt32(0);
  return dv.getFloat32(0);
}

/** The inverse of decodeFields for one field, for virtual devices and tests: engineering value to words. */
export function encodeField(f: RegisterField, value: number): number[] {
  const raw = (value - (f.offset ?? 0)) / (f.scale ?? 1);
  if (f.type === 'uint16' || f.type === 'int16') return [Math.round(raw) & 0xffff];
  const dv = new DataView(new ArrayBuffer(4));
  if (f.type === 'float32') dv.setFloat32(0, raw);
  else dv.setUint32(0, Math.round(raw) >>> 0);
  const hi = dv.getUint16(0);
  const lo = dv.getUint16(2);
  return f.wordOrder === 'low-first' ? [lo, hi] : [hi, lo];
}

export function parseRegisterMap(text: string, source: string): RegisterMap {
  let value: unknown;
  try {
    value = source.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new BridgeError('SG_BRIDGE_MAP', `${source}: ${(err as Error).message}`);
  }
  const r = checkMap(value);
  if (!r.ok) throw new BridgeError('SG_BRIDGE_MAP', `${source}: ${r.errors.join('; ')}`);
  const map = r.value;
  for (const b of planReads(map)) {
    if (b.count > MAX_READ_REGISTERS)
      throw new BridgeError('SG_BRIDGE_MAP', `${source}: fc ${b.fc} spans ${b.count} registers`);
  }
  if (map.counter && !map.fields.some((f) => f.name === map.counter?.field)) {
    throw new BridgeError('SG_BRIDGE_MAP', `${source}: counter field ${map.counter.field} is not a field`);
  }
  return map;
}

/** Set only in the gateway bundle (deploy/build-gateway.ts): where it keeps its copy of the maps. */
declare const SLOPEGUARD_BUNDLED_MAPS: string | undefined;

/** The maps shipped with firmware-bridge: firmware-bridge/maps/, or the gateway bundle's copy. */
export const SHIPPED_MAPS_DIR = fileURLToPath(
  new URL(
    typeof SLOPEGUARD_BUNDLED_MAPS === 'string' ? SLOPEGUARD_BUNDLED_MAPS : '../../maps/',
    import.meta.url,
  ),
);

const MODEL_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const MAP_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

/** The files a model's map may be in, in search order (the model name is a checked id: no paths). */
function candidates(model: string, dirs: readonly string[]): string[] {
  if (!MODEL_NAME.test(model))
    throw new BridgeError('SG_BRIDGE_MAP', `bad model name ${JSON.stringify(model)}`);
  return dirs.flatMap((dir) => MAP_EXTENSIONS.map((ext) => join(dir, model + ext)));
}

function fromFile(model: string, file: string, text: string): RegisterMap {
  const map = parseRegisterMap(text, file);
  if (map.model !== model)
    throw new BridgeError('SG_BRIDGE_MAP', `${file}: model is ${map.model}, expected ${model}`);
  return map;
}

function notFound(model: string, dirs: readonly string[]): BridgeError {
  return new BridgeError('SG_BRIDGE_MAP', `no register map for model ${model} in ${dirs.join(', ')}`);
}

/** Loads `<model>.yaml|.yml|.json` from `dirs` in order (the model name is a checked id: no paths). */
export async function loadRegisterMap(
  model: string,
  dirs: readonly string[] = [SHIPPED_MAPS_DIR],
): Promise<RegisterMap> {
  for (const file of candidates(model, dirs)) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    return fromFile(model, file, text);
  }
  throw notFound(model, dirs);
}

/**
 * The same search, synchronous, for config checks (`slopeguard edge --check`, reload) that must
 * refuse a sensor naming a map that is missing or invalid before any driver starts.
 */
export function loadRegisterMapSync(
  model: string,
  dirs: readonly string[] = [SHIPPED_MAPS_DIR],
): RegisterMap {
  for (const file of candidates(model, dirs)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    return fromFile(model, file, text);
  }
  throw notFound(model, dirs);
}
