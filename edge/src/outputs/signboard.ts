import { execFile } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import type { SiteNotice } from '@slopeguard/core';
import type { Logger } from 'pino';

export interface SignboardConfig {
  id: string;
  port: string;
  baudRate: number;
  /** Sites whose notice this board shows; the agent fills in its own site when the config names none. */
  sites: string[];
  language: 'ko' | 'en' | 'both';
  form: 'short' | 'long';
}

export interface SignboardState {
  kind: 'signboard';
  /** site -> ts of the notice last written to the port. */
  shown: Record<string, number>;
  /** Frames waiting for the port (written on the next retry). */
  pending: number;
  lastError?: string;
}

/** A port that failed is tried again this often, with what is still to be written. */
const RETRY_MS = 5000;

/** Control characters (a CR or LF in a text would break the framing) become spaces. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
}

/**
 * The line protocol of docs/gateway.md "Signboards": a header line, one text line per language, an end
 * line; every line UTF-8 and CRLF-terminated, so a board's controller can show a frame once it has
 * read `END`. The header carries what a board needs to colour and mark the text without parsing it.
 */
export function signboardFrame(
  site: string,
  n: SiteNotice,
  cfg: Pick<SignboardConfig, 'language' | 'form'>,
): string {
  const langs = cfg.language === 'both' ? (['ko', 'en'] as const) : [cfg.language];
  const lines = [
    `SG1 ${site} L${n.level} ${n.kind} ${n.exercise ? 'EXERCISE' : 'LIVE'} ${n.ts}`,
    ...langs.map((l) => `${l.toUpperCase()} ${oneLine(n[l][cfg.form])}`),
    'END',
  ];
  return lines.map((l) => `${l}\r\n`).join('');
}

/**
 * The frame that blanks a site's part of the board: the control center clears the retained notice
 * (a zero-length retained publish, MQTT's delete) when nothing is to be shown, e.g. data came back
 * after a "no data" notice without any warning.
 */
export function signboardClearFrame(site: string, ts: number): string {
  return `SG1 ${site} CLEAR ${ts}\r\nEND\r\n`;
}

/**
 * An LED signboard (전광판) on a serial line, showing the control center's retained notice of its
 * sites. Not part of the alarm: it shows words, not a level threshold. Writes never throw and never
 * block the agent (the port is opened non-blocking); a frame the port refused is kept and retried,
 * and only the newest frame per site is kept, so a board that comes back shows the current notice.
 */
export class Signboard {
  readonly id: string;
  readonly sites: readonly string[];
  readonly #cfg: SignboardConfig;
  readonly #log: Logger;
  /** site -> the last frame written, so an unchanged notice (every reconnect resends it) is not rewritten. */
  readonly #written = new Map<string, string>();
  readonly #shown: Record<string, number> = {};
  /** site -> frame not yet (fully) written; bytes of a partly written frame are kept in #rest. */
  readonly #pending = new Map<string, { frame: string; ts: number }>();
  #rest: { site: string; frame: string; ts: number; bytes: Buffer } | undefined;
  #configured = false;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  #lastError: string | undefined;

  constructor(cfg: SignboardConfig, log: Logger) {
    this.id = cfg.id;
    this.sites = cfg.sites;
    this.#cfg = cfg;
    this.#log = log;
  }

  /** Shows `notice` for `site` unless it is what the board already shows. */
  show(site: string, notice: SiteNotice): void {
    if (this.#closed || !this.sites.includes(site)) return;
    const frame = signboardFrame(site, notice, this.#cfg);
    if (this.#written.get(site) === frame || this.#pending.get(site)?.frame === frame) return;
    this.#pending.set(site, { frame, ts: notice.ts });
    this.#flush();
  }

  /** Blanks `site` unless the board shows nothing for it already (or never showed anything). */
  clear(site: string, ts: number): void {
    if (this.#closed || !this.sites.includes(site)) return;
    const written = this.#written.get(site);
    if (written === undefined || written.split(' ')[2] === 'CLEAR') {
      this.#pending.delete(site);
      return;
    }
    this.#pending.set(site, { frame: signboardClearFrame(site, ts), ts });
    this.#flush();
  }

  state(): SignboardState {
    return {
      kind: 'signboard',
      shown: { ...this.#shown },
      pending: this.#pending.size + (this.#rest ? 1 : 0),
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
  }

  #flush(): void {
    if (this.#closed || this.#retry) return;
    if (!this.#configured) {
      execFile('stty', ['-F', this.#cfg.port, String(this.#cfg.baudRate), 'raw', '-echo'], (err) => {
        if (err) return this.#fail(`stty: ${err.message}`);
        this.#configured = true;
        this.#flush();
      });
      return;
    }
    let fd: number | undefined;
    try {
      // No O_CREAT: a missing port is an error, not a new file; no O_TRUNC; non-blocking.
      fd = openSync(this.#cfg.port, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
      for (;;) {
        if (!this.#rest) {
          const next = this.#pending.entries().next();
          if (next.done) break;
          const [site, p] = next.value;
          this.#pending.delete(site);
          this.#rest = { site, ...p, bytes: Buffer.from(p.frame, 'utf8') };
        }
        const r = this.#rest;
        const n = writeSync(fd, r.bytes);
        r.bytes = r.bytes.subarray(n);
        if (r.bytes.length > 0) throw new Error(`port accepted ${n} bytes, more are waiting`);
        this.#written.set(r.site, r.frame);
        this.#shown[r.site] = r.ts;
        this.#rest = undefined;
        this.#log.info({ output: this.id, site: r.site, ts: r.ts }, 'signboard notice shown');
      }
      if (this.#lastError) this.#log.info({ output: this.id }, 'signboard port writable again');
      this.#lastError = undefined;
    } catch (err) {
      this.#fail((err as Error).message);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  #fail(message: string): void {
    // Logged when the error changes, not on every retry of the same fault.
    if (message !== this.#lastError) {
      this.#log.error(
        { output: this.id, port: this.#cfg.port, err: message },
        'signboard write failed; retrying',
      );
    }
    this.#lastError = message;
    // A port that went away and came back (USB adapter replugged) needs its line settings again.
    this.#configured = false;
    if (this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#flush();
    }, RETRY_MS);
    this.#retry.unref();
  }
}
