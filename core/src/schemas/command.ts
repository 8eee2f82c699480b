import { type Static, Type } from '@sinclair/typebox';
import { Finite, Key, Name, Text } from './bounds.ts';
import { EpochMs } from './reading.ts';
import { Status } from './status.ts';

/**
 * `slopeguard/v1/{site}/{gateway}/cmd` and `.../cmd/ack`. Arguments and results are flat records
 * of scalars (or short lists of ids); `health-report` answers with the gateway's Status.
 */
const ArgValue = Type.Union([Type.String({ maxLength: 256 }), Finite, Type.Boolean()]);

export const CommandId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$' });

export const Command = Type.Object(
  {
    id: CommandId,
    name: Name,
    args: Type.Optional(Type.Record(Key, ArgValue, { maxProperties: 16, additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type Command = Static<typeof Command>;
export type CommandArgs = NonNullable<Command['args']>;

const ResultValue = Type.Union([
  Type.String({ maxLength: 256 }),
  Finite,
  Type.Boolean(),
  Type.Null(),
  Type.Array(Type.String({ maxLength: 128 }), { maxItems: 64 }),
]);
export const CommandResult = Type.Union([
  Status,
  Type.Record(Key, ResultValue, { maxProperties: 32, additionalProperties: false }),
]);
export type CommandResult = Static<typeof CommandResult>;

export const CommandAck = Type.Object(
  {
    id: CommandId,
    ok: Type.Boolean(),
    ts: EpochMs,
    error: Type.Optional(Text(1000)),
    result: Type.Optional(CommandResult),
  },
  { additionalProperties: false },
);
export type CommandAck = Static<typeof CommandAck>;
