import type { Reading } from '@slopeguard/core';

/**
 * The seam between firmware-bridge and edge. A driver owns one serial port (or one bus of devices on
 * it), polls or listens, and hands over Readings already in the contract's units. It never throws
 * into its caller: failures become health.
 */
export interface DriverHealth {
  /** 'ok' while readings arrive; 'degraded' after errors but still reading; 'down' while the port is gone. */
  state: 'ok' | 'degraded' | 'down';
  lastError?: string;
  lastErrorTs?: number;
  /** Counters by reason, e.g. { crc: 3, timeout: 1, exception: 0, reopen: 2 }. */
  errors: Record<string, number>;
  readings: number;
  /** Request-to-answer latency of the last poll, ms (polling drivers). */
  latencyMs?: number;
  /** Supply voltage where the device reports one. */
  supplyV?: number;
  /** How often the port was lost and opened again since start. */
  reopens?: number;
  /** Per-sensor detail, keyed by sensor id (drivers that know their sensors fill it). */
  sensors?: Record<string, SensorHealth>;
}

/** Health of one sensor behind a driver. */
export interface SensorHealth {
  state: 'ok' | 'degraded' | 'down';
  readings: number;
  errors: Record<string, number>;
  lastError?: string;
  lastErrorTs?: number;
  lastReadingTs?: number;
  latencyMs?: number;
  supplyV?: number;
}

export type ReadingSink = (reading: Reading) => void;

export interface Driver {
  readonly id: string;
  start(sink: ReadingSink): Promise<void>;
  stop(): Promise<void>;
  /**
   * Change the sampling interval of a polling driver (edge speeds sampling up at level >= 2). An
   * interval shorter than the fastest configured sensor applies to every sensor; anything else
   * returns each sensor to its configured interval. Listening drivers pass it on to the nodes.
   */
  setIntervalMs(ms: number): void;
  health(): DriverHealth;
}
