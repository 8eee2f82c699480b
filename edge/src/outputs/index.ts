import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { AlarmOutputConfig } from '../config/schema.ts';
import { createGpioOutput } from './gpio.ts';
import { createSerialRelayOutput } from './serial-relay.ts';
import { createSimulatedOutput } from './simulated.ts';
import type { Output } from './types.ts';

export type { Output, OutputState } from './types.ts';

export function createOutput(cfg: AlarmOutputConfig, clock: Clock, log: Logger): Output {
  switch (cfg.kind) {
    case 'gpio':
      return createGpioOutput(cfg, clock, log);
    case 'serial-relay':
      return createSerialRelayOutput(cfg, clock, log);
    case 'simulated':
      return createSimulatedOutput(cfg, clock, log);
  }
}
