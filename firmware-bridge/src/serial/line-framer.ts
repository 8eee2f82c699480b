/**
 * Splits a byte stream into lines ending in LF (a preceding CR is dropped). Bytes map 1:1 to chars
 * (latin1) so checksums computed on the string are checksums of the bytes. With a `start` character
 * (the line protocol's '$') anything before it is discarded and a new start abandons a partial line:
 * that is how the reader resynchronises after noise. Lines longer than `maxLength` are dropped whole.
 */
export interface LineFramerOptions {
  maxLength: number;
  start?: string;
}

export class LineFramer {
  private readonly max: number;
  private readonly start: number | undefined;
  private buf = '';
  private inLine: boolean;
  private overflow = false;
  /** Bytes thrown away (noise before a start, abandoned partial lines, over-long lines). */
  discarded = 0;

  constructor(o: LineFramerOptions) {
    this.max = o.maxLength;
    this.start = o.start?.charCodeAt(0);
    this.inLine = this.start === undefined;
  }

  reset(): void {
    this.discarded += this.buf.length;
    this.buf = '';
    this.overflow = false;
    this.inLine = this.start === undefined;
  }

  feed(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (this.start !== undefined && b === this.start) {
        this.discarded += this.buf.length;
        this.buf = String.fromCharCode(b);
        this.inLine = true;
        this.overflow = false;
        continue;
      }
      if (!this.inLine) {
        this.discarded++;
        continue;
      }
      if (b === 0x0a) {
        const line = this.buf.endsWith('\r') ? this.buf.slice(0, -1) : this.buf;
        if (this.overflow) this.discarded += line.length;
        else lines.push(line);
        this.buf = '';
        this.overflow = false;
        this.inLine = this.start === undefined;
        continue;
      }
      if (this.overflow) {
        this.discarded++;
        continue;
      }
      this.buf += String.fromCharCode(b);
      // maxLength counts the line without its line end: one more byte is room for the CR.
      if (this.buf.length > this.max + 1) {
        this.overflow = true;
        this.discarded += this.buf.length;
        this.buf = '';
      }
    }
    return lines;
  }
}
