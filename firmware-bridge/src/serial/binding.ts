import type { OpenOptions } from '@serialport/stream';

/**
 * serialport's binding interface. Taken through @serialport/stream because
 * @serialport/bindings-interface's exports map hides its types from NodeNext resolution.
 */
export type BindingInterface = OpenOptions['binding'];

let real: BindingInterface | undefined;

/**
 * The real OS binding (@serialport/bindings-cpp, N-API prebuilds). Loaded lazily so that tests on
 * MockBinding never touch native code.
 */
export async function defaultBinding(): Promise<BindingInterface> {
  if (!real) {
    const mod = await import('@serialport/bindings-cpp');
    real = mod.autoDetect() as BindingInterface;
  }
  return real;
}
