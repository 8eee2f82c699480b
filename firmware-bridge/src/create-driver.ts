import { childLogger } from '@slopeguard/core/log.ts';
import pino, { type Logger } from 'pino';
import type { Clock } from './clock.ts';
import { nowFn } from './clock.ts';
import type { DriverConfig } from './config.ts';
import type { Driver } from './driver.ts';
import { LineDriver } from './drivers/line.ts';
import { ModbusDriver } from './drivers/modbus.ts';
import { Sdi12Driver } from './drivers/sdi12.ts';
import { type BindingInterface, defaultBinding } from './serial/binding.ts';

export interface DriverFactoryContext {
  logger?: Logger;
  /** serialport binding; MockBinding in tests. Default: the OS binding (@serialport/bindings-cpp). */
  binding?: BindingInterface;
  /** Timestamps of readings (epoch ms). Default Date.now. */
  clock?: Clock;
  /** Same as `clock` as a plain function; `clock` wins when both are given. */
  now?: () => number;
}

/** Builds the driver a config names. Never opens anything before start(). */
export function createDriver(config: DriverConfig, ctx: DriverFactoryContext = {}): Driver {
  const logger = childLogger(ctx.logger ?? pino({ level: 'silent' }), { component: 'firmware-bridge' });
  const dctx = { logger, binding: ctx.binding ?? defaultBinding, now: nowFn(ctx.clock ?? ctx.now) };
  switch (config.driver) {
    case 'modbus-rtu':
      return new ModbusDriver(config, dctx);
    case 'sdi12':
      return new Sdi12Driver(config, dctx);
    case 'line':
      return new LineDriver(config, dctx);
  }
}
