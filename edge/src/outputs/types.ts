/** One local warning device (siren, light). `set` never throws: failures show in `state()`. */
export interface Output {
  readonly id: string;
  readonly atLevel: number;
  set(on: boolean, reason: string): void;
  state(): OutputState;
  close(): Promise<void>;
}

export interface OutputState {
  on: boolean;
  kind: string;
  since: number;
  lastError?: string;
}
