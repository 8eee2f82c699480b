// @ts-expect-error: @serialport/binding-mock's exports map hides its .d.ts from NodeNext resolution;
// the slice used here is typed by MockBindingApi below.
import { MockBinding as untypedMock } from '@serialport/binding-mock';
import type { BindingInterface } from './binding.ts';

type OpenOptions = { path: string; baudRate: number } & Record<string, unknown>;
interface MockPortBinding {
  readonly isOpen: boolean;
  readonly openOptions: unknown;
  emitData(data: Buffer): void;
  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }>;
  write(buffer: Buffer): Promise<void>;
  close(): Promise<void>;
  update(o: { baudRate: number }): Promise<void>;
  set(o: Record<string, boolean>): Promise<void>;
  get(): Promise<unknown>;
  getBaudRate(): Promise<{ baudRate: number }>;
  flush(): Promise<void>;
  drain(): Promise<void>;
}
interface MockBindingApi {
  createPort(path: string, opt?: { echo?: boolean; record?: boolean }): void;
  list(): Promise<unknown[]>;
  open(options: OpenOptions): Promise<MockPortBinding>;
}
const MockBinding = untypedMock as MockBindingApi;

/**
 * A serial line on serialport's MockBinding with something at the far end: what the driver writes
 * goes to `onWrite`, `emit()` puts bytes on the driver's receive side, and `unplug()` makes the open
 * port fail the way a vanished USB adapter does (a read error that is not a cancel), after which
 * opening fails until `replug()`. MockBinding's registry is global; each line uses its own path.
 */
export interface MockLine {
  readonly path: string;
  readonly binding: BindingInterface;
  /** The far end's receive hook; set by whoever attaches to the line. */
  onWrite: (bytes: Uint8Array) => void;
  /** Bytes from the far end to the driver; dropped while nobody has the port open. */
  emit(bytes: Uint8Array): void;
  unplug(): void;
  replug(): void;
  readonly isOpen: boolean;
}

let lines = 0;

export function createMockLine(path = `/dev/sg-mock-${process.pid}-${++lines}`): MockLine {
  MockBinding.createPort(path, { echo: false, record: false });
  let current: { inner: MockPortBinding; fail: (err: Error) => void } | undefined;
  let unplugged = false;

  const line: MockLine = {
    path,
    onWrite: () => {},
    emit(bytes) {
      if (current?.inner.isOpen) current.inner.emitData(Buffer.from(bytes));
    },
    unplug() {
      unplugged = true;
      const c = current;
      current = undefined;
      if (!c) return;
      c.fail(Object.assign(new Error('device disconnected (EIO)'), { code: 'EIO' }));
      void c.inner.close().catch(() => undefined);
    },
    replug() {
      unplugged = false;
    },
    get isOpen() {
      return current?.inner.isOpen === true;
    },
    binding: undefined as unknown as BindingInterface,
  };

  const binding = {
    list: () => MockBinding.list(),
    async open(options: OpenOptions) {
      if (unplugged || options.path !== path)
        throw Object.assign(new Error(`ENOENT: no such device ${options.path}`), { code: 'ENOENT' });
      const inner = await MockBinding.open(options);
      // Our own open flag: after unplug() the stream must still see the port as open when the
      // failed read comes back, or it would skip its disconnect handling.
      let open = true;
      let fail: (err: Error) => void = () => {};
      const gone = new Promise<never>((_, reject) => {
        fail = reject;
      });
      gone.catch(() => undefined);
      current = { inner, fail };
      const port = {
        get isOpen() {
          return open;
        },
        openOptions: inner.openOptions,
        read: (buffer: Buffer, offset: number, length: number) =>
          Promise.race([inner.read(buffer, offset, length), gone]),
        async write(buffer: Buffer) {
          await Promise.race([inner.write(buffer), gone]);
          line.onWrite(new Uint8Array(buffer));
        },
        close: async () => {
          open = false;
          if (current?.inner === inner) current = undefined;
          if (inner.isOpen) await inner.close();
        },
        update: (o: Parameters<MockPortBinding['update']>[0]) => inner.update(o),
        set: (o: Parameters<MockPortBinding['set']>[0]) => inner.set(o),
        get: () => inner.get(),
        getBaudRate: () => inner.getBaudRate(),
        flush: () => inner.flush(),
        drain: () => (inner.isOpen ? inner.drain() : Promise.resolve()),
      };
      return port;
    },
  };
  (line as { binding: BindingInterface }).binding = binding as unknown as BindingInterface;
  return line;
}
